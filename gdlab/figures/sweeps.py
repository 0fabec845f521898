"""Sweep figures: final loss against a swept value (the heat map over two keys is in heatmap.py).

Drawn with the shared style (figures.style). Sweeps of 100,000 members are normal: everything here is vectorized
(no loop over members or values), scatter points are rasterized and thinned, and the per-value minima are always
drawn. Members' fates follow gdlab.outputs.verdicts: diverged (non-finite, red ×), not settled (ended above their
start, amber ▲), and the stability theory's edge, where known, is a dashed line labelled with its formula.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter

from .curves import tame, value_limits, wants_log
from .style import AXIS_LABELS, STAR, UNSETTLED_COLOUR, colour, figure, legend_beside, legend_width, save

LOG_DECADES = 1.5  # a positive grid (or range of losses) wider than this many decades gets a log axis
MAX_POINTS = 20_000  # faint member dots drawn at most (the per-value minima come on top, always)
LEGEND_CHARS = 38  # the longest legend label of a sweep figure (the figure is widened for it before drawing)
MAX_GROUPS = 10  # `others` with up to this many combinations: one coloured line each
DIVERGED_RED = colour(3)
THEORY = dict(color="black", linestyle="--", linewidth=1.4, zorder=5)  # the stability theory's edge


# ------------------------------------------------------------------------------------------------ helpers

def axis_label(key: str) -> str:
    """'learning rate (lr)' for a key with a long name, the key itself otherwise."""
    name = AXIS_LABELS.get(key)
    return f"{name} ({key})" if name and name != key else key


def log_axis(values: np.ndarray) -> bool:
    """A log axis for a grid of positive values spanning more than 1.5 decades, unless it is evenly spaced on a
    linear scale (a `linspace` grid keeps the linear axis it was chosen on; a `logspace` grid or a hand-picked
    list such as 0.001, 0.01, 0.1, 0.4 gets the log axis)."""
    u = np.unique(np.asarray(values, dtype=np.float64))
    u = u[np.isfinite(u)]
    if u.size < 2 or u[0] <= 0 or np.log10(u[-1] / u[0]) <= LOG_DECADES:
        return False
    gaps = np.diff(u)
    return not (u.size >= 4 and gaps.max() <= 1.01 * gaps.min())  # linspace: equal gaps up to rounding


def cell_edges(values: np.ndarray, log: bool) -> np.ndarray:
    """The (n + 1,) edges of cells centred on sorted `values`: midpoints between neighbours (geometric ones on a
    log axis), the outer edges half a gap beyond the outer values."""
    v = np.asarray(values, dtype=np.float64)
    w = np.log10(v) if log else v
    if w.size == 1:
        half = 0.5 if log else max(abs(w[0]) * 0.1, 0.5)
        e = np.array([w[0] - half, w[0] + half])
    else:
        mid = 0.5 * (w[1:] + w[:-1])
        e = np.concatenate([[w[0] - (mid[0] - w[0])], mid, [w[-1] + (w[-1] - mid[-1])]])
    return 10.0**e if log else e


def format_values(axis, log: bool) -> None:
    """Tick labels a learner reads at a glance: 0.001, 0.01, 0.1, 1 on a log axis of everyday values (10⁻⁶ style
    beyond 1e-4 … 1e4); on a linear axis a handful of ticks, never one per grid value."""
    if log:
        lo, hi = axis.get_view_interval()
        if 1e-4 <= lo and hi <= 1e4:
            axis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}"))
        axis.set_minor_formatter(NullFormatter())
    else:
        axis.set_major_locator(MaxNLocator(nbins="auto", steps=[1, 2, 2.5, 5, 10]))


def best_per_value(values: np.ndarray, final_loss: np.ndarray, diverged: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per distinct value (sorted): the value, the lowest final loss among its members that did not diverge (nan
    where none has a finite one), whether every member there diverged, and the index of the best member.

    Shapes: values, final_loss, diverged (R,) -> four arrays (n,), n = number of distinct finite values.
    """
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    loss = np.asarray(final_loss, dtype=np.float64).reshape(-1)
    div = np.asarray(diverged, dtype=bool).reshape(-1)
    if not v.shape == loss.shape == div.shape:
        raise ValueError(f"values {v.shape}, final_loss {loss.shape} and diverged {div.shape} differ in length")
    members = np.flatnonzero(np.isfinite(v))
    key = np.where(np.isfinite(loss) & ~div, loss, np.inf)[members]
    order = members[np.lexsort((key, v[members]))]  # by value, best member first within each value
    vs = v[order]
    starts = np.flatnonzero(np.r_[True, vs[1:] != vs[:-1]]) if vs.size else np.array([], dtype=np.int64)
    if not starts.size:
        empty = np.array([])
        return empty, empty, np.array([], dtype=bool), np.array([], dtype=np.int64)
    best = np.where(np.isfinite(loss) & ~div, loss, np.inf)[order][starts]
    lost = np.logical_and.reduceat(div[order], starts)
    return vs[starts], np.where(np.isfinite(best), best, np.nan), lost, order[starts]


def _edge_index(lost: np.ndarray) -> int | None:
    """Index of the first value of the tail of values at which every member diverged (None: no such tail)."""
    if not lost.size or not lost[-1]:
        return None
    calm = np.flatnonzero(~lost)
    return int(calm[-1] + 1) if calm.size else 0


def divergence_edge(values: np.ndarray, final_loss: np.ndarray, diverged: np.ndarray) -> float | None:
    """The smallest swept value from which on every member at every larger value diverged, or None.

    Diverged means what it means everywhere in gdlab (gdlab.outputs.verdicts): the engine's flag, a loss or
    parameters that became non-finite. A finite loss that grew is never called diverged here; the theory's edge
    (gdlab.problems.stability) is drawn beside when it is known.
    """
    u, _, lost, _ = best_per_value(values, final_loss, diverged)
    k = _edge_index(lost)
    return None if k is None else float(u[k])


def _thin(idx: np.ndarray, keep: np.ndarray, limit: int = MAX_POINTS) -> np.ndarray:
    """At most about `limit` of the member indices `idx` (a fixed random choice), always including `keep`."""
    if idx.size <= limit:
        return idx
    pick = np.random.default_rng(0).choice(idx, size=limit, replace=False)
    return np.union1d(pick, keep)


def _groups(others: np.ndarray | None, n: int) -> tuple[np.ndarray, list[str]] | None:
    """Group id per member and a label per group, when `others` names few enough combinations to draw."""
    if others is None:
        return None
    o = np.asarray(others)
    o = o.reshape(n, -1) if o.size else o.reshape(n, 0)
    if o.shape[0] != n:
        raise ValueError(f"others has {o.shape[0]} rows for {n} members")
    if o.shape[1] == 0:
        return None
    uniq, gid = np.unique(o, axis=0, return_inverse=True)
    if not 2 <= len(uniq) <= MAX_GROUPS:
        return None
    text = (lambda x: f"{x:g}") if np.issubdtype(o.dtype, np.number) else str
    return gid.reshape(-1), [", ".join(text(x) for x in row) for row in uniq]


def _x_limits(u: np.ndarray, log: bool) -> tuple[float, float]:
    if u.size == 0:
        return (0.1, 10.0) if log else (0.0, 1.0)
    e = cell_edges(u[[0, -1]] if u.size > 1 else u, log)
    if u.size == 1:
        return float(e[0]), float(e[-1])
    if log:  # 3 % of the span beyond the outer values
        lo, hi = np.log10(u[[0, -1]])
        return 10 ** (lo - 0.03 * (hi - lo)), 10 ** (hi + 0.03 * (hi - lo))
    pad = 0.03 * (u[-1] - u[0])
    return u[0] - pad, u[-1] + pad


# ----------------------------------------------------------------------------------- final loss vs a value

def sweep_curve(values: np.ndarray, final_loss: np.ndarray, diverged: np.ndarray, key: str, out, *,
                others: np.ndarray | None = None, title: str = "", unsettled: np.ndarray | None = None,
                theory: list[tuple[float, str]] = ()) -> Path:
    """Final loss against one swept value, with the members' fates and the edges of stability marked.

    values, final_loss, diverged, unsettled: (R,) per member (final_loss may hold nan/inf: read as diverged;
    unsettled: ended above the start, see gdlab.outputs.verdicts). When members share a value (other keys were
    swept too) every member is a faint dot (thinned to about MAX_POINTS, the best of each value always kept) and
    the line is the best final loss per value. `others` (R,) or (R, k), optional: each member's values of the
    other swept keys; with 2 to 10 distinct combinations each gets its own coloured line instead of the dots.
    theory: (edge value, label) pairs of the stability theory, drawn as dashed vertical lines.
    """
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    loss = np.asarray(final_loss, dtype=np.float64).reshape(-1)
    u, best, lost, arg = best_per_value(v, loss, diverged)  # checks the shapes
    div = np.asarray(diverged, dtype=bool).reshape(-1) | ~np.isfinite(loss)
    rising = np.zeros_like(div) if unsettled is None else np.asarray(unsettled, dtype=bool).reshape(-1) & ~div
    ok = ~div & np.isfinite(v)
    shared = u.size < np.isfinite(v).sum()
    groups = _groups(others, v.size)
    k = _edge_index(lost)

    logx, logy = log_axis(u), wants_log([loss[ok]], "loss")
    settled = ok & ~rising
    calm = settled if settled.any() else ok
    ylim = value_limits([loss[calm], loss[ok & ~calm]], [False, True], logy) if ok.any() else (0, 1)

    fig, (ax,) = figure(right=legend_width(["x" * LEGEND_CHARS]) + 0.2)  # labels come while drawing
    ax.set_xscale("log" if logx else "linear")
    ax.set_yscale("log" if logy else "linear")
    ax.set_xlim(*_x_limits(u, logx))
    ax.set_ylim(*ylim)  # fixed before plotting: losses near 1e300 must not drive autoscaling
    ax.set_autoscale_on(False)
    if not ok.any():
        ax.set_yticks([])  # no loss to read off

    if groups is not None:  # one line per combination of the other keys
        gid, names = groups
        for g, name in enumerate(names):
            mine = np.flatnonzero(gid == g)
            gu, gb, _, _ = best_per_value(v[mine], loss[mine], div[mine])
            ax.plot(gu, tame(gb, ylim, logy), color=colour(g), linewidth=1.3, label=name, zorder=3)
    elif shared and ok.any():
        dots = _thin(np.flatnonzero(ok), arg[np.isfinite(best)])
        ax.scatter(v[dots], tame(loss[dots], ylim, logy), s=5, color=colour(0), alpha=0.18, linewidths=0,
                   rasterized=True, zorder=2, label=f"each member ({ok.sum():,})" if dots.size == ok.sum() else
                   f"members ({dots.size:,} of {ok.sum():,} drawn)")
    line = dict(color="black", linewidth=2.0) if groups is not None else dict(color=colour(0), linewidth=1.8)
    few = dict(marker="o", markersize=3.5) if u.size <= 60 else {}
    ax.plot(u, tame(best, ylim, logy), zorder=4, label="best over the other keys" if shared else "final loss",
            **line, **few)

    if np.isfinite(best).any():
        b = int(np.nanargmin(best))
        ax.plot([u[b]], [best[b]], linestyle="none", zorder=6, **STAR,
                label=f"lowest {best[b]:.3g} at {key} = {u[b]:.3g}")
    else:
        ax.text(0.5, 0.5, "every member diverged" if div.all() else "no finite final loss", transform=ax.transAxes,
                ha="center", va="center", fontsize=12, color="0.3")
    if k is not None:  # the values at which every member diverged, shaded
        ax.axvspan(float(u[k]), ax.get_xlim()[1], color=DIVERGED_RED, alpha=0.08, linewidth=0, zorder=1,
                   label=f"all diverged from {key} = {u[k]:.3g}")
    for edge, label in theory:
        ax.axvline(edge, label=label, **THEORY)
    _fate_row(ax, v[div & np.isfinite(v)], 0.95, dict(marker="x", markersize=7, markeredgewidth=1.6,
                                                      color=DIVERGED_RED),
              f"diverged: non-finite ({int(div.sum()):,})")
    _fate_row(ax, v[rising & np.isfinite(v)], 0.89, dict(marker="^", markersize=5, color=UNSETTLED_COLOUR),
              f"not settled: ended above its start ({int(rising.sum()):,})")
    top = np.nanmax(best) if np.isfinite(best).any() else np.nan
    if np.isfinite(top) and top > ax.get_ylim()[1]:  # the best curve left the axes: say how far
        ax.text(0.98, 0.84, f"↑ final loss up to {top:.2e}", transform=ax.transAxes, ha="right", va="top",
                fontsize=8, color="0.25", zorder=6,
                bbox=dict(boxstyle="square,pad=0.15", facecolor="white", edgecolor="none", alpha=0.8))

    format_values(ax.xaxis, logx)
    ax.set_xlabel(axis_label(key))
    ax.set_ylabel("final loss")
    ax.grid(True, which="major", alpha=0.3)
    if title:
        ax.set_title(title)
    legend_beside(ax)
    return save(fig, out)


def _fate_row(ax, xs: np.ndarray, y: float, style: dict, label: str) -> None:
    """A row of markers inside the top of the axes (x in data, y in axes coordinates) at the distinct values
    `xs`, thinned to one per fiftieth of the width: dense runs become a row of distinct marks, not a bar."""
    xs = np.unique(xs)
    if not xs.size:
        return
    xs = _spread(ax, xs)
    ax.plot(xs, np.full(xs.shape, y), transform=ax.get_xaxis_transform(), linestyle="none", zorder=7,
            label=label, **style)


def _spread(ax, xs: np.ndarray, slots: int = 50) -> np.ndarray:
    """The sorted values `xs`, thinned to one per 1/`slots` of the axes width (a lone value keeps its mark)."""
    if xs.size <= slots:
        return xs
    xy = ax.get_xaxis_transform().transform(np.column_stack([xs, np.zeros_like(xs)]))  # display coordinates
    frac = ax.transAxes.inverted().transform(xy)[:, 0]
    _, first = np.unique(np.floor(frac * slots), return_index=True)
    return xs[first]
