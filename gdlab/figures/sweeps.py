"""Sweep figures: final loss against a swept value, and a heat map over two swept keys.

Drawn with the shared style (figures.style) (palette, FIGSIZE/DPI, axis limits, legend, saving) and, like them, as
bare `Figure` objects. Sweeps of 100,000 members are normal: everything here is vectorized (no loop over
members or values), scatter points are rasterized and thinned, and the per-value minima are always drawn.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.colors import LogNorm, Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Patch, PathPatch
from matplotlib.path import Path as MplPath
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter

from .curves import tame, value_limits, wants_log
from .style import AXIS_LABELS, DPI, FIGSIZE, STAR, colour, legend, save

LOG_DECADES = 1.5  # a positive grid (or range of losses) wider than this many decades gets a log axis
BLOWUP = 10.0  # a member "blows up" when it ends this many times worse than the worst calm member ...
ASTRONOMICAL = 1e3  # ... and the rising tail only counts as divergence if it climbs this far (or to inf / nan)
MAX_POINTS = 20_000  # faint member dots drawn at most (the per-value minima come on top, always)
MAX_GROUPS = 10  # `others` with up to this many combinations: one coloured line each
DIVERGED_RED = colour(3)
_DIVERGED_CELL = dict(facecolor="0.32", hatch="///", hatchcolor="0.72", linewidth=0)


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


def _edge_index(best: np.ndarray, lost: np.ndarray, rising_tail: bool = True) -> int | None:
    """Index of the first value of the diverging tail of a per-value best curve (see `divergence_edge`).

    rising_tail=False: only flagged values count (the flags already mark every member that ended worse than it
    started); a tail of finite losses that merely rises, such as momentum near 1 that has not settled yet, is not
    a divergence then.
    """
    bad = lost | ~np.isfinite(best)
    if not bad.size:
        return None
    if bad.all():
        return 0
    m = int(np.nanargmin(np.where(bad, np.nan, best)))
    ref = float(np.nanmax(np.where(bad[: m + 1], np.nan, best[: m + 1])))  # worst calm loss on the way down

    def tail(factor: float) -> int:  # start of the longest run of values, up to the last, above factor * ref
        high = bad | (best > factor * ref) if ref > 0 else bad  # a ratio means nothing for losses <= 0
        calm = np.flatnonzero(~high)
        return calm[-1] + 1 if calm.size else 0

    k = tail(BLOWUP)
    if k >= best.size or (not rising_tail and not bad[k:].any()):
        return None
    if bad[k:].any():  # flagged values say where it diverges; only astronomical losses extend them downwards
        k = tail(ASTRONOMICAL)
        return k if k < best.size else None
    return k if ref > 0 and np.nanmax(best[k:]) >= ASTRONOMICAL * ref else None


def divergence_edge(values: np.ndarray, final_loss: np.ndarray, diverged: np.ndarray) -> float | None:
    """The smallest swept value from which on every larger value diverges, or None.

    A value diverges when all its members are flagged `diverged` or have no finite final loss, or when its best
    final loss blows up. Plain gradient descent on a quadratic of curvature L diverges beyond lr = 2/L with a
    final loss that grows geometrically in lr yet stays finite for many steps, so flags alone would put the edge
    far too late. Without the loss at the start, the worst loss met on the way down to the best value (`ref`)
    stands in for it: a tail of values ending more than BLOWUP (10) times worse than `ref` diverges if it climbs
    to ASTRONOMICAL (1000) times `ref`; a late rise that stays moderate (momentum near 1 that has not settled
    yet) does not. When the tail holds flagged values, only losses above ASTRONOMICAL times `ref` extend it
    below them (a sweep that converges everywhere has a tiny `ref`).
    """
    u, best, lost, _ = best_per_value(values, final_loss, diverged)
    k = _edge_index(best, lost)
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
                others: np.ndarray | None = None, title: str = "", rising_tail: bool = True) -> Path:
    """Final loss against one swept value, with the diverged members and the divergence edge marked.

    values, final_loss, diverged: (R,) per member (final_loss may hold nan/inf: read as diverged). When members
    share a value (other keys were swept too) every member is a faint dot (thinned to about MAX_POINTS, the best
    of each value always kept) and the line is the best final loss per value. `others` (R,) or (R, k), optional:
    each member's values of the other swept keys (numbers, or text such as "momentum=0.9"); with 2 to 10
    distinct combinations each gets its own coloured line instead of the dots.
    """
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    loss = np.asarray(final_loss, dtype=np.float64).reshape(-1)
    u, best, lost, arg = best_per_value(v, loss, diverged)  # checks the shapes
    div = np.asarray(diverged, dtype=bool).reshape(-1) | ~np.isfinite(loss)
    ok = ~div & np.isfinite(v)
    shared = u.size < np.isfinite(v).sum()
    groups = _groups(others, v.size)
    k = _edge_index(best, lost, rising_tail)
    edge = None if k is None else float(u[k])

    logx, logy = log_axis(u), wants_log([loss[ok]], "loss")
    calm_best = best[: k if k is not None else None]
    ylim = value_limits([calm_best[np.isfinite(calm_best)], loss[ok]], [False, True], logy) if ok.any() else (0, 1)

    fig = Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
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
    ax.plot(u, tame(best, ylim, logy), zorder=4, label="best over the other keys" if shared else None,
            **line, **few)

    if np.isfinite(best).any():
        b = int(np.nanargmin(best))
        ax.plot([u[b]], [best[b]], linestyle="none", zorder=6, **STAR,
                label=f"lowest {best[b]:.3g} at {key} = {u[b]:.3g}")
    else:
        ax.text(0.5, 0.5, "every member diverged" if div.all() else "no finite final loss", transform=ax.transAxes,
                ha="center", va="center", fontsize=12, color="0.3")

    if edge is not None:
        _draw_edge(ax, u, best, k, key, all_members=shared, log=logy)
    flagged = _spread(ax, np.unique(v[div & np.isfinite(v)]))
    if flagged.size:  # an × on the top edge at the diverged values (x in data, y in axes coordinates)
        ax.plot(flagged, np.ones_like(flagged), transform=ax.get_xaxis_transform(), linestyle="none", marker="x",
                markersize=7, markeredgewidth=1.6, color=DIVERGED_RED, clip_on=False, zorder=7,
                label=f"diverged ({int(div.sum()):,} member{'s' if div.sum() != 1 else ''})")

    format_values(ax.xaxis, logx)
    ax.set_xlabel(axis_label(key))
    ax.set_ylabel("final loss")
    ax.grid(True, which="major", alpha=0.3)
    if title:
        ax.set_title(title)
    # below the axes: a cloud of members leaves no free corner, and matplotlib's search for the emptiest corner
    # ("best") counts every point of it (half a second with 100,000 members)
    legend(fig, ax, inside=shared is False and v.size <= 1000, below=True)
    return save(fig, out, tight=False)


def _spread(ax, xs: np.ndarray, slots: int = 50) -> np.ndarray:
    """The sorted values `xs`, thinned to one per 1/`slots` of the axes width: dense runs of diverged values
    become a row of distinct ×s rather than a red bar, and a lone diverged value keeps its own ×."""
    if xs.size <= slots:
        return xs
    xy = ax.get_xaxis_transform().transform(np.column_stack([xs, np.zeros_like(xs)]))  # display coordinates
    frac = ax.transAxes.inverted().transform(xy)[:, 0]
    _, first = np.unique(np.floor(frac * slots), return_index=True)
    return xs[first]


def _draw_edge(ax, u: np.ndarray, best: np.ndarray, k: int, key: str, *, all_members: bool, log: bool) -> None:
    """A shaded band from the edge to the right end, a dashed line on the edge, and how high the tail climbs."""
    edge, right = float(u[k]), ax.get_xlim()[1]
    who = "all members diverge" if all_members else "diverges"
    ax.axvspan(edge, right, color=DIVERGED_RED, alpha=0.08, linewidth=0, zorder=1)
    ax.axvline(edge, color=DIVERGED_RED, linestyle="--", linewidth=1.4, zorder=5,
               label=f"{who} from {key} ≈ {edge:.3g}")
    tail = best[k:]
    if np.isfinite(tail).any() and np.nanmax(tail) > ax.get_ylim()[1]:  # the tail left the axes: say how far
        peak = float(np.nanmax(tail))
        text = f"↑ final loss up to {peak:.1e}" if log or abs(peak) >= 1e4 else f"↑ final loss up to {peak:.3g}"
        right_half = ax.transAxes.inverted().transform(ax.get_xaxis_transform().transform((edge, 0)))[0] > 0.6
        ax.annotate(text, xy=(edge, 0.97), xycoords=ax.get_xaxis_transform(), xytext=(-6 if right_half else 6, 0),
                    textcoords="offset points", ha="right" if right_half else "left", va="top", fontsize=9,
                    color=DIVERGED_RED, zorder=6, bbox=dict(boxstyle="square,pad=0.15", facecolor="white",
                                                            edgecolor="none", alpha=0.7))


# -------------------------------------------------------------------------------------------------- heat map

def loss_norm(z: np.ndarray) -> tuple[Normalize, bool]:
    """The colour scale for finite losses `z` and whether its top is capped.

    LogNorm when they are positive and span more than 1.5 decades; its top then stops two decades above the
    90th percentile, so one exploding corner cannot squeeze every other cell into one colour (the colour bar
    gets an arrow: "and above").
    """
    lo, hi = float(z.min()), float(z.max())
    if lo > 0 and np.log10(hi / lo) > LOG_DECADES:
        top = min(hi, 10 ** (np.log10(np.quantile(z, 0.9)) + 2.0))
        return LogNorm(lo, top), top < hi
    if hi == lo:
        pad = max(abs(lo) * 0.1, 1e-12)
        lo, hi = lo - pad, hi + pad
    return Normalize(lo, hi), False


def _run_rectangles(mask: np.ndarray, xe: np.ndarray, ye: np.ndarray) -> MplPath | None:
    """One compound path of rectangles covering the True cells of `mask` (ny, nx), a rectangle per horizontal
    run of cells (a few per row), so a 100 × 1000 region hatches as one shape with no seams."""
    padded = np.pad(mask.astype(np.int8), ((0, 0), (1, 1)))
    step = np.diff(padded, axis=1)  # +1 where a run starts, -1 one past where it ends
    rows, j0 = np.nonzero(step == 1)
    _, j1 = np.nonzero(step == -1)  # row-major order: the same runs, in the same order
    if rows.size == 0:
        return None
    x0, x1, y0, y1 = xe[j0], xe[j1], ye[rows], ye[rows + 1]
    verts = np.stack([np.stack([x0, y0], 1), np.stack([x1, y0], 1), np.stack([x1, y1], 1),
                      np.stack([x0, y1], 1), np.stack([x0, y0], 1)], axis=1)  # (runs, 5, 2)
    codes = np.tile([MplPath.MOVETO, MplPath.LINETO, MplPath.LINETO, MplPath.LINETO, MplPath.CLOSEPOLY], rows.size)
    return MplPath(verts.reshape(-1, 2), codes)


def _boundary(mask: np.ndarray, xe: np.ndarray, ye: np.ndarray) -> np.ndarray:
    """Segments (n, 2, 2) along the cell edges that separate True from False cells of `mask` (ny, nx)."""
    i, j = np.nonzero(mask[:, 1:] != mask[:, :-1])  # between columns j and j + 1
    vertical = np.stack([np.stack([xe[j + 1], ye[i]], 1), np.stack([xe[j + 1], ye[i + 1]], 1)], axis=1)
    i, j = np.nonzero(mask[1:, :] != mask[:-1, :])  # between rows i and i + 1
    horizontal = np.stack([np.stack([xe[j], ye[i + 1]], 1), np.stack([xe[j + 1], ye[i + 1]], 1)], axis=1)
    return np.concatenate([vertical, horizontal])


def sweep_heatmap(x_values: np.ndarray, y_values: np.ndarray, final_loss: np.ndarray, diverged: np.ndarray,
                  x_key: str, y_key: str, out, *, title: str = "") -> Path:
    """Best final loss over a grid of two swept keys, diverged cells hatched grey, the best cell starred.

    x_values (nx,), y_values (ny,): sorted distinct values; final_loss (ny, nx), nan where missing; diverged
    (ny, nx) bool. Cells are centred on the values (geometric midpoints on log axes), so ticks are ordinary
    axis ticks, readable at 100 × 100 cells and more.
    """
    xv = np.asarray(x_values, dtype=np.float64).reshape(-1)
    yv = np.asarray(y_values, dtype=np.float64).reshape(-1)
    z = np.asarray(final_loss, dtype=np.float64)
    dv = np.asarray(diverged, dtype=bool)
    if z.shape != (yv.size, xv.size) or dv.shape != z.shape:
        raise ValueError(f"final_loss {z.shape} and diverged {dv.shape} must both be (ny, nx) = "
                         f"{(yv.size, xv.size)}")
    logx, logy = log_axis(xv), log_axis(yv)
    xe, ye = cell_edges(xv, logx), cell_edges(yv, logy)
    ok = np.isfinite(z) & ~dv

    fig = Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    ax.set_xscale("log" if logx else "linear")
    ax.set_yscale("log" if logy else "linear")
    handles = []
    if ok.any():
        norm, capped = loss_norm(z[ok])
        mesh = ax.pcolormesh(xe, ye, np.ma.masked_array(z, ~ok), cmap="viridis", norm=norm, shading="flat",
                             zorder=1)
        bar = fig.colorbar(mesh, ax=ax, extend="max" if capped else "neither", pad=0.02)
        bar.set_label("final loss")
        i, j = np.unravel_index(np.argmin(np.where(ok, z, np.inf)), z.shape)
        handles.append(ax.plot([xv[j]], [yv[i]], linestyle="none", zorder=5, **STAR,
                               label=f"lowest {z[i, j]:.3g} at {x_key} = {xv[j]:.3g}, {y_key} = {yv[i]:.3g}")[0])
    else:
        ax.text(0.5, 0.5, "every member diverged" if dv.all() else "no finite final loss", transform=ax.transAxes,
                ha="center", va="center", fontsize=12, zorder=6,
                bbox=dict(boxstyle="round", facecolor="white", edgecolor="0.5"))
    region = _run_rectangles(dv, xe, ye)
    if region is not None:
        ax.add_patch(PathPatch(region, zorder=2, **_DIVERGED_CELL))
        ax.add_collection(LineCollection(_boundary(dv, xe, ye), colors=DIVERGED_RED, linewidths=1.4, zorder=3))
        handles.append(Patch(edgecolor=DIVERGED_RED, linewidth=1.4, label=f"diverged ({int(dv.sum()):,} cells)",
                             **{k: v for k, v in _DIVERGED_CELL.items() if k != "linewidth"}))
    if (~ok & ~dv).any():
        handles.append(Patch(facecolor="white", edgecolor="0.5", label="no result"))

    ax.set_xlim(xe[0], xe[-1])
    ax.set_ylim(ye[0], ye[-1])
    format_values(ax.xaxis, logx)
    format_values(ax.yaxis, logy)
    ax.set_xlabel(axis_label(x_key))
    ax.set_ylabel(axis_label(y_key))
    if title:
        ax.set_title(title)
    if handles:
        fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 3), fontsize=9,
                   frameon=False)
    return save(fig, out, tight=False)
