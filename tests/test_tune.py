"""gdlab tune: equal budgets, the stated criterion, tuned.yaml that compare runs as is, reruns equal to solo runs."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from gdlab.cli import app
from gdlab.config import load_config
from gdlab.runner import run_config
from gdlab.tune.runner import run_tune

from .conftest import REPO

BOWL = {"name": "bowl", "problem": {"objective": "bowl2d", "init": [-5.0, -2.0], "noise": 0.1},
        "optimizers": [{"name": "sgd", "label": "GD"}, {"name": "momentum", "lr": 0.1, "momentum": 0.5},
                       {"name": "adam"}],
        "tune": {"lr": "logspace(-2,0,9)"}, "steps": 20, "seeds": 2}


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_tune_on_the_d2l_bowl_picks_a_stable_gd_and_writes_a_runnable_compare(tmp_path):
    r = CliRunner().invoke(app, ["tune", str(REPO / "configs" / "d2l-compare.yaml"), "--out", str(tmp_path / "t"),
                                 "--set", "tune.lr=logspace(-3,1,9)"])
    assert r.exit_code == 0, r.output
    out = SimpleNamespace(run_dir=Path(r.stdout.strip().splitlines()[-1]))
    assert "GD (lr 0.4)" in r.stdout and "median [25 %, 75 %] over 5 seeds" in r.stdout  # both tables
    chosen = {r["member"]: r for r in _rows(out.run_dir / "chosen.csv")}
    gd = float(chosen["GD (lr 0.4)"]["lr"])
    # gd from (-5, -2) for 20 steps: f = 2.5·(1 − 0.2·lr)^40 + 8·(1 − 4·lr)^40, least on the grid at 10^-0.5
    grid = np.logspace(-3, 1, 9)
    by_hand = grid[np.argmin(2.5 * (1 - 0.2 * grid) ** 40 + 8 * (1 - 4 * grid) ** 40)]
    assert gd == by_hand and gd < 0.5  # the stable range: lr · L < 2 with L = 4
    assert {int(r["trials"]) for r in chosen.values()} == {9}  # the same budget for every optimizer
    # the tuned compare config runs as it is, and gives what the tune directory's compare holds
    r = CliRunner().invoke(app, ["compare", str(out.run_dir / "tuned.yaml"), "--out", str(tmp_path / "again"), "-q"])
    assert r.exit_code == 0, r.output
    again = _rows(next((tmp_path / "again").iterdir()) / "summary.csv")
    first = _rows(out.run_dir / "compare" / "summary.csv")
    assert [(x["member"], x["seed"], x["final_loss"]) for x in again] == \
        [(x["member"], x["seed"], x["final_loss"]) for x in first]
    assert len(first) == 6 * 5  # six optimizers, five fresh seeds (1 ... 5: not the trial seed 0)
    assert {x["seed"] for x in first} == {"1", "2", "3", "4", "5"}


def test_trials_and_reruns_equal_their_solo_runs(tmp_path, write_config):
    out = run_tune(write_config(BOWL), out=tmp_path, plots=False)
    trials = _rows(out.run_dir / "trials.csv")
    assert len(trials) == 3 * 9 * 1 and {r["seed"] for r in trials} == {"0"}  # trials on seed 0; reruns on 2 seeds
    tuned = yaml.safe_load((out.run_dir / "tuned.yaml").read_text())
    assert tuned["seeds"] == [0, 1] and "tune" not in tuned  # the config's `seeds: 2` are the reruns' seeds
    for entry, member in zip(tuned["optimizers"], out.compare.members[::2]):  # seed 0 of each optimizer
        solo = {k: v for k, v in tuned.items() if k not in ("optimizers", "seeds")}
        alone = run_config(write_config({**solo, "optimizer": entry, "seed": member.seed}, name="solo.yaml"),
                           out=tmp_path / "solo", plots=False)
        assert (alone.run_dir / "metrics.csv").read_text() == (member.run_dir / "metrics.csv").read_text()
        trial = next(r for r in trials if r["member"] == BOWL["optimizers"][tuned["optimizers"].index(entry)].get(
            "label", BOWL["optimizers"][tuned["optimizers"].index(entry)]["name"]) and float(r["lr"]) == entry["lr"])
        assert float(trial["final_loss"]) == alone.members[0].final_loss  # the trial is that run, bit for bit
    summary = json.loads((out.run_dir / "summary.json").read_text())
    assert summary["criterion"] == "final_loss" and summary["trials_per_optimizer"] == {"GD": 9, "momentum": 9,
                                                                                        "adam": 9}


def test_data_tuning_selects_on_the_validation_split(tmp_path, write_config):
    cfg = {"problem": {"dataset": "linear_synthetic", "params": {"n": 80}, "batch_size": 10, "validation": 0.25},
           "optimizers": [{"name": "sgd", "tune": {"lr": [0.001, 0.01, 0.1]}}, {"name": "adam", "tune": {
               "lr": [0.001, 0.01, 0.1]}}], "steps": 30, "seeds": 1}
    out = run_tune(write_config(cfg), out=tmp_path, plots=False)
    assert out.trials.plan.spec.criterion == "val_loss"
    trials = _rows(out.run_dir / "trials.csv")
    for label, row in ((r["member"], r) for r in _rows(out.run_dir / "chosen.csv")):
        mine = [t for t in trials if t["member"] == label]
        assert float(row["value"]) == min(float(t["val_loss"]) for t in mine)
        assert all(t["criterion"] == t["val_loss"] for t in mine) and "steps_to_target" not in mine[0]


def test_default_grids_match_the_largest_explicit_space(write_config):
    cfg = load_config(write_config({**BOWL, "tune": {}, "optimizers": [
        {"name": "sgd"}, {"name": "momentum", "tune": {"lr": "logspace(-4,1,21)", "momentum": [0.5, 0.9]}}]}))
    sgd, momentum = cfg.tune.spaces
    assert len(sgd["lr"]) == 42 and sgd["lr"][0] == pytest.approx(1e-4) and sgd["lr"][-1] == pytest.approx(10)
    assert np.allclose(np.diff(np.log10(sgd["lr"])), 5 / 41)  # an even log grid over the same range


@pytest.mark.parametrize("change, needle", [
    ({"optimizers": [{"name": "sgd", "tune": {"lr": []}}]}, "optimizers[0].tune.lr: the search space is empty"),
    ({"optimizers": [{"name": "adam", "tune": {"momentum": [0.5, 0.9]}}]},
     "optimizers[0].tune.momentum: optimizer adam has no hyperparameter 'momentum'"),
    ({"tune": {"criterion": "val_accuracy"}}, "tune.criterion: val_accuracy: this problem has no metric"),
    ({"tune": {"criterion": "steps_to_target", "target": "val_loss <= 0.1"}}, "tune.target: this problem has no "
                                                                              "metric 'val_loss'"),
    ({"optimizers": [{"name": "sgd", "tune": {"lr": [0.1, 0.2]}}, {"name": "adam"}], "tune": {}},
     "optimizers[0].tune: 2 trials, while another optimizer gets 21"),
    ({"tune": {"critrion": "best_loss"}}, "tune.critrion: unknown key; did you mean 'criterion'?"),
])
def test_bad_tuning_specs_exit_2_naming_the_key(tmp_path, write_config, change, needle):
    r = CliRunner().invoke(app, ["tune", str(write_config({**BOWL, **change})), "--out", str(tmp_path / "runs")])
    assert r.exit_code == 2 and needle in r.output, r.output
    assert not (tmp_path / "runs").exists()


def test_plot_redraws_a_tune_directory_from_its_files(tmp_path, write_config):
    cfg = {**BOWL, "optimizers": [BOWL["optimizers"][0], {"name": "momentum", "tune": {
        "lr": "logspace(-2,0,3)", "momentum": [0.5, 0.9, 0.0]}}], "seeds": 2}
    out = run_tune(write_config(cfg), out=tmp_path)
    figure = out.run_dir / "plots" / "sensitivity.png"
    drawn = figure.read_bytes()
    figure.unlink()
    r = CliRunner().invoke(app, ["plot", str(out.run_dir)])
    assert r.exit_code == 0 and figure.read_bytes() == drawn, r.output
    assert (out.run_dir / "compare" / "plots" / "loss.png").is_file()
