"""Paths too close to tell apart on a contour plot, and how far apart they really are.

When the members of a compare follow nearly the same path (the textbook variants of one optimizer differ by 1e-7),
the overlay draws one line. This figure puts the paths beside each member's distance from the first member's path
at every step, on a log scale, where a gap of 1e-7 is as visible as one of 1. Drawn by figures.standard for a
compare whose paths all stay within `CLOSE` of the first one; self-contained apart from the shared style.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.ticker import MaxNLocator

from ..outputs.series import Series
from ..problems.landscape import Landscape
from .style import START, STAR, colour, figure, legend_inside, save

CLOSE = 0.01  # paths within this fraction of the landscape window's smaller side look like one line


def _paths(series: list[Series]) -> list[np.ndarray] | None:
    """The members' paths when all are there, finite and of one length (else None)."""
    paths = [s.path for s in series]
    if any(p is None for p in paths) or len({p.shape for p in paths}) != 1 or len(paths[0]) < 2:
        return None
    return paths if all(np.isfinite(p).all() for p in paths) else None


def distances(series: list[Series]) -> np.ndarray:
    """(R − 1, steps + 1) Euclidean distance of members 1.. from member 0's path at every step."""
    paths = _paths(series)
    if paths is None:
        raise ValueError("distances need finite paths of one length for every member")
    return np.stack([np.linalg.norm(p - paths[0], axis=1) for p in paths[1:]])


def paths_overlap(series: list[Series], landscape: Landscape | None) -> bool:
    """True for two or more complete 2-parameter paths that all stay within CLOSE of the first member's."""
    if landscape is None or landscape.dim != 2 or len(series) < 2 or _paths(series) is None:
        return False
    if series[0].path.shape[1] != 2:
        return False
    scale = min(hi - lo for lo, hi in landscape.window)
    return bool(distances(series).max() < CLOSE * scale)


def path_distance(series: list[Series], landscape: Landscape, out, *, title: str = "") -> Path:
    """Left: the paths over the contours (they overlap). Right: each member's distance from the first member's
    path against the step, log scale (steps where the paths coincide exactly are left out)."""
    paths, gaps = _paths(series), distances(series)
    fig, (left, right) = figure(axes=(4.2, 3.2), grid=(1, 2), hgap=1.1, top=0.3)
    _draw_paths(left, series, paths, landscape)
    steps = np.arange(gaps.shape[1])
    for i, gap in enumerate(gaps, start=1):
        shown = np.where(gap > 0, gap, np.nan)  # a log axis has no 0: exact agreement is a gap in the line
        label = f"{series[i].label} − {series[0].label}"
        if not np.isfinite(shown).any():
            label += " (identical)"
        right.plot(steps, shown, color=colour(i), linewidth=1.6, marker="o", markersize=3,
                   markevery=max(1, len(steps) // 60), label=label)
    right.set_yscale("log")  # matplotlib's own labels: a gap within one decade still gets labelled ticks
    right.xaxis.set_major_locator(MaxNLocator(integer=True))
    right.set_xlabel("step")
    right.set_ylabel(f"distance from {series[0].label}'s path")
    right.grid(True, which="major", alpha=0.3)
    legend_inside(right, "lower right")
    right.set_title("how far apart the paths are")
    fig.suptitle(title or landscape.title, x=0.02, ha="left")
    return save(fig, out)


def _draw_paths(ax, series: list[Series], paths: list[np.ndarray], landscape: Landscape) -> None:
    (x0, x1), (y0, y1) = landscape.window
    pts = np.concatenate(paths + ([landscape.minimiser[None, :]] if landscape.minimiser is not None else []))
    x0, x1 = min(x0, pts[:, 0].min()), max(x1, pts[:, 0].max())
    y0, y1 = min(y0, pts[:, 1].min()), max(y1, pts[:, 1].max())
    xx, yy = np.meshgrid(np.linspace(x0, x1, 160), np.linspace(y0, y1, 160))
    with np.errstate(all="ignore"):
        zz = np.asarray(landscape.f(np.column_stack([xx.ravel(), yy.ravel()])), dtype=float).reshape(xx.shape)
    floor = np.nanmin(zz)
    if np.isfinite(zz).all() and np.nanmax(zz) > floor:
        levels = floor + np.geomspace(max((np.nanmax(zz) - floor) * 1e-3, 1e-12), np.nanmax(zz) - floor, 10)
        ax.contour(xx, yy, zz, levels=levels, colors="0.6", linewidths=0.7, zorder=1)
    for i, (s, p) in enumerate(zip(series, paths)):
        # later members drawn thinner on top, so that lines lying on each other all stay visible
        ax.plot(p[:, 0], p[:, 1], color=colour(i), linewidth=3.2 - 1.0 * min(i, 2), marker="o",
                markersize=4 - min(i, 2), label=s.label, zorder=3 + i)
    ax.plot(*paths[0][0], linestyle="none", zorder=10, label="start", **START)
    if landscape.minimiser is not None:
        ax.plot(*landscape.minimiser[:2], linestyle="none", zorder=10, label="minimum", **STAR)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel(landscape.labels[0])
    ax.set_ylabel(landscape.labels[1] if len(landscape.labels) > 1 else "x2")
    legend_inside(ax, "upper right")
    ax.set_title("paths (on top of each other)")
