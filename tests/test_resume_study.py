"""gdlab tune --resume and gdlab bench --resume: an interrupted tune or bench, resumed, ends with the directory an
uninterrupted one writes, byte for byte but for wall times; a changed config or code refuses, naming it."""

from __future__ import annotations

import csv
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from gdlab.errors import ConfigError
from gdlab.tune.runner import resume_tune, run_tune

from .conftest import REPO
from .test_scaleout import Interrupt


def _timeless(value):
    """summary.json without its timings (wall times, seconds to a target): the one thing two runs may differ in."""
    if isinstance(value, dict):
        return {k: _timeless(v) for k, v in value.items() if "time" not in k}
    if isinstance(value, list):
        return [_timeless(v) for v in value]
    return value


def _csv_timeless(path: Path) -> list[list[str]]:
    rows = list(csv.reader(path.open()))
    keep = [i for i, name in enumerate(rows[0]) if "time" not in name]
    return [[row[i] for i in keep] for row in rows]


def same_tree(a: Path, b: Path) -> None:
    """Every file of a in b and none more; equal bytes, but for timings: summary.json files and CSV files are
    compared without their time keys and columns (each has some)."""
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert any(f.suffix == ".png" for f in files) and not any(".batches" in f.parts for f in files)
    for f in files:
        if f.name == "summary.json":
            assert _timeless(json.loads((a / f).read_text())) == _timeless(json.loads((b / f).read_text())), f
        elif f.suffix == ".csv" and "time" in (a / f).read_text().splitlines()[0]:
            assert _csv_timeless(a / f) == _csv_timeless(b / f), f
        else:
            assert (a / f).read_bytes() == (b / f).read_bytes(), f


@pytest.fixture
def tuning(write_config):
    return write_config({"problem": {"dataset": "linear_synthetic", "params": {"n": 80}, "batch_size": 10,
                                     "validation": 0.25},
                         "optimizers": [{"name": "sgd", "tune": {"lr": [0.001, 0.01, 0.1]}},
                                        {"name": "adam", "tune": {"lr": [0.001, 0.01, 0.1]}}],
                         "steps": 30, "seeds": 2}, "tuning.yaml")


@pytest.mark.parametrize("stop_after", [5, 45], ids=["in-the-trials", "in-the-compare"])
def test_an_interrupted_tune_resumes_to_the_same_directory(tuning, tmp_path, stop_after):
    """Stopped in its trials (no batch recorded) or in its final compare (every trial recorded, compare/ half
    written): the resume ends with the uninterrupted tune's files."""
    reference = run_tune(tuning, out=tmp_path / "ref").run_dir
    cut_short = run_tune(tuning, out=tmp_path / "runs", progress=Interrupt(stop_after))
    assert cut_short.interrupted and cut_short.resumable
    assert json.loads((cut_short.run_dir / "summary.json").read_text())["status"] == "interrupted"
    assert (cut_short.run_dir / "compare").is_dir() == (stop_after == 45)
    resumed = resume_tune(cut_short.run_dir)
    assert not resumed.interrupted
    assert bool(resumed.notices) == (stop_after == 45)  # the half-written compare is said to run again
    same_tree(reference, cut_short.run_dir)


def test_a_tune_stopped_on_two_workers_resumes_in_one_process(tuning, tmp_path, monkeypatch):
    """The trials cut into pieces for two workers, stopped after the first piece is recorded: the resume (another
    executor) cuts as recorded and runs only the other pieces."""
    from gdlab.sweeps import cutting

    monkeypatch.setattr(cutting, "MIN_PIECE_WORK", 1)  # every piece worth shipping, whatever its size
    reference = run_tune(tuning, out=tmp_path / "ref", plots=False).run_dir
    cut_short = run_tune(tuning, out=tmp_path / "runs", plots=False, workers=2, progress=Interrupt(1))
    assert cut_short.interrupted
    recorded = [p.name for p in (cut_short.run_dir / ".batches").glob("trials-*")]
    pieces = json.loads((cut_short.run_dir / ".batches" / "trials.pieces.json").read_text())["pieces"]
    assert 1 <= len(recorded) < len(pieces)
    assert not resume_tune(cut_short.run_dir, plots=False).interrupted
    for name in ("trials.csv", "chosen.csv", "tuned.yaml"):
        assert (reference / name).read_bytes() == (cut_short.run_dir / name).read_bytes(), name
    for name in ("compare/summary.csv", "compare/aggregate.csv"):
        assert _csv_timeless(reference / name) == _csv_timeless(cut_short.run_dir / name), name


SUITE = {"name": "mini", "seeds": 2, "tune": {"lr": "logspace(-3,0,4)"},
         "optimizers": [{"name": "sgd", "lr": 0.1, "label": "GD"}, {"name": "adam", "lr": 0.1}],
         "problems": [{"name": "bowl", "problem": {"objective": "bowl2d", "init": [-5.0, -2.0]}, "steps": 100,
                       "target": "f - f* <= 1e-4"},
                      {"name": "parabola", "problem": {"objective": "parabola", "init": [0.2]}, "steps": 60}]}


def test_an_interrupted_bench_resumes_to_the_same_directory(write_config, tmp_path):
    """Stopped once its first problem is recorded: the resume reads that problem back (its tuning from the recorded
    trial batches: the same sensitivity figure), runs the second and writes the uninterrupted bench's files."""
    from gdlab.bench.runner import resume_bench, run_bench

    suite = write_config(SUITE, "suite.yaml")
    reference = run_bench(suite, out=tmp_path / "ref").run_dir
    cut_short = run_bench(suite, out=tmp_path / "runs", progress=Interrupt(1))
    assert cut_short.interrupted and cut_short.resumable
    records = sorted(p.name for p in (cut_short.run_dir / ".batches").iterdir())
    assert "problem-000.json" in records and "problem-001.json" not in records
    assert any(r.startswith("p000-trials-") for r in records) and not any(r.startswith("p001") for r in records)
    assert json.loads((cut_short.run_dir / "summary.json").read_text())["status"] == "interrupted"
    changed = {**SUITE, "problems": [{**SUITE["problems"][0], "steps": 120}, SUITE["problems"][1]]}
    write_config(changed, "suite.yaml")
    with pytest.raises(ConfigError, match=r"config suite.problems\[0\].steps: 100 when it started, 120 now"):
        resume_bench(cut_short.run_dir)
    write_config(SUITE, "suite.yaml")
    resumed = resume_bench(cut_short.run_dir)
    assert not resumed.interrupted and resumed.run_dir == cut_short.run_dir
    same_tree(reference, cut_short.run_dir)


@pytest.fixture
def blocking_tune(tmp_path):
    """A toy tune of the accident plugin (tests/data/accident.py): in `block` mode its trials wait at update 22
    until the test opens the gate."""
    folder = tmp_path / "cfg"
    folder.mkdir()
    shutil.copy(REPO / "tests" / "data" / "accident.py", folder)
    config = folder / "tune.yaml"
    config.write_text(yaml.safe_dump({"problem": {"objective": "bowl2d", "init": [-5.0, -2.0]},
                                      "optimizer": {"name": "accident.py:gd", "lr": 0.1},
                                      "tune": {"lr": [0.01, 0.1, 0.3]}, "steps": 30, "seeds": 2}, sort_keys=False))

    def mode(text: str) -> Path:
        (folder / "accident.txt").write_text(text + "\n")
        return config

    return mode


def test_ctrl_c_in_a_tune_prints_the_resume_command_and_the_resume_finishes(blocking_tune, tmp_path):
    reference = run_tune(blocking_tune("none"), out=tmp_path / "ref").run_dir
    config = blocking_tune("block")
    proc = subprocess.Popen([sys.executable, "-m", "gdlab", "tune", str(config), "--quiet", "--out",
                             str(tmp_path / "runs")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        while not list((tmp_path / "runs").glob("*/.batches/plan.json")):  # the tune has started its trials
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    run_dir = Path(out.strip().splitlines()[-1])
    assert f"gdlab tune --resume {run_dir}" in err and "Traceback" not in err
    plotted = subprocess.run([sys.executable, "-m", "gdlab", "plot", str(run_dir)], capture_output=True, text=True)
    assert plotted.returncode == 0 and "Traceback" not in plotted.stderr  # what finished is drawn, and said to be so
    assert f"is an interrupted tune, drawn from what finished; finish it with: gdlab tune --resume {run_dir}" in \
        " ".join(plotted.stderr.split())
    (tmp_path / "cfg" / "gate").write_text("open\n")
    resumed = subprocess.run([sys.executable, "-m", "gdlab", "tune", "--resume", str(run_dir), "--quiet"],
                             capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert "the finished trials are kept" not in resumed.stderr and not (run_dir / ".batches").exists()
    same_tree(reference, run_dir)


def test_a_resume_refuses_a_changed_config_code_or_kind(tuning, tmp_path):
    from gdlab.bench.runner import resume_bench
    from gdlab.sweeps.runner import resume_sweep

    cut_short = run_tune(tuning, out=tmp_path / "runs", progress=Interrupt(5), plots=False).run_dir
    data = yaml.safe_load(tuning.read_text())
    data["optimizers"][1]["tune"]["lr"] = [0.001, 0.01, 0.2]
    tuning.write_text(yaml.safe_dump(data, sort_keys=False))
    changed = r"the tune would not be the one that started:\n  config tune.spaces.adam.lr\[2\]: 0.1 when it started, 0.2 now"
    with pytest.raises(ConfigError, match=changed):
        resume_tune(cut_short)
    data["optimizers"][1]["tune"]["lr"] = [0.001, 0.01, 0.1]
    tuning.write_text(yaml.safe_dump(data, sort_keys=False))
    plan = cut_short / ".batches" / "plan.json"
    plan.write_text(plan.read_text().replace('"code": "', '"code": "x'))
    with pytest.raises(ConfigError, match="gdlab source code"):
        resume_tune(cut_short)
    with pytest.raises(ConfigError, match="written by gdlab tune; resume it with gdlab tune --resume"):
        resume_sweep(cut_short)
    with pytest.raises(ConfigError, match="written by gdlab tune"):
        resume_bench(cut_short)
    with pytest.raises(ConfigError, match="not a tune directory that can be resumed"):
        resume_tune(tmp_path)
