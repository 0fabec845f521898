"""The heat map of a two-key sweep: best final loss per cell of any grid, equal cells, ticks at the grid values.

Cells are laid out by their index in the grid, not by their value, so an uneven grid (betas[0] = 0, 0.5, 0.9,
0.99) gets equal cells and its tick labels name the grid values themselves. Curves given in values (the stability
theory's edge) are mapped to the same index coordinates by interpolation (geometric on a log-spaced grid).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.colors import LogNorm, Normalize
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, PathPatch
from matplotlib.path import Path as MplPath

from .style import STAR, UNSETTLED_COLOUR, figure, save
from .sweeps import DIVERGED_RED, LOG_DECADES, THEORY, axis_label, log_axis

MAX_TICKS = 8  # tick labels per axis at most (every k-th grid value)
_DIVERGED_CELL = dict(facecolor="0.32", hatch="///", edgecolor="0.72", linewidth=0)
_UNSETTLED_CELL = dict(facecolor="none", hatch="...", edgecolor=UNSETTLED_COLOUR, linewidth=0)


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


def value_to_index(values: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Fractional cell positions of `values` on the sorted `grid` (nan outside it); geometric on a log grid."""
    v, g = np.asarray(values, dtype=np.float64), np.asarray(grid, dtype=np.float64)
    if g.size == 1:
        return np.where(v == g[0], 0.0, np.nan)
    if log_axis(g):
        with np.errstate(divide="ignore", invalid="ignore"):
            v, g = np.log10(v), np.log10(g)
    pos = np.interp(v, g, np.arange(g.size, dtype=np.float64))
    return np.where((v >= g[0]) & (v <= g[-1]), pos, np.nan)


def tick_positions(n: int, most: int = MAX_TICKS) -> np.ndarray:
    """About `most` evenly spread cell indices out of n, the first and the last always among them."""
    return np.unique(np.round(np.linspace(0, n - 1, min(n, most))).astype(int))


def _run_rectangles(mask: np.ndarray) -> MplPath | None:
    """One compound path of unit rectangles (index coordinates) covering the True cells of `mask` (ny, nx), one
    rectangle per horizontal run of cells, so a 100 × 1000 region hatches as one shape with no seams."""
    padded = np.pad(mask.astype(np.int8), ((0, 0), (1, 1)))
    step = np.diff(padded, axis=1)  # +1 where a run starts, -1 one past where it ends
    rows, j0 = np.nonzero(step == 1)
    _, j1 = np.nonzero(step == -1)  # row-major order: the same runs, in the same order
    if rows.size == 0:
        return None
    x0, x1, y0, y1 = j0 - 0.5, j1 - 0.5, rows - 0.5, rows + 0.5
    verts = np.stack([np.stack([x0, y0], 1), np.stack([x1, y0], 1), np.stack([x1, y1], 1),
                      np.stack([x0, y1], 1), np.stack([x0, y0], 1)], axis=1)  # (runs, 5, 2)
    codes = np.tile([MplPath.MOVETO, MplPath.LINETO, MplPath.LINETO, MplPath.LINETO, MplPath.CLOSEPOLY], rows.size)
    return MplPath(verts.reshape(-1, 2), codes)


def _boundary(mask: np.ndarray) -> np.ndarray:
    """Segments (n, 2, 2) in index coordinates along the cell edges between True and False cells of `mask`."""
    i, j = np.nonzero(mask[:, 1:] != mask[:, :-1])  # between columns j and j + 1
    vertical = np.stack([np.stack([j + 0.5, i - 0.5], 1), np.stack([j + 0.5, i + 0.5], 1)], axis=1)
    i, j = np.nonzero(mask[1:, :] != mask[:-1, :])  # between rows i and i + 1
    horizontal = np.stack([np.stack([j - 0.5, i + 0.5], 1), np.stack([j + 0.5, i + 0.5], 1)], axis=1)
    return np.concatenate([vertical, horizontal]).astype(np.float64)


def sweep_heatmap(x_values: np.ndarray, y_values: np.ndarray, final_loss: np.ndarray, diverged: np.ndarray,
                  x_key: str, y_key: str, out, *, title: str = "", unsettled: np.ndarray | None = None,
                  theory: list[tuple[np.ndarray, np.ndarray, str]] = ()) -> Path:
    """Best final loss over a grid of two swept keys: diverged cells hatched grey, cells whose members did not
    settle dotted amber, the best cell starred, the stability theory's edge dashed.

    x_values (nx,), y_values (ny,): sorted distinct values; final_loss (ny, nx), nan where missing; diverged and
    unsettled (ny, nx) bool; theory: (x values, y values, label) curves.
    """
    xv = np.asarray(x_values, dtype=np.float64).reshape(-1)
    yv = np.asarray(y_values, dtype=np.float64).reshape(-1)
    z = np.asarray(final_loss, dtype=np.float64)
    dv = np.asarray(diverged, dtype=bool)
    rising = np.zeros_like(dv) if unsettled is None else np.asarray(unsettled, dtype=bool) & ~dv
    if z.shape != (yv.size, xv.size) or dv.shape != z.shape or rising.shape != z.shape:
        raise ValueError(f"final_loss {z.shape}, diverged {dv.shape} and unsettled {rising.shape} must all be "
                         f"(ny, nx) = {(yv.size, xv.size)}")
    ok = np.isfinite(z) & ~dv

    lines = int(ok.any()) + int(dv.any()) + int(rising.any()) + int((~ok & ~dv).any()) + len(theory)
    fig, (ax, cax) = _layout(lines)
    handles = []
    if ok.any():
        norm, capped = loss_norm(z[ok])
        mesh = ax.pcolormesh(np.arange(xv.size + 1) - 0.5, np.arange(yv.size + 1) - 0.5,
                             np.ma.masked_array(z, ~ok), cmap="viridis", norm=norm, shading="flat", zorder=1)
        bar = fig.colorbar(mesh, cax=cax, extend="max" if capped else "neither")
        bar.set_label("final loss")
        i, j = np.unravel_index(np.argmin(np.where(ok, z, np.inf)), z.shape)
        handles.append(ax.plot([j], [i], linestyle="none", zorder=6, **STAR,
                               label=f"lowest {z[i, j]:.3g} at {x_key} = {xv[j]:.3g}, {y_key} = {yv[i]:.3g}")[0])
    else:
        cax.set_visible(False)
        ax.text(0.5, 0.5, "every member diverged" if dv.all() else "no finite final loss", transform=ax.transAxes,
                ha="center", va="center", fontsize=12, zorder=6,
                bbox=dict(boxstyle="round", facecolor="white", edgecolor="0.5"))
    region = _run_rectangles(dv)
    if region is not None:
        ax.add_patch(PathPatch(region, zorder=2, **_DIVERGED_CELL))
        ax.add_collection(LineCollection(_boundary(dv), colors=DIVERGED_RED, linewidths=1.4, zorder=3))
        handles.append(Patch(label=f"diverged: non-finite ({int(dv.sum()):,} cells)", **_DIVERGED_CELL))
    region = _run_rectangles(rising)
    if region is not None:
        ax.add_patch(PathPatch(region, zorder=2, **_UNSETTLED_CELL))
        handles.append(Patch(label=f"not settled: ended above the start ({int(rising.sum()):,} cells)",
                             **_UNSETTLED_CELL))
    if (~ok & ~dv).any():
        handles.append(Patch(facecolor="white", edgecolor="0.5", label="no result"))
    for xs, ys, label in theory:
        px, py = value_to_index(xs, xv), value_to_index(ys, yv)
        if np.isfinite(px + py).sum() >= 2:
            ax.plot(px, py, **THEORY)
            handles.append(Line2D([], [], label=label, **THEORY))

    ax.set_xlim(-0.5, xv.size - 0.5)
    ax.set_ylim(-0.5, yv.size - 0.5)
    for axis, values in ((ax.xaxis, xv), (ax.yaxis, yv)):
        ticks = tick_positions(values.size)
        axis.set_ticks(ticks, [f"{values[t]:.3g}" for t in ticks])
    ax.set_xlabel(axis_label(x_key))
    ax.set_ylabel(axis_label(y_key))
    if title:
        ax.set_title(title)
    if handles:
        fig.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.02, 0.0), ncols=1, frameon=False)
    return save(fig, out)


def _layout(lines: int):
    """The heat map's axes and, beside it, the colour bar's; room below for a legend of `lines` lines."""
    fig, (ax,) = figure(axes=(5.0, 3.6), right=0.9, bottom=0.2 * lines + 0.15)
    pos = ax.get_position()
    cax = fig.add_axes((pos.x1 + 0.15 / fig.get_figwidth(), pos.y0, 0.16 / fig.get_figwidth(), pos.height))
    return fig, (ax, cax)
