"""The command line, driven as a user would: exit codes, the printed run directory, the files written."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from gdlab.cli import app

from .conftest import REPO, bowl_config

runner = CliRunner()
TOY_CONFIGS = [c for c in sorted((REPO / "configs").glob("*.yaml")) if "objective" in yaml.safe_load(c.read_text())["problem"]]


def gdlab(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def run_dir_of(result) -> Path:
    path = Path(result.stdout.strip().splitlines()[-1])
    assert path.is_dir(), result.output
    return path


D2L_END_POINTS = {
    "d2l-gd": (-0.943467, -0.000073),
    "d2l-gd-lr0.6": (-0.387814, -1673.365109),
    "d2l-momentum": (-0.062843, 0.001202),
    "d2l-momentum-lr0.6": (0.007188, 0.002553),
}


@pytest.mark.parametrize("name", D2L_END_POINTS)
def test_run_reproduces_d2l_end_points_to_six_decimals(tmp_path, name):
    r = gdlab("run", REPO / "configs" / f"{name}.yaml", "--out", tmp_path, "--quiet")
    assert r.exit_code == 0, r.output
    summary = json.loads((run_dir_of(r) / "summary.json").read_text())
    assert [round(x, 6) for x in summary["final_params"]] == list(D2L_END_POINTS[name])
    assert summary["status"] == "completed" and summary["steps_run"] == 20


def test_run_directory_holds_every_file_of_the_spec(tmp_path, write_config):
    r = gdlab("run", write_config(bowl_config(name="bowl")), "--out", tmp_path)
    assert r.exit_code == 0, r.output
    d = run_dir_of(r)
    assert d.parent == tmp_path and d.name.startswith("bowl-")
    for f in ("config.yaml", "metrics.csv", "trajectory.csv", "summary.json", "plots/loss.png", "plots/trajectory.png"):
        assert (d / f).is_file(), f
    summary = json.loads((d / "summary.json").read_text())
    for key in ("status", "steps_run", "final_loss", "best_loss", "final_params", "diverged_at", "wall_time_s",
                "seed", "gdlab_version", "numpy_version", "config"):
        assert key in summary, key
    with open(d / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    # the bowl's minimum is known: suboptimality f − f* and the distance to the minimiser at every step
    assert list(rows[0]) == ["step", "epoch", "loss", "grad_norm", "lr", "suboptimality", "dist_to_min"]
    assert len(rows) == 21 and summary["steps_to_tol"] is None and summary["tol"] == 1e-6
    with open(d / "trajectory.csv") as f:
        traj = list(csv.reader(f))
    assert traj[0] == ["step", "x1", "x2"] and traj[1] == ["0", "-5.0", "-2.0"] and len(traj) == 22
    resolved = yaml.safe_load((d / "config.yaml").read_text())
    assert resolved["optimizer"]["momentum"] == 0.0  # defaults filled in
    assert "final and best loss" in r.stdout  # the summary table


def test_each_invocation_gets_a_new_directory(tmp_path, write_config):
    cfg = write_config(bowl_config())
    dirs = {run_dir_of(gdlab("run", cfg, "--out", tmp_path, "-q")) for _ in range(3)}
    assert len(dirs) == 3


def test_compare_writes_members_summary_and_overlays(tmp_path):
    r = gdlab("compare", REPO / "configs" / "dlfs-compare.yaml", "--out", tmp_path)
    assert r.exit_code == 0, r.output
    d = run_dir_of(r)
    with open(d / "summary.csv") as f:
        rows = list(csv.DictReader(f))
    assert [row["member"] for row in rows] == ["SGD", "Momentum", "AdaGrad", "Adam"]
    assert list(rows[0])[:8] == ["member", "optimizer", "status", "steps_run", "final_loss", "best_loss",
                                 "diverged_at", "wall_time_s"]
    for row in rows:
        member = d / row["member"]
        assert json.loads((member / "summary.json").read_text())["label"] == row["member"]
        assert (member / "trajectory.csv").is_file()
    for f in ("loss.png", "trajectory.png", "trajectories_grid.png"):
        assert (d / "plots" / f).stat().st_size > 10_000, f


def test_compare_with_named_optimizers_uses_their_defaults(tmp_path, write_config):
    r = gdlab("compare", write_config(bowl_config()), "--optimizers", "sgd,adam", "--set", "steps=5", "--out", tmp_path)
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(open(run_dir_of(r) / "summary.csv")))
    assert [(x["member"], x["steps_run"]) for x in rows] == [("sgd", "5"), ("adam", "5")]


def test_run_refuses_a_list_of_optimizers(tmp_path):
    r = gdlab("run", REPO / "configs" / "dlfs-compare.yaml", "--out", tmp_path)
    assert r.exit_code == 2 and "gdlab compare" in r.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args, needle", [
    (["--set", "optimizer.name=adma"], "did you mean 'adam'"),
    (["--set", "optimizer.lr=-1"], "optimizer.lr"),
    (["--set", "optimizer.lr"], "KEY=VALUE"),
    (["--set", "stpes=3"], "did you mean 'steps'"),
    (["--seed", "-1"], "--seed"),
])
def test_bad_input_is_one_message_exit_2_and_nothing_written(tmp_path, write_config, args, needle):
    out = tmp_path / "runs"
    r = gdlab("run", write_config(bowl_config()), "--out", out, *args)
    assert r.exit_code == 2, r.output
    assert needle in r.output and "Traceback" not in r.output
    assert not out.exists() or list(out.iterdir()) == []


def test_missing_config_file(tmp_path):
    r = gdlab("run", tmp_path / "missing.yaml", "--out", tmp_path)
    assert r.exit_code == 2 and "not found" in r.output


def test_diverging_run_is_a_result_with_exit_0(tmp_path, write_config):
    r = gdlab("run", write_config(bowl_config(steps=3000)), "--set", "optimizer.lr=0.6", "--out", tmp_path)
    assert r.exit_code == 0, r.output
    d = run_dir_of(r)
    summary = json.loads((d / "summary.json").read_text())
    assert summary["status"] == "diverged" and 1040 <= summary["diverged_at"] <= 1060
    assert summary["blowup"]["lr"] == 0.6 and summary["blowup"]["last_finite_loss"] > 1e300
    # the warning (printed before the loop) names the edge and predicts the step the run then diverged at
    assert "stability edge lr < 2/L = 0.5" in r.output, r.output
    assert f"overflows at step {summary['diverged_at']:,}" in " ".join(r.output.split()), r.output
    assert (d / "plots" / "trajectory.png").is_file()


@pytest.mark.parametrize("kind", ["objectives", "optimizers", "schedules"])
def test_list_shows_names_and_defaults(kind):
    r = gdlab("list", kind)
    assert r.exit_code == 0, r.output
    expected = {"objectives": ["bowl2d", "rosenbrock", "a=0.1"], "optimizers": ["adam", "nesterov", "betas=(0.9, 0.999)"],
                "schedules": ["cosine", "warmup_cosine"]}[kind]
    for needle in expected:
        assert needle in r.stdout, needle


def test_list_unknown_kind():
    r = gdlab("list", "optimisers")
    assert r.exit_code == 2 and "did you mean 'optimizers'" in r.output


def test_validate_good_and_bad(write_config):
    ok = gdlab("validate", write_config(bowl_config()))
    assert ok.exit_code == 0 and "ok" in ok.stdout
    bad = gdlab("validate", write_config({**bowl_config(), "optimizer": {"name": "sgd", "lr": "big"}}))
    assert bad.exit_code == 2 and "optimizer.lr" in bad.output


def test_plot_redraws_and_overlays_runs_from_their_files(tmp_path, write_config):
    a = run_dir_of(gdlab("run", write_config(bowl_config()), "--out", tmp_path / "runs", "-q"))
    b = run_dir_of(gdlab("run", write_config(bowl_config()), "--set", "optimizer.name=momentum",
                         "--set", "optimizer.momentum=0.5", "--out", tmp_path / "runs", "-q"))
    (a / "plots" / "loss.png").unlink()
    r = gdlab("plot", a)
    assert r.exit_code == 0, r.output and (a / "plots" / "loss.png").is_file()
    out = tmp_path / "both.png"
    r = gdlab("plot", a, b, "--kind", "trajectory", "--output", out)
    assert r.exit_code == 0, r.output
    assert out.stat().st_size > 10_000 and str(out) in r.stdout


def test_plot_rejects_what_is_not_a_run(tmp_path):
    r = gdlab("plot", tmp_path)
    assert r.exit_code == 2 and "not a gdlab run" in r.output


def test_help_lists_every_command():
    r = gdlab("--help")
    assert r.exit_code == 0
    for cmd in ("run", "compare", "plot", "list", "validate"):
        assert cmd in r.stdout


def test_version_is_the_installed_packages():
    from importlib.metadata import version

    r = gdlab("--version")
    assert r.exit_code == 0 and r.stdout.strip() == f"gdlab {version('gdlab')}"


def test_help_does_not_import_numpy_or_matplotlib():
    code = "import sys; from gdlab.cli import app; print('numpy' in sys.modules, 'matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_python_dash_m_works_like_the_script(tmp_path):
    r = subprocess.run([sys.executable, "-m", "gdlab", "run", REPO / "configs" / "parabola.yaml", "--out", tmp_path,
                        "--quiet"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert Path(r.stdout.strip().splitlines()[-1]).parent == tmp_path


@pytest.mark.parametrize("config", TOY_CONFIGS, ids=[c.stem for c in TOY_CONFIGS])
def test_every_shipped_toy_config_runs_as_shipped(tmp_path, config):
    data = yaml.safe_load(config.read_text())
    mode = "compare" if "optimizers" in data else "run"
    r = gdlab(mode, config, "--out", tmp_path, "--quiet")
    assert r.exit_code == 0, r.output
    assert (run_dir_of(r) / "plots" / "loss.png").is_file()
