"""The figures' one style setup: backend, fonts, palette, sizes, a fixed layout, legends and saving.

gdlab.figures is the only wing of gdlab that imports matplotlib; import its modules lazily. Every public drawing
function draws one figure, writes it to `out` (PNG, SVG or PDF by its suffix) and returns the path. Figures are
bare `Figure` objects on an Agg canvas (no pyplot: nothing is left open in a global registry, nothing is shown),
laid out by arithmetic rather than by a layout engine: the axes get a fixed plotting area in inches, the margins
are fixed, and a legend beside the axes widens the figure by an estimate of its width. Constrained layout and
`bbox_inches="tight"` measure every text of the figure (a second rendering); this costs nothing of the kind.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib
import numpy as np

# Agg for the command line; a notebook that already has pyplot (and its own backend and style) is left alone.
if "matplotlib.pyplot" not in sys.modules:
    matplotlib.use("Agg")
    matplotlib.rcParams.update({
        "font.size": 9, "axes.titlesize": 11, "axes.labelsize": 10, "legend.fontsize": 9,
        "xtick.labelsize": 9, "ytick.labelsize": 9, "axes.titlelocation": "left", "svg.fonttype": "none",
        "path.simplify": True, "agg.path.chunksize": 20_000,  # long noisy curves: fewer vertices, no overflow
    })

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..outputs.files import atomic
from ..outputs.series import Series

# Colour i belongs to member i in every figure (tab10, a qualitative palette that survives projectors).
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
           "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
DPI = 150
FIGSIZE = (7.0, 4.5)  # inches of a figure laid out by constrained layout (the tuning figures)
AXES = (5.4, 3.5)  # inches of plotting area of a full-size plot: readable on a lecture slide
MARGINS = dict(left=0.85, right=0.25, bottom=0.6, top=0.5)  # inches: tick labels, axis labels, title
LEGEND_GAP = 0.15  # inches between the axes and a legend beside them
FORMATS = ("png", "svg", "pdf")
REACH = 0.5  # a path may widen the view by at most this fraction of the window on each side
AXIS_LABELS = {
    "step": "step", "epoch": "epoch", "wall_time": "wall time (s)", "loss": "loss",
    "val_loss": "validation loss", "val_accuracy": "validation accuracy", "train_loss": "training loss",
    "train_accuracy": "training accuracy", "batch_loss": "mini-batch loss", "grad_norm": "gradient norm",
    "lr": "learning rate", "suboptimality": "suboptimality f − f*", "dist_to_min": "distance to the minimiser",
}
START = dict(marker="o", markersize=8, markerfacecolor="white", markeredgecolor="black", markeredgewidth=1.5)
STAR = dict(marker="*", markersize=15, markerfacecolor="gold", markeredgecolor="black", markeredgewidth=0.8)
DIVERGED = dict(marker="X", markersize=10, markeredgecolor="black", markeredgewidth=0.6)
UNSETTLED_COLOUR = "#e69500"  # "not settled": ended above its start, still finite (amber, apart from red)


def colour(i: int) -> str:
    """The colour of member i (the palette repeats after ten members)."""
    return PALETTE[i % len(PALETTE)]


def member_label(s: Series) -> str:
    """The legend label, with the member's fate when it did not complete."""
    if s.status == "diverged":
        return f"{s.label} (diverged" + (f" at step {s.diverged_at})" if s.diverged_at is not None else ")")
    return f"{s.label} (interrupted)" if s.status == "interrupted" else s.label


def text_width(text: str, size: float = 9.0) -> float:
    """Inches a line of `text` takes at `size` points (DejaVu Sans averages about 0.55 em a character)."""
    return 0.55 * size / 72.0 * len(text)


def legend_width(labels: list[str], size: float = 9.0) -> float:
    """Inches a one-column legend of `labels` takes: the longest label, the handle and the padding."""
    return (max(map(text_width, labels)) if labels else 0.0) + 0.75


def figure(*, axes: tuple[float, float] = AXES, grid: tuple[int, int] = (1, 1), right: float = 0.0,
           bottom: float = 0.0, top: float = 0.0, hgap: float = 0.75, vgap: float = 0.7):
    """A Figure on an Agg canvas with a `grid` (rows, cols) of axes, each `axes` inches of plotting area.

    right/bottom/top: extra inches beside, below and above (a legend, a colour bar, a legend below, a title of
    several lines). Returns (fig, list of axes in row-major order).
    """
    rows, cols = grid
    w, h = axes
    left, right0, bottom0, top0 = MARGINS["left"], MARGINS["right"] + right, MARGINS["bottom"] + bottom, \
        MARGINS["top"] + top
    width = left + cols * w + (cols - 1) * hgap + right0
    height = bottom0 + rows * h + (rows - 1) * vgap + top0
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    out = []
    for r in range(rows):
        for c in range(cols):
            x0 = left + c * (w + hgap)
            y0 = height - top0 - (r + 1) * h - r * vgap
            out.append(fig.add_axes((x0 / width, y0 / height, w / width, h / height)))
    return fig, out


def legend_beside(ax, *, handles=None, labels=None, title: str | None = None) -> None:
    """A one-column legend to the right of `ax`, top-aligned (the figure was widened for it)."""
    if handles is None:
        handles, labels = ax.get_legend_handles_labels()
    if labels:
        ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.0 + LEGEND_GAP / _inches(ax)[0], 1.0),
                  borderaxespad=0.0, frameon=False, title=title, alignment="left")


def legend_inside(ax, loc: str = "upper right") -> None:
    """A framed legend in a fixed corner (no search for the emptiest one: it measures every point drawn)."""
    handles, labels = ax.get_legend_handles_labels()
    if labels:
        ax.legend(handles, labels, loc=loc, framealpha=0.9)


def _inches(ax) -> tuple[float, float]:
    fig_w, fig_h = ax.figure.get_size_inches()
    pos = ax.get_position()
    return pos.width * fig_w, pos.height * fig_h


def with_suffix(out, fmt: str | None) -> Path:
    """`out` with the figure format's suffix (`fmt` None: keep the suffix it has)."""
    out = Path(out)
    return out if fmt is None else out.with_suffix(f".{fmt}")


def legend(fig: Figure, ax, *, inside: bool, below: bool = False) -> None:
    """For figures laid out by constrained layout (the tuning figures): in a fixed corner when allowed, else
    beside the axes or, when `below`, under them."""
    handles, labels = ax.get_legend_handles_labels()
    if not labels:
        return
    if inside and len(labels) <= 6:
        legend_inside(ax)
    elif not below:
        ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, frameon=False)
    else:
        fig.legend(handles, labels, loc="outside lower center", ncols=2, frameon=False)


def save(fig: Figure, out, *, tight: bool = False) -> Path:
    """Write `fig` in the format its suffix names (png, svg, pdf), whole or not at all (rendered beside `out` and
    renamed); no timestamps in SVG and PDF, so they are reproducible."""
    out = Path(out)
    fmt = out.suffix.lower().lstrip(".") or "png"
    if fmt not in FORMATS:
        raise ValueError(f"{out}: unknown figure format {fmt!r}; accepted: {', '.join(FORMATS)}")
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"png": None, "svg": {"Date": None}, "pdf": {"CreationDate": None}}[fmt]
    extra = {"pil_kwargs": {"compress_level": 3}} if fmt == "png" else {}  # level 6 takes twice the time, for 10 %
    try:
        with atomic(out) as f:
            fig.savefig(f, dpi=DPI, format=fmt, metadata=meta, **extra,
                        **({"bbox_inches": "tight", "pad_inches": 0.08} if tight else {}))
    finally:
        fig.clear()  # no pyplot registry to close from; drop the artists now rather than at garbage collection
    return out


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def power_of_ten(x: float, _pos=None) -> str:
    """'10⁻³' in plain Unicode: no mathtext to parse for every tick label of a log axis."""
    if not x > 0:
        return ""
    e = np.log10(x)
    if abs(e - round(e)) > 1e-9:
        return f"{x:.3g}"
    return "10" + str(int(round(e))).translate(_SUPERSCRIPT)


def log_ticks(axis, lo: float, hi: float) -> None:
    """A log axis labelled at its decades (no minor ticks beyond two decades: dozens of unlabelled tick objects
    cost more to build than the whole curve)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter, NullLocator

    axis.set_major_locator(LogLocator(base=10.0, numticks=8))
    if hi / lo > 100:
        axis.set_major_formatter(FuncFormatter(power_of_ten))
        axis.set_minor_locator(NullLocator())
    else:
        axis.set_minor_formatter(NullFormatter())
