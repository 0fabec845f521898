"""Figures of paths over a loss surface: one overlay of every member (`trajectories`) and a grid of small
multiples (`small_multiples`, DLFS's 2x2 figure), for problems of one or two parameters.

Imported lazily (matplotlib); the shared style (colours, legend placement, saving) is in figures.style.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from ..outputs.series import Series
from ..problems.landscape import Landscape
from .style import (
    AXES,
    DPI,
    MARGINS,
    REACH,
    STAR,
    START,
    colour,
    figure,
    legend_beside,
    legend_width,
    member_label,
    save,
)


def _leading_finite(a: np.ndarray) -> np.ndarray:
    """The rows of `a` before its first row holding a nan or inf."""
    bad = np.flatnonzero(~np.isfinite(a).all(axis=1))
    return a[: bad[0]] if bad.size else a


def finite_path(s: Series) -> np.ndarray:
    """The path up to (excluding) its first non-finite row; (0, 0) when there is no path."""
    return np.empty((0, 0)) if s.path is None else _leading_finite(s.path)


def view_window(series: list[Series], landscape: Landscape, *, reach: float = REACH,
                margin: float = 0.05) -> np.ndarray:
    """The (D, 2) axis limits for a landscape plot.

    The landscape's window, widened to take in the minimiser and path points that lie within `reach` window
    widths of it, plus a small margin. Points further out (a diverging run) never widen it: they are drawn
    leaving the view instead, so one wild member cannot shrink the picture of all the others.
    """
    win = np.array(landscape.window, dtype=np.float64)  # (D, 2)
    width = win[:, 1] - win[:, 0]
    cap_lo, cap_hi = win[:, 0] - reach * width, win[:, 1] + reach * width
    pts = [finite_path(s) for s in series if s.path is not None and s.path.shape[1] == len(win)]
    if landscape.minimiser is not None:
        pts.append(landscape.minimiser[None, :])
    lo, hi = win[:, 0].copy(), win[:, 1].copy()
    for p in pts:
        near = p[((p >= cap_lo) & (p <= cap_hi)).all(axis=1)]
        if near.size:
            lo, hi = np.minimum(lo, near.min(axis=0)), np.maximum(hi, near.max(axis=0))
    pad = margin * (hi - lo)
    return np.stack([lo - pad, hi + pad], axis=1)


def _clip_to_view(p: np.ndarray, view: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Split a path into the part to draw (its first k iterates) and, if it leaves the view for good after the
    k-th, the point where it crosses the edge.

    Excursions that come back are kept (the axes clip them); after the last visible iterate only the segment up
    to the view's edge is kept, ending at the returned exit point.
    """
    inside = ((p >= view[:, 0]) & (p <= view[:, 1])).all(axis=1)
    if not inside.any() or inside[-1]:
        return p, None
    last = np.flatnonzero(inside)[-1]
    a, b = p[last], p[last + 1]
    edge = np.where(b > view[:, 1], view[:, 1], np.where(b < view[:, 0], view[:, 0], np.nan))  # nan: not crossed
    with np.errstate(all="ignore"):  # b may be ~1e300 away
        t = (edge - a) / (b - a)
    return p[: last + 1], a + np.nanmin(t) * (b - a)


def _iterate_style(m: int) -> dict:
    """Dots at every iterate for short paths; smaller and fewer (about 60) for long ones."""
    return dict(marker="o", markersize=4 if m <= 40 else 2.5, markevery=max(1, m // 60))


def _evaluate(landscape: Landscape, points: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):  # far corners of a window may overflow; they are masked below
        z = np.asarray(landscape.f(points), dtype=np.float64).reshape(-1)
    return np.where(np.isfinite(z), z, np.nan)


def contour_levels(z: np.ndarray, min_value: float | None = None, n: int = 12) -> np.ndarray:
    """Levels spaced geometrically above the minimum, so a narrow valley and a flat floor both show."""
    finite = z[np.isfinite(z)]
    floor = min(finite.min(), min_value) if min_value is not None else finite.min()
    gap = finite - floor
    top = np.quantile(gap, 0.9)  # the far corners of Rosenbrock would take every level otherwise
    bottom = max(np.quantile(gap, 0.005), top * 1e-3)
    if not top > bottom > 0:  # a (nearly) flat field: plain linear levels
        return np.linspace(finite.min(), finite.max(), n)
    return floor + np.geomspace(bottom, top, n)


def _surface(landscape: Landscape, view: np.ndarray, res: int) -> tuple | None:
    """The 2-D field (xx, yy, zz, levels) on a res × res grid over the view (None for 1-D or a flat field)."""
    if landscape.dim != 2:
        return None
    xx, yy = np.meshgrid(np.linspace(*view[0], res), np.linspace(*view[1], res))
    zz = _evaluate(landscape, np.column_stack([xx.ravel(), yy.ravel()])).reshape(xx.shape)
    if np.isfinite(zz).sum() < 4 or np.nanmax(zz) == np.nanmin(zz):
        return None  # nothing to draw (and matplotlib would warn about a flat field)
    return xx, yy, zz, contour_levels(zz, landscape.min_value)


def _draw_surface_2d(ax, surface: tuple | None) -> None:
    if surface is None:
        return
    xx, yy, zz, levels = surface
    # the light fill makes the valley readable, the grey lines give the level sets
    ax.contourf(xx, yy, zz, levels=levels, cmap="Blues_r", alpha=0.25, zorder=0, extend="both")
    ax.contour(xx, yy, zz, levels=levels, colors="0.45", linewidths=0.7, zorder=1)


def _path_label(s: Series, p: np.ndarray, exit_point: np.ndarray | None) -> str:
    # iterate k is step k of the trajectory (row 0 = the start), so the first iterate outside is step len(p)
    return member_label(s) + (f", leaves the view at step {len(p)}" if exit_point is not None else "")


def _draw_path(ax, s: Series, xy: np.ndarray, color: str, box: np.ndarray, labels: bool, one_d: bool) -> None:
    """A path of points `xy` (k, 2) in plot coordinates (x1, x2), or (x, f(x)) for a 1D problem."""
    p, exit_point = _clip_to_view(_leading_finite(xy), box)
    if p.shape[0] == 0:
        return
    label = _path_label(s, p, exit_point) if labels else None
    style = _iterate_style(len(p))
    if one_d:  # dots on the curve, joined by thin links so the order of the jumps shows
        ax.plot(p[:, 0], p[:, 1], color=color, linewidth=0.8, alpha=0.8, zorder=3)
        ax.plot(p[:, 0], p[:, 1], color=color, linestyle="none", label=label, zorder=4,
                **{**style, "markersize": 6 if len(p) <= 40 else 3})
    else:
        ax.plot(p[:, 0], p[:, 1], color=color, linewidth=1.6, label=label, zorder=3, **style)
    if exit_point is not None:  # an arrow to the edge where the path leaves the view
        arrow = dict(arrowstyle="-|>", color=color, lw=1.6, shrinkA=0, shrinkB=0, mutation_scale=14)
        ax.annotate("", xy=exit_point, xytext=p[-1], zorder=4, arrowprops=arrow)
    elif s.status == "diverged" and len(p) < len(s.path):  # went non-finite from inside the view
        ax.plot(*p[-1], linestyle="none", marker="X", markersize=10, color=color, markeredgecolor="black",
                markeredgewidth=0.6, zorder=4)


def _draw_surface_1d(ax, landscape: Landscape, view: np.ndarray, res: int = 400) -> np.ndarray:
    """Draw f over the window; return the (2, 2) box (x limits, f limits) the paths are clipped to."""
    gx = np.linspace(*view[0], res)
    fx = _evaluate(landscape, gx[:, None])
    ax.plot(gx, fx, color="0.35", linewidth=1.4, zorder=1)
    lo, hi = (np.nanmin(fx), np.nanmax(fx)) if np.isfinite(fx).any() else (0.0, 1.0)
    pad = 0.05 * max(hi - lo, 1e-12)
    return np.array([view[0], (lo - pad, hi + pad)])


def _landscape_axes(ax, landscape: Landscape, view: np.ndarray, members: list[tuple[int, Series]],
                    labels: bool = True, surface: tuple | None = None) -> None:
    """One panel: the surface, the members' paths on top, the start and the minimiser."""
    one_d = landscape.dim == 1
    if one_d:
        box = _draw_surface_1d(ax, landscape, view)
    else:
        _draw_surface_2d(ax, surface)
        box = view
    starts = []
    for i, s in members:
        if s.path is None or s.path.shape[1] != landscape.dim:
            continue
        p = finite_path(s)
        xy = np.column_stack([p[:, 0], _evaluate(landscape, p)]) if one_d else p
        _draw_path(ax, s, xy, colour(i), box, labels, one_d)
        if np.isfinite(s.path[0]).all():
            starts.append(s.path[0])
    for k, x0 in enumerate(np.unique(np.array(starts), axis=0) if starts else []):
        xy = (x0[0], _evaluate(landscape, x0[None, :])[0]) if one_d else tuple(x0)
        ax.plot(*xy, linestyle="none", zorder=5, label="start" if labels and k == 0 else None, **START)
    if landscape.minimiser is not None:
        m = landscape.minimiser
        xy = (m[0], _evaluate(landscape, m[None, :])[0]) if one_d else (m[0], m[1])
        ax.plot(*xy, linestyle="none", zorder=5, label="minimum" if labels else None, **STAR)
    ax.set_xlim(*box[0])
    ax.set_ylim(*box[1])
    if one_d:
        ax.set_ylabel(f"f({landscape.labels[0]})")
    else:  # the plotting area has the view's shape already (plot_area): equal scales without a layout pass
        ax.set_ylabel(landscape.labels[1] if len(landscape.labels) > 1 else "x2")
    ax.set_xlabel(landscape.labels[0])


def _equal_aspect(view: np.ndarray) -> bool:
    """Equal scales show the true shape of a bowl, unless the window is so elongated the axes would squash."""
    ratio = (view[0, 1] - view[0, 0]) / (view[1, 1] - view[1, 0])
    return 1 / 3 <= ratio <= 3


def plot_area(view: np.ndarray, box: tuple[float, float] = AXES) -> tuple[float, float]:
    """Inches of plotting area for a landscape: the window's own shape when drawn to scale (equal units on both
    axes, so a bowl looks like a bowl and no band of the figure is empty), else the whole `box`."""
    max_w, max_h = box
    if view.shape[0] == 1 or not _equal_aspect(view):
        return max_w, max_h
    shape = (view[1, 1] - view[1, 0]) / (view[0, 1] - view[0, 0])  # height / width
    w = min(max_w, max_h / shape)
    return w, w * shape


def contour_resolution(area: tuple[float, float]) -> int:
    """Grid points per side of the contour field: about one per 5 output pixels (smooth lines, no waste)."""
    return int(np.clip(max(area) * DPI / 5, 60, 200))


def trajectories(series: list[Series], landscape: Landscape, out, *, title: str = "") -> Path:
    """All members' paths over one picture of the landscape (contours in 2D, the curve in 1D), legend beside."""
    view = view_window(series, landscape)
    area = plot_area(view)
    labels = [_path_label(s, *_clip_to_view(finite_path(s), view)) for s in series if s.path is not None] + \
        ["start", "minimum"]
    fig, (ax,) = figure(axes=area, right=legend_width(labels) + 0.2)
    surface = _surface(landscape, view, contour_resolution(area))
    _landscape_axes(ax, landscape, view, list(enumerate(series)), surface=surface)
    ax.set_title(title or landscape.title)
    legend_beside(ax)
    return save(fig, out)


def small_multiples(series: list[Series], landscape: Landscape, out, *, title: str = "", ncols: int = 2) -> Path:
    """One panel per member on a shared window (the DLFS 2×2 grid of optimizer paths)."""
    view = view_window(series, landscape)
    ncols = max(1, min(ncols, len(series)))
    nrows = max(1, -(-len(series) // ncols))
    area = plot_area(view, (3.6, 2.6))
    fig, axes = figure(axes=area, grid=(nrows, ncols), bottom=0.3, top=0.25, hgap=0.7, vgap=0.55)
    surface = _surface(landscape, view, contour_resolution(area))  # one field for every panel
    for k, ax in enumerate(axes):
        if k >= len(series):
            ax.set_visible(False)
            continue
        _landscape_axes(ax, landscape, view, [(k, series[k])], labels=False, surface=surface)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=4))  # few ticks: each tick object costs as much as a path
        ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
        ax.set_title(member_label(series[k]), fontsize=10, color=colour(k))
        if k + ncols < len(series):
            ax.set_xlabel("")  # shared x: label the bottom panel of each column only
            ax.tick_params(labelbottom=False)
        if k % ncols and landscape.dim == 2:
            ax.set_ylabel("")
            ax.tick_params(labelleft=False)
    fig.suptitle(title or landscape.title, x=MARGINS["left"] / fig.get_figwidth(), ha="left", fontsize=11)
    fig.legend(handles=[Line2D([], [], linestyle="none", label="start", **START),
                        Line2D([], [], linestyle="none", label="minimum", **STAR)],
               loc="lower center", ncols=2, frameon=False)
    return save(fig, out)
