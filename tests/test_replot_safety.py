"""`gdlab plot` on directories someone else handed you: it works from the files alone (no plugin imported, no
data loaded or downloaded, nothing named in config.yaml run), never writes through a planted link, and a damaged
or incomplete directory is one message naming the file (exit 1), never a traceback."""

from __future__ import annotations

import errno
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from .battery import BOWL, gdlab_cli, run_dir_of, write_yaml

COMPARE = {"name": "cmp", "problem": {"objective": "bowl2d", "init": [-5.0, -2.0]}, "steps": 5,
           "optimizers": [{"name": "sgd", "lr": 0.1}, {"name": "adam", "lr": 0.1}]}


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A run, a compare and a sweep written once; each test works on its own copy."""
    base = tmp_path_factory.mktemp("made")
    return {"run": run_dir_of(gdlab_cli("run", write_yaml(base / "r.yaml", {**BOWL, "steps": 5}), "--out", base,
                                        "-q")),
            "compare": run_dir_of(gdlab_cli("compare", write_yaml(base / "c.yaml", COMPARE), "--out", base, "-q")),
            "sweep": run_dir_of(gdlab_cli("sweep", write_yaml(base / "s.yaml", {**BOWL, "steps": 5}), "--grid",
                                          "optimizer.lr=0.1,0.2", "--out", base, "-q"))}


@pytest.fixture
def copy(made, tmp_path):
    def copy_of(kind: str) -> Path:
        return Path(shutil.copytree(made[kind], tmp_path / kind, symlinks=True))
    return copy_of


def one_message(r, code: int, *needles) -> str:
    assert r.exit_code == code, f"exit {r.exit_code}: {r.output}{r.exception!r}"
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert "Traceback" not in r.output and 1 <= len(r.stderr.strip().splitlines()) <= 3, r.stderr
    for n in needles:
        assert str(n) in r.stderr, f"{n!r} not in {r.stderr}"
    return r.stderr


# ======================================================================================= hostile config.yaml


def test_a_plugin_named_in_a_shared_config_is_never_run_by_plot(copy, tmp_path):
    d = copy("run")
    marker = tmp_path / "PWNED"
    config = yaml.safe_load((d / "config.yaml").read_text())
    config["problem"] = {"objective": "os:system", "params": {"command": f"touch {marker}"}, "init": [1.0, 2.0]}
    (d / "config.yaml").write_text(yaml.safe_dump(config))
    r = gdlab_cli("plot", d)
    assert r.exit_code == 0, r.output
    assert not marker.exists(), "plot ran code named in config.yaml"
    assert (d / "plots" / "loss.png").stat().st_size > 0


PLUGIN = '''
import pathlib, numpy as np
from gdlab.problems.objectives import Objective
pathlib.Path(__file__).with_name("IMPORTED").touch()

def bowl(a: float = 1.0):
    return Objective("plugin bowl", lambda x: a * (x ** 2).sum(axis=1), lambda x: 2 * a * x, (2.0, 1.0),
                     ((-3.0, 3.0), (-3.0, 3.0)), dim=2)
'''


def test_a_plugin_runs_are_redrawn_from_their_saved_landscape_without_importing_it(tmp_path, monkeypatch):
    (tmp_path / "myplug.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    data = {"name": "plug", "problem": {"objective": "myplug:bowl"}, "optimizer": {"name": "sgd", "lr": 0.1},
            "steps": 5}
    d = run_dir_of(gdlab_cli("run", write_yaml(tmp_path / "p.yaml", data), "--out", tmp_path / "runs", "-q"))
    assert (d / "landscape.npz").is_file() and (d / "plots" / "trajectory.png").is_file()
    (tmp_path / "IMPORTED").unlink()
    sys.modules.pop("myplug", None)
    shutil.rmtree(d / "plots")
    r = gdlab_cli("plot", d)
    assert r.exit_code == 0, r.output
    assert not (tmp_path / "IMPORTED").exists(), "plot imported the plugin"
    assert (d / "plots" / "trajectory.png").stat().st_size > 0  # drawn over the saved grid


def test_plot_of_a_dataset_run_never_loads_or_downloads_data(tmp_path, monkeypatch):
    data = {"name": "fit", "problem": {"dataset": "linefit", "model": "linear", "loss": "mse"},
            "optimizer": {"name": "sgd", "lr": 0.01}, "steps": 5}
    d = run_dir_of(gdlab_cli("run", write_yaml(tmp_path / "f.yaml", data), "--out", tmp_path / "runs", "-q"))
    assert (d / "plots" / "trajectory.png").is_file()  # w and b: a 2-parameter landscape, saved with the run
    config = yaml.safe_load((d / "config.yaml").read_text())
    config["problem"].update(dataset="mnist", data_dir=str(tmp_path / "elsewhere"), split="train")
    (d / "config.yaml").write_text(yaml.safe_dump(config))
    import gdlab.problems.learning

    monkeypatch.setattr(gdlab.problems.learning, "load_dataset", lambda *a, **k: pytest.fail("data loaded"))
    monkeypatch.setenv("GDLAB_MNIST_MIRRORS", "http://127.0.0.1:9/")
    shutil.rmtree(d / "plots")
    r = gdlab_cli("plot", d)
    assert r.exit_code == 0, r.output
    assert not (tmp_path / "elsewhere").exists()
    assert (d / "plots" / "trajectory.png").stat().st_size > 0


# ======================================================================================= damaged directories


def _summary(d: Path, text: str) -> None:
    (d / "summary.json").write_text(text)


def _status(d: Path) -> None:
    s = json.loads((d / "summary.json").read_text())
    _summary(d, json.dumps({**s, "status": "exploded"}))


def _cell(d: Path, name: str) -> None:
    lines = (d / name).read_text().splitlines()
    lines[2] = "x" + lines[2]
    (d / name).write_text("\n".join(lines) + "\n")


DAMAGE = {
    "summary-empty": (lambda d: _summary(d, ""), ["summary.json", "not JSON"]),
    "summary-invalid": (lambda d: _summary(d, "{status: "), ["summary.json", "not JSON"]),
    "summary-a-list": (lambda d: _summary(d, "[1, 2]"), ["summary.json", "list"]),
    "summary-unknown-status": (_status, ["summary.json", "'exploded'"]),
    "config-missing": (lambda d: (d / "config.yaml").unlink(), ["config.yaml"]),
    "config-empty": (lambda d: (d / "config.yaml").write_text(""), ["config.yaml"]),
    "metrics-cell": (lambda d: _cell(d, "metrics.csv"), ["metrics.csv", "line 3"]),
    "trajectory-cell": (lambda d: _cell(d, "trajectory.csv"), ["trajectory.csv", "line 3"]),
    "plots-a-file": (lambda d: (shutil.rmtree(d / "plots"), (d / "plots").write_text("x")), ["plots", "not a folder"]),
    "config-billion-laughs": (lambda d: (d / "config.yaml").write_text(
        "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
            f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8))),
        ["config.yaml", "damaged"]),
}


@pytest.mark.parametrize("damage", DAMAGE, ids=list(DAMAGE))
def test_a_damaged_run_directory_is_one_message_exit_1(copy, damage):
    d = copy("run")
    harm, needles = DAMAGE[damage]
    harm(d)
    one_message(gdlab_cli("plot", d), 1, *needles)


def test_a_truncated_sweep_history_is_one_message(copy):
    d = copy("sweep")
    data = (d / "metrics.npz").read_bytes()
    (d / "metrics.npz").write_bytes(data[: len(data) // 2])
    one_message(gdlab_cli("plot", d), 1, str(d), "damaged")


def test_a_folder_gdlab_cannot_write_is_one_message(copy, monkeypatch):
    d = copy("run")
    import gdlab.outputs.files as files

    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(files.os, "open", refuse)  # as a read-only directory answers (root ignores chmod)
    one_message(gdlab_cli("plot", d), 1, "plots", "Permission denied")


def test_a_run_that_diverged_at_step_0_is_drawn(tmp_path):
    data = {**BOWL, "problem": {"objective": "bowl2d", "init": [1e200, 1e200]}, "steps": 5}
    r = gdlab_cli("run", write_yaml(tmp_path / "d.yaml", data), "--out", tmp_path / "runs", "-q")
    d = run_dir_of(r)
    assert "warning" not in r.stderr, r.stderr
    assert json.loads((d / "summary.json").read_text())["diverged_at"] == 0
    assert gdlab_cli("plot", d).exit_code == 0
    assert (d / "plots" / "loss.png").is_file()


def test_an_incomplete_compare_names_what_is_missing(copy):
    d = copy("compare")
    (d / "adam" / "summary.json").unlink()
    (d / "summary.csv").unlink()
    one_message(gdlab_cli("plot", d), 1, "incomplete", "adam/summary.json", "summary.csv")


def test_an_incomplete_sweep_names_what_is_missing(copy):
    d = copy("sweep")
    (d / "metrics.npz").unlink()
    one_message(gdlab_cli("plot", d), 1, "incomplete", "metrics.npz")


# ======================================================================================= where figures go


def test_plots_as_a_planted_symlink_is_refused_and_its_target_untouched(copy, tmp_path):
    d = copy("run")
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "loss.png").write_text("mine")
    shutil.rmtree(d / "plots")
    (d / "plots").symlink_to(victim)
    one_message(gdlab_cli("plot", d), 1, "symbolic link")
    assert [p.name for p in victim.iterdir()] == ["loss.png"] and (victim / "loss.png").read_text() == "mine"


def test_output_never_cleans_or_follows_what_is_beside_it(copy, tmp_path):
    """The old --output rendered into `.NAME-figures/` and deleted every file there, through symlinks."""
    d = copy("run")
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("mine")
    out = tmp_path / "fig"
    out.mkdir()
    (out / ".both-figures").symlink_to(victim)
    (out / "both-trajectory.png").symlink_to(victim / "precious.txt")  # a link where a figure goes: replaced
    r = gdlab_cli("plot", d, "--output", out / "both.png")
    assert r.exit_code == 0, r.output
    assert (victim / "precious.txt").read_text() == "mine" and [p.name for p in victim.iterdir()] == ["precious.txt"]
    assert (out / "both.png").stat().st_size > 0
    assert not (out / "both-trajectory.png").is_symlink() and (out / "both-trajectory.png").stat().st_size > 0
    assert sorted(p.name for p in out.iterdir()) == [".both-figures", "both-trajectory.png", "both.png"]


def test_output_that_is_a_directory_is_one_message(copy, tmp_path):
    (tmp_path / "x.png").mkdir()
    one_message(gdlab_cli("plot", copy("run"), "--output", tmp_path / "x.png"), 2, "--output", "is a directory")


def test_a_huge_smoothing_window_is_the_whole_curve(copy):
    d = copy("run")
    r = gdlab_cli("plot", d, "--smooth", str(10 ** 23))
    assert r.exit_code == 0, r.output


def test_concurrent_plots_to_one_output_do_not_crash_each_other(copy, tmp_path):
    import subprocess

    d = copy("compare")
    out = tmp_path / "same.png"
    procs = [subprocess.Popen([sys.executable, "-m", "gdlab", "plot", str(d), "--output", str(out)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    results = [(p.wait(timeout=300), p.communicate()) for p in procs]
    assert [rc for rc, _ in results] == [0] * 4, [e for _, (o, e) in results]
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")], "temporary files left"
    assert np.all([f.stat().st_size > 0 for f in tmp_path.glob("same*.png")])


NOISY_PLUGIN = PLUGIN.replace('pathlib.Path(__file__).with_name("IMPORTED").touch()', """
import warnings
def noisy(x):
    warnings.warn("a plugin's warning", RuntimeWarning)
    np.log(np.zeros(1))  # NumPy's divide-by-zero warning
    return (x ** 2).sum(axis=1)
""").replace("lambda x: a * (x ** 2).sum(axis=1)", "noisy")


def test_warnings_of_numpy_matplotlib_or_a_plugin_never_reach_stderr(tmp_path):
    import subprocess

    (tmp_path / "noisyplug.py").write_text(NOISY_PLUGIN)
    data = {"name": "noisy", "problem": {"objective": "noisyplug:bowl"}, "optimizer": {"name": "sgd", "lr": 0.1},
            "steps": 3}
    r = subprocess.run([sys.executable, "-m", "gdlab", "run", str(write_yaml(tmp_path / "n.yaml", data)), "--out",
                        str(tmp_path / "runs"), "-q"], capture_output=True, text=True, cwd=tmp_path, timeout=300,
                       env={**__import__("os").environ, "PYTHONPATH": str(tmp_path)})
    assert r.returncode == 0, r.stderr
    assert r.stderr == "", r.stderr


# ============================================================ tune, bench, repeats, animation: the same rules


STUDY_TUNE = {"name": "tn", "problem": {"objective": "bowl2d", "init": [-5.0, -2.0]}, "steps": 5,
              "optimizers": [{"name": "sgd", "tune": {"lr": [0.1, 0.3]}}], "seeds": 2}
STUDY_SUITE = {"name": "mini", "optimizers": [{"name": "sgd", "lr": 0.1}, {"name": "adam", "lr": 0.1}],
               "problems": [{"name": "bowl", "problem": {"objective": "bowl2d", "init": [-5.0, -2.0]}, "steps": 20,
                             "target": "f - f* <= 1e-2"}]}


@pytest.fixture(scope="module")
def studies(tmp_path_factory):
    """A tune directory (its compare/ a run with repetitions) and a bench directory, written once."""
    base = tmp_path_factory.mktemp("studies")
    return {"tune": run_dir_of(gdlab_cli("tune", write_yaml(base / "t.yaml", STUDY_TUNE), "--out", base, "-q")),
            "bench": run_dir_of(gdlab_cli("bench", write_yaml(base / "s.yaml", STUDY_SUITE), "--out", base, "-q"))}


@pytest.mark.parametrize("kind, damage, code, needle", [
    ("tune", lambda d: (d / "chosen.csv").unlink(), 1, "missing chosen.csv"),
    ("tune", lambda d: (d / "summary.json").write_text("[1, 2]"), 1, "damaged tune files"),
    ("tune", lambda d: (d / "trials.csv").write_text("member,trial\nx,notanumber\n"), 1, "damaged tune files"),
    ("tune", lambda d: shutil.rmtree(next((d / "compare").glob("*/seed-1"))), 1, "seed 1"),
    ("bench", lambda d: (d / "scores.csv").unlink(), 1, "missing scores.csv"),
    ("bench", lambda d: (d / "profile.csv").write_text("optimizer,tau,rho\nsgd,abc,1\n"), 1, "damaged bench files"),
])
def test_damaged_tune_and_bench_directories_are_one_message(studies, tmp_path, kind, damage, code, needle):
    d = Path(shutil.copytree(studies[kind], tmp_path / kind))
    assert gdlab_cli("plot", d).exit_code == 0  # whole, it redraws
    damage(d)
    one_message(gdlab_cli("plot", d), code, needle)


def test_animation_never_follows_a_planted_link(copy, tmp_path):
    d = copy("compare")
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.gif").write_text("mine")
    shutil.rmtree(d / "plots", ignore_errors=True)
    (d / "plots").symlink_to(victim)
    one_message(gdlab_cli("plot", d, "--animate"), 1, "symbolic link")
    (d / "plots").unlink()
    (d / "plots").mkdir()
    (d / "plots" / "animation.gif").symlink_to(victim / "precious.gif")  # a link where the animation goes
    r = gdlab_cli("plot", d, "--animate")
    assert r.exit_code == 0, r.output
    assert (victim / "precious.gif").read_text() == "mine" and [p.name for p in victim.iterdir()] == ["precious.gif"]
    gif = d / "plots" / "animation.gif"
    assert not gif.is_symlink() and gif.read_bytes()[:6] in (b"GIF87a", b"GIF89a")
    assert not [p.name for p in (d / "plots").iterdir() if p.name.startswith(".")], "temporary files left"
