"""Repetitions: every member once per seed in one stack, each row equal to its solo run; statistics over seeds."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
from typer.testing import CliRunner

from gdlab.cli import app
from gdlab.config import load_config
from gdlab.outputs.aggregate import aggregate, seed_stats, step_stats
from gdlab.problems.seeds import SeedRows, as_rows
from gdlab.runner import run_config

from .conftest import bowl_config

NOISY = {"problem": {"objective": "bowl2d", "init": [-5.0, -2.0], "noise": 0.7},
         "optimizers": [{"name": "sgd", "lr": 0.2}, {"name": "adam", "lr": 0.5}], "steps": 15}
DATA = {"problem": {"dataset": "linear_synthetic", "params": {"n": 60}, "batch_size": 8, "validation": 0.25,
                    "init": 0.5},
        "optimizers": [{"name": "sgd", "lr": 0.05}, {"name": "momentum", "lr": 0.02}], "steps": 12, "eval_every": 4}


def _files(d):
    return (d / "metrics.csv").read_text(), json.loads((d / "summary.json").read_text())


@pytest.mark.parametrize("base", [NOISY, DATA], ids=["noisy-toy", "data-split-batches-init"])
def test_each_member_and_seed_equals_its_solo_run(tmp_path, write_config, base):
    together = run_config(write_config({**base, "seeds": [3, 0, 7]}), out=tmp_path / "a", mode="compare",
                          plots=False)
    assert [(m.label, m.seed) for m in together.members] == \
        [(o["name"], s) for o in base["optimizers"] for s in (3, 0, 7)]
    for m in together.members[::2]:  # four of the six rows (both members, every seed among them)
        o = next(x for x in base["optimizers"] if x["name"] == m.label)
        alone = run_config(write_config({**{k: v for k, v in base.items() if k != "optimizers"}, "optimizer": o,
                                         "seed": m.seed}, name="solo.yaml"), out=tmp_path / "b", plots=False)
        metrics, summary = _files(m.run_dir)
        metrics_alone, summary_alone = _files(alone.run_dir)
        assert metrics == metrics_alone  # every logged number, as text (bit for bit)
        for key in ("final_loss", "best_loss", "final_params", "val_loss", "steps_run", "seed"):
            assert summary.get(key) == summary_alone.get(key), key
        # the member's own config.yaml runs that seed alone
        again = run_config(m.run_dir / "config.yaml", out=tmp_path / "c", plots=False)
        assert _files(again.run_dir)[0] == metrics
    finals = {m.seed: m.final_loss for m in together.members if m.label == base["optimizers"][0]["name"]}
    assert len(set(finals.values())) == 3  # the seeds differ: noise (or split, batches, init) is per seed


def test_one_stream_per_distinct_seed():
    rows = SeedRows.of(np.tile([5, 1], 615))  # 1,230 members, two seeds
    assert rows.seeds == (5, 1) and len(rows.generators) == 2
    assert rows.rows == (slice(0, 1229, 2), slice(1, 1230, 2))
    assert SeedRows.of(4).single and SeedRows.of([4, 4, 4]).single
    assert as_rows(np.array([0, 3, 4])).tolist() == [0, 3, 4]
    draws = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert rows.spread(draws)[:4].tolist() == [[1, 2], [3, 4], [1, 2], [3, 4]]


def test_seed_statistics_by_hand():
    stats = seed_stats(np.array([[4.0, 1.0, 100.0, 3.0, 2.0], [1.0, 2.0, 3.0, 9.0, np.nan]]),
                       np.array([[True] * 5, [True, True, True, False, True]]))
    assert stats["median"][0] == 3 and stats["q25"][0] == 2 and stats["q75"][0] == 4
    assert stats["mean"][0] == 22 and stats["min"][0] == 1 and stats["max"][0] == 100
    assert stats["std"][0] == pytest.approx(math.sqrt((21**2 + 20**2 + 19**2 + 18**2 + 78**2) / 4))
    # second member: 9 not counted (its seed diverged), nan ignored: over [1, 2, 3]
    assert (stats["median"][1], stats["q25"][1], stats["q75"][1], stats["mean"][1]) == (2, 1.5, 2.5, 2)
    steps = step_stats(np.array([[-1, 3, 5, 7, -1]]))
    assert (steps["q25"][0], steps["median"][0], steps["q75"][0], steps["reached"][0]) == (5, 7, np.inf, 3)
    agg = aggregate({"final_loss": np.array([[1.0, 5.0]])}, np.array([[False, True]]))
    assert agg["diverged"][0] == 1 and agg["final_loss_median"][0] == 1 and math.isnan(agg["final_loss_std"][0])


def test_seeds_config_and_command_line(write_config):
    path = write_config(bowl_config(seed=2, seeds=3))
    assert load_config(path).all_seeds == (2, 3, 4)
    assert load_config(path, seed=10).all_seeds == (10, 11, 12)
    assert load_config(path, seeds=2).all_seeds == (2, 3)
    listed = write_config(bowl_config(seeds=[0, 3, 7]), name="l.yaml")
    assert load_config(listed).all_seeds == (0, 3, 7) and load_config(listed, seed=5).all_seeds == (5,)
    assert load_config(write_config(bowl_config())).all_seeds == (0,)


@pytest.mark.parametrize("top, needle", [
    ({"seeds": 0}, "seeds: must be >= 1"),
    ({"seeds": [1, 1]}, "seeds: seed 1 is listed twice"),
    ({"seeds": []}, "seeds: expected a non-empty list"),
    ({"seeds": "five"}, "seeds: expected a count"),
    ({"seeds": [0, 3], "seed": 5}, "seeds: give either"),
    ({"seeds": [0, -3]}, "seeds[1]: must be >= 0"),
])
def test_bad_seeds_exit_2_naming_the_key(tmp_path, write_config, top, needle):
    r = CliRunner().invoke(app, ["run", str(write_config(bowl_config(**top))), "--out", str(tmp_path / "runs")])
    assert r.exit_code == 2 and needle in r.output, r.output
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_run_with_seeds_writes_rows_aggregate_and_band_figures(tmp_path, write_config):
    cfg = write_config({**{k: v for k, v in NOISY.items() if k != "optimizers"}, "optimizer": {"name": "sgd"}})
    r = CliRunner().invoke(app, ["run", str(cfg), "--seeds", "2", "--seed", "4", "--out", str(tmp_path / "runs")])
    assert r.exit_code == 0, r.output
    run_dir = next((tmp_path / "runs").iterdir())
    assert "median [25 %, 75 %] over 2 seeds" in r.output
    rows = list(csv.DictReader(open(run_dir / "summary.csv")))
    assert [row["seed"] for row in rows] == ["4", "5"]
    (agg,) = list(csv.DictReader(open(run_dir / "aggregate.csv")))
    losses = sorted(float(row["final_loss"]) for row in rows)
    assert float(agg["final_loss_min"]) == losses[0] and float(agg["final_loss_max"]) == losses[1]
    assert float(agg["final_loss_median"]) == pytest.approx(sum(losses) / 2)
    assert {p.name for p in (run_dir / "plots").iterdir()} == {"loss.png", "trajectory.png"}
    (run_dir / "plots" / "loss.png").unlink()
    r = CliRunner().invoke(app, ["plot", str(run_dir)])
    assert r.exit_code == 0 and (run_dir / "plots" / "loss.png").is_file(), r.output


def test_nan_quantiles_agree_with_numpy():
    from gdlab.outputs.aggregate import nan_quantiles

    rng = np.random.default_rng(3)
    v = rng.standard_normal((7, 50))
    v[rng.random(v.shape) < 0.3] = np.nan
    v[:, 0] = np.nan  # a column with no value
    v[:, 1] = [1, 2, np.inf, np.inf, np.nan, 3, 4]
    qs = [0.0, 0.25, 0.5, 0.75, 1.0]
    with np.errstate(invalid="ignore"), pytest.warns(RuntimeWarning):
        expected = np.nanquantile(v, qs, axis=0)
    got = nan_quantiles(v, qs, axis=0)
    np.testing.assert_allclose(got[:, 2:], expected[:, 2:], rtol=1e-12)
    assert np.isnan(got[:, 0]).all() and got[:, 1].tolist() == [1, 2.25, 3.5, np.inf, np.inf]  # sorted 1 2 3 4 inf inf


def test_sweep_seeds_are_repetitions_in_one_stack(tmp_path, write_config):
    from gdlab.sweeps.runner import run_sweep

    cfg = write_config({"problem": {"objective": "bowl2d", "init": [-5.0, -2.0], "noise": 0.5},
                        "optimizer": {"name": "sgd", "lr": 0.1}, "steps": 12})
    sweep = run_sweep(cfg, ["optimizer.lr=0.1,0.3"], out=tmp_path / "s", plots=True, seeds=3)
    d = sweep.run_dir
    summary = json.loads((d / "summary.json").read_text())
    assert summary["stacks"] == 1 and summary["members"] == 6 and summary["repetitions"] == 3
    rows = list(csv.DictReader(open(d / "summary.csv")))
    assert [(r["lr"], r["seed"]) for r in rows] == [("0.1", "0"), ("0.1", "1"), ("0.1", "2"), ("0.3", "0"),
                                                   ("0.3", "1"), ("0.3", "2")]
    alone = run_config(write_config({"problem": {"objective": "bowl2d", "init": [-5.0, -2.0], "noise": 0.5},
                                     "optimizer": {"name": "sgd", "lr": 0.3}, "steps": 12, "seed": 2}, name="a.yaml"),
                       out=tmp_path / "a", plots=False)
    assert float(rows[5]["final_loss"]) == alone.members[0].final_loss  # the row of lr 0.3, seed 2, bit for bit
    agg = {r["member"]: r for r in csv.DictReader(open(d / "aggregate.csv"))}
    finals = sorted(float(r["final_loss"]) for r in rows[3:])
    assert float(agg["sgd[lr=0.3]"]["final_loss_median"]) == finals[1] and agg["sgd[lr=0.3]"]["seeds"] == "3"
    assert summary["best_member"] in agg  # a grid point by its median, never one seed
    assert sorted(p.name for p in (d / "plots").iterdir()) == ["best_loss.png", "final_loss_lr.png"]
    only_seeds = run_sweep(cfg, ["seed=0,3,7"], out=tmp_path / "t", plots=True)
    assert sorted(p.name for p in (only_seeds.run_dir / "plots").iterdir()) == ["best_loss.png"]  # no "best seed"
    assert json.loads((only_seeds.run_dir / "summary.json").read_text())["best_member"] == "sgd"
