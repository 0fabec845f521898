"""gdlab bench: a suite to its targets, results.csv, profile.csv, scores; bad suites are exit 2 naming the key."""

from __future__ import annotations

import csv
from types import SimpleNamespace

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from gdlab.bench.runner import run_bench
from gdlab.bench.suite import load_suite
from gdlab.cli import app
from gdlab.runner import run_config

SUITE = {"name": "mini", "optimizers": [{"name": "sgd", "lr": 0.1, "label": "GD"}, {"name": "adam", "lr": 0.1}],
         "problems": [{"name": "bowl", "problem": {"objective": "bowl2d", "init": [-5.0, -2.0]}, "steps": 300,
                       "target": "f - f* <= 1e-4"},
                      {"name": "parabola", "problem": {"objective": "parabola", "init": [0.2]}, "steps": 60}]}


def _write(tmp_path, data, name="suite.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_bench_costs_profiles_and_scores(tmp_path):
    out = run_bench(_write(tmp_path, SUITE), out=tmp_path / "runs", plots=False)
    results = _rows(out.run_dir / "results.csv")
    assert [(r["problem"], r["optimizer"]) for r in results] == [("bowl", "GD"), ("bowl", "adam"),
                                                                ("parabola", "GD"), ("parabola", "adam")]
    # the same member run on its own reaches the tolerance after the same number of steps
    alone = run_config(_write(tmp_path, {"problem": SUITE["problems"][0]["problem"], "optimizer": SUITE["optimizers"][0],
                                         "steps": 300, "tol": 1e-4}, "gd.yaml"), out=tmp_path / "alone", plots=False)
    assert int(results[0]["steps_to_target"]) == alone.members[0].steps_to_tol
    # parabola (x − 1)² from 0.2, gd lr 0.1: x_k − 1 = −0.8·0.8^k, f − f* <= 1e-6 (the default target) from k = 30
    assert int(results[2]["steps_to_target"]) == next(k for k in range(99) if (0.8 * 0.8**k) ** 2 <= 1e-6) == 30
    costs = out.costs
    r = out.ratios
    assert np.array_equal(r, costs / costs.min(axis=1, keepdims=True))
    profile = _rows(out.run_dir / "profile.csv")
    at_one = {p["optimizer"]: float(p["rho"]) for p in profile if float(p["tau"]) == 1.0}
    best = [int(np.argmin(c)) for c in costs]
    assert at_one == {label: sum(b == j for b in best) / 2 for j, label in enumerate(["GD", "adam"])}
    scores = {s["optimizer"]: float(s["score"]) for s in _rows(out.run_dir / "scores.csv")}
    by_hand = {label: sum(max(0.0, 4 - x) for x in r[:, j] if x <= 4) / 2 / 3 for j, label in enumerate(["GD", "adam"])}
    assert scores == pytest.approx(by_hand)


def test_the_best_optimizer_on_a_problem_starts_at_one(tmp_path):
    suite = {**SUITE, "problems": SUITE["problems"][:1]}
    r = CliRunner().invoke(app, ["bench", str(_write(tmp_path, suite)), "--out", str(tmp_path / "runs")])
    assert r.exit_code == 0 and "score (AlgoPerf, τ ≤ 4)" in r.stdout, r.output
    out = SimpleNamespace(run_dir=next((tmp_path / "runs").iterdir()))
    out.costs = np.array([[float(x["steps_to_target"]) for x in _rows(out.run_dir / "results.csv")]])
    best = SUITE["optimizers"][int(np.argmin(out.costs[0]))].get("label", "adam")
    rho = {p["optimizer"]: float(p["rho"]) for p in _rows(out.run_dir / "profile.csv") if float(p["tau"]) == 1}
    assert rho[best] == 1.0 and sum(rho.values()) == 1.0
    figure = out.run_dir / "plots" / "profile.png"
    drawn = figure.read_bytes()
    figure.unlink()
    r = CliRunner().invoke(app, ["plot", str(out.run_dir)])  # gdlab plot redraws it from the files alone
    assert r.exit_code == 0 and figure.read_bytes() == drawn and len(drawn) > 10_000, r.output


def test_a_tuned_suite_tunes_each_optimizer_per_problem(tmp_path):
    hostile = {**SUITE["problems"][1], "name": "../../escape"}  # a problem's name becomes part of a file name
    suite = {**SUITE, "tune": {"lr": "logspace(-3,0,7)"}, "problems": [hostile]}
    out = run_bench(_write(tmp_path, suite), out=tmp_path / "runs", plots=True)
    assert sorted(p.name for p in (out.run_dir / "plots").iterdir()) == ["profile.png", "sensitivity-escape.png"]
    assert not list(tmp_path.glob("escape*")) and not list((tmp_path / "runs").glob("escape*"))
    gds = [r for r in _rows(out.run_dir / "results.csv") if r["optimizer"] == "GD"]
    assert [r["seed"] for r in gds] == ["1", "2", "3", "4", "5"]  # rerun on five fresh seeds (trials on seed 0)
    gd = gds[0]
    # gd on (x − 1)²: x_k − 1 = −0.8·(1 − 2·lr)^k; the fewest steps to 1e-6 on the grid is at lr 10^-0.5
    grid = np.logspace(-3, 0, 7)
    steps = [next((k for k in range(61) if (0.8 * abs(1 - 2 * lr) ** k) ** 2 <= 1e-6), np.inf) for lr in grid]
    assert gd["settings"].startswith(f"lr={grid[int(np.argmin(steps))]:g}") and int(gd["steps_to_target"]) == min(steps)


@pytest.mark.parametrize("change, needle", [
    ({"problems": [{"problem": {"objective": "bowl2d"}, "target": "val_accuracy >= 0.9"}]},
     "problems[0].target: this problem has no metric 'val_accuracy'"),
    ({"problems": [{"problem": {"dataset": "linear_synthetic"}}]}, "problems[0].target: missing"),
    ({"problems": [{"problem": {"objective": "bowl2d"}, "target": "f - f* < 1e-6"}]},
     "problems[0].target: expected METRIC <= NUMBER"),
    ({"problems": [{"problem": {"objective": "bowl2d"}, "stesp": 3}]}, "problems[0].stesp: unknown key"),
    ({"problems": [{"problem": {"objective": "bowl2d"}, "steps": 0}]}, "steps: must be >= 1"),
    ({"measure": "seconds"}, "measure: unknown value 'seconds'"),
    ({"optimizers": []}, "optimizers: expected a non-empty list"),
])
def test_bad_suites_exit_2_naming_the_key(tmp_path, change, needle):
    r = CliRunner().invoke(app, ["bench", str(_write(tmp_path, {**SUITE, **change})), "--out", str(tmp_path / "r")])
    assert r.exit_code == 2 and needle in r.output, r.output
    assert not (tmp_path / "r").exists()


def test_shipped_suites_load():
    from .conftest import REPO

    for path in sorted((REPO / "configs" / "suites").glob("*.yaml")):
        suite = load_suite(path)
        assert len(suite.problems) >= 1 and suite.labels


def test_measure_time_ranks_by_seconds_of_each_optimizers_own_stack(tmp_path):
    out = run_bench(_write(tmp_path, {**SUITE, "measure": "time", "problems": SUITE["problems"][1:]}),
                    out=tmp_path / "runs", plots=False)
    rows = _rows(out.run_dir / "results.csv")
    times = [float(r["time_to_target_s"] or "inf") for r in rows]
    assert times[0] >= 0 and out.costs[0].tolist() == pytest.approx(times, abs=1e-6)  # one seed: the cost is that seed's time (inf: never)
    assert len({r["wall_time_s"] for r in rows}) == 2  # two stacks, one per optimizer


def test_a_plugin_in_a_suite_is_found_beside_the_suite_from_any_folder(tmp_path, monkeypatch):
    from .conftest import REPO

    folder = tmp_path / "study"
    folder.mkdir()
    (folder / "signsgd.py").write_text((REPO / "configs" / "plugins" / "signsgd.py").read_text())
    suite = {**SUITE, "optimizers": [{"name": "signsgd.py:sign_sgd", "lr": 0.02, "label": "sign"}],
             "problems": SUITE["problems"][1:]}
    path = _write(folder, suite)
    monkeypatch.chdir(tmp_path)  # not the suite's folder: the path is the suite's, as in a config
    out = run_bench(path, out=tmp_path / "runs", plots=False)
    # parabola (x − 1)² from 0.2, sign-SGD lr 0.02: x_k = 0.2 + 0.02·k, f − f* <= 1e-6 once |x_k − 1| <= 1e-3
    steps = int(_rows(out.run_dir / "results.csv")[0]["steps_to_target"])
    assert steps == next(k for k in range(60) if (0.2 + 0.02 * k - 1) ** 2 <= 1e-6) == 40
