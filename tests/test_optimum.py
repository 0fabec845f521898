"""Exact-optimum metrics on toys: suboptimality f − f*, distance to the nearest minimiser, steps to a tolerance."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from gdlab.engine import Member, run_stack
from gdlab.problems.objectives import make_objective
from gdlab.problems.targets import Target
from gdlab.problems.toy import ToyProblem, distance_to_nearest, known_minimisers
from gdlab.runner import run_config

from .conftest import bowl_config


def _steps_to(tol: float) -> int:
    """d2l's bowl, gd lr 0.4 from (-5, -2): x1 ← 0.92·x1, x2 ← -0.6·x2, so f_k = 2.5·0.8464^k + 8·0.36^k."""
    k = 0
    while 2.5 * 0.8464**k + 8 * 0.36**k > tol:
        k += 1
    return k


def test_bowl_logs_suboptimality_distance_and_steps_to_tol(tmp_path, write_config):
    out = run_config(write_config(bowl_config(steps=200, tol=1e-4)), out=tmp_path, plots=False)
    summary = json.loads((out.run_dir / "summary.json").read_text())
    assert summary["steps_to_tol"] == _steps_to(1e-4) == 61 and summary["tol"] == 1e-4
    rows = list(csv.DictReader(open(out.run_dir / "metrics.csv")))
    x1, x2 = -5 * 0.92**3, -2 * (-0.6) ** 3
    assert float(rows[3]["suboptimality"]) == float(rows[3]["loss"])  # f* = 0
    assert float(rows[3]["dist_to_min"]) == pytest.approx(np.hypot(x1, x2), rel=1e-12)
    assert float(rows[3]["loss"]) == pytest.approx(0.1 * x1 * x1 + 2 * x2 * x2, rel=1e-12)
    short = run_config(write_config(bowl_config(steps=20), name="s.yaml"), out=tmp_path, plots=False)
    assert json.loads((short.run_dir / "summary.json").read_text())["steps_to_tol"] is None  # never within 20


def test_steps_to_tol_is_zero_at_the_minimum_and_counts_the_last_point(write_config, tmp_path):
    at_min = run_config(write_config(bowl_config(problem={"objective": "bowl2d", "init": [0.0, 0.0]})),
                        out=tmp_path, plots=False)
    assert at_min.members[0].steps_to_tol == 0
    # parabola (x − 1)² + 0.001 with lr 0.5 lands on x = 1 after exactly one update: f − f* = 0 there
    cfg = {"problem": {"objective": "parabola", "params": {"c": 1.0, "d": 0.001}, "init": [0.2]},
           "optimizer": {"name": "sgd", "lr": 0.5}, "steps": 1, "tol": 0.0}
    one = run_config(write_config(cfg, name="p.yaml"), out=tmp_path, plots=False)
    assert one.members[0].steps_to_tol == 1
    rows = list(csv.DictReader(open(one.members[0].run_dir / "metrics.csv")))
    assert float(rows[0]["suboptimality"]) == pytest.approx(0.64)  # (0.2 − 1)², without the 0.001 floor


def test_himmelblau_has_four_minimisers_and_the_distance_is_to_the_nearest():
    obj = make_objective("himmelblau", {})
    mins = known_minimisers(obj, 2)
    assert mins.shape == (4, 2)
    np.testing.assert_allclose(obj.value(mins), 0.0, atol=1e-25)
    np.testing.assert_allclose(obj.grad(mins), 0.0, atol=1e-12)
    points = np.array([[-2.8, 3.0], [3.1, 2.0], [0.0, 0.0]])
    by_hand = [np.hypot(-2.8 - mins[1, 0], 3.0 - mins[1, 1]), 0.1, np.hypot(3.0, 2.0)]  # (0, 0): (3, 2) nearest
    np.testing.assert_allclose(distance_to_nearest(points, mins), by_hand, rtol=1e-12)
    assert known_minimisers(make_objective("rastrigin", {}), 3).tolist() == [[0.0, 0.0, 0.0]]
    assert known_minimisers(make_objective("saddle", {}), 2) is None


def test_saddle_has_no_optimum_columns(write_config, tmp_path):
    cfg = {"problem": {"objective": "saddle"}, "optimizer": {"name": "sgd", "lr": 0.1}, "steps": 3}
    out = run_config(write_config(cfg), out=tmp_path, plots=False)
    assert "suboptimality" not in (out.run_dir / "metrics.csv").read_text().splitlines()[0]
    assert "steps_to_tol" not in json.loads((out.run_dir / "summary.json").read_text())


def test_targets_on_whole_data_metrics_are_checked_at_evaluations():
    from gdlab.problems.build import build_problem
    from gdlab.problems.spec import ProblemSpec

    spec = ProblemSpec("dataset", "linear_synthetic", {"n": 50}, 0.0, model="linear", loss="half_mse",
                       validation=0.2)
    members = [Member("a", "sgd", {"lr": 0.1, "momentum": 0.0, "dampening": 0.0, "weight_decay": 0.0,
                                   "nesterov": False}), Member("b", "sgd", {"lr": 1e-4, "momentum": 0.0,
                                   "dampening": 0.0, "weight_decay": 0.0, "nesterov": False})]
    result = run_stack(build_problem(spec, seed=0), members, steps=40, eval_every=5,
                       target=Target("val_loss", 0.5))
    assert result.reached_at[0] > 0 and result.reached_at[0] % 5 == 0  # only where the data was evaluated
    assert result.reached_at[1] == -1 and np.isnan(result.reached_time_s[1])
    toy = ToyProblem(make_objective("bowl2d", {}), (-5.0, -2.0), 0.0, 0)
    member = Member("gd", "sgd", members[0].hparams | {"lr": 0.4})
    res = run_stack(toy, [member], steps=30, target=Target("dist_to_min", 1.0))
    # |x_k| <= 1 first at: 5·0.92^k <= 1 with x2 negligible by then
    assert res.reached_at[0] == next(k for k in range(60) if np.hypot(5 * 0.92**k, 2 * 0.6**k) <= 1.0)
