"""`gdlab plot RUN_DIR --animate`: the paths of all members growing step by step over the loss landscape.

GIF through matplotlib's Pillow writer (MP4 through its FFmpeg writer where ffmpeg is installed). The landscape is
drawn once; every frame restores that background and draws only what moves (the paths so far, the current points,
the step counter and each member's current loss) on the Agg canvas, so a frame costs a few milliseconds instead
of a full redraw. Frames are capped (every k-th step), so a 10,000-step run makes a GIF of a few MB at most.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

import numpy as np
from matplotlib import animation

from ..errors import ConfigError
from ..outputs.files import atomic_path
from ..outputs.series import Series
from ..problems.landscape import Landscape
from .paths import _evaluate, _landscape_axes, _surface, contour_resolution, plot_area, view_window
from .style import colour, figure, legend_width

MAX_FRAMES = 120  # frames at most: every k-th step of a longer run
MAX_POINTS = 1500  # path vertices drawn per member and frame at most (a 400-pixel plot shows no more)
FPS = 12
ANIMATION_DPI = 80  # a GIF is a screen-sized thing: 80 dpi keeps 120 frames within a few MB


def frame_steps(last_step: int, max_frames: int = MAX_FRAMES) -> np.ndarray:
    """The steps shown: 0, every k-th step, and the last, at most `max_frames` of them."""
    if last_step <= 0:
        return np.zeros(1, dtype=np.int64)
    return np.unique(np.linspace(0, last_step, min(max_frames, last_step + 1)).round().astype(np.int64))


def _value_at(steps: np.ndarray, values: np.ndarray, k: int) -> float:
    """The last finite value logged at or before step k (nan before the first)."""
    i = np.searchsorted(steps, k, side="right")
    ok = np.isfinite(values[:i])
    return float(values[:i][ok][-1]) if ok.any() else float("nan")


class _CanvasFrames:
    """Mixin for matplotlib's movie writers: a frame is what the Agg canvas holds now (blitted by the caller),
    not a fresh savefig of the whole figure. GIF frames are mapped onto one palette (`palette`, made from the
    fullest frame): an adaptive palette per frame costs ten times the drawing."""

    palette = None  # a PIL image in mode P whose palette every GIF frame uses

    def grab_frame(self, **_):
        rgba = np.asarray(self.fig.canvas.buffer_rgba())
        if isinstance(self, animation.PillowWriter):
            from PIL import Image

            frame = Image.fromarray(rgba[..., :3].copy())
            self._frames.append(frame.quantize(palette=self.palette, dither=Image.Dither.NONE)
                                if self.palette is not None else frame)
        else:
            self._proc.stdin.write(rgba.tobytes())


class BlitPillowWriter(_CanvasFrames, animation.PillowWriter):
    pass


class BlitFFMpegWriter(_CanvasFrames, animation.FFMpegWriter):
    pass


def animate(series: list[Series], landscape: Landscape, out, *, title: str = "", max_frames: int = MAX_FRAMES,
            fps: int = FPS, progress: Callable[[int, int], None] | None = None) -> Path:
    """Write an animation of every member's path over `landscape` to `out` (.gif, or .mp4 with ffmpeg)."""
    out = Path(out)
    kind = out.suffix.lower()
    if kind not in (".gif", ".mp4"):
        raise ConfigError(f"--output {out}: an animation is a .gif (or .mp4 where ffmpeg is installed)")
    if kind == ".mp4" and shutil.which("ffmpeg") is None:
        raise ConfigError(f"--output {out}: MP4 needs ffmpeg, which is not installed here; write a .gif instead")
    members = [(i, s) for i, s in enumerate(series) if s.path is not None and s.path.shape[1] == landscape.dim]
    if not members:
        raise ConfigError("--animate: these runs have no path over a 1- or 2-parameter landscape to animate")
    view = view_window([s for _, s in members], landscape)
    area = plot_area(view, (4.6, 3.4))
    labels = [f"{s.label}: loss 0.000e+00" for _, s in members]
    fig, (ax,) = figure(axes=area, right=legend_width(labels) + 0.2)
    fig.set_dpi(ANIMATION_DPI)
    _landscape_axes(ax, landscape, view, [], labels=False, surface=_surface(landscape, view, contour_resolution(area)))
    ax.set_title(title or landscape.title)
    one_d = landscape.dim == 1
    paths = []
    for i, s in members:
        p = s.path[: _finite_rows(s.path)]
        xy = np.column_stack([p[:, 0], _evaluate(landscape, p)]) if one_d else p
        steps = s.path_step[: len(p)] if s.path_step is not None else np.arange(len(p))
        line, = ax.plot([], [], color=colour(i), linewidth=1.4, animated=True, label=s.label)
        head, = ax.plot([], [], color=colour(i), marker="o", markersize=7, markeredgecolor="black",
                        linestyle="none", animated=True)
        paths.append((s, xy, steps, line, head))
    legend = ax.legend(loc="upper left", bbox_to_anchor=(1.03, 1.0), borderaxespad=0.0, frameon=False)
    legend.set_animated(True)
    counter = ax.text(0.02, 0.97, "", transform=ax.transAxes, ha="left", va="top", fontsize=10, animated=True,
                      bbox=dict(boxstyle="round,pad=0.25", facecolor="white", edgecolor="0.6", alpha=0.9))
    last = int(max(int(st[-1]) if len(st) else 0 for _, _, st, _, _ in paths))
    shown = frame_steps(last, max_frames)
    writer = (BlitPillowWriter if kind == ".gif" else BlitFFMpegWriter)(fps=fps)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.canvas.draw()
    background = fig.canvas.copy_from_bbox(fig.bbox)

    def draw(k: int) -> None:
        """Frame k: the background, then every member's path up to step k, its head and its loss."""
        fig.canvas.restore_region(background)
        for (s, xy, steps, line, head), text in zip(paths, legend.get_texts()):
            upto = int(np.searchsorted(steps, k, side="right"))
            keep = _thinned(upto)
            line.set_data(xy[keep, 0], xy[keep, 1])
            head.set_data(xy[upto - 1: upto, 0], xy[upto - 1: upto, 1])
            loss = _value_at(s.step, s.loss, int(k))
            gone = s.diverged_at is not None and k >= s.diverged_at
            text.set_text(f"{s.label}: loss {loss:.3e}" + (" (diverged)" if gone else ""))
            ax.draw_artist(line)
            ax.draw_artist(head)
        counter.set_text(f"step {k:,} / {last:,}")
        ax.draw_artist(counter)
        fig.draw_artist(legend)

    if kind == ".gif":  # the last frame holds every colour the animation will use
        from PIL import Image

        draw(int(shown[-1]))
        rgb = Image.fromarray(np.asarray(fig.canvas.buffer_rgba())[..., :3].copy())
        writer.palette = rgb.quantize(colors=255, method=Image.Quantize.MEDIANCUT)
    with atomic_path(out) as tmp, writer.saving(fig, str(tmp), dpi=ANIMATION_DPI):  # whole or absent
        for n, k in enumerate(shown):
            draw(int(k))
            writer.grab_frame()
            if progress is not None:
                progress(n + 1, len(shown))
    fig.clear()
    return out


def _thinned(upto: int, most: int = MAX_POINTS) -> np.ndarray:
    """Indices of at most about `most` of the first `upto` path points, the last one always kept."""
    if upto <= most:
        return np.arange(upto)
    return np.unique(np.append(np.linspace(0, upto - 1, most).astype(np.int64), upto - 1))


def _finite_rows(path: np.ndarray) -> int:
    bad = np.flatnonzero(~np.isfinite(path).all(axis=1))
    return int(bad[0]) if bad.size else len(path)
