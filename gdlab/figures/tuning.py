"""Figures of tuning and benchmarking: each optimizer's criterion against its learning rate (`sensitivity`), and
Dolan–Moré performance profiles (`performance_profiles`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from .style import DPI, FIGSIZE, STAR, colour, legend, save


def sensitivity(curves: list[dict], out, *, criterion: str, title: str = "", log_values: bool | None = None,
                multi_seed: bool = False) -> Path:
    """One line per optimizer: the criterion of its trials against lr (log axis).

    curves: per optimizer {"label", "lr" (n,), "value" (n,), "diverged" (n,) bool, "chosen" (index or None),
    "note" (text for the legend, e.g. "best over momentum")}. Diverged trials are drawn as × and never-reached
    targets as ○ in a strip above the values, a row per optimizer; the chosen trial is a star.
    """
    fig = Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    ax.set_xscale("log")
    finite = np.concatenate([np.asarray(c["value"], float)[~np.asarray(c["diverged"], bool)] for c in curves] or
                            [np.zeros(0)])
    finite = finite[np.isfinite(finite)]
    positive = finite.size and finite.min() > 0
    log = (positive and finite.max() / finite.min() > 30) if log_values is None else log_values
    ax.set_yscale("log" if log else "linear")
    # the values fill the lower part of the axes; above them a strip with a row per optimizer holds the trials
    # without a value (diverged, blown up, target never reached), so those marks never sit among real values
    row = 0.03  # axes fraction per optimizer row
    strip = row * len(curves) + 0.02
    data_top = 1.0 - strip - 0.03  # where the largest value sits
    if finite.size:
        lo, hi = finite.min(), finite.max()
        if log:
            a, b = np.log10(lo), np.log10(hi)
            span = (b - a) or 1.0
            bottom = a - 0.04 * span
            top = bottom + (b - bottom) / data_top
            ax.set_ylim(10**bottom, 10**top)
            edge = 10 ** (bottom + (top - bottom) * (1.0 - strip))
        else:
            span = (hi - lo) or abs(hi) or 1.0
            bottom = lo - 0.04 * span
            top = bottom + (hi - bottom) / data_top
            ax.set_ylim(bottom, top)
            edge = bottom + (top - bottom) * (1.0 - strip)
        ticks = [t for t in ax.get_yticks() if ax.get_ylim()[0] <= t <= edge]  # no value ticks in the strip
        ax.set_yticks(ticks)
        if log:
            from matplotlib.ticker import NullLocator

            ax.yaxis.set_minor_locator(NullLocator())
    ax.plot([0, 1], [1.0 - strip] * 2, color="0.8", linewidth=0.8, zorder=1, transform=ax.transAxes)

    def strip_y(i: int) -> float:
        return 1.0 - 0.015 - row * i  # axes fraction of optimizer i's row

    for i, c in enumerate(curves):
        lr, v = np.asarray(c["lr"], float), np.asarray(c["value"], float)
        bad = np.asarray(c["diverged"], bool)
        order = np.argsort(lr)
        lr, v, bad = lr[order], v[order], bad[order]
        shown = np.where(bad | ~np.isfinite(v), np.nan, v)
        label = c["label"] + (f" ({c['note']})" if c.get("note") else "")
        ax.plot(lr, shown, color=colour(i), marker="o", markersize=3.5, linewidth=1.5, label=label, zorder=3)
        if bad.any():  # in the strip at the top, a row per optimizer so that equal learning rates stay apart
            ax.plot(lr[bad], np.full(bad.sum(), strip_y(i)), linestyle="none", marker="x", markersize=6,
                    color=colour(i), clip_on=False, zorder=4, transform=ax.get_xaxis_transform())
        never = ~bad & ~np.isfinite(v)  # steps to a target that was never reached
        if never.any():
            ax.plot(lr[never], np.full(never.sum(), strip_y(i)), linestyle="none", marker="o", markersize=5,
                    markerfacecolor="none", color=colour(i), clip_on=False, zorder=4,
                    transform=ax.get_xaxis_transform())
        if c.get("chosen") is not None:
            j = int(np.flatnonzero(order == c["chosen"])[0])
            if np.isfinite(shown[j]):
                ax.plot([lr[j]], [shown[j]], linestyle="none", zorder=5, **{**STAR, "markersize": 13})
            else:  # chosen among trials without a value (none reached the target): on the top edge
                ax.plot([lr[j]], [strip_y(i)], linestyle="none", zorder=5, clip_on=False,
                        transform=ax.get_xaxis_transform(), **{**STAR, "markersize": 13})
    ax.plot([], [], linestyle="none", marker="x", color="0.3", label="diverged or ended above its start (top strip)")
    if any((~np.asarray(c["diverged"], bool) & ~np.isfinite(np.asarray(c["value"], float))).any() for c in curves):
        ax.plot([], [], linestyle="none", marker="o", markerfacecolor="none", color="0.3",
                label="target never reached")
    ax.plot([], [], linestyle="none", label="chosen", **{**STAR, "markersize": 11})
    ax.set_xlabel("learning rate")
    ax.set_ylabel(criterion.replace("_", " ") + (" (median over seeds)" if multi_seed else ""))
    ax.grid(True, which="major", alpha=0.3)
    ax.set_title(title or f"{criterion.replace('_', ' ')} against the learning rate", fontsize=11)
    legend(fig, ax, inside=False)
    return save(fig, out, tight=False)


def performance_profiles(labels: list[str], taus: np.ndarray, rho: np.ndarray, out, *, scores: np.ndarray | None = None,
                         measure: str = "steps", n_problems: int | None = None, title: str = "") -> Path:
    """rho_s(τ) of each optimizer as a step function of τ (log axis), with AlgoPerf's score in the legend.

    taus (T,), rho (S, T): the profile at its breakpoints (gdlab.bench.profiles).
    """
    fig = Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    ax.set_xscale("log", base=2)
    taus = np.asarray(taus, float)
    for i, label in enumerate(labels):
        text = label if scores is None else f"{label} ({scores[i]:.2f})"
        ax.step(taus, rho[i], where="post", color=colour(i), linewidth=1.8, label=text, zorder=3)
    ax.axvline(4.0, color="0.5", linestyle=":", linewidth=1, zorder=1)
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlim(1, max(taus.max(), 4.0) * 1.05)
    ax.set_xlabel(f"τ: within τ times the best optimizer's {measure} to the target")
    if scores is not None:
        ax.plot([], [], linestyle="none", label="(score: area up to τ = 4)")
    ax.set_ylabel("fraction of problems ρ(τ)")
    ax.grid(True, which="major", alpha=0.3)
    suffix = f" over {n_problems} problems" if n_problems else ""
    ax.set_title(title or f"performance profiles{suffix}", fontsize=11)
    legend(fig, ax, inside=False)
    return save(fig, out, tight=False)
