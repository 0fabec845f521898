"""Sweeps: grid syntax, member names, outputs, and answers equal to running each member alone."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from gdlab.cli import app
from gdlab.errors import ConfigError
from gdlab.config.grid import grid_axes, member_indices, member_labels, parse_grid_option
from gdlab.runner import run_config
from gdlab.sweeps.runner import run_sweep

from .conftest import bowl_config

runner = CliRunner()


def test_grid_values_lists_and_ranges():
    assert parse_grid_option("optimizer.lr=0.01,0.1,0.4").values == (0.01, 0.1, 0.4)
    lin = parse_grid_option("optimizer.lr=linspace(0.01,1,100)").values
    assert len(lin) == 100 and lin[0] == 0.01 and lin[-1] == 1.0
    log = parse_grid_option("optimizer.lr=logspace(-4,0,5)").values
    np.testing.assert_allclose(log, [1e-4, 1e-3, 1e-2, 1e-1, 1.0])
    assert parse_grid_option("problem.activation=relu,sigmoid").values == ("relu", "sigmoid")
    assert parse_grid_option("problem.init[0]=-5,-4").path == ("problem", "init", 0)


@pytest.mark.parametrize("text, needle", [
    ("optimizer.lr", "KEY=V1,V2"),
    ("optimizer.lr=", "KEY=V1,V2"),
    ("optimizer.lr=linspace(0,1)", "three numbers"),
    ("optimizer.lr=logspace(a,b,3)", "three numbers"),
    ("optimizer.lr=linspace(0,1,0)", "count >= 1"),
])
def test_malformed_grid_options(text, needle):
    with pytest.raises(ConfigError, match="--grid") as info:
        parse_grid_option(text)
    assert needle in str(info.value)


def test_product_order_and_names():
    axes = grid_axes({}, ["optimizer.lr=0.1,0.2", "optimizer.momentum=0,0.5,0.9"])
    idx = member_indices(axes)
    assert member_labels("momentum", axes, idx)[:4] == [
        "momentum[lr=0.1,momentum=0]", "momentum[lr=0.1,momentum=0.5]", "momentum[lr=0.1,momentum=0.9]",
        "momentum[lr=0.2,momentum=0]"]


def test_command_line_axes_replace_the_configs():
    axes = grid_axes({"optimizer.lr": [0.1, 0.2], "seed": [0, 1]}, ["optimizer.lr=0.3"])
    assert [(a.key, a.values) for a in axes] == [("optimizer.lr", (0.3,)), ("seed", (0, 1))]


def _solo_final(tmp_path, cfg_path, sets):
    out = run_config(cfg_path, out=tmp_path / "solo", overrides=sets, plots=False)
    return out.members[0]


def test_sweep_members_equal_their_runs_alone(tmp_path, write_config):
    cfg = write_config({**bowl_config(steps=60), "optimizer": {"name": "momentum", "lr": 0.4, "momentum": 0.5},
                        "problem": {"objective": "bowl2d", "init": [-5.0, -2.0], "noise": 0.3}})
    grid = ["optimizer.lr=linspace(0.05,0.8,16)", "optimizer.momentum=0,0.5,0.9", "problem.init[1]=-2,1",
            "problem.params.a=0.1,0.3"]
    sweep = run_sweep(cfg, grid, out=tmp_path / "sweep", plots=False)
    assert len(sweep.labels) == 16 * 3 * 2 * 2
    rows = list(csv.DictReader(open(sweep.run_dir / "summary.csv")))
    rng = np.random.default_rng(0)
    for i in rng.choice(len(rows), size=8, replace=False):
        row = rows[i]
        sets = [f"optimizer.lr={row['lr']}", f"optimizer.momentum={row['momentum']}",
                f"problem.init=[-5.0, {row['problem.init[1]']}]", f"problem.params.a={row['problem.params.a']}"]
        solo = _solo_final(tmp_path, cfg, sets)
        assert solo.status == row["status"], row["member"]
        assert repr(solo.final_loss) == row["final_loss"] or (np.isnan(solo.final_loss) and not row["final_loss"])
        assert sweep.final_loss[i] == solo.final_loss or np.isnan(solo.final_loss)


def test_structural_axes_run_as_separate_stacks_with_the_same_answers(tmp_path, write_config):
    """The seed changes the gradient noise: each seed is its own stack; members still equal their solo runs."""
    cfg = write_config({**bowl_config(steps=30), "problem": {"objective": "bowl2d", "init": [-5.0, -2.0], "noise": 1.0}})
    sweep = run_sweep(cfg, ["seed=0,1,2", "optimizer.lr=0.1,0.3"], out=tmp_path / "sweep", plots=False)
    assert sweep.labels[0] == "sgd[seed=0,lr=0.1]"
    assert len(set(sweep.final_loss)) == 6  # every seed gives its own noise
    for i, (seed, lr) in enumerate([(s, lr) for s in (0, 1, 2) for lr in (0.1, 0.3)]):
        solo = _solo_final(tmp_path, cfg, [f"seed={seed}", f"optimizer.lr={lr}"])
        assert sweep.final_loss[i] == solo.final_loss


def test_sweep_finds_where_gradient_descent_diverges(tmp_path, write_config):
    """d2l's bowl has curvature 4 along x2: gradient descent diverges for lr > 2/4 = 0.5.

    At lr 0.51, |x2| grows by |1 − 4·0.51| = 1.04 a step: it takes about 9000 steps to overflow.
    """
    cfg = write_config(bowl_config(steps=20_000, log_every=1000))
    sweep = run_sweep(cfg, ["optimizer.lr=linspace(0.3,0.7,41)"], out=tmp_path, plots=False)
    lrs = np.linspace(0.3, 0.7, 41)
    diverged = sweep.status == "diverged"
    assert not diverged[lrs <= 0.5 + 1e-9].any() and diverged[lrs > 0.5 + 1e-9].all()
    assert (sweep.diverged_at[diverged] > 0).all()


def test_sweep_directory_contents(tmp_path, write_config, monkeypatch):
    from matplotlib.figure import Figure

    legends, original = [], Figure.savefig

    def spy(fig, *args, **kwargs):  # what each figure's legends say
        legends.append([t.get_text() for ax in fig.axes for lg in [ax.get_legend(), *fig.legends] if lg
                        for t in lg.get_texts()])
        return original(fig, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", spy)
    cfg = write_config({**bowl_config(steps=20, log_every=5), "sweep": {"optimizer.lr": [0.1, 0.4, 0.6]}})
    r = runner.invoke(app, ["sweep", str(cfg), "--grid", "optimizer.momentum=0,0.5", "--set",
                            "optimizer.name=momentum", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    d = tmp_path / r.stdout.strip().splitlines()[-1].split("/")[-1]
    header = next(csv.reader(open(d / "summary.csv")))
    assert header == ["member", "lr", "momentum", "status", "steps_run", "final_loss", "best_loss", "diverged_at",
                      "settled"]
    metrics = np.load(d / "metrics.npz")
    assert metrics["loss"].shape == (6, 5) and metrics["step"].tolist() == [0, 5, 10, 15, 20]
    assert list(metrics["member"][:2]) == ["momentum[lr=0.1,momentum=0]", "momentum[lr=0.1,momentum=0.5]"]
    summary = json.loads((d / "summary.json").read_text())
    # one vocabulary: gd at lr 0.6 ends above its start after 20 steps (finite: not diverged), and the table,
    # summary.json, summary.csv and every sweep curve count it the same way
    assert summary["members"] == 6 and summary["counts"] == {"completed": 5, "not settled": 1, "diverged": 0,
                                                             "interrupted": 0, "not_run": 0}
    rows = list(csv.DictReader(open(d / "summary.csv")))
    assert [r["member"] for r in rows if r["settled"] == "false"] == ["momentum[lr=0.6,momentum=0]"]
    assert "completed: 5  not settled: 1  diverged: 0" in r.stdout
    curves = [lg for lg in legends if any(t.startswith("theory") or "lowest" in t for t in lg)][:2]
    assert all("not settled: ended above its start (1)" in lg for lg in curves), legends
    assert not any(t.startswith("diverged") for lg in legends for t in lg)
    assert not any(p.is_dir() for p in d.iterdir() if p.name != "plots")  # no per-member directories
    assert "momentum[lr=" in r.stdout  # the table of the best members


def test_data_sweep_over_learning_rates(tmp_path, write_config):
    cfg = write_config({"problem": {"dataset": "airfoil", "model": "linear", "loss": "half_mse", "batch_size": 10},
                        "optimizer": {"name": "sgd", "lr": 0.05}, "epochs": 1})
    sweep = run_sweep(cfg, ["optimizer.lr=logspace(-3,-1,5)"], out=tmp_path, plots=False)
    assert (sweep.status == "completed").all()
    assert sweep.final_loss[0] > sweep.final_loss[-1]  # lr 0.001 has not got far in one epoch
    solo = _solo_final(tmp_path, cfg, ["optimizer.lr=0.1"])
    assert sweep.final_loss[-1] == pytest.approx(solo.final_loss, rel=1e-6)


@pytest.mark.parametrize("grid, needle", [
    (["optimizer.lrr=0.1,0.2"], "did you mean 'lr'"),
    (["optimizer.lr=-0.1,0.2"], "optimizer.lr"),
    (["optimizer.momentum=0.5,1.5"], "[0, 1)"),
    (["problem.objective=bowl,rosenbrock"], "did you mean 'bowl2d'"),
    (["optimizer.lr=0.1,0.1"], "repeat"),
    (["optimizer.lr=linspace(0.1,1)"], "three numbers"),
    ([], "no grid"),
])
def test_bad_grids_exit_2_and_write_nothing(tmp_path, write_config, grid, needle):
    args = ["sweep", str(write_config(bowl_config())), "--out", str(tmp_path / "runs")]
    for g in grid:
        args += ["--grid", g]
    r = runner.invoke(app, args)
    assert r.exit_code == 2, r.output
    assert needle in r.output and "Traceback" not in r.output
    assert not (tmp_path / "runs").exists()


def test_plot_redraws_a_sweep_from_its_files(tmp_path, write_config):
    sweep = run_sweep(write_config(bowl_config()), ["optimizer.lr=0.1,0.3,0.6", "optimizer.momentum=0,0.5"],
                      out=tmp_path, plots=False)
    r = runner.invoke(app, ["plot", str(sweep.run_dir)])
    assert r.exit_code == 0, r.output
    names = {p.name for p in (sweep.run_dir / "plots").iterdir()}
    assert {"final_loss_lr.png", "final_loss_momentum.png", "final_loss_heatmap.png", "best_loss.png"} <= names


def test_ranges_are_recorded_as_written(tmp_path, write_config):
    import yaml

    cfg = write_config({**bowl_config(steps=5), "sweep": {"optimizer.lr": "logspace(-3, -1, 3)"}})
    sweep = run_sweep(cfg, ["optimizer.weight_decay=linspace(0,0.1,4)"], out=tmp_path, plots=False)
    assert len(sweep.labels) == 12
    written = yaml.safe_load((sweep.run_dir / "config.yaml").read_text())["sweep"]
    assert written == {"optimizer.lr": "logspace(-3,-1,3)", "optimizer.weight_decay": "linspace(0,0.1,4)"}
