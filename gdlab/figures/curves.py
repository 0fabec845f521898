"""Loss curves: one or more members' metric against steps or epochs, with smoothing and robust limits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, NullFormatter

from ..errors import GdlabError
from ..outputs.series import Series
from .style import AXIS_LABELS, DPI, FIGSIZE, colour, legend, member_label, save


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


def wants_log(curves: list[np.ndarray], y: str) -> bool:
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
    log = wants_log(shown, y) if logy is None else bool(logy)
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
            ax.plot(xs, tame(raw, ylim, log), color=colour(i), alpha=0.25, linewidth=0.8, zorder=2,
                    in_layout=False)
        dots = dict(marker="o", markersize=3.5) if sparse and len(ys) <= 60 else {}  # show where evaluations are
        ax.plot(xs, tame(ys, ylim, log), color=colour(i), linewidth=width, label=member_label(s), zorder=3,
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
    legend(fig, ax, inside=True)
    return save(fig, out, tight=False)


def _noisy(ys: np.ndarray) -> bool:
    """A long curve that turns up or down at more than a third of its points (mini-batch losses)."""
    turns = np.diff(np.sign(np.diff(ys))) != 0
    return ys.size >= 100 and turns.mean() > 1 / 3


def tame(ys: np.ndarray, ylim: tuple[float, float], log: bool) -> np.ndarray:
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


# ---------------------------------------------------------------------------------------------- other figures
# Paths over a loss surface (`trajectories`, `small_multiples`) live in gdlab/path_plots.py; the final loss against
# a swept value and the two-key heat map in gdlab/sweep_plots.py. Both build on the helpers above (colour,
# value_limits, _tame, _legend, _save).
