"""Figures of repetitions: a member run with several seeds drawn as its median and spread, not one lucky seed.

- `band_curves`: per member, the median curve over its seeds with a shaded 25–75 % band; each seed as a thin line
  when there are at most five, else thin lines for the minimum and maximum.
- `seed_paths`: per member, every seed's path faintly over the loss surface and the median path on top.

Each member is a list of Series (one per seed, same logged steps). After a seed diverges its loss counts as
infinitely large (it left), so the median itself leaves the axes once most seeds have diverged.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.ticker import MaxNLocator

from ..outputs.aggregate import nan_quantiles
from ..outputs.series import Series
from ..problems.landscape import Landscape
from .curves import tame, value_limits, wants_log
from .paths import _evaluate, _landscape_axes, _surface, contour_resolution, finite_path, plot_area, view_window
from .style import AXIS_LABELS, colour, figure, legend_beside, legend_width, log_ticks, save

EACH_SEED_UP_TO = 5  # at most this many seeds: a thin line per seed; more: thin lines for min and max


def seed_matrix(seeds: list[Series], x: str, y: str) -> tuple[np.ndarray, np.ndarray]:
    """(xs (n,), values (S, n)): every seed's `y` on the union of their `x` values; nan where a seed did not log
    it, +inf after a seed diverged (for losses; accuracies stay nan there)."""
    cols = []
    for s in seeds:
        xs = s.step.astype(float) if x == "step" else s.columns.get(x, np.full(len(s.step), np.nan))
        ys = s.loss if y == "loss" else s.columns.get(y, np.full(len(s.step), np.nan))
        cols.append((xs, ys, s))
    # only where some seed has a value: whole-data metrics are logged every eval_every steps, nan in between
    grid = np.unique(np.concatenate([xs[np.isfinite(xs) & np.isfinite(ys)] for xs, ys, _ in cols] or [np.zeros(0)]))
    values = np.full((len(seeds), len(grid)), np.nan)
    for k, (xs, ys, s) in enumerate(cols):
        ok = np.isfinite(xs) & np.isfinite(ys)
        values[k, np.searchsorted(grid, xs[ok])] = ys[ok]
        if s.status == "diverged" and "accuracy" not in y and ok.any():
            values[k, grid > xs[ok].max()] = np.inf  # the seed logs nothing after it froze
    return grid, values


def band(values: np.ndarray) -> dict[str, np.ndarray]:
    """Median, quartiles, min and max over the seeds axis of values (S, n); columns with no value are nan."""
    names = ("q25", "median", "q75", "min", "max")
    return dict(zip(names, nan_quantiles(values, [0.25, 0.5, 0.75, 0.0, 1.0], axis=0)))


def band_curves(members: list[tuple[str, list[Series]]], out, *, x: str = "step", y: str = "loss",
                logy: bool | None = None, title: str = "") -> Path:
    """Per member (label, its seeds): the median of `y` against `x` with the 25–75 % band shaded."""
    data = [(label, *seed_matrix(seeds, x, y), seeds) for label, seeds in members]
    bands = [band(v) for _, _, v, _ in data]
    finite = [np.concatenate([b["q25"], b["median"], b["q75"]]) for b in bands]
    log = wants_log([f[np.isfinite(f)] for f in finite], y) if logy is None else bool(logy)
    ylim = value_limits([f[np.isfinite(f)] for f in finite], [False] * len(finite), log)

    labels = [f"{label} (9/9 diverged)" for label, _ in members]  # the longest a label gets
    fig, (ax,) = figure(right=legend_width(labels) + 0.2, top=0.2)  # the fixed layout of figures.style
    ax.set_yscale("log" if log else "linear")
    if log:
        log_ticks(ax.yaxis, *ylim)
    ax.set_ylim(*ylim)
    ax.set_autoscaley_on(False)
    n_seeds = max((len(seeds) for _, seeds in members), default=0)
    for i, ((label, xs, values, seeds), b) in enumerate(zip(data, bands)):
        c = colour(i)
        lo, hi = (tame(b[k], ylim, log) for k in ("q25", "q75"))
        ax.fill_between(xs, lo, hi, color=c, alpha=0.22, linewidth=0, zorder=2)
        if len(seeds) <= EACH_SEED_UP_TO:
            for row in values:
                ax.plot(xs, tame(row, ylim, log), color=c, linewidth=0.6, alpha=0.45, zorder=2)
        else:
            for k in ("min", "max"):
                ax.plot(xs, tame(b[k], ylim, log), color=c, linewidth=0.6, alpha=0.6, linestyle="--", zorder=2)
        gone = sum(s.status == "diverged" for s in seeds)
        shown = f"{label} ({gone}/{len(seeds)} diverged)" if gone else label
        ax.plot(xs, tame(b["median"], ylim, log), color=c, linewidth=1.8, label=shown, zorder=3)
    if x == "step":
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(AXIS_LABELS.get(x, x.replace("_", " ")))
    ax.set_ylabel(AXIS_LABELS.get(y, y.replace("_", " ")))
    ax.grid(True, which="major", alpha=0.3)
    spread = "each seed" if n_seeds <= EACH_SEED_UP_TO else "min and max dashed"
    ax.set_title(f"{title + chr(10) if title else ''}median over {n_seeds} seeds, 25–75 % shaded, {spread}",
                 fontsize=10)
    legend_beside(ax)
    return save(fig, out)


def median_path(seeds: list[Series]) -> np.ndarray:
    """The coordinate-wise median over seeds of their paths (n, D), row k = the k-th recorded point; a seed's
    path after it went non-finite does not count."""
    paths = [finite_path(s) for s in seeds if s.path is not None]
    if not paths:
        return np.empty((0, 0))
    n, d = max(len(p) for p in paths), paths[0].shape[1]
    stack = np.full((len(paths), n, d), np.nan)
    for k, p in enumerate(paths):
        stack[k, :len(p)] = p
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-nan rows at the end of short paths
            med = np.nanmedian(stack, axis=0)
    return med[np.isfinite(med).all(axis=1)]


def seed_paths(members: list[tuple[str, list[Series]]], landscape: Landscape, out, *, title: str = "") -> Path:
    """Every seed's path faintly and each member's median path on top, over the loss surface."""
    medians = [Series(f"{label} (median path)", np.arange(len(m)), np.zeros(len(m)), path=m)
               for label, seeds in members for m in [median_path(seeds)]]
    every = [s for _, seeds in members for s in seeds]
    view = view_window(every + medians, landscape)
    area = plot_area(view)
    fig, (ax,) = figure(axes=area, right=legend_width([m.label for m in medians] + ["minimum"]) + 0.2, top=0.2)
    _landscape_axes(ax, landscape, view, [(i, m) for i, m in enumerate(medians) if len(m.path)],
                    surface=_surface(landscape, view, contour_resolution(area)))
    for i, (_, seeds) in enumerate(members):
        for s in seeds:
            p = finite_path(s)
            if p.size == 0:
                continue
            xy = np.column_stack([p[:, 0], _evaluate(landscape, p)]) if landscape.dim == 1 else p
            ax.plot(xy[:, 0], xy[:, 1], color=colour(i), linewidth=0.7, alpha=0.3, zorder=2)
    n = max(len(seeds) for _, seeds in members)
    ax.set_title(f"{title or landscape.title}\n{n} seeds each, median path bold", fontsize=10)
    legend_beside(ax)
    return save(fig, out)
