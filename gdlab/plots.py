"""Figures: loss curves, trajectories over a loss surface, small multiples.

The only module in gdlab that imports matplotlib; import it lazily. Every public function draws one figure,
writes it as a PNG to `out` and returns the path. Figures are built as bare `Figure` objects (no pyplot), so
nothing is left open in a global figure registry and nothing is ever shown.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

# Agg for the command line; a notebook that already has pyplot (and its own backend) is left alone.
if "matplotlib.pyplot" not in sys.modules:
    matplotlib.use("Agg")

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator, NullFormatter

from .errors import GdlabError
from .series import Landscape, Series

# Colour i belongs to member i in every figure (tab10, a qualitative palette that survives projectors).
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
           "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
FIGSIZE = (7.0, 4.5)  # inches: readable on a lecture slide
DPI = 150
REACH = 0.5  # a path may widen the view by at most this fraction of the window on each side
AXIS_LABELS = {
    "step": "step", "epoch": "epoch", "wall_time": "wall time (s)", "loss": "loss",
    "val_loss": "validation loss", "val_accuracy": "validation accuracy", "train_loss": "training loss",
    "batch_loss": "mini-batch loss", "grad_norm": "gradient norm", "lr": "learning rate",
}
_START = dict(marker="o", markersize=8, markerfacecolor="white", markeredgecolor="black", markeredgewidth=1.5)
_STAR = dict(marker="*", markersize=15, markerfacecolor="gold", markeredgecolor="black", markeredgewidth=0.8)


def colour(i: int) -> str:
    """The colour of member i (the palette repeats after ten members)."""
    return PALETTE[i % len(PALETTE)]


def member_label(s: Series) -> str:
    """The legend label, with the member's fate when it did not complete."""
    if s.status == "diverged":
        return f"{s.label} (diverged" + (f" at step {s.diverged_at})" if s.diverged_at is not None else ")")
    return f"{s.label} (interrupted)" if s.status == "interrupted" else s.label


def _legend(fig: Figure, ax, *, inside: bool, below: bool = False) -> None:
    """Inside the axes ('best') for a few short entries when allowed; otherwise outside: at the right while the
    labels are short enough to leave the axes most of the width, below when they are not or when `below`
    (a wide, short axes would leave a legend at its side taller than itself)."""
    handles, labels = ax.get_legend_handles_labels()
    if not labels:
        return
    longest = max(map(len, labels))
    if inside and len(labels) <= 6 and longest <= 40:
        ax.legend(loc="best", fontsize=9, framealpha=0.9)
    elif longest <= 42 and not below:
        # anchored to the axes, not the figure: an equal-aspect axes narrower than the figure keeps its legend
        # beside it instead of across a band of empty space
        ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize=9,
                  frameon=False)
    else:
        fig.legend(handles, labels, loc="outside lower center", ncols=2 if longest <= 50 else 1, fontsize=9,
                   frameon=False)


def _save(fig: Figure, out, *, tight: bool = True) -> Path:
    """Write `fig` as a PNG. tight: crop to the drawn box (fixed-aspect axes leave bands of empty figure, and
    constrained layout can push a label past the edge of a figure with an equal-aspect axes and an outside
    legend); it costs a second rendering, which figures laid out by constrained layout alone do without."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if tight:
        fig.savefig(out, dpi=DPI, bbox_inches="tight", pad_inches=0.08)
    else:
        fig.savefig(out, dpi=DPI)
    fig.clear()  # no pyplot registry to close from; drop the artists now rather than at garbage collection
    return out


# ---------------------------------------------------------------------------------------------- loss curves

def moving_average(y: np.ndarray, window: int) -> np.ndarray:
    """Centred moving average over `window` points that skips nan and shrinks at the ends (no lag, no edge dip)."""
    y = np.asarray(y, dtype=np.float64)
    if window <= 1 or y.size == 0:
        return y.copy()
    ok = np.isfinite(y)
    csum = np.concatenate([[0.0], np.cumsum(np.where(ok, y, 0.0))])
    ccount = np.concatenate([[0], np.cumsum(ok)])
    i = np.arange(y.size)
    lo, hi = np.clip(i - window // 2, 0, y.size), np.clip(i + (window + 1) // 2, 0, y.size)
    count = ccount[hi] - ccount[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (csum[hi] - csum[lo]) / count
    return np.where(ok, out, np.nan)  # keep gaps where the raw curve has them


def _column(s: Series, name: str) -> np.ndarray:
    if name == "step":
        return s.step.astype(np.float64)
    if name == "loss":
        return s.loss
    if name not in s.columns:
        have = ", ".join(["step", "loss", *s.columns])
        raise GdlabError(f"member '{s.label}' has no metric '{name}'; it has: {have}")
    return s.columns[name]


def _curve(s: Series, x: str, y: str) -> tuple[np.ndarray, np.ndarray, bool]:
    """The finite points of `y` against `x` up to the divergence step, and whether the column is sparse.

    Missing values are dropped rather than left as gaps: a validation metric evaluated every 100 steps is nan
    on the 99 rows between, and a line through nan-separated single points would draw nothing.
    """
    xs, ys = _column(s, x), _column(s, y)
    keep = np.isfinite(xs) & np.isfinite(ys)
    sparse = keep.sum() < 0.5 * keep.size
    if s.diverged_at is not None:
        keep &= s.step <= s.diverged_at
    return xs[keep], ys[keep], bool(sparse)


def value_limits(curves: list[np.ndarray], wild: list[bool], log: bool) -> tuple[float, float]:
    """y limits that show every calm curve in full and let `wild` (diverged) ones leave by a bounded amount.

    Without this one overflowing member (loss 1e300 just before inf) would flatten all other curves.
    """
    finite = [c[np.isfinite(c) & ((c > 0) if log else True)] for c in curves]
    every = np.concatenate([c for c in finite if c.size] or [np.array([1.0])])
    calm = [c for c, w in zip(finite, wild) if c.size and not w] or [c[:1] for c in finite if c.size]
    base = np.concatenate(calm or [every])
    if log:
        blo, bhi, lo, hi = np.log10([base.min(), base.max(), every.min(), every.max()])
        hi = min(hi, bhi + 2.0)  # two decades of blow-up tell the story
        span = max(hi - lo, 0.5)
        return 10 ** (lo - 0.05 * span), 10 ** (hi + 0.05 * span)
    blo, bhi, lo, hi = base.min(), base.max(), every.min(), every.max()
    reach = max(bhi - blo, abs(bhi) * 0.1, 1e-12)
    lo, hi = max(lo, blo - 0.5 * reach), min(hi, bhi + 0.5 * reach)
    pad = 0.05 * max(hi - lo, 1e-12)
    return lo - pad, hi + pad


def _wants_log(curves: list[np.ndarray], y: str) -> bool:
    if "accuracy" in y:
        return False
    values = np.concatenate([c[np.isfinite(c)] for c in curves] or [np.array([])])
    if values.size == 0 or values.min() <= 0:
        return False
    return bool(np.log10(values.max() / values.min()) > 1.5)


def loss_curves(series: list[Series], out, *, x: str = "step", y: str = "loss", logy: bool | None = None,
                smooth: int = 0, title: str = "") -> Path:
    """One line per member of metric `y` against `x`; log y axis when the values span > 1.5 decades."""
    curves = [_curve(s, x, y) for s in series]
    shown = [moving_average(ys, smooth) if smooth > 1 else ys for _, ys, _ in curves]
    log = _wants_log(shown, y) if logy is None else bool(logy)
    ylim = value_limits(shown, [s.status == "diverged" for s in series], log)

    fig = Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    ax.set_yscale("log" if log else "linear")
    if log and ylim[1] / ylim[0] > 100:  # decades are labelled; unlabelled minor ticks are cheaper to lay out
        ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_ylim(*ylim)  # fixed before plotting: autoscaling over values near 1e308 overflows
    ax.set_autoscaley_on(False)
    width = 1.0 if any(_noisy(ys) for ys in shown) else 1.8  # thick noisy lines merge into a band
    for i, (s, (xs, raw, sparse), ys) in enumerate(zip(series, curves, shown)):
        if smooth > 1:  # the raw curve stays visible, faint, so smoothing hides nothing
            ax.plot(xs, _tame(raw, ylim, log), color=colour(i), alpha=0.25, linewidth=0.8, zorder=2,
                    in_layout=False)
        dots = dict(marker="o", markersize=3.5) if sparse and len(ys) <= 60 else {}  # show where evaluations are
        ax.plot(xs, _tame(ys, ylim, log), color=colour(i), linewidth=width, label=member_label(s), zorder=3,
                in_layout=False, **dots)  # clipped to the axes: the layout need not measure thousands of points
        if s.status == "diverged":
            _mark_end(ax, xs, ys, colour(i), ylim)
    if x == "step":
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(AXIS_LABELS.get(x, x.replace("_", " ")))
    ax.set_ylabel(AXIS_LABELS.get(y, y.replace("_", " ")) + (" (smoothed)" if smooth > 1 else ""))
    ax.grid(True, which="major", alpha=0.3)
    if title:
        ax.set_title(title)
    _legend(fig, ax, inside=True)
    return _save(fig, out, tight=False)


def _noisy(ys: np.ndarray) -> bool:
    """A long curve that turns up or down at more than a third of its points (mini-batch losses)."""
    turns = np.diff(np.sign(np.diff(ys))) != 0
    return ys.size >= 100 and turns.mean() > 1 / 3


def _tame(ys: np.ndarray, ylim: tuple[float, float], log: bool) -> np.ndarray:
    """Values far beyond the axes pulled in to a thousand axis-heights away (within 1e±300): the visible part of
    each line is unchanged to the eye, and the renderer never sees coordinates near overflow."""
    if log:
        lo, hi = np.log10(ylim)
        reach = 1e3 * (hi - lo)
        with np.errstate(divide="ignore", invalid="ignore"):
            exponent = np.clip(np.log10(ys), max(lo - reach, -300.0), min(hi + reach, 300.0))
            return np.where(ys > 0, 10**exponent, np.nan)
    span = ylim[1] - ylim[0]
    return np.clip(ys, ylim[0] - 1e3 * span, ylim[1] + 1e3 * span)


def _mark_end(ax, xs: np.ndarray, ys: np.ndarray, color: str, ylim: tuple[float, float]) -> None:
    """An × on the last point of a diverged curve; if the curve is off the top by then, the × sits on the top
    edge and a dotted line along the edge leads to it from where the curve left."""
    if ys.size == 0:
        return
    top = ylim[1]
    if ys[-1] > top:
        below = np.flatnonzero(ys <= top)
        left = below[-1] + 1 if below.size else 0  # first point of the final run above the axes
        ax.plot([xs[left], xs[-1]], [top, top], linestyle=":", linewidth=1.8, color=color, zorder=3, clip_on=False)
    ax.plot([xs[-1]], [float(np.clip(ys[-1], *ylim))], linestyle="none", marker="X", markersize=10, color=color,
            markeredgecolor="black", markeredgewidth=0.6, zorder=4, clip_on=False)  # whole even on the edge


# ------------------------------------------------------------------------------------- surfaces and paths

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


def _draw_surface_2d(ax, landscape: Landscape, view: np.ndarray, res: int = 240) -> None:
    xx, yy = np.meshgrid(np.linspace(*view[0], res), np.linspace(*view[1], res))
    zz = _evaluate(landscape, np.column_stack([xx.ravel(), yy.ravel()])).reshape(xx.shape)
    if np.isfinite(zz).sum() < 4 or np.nanmax(zz) == np.nanmin(zz):
        return  # nothing to draw (and matplotlib would warn about a flat field)
    levels = contour_levels(zz, landscape.min_value)
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
                    labels: bool = True) -> None:
    """One panel: the surface, the members' paths on top, the start and the minimiser."""
    one_d = landscape.dim == 1
    if one_d:
        box = _draw_surface_1d(ax, landscape, view)
    else:
        _draw_surface_2d(ax, landscape, view)
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
        ax.plot(*xy, linestyle="none", zorder=5, label="start" if labels and k == 0 else None, **_START)
    if landscape.minimiser is not None:
        m = landscape.minimiser
        xy = (m[0], _evaluate(landscape, m[None, :])[0]) if one_d else (m[0], m[1])
        ax.plot(*xy, linestyle="none", zorder=5, label="minimum" if labels else None, **_STAR)
    ax.set_xlim(*box[0])
    ax.set_ylim(*box[1])
    if one_d:
        ax.set_ylabel(f"f({landscape.labels[0]})")
    else:
        if _equal_aspect(view):
            ax.set_aspect("equal")
        ax.set_ylabel(landscape.labels[1] if len(landscape.labels) > 1 else "x2")
    ax.set_xlabel(landscape.labels[0])


def _equal_aspect(view: np.ndarray) -> bool:
    """Equal scales show the true shape of a bowl, unless the window is so elongated the axes would squash."""
    ratio = (view[0, 1] - view[0, 0]) / (view[1, 1] - view[1, 0])
    return 1 / 3 <= ratio <= 3


def trajectories(series: list[Series], landscape: Landscape, out, *, title: str = "") -> Path:
    """All members' paths over one picture of the landscape (contours in 2D, the curve in 1D)."""
    view = view_window(series, landscape)
    fig = Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    _landscape_axes(ax, landscape, view, list(enumerate(series)))
    ax.set_title(title or landscape.title)
    wide = landscape.dim == 2 and _equal_aspect(view) and np.ptp(view[0]) > 1.4 * np.ptp(view[1])
    _legend(fig, ax, inside=False, below=wide)
    return _save(fig, out)


def _panel_size(view: np.ndarray, max_w: float = 3.6, max_h: float = 2.6) -> tuple[float, float]:
    """Inches of plotting area per panel: the window's own shape when it is drawn to scale, so the grid has no
    empty bands between panels."""
    if view.shape[0] == 1 or not _equal_aspect(view):
        return max_w, max_h
    shape = (view[1, 1] - view[1, 0]) / (view[0, 1] - view[0, 0])  # height / width
    w = min(max_w, max_h / shape)
    return w, w * shape


def small_multiples(series: list[Series], landscape: Landscape, out, *, title: str = "", ncols: int = 2) -> Path:
    """One panel per member on a shared window (the DLFS 2×2 grid of optimizer paths)."""
    view = view_window(series, landscape)
    ncols = max(1, min(ncols, len(series)))
    nrows = max(1, -(-len(series) // ncols))
    w, h = _panel_size(view)
    fig = Figure(figsize=(ncols * (w + 0.7) + 0.2, nrows * (h + 0.75) + 0.9), dpi=DPI, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, sharex=True, sharey=landscape.dim == 2)
    for k, ax in enumerate(axes.flat):
        if k >= len(series):
            ax.set_visible(False)
            continue
        _landscape_axes(ax, landscape, view, [(k, series[k])], labels=False)
        ax.set_title(member_label(series[k]), fontsize=10, color=colour(k))
        if k + ncols < len(series):
            ax.set_xlabel("")  # shared x: label the bottom panel of each column only
        if k % ncols and landscape.dim == 2:
            ax.set_ylabel("")
    if title or landscape.title:
        fig.suptitle(title or landscape.title)
    fig.legend(handles=[Line2D([], [], linestyle="none", label="start", **_START),
                        Line2D([], [], linestyle="none", label="minimum", **_STAR)],
               loc="outside lower center", ncols=2, fontsize=9, frameon=False)
    return _save(fig, out)


# ---------------------------------------------------------------------------------------------- sweep plots
# Final loss against a swept value (`sweep_curve`) and the two-key heat map (`sweep_heatmap`) live in
# gdlab/sweep_plots.py, built on the helpers above (colour, value_limits, _tame, _legend, _save).
