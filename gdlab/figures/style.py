"""The figures' shared style: backend, palette, sizes, markers, legends and saving.

gdlab.figures is the only wing of gdlab that imports matplotlib; import its modules lazily. Every public drawing
function draws one figure, writes it to `out` and returns the path. Figures are built as bare `Figure` objects
(no pyplot), so nothing is left open in a global figure registry and nothing is ever shown.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

# Agg for the command line; a notebook that already has pyplot (and its own backend) is left alone.
if "matplotlib.pyplot" not in sys.modules:
    matplotlib.use("Agg")

from matplotlib.figure import Figure

from ..outputs.files import atomic
from ..outputs.series import Series

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
    "suboptimality": "suboptimality f − f*", "dist_to_min": "distance to the minimiser",
}
START = dict(marker="o", markersize=8, markerfacecolor="white", markeredgecolor="black", markeredgewidth=1.5)
STAR = dict(marker="*", markersize=15, markerfacecolor="gold", markeredgecolor="black", markeredgewidth=0.8)


def colour(i: int) -> str:
    """The colour of member i (the palette repeats after ten members)."""
    return PALETTE[i % len(PALETTE)]


def member_label(s: Series) -> str:
    """The legend label, with the member's fate when it did not complete."""
    if s.status == "diverged":
        return f"{s.label} (diverged" + (f" at step {s.diverged_at})" if s.diverged_at is not None else ")")
    return f"{s.label} (interrupted)" if s.status == "interrupted" else s.label


def legend(fig: Figure, ax, *, inside: bool, below: bool = False) -> None:
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


def save(fig: Figure, out, *, tight: bool = True) -> Path:
    """Write `fig` as a PNG, whole or not at all. tight: crop to the drawn box (fixed-aspect axes leave bands of
    empty figure, and constrained layout can push a label past the edge of a figure with an equal-aspect axes and
    an outside legend); it costs a second rendering, which figures laid out by constrained layout alone do
    without."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    kind = out.suffix.lstrip(".").lower() or "png"
    try:
        with atomic(out) as f:  # rendered beside `out` and renamed: a figure is whole or absent, never a part
            if tight:
                fig.savefig(f, format=kind, dpi=DPI, bbox_inches="tight", pad_inches=0.08)
            else:
                fig.savefig(f, format=kind, dpi=DPI)
    finally:
        fig.clear()  # no pyplot registry to close from; drop the artists now rather than at garbage collection
    return out
