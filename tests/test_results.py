"""The Python API a notebook uses: run_config(out=None) in memory, gdlab.load_run, pandas-ready records."""

from __future__ import annotations

import csv
import os
import subprocess
import sys

import numpy as np
import pytest

import gdlab
from gdlab.errors import GdlabError
from gdlab.sweeps.runner import run_sweep

from .conftest import REPO, bowl_config

COMPARE = REPO / "configs" / "d2l-compare.yaml"


def test_a_run_in_memory_writes_nothing_and_equals_the_run_written_and_loaded_back(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    memory = gdlab.run_config(COMPARE, mode="compare", out=None)
    assert memory.run_dir is None and list(tmp_path.iterdir()) == []
    written = gdlab.run_config(COMPARE, mode="compare", out=tmp_path / "runs", plots=False)
    loaded = gdlab.load_run(written.run_dir)
    assert [m.label for m in loaded.members] == [m.label for m in memory.members]
    for a, b in zip(memory.members, loaded.members):
        assert (a.status, a.final_loss, a.steps_run) == (b.status, b.final_loss, b.steps_run)
        assert set(a.history) == set(b.history) >= {"step", "epoch", "loss", "grad_norm", "lr"}
        for column in a.history:
            np.testing.assert_array_equal(a.history[column], b.history[column])
        np.testing.assert_array_equal(a.trajectory, b.trajectory)
        np.testing.assert_array_equal(a.trajectory_steps, b.trajectory_steps)
        assert a.summary["config"] == b.summary["config"]
    first = memory.records()[0]
    assert first["member"] == memory.members[0].label and first["steps_run"] == 20
    rows = memory.history_records()
    assert len(rows) == sum(len(m.history["step"]) for m in memory.members)
    expected = {"member": first["member"], "seed": 0, "step": 1, "epoch": 1.0,
                **{k: float(memory.members[0].history[k][1]) for k in ("loss", "grad_norm", "lr")}}
    assert {k: rows[1][k] for k in expected} == expected


def test_a_sweep_directory_loads_back_as_records(tmp_path, write_config):
    sweep = run_sweep(write_config(bowl_config(steps=6)), ["optimizer.lr=0.1,0.6", "optimizer.momentum=0,0.5"],
                      out=tmp_path, plots=False)
    loaded = gdlab.load_run(sweep.run_dir)
    records = loaded.records()
    with open(sweep.run_dir / "summary.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["member"] for r in records] == [r["member"] for r in rows]
    assert records[3]["lr"] == 0.6 and records[3]["momentum"] == 0.5
    assert [repr(r["final_loss"]) for r in records] == [r["final_loss"] for r in rows]
    assert len(loaded.history_records()) == 4 * 7 and sweep.records() == records


def test_dataframe_needs_pandas_and_says_so(monkeypatch):
    result = gdlab.run_config(COMPARE, mode="compare", out=None)
    monkeypatch.setitem(sys.modules, "pandas", None)  # as if pandas were not installed
    with pytest.raises(GdlabError, match="pandas is not installed.*records"):
        result.dataframe()


def test_importing_gdlab_stays_light():
    code = "import sys, gdlab; gdlab.Optimizer; print(sorted(m for m in ('matplotlib', 'gdlab.engine') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stderr
