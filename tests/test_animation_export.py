"""Animation (GIF frames capped, a few MB at most), export (CSV + a script that redraws it alone + pgfplots),
figure formats, and the stable-region figure."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from gdlab.cli import app
from gdlab.figures import animate as an
from gdlab.outputs.series import Series
from gdlab.problems.landscape import Landscape

from .conftest import bowl_config

runner = CliRunner()
BOWL = Landscape(lambda p: 0.1 * p[:, 0] ** 2 + 2 * p[:, 1] ** 2, ((-5.5, 1.5), (-3.0, 3.0)), np.zeros(2), 0.0)


def gdlab(*args):
    r = runner.invoke(app, [str(a) for a in args])
    return r


@pytest.fixture
def compare_dir(tmp_path, write_config):
    data = bowl_config(steps=30, optimizers=[{"name": "sgd", "lr": 0.4, "label": "gd"},
                                             {"name": "momentum", "lr": 0.4, "momentum": 0.5}])
    del data["optimizer"]
    r = gdlab("compare", write_config(data), "--out", tmp_path / "runs", "-q")
    assert r.exit_code == 0, r.output
    return tmp_path / "runs" / r.stdout.strip().splitlines()[-1].split("/")[-1]


def test_frames_are_capped_and_end_on_the_last_step():
    steps = an.frame_steps(10_000)
    assert len(steps) <= an.MAX_FRAMES and steps[0] == 0 and steps[-1] == 10_000
    assert an.frame_steps(20).tolist() == list(range(21))


def test_a_10000_step_run_animates_into_a_small_gif(tmp_path):
    k = np.arange(10_001)
    path = np.column_stack([-5 * 0.9995**k, -2 * (-0.999) ** k])  # a slow spiral in
    s = Series("slow", k, 0.1 * path[:, 0] ** 2 + 2 * path[:, 1] ** 2, path=path, path_step=k)
    seen = []
    out = an.animate([s], BOWL, tmp_path / "a.gif", progress=lambda d, t: seen.append((d, t)))
    with Image.open(out) as im:
        assert im.n_frames == len(an.frame_steps(10_000)) <= an.MAX_FRAMES
        im.seek(im.n_frames - 1)
        last = np.asarray(im.convert("RGB"))
    assert out.stat().st_size < 5e6
    assert seen[-1] == (im.n_frames, im.n_frames) and len(seen) == im.n_frames  # a progress call per frame
    assert last.std() > 10  # a picture, not a blank frame


def test_plot_animate_writes_a_gif_of_every_member(compare_dir):
    r = gdlab("plot", compare_dir, "--animate")
    assert r.exit_code == 0, r.output
    gif = compare_dir / "plots" / "animation.gif"
    with Image.open(gif) as im:
        assert im.n_frames == 31
    r = gdlab("plot", compare_dir, "--output", compare_dir / "x.mp4")
    assert r.exit_code in (0, 2) and "Traceback" not in r.output  # 2: no ffmpeg here, said in one line


def test_export_writes_csv_a_script_that_redraws_it_alone_and_pgfplots(compare_dir, tmp_path):
    out = tmp_path / "export"
    r = gdlab("plot", compare_dir, "--export", out)
    assert r.exit_code == 0, r.output
    names = sorted(p.name for p in out.iterdir())
    assert {"loss.csv", "loss.py", "loss.tex", "trajectory.csv", "trajectory_surface.csv", "trajectory.py",
            "trajectory.tex"} <= set(names)
    header = (out / "loss.csv").read_text().splitlines()[0]
    assert header == "step,gd,momentum"
    for script in ("loss.py", "trajectory.py"):  # plain matplotlib, no gdlab: run it from elsewhere
        p = subprocess.run([sys.executable, "-I", str(out / script)], capture_output=True, text=True,
                           cwd=tmp_path, timeout=120)
        assert p.returncode == 0, p.stderr
        assert (out / script.replace(".py", ".png")).read_bytes()[:4] == b"\x89PNG"
    assert "import gdlab" not in (out / "loss.py").read_text()
    assert "\\addplot table[x=step, y=gd" in (out / "loss.tex").read_text()


def test_every_drawing_command_takes_a_format(compare_dir, tmp_path, write_config):
    r = gdlab("plot", compare_dir, "--format", "svg")
    assert r.exit_code == 0, r.output
    assert (compare_dir / "plots" / "trajectory.svg").read_text().lstrip().startswith("<?xml")
    r = gdlab("plot", compare_dir, "--output", tmp_path / "both.pdf")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "both.pdf").read_bytes()[:4] == b"%PDF"
    r = gdlab("run", write_config(bowl_config()), "--format", "pdf", "--out", tmp_path / "r", "-q")
    assert r.exit_code == 0 and list((tmp_path / "r").glob("*/plots/loss.pdf")), r.output
    for bad in (["plot", compare_dir, "--format", "jpg"], ["plot", compare_dir, "--output", tmp_path / "x.jpg"]):
        r = gdlab(*bad)
        assert r.exit_code == 2 and "png, svg, pdf" in r.output.replace(".", "") and "Traceback" not in r.output


def test_stability_command_draws_the_region_or_says_why_not(tmp_path, write_config):
    r = gdlab("stability", write_config({**bowl_config(), "optimizer": {"name": "momentum", "lr": 0.6,
                                                                        "momentum": 0.5}}), "--out", tmp_path)
    assert r.exit_code == 0, r.output
    assert (tmp_path / "cfg-stability.png").read_bytes()[:4] == b"\x89PNG"
    rosen = {"problem": {"objective": "rosenbrock", "init": [-1.5, 2.0]}, "optimizer": {"name": "sgd", "lr": 1e-3},
             "steps": 5}
    r = gdlab("stability", write_config(rosen, "rosen.yaml"), "--out", tmp_path)
    assert r.exit_code == 2 and "quadratic" in r.output and "Traceback" not in r.output
