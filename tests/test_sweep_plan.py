"""Sweep plans: compare sweeps, per-entry axes, structural optimizer axes as groups of one stack, per-entry
schedules; every member equal to the same member run alone."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from typer.testing import CliRunner

from gdlab.cli import app
from gdlab.config import load_config
from gdlab.config.grid import grid_axes
from gdlab.errors import ConfigError
from gdlab.runner import run_config
from gdlab.sweeps.batch import run_batch
from gdlab.sweeps.merge import assemble
from gdlab.sweeps.plan import plan_sweep
from gdlab.sweeps.runner import run_sweep

from .conftest import bowl_config

runner = CliRunner()


def compare_config(optimizers: list, **top) -> dict:
    cfg = {k: v for k, v in bowl_config(**top).items() if k != "optimizer"}
    return {**cfg, "optimizers": optimizers}


COMPARE = compare_config([{"name": "sgd", "lr": 0.1}, {"name": "adam", "lr": 0.3, "label": "Adam"}], steps=15)


def plan_of(path, grid, sets=()):
    cfg = load_config(path, list(sets), import_plugins=True)
    return plan_sweep(cfg, grid_axes(cfg.sweep, grid))


def solo(tmp_path, data: dict, write_config):
    """The final loss of a one-optimizer config run alone."""
    return run_config(write_config(data, "solo.yaml"), out=tmp_path / "solo", plots=False).members[0]


def rows_of(run_dir):
    return list(csv.DictReader(open(run_dir / "summary.csv")))


def test_a_compare_sweep_has_a_row_per_member_and_grid_point_each_equal_to_its_solo_run(tmp_path, write_config):
    cfg = write_config(COMPARE)
    sweep = run_sweep(cfg, ["optimizer.lr=0.05,0.2", "optimizers[1].betas[0]=0.8,0.9,0.95"], out=tmp_path)
    assert sweep.plot_error is None and (sweep.run_dir / "plots" / "final_loss_lr.png").is_file()  # a line each
    rows = rows_of(sweep.run_dir)
    assert [r["member"] for r in rows] == [
        "sgd[lr=0.05]", "sgd[lr=0.2]",
        "Adam[lr=0.05,betas[0]=0.8]", "Adam[lr=0.05,betas[0]=0.9]", "Adam[lr=0.05,betas[0]=0.95]",
        "Adam[lr=0.2,betas[0]=0.8]", "Adam[lr=0.2,betas[0]=0.9]", "Adam[lr=0.2,betas[0]=0.95]"]
    assert list(rows[0])[:4] == ["member", "optimizer", "lr", "optimizers[1].betas[0]"]
    assert rows[0]["optimizer"] == "sgd" and rows[0]["optimizers[1].betas[0]"] == ""
    assert {r["optimizer"] for r in rows[2:]} == {"Adam"}
    for i in (1, 3, 7):
        r = rows[i]
        entry = {"name": "sgd", "lr": float(r["lr"])} if r["optimizer"] == "sgd" else \
            {"name": "adam", "lr": float(r["lr"]), "betas": [float(r["optimizers[1].betas[0]"]), 0.999]}
        alone = solo(tmp_path, {**bowl_config(steps=15), "optimizer": entry}, write_config)
        assert r["final_loss"] == repr(alone.final_loss), r["member"]


def test_a_compare_sweep_is_one_stack_and_a_structural_optimizer_axis_makes_groups_not_stacks(write_config):
    plan = plan_of(write_config(COMPARE), ["optimizer.lr=logspace(-3,0,7)"])
    assert len(plan.batches) == 1 and plan.size == 14
    assert [g.optimizer for g in plan.batches[0].groups] == ["sgd", "adam"]
    np.testing.assert_array_equal(plan.batches[0].groups[0].hparams["lr"], np.logspace(-3, 0, 7))
    plan = plan_of(write_config(bowl_config()), ["optimizer.name=sgd,adam,nadam", "optimizer.lr=0.1,0.2"])
    assert len(plan.batches) == 1 and [g.optimizer for g in plan.batches[0].groups] == ["sgd", "adam", "nadam"]
    plan = plan_of(write_config(bowl_config()), ["seed=0,1", "optimizer.lr=0.1,0.2"])
    # the seed is a vectorized axis (issue 10): one stack, one random stream per distinct seed
    assert len(plan.batches) == 1
    np.testing.assert_array_equal(plan.batches[0].problem.seed, [0, 0, 1, 1])


def test_sweeping_the_optimizer_name_keeps_the_settings_that_apply_and_says_what_it_drops(tmp_path, write_config):
    cfg = write_config({**bowl_config(steps=12), "optimizer": {"name": "momentum", "lr": 0.4, "momentum": 0.5}})
    r = runner.invoke(app, ["sweep", str(cfg), "--grid", "optimizer.name=sgd,adam,nadam", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert "momentum=0.5 from the config does not apply to adam" in r.stderr
    rows = rows_of(tmp_path / r.stdout.strip().splitlines()[-1].split("/")[-1])
    assert [row["member"] for row in rows] == ["sgd", "adam", "nadam"]
    expected = [{"name": "sgd", "lr": 0.4, "momentum": 0.5}, {"name": "adam", "lr": 0.4}, {"name": "nadam", "lr": 0.4}]
    for row, entry in zip(rows, expected):
        alone = solo(tmp_path, {**bowl_config(steps=12), "optimizer": entry}, write_config)
        assert row["final_loss"] == repr(alone.final_loss), row["member"]


@pytest.mark.parametrize("config, grid, needles", [
    ("compare", ["optimizer.momentum=0,0.9"], ["optimizer.momentum", "Adam (optimizers[1])", "momentum",
                                               "--grid optimizers[0].momentum"]),
    ("one", ["optimizer.name=sgd,adam", "optimizer.momentum=0,0.5"], ["optimizer.momentum", "adam"]),
    ("one", ["optimizers[1].lr=0.1,0.2"], ["one optimizer", "optimizer.lr"]),
    ("compare", ["optimizers[2].lr=0.1,0.2"], ["2 optimizers"]),
    ("compare", ["optimizer.lrr=0.1,0.2"], ["did you mean 'lr'"]),
])
def test_axes_that_do_not_apply_name_the_key_and_the_member(tmp_path, write_config, config, grid, needles):
    path = write_config(COMPARE if config == "compare" else bowl_config())
    with pytest.raises(ConfigError) as info:
        plan_of(path, grid)
    for needle in needles:
        assert needle in str(info.value)


def test_schedule_axes_structural_and_vectorized_equal_their_solo_runs(tmp_path, write_config):
    base = {**bowl_config(steps=15), "schedule": {"name": "exponential", "gamma": 0.9}}
    cfg = write_config(base)
    plan = plan_of(cfg, ["schedule.gamma=0.8,0.9,0.99", "optimizer.lr=0.2,0.4"])
    assert len(plan.batches) == 1 and len(plan.batches[0].groups) == 1  # gamma is a per-member column
    sweep = run_sweep(cfg, ["schedule.gamma=0.8,0.9,0.99", "optimizer.lr=0.2,0.4"], out=None)
    for i, (gamma, lr) in enumerate([(g, lr) for g in (0.8, 0.9, 0.99) for lr in (0.2, 0.4)]):
        alone = solo(tmp_path, {**base, "optimizer": {"name": "sgd", "lr": lr},
                                "schedule": {"name": "exponential", "gamma": gamma}}, write_config)
        assert sweep.final_loss[i] == alone.final_loss
    sweep = run_sweep(cfg, ["schedule.name=constant,cosine"], out=None)
    assert sweep.labels == ["sgd[schedule.name=constant]", "sgd[schedule.name=cosine]"]
    alone = solo(tmp_path, {**base, "schedule": {"name": "cosine"}}, write_config)
    assert sweep.final_loss[1] == alone.final_loss


def test_each_entry_of_a_compare_may_have_its_own_schedule(tmp_path, write_config):
    """d2l 12.4: the same gradient descent with a constant and with a decaying learning rate, in one compare.

    On f = 0.1·x1² + 2·x2², x ← x − lr·γ^(t−1)·∇f: each coordinate is multiplied by (1 − lr·γ^(t−1)·2a) a step.
    """
    cfg = write_config(compare_config([
        {"name": "sgd", "lr": 0.2, "label": "constant"},
        {"name": "sgd", "lr": 0.2, "label": "decayed", "schedule": {"name": "exponential", "gamma": 0.7}}], steps=10))
    out = run_config(cfg, mode="compare", out=tmp_path, plots=False)
    x = np.array([-5.0, -2.0])
    for t in range(10):
        x = x * (1 - 0.2 * 0.7**t * np.array([0.2, 4.0]))
    decayed = out.members[1].run_dir / "trajectory.csv"
    np.testing.assert_allclose(np.loadtxt(decayed, delimiter=",", skiprows=1)[-1, 1:], x, rtol=1e-13)
    lr = np.loadtxt(out.members[1].run_dir / "metrics.csv", delimiter=",", skiprows=1, usecols=4)
    np.testing.assert_allclose(lr[:10], 0.2 * 0.7 ** np.arange(10), rtol=1e-15)
    assert "exponential" in (out.members[1].run_dir / "config.yaml").read_text()
    alone = solo(tmp_path, {**bowl_config(steps=10), "optimizer": {"name": "sgd", "lr": 0.2},
                            "schedule": {"name": "exponential", "gamma": 0.7}}, write_config)
    assert out.members[1].final_loss == alone.final_loss


def test_run_and_compare_refuse_a_config_with_a_sweep_block(tmp_path, write_config):
    cfg = write_config({**bowl_config(), "sweep": {"optimizer.lr": [0.1, 0.2]}})
    r = runner.invoke(app, ["run", str(cfg), "--out", str(tmp_path / "runs")])
    assert r.exit_code == 2 and f"gdlab sweep {cfg}" in r.output and "--set sweep=null" in r.output, r.output
    assert not (tmp_path / "runs").exists()
    r = runner.invoke(app, ["run", str(cfg), "--set", "sweep=null", "--out", str(tmp_path / "runs"), "-q"])
    assert r.exit_code == 0, r.output


def test_optimizers_flag_with_set_applies_the_value_to_every_selected_optimizer(tmp_path, write_config):
    cfg = load_config(write_config(bowl_config()), ["optimizer.lr=0.05"], select_optimizers=["sgd", "adam"])
    assert [o.hparams["lr"] for o in cfg.optimizers] == [0.05, 0.05]
    cfg = load_config(write_config(bowl_config()), ["optimizers[1].lr=0.2"], select_optimizers=["sgd", "adam"])
    assert [o.hparams["lr"] for o in cfg.optimizers] == [1e-3, 0.2]
    with pytest.raises(ConfigError, match=r"optimizers\[1\]\.momentum: unknown key of optimizer adam"):
        load_config(write_config(bowl_config()), ["optimizer.momentum=0.5"], select_optimizers=["sgd", "adam"])
    with pytest.raises(ConfigError, match=r"optimizers\[i\]\.name"):
        load_config(write_config(bowl_config()), ["optimizer.name=nadam"], select_optimizers=["sgd", "adam"])


def test_batches_run_in_any_order_and_assemble_in_grid_order(write_config):
    plan = plan_of(write_config(bowl_config(steps=8)), ["steps=6,7,8", "optimizer.lr=0.1,0.3"],
                   ["problem.noise=0.5"])  # steps is structural: a stack per value
    results = [run_batch(b) for b in reversed(plan.batches)]
    outcome, history = assemble(plan, results)
    forward, _ = assemble(plan, [run_batch(b) for b in plan.batches])
    np.testing.assert_array_equal(outcome.final_loss, forward.final_loss)
    assert len(set(outcome.final_loss.tolist())) == 6 and history.loss.shape == (9, 6)
    partial, _ = assemble(plan, results[:1])  # the last batch alone: the others not run
    assert list(partial.status) == ["not_run"] * 4 + ["completed"] * 2 and partial.interrupted


def test_a_sweep_whose_every_batch_failed_still_gathers_its_rows(write_config):
    """Every batch failed (say each killed its worker twice): nothing was logged, and the start losses that
    summary.csv's `settled` column reads are nan, not an IndexError."""
    from gdlab.sweeps.recorded import GatheredRows, failed_result

    plan = plan_of(write_config(bowl_config(steps=8)), ["steps=6,7", "optimizer.lr=0.1,0.3"])
    rows = GatheredRows([failed_result(b, "killed") for b in plan.batches], plan.size)
    assert rows.start().shape == (4,) and np.isnan(rows.start()).all() and rows[0:4].shape == (4, 1)
