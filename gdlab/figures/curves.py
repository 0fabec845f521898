"""Loss curves: one or more members' metric against steps or epochs, smoothed where noisy, with y limits taken
from the informative tail of the curves (the early transient may leave the axes, and the figure says so).

The drawing is split so that more can be layered on the same axes later (repetition bands: `draw_member` per
curve, `limits` over everything drawn, `finish` for the axes, legend and notes).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.ticker import MaxNLocator

from ..errors import GdlabError
from ..outputs.series import Series
from ..outputs.verdicts import not_settled
from .style import (
    AXIS_LABELS,
    DIVERGED,
    colour,
    figure,
    legend_beside,
    legend_inside,
    legend_width,
    log_ticks,
    member_label,
    save,
)

TRANSIENT = 0.2  # the first fifth of the x range may leave the axes when the rest is much narrower
ZOOM = 0.25  # ... namely when the tail spans less than this fraction of the whole range (a plateau, not a decay)
TAIL_QUANTILE = 0.99  # top of a curve's tail: a rare spike of a noisy curve does not set the axes
RAW_ALPHA = 0.15  # raw mini-batch curves under their smoothed ones, at most RAW_MEMBERS members
RAW_MEMBERS = 2
RAW_POINTS = 1000  # ... and at most this many points each: a longer raw curve is a solid curtain even when faint


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


def member_curve(s: Series, x: str, y: str) -> tuple[np.ndarray, np.ndarray, bool]:
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


@dataclass
class Limits:
    """y limits, and the extremes of the early transient left outside them (None: nothing left out)."""

    lo: float
    hi: float
    above: float | None = None  # the highest early value above the axes
    below: float | None = None  # the lowest early value below the axes


def limits(xs: list[np.ndarray], ys: list[np.ndarray], wild: list[bool], log: bool) -> Limits:
    """y limits from the informative tail of the calm curves, letting `wild` (diverged) ones leave.

    xs, ys: one pair of equal-length arrays per curve. The whole range of the calm curves is shown unless the
    part after the first TRANSIENT of the x range spans less than ZOOM of it: then the axes hug that tail (its
    minimum and, per curve, its TAIL_QUANTILE) and the early values are reported as `above` / `below`. A wild
    curve may raise the top by at most two decades (log) or half the calm range: one overflowing member must
    not flatten the others.
    """
    t = (lambda v: np.log10(v)) if log else (lambda v: v)
    pairs = []
    for x, y in zip(xs, ys):
        ok = np.isfinite(y) & np.isfinite(x) & ((y > 0) if log else True)
        pairs.append((x[ok], t(y[ok])))
    wild_values = np.concatenate([y for (_, y), w in zip(pairs, wild) if y.size and w] or [np.full(1, -np.inf)])
    calm = [(x, y) for (x, y), w in zip(pairs, wild) if y.size and not w] or \
        [(x[:1], y[:1]) for x, y in pairs if y.size] or [(np.zeros(1), np.zeros(1))]
    whole = np.concatenate([y for _, y in calm])
    lo, hi = float(whole.min()), float(whole.max())
    above = below = None
    x_all = np.concatenate([x for x, _ in calm])
    cut = x_all.min() + TRANSIENT * (x_all.max() - x_all.min())
    tails = [y[x >= cut] for x, y in calm if (x >= cut).sum() >= 3]
    if tails and hi > lo:
        t_lo = float(min(tail.min() for tail in tails))
        t_hi = float(max(np.quantile(tail, TAIL_QUANTILE) for tail in tails))
        if t_hi - t_lo < ZOOM * (hi - lo):
            span = max(t_hi - t_lo, 1e-12 if not log else 0.02)
            t_lo, t_hi = t_lo - 0.15 * span, t_hi + 0.15 * span  # room for the smoothed wiggles
            above = hi if hi > t_hi else None
            below = lo if lo < t_lo else None
            lo, hi = max(lo, t_lo), min(hi, t_hi)
    if log:
        hi = max(hi, min(float(wild_values.max()), hi + 2.0))  # two decades of blow-up tell the story
        span = max(hi - lo, 0.5)
        back = (lambda v: None if v is None else float(10**v))
        return Limits(10 ** (lo - 0.05 * span), 10 ** (hi + 0.05 * span), back(above), back(below))
    reach = max(hi - lo, abs(hi) * 0.1, 1e-12)
    hi = max(hi, min(float(wild_values.max()), hi + 0.5 * reach))
    pad = 0.05 * max(hi - lo, 1e-12)
    return Limits(lo - pad, hi + pad, above, below)


def value_limits(curves: list[np.ndarray], wild: list[bool], log: bool) -> tuple[float, float]:
    """y limits of curves given by their values alone (no transient to leave out): see `limits`."""
    lim = limits([np.zeros(len(c)) for c in curves], curves, wild, log)
    return lim.lo, lim.hi


def wants_log(curves: list[np.ndarray], y: str, floor: float | None = None) -> bool:
    """A log y axis for positive values spanning more than 1.5 decades; never for accuracies, nor for a loss
    with a known positive minimum `floor` (on a log axis it would flatten at the floor: (x − 1)² + 0.001)."""
    if "accuracy" in y or (floor is not None and floor > 0):
        return False
    values = np.concatenate([c[np.isfinite(c)] for c in curves] or [np.array([])])
    if values.size == 0 or values.min() <= 0:
        return False
    return bool(np.log10(values.max() / values.min()) > 1.5)


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


def curve_labels(series: list[Series]) -> list[str]:
    """Legend labels: the member's name and its fate (diverged, not settled, interrupted)."""
    start = [s.loss[np.isfinite(s.loss)][0] if np.isfinite(s.loss).any() else np.nan for s in series]
    final = [s.loss[np.isfinite(s.loss)][-1] if np.isfinite(s.loss).any() else np.nan for s in series]
    unsettled = not_settled([s.status for s in series], start, final)
    return [member_label(s) + (" (not settled: ended above its start)" if u else "")
            for s, u in zip(series, unsettled)]


def loss_curves(series: list[Series], out, *, x: str = "step", y: str = "loss", logy: bool | None = None,
                smooth: int = 0, title: str = "", floor: float | None = None, raw: bool | None = None) -> Path:
    """One line per member of metric `y` against `x`; log y axis when the values span > 1.5 decades.

    smooth: moving-average window (the raw curves drawn faint under the smoothed ones for up to RAW_MEMBERS
    members, or as `raw` says). floor: the objective's known minimum (a dotted line; no log axis above 0).
    """
    curves = [member_curve(s, x, y) for s in series]
    shown = [moving_average(ys, smooth) if smooth > 1 else ys for _, ys, _ in curves]
    log = wants_log(shown, y, floor) if logy is None else bool(logy)
    lim = limits([xs for xs, _, _ in curves], shown, [s.status == "diverged" for s in series], log)
    labels = curve_labels(series)
    many = len(series) > 1
    fig, (ax,) = figure(right=legend_width(labels) + 0.2 if many else 0.0)
    ax.set_yscale("log" if log else "linear")
    if log:
        log_ticks(ax.yaxis, lim.lo, lim.hi)
    ax.set_ylim(lim.lo, lim.hi)  # fixed before plotting: autoscaling over values near 1e308 overflows
    ax.set_autoscaley_on(False)
    width = 1.0 if any(_noisy(ys) for ys in shown) else 1.8  # thick noisy lines merge into a band
    longest = max((len(ys) for ys in shown), default=0)
    draw_raw = smooth > 1 and (len(series) <= RAW_MEMBERS and longest <= RAW_POINTS if raw is None else raw)
    for i, ((xs, ys_raw, sparse), ys, label) in enumerate(zip(curves, shown, labels)):
        draw_member(ax, xs, ys, colour(i), label, (lim.lo, lim.hi), log, width=width, sparse=sparse,
                    raw=ys_raw if draw_raw else None, diverged=series[i].status == "diverged")
    if floor is not None and floor > 0 and y == "loss" and not log:  # the level the loss cannot go below
        ax.axhline(floor, color="0.4", linestyle=":", linewidth=1.0, zorder=1, label=f"minimum f* = {floor:g}")
    x_all = np.concatenate([xs for xs, _, _ in curves] or [np.zeros(1)])
    finish(ax, x, y, x_all, lim, title=title, smoothed=smooth > 1, raw_shown=draw_raw)
    if many:
        legend_beside(ax)
    else:  # one member: a small legend in the corner its curve leaves free (top right unless it ends high)
        ends = shown[0][-max(1, len(shown[0]) // 5):] if shown else np.zeros(0)
        ends = tame(ends[np.isfinite(ends)], (lim.lo, lim.hi), log)
        middle = np.sqrt(lim.lo * lim.hi) if log else 0.5 * (lim.lo + lim.hi)
        high = bool(ends.size) and float(np.mean(ends)) > middle
        legend_inside(ax, "lower right" if high else "upper right")
    return save(fig, out)


def draw_member(ax, xs: np.ndarray, ys: np.ndarray, color: str, label: str, ylim: tuple[float, float], log: bool,
                *, width: float = 1.8, sparse: bool = False, raw: np.ndarray | None = None,
                diverged: bool = False) -> None:
    """One member's curve (and its faint raw curve, and an × where it diverged), clipped to the axes."""
    if raw is not None:
        ax.plot(xs, tame(raw, ylim, log), color=color, alpha=RAW_ALPHA, linewidth=0.6, zorder=2)
    dots = dict(marker="o", markersize=3.5) if sparse and len(ys) <= 60 else {}  # show where evaluations are
    ax.plot(xs, tame(ys, ylim, log), color=color, linewidth=width, label=label, zorder=3, **dots)
    if diverged:
        mark_end(ax, xs, ys, color, ylim, log)


def mark_end(ax, xs: np.ndarray, ys: np.ndarray, color: str, ylim: tuple[float, float], log: bool) -> None:
    """An × on the last finite point of a diverged curve, inside the axes: if the curve is off the top by then,
    the × sits just below the top edge (clear of the title) with a dotted line leading to it from where the curve
    left."""
    if ys.size == 0:
        return
    top = ylim[1]
    inner = 10 ** (np.log10(top) - 0.04 * np.log10(top / ylim[0])) if log else top - 0.04 * (top - ylim[0])
    y_end = float(ys[-1])
    if y_end > inner:
        above = np.flatnonzero(ys <= inner)
        left = above[-1] + 1 if above.size else 0  # first point of the final run above the line
        ax.plot([xs[left], xs[-1]], [inner, inner], linestyle=":", linewidth=1.6, color=color, zorder=3)
        y_end = inner
    ax.plot([xs[-1]], [y_end], linestyle="none", color=color, zorder=4, clip_on=False, **DIVERGED)


def finish(ax, x: str, y: str, x_all: np.ndarray, lim: Limits, *, title: str = "", smoothed: bool = False,
           raw_shown: bool = False) -> None:
    """Axis limits (x exactly the data's range, so no step tick runs past the end), labels, grid, title, and a
    note where the early transient left the axes."""
    lo, hi = (float(x_all.min()), float(x_all.max())) if x_all.size else (0.0, 1.0)
    ax.set_xlim(lo, hi if hi > lo else lo + 1)
    if x == "step":
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(AXIS_LABELS.get(x, x.replace("_", " ")))
    name = AXIS_LABELS.get(y, y.replace("_", " "))
    ax.set_ylabel(name + (" (smoothed" + (", raw faint)" if raw_shown else ")") if smoothed else ""))
    ax.grid(True, which="major", alpha=0.3)
    if title:
        ax.set_title(title)
    notes = []  # above the axes at the right, clear of the curves (the title sits at the left)
    if lim.above is not None:
        notes.append(f"↑ early values above the axes (up to {lim.above:.3g})")
    if lim.below is not None:
        notes.append(f"↓ early values below the axes (down to {lim.below:.3g})")
    if notes:
        ax.text(1.0, 1.01, "; ".join(notes), transform=ax.transAxes, ha="right", va="bottom", fontsize=8,
                color="0.3")
