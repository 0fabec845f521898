"""gdlab tune --resume and gdlab bench --resume: an interrupted tune or bench, resumed, ends with the directory an
uninterrupted one writes, byte for byte but for wall times; a changed config or code refuses, naming it."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml

from gdlab.errors import ConfigError
from gdlab.tune.runner import resume_tune, run_tune

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
    resumed = resume_bench(cut_short.run_dir)
    assert not resumed.interrupted and resumed.run_dir == cut_short.run_dir
    same_tree(reference, cut_short.run_dir)
