"""Sweep figures: final loss against a swept value and the two-key heat map; the divergence edge; no warnings."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.patches import PathPatch

from gdlab.figures import sweeps as sp

pytestmark = pytest.mark.filterwarnings("error")  # "no matplotlib warnings" is part of the contract

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def bowl_sweep(lr, momentum, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Heavy-ball descent on d2l's bowl 0.1·x1² + 2·x2² from (-5, -2), one member per (lr, momentum) pair.

    Returns the final loss (R,) and the engine's diverged flag (non-finite loss).
    """
    lr, momentum = np.broadcast_arrays(np.asarray(lr, float), np.asarray(momentum, float))
    x = np.tile([-5.0, -2.0], (lr.size, 1))  # (R, 2)
    v, curvature = np.zeros_like(x), np.array([0.2, 4.0])
    with np.errstate(all="ignore"):
        for _ in range(steps):
            v = momentum[:, None] * v + curvature * x
            x = x - lr[:, None] * v
        loss = 0.1 * x[:, 0] ** 2 + 2 * x[:, 1] ** 2
    return loss, ~np.isfinite(loss)


@pytest.fixture
def drawn(monkeypatch) -> list[dict]:
    """What each saved figure showed: per axes its scales, legend texts, texts, patches and colour-mesh norms."""
    record, original = [], Figure.savefig

    def spy(fig, *args, **kwargs):
        original(fig, *args, **kwargs)
        axes = []
        for ax in fig.axes:
            legends = [lg for lg in [ax.get_legend(), *fig.legends] if lg is not None]
            axes.append({"xscale": ax.get_xscale(), "yscale": ax.get_yscale(), "xlabel": ax.get_xlabel(),
                         "ylabel": ax.get_ylabel(), "xlim": ax.get_xlim(), "ylim": ax.get_ylim(),
                         "legend": [t.get_text() for lg in legends for t in lg.get_texts()],
                         "texts": [t.get_text() for t in ax.texts],
                         "patches": list(ax.patches), "collections": list(ax.collections)})
        record.append(axes)

    monkeypatch.setattr(Figure, "savefig", spy)
    return record


def assert_png(path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 5000, path


# ----------------------------------------------------------------------------------------- divergence edge

@pytest.mark.parametrize("steps, upto", [(20, 0.52), (100, 0.502)])
def test_divergence_edge_of_gd_on_the_bowl_is_just_above_half(steps, upto):
    # lr·4 > 2 makes x2 grow: the final loss climbs geometrically from lr = 0.5 but stays finite (no flags)
    lr = np.linspace(0.01, 1, 10000)
    loss, diverged = bowl_sweep(lr, 0.0, steps)
    assert not diverged.any()
    edge = sp.divergence_edge(lr, loss, diverged)
    assert edge is not None and 0.5 <= edge <= upto


def test_divergence_edge_from_flags_is_the_first_of_the_diverged_tail():
    v = np.linspace(0.1, 1.0, 10)
    loss = np.linspace(1.0, 0.1, 10)
    flags = v > 0.65
    flags[2] = True  # an isolated failure below the edge does not move it
    assert sp.divergence_edge(v, loss, flags) == pytest.approx(0.7)
    assert sp.divergence_edge(v, np.where(flags, np.nan, loss), np.zeros(10, bool)) == pytest.approx(0.7)
    assert sp.divergence_edge(v, loss, np.ones(10, bool)) == pytest.approx(0.1)  # every value diverges
    assert sp.divergence_edge(v, loss, np.zeros(10, bool)) is None


def test_moderate_late_rise_is_not_divergence():
    # momentum near 1 has not settled after 20 steps: worse, but nowhere near a blow-up
    m = np.linspace(0, 0.99, 200)
    loss, diverged = bowl_sweep(0.4, m, 20)
    assert loss[-1] > 10 * loss.min() and sp.divergence_edge(m, loss, diverged) is None


def test_divergence_edge_of_a_two_key_sweep_is_where_even_the_best_member_diverges():
    lr, m = (a.ravel() for a in np.meshgrid(np.linspace(0.05, 1.2, 24), [0.0, 0.5, 0.9]))
    loss, _ = bowl_sweep(lr, m, 200)
    flags = ~np.isfinite(loss) | (loss > 10.5)  # ends worse than it started
    edge = sp.divergence_edge(lr, loss, flags)
    assert 0.95 <= edge <= 1.0  # heavy ball is stable while lr < (1 + momentum) / 2, i.e. up to 0.95 at best


def test_best_per_value_takes_the_lowest_member_that_did_not_diverge():
    values = np.array([2.0, 1.0, 2.0, 1.0, 3.0, 3.0])
    loss = np.array([5.0, 4.0, 0.5, np.nan, 1.0, 0.1])
    flags = np.array([False, False, False, False, True, True])
    u, best, lost, arg = sp.best_per_value(values, loss, flags)
    assert np.array_equal(u, [1.0, 2.0, 3.0])
    assert np.array_equal(best[:2], [4.0, 0.5]) and np.isnan(best[2])
    assert np.array_equal(lost, [False, False, True])
    assert np.array_equal(arg[:2], [1, 2])
    with pytest.raises(ValueError):
        sp.best_per_value(values, loss[:3], flags)


# -------------------------------------------------------------------------------------------------- axes

def test_log_axis_for_logspace_values_only():
    assert sp.log_axis(np.logspace(-3, 0, 50))
    assert sp.log_axis(np.array([0.001, 0.01, 0.1, 0.4, 0.6]))  # a hand-picked list over decades
    assert not sp.log_axis(np.linspace(0.01, 1, 10000))  # an evenly spaced grid keeps its linear axis
    assert not sp.log_axis(np.linspace(0, 0.99, 50))  # zero
    assert not sp.log_axis(np.array([0.1, 0.2, 0.4, 0.6]))  # less than 1.5 decades
    assert not sp.log_axis(np.array([0.5]))


def test_cell_edges_are_midpoints_geometric_on_log_axes():
    assert np.allclose(sp.cell_edges(np.array([1.0, 2.0, 3.0]), log=False), [0.5, 1.5, 2.5, 3.5])
    assert np.allclose(sp.cell_edges(np.array([0.01, 0.1, 1.0]), log=True),
                       10 ** np.array([-2.5, -1.5, -0.5, 0.5]))
    one = sp.cell_edges(np.array([0.3]), log=False)
    assert one[0] < 0.3 < one[1]


def test_thinning_keeps_the_minima():
    idx = np.arange(100_000)
    keep = np.array([3, 99_999, 50_000])
    kept = sp._thin(idx, keep, limit=1000)
    assert kept.size <= 1003 and np.isin(keep, kept).all()


# ------------------------------------------------------------------------------------------------ figures

def test_sweep_curve_of_gd_shows_and_labels_the_edge(drawn, tmp_path):
    lr = np.linspace(0.01, 1, 10000)
    loss, diverged = bowl_sweep(lr, 0.0, 20)
    out = sp.sweep_curve(lr, loss, diverged, "lr", tmp_path / "sub" / "lr.png", title="gd")
    assert out == tmp_path / "sub" / "lr.png"
    assert_png(out)
    (ax,) = drawn[0]
    assert ax["xscale"] == "linear" and ax["yscale"] == "log" and "lr" in ax["xlabel"]
    assert ax["ylabel"] == "final loss"
    assert any(t.startswith("diverges from lr ≈ 0.5") for t in ax["legend"]), ax["legend"]
    assert ax["ylim"][1] < 1e6  # the blown-up tail (1e19) leaves the axes instead of flattening the rest
    assert any("up to" in t for t in ax["texts"])


def test_sweep_curve_two_keys_logspace_and_flags(drawn, tmp_path):
    lr, m = (a.ravel() for a in np.meshgrid(np.logspace(-3, 0, 60), np.linspace(0, 0.99, 50)))
    loss, _ = bowl_sweep(lr, m, 100)
    flags = ~np.isfinite(loss) | (loss > 10.5)
    assert_png(sp.sweep_curve(lr, loss, flags, "lr", tmp_path / "two.png"))
    (ax,) = drawn[0]
    assert ax["xscale"] == "log"
    assert "best over the other keys" in ax["legend"] and f"each member ({int((~flags).sum()):,})" in ax["legend"]
    assert any(t.startswith("diverged (") for t in ax["legend"])
    dots = [c for c in ax["collections"] if c.get_rasterized()]
    assert dots and len(dots[0].get_offsets()) == int((~flags).sum())  # 3000 members: all drawn


def test_sweep_curve_with_few_other_combinations_draws_a_line_each(drawn, tmp_path):
    lr, m = (a.ravel() for a in np.meshgrid(np.linspace(0.01, 1.5, 100), [0.0, 0.5, 0.9]))
    loss, flags = bowl_sweep(lr, m, 20)
    labels = np.array([f"momentum={x:g}" for x in m])
    assert_png(sp.sweep_curve(lr, loss, flags, "lr", tmp_path / "groups.png", others=labels))
    (ax,) = drawn[0]
    assert {"momentum=0", "momentum=0.5", "momentum=0.9", "best over the other keys"} <= set(ax["legend"])


def test_sweep_heatmap_marks_diverged_cells_apart_from_the_scale(drawn, tmp_path):
    lrs, moms = np.logspace(-3, 0, 60), np.linspace(0, 0.99, 50)
    L, M = np.meshgrid(lrs, moms)  # (ny, nx)
    loss, div = bowl_sweep(L.ravel(), M.ravel(), 100)
    flags = (~np.isfinite(loss) | (loss > 10.5)).reshape(L.shape)
    grid = np.where(flags, np.nan, loss.reshape(L.shape))
    out = sp.sweep_heatmap(lrs, moms, grid, flags, "lr", "momentum", tmp_path / "heat.png", title="t")
    assert_png(out)
    ax, bar = drawn[0]
    assert ax["xscale"] == "log" and ax["yscale"] == "linear"
    assert "lr" in ax["xlabel"] and ax["ylabel"] == "momentum" and bar["ylabel"] == "final loss"
    (mesh,) = [c for c in ax["collections"] if hasattr(c, "get_array") and c.get_array() is not None]
    assert isinstance(mesh.norm, LogNorm)
    assert np.ma.getmaskarray(mesh.get_array()).reshape(flags.shape)[flags].all()  # not a colour of the scale
    (region,) = [p for p in ax["patches"] if isinstance(p, PathPatch)]
    assert region.get_hatch() and region.get_facecolor()[:3] != mesh.cmap(1.0)[:3]
    assert any(t.startswith("diverged (") for t in ax["legend"])
    assert any(t.startswith("lowest ") for t in ax["legend"])  # the star


def test_heatmap_ticks_stay_readable_with_many_cells(drawn, tmp_path):
    xs, ys = np.logspace(-4, 0, 100), np.linspace(0, 0.99, 100)
    z = np.add.outer(ys, np.log(xs)) ** 2 + 1e-3
    sp.sweep_heatmap(xs, ys, z, np.zeros_like(z, bool), "lr", "momentum", tmp_path / "big.png")
    (ax, _) = drawn[0]
    assert ax["xscale"] == "log"


@pytest.mark.parametrize("case", ["all_diverged", "all_nan", "one_value", "empty"])
def test_degenerate_inputs_do_not_crash(case, tmp_path):
    n = {"one_value": 1, "empty": 0}.get(case, 12)
    v = np.linspace(0.1, 1.0, n)
    loss = np.full(n, np.nan) if case in ("all_diverged", "all_nan") else np.ones(n)
    flags = np.full(n, case == "all_diverged")
    assert_png(sp.sweep_curve(v, loss, flags, "lr", tmp_path / "curve.png"))
    if n:
        ny = 3 if n > 1 else 1
        assert_png(sp.sweep_heatmap(v, v[:ny], np.tile(loss, (ny, 1)), np.tile(flags, (ny, 1)), "lr", "momentum",
                                    tmp_path / "heat.png"))


def test_big_sweep_draws_thinned_rasterized_dots_with_every_minimum(drawn, tmp_path):
    rng = np.random.default_rng(1)
    grid = np.logspace(-3, 0, 500)
    values = grid[rng.integers(0, grid.size, 100_000)]
    loss = rng.lognormal(size=values.size)
    sp.sweep_curve(values, loss, np.zeros(values.size, bool), "lr", tmp_path / "big.png")
    (dots,) = [c for c in drawn[0][0]["collections"] if c.get_rasterized()]
    shown = dots.get_offsets()
    assert len(shown) <= sp.MAX_POINTS + grid.size
    _, best, _, _ = sp.best_per_value(values, loss, np.zeros(values.size, bool))
    ys = np.sort(np.asarray(shown)[:, 1])
    at = np.searchsorted(ys, best)
    gap = np.minimum(abs(ys[np.clip(at, 0, ys.size - 1)] - best), abs(ys[np.clip(at - 1, 0, ys.size - 1)] - best))
    assert np.all(gap <= 1e-9 * best)  # thinning never drops a per-value minimum (drawn up to rounding)
