"""Plots: every kind writes a PNG for 1D and 2D problems; wild members never blow up the axes; no warnings."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from matplotlib.figure import Figure

from gdlab.figures import curves, paths, style
from gdlab.errors import GdlabError
from gdlab.problems.landscape import Landscape
from gdlab.outputs.series import Series

pytestmark = pytest.mark.filterwarnings("error")  # "no matplotlib warnings" is part of the contract

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# ------------------------------------------------------------------------------------------------ fixtures

def descend(grad, x0, lr, steps, momentum=0.0) -> np.ndarray:
    """Plain (heavy-ball) gradient descent; the (steps + 1, D) path, row 0 = the start."""
    x, v, path = np.array(x0, float), 0.0, [np.array(x0, float)]
    for _ in range(steps):
        v = momentum * v + grad(x)
        x = x - lr * v
        path.append(x)
    return np.array(path)


def as_series(label, path, f, **kw) -> Series:
    with np.errstate(all="ignore"):
        loss = f(path)
    return Series(label, np.arange(len(path)), loss, path=path, **kw)


def bowl_f(p):
    return 0.1 * p[:, 0] ** 2 + 2 * p[:, 1] ** 2


def bowl_grad(x):
    return np.array([0.2 * x[0], 4 * x[1]])


BOWL = Landscape(bowl_f, ((-5.5, 1.0), (-3.0, 1.0)), np.zeros(2), 0.0, title="0.1·x1² + 2·x2²")
PARABOLA = Landscape(lambda p: (p[:, 0] - 1) ** 2 + 0.001, ((-0.5, 2.5),), np.array([1.0]), 0.001, labels=("x",))


def wild_2d() -> Series:
    """Runs off towards 1e300 along x2, then turns nan: a diverged member."""
    with np.errstate(all="ignore"):
        path = np.array([-5.0, -2.0]) * np.array([0.9, -1e12]) ** np.arange(40)[:, None]
        path[~np.isfinite(path).all(axis=1) | (np.abs(path) > 1e300).any(axis=1)] = np.nan
    bad = int(np.flatnonzero(~np.isfinite(path).all(axis=1))[0])
    return as_series("wild", path, bowl_f, status="diverged", diverged_at=bad)


@pytest.fixture
def bowl_members() -> list[Series]:
    return [as_series("gd (lr 0.4)", descend(bowl_grad, (-5, -2), 0.4, 20), bowl_f),
            as_series("gd (lr 0.6)", descend(bowl_grad, (-5, -2), 0.6, 20), bowl_f),  # out to |x2| ≈ 1673
            as_series("momentum (lr 0.4, 0.5)", descend(bowl_grad, (-5, -2), 0.4, 20, 0.5), bowl_f),
            wild_2d()]


@pytest.fixture
def parabola_members() -> list[Series]:
    f, g = PARABOLA.f, (lambda x: 2 * (x - 1))
    return [as_series("gd (lr 0.1)", descend(g, [0.2], 0.1, 20), f),
            as_series("gd (lr 1.1)", descend(g, [0.2], 1.1, 60), f),  # leaves the window, growing
            as_series("nan", np.array([[0.2], [0.5], [np.nan], [np.inf]]), f, status="diverged", diverged_at=2)]


@pytest.fixture
def drawn(monkeypatch) -> list[dict]:
    """What each saved figure showed: per visible axes its limits, y scale, colours of labelled and all lines."""
    record, original = [], Figure.savefig

    def spy(fig, *args, **kwargs):
        original(fig, *args, **kwargs)  # draws first, so limits are final (aspect applied)
        w, h = fig.get_size_inches()
        record.append({"axes": [{"xlim": ax.get_xlim(), "ylim": ax.get_ylim(), "yscale": ax.get_yscale(),
                                 "colours": [ln.get_color() for ln in ax.get_lines() if ln.get_label()[0] != "_"],
                                 "all_colours": [ln.get_color() for ln in ax.get_lines()],
                                 "xticks": [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]],
                                 "size": (ax.get_position().width * w, ax.get_position().height * h),
                                 "x1": ax.get_position().x1,
                                 "legend_x0": (ax.get_legend().get_window_extent().x0 / fig.bbox.width
                                               if ax.get_legend() else None),
                                 "markers_X": [float(y) for ln in ax.get_lines() if ln.get_marker() == "X"
                                               for y in ln.get_ydata()]}
                                for ax in fig.axes if ax.get_visible()],
                       "texts": [t.get_text() for ax in fig.axes for t in ax.texts],
                       "alphas": [ln.get_alpha() for ax in fig.axes for ln in ax.get_lines()
                                  if ln.get_label()[0] != "_" or ln.get_alpha() is not None]})

    monkeypatch.setattr(Figure, "savefig", spy)
    return record


def assert_png(path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 5000, path


def within(lim, window, factor) -> bool:
    """Limits inside the window widened by `factor` window widths on each side."""
    lo, hi = window
    width = hi - lo
    return lo - factor * width <= min(lim) and max(lim) <= hi + factor * width


# ---------------------------------------------------------------------------------------------- every plot

@pytest.mark.parametrize("kind", ["trajectories", "small_multiples"])
@pytest.mark.parametrize("problem", ["bowl", "parabola"])
def test_landscape_plots_write_png_within_bounded_axes(kind, problem, bowl_members, parabola_members, drawn,
                                                       tmp_path):
    landscape, members = (BOWL, bowl_members) if problem == "bowl" else (PARABOLA, parabola_members)
    out = getattr(paths, kind)(members, landscape, tmp_path / "sub" / f"{kind}.png", title="t")
    assert out == tmp_path / "sub" / f"{kind}.png"
    assert_png(out)
    (fig,) = drawn
    assert len(fig["axes"]) == (1 if kind == "trajectories" else len(members))
    for ax in fig["axes"]:
        # 1673 and 1e300 away from the window, yet the view stays within a bounded factor of it
        assert within(ax["xlim"], landscape.window[0], 1.0), ax
        if landscape.dim == 2:
            assert within(ax["ylim"], landscape.window[1], 1.0), ax
        else:  # the curve's own range over the view, not the 60th iterate of a diverging run (~1e10)
            assert max(ax["ylim"]) < 100, ax


@pytest.mark.parametrize("problem", ["bowl", "parabola"])
def test_loss_curves_write_png(problem, bowl_members, parabola_members, tmp_path):
    members = bowl_members if problem == "bowl" else parabola_members
    assert_png(curves.loss_curves(members, tmp_path / "loss.png", title="loss"))
    assert_png(curves.loss_curves(members, tmp_path / "smooth.png", smooth=5, logy=True))
    assert_png(curves.loss_curves(members, tmp_path / "lin.png", logy=False))


def test_loss_axis_not_flattened_by_a_member_near_overflow(drawn, tmp_path):
    step = np.arange(40)
    calm = 10 * np.exp(-step / 8)
    calm[10:13] = np.nan  # missing values
    wild = np.concatenate([10.0 * 10.0 ** (12.0 * step[:25]), [np.inf], np.full(14, np.nan)])  # up to 1e298
    members = [Series("calm", step, calm), Series("wild", step, wild, "diverged", 25)]
    curves.loss_curves(members, tmp_path / "log.png")
    curves.loss_curves(members, tmp_path / "lin.png", logy=False)
    (log_ax,), (lin_ax,) = drawn[0]["axes"], drawn[1]["axes"]
    assert log_ax["yscale"] == "log" and log_ax["ylim"][1] < 10 * 100 * 10  # calm max · two decades · padding
    assert lin_ax["yscale"] == "linear" and lin_ax["ylim"][1] < 30


def test_loss_curves_columns_and_linear_accuracy(drawn, tmp_path):
    step = np.arange(300)
    acc = np.full(step.size, np.nan)
    acc[::50] = np.linspace(0.1, 0.95, 6)  # evaluated every 50 steps only
    s = Series("adam", step, np.exp(-step / 50), columns={"epoch": step / 100, "val_accuracy": acc,
                                                           "wall_time": step * 0.01})
    curves.loss_curves([s], tmp_path / "acc.png", x="epoch", y="val_accuracy")
    curves.loss_curves([s], tmp_path / "wall.png", x="wall_time")
    assert drawn[0]["axes"][0]["yscale"] == "linear"
    assert drawn[1]["axes"][0]["yscale"] == "log"  # exp(-6): more than 1.5 decades
    with pytest.raises(GdlabError, match="val_loss"):
        curves.loss_curves([s], tmp_path / "missing.png", y="val_loss")


def test_member_keeps_its_colour_in_every_plot(bowl_members, drawn, tmp_path):
    curves.loss_curves(bowl_members, tmp_path / "loss.png")
    paths.trajectories(bowl_members, BOWL, tmp_path / "traj.png")
    paths.small_multiples(bowl_members, BOWL, tmp_path / "grid.png")
    expected = [style.colour(i) for i in range(len(bowl_members))]
    assert drawn[0]["axes"][0]["colours"] == expected
    assert drawn[1]["axes"][0]["colours"][: len(expected)] == expected  # then start and minimum markers
    assert [ax["all_colours"][0] for ax in drawn[2]["axes"]] == expected  # panels carry no legend labels


# ------------------------------------------------------------------------------------------------- helpers

def test_view_window_takes_in_near_points_and_caps_far_ones(bowl_members):
    base = np.array(BOWL.window)
    width = base[:, 1] - base[:, 0]
    view = paths.view_window(bowl_members, BOWL, margin=0.0)
    assert np.all(view[:, 0] <= base[:, 0]) and np.all(view[:, 1] >= base[:, 1])
    assert np.all(view[:, 0] >= base[:, 0] - style.REACH * width)
    assert np.all(view[:, 1] <= base[:, 1] + style.REACH * width)
    assert view[1, 0] < -3.5  # gd lr 0.6 visits x2 ≈ -3.9, within reach: the view takes it in
    assert np.allclose(paths.view_window([], BOWL, margin=0.0), base)


def test_contour_levels_are_geometric_above_the_minimum():
    xx, yy = np.meshgrid(np.linspace(-2, 2, 200), np.linspace(-1, 3, 200))
    z = (1 - xx) ** 2 + 100 * (yy - xx**2) ** 2
    levels = paths.contour_levels(z, 0.0)
    assert np.all(np.diff(levels) > 0) and levels[0] > 0
    assert np.allclose(np.diff(np.log(levels)), np.log(levels[1] / levels[0]))  # equal ratios
    assert levels[-1] / levels[0] >= 100  # both the valley floor and the walls get lines


def test_moving_average_skips_nan_and_keeps_length():
    y = np.array([1.0, 1.0, np.nan, 1.0, 1.0, 1.0])
    out = curves.moving_average(y, 3)
    assert out.shape == y.shape and np.isnan(out[2]) and np.allclose(out[~np.isnan(out)], 1.0)
    ramp = np.arange(10.0)
    assert np.allclose(curves.moving_average(ramp, 3)[1:-1], ramp[1:-1])  # centred: no lag
    assert np.array_equal(curves.moving_average(ramp, 0), ramp)


def test_member_label_tells_the_fate():
    s = Series("sgd", [0, 1], [1.0, np.inf], status="diverged", diverged_at=1)
    assert style.member_label(s) == "sgd (diverged at step 1)"
    assert style.member_label(Series("adam", [0], [1.0], status="interrupted")) == "adam (interrupted)"


def test_series_coerces_and_checks():
    s = Series("a", [0, 1, 2], [3, 2, 1], path=[0.2, 0.36, 0.488])
    assert s.path.shape == (3, 1) and s.loss.dtype == np.float64
    with pytest.raises(ValueError):
        Series("a", [0, 1], [1.0])
    with pytest.raises(ValueError):
        Series("a", [0], [1.0], status="exploded")
    with pytest.raises(ValueError):
        Landscape(bowl_f, ((1.0, -1.0), (0.0, 1.0)))


def test_series_module_does_not_import_matplotlib():
    code = "import sys, gdlab.outputs.series; print('matplotlib' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "False", r.stdout + r.stderr


# ------------------------------------------------------------------------------- what the figures tell

def plateau(n: int, start: float, level: float, noise: float, seed: int = 0) -> np.ndarray:
    """A fast early drop from `start` to a noisy plateau at `level` (d2l's airfoil losses)."""
    rng = np.random.default_rng(seed)
    return level + (start - level) * np.exp(-np.arange(n) / 2.0) + noise * rng.standard_normal(n)


def test_y_limits_come_from_the_tail_and_the_transient_is_said_to_leave(drawn, tmp_path):
    epochs = np.linspace(0, 2, 31)
    losses = [Series(f"m{i}", np.arange(31), plateau(31, 0.9, 0.245 + 0.01 * i, 0.004, i),
                     columns={"epoch": epochs}) for i in range(3)]
    out = curves.loss_curves(losses, tmp_path / "loss.png", x="epoch")
    acc = [Series(f"m{i}", np.arange(31), np.zeros(31), columns={"epoch": epochs,
               "val_accuracy": 1 - plateau(31, 0.9, 0.05 + 0.01 * i, 0.003, i)}) for i in range(3)]
    curves.loss_curves(acc, tmp_path / "acc.png", x="epoch", y="val_accuracy")
    (loss_ax,), (acc_ax,) = drawn[0]["axes"], drawn[1]["axes"]
    assert 0.2 < loss_ax["ylim"][0] and loss_ax["ylim"][1] < 0.32  # the plateau fills the axes, not 0.24-0.9
    assert 0.85 < acc_ax["ylim"][0] and acc_ax["ylim"][1] < 1.0  # accuracy from the data, not from 0.1
    assert any("above the axes (up to 0.9" in t for t in drawn[0]["texts"]), drawn[0]["texts"]
    (note,) = [t for t in drawn[1]["texts"] if "below the axes (down to " in t]
    assert float(note.split("down to ")[1].rstrip(")")) == pytest.approx(0.1, abs=0.01)
    assert_png(out)


def test_smoothing_many_noisy_members_leaves_the_raw_curves_out(drawn, tmp_path):
    rng = np.random.default_rng(0)
    members = [Series(f"m{i}", np.arange(500), 1 + rng.random(500)) for i in range(8)]
    curves.loss_curves(members, tmp_path / "many.png", smooth=25)
    curves.loss_curves(members[:1], tmp_path / "one.png", smooth=25)
    assert drawn[0]["alphas"].count(curves.RAW_ALPHA) == 0 and len(drawn[0]["alphas"]) == 8
    assert drawn[1]["alphas"].count(curves.RAW_ALPHA) == 1  # one member: its raw curve faint underneath


def test_a_positive_floor_keeps_a_linear_axis_and_the_steps_end_at_the_last(parabola_members, drawn, tmp_path):
    curves.loss_curves(parabola_members[:1], tmp_path / "loss.png", floor=0.001)
    (ax,) = drawn[0]["axes"]
    assert ax["yscale"] == "linear"  # a log axis would flatten at the 0.001 floor
    assert ax["xlim"] == (0.0, 20.0) and max(ax["xticks"]) <= 20


def test_overlay_legend_sits_beside_a_full_size_plot_and_the_diverged_mark_inside(bowl_members, drawn, tmp_path):
    curves.loss_curves(bowl_members, tmp_path / "loss.png")
    (ax,) = drawn[0]["axes"]
    assert ax["size"] == pytest.approx(style.AXES, abs=0.01)  # the plot keeps its size; the legend is beside it
    assert ax["legend_x0"] > ax["x1"]
    top = ax["ylim"][1]
    assert ax["markers_X"] and all(y < top for y in ax["markers_X"])  # the × inside the axes, under the title


def test_run_directory_names_use_a_safe_alphabet():
    from gdlab.outputs.rundir import safe_name

    assert safe_name("RMSProp (0.4, 0.9)") == "RMSProp_0.4_0.9"
    assert safe_name("momentum[lr=0.4,momentum=0.5]") == "momentum_lr=0.4_momentum=0.5"
    assert all(c.isalnum() or c in "._=-" for c in safe_name("a/b\\c:d*e?f\"g<h>i|j ü,k"))


def test_overlays_of_several_runs_are_labelled_by_run_name_not_timestamp():
    from pathlib import Path

    from gdlab.figures.replot import short_labels

    runs = [Path("runs/d2l-gd-20261130-221018-a9a31e"), Path("runs/d2l-gd-lr0.6-20261130-221020-b0b0b0")]
    assert short_labels(["gd", "gd"], runs) == ["d2l-gd: gd", "d2l-gd-lr0.6: gd"]
    assert short_labels(["gd", "adam"], runs) == ["gd", "adam"]
    twice = [runs[0], Path("runs/d2l-gd-20261130-221500-c1c1c1")]
    assert short_labels(["gd", "gd"], twice) == ["d2l-gd (a9a31e): gd", "d2l-gd (c1c1c1): gd"]
