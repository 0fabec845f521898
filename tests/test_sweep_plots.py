"""Sweep figures: final loss against a swept value and the two-key heat map; the divergence edge; no warnings."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.patches import PathPatch

from gdlab.figures import heatmap as hm
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
                         "patches": list(ax.patches), "collections": list(ax.collections),
                         "xticks": [t.get_text() for t in ax.get_xticklabels()], "xtickpos": list(ax.get_xticks()),
                         "yticks": [t.get_text() for t in ax.get_yticklabels()],
                         "marker_rows": [float(y) for ln in ax.get_lines() if ln.get_marker() in ("x", "^")
                                         for y in ln.get_ydata()]})
        record.append(axes)

    monkeypatch.setattr(Figure, "savefig", spy)
    return record


def assert_png(path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 5000, path


# ----------------------------------------------------------------------------------------- divergence edge

def test_a_finite_loss_that_grows_is_never_called_diverged():
    # lr·4 > 2 makes x2 grow: the final loss climbs geometrically from lr = 0.5 but stays finite (no flags); the
    # one definition of diverged (non-finite) puts no edge there: the theory's edge is drawn instead
    lr = np.linspace(0.01, 1, 1000)
    loss, diverged = bowl_sweep(lr, 0.0, 20)
    assert not diverged.any() and loss.max() > 1e15
    assert sp.divergence_edge(lr, loss, diverged) is None


def test_divergence_edge_from_flags_is_the_first_of_the_all_diverged_tail():
    v = np.arange(10.0)
    flags = np.array([0, 0, 1, 0, 0, 0, 1, 1, 1, 1], bool)  # an isolated flag at 2 is not the edge
    assert sp.divergence_edge(v, np.ones(10), flags) == 6.0
    assert sp.divergence_edge(v, np.ones(10), np.zeros(10, bool)) is None
    assert sp.divergence_edge(v, np.ones(10), np.ones(10, bool)) == 0.0
    # two members per value: the tail starts where both diverge
    vv, ff = np.repeat(v, 2), np.repeat(flags, 2)
    ff[2 * 7] = False
    assert sp.divergence_edge(vv, np.ones(20), ff) == 8.0


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

def test_sweep_curve_of_gd_marks_the_unsettled_and_the_theory_edge_inside_the_axes(drawn, tmp_path):
    lr = np.linspace(0.01, 1, 500)
    loss, diverged = bowl_sweep(lr, 0.0, 20)
    start = 0.1 * 25 + 2 * 4  # f(-5, -2)
    unsettled = loss > start
    out = sp.sweep_curve(lr, loss, diverged, "lr", tmp_path / "sub" / "lr.png", title="gd", unsettled=unsettled,
                         theory=[(0.5, "theory: stable iff lr < 2/L = 0.5")])
    assert out == tmp_path / "sub" / "lr.png"
    assert_png(out)
    (ax,) = drawn[0]
    assert ax["xscale"] == "linear" and ax["yscale"] == "log" and "lr" in ax["xlabel"]
    assert ax["ylabel"] == "final loss"
    assert "theory: stable iff lr < 2/L = 0.5" in ax["legend"]
    assert f"not settled: ended above its start ({int(unsettled.sum()):,})" in ax["legend"]
    assert not any(t.startswith("diverged") for t in ax["legend"]), ax["legend"]  # nothing was non-finite
    assert 240 <= unsettled.sum() <= 252  # lr > 0.5 grows (a few just above 0.5 end below their start)
    assert ax["ylim"][1] < 1e6  # the blown-up tail (1e19) leaves the axes instead of flattening the rest
    assert any("up to" in t for t in ax["texts"])
    assert ax["marker_rows"] and all(0 < y < 1 for y in ax["marker_rows"])  # inside, clear of the title


def test_sweep_curve_two_keys_logspace_and_flags(drawn, tmp_path):
    lr, m = (a.ravel() for a in np.meshgrid(np.logspace(-3, 0, 60), np.linspace(0, 0.99, 50)))
    loss, _ = bowl_sweep(lr, m, 100)
    flags = ~np.isfinite(loss) | (loss > 10.5)
    assert_png(sp.sweep_curve(lr, loss, flags, "lr", tmp_path / "two.png"))
    (ax,) = drawn[0]
    assert ax["xscale"] == "log"
    assert "best over the other keys" in ax["legend"] and f"each member ({int((~flags).sum()):,})" in ax["legend"]
    assert f"diverged: non-finite ({int(flags.sum()):,})" in ax["legend"]
    dots = [c for c in ax["collections"] if c.get_rasterized()]
    assert dots and len(dots[0].get_offsets()) == int((~flags).sum())  # 3000 members: all drawn


def test_sweep_curve_with_few_other_combinations_draws_a_line_each(drawn, tmp_path):
    lr, m = (a.ravel() for a in np.meshgrid(np.linspace(0.01, 1.5, 100), [0.0, 0.5, 0.9]))
    loss, flags = bowl_sweep(lr, m, 20)
    labels = np.array([f"momentum={x:g}" for x in m])
    assert_png(sp.sweep_curve(lr, loss, flags, "lr", tmp_path / "groups.png", others=labels))
    (ax,) = drawn[0]
    assert {"momentum=0", "momentum=0.5", "momentum=0.9", "best over the other keys"} <= set(ax["legend"])


def test_sweep_heatmap_marks_diverged_and_unsettled_cells_apart_from_the_scale(drawn, tmp_path):
    lrs, moms = np.logspace(-3, 0, 60), np.linspace(0, 0.99, 50)
    L, M = np.meshgrid(lrs, moms)  # (ny, nx)
    loss, div = bowl_sweep(L.ravel(), M.ravel(), 400)  # long enough for the worst to overflow
    flags = (~np.isfinite(loss)).reshape(L.shape)
    assert 0 < flags.sum() < flags.size
    rising = (np.isfinite(loss) & (loss > 10.5)).reshape(L.shape)
    grid = np.where(flags, np.nan, loss.reshape(L.shape))
    edge = (2 * (1 + moms) / 4, moms, "theory: lr = 2(1+β)/L")
    out = hm.sweep_heatmap(lrs, moms, grid, flags, "lr", "momentum", tmp_path / "heat.png", title="t",
                           unsettled=rising, theory=[edge])
    assert_png(out)
    ax, bar = drawn[0]
    assert "lr" in ax["xlabel"] and ax["ylabel"] == "momentum" and bar["ylabel"] == "final loss"
    (mesh,) = [c for c in ax["collections"] if hasattr(c, "get_array") and c.get_array() is not None]
    assert isinstance(mesh.norm, LogNorm)
    assert np.ma.getmaskarray(mesh.get_array()).reshape(flags.shape)[flags].all()  # not a colour of the scale
    regions = [p for p in ax["patches"] if isinstance(p, PathPatch)]
    assert len(regions) == 2 and all(p.get_hatch() for p in regions)
    assert f"diverged: non-finite ({int(flags.sum()):,} cells)" in ax["legend"]
    assert f"not settled: ended above the start ({int(rising.sum()):,} cells)" in ax["legend"]
    assert "theory: lr = 2(1+β)/L" in ax["legend"]
    assert any(t.startswith("lowest ") for t in ax["legend"])  # the star


def test_heatmap_of_an_uneven_grid_has_equal_cells_and_ticks_at_the_grid_values(drawn, tmp_path):
    b0 = np.array([0.0, 0.5, 0.9, 0.99])  # betas[0]: midpoints would make unequal cells and odd limits
    lr = np.array([0.001, 0.01, 0.1, 0.4])
    z = np.add.outer(b0, lr) + 0.1
    hm.sweep_heatmap(lr, b0, z, np.zeros_like(z, bool), "lr", "betas[0]", tmp_path / "uneven.png")
    ax, _ = drawn[0]
    (mesh,) = [c for c in ax["collections"] if hasattr(c, "get_array") and c.get_array() is not None]
    corners = mesh.get_coordinates()  # (ny + 1, nx + 1, 2)
    assert np.allclose(np.diff(corners[0, :, 0]), 1.0) and np.allclose(np.diff(corners[:, 0, 1]), 1.0)
    assert ax["xticks"] == ["0.001", "0.01", "0.1", "0.4"] and ax["yticks"] == ["0", "0.5", "0.9", "0.99"]
    assert ax["xlim"] == (-0.5, 3.5) and ax["ylim"] == (-0.5, 3.5)


def test_values_map_to_cell_positions_geometrically_on_log_grids():
    grid = np.logspace(-3, 0, 4)
    assert np.allclose(hm.value_to_index([1e-3, np.sqrt(1e-3 * 1e-2), 1.0], grid), [0, 0.5, 3])
    assert np.isnan(hm.value_to_index([2.0], grid)[0])
    assert np.allclose(hm.value_to_index([0.25], np.array([0.0, 0.5, 0.9, 0.99])), [0.5])
    assert hm.tick_positions(100, 8)[0] == 0 and hm.tick_positions(100, 8)[-1] == 99


def test_heatmap_ticks_stay_readable_with_many_cells(drawn, tmp_path):
    xs, ys = np.logspace(-4, 0, 100), np.linspace(0, 0.99, 100)
    z = np.add.outer(ys, np.log(xs)) ** 2 + 1e-3
    hm.sweep_heatmap(xs, ys, z, np.zeros_like(z, bool), "lr", "momentum", tmp_path / "big.png")
    (ax, _) = drawn[0]
    assert 2 <= len(ax["xticks"]) <= hm.MAX_TICKS and ax["xticks"][0] == "0.0001" and ax["xticks"][-1] == "1"


@pytest.mark.parametrize("case", ["all_diverged", "all_nan", "one_value", "empty"])
def test_degenerate_inputs_do_not_crash(case, tmp_path):
    n = {"one_value": 1, "empty": 0}.get(case, 12)
    v = np.linspace(0.1, 1.0, n)
    loss = np.full(n, np.nan) if case in ("all_diverged", "all_nan") else np.ones(n)
    flags = np.full(n, case == "all_diverged")
    assert_png(sp.sweep_curve(v, loss, flags, "lr", tmp_path / "curve.png"))
    if n:
        ny = 3 if n > 1 else 1
        assert_png(hm.sweep_heatmap(v, v[:ny], np.tile(loss, (ny, 1)), np.tile(flags, (ny, 1)), "lr", "momentum",
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
