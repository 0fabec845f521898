"""Scale-out: a sweep run in one process, on two local workers, on a Dask cluster or interrupted and resumed writes
the same directory, byte for byte; a worker that dies costs only its batch; histories are bounded by default."""

from __future__ import annotations

import csv
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from gdlab.errors import ConfigError
from gdlab.sweeps.runner import resume_sweep, run_sweep

from .conftest import REPO

COMPARED = ("config.yaml", "summary.csv", "metrics.npz")


def same_directory(a: Path, b: Path, plots: bool = False) -> None:
    """Byte-equal results (and figures); summary.json equal but for the wall time and the executor."""
    names = list(COMPARED) + (sorted(p.name and f"plots/{p.name}" for p in (a / "plots").glob("*.png")) if plots else [])
    assert names and all((a / n).read_bytes() == (b / n).read_bytes() for n in names), names
    ja, jb = (json.loads((d / "summary.json").read_text()) for d in (a, b))
    for j in (ja, jb):
        j.pop("wall_time_s"), j.pop("executor")
    assert ja == jb
    assert not (b / ".batches").exists()  # a finished sweep keeps no records


class Interrupt:
    """A progress callback that stops the sweep (as Ctrl-C would) once `after` batches (or steps) are done."""

    def __init__(self, after: int):
        self.after, self.calls = after, 0

    def __call__(self, done, total):
        self.calls += 1
        if self.calls >= self.after:
            raise KeyboardInterrupt


@pytest.fixture
def spirals(write_config):
    """A dataset sweep of 4 lr × 3 batch sizes (a structural axis: three stacks) whose members are worth a batch
    each: an MLP of 4,400 parameters × 32 rows a step (airfoil's linear model is too cheap a member to cut)."""
    return write_config({"problem": {"dataset": "spirals", "model": "mlp", "hidden": [64, 64], "batch_size": 32},
                         "optimizer": {"name": "sgd", "lr": 0.05}, "steps": 60,
                         "sweep": {"optimizer.lr": [0.02, 0.05, 0.1, 0.2], "problem.batch_size": [32, 33, 34]}})


def test_one_process_two_workers_dask_and_a_resumed_run_write_the_same_directory(spirals, tmp_path, dask_cluster):
    """Figures are drawn from the files in the parent process: compared once, for the resumed run."""
    one = run_sweep(spirals, out=tmp_path / "one").run_dir
    two = run_sweep(spirals, out=tmp_path / "two", workers=2, plots=False).run_dir
    assert json.loads((two / "summary.json").read_text())["executor"]["batches"] > 3  # stacks were cut
    same_directory(one, two)
    same_directory(one, run_sweep(spirals, out=tmp_path / "dask", scheduler=dask_cluster, plots=False).run_dir)
    cut_short = run_sweep(spirals, out=tmp_path / "resumed", workers=2, plots=False, progress=Interrupt(after=2))
    assert cut_short.interrupted and "not_run" in set(cut_short.status)
    records = sorted(p.name for p in (cut_short.run_dir / ".batches").iterdir())
    assert "plan.json" in records and len(records) >= 3
    resumed = resume_sweep(cut_short.run_dir, scheduler=dask_cluster)  # finished elsewhere than it started
    assert not resumed.interrupted
    same_directory(one, resumed.run_dir, plots=True)


def test_an_interrupted_single_process_sweep_resumes_to_the_same_directory(spirals, tmp_path):
    one = run_sweep(spirals, out=tmp_path / "one", plots=False).run_dir
    cut_short = run_sweep(spirals, out=tmp_path / "cut", plots=False, progress=Interrupt(after=70))  # in stack 1
    assert cut_short.interrupted  # grid order lr × batch size: stack k is every third member from k
    assert [set(cut_short.status[k::3]) for k in range(3)] == [{"completed"}, {"interrupted"}, {"not_run"}]
    same_directory(one, resume_sweep(cut_short.run_dir, plots=False).run_dir)


@pytest.fixture
def accident(tmp_path):
    """A toy sweep over steps=20,21,22 × two lr with the accident plugin: only the 22-step stack meets update 22."""
    folder = tmp_path / "cfg"
    folder.mkdir()
    shutil.copy(REPO / "tests" / "data" / "accident.py", folder)
    config = folder / "sweep.yaml"
    config.write_text(yaml.safe_dump({"problem": {"objective": "bowl2d", "init": [-5.0, -2.0]},
                                      "optimizer": {"name": "accident.py:gd", "lr": 0.1}, "steps": 20,
                                      "sweep": {"steps": [20, 21, 22], "optimizer.lr": [0.1, 0.2]}}, sort_keys=False))

    def mode(text: str) -> Path:
        (folder / "accident.txt").write_text(text + "\n")
        return config

    return mode


def test_a_killed_worker_loses_only_its_batch(accident, tmp_path, dask_cluster):
    reference = run_sweep(accident("none"), out=tmp_path / "ref", plots=False).run_dir
    survived = run_sweep(accident("kill-once"), out=tmp_path / "local", workers=2, plots=False)
    assert (tmp_path / "cfg" / "killed").exists() and set(survived.status) == {"completed"}
    same_directory(reference, survived.run_dir)
    (tmp_path / "cfg" / "killed").unlink()
    on_dask = run_sweep(accident("kill-once"), out=tmp_path / "dask", scheduler=dask_cluster, plots=False)
    assert (tmp_path / "cfg" / "killed").exists()
    same_directory(reference, on_dask.run_dir)


def test_a_batch_that_kills_every_worker_fails_alone(accident, tmp_path):
    """Retried once on a fresh worker, then its members are failed with the reason; the others finish (the command
    line then exits 1 and names the reason, as for any failed member)."""
    outcome = run_sweep(accident("kill-always"), out=tmp_path / "runs", workers=2, plots=False)
    assert list(outcome.status) == ["completed"] * 4 + ["failed"] * 2
    assert all("killed by SIGKILL" in why for why in outcome.failures.values()) and len(outcome.failures) == 2
    summary = json.loads((outcome.run_dir / "summary.json").read_text())
    assert "SIGKILL" in next(iter(summary["failures"]))
    assert outcome.resumable and (outcome.run_dir / ".batches").is_dir()  # --resume runs the failed batch again


def test_ctrl_c_stops_the_workers_keeps_finished_batches_and_resume_finishes(accident, tmp_path):
    reference = run_sweep(accident("none"), out=tmp_path / "ref", plots=False).run_dir
    config = accident("block")  # the 22-step batch waits for a gate that only the test opens
    proc = subprocess.Popen([sys.executable, "-m", "gdlab", "sweep", str(config), "--workers", "2", "--quiet",
                             "--out", str(tmp_path / "runs")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        records = tmp_path / "runs"
        while len(list(records.glob("*/.batches/batch-*"))) < 2:  # the 20- and 21-step batches are recorded
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    run_dir = Path(out.strip().splitlines()[-1])
    assert f"gdlab sweep --resume {run_dir}" in err
    statuses = [row["status"] for row in csv.DictReader(open(run_dir / "summary.csv"))]
    assert statuses == ["completed"] * 4 + ["not_run"] * 2
    (tmp_path / "cfg" / "gate").write_text("open\n")
    assert not resume_sweep(run_dir, plots=False).interrupted
    same_directory(reference, run_dir)


def test_resume_refuses_a_changed_config_or_code(accident, tmp_path):
    cut_short = run_sweep(accident("none"), out=tmp_path / "runs", workers=2, plots=False, progress=Interrupt(1))
    config = tmp_path / "cfg" / "sweep.yaml"
    data = yaml.safe_load(config.read_text())
    config.write_text(yaml.safe_dump({**data, "sweep": {"steps": [20, 21, 22], "optimizer.lr": [0.1, 0.3]}}, sort_keys=False))
    with pytest.raises(ConfigError, match=r"config sweep.optimizer.lr\[1\]: 0.2 when it started, 0.3 now"):
        resume_sweep(cut_short.run_dir)
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    plan = cut_short.run_dir / ".batches" / "plan.json"
    plan.write_text(plan.read_text().replace('"code": "', '"code": "x'))
    with pytest.raises(ConfigError, match="gdlab source code"):
        resume_sweep(cut_short.run_dir)


def test_histories_are_bounded_unless_the_config_asks_for_every_step(write_config, tmp_path):
    """About 200 logged points per member by default; final and best losses stay exact; log_every: 1 keeps all."""
    base = {"problem": {"objective": "bowl2d", "init": [-5.0, -2.0]}, "optimizer": {"name": "sgd", "lr": 0.1},
            "steps": 1000, "sweep": {"optimizer.lr": [0.05, 0.1, 0.2]}}
    bounded = run_sweep(write_config(base), out=tmp_path / "b", plots=False)
    every = run_sweep(write_config({**base, "log_every": 1}, "every.yaml"), out=tmp_path / "e", plots=False)
    steps_b = np.load(bounded.run_dir / "metrics.npz")["step"]
    with np.load(every.run_dir / "metrics.npz") as e:
        assert e["step"].tolist() == list(range(1001))
        loss_e = e["loss"]
    assert steps_b.tolist() == list(range(0, 1001, 5)) and len(steps_b) <= 201
    assert yaml.safe_load((bounded.run_dir / "config.yaml").read_text())["log_every"] == 5
    np.testing.assert_array_equal(np.load(bounded.run_dir / "metrics.npz")["loss"], loss_e[:, ::5])
    np.testing.assert_array_equal(bounded.final_loss, every.final_loss)
    np.testing.assert_array_equal(bounded.best_loss, every.best_loss)


def test_bad_executor_options_are_one_message_and_write_nothing(write_config, tmp_path):
    from typer.testing import CliRunner

    from gdlab.cli import app

    config = write_config({"problem": {"objective": "bowl2d"}, "optimizer": {"name": "sgd", "lr": 0.1},
                           "sweep": {"optimizer.lr": [0.1, 0.2]}})
    for options, needle in ((["--workers", "0"], "--workers 0: must be >= 1"),
                            (["--workers", "2", "--scheduler", "tcp://127.0.0.1:8786"], "choose one")):
        r = CliRunner().invoke(app, ["sweep", str(config), "--out", str(tmp_path / "runs"), *options])
        assert r.exit_code == 2 and needle in r.output, r.output
    r = CliRunner().invoke(app, ["sweep", "--help"])
    assert "'gdlab[dask]'" in r.output, r.output  # not eaten as rich markup
    r = CliRunner().invoke(app, ["sweep", "--resume", str(tmp_path)])
    assert r.exit_code == 2 and "not a sweep directory that can be resumed" in r.output, r.output
    assert not (tmp_path / "runs").exists()


def test_tune_trials_on_two_workers_choose_and_write_what_one_process_does(write_config, tmp_path, monkeypatch):
    """The trial stack cut into pieces (every piece worth shipping here, whatever its size) and run on two local
    workers: the same trials.csv, chosen.csv and tuned.yaml as in one process, whole-data metrics included."""
    from gdlab.sweeps import cutting
    from gdlab.tune.runner import run_tune

    monkeypatch.setattr(cutting, "MIN_PIECE_WORK", 1)
    config = write_config({"problem": {"dataset": "linear_synthetic", "params": {"n": 80}, "batch_size": 10,
                                       "validation": 0.25},
                           "optimizers": [{"name": "sgd", "tune": {"lr": [0.001, 0.01, 0.1]}},
                                          {"name": "adam", "tune": {"lr": [0.001, 0.01, 0.1]}}],
                           "steps": 30, "seeds": 2})
    one = run_tune(config, out=tmp_path / "one", plots=False).run_dir
    two = run_tune(config, out=tmp_path / "two", plots=False, workers=2).run_dir
    for name in ("trials.csv", "chosen.csv", "tuned.yaml"):
        assert (one / name).read_bytes() == (two / name).read_bytes(), name
    assert "val_loss" in (two / "trials.csv").read_text().splitlines()[0]
