"""Plugins: a user's optimizer or objective in a file next to the config, validated, run and checked like a
built-in; read without being imported unless a run asks for it; its mistakes named, before the run if possible."""

from __future__ import annotations

import csv
import json
import shutil
import textwrap
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from gdlab.cli import app
from gdlab.config import load_config
from gdlab.config.grid import grid_axes
from gdlab.runner import run_config
from gdlab.sweeps.plan import plan_sweep
from gdlab.sweeps.runner import run_sweep

from .conftest import REPO

runner = CliRunner()
SHIPPED = REPO / "configs" / "plugins"


def folder_with(tmp_path: Path, config: dict, **files: str) -> Path:
    """A folder holding `config` (as cfg.yaml) and the plugin files given as name=source; returns the config."""
    for name, source in files.items():
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def bowl(optimizers, steps=12) -> dict:
    return {"problem": {"objective": "bowl2d", "init": [-5.0, -2.0]}, "optimizers": optimizers, "steps": steps}


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


# a plugin written against the contract, and ways of getting it wrong
GOOD = """
    import numpy as np
    from gdlab import Optimizer, lr_at

    def heavy(lr=0.1, beta=0.5, k=2):
        '''Heavy ball with an integer setting k (its step is divided by k).'''
        def init(params):
            return np.zeros_like(params)

        def update(grads, state, params, t):
            v = beta * state + grads
            return params - lr_at(lr, t, params.dtype) * v / k, v

        return Optimizer(init, update)
"""
BROKEN_UPDATES = {
    "raises": ("return 1 / 0", "ZeroDivisionError"),
    "shape": ("return params[:, :1], state", "shape (2, 1)"),
    "pair": ("return params", "expected a pair"),
    "nan": ("return params * np.nan, state", "non-finite"),
    "exits": ("import sys; sys.exit(0)", "sys.exit(0)"),
    "in-place": ("params -= lr_at(lr, t, params.dtype) * grads; return params, state", "in place"),
    "scalar-only": ("return (params - grads if lr(t) > 0.01 else params), state", "np.where, not if"),
}


def broken(body: str) -> str:
    return f"""
        import numpy as np
        from gdlab import Optimizer, lr_at

        def bad(lr=0.1):
            def update(grads, state, params, t):
                {body}
            return Optimizer(lambda params: (), update)
    """


def test_the_shipped_sign_sgd_follows_the_hand_computed_path_on_the_bowl(tmp_path):
    """x ← x − lr·sign(∇f(x)), ∇f = (0.2·x1, 4·x2) on d2l's bowl, lr 0.3: the path is exact in floating point."""
    for name in ("signsgd.py", "signsgd-compare.yaml"):
        shutil.copy(SHIPPED / name, tmp_path / name)
    out = run_config(tmp_path / "signsgd-compare.yaml", mode="compare", out=tmp_path / "runs", plots=False)
    assert [m.label for m in out.members] == ["sign-SGD", "adam"] and out.members[0].status == "completed"
    x, path = np.array([-5.0, -2.0]), [np.array([-5.0, -2.0])]
    for _ in range(30):
        x = x - 0.3 * np.sign(np.array([0.2, 4.0]) * x)
        path.append(x)
    written = np.loadtxt(out.members[0].run_dir / "trajectory.csv", delimiter=",", skiprows=1)
    np.testing.assert_array_equal(written[:, 1:], np.array(path))
    summary = json.loads((out.members[0].run_dir / "summary.json").read_text())
    assert summary["config"]["optimizer"]["name"] == f"{tmp_path / 'signsgd.py'}:sign_sgd"  # runs from anywhere


def test_a_plugin_member_equals_itself_alone_in_a_compare_and_in_a_sweep(tmp_path):
    cfg = folder_with(tmp_path, bowl([{"name": "mine.py:heavy", "lr": 0.2}, {"name": "adam", "lr": 0.3}]), mine=GOOD)
    together = run_config(cfg, mode="compare", out=tmp_path / "runs", plots=False).members[0]
    alone = run_config(cfg, mode="compare", out=tmp_path / "runs", plots=False,
                       overrides=["optimizers=[{name: 'mine.py:heavy', lr: 0.2}]"]).members[0]
    assert together.final_loss == alone.final_loss
    sweep = run_sweep(cfg, ["optimizers[0].lr=0.05,0.2,0.4", "optimizers[0].beta=0,0.5"], out=None)
    assert sweep.labels[2] == "heavy[lr=0.2,beta=0]" and sweep.final_loss[3] == alone.final_loss


def test_a_sweep_of_a_plugins_hyperparameters_is_one_vectorized_stack(tmp_path):
    one = {k: v for k, v in bowl(None).items() if k != "optimizers"}
    cfg = folder_with(tmp_path, {**one, "optimizer": {"name": "mine.py:heavy"}}, mine=GOOD)
    config = load_config(cfg, import_plugins=True)
    plan = plan_sweep(config, grid_axes({}, ["optimizer.lr=logspace(-3,0,50)", "optimizer.beta=0,0.9"]))
    assert len(plan.batches) == 1 and len(plan.batches[0].groups) == 1
    group = plan.batches[0].groups[0]
    assert group.optimizer.attr == "heavy" and group.hparams["lr"].shape == (100,) and group.hparams["k"] == 2
    plan = plan_sweep(config, grid_axes({}, ["optimizer.k=1,2,3"]))  # an integer setting: one group per value
    assert len(plan.batches) == 1 and [g.hparams["k"] for g in plan.batches[0].groups] == [1, 2, 3]


@pytest.mark.parametrize("entry, needles", [
    ({"name": "mine.py:heavy", "lrr": 0.1}, ["optimizers[0].lrr", "unknown key of optimizer heavy",
                                             "did you mean 'lr'", "accepted: name, label, schedule, lr, beta, k"]),
    ({"name": "mine.py:heavy", "beta": "big"}, ["optimizers[0].beta", "expected a finite number", "'big'"]),
    ({"name": "mine.py:heavy", "k": 1.5}, ["optimizers[0].k", "expected a whole number"]),
    ({"name": "mine.py:heavy", "lr": -1.0}, ["optimizers[0].lr", "must be > 0"]),
    ({"name": "mine.py:haevy"}, ["defines no function 'haevy'", "did you mean 'heavy'"]),
    ({"name": "nothere.py:heavy"}, ["plugin file not found", "nothere.py"]),
    ({"name": "mine.py:"}, ["not a plugin name"]),
])
@pytest.mark.parametrize("command", ["validate", "compare"])
def test_plugin_hyperparameters_are_checked_like_the_built_ins(tmp_path, entry, needles, command):
    cfg = folder_with(tmp_path, bowl([entry]), mine=GOOD)
    r = invoke(command, cfg, "--out", tmp_path / "runs") if command == "compare" else invoke(command, cfg)
    assert r.exit_code == 2, r.output
    for needle in needles:
        assert needle in r.output, r.output
    assert not (tmp_path / "runs").exists()


def test_validate_and_list_read_a_plugin_without_importing_it(tmp_path):
    marker = tmp_path / "imported"
    source = textwrap.dedent(GOOD) + f"\nopen({str(marker)!r}, 'w').close()\n"
    cfg = folder_with(tmp_path, bowl([{"name": "mine.py:heavy", "lr": 0.2}]), mine=source)
    r = invoke("validate", cfg)
    assert r.exit_code == 0 and "not imported" in r.output, r.output
    r = invoke("list", "optimizers", "--config", cfg)
    assert r.exit_code == 0 and "mine.py:heavy" in r.output and "beta=0.5" in r.output, r.output
    assert not marker.exists()
    r = invoke("validate", cfg, "--import-plugins")
    assert r.exit_code == 0 and "first steps run" in r.output, r.output
    assert marker.exists()


@pytest.mark.parametrize("case", sorted(BROKEN_UPDATES))
def test_a_broken_plugin_stops_before_the_run_with_a_message_naming_it(tmp_path, case):
    body, needle = BROKEN_UPDATES[case]
    cfg = folder_with(tmp_path, bowl([{"name": "bad.py:bad"}, {"name": "adam"}]), bad=broken(body))
    r = invoke("compare", cfg, "--out", tmp_path / "runs")
    assert r.exit_code == 2, r.output
    assert "optimizer plugin bad" in r.output and needle in r.output and "Traceback" not in r.output, r.output
    assert not (tmp_path / "runs").exists()


def test_a_plugin_exiting_while_imported_is_a_config_error_and_writes_nothing(tmp_path):
    cfg = folder_with(tmp_path, bowl([{"name": "bad.py:bad"}]), bad="import sys\nsys.exit(0)\n")
    r = invoke("run", cfg, "--out", tmp_path / "runs")
    assert r.exit_code == 2 and "it called sys.exit(0)" in r.output, r.output
    assert not (tmp_path / "runs").exists()


def test_a_plugin_failing_during_the_run_fails_its_members_and_the_others_go_on(tmp_path):
    late = """
        import numpy as np
        from gdlab import Optimizer, lr_at

        def late(lr=0.1):
            def update(grads, state, params, t):
                if t == 5:
                    raise RuntimeError("the fifth step")
                return params - lr_at(lr, t, params.dtype) * grads, state
            return Optimizer(lambda params: (), update)
    """
    cfg = folder_with(tmp_path, bowl([{"name": "late.py:late"}, {"name": "adam", "lr": 0.3}]), late=late)
    r = invoke("compare", cfg, "--out", tmp_path / "runs")
    assert r.exit_code == 1, r.output
    assert "late failed: optimizer plugin late: update at step 5 raised RuntimeError: the fifth step" in r.output
    run_dir = tmp_path / "runs" / r.stdout.strip().splitlines()[-1].split("/")[-1]
    rows = {row["member"]: row for row in csv.DictReader(open(run_dir / "summary.csv"))}
    assert rows["late"]["status"] == "failed" and rows["late"]["steps_run"] == "4"
    assert rows["adam"]["status"] == "completed" and rows["adam"]["steps_run"] == "12"
    summary = json.loads((run_dir / "late" / "summary.json").read_text())
    assert "the fifth step" in summary["error"] and summary["final_params"] is not None
    sweep = run_sweep(cfg, ["optimizer.lr=0.1,0.2"], out=tmp_path / "sweeps", plots=False)
    assert list(sweep.status) == ["failed", "failed", "completed", "completed"]
    assert json.loads((sweep.run_dir / "summary.json").read_text())["counts"]["failed"] == 2


def test_an_objective_plugin_by_file_path_runs_and_is_checked(tmp_path):
    for name in ("booth.py", "booth.yaml"):
        shutil.copy(SHIPPED / name, tmp_path / name)
    out = run_config(tmp_path / "booth.yaml", mode="compare", out=tmp_path / "runs", plots=False)
    sgd = out.members[0]
    x = np.array([-4.0, -3.0])  # booth's default start; gradient descent, lr 0.05, 60 steps, by hand
    for _ in range(60):
        u, v = x[0] + 2 * x[1] - 7, 2 * x[0] + x[1] - 5
        x = x - 0.05 * np.array([2 * u + 4 * v, 4 * u + 2 * v])
    written = np.loadtxt(sgd.run_dir / "trajectory.csv", delimiter=",", skiprows=1)[-1, 1:]
    np.testing.assert_allclose(written, x, rtol=1e-12)
    (tmp_path / "wrong.py").write_text("import numpy as np\nfrom gdlab import Objective\n"
                                       "def f():\n    return Objective('x', lambda x: x, lambda x: x, (1.0,), "
                                       "((-1.0, 1.0),))\n")
    cfg = folder_with(tmp_path, {"problem": {"objective": "wrong.py:f"}, "optimizer": "sgd"})
    r = invoke("run", cfg, "--out", tmp_path / "bad")
    assert r.exit_code == 2 and "objective plugin f: value of points of shape (2, 1) returned shape (2, 1)" \
        in r.output, r.output
    assert not (tmp_path / "bad").exists()


def test_a_module_plugin_is_found_in_the_configs_folder_without_pythonpath(tmp_path):
    (tmp_path / "mypkg").mkdir()
    (tmp_path / "mypkg" / "__init__.py").write_text("")
    cfg = folder_with(tmp_path, bowl([{"name": "mypkg.optims:heavy", "lr": 0.2}]))
    (tmp_path / "mypkg" / "optims.py").write_text(textwrap.dedent(GOOD))
    out = run_config(cfg, mode="compare", out=tmp_path / "runs", plots=False)
    assert out.members[0].label == "heavy" and out.members[0].status == "completed"


def test_plot_never_imports_a_plugin(tmp_path):
    """A run directory names its plugin by absolute path; redrawing it must not run that file."""
    import subprocess
    import sys

    marker = tmp_path / "imported"
    source = (SHIPPED / "booth.py").read_text() + f"\nopen({str(marker)!r}, 'a').write('x')\n"
    (tmp_path / "booth.py").write_text(source)
    cfg = folder_with(tmp_path, {"problem": {"objective": "booth.py:booth"}, "optimizer": {"name": "sgd", "lr": 0.05},
                                 "steps": 5})
    out = run_config(cfg, out=tmp_path / "runs", plots=False)
    marker.unlink()
    r = subprocess.run([sys.executable, "-m", "gdlab", "plot", str(out.run_dir)], capture_output=True, text=True,
                       cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert not marker.exists() and (out.run_dir / "plots" / "loss.png").is_file()


def test_a_plugin_is_tuned_like_a_built_in(tmp_path):
    shutil.copy(SHIPPED / "signsgd.py", tmp_path / "signsgd.py")
    cfg = folder_with(tmp_path, {**bowl([{"name": "signsgd.py:sign_sgd"}, {"name": "sgd"}], steps=10),
                                 "tune": {"lr": "logspace(-2,0,5)"}, "seeds": 1})
    from gdlab.tune.runner import run_tune

    out = run_tune(cfg, out=tmp_path / "runs", plots=False)
    chosen = {row["member"]: row for row in csv.DictReader(open(out.run_dir / "chosen.csv"))}
    assert set(chosen) == {"sign_sgd", "sgd"} and {row["trials"] for row in chosen.values()} == {"5"}
    assert [m.status for m in out.compare.members] == ["completed"] * len(out.compare.members)


def test_a_plugin_has_its_own_search_space_checked_by_the_shared_ranges(tmp_path):
    shutil.copy(SHIPPED / "signsgd.py", tmp_path / "signsgd.py")
    entries = [{"name": "signsgd.py:sign_sgd", "tune": {"lr": [0.01, 0.1]}}, {"name": "sgd", "tune": {"lr": [0.1, 0.2]}}]
    cfg = folder_with(tmp_path, {**bowl(entries, steps=10), "seeds": 1})
    from gdlab.tune.runner import run_tune

    out = run_tune(cfg, out=tmp_path / "runs", plots=False)
    tuned = yaml.safe_load((out.run_dir / "tuned.yaml").read_text())
    assert [o["label"].split(" (")[0] for o in tuned["optimizers"]] == ["sign_sgd", "sgd"]  # no file path
    entries[0]["tune"]["lr"] = [-0.01, 0.1]  # lr > 0 for a plugin's lr as for the built-ins'
    bad = folder_with(tmp_path, {**bowl(entries, steps=10), "seeds": 1})
    r = CliRunner().invoke(app, ["tune", str(bad), "--out", str(tmp_path / "bad")])
    assert r.exit_code == 2 and "optimizers[0].tune.lr" in r.output and "must be > 0" in r.output, r.output
