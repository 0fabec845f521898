"""Executors: in-process, local worker processes and a Dask cluster give the same results; a dead worker costs only
its batch (retried once, then reported); errors in the config stop the run; Dask is imported only when asked."""

from __future__ import annotations

import subprocess
import sys

import pytest

from gdlab.errors import ConfigError
from gdlab.sweeps.executors import BatchFailure, DaskCluster, InProcess, LocalPool, open_executor

from .executor_tasks import double, note_ready, ready_before, worker_environment


def _run(executor, batches, fn=double):
    with executor as ex:
        return dict(ex.run(fn, batches))


def test_choosing_an_executor(monkeypatch):
    monkeypatch.delenv("GDLAB_DASK_SCHEDULER", raising=False)
    assert isinstance(open_executor(), InProcess) and isinstance(open_executor(workers=1), InProcess)
    assert isinstance(open_executor(workers=3), LocalPool)
    with pytest.raises(ConfigError, match="--workers 0: must be >= 1"):
        open_executor(workers=0)
    with pytest.raises(ConfigError, match="choose one"):
        open_executor(workers=2, scheduler="tcp://127.0.0.1:8786")
    monkeypatch.setenv("GDLAB_DASK_SCHEDULER", "tcp://127.0.0.1:1")
    assert isinstance(open_executor(workers=2), LocalPool)  # the command line wins over the environment


def test_the_dask_extra_is_named_when_missing(tmp_path):
    """Without `distributed`, --scheduler says which extra to install; importing gdlab never imports Dask."""
    code = ("import sys; sys.modules['distributed'] = None\n"  # as if not installed
            "import gdlab.sweeps.executors as ex\n"
            "assert 'dask' not in sys.modules\n"
            "try:\n    ex.open_executor(scheduler='tcp://127.0.0.1:8786')\n"
            "except ex.ConfigError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "pip install 'gdlab[dask]'" in out, out


def test_local_workers_match_in_process_and_start_with_one_blas_thread():
    batches = {i: ("ok", i) for i in range(7)}
    assert _run(LocalPool(2), batches) == _run(InProcess(), batches) == {i: 2 * i for i in range(7)}
    seen = _run(LocalPool(2), {i: None for i in range(4)}, fn=worker_environment)
    assert {threads for threads, _, _ in seen.values()} == {"1"}
    assert not any(numpy_first for _, _, numpy_first in seen.values())  # set before NumPy could load


def test_a_prepared_pool_starts_every_worker_and_warms_it_before_its_first_batch(tmp_path):
    with LocalPool(2) as pool:
        pool.prepare(note_ready, str(tmp_path))
        seen = _run(pool, {i: str(tmp_path) for i in range(4)}, fn=ready_before)
    assert all(ready for _, ready in seen.values()), seen
    assert len(list(tmp_path.iterdir())) == 2  # both started by prepare, before any batch was given


def test_a_dead_local_worker_costs_only_its_batch(tmp_path):
    batches = {i: ("ok", i) for i in range(5)}
    batches.update(poison=("die", 0), unlucky=("die_once", str(tmp_path / "flag")), bug=("raise", 0))
    results = _run(LocalPool(2), batches)
    assert {k: results[k] for k in range(5)} == {i: 2 * i for i in range(5)}
    assert results["unlucky"] == "survived"  # killed once, retried on a fresh worker
    assert isinstance(results["poison"], BatchFailure) and "SIGKILL" in results["poison"].reason
    assert isinstance(results["bug"], BatchFailure) and "MemoryError" in results["bug"].reason


def test_a_config_error_in_a_worker_stops_the_run():
    with pytest.raises(ConfigError, match="data_dir"):
        _run(LocalPool(2), {0: ("ok", 1), 1: ("config", 0)})


def test_dask_gives_the_same_results_and_survives_a_dead_worker(dask_cluster, tmp_path):
    """A batch killing every worker it meets fails after one retry (a batch killing one worker only is retried and
    finishes: tests/test_scaleout.py); an exception is retried once, then reported."""
    ok = {i: ("ok", i) for i in range(4)}
    with DaskCluster(dask_cluster) as ex:
        results = dict(ex.run(double, {**ok, "poison": ("die", 0), "bug": ("raise", 0)}))
        seen = dict(ex.run(worker_environment, {i: None for i in range(2)}))
    assert {k: results[k] for k in ok} == _run(InProcess(), ok)
    assert isinstance(results["bug"], BatchFailure) and "MemoryError" in results["bug"].reason
    assert isinstance(results["poison"], BatchFailure) and "worker died" in results["poison"].reason
    assert {threads for threads, _, _ in seen.values()} == {"1"}  # Dask's nanny sets it


def test_an_unreachable_scheduler_is_one_message(monkeypatch):
    pytest.importorskip("distributed", reason="the Dask extra is not installed (pip install 'gdlab[dask]')")
    from gdlab.errors import GdlabError
    from gdlab.sweeps import executors

    monkeypatch.setattr(executors, "CONNECT_TIMEOUT_S", 1)

    for address in ("nonsense://x", "http://127.0.0.1:80", "tcp://127.0.0.1", "foo bar"):  # before any Client
        with pytest.raises(ConfigError, match="expected tcp://HOST:PORT"):
            open_executor(scheduler=address)
    with pytest.raises(GdlabError, match="cannot reach the Dask scheduler"):
        DaskCluster("tcp://127.0.0.1:9")  # nothing listens on the discard port
