"""What a sweep directory holds: summary.csv (a row per member), metrics.npz (all loss histories) and figures."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .rundir import write_atomic
from .series import Series

BEST_CURVES = 5


def write_sweep_outputs(outcome, idx: np.ndarray, history, *, plots: bool = True) -> None:
    d = outcome.run_dir
    write_summary_csv(d / "summary.csv", outcome)
    tmp = d / f".metrics.{os.getpid()}.npz"
    with open(tmp, "wb") as f:  # uncompressed: float32 histories barely compress and zlib would dominate
        np.savez(f, step=np.asarray(history.steps, dtype=np.int64), loss=history.loss.T,
                 member=np.asarray(outcome.labels))
    os.replace(tmp, d / "metrics.npz")
    if plots:
        try:
            draw_sweep_figures(outcome, idx, history)
        except Exception as exc:  # noqa: BLE001 - the numbers are on disk; report the figure problem
            outcome.plot_error = f"plots could not be drawn: {type(exc).__name__}: {exc}"
        except KeyboardInterrupt:
            outcome.plot_error = f"plots not drawn (interrupted); draw them with: gdlab plot {d}"
            outcome.interrupted = True


def _cells(values: np.ndarray) -> list[str]:
    """Floats as their shortest round-trip text (repr), nan as an empty cell."""
    return ["" if x != x else repr(x) for x in np.asarray(values, dtype=np.float64).tolist()]


def write_summary_csv(path: Path, o) -> None:
    """One row per member in grid order, with a column per swept key (built column by column: 100,000 rows)."""
    from .config.grid import member_indices

    header = ["member"] + [a.short for a in o.axes] + ["status", "steps_run", "final_loss", "best_loss", "diverged_at"]
    idx = member_indices(o.axes)
    swept = [[texts[i] for i in idx[j].tolist()] for j, texts in enumerate([_text(v) for v in a.values]
                                                                            for a in o.axes)]
    columns = [[_quote(label) for label in o.labels], *swept, list(o.status), list(map(str, o.steps_run.tolist())),
               _cells(o.final_loss), _cells(o.best_loss),
               ["" if d < 0 else str(d) for d in np.asarray(o.diverged_at).tolist()]]
    lines = [",".join(header), *map(",".join, zip(*columns))]
    write_atomic(path, "\n".join(lines) + "\n")


def _text(v) -> str:
    return repr(v) if isinstance(v, float) else _quote(str(v))


def _quote(s: str) -> str:
    return f'"{s}"' if "," in s or '"' in s else s


def draw_sweep_figures(o, idx: np.ndarray, history) -> list[Path]:
    from . import plots

    sweep_plots = getattr(plots, "sweep_curve", None) and plots
    if sweep_plots is None:
        from . import sweep_plots  # the sweep figures' own module

    out = o.run_dir / "plots"
    out.mkdir(exist_ok=True)
    diverged = blew_up(o, history)
    from .drawing import run_name

    title = run_name(o.run_dir)
    written = []
    numeric = [j for j, a in enumerate(o.axes) if a.numeric]
    for j in numeric:
        a = o.axes[j]
        values = np.asarray(a.values, dtype=float)[idx[j]]
        written.append(sweep_plots.sweep_curve(values, o.final_loss, diverged, a.short,
                                               out / f"final_loss_{_file_key(a.short)}.png", title=title,
                                               rising_tail=False))  # `diverged` holds the blow-ups already
    if len(numeric) >= 2:
        jx, jy = numeric[:2]
        xs, ys = np.asarray(o.axes[jx].values, float), np.asarray(o.axes[jy].values, float)
        grid = np.full((len(ys), len(xs)), np.inf)
        finite = np.where(np.isfinite(o.final_loss) & ~diverged, o.final_loss, np.inf)
        np.minimum.at(grid, (idx[jy], idx[jx]), finite)
        all_diverged = np.ones_like(grid, dtype=bool)
        np.logical_and.at(all_diverged, (idx[jy], idx[jx]), diverged)
        sx, sy = np.argsort(xs), np.argsort(ys)
        grid = np.where(np.isfinite(grid), grid, np.nan)[np.ix_(sy, sx)]
        written.append(sweep_plots.sweep_heatmap(xs[sx], ys[sy], grid, all_diverged[np.ix_(sy, sx)],
                                                 o.axes[jx].short, o.axes[jy].short,
                                                 out / "final_loss_heatmap.png", title=title))
    written.append(plots.loss_curves(best_series(o, history), out / "best_loss.png",
                                     title=f"{title}: the {BEST_CURVES} best members"))
    return written


def blew_up(o, history) -> np.ndarray:
    """Members the figures mark as diverged: non-finite (status "diverged"), or ended above where they started.

    Within a short run, d2l's gradient descent at lr 0.6 is far from overflowing (its loss is 5.6e6 after 20
    steps) but it is plainly diverging; ending above the start loss says so without a threshold to tune.
    """
    start = history.loss[0].astype(float)
    return (o.status == "diverged") | (np.isfinite(start) & (o.final_loss > start))


def best_series(o, history) -> list[Series]:
    """Loss curves of the members with the lowest final loss (completed ones first)."""
    rank = np.where(o.status == "completed", o.final_loss, np.inf)
    rank = np.where(np.isfinite(rank), rank, np.inf)
    order = np.argsort(rank, kind="stable")[:BEST_CURVES]
    steps = np.asarray(history.steps)
    return [Series(o.labels[i], steps, history.loss[:, i].astype(float), status=str(o.status[i]),
                   diverged_at=None if o.diverged_at[i] < 0 else int(o.diverged_at[i])) for i in order]


def _file_key(key: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in key)


def is_sweep_dir(path: Path) -> bool:
    return (path / "metrics.npz").is_file() and (path / "summary.csv").is_file()


def redraw_sweep(run_dir: Path) -> list[Path]:
    """The sweep figures again, from summary.csv, metrics.npz and config.yaml alone (`gdlab plot`)."""
    import csv
    from types import SimpleNamespace

    import yaml

    from .config.grid import grid_axes, member_indices

    config = yaml.safe_load((run_dir / "config.yaml").read_text(encoding="utf-8"))
    axes = grid_axes(config.get("sweep") or {}, [])
    with open(run_dir / "summary.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    data = np.load(run_dir / "metrics.npz")

    def column(name: str, kind=float, empty=np.nan) -> np.ndarray:
        return np.array([kind(r[name]) if r[name] else empty for r in rows])

    outcome = SimpleNamespace(run_dir=run_dir, axes=axes, labels=[r["member"] for r in rows],
                              status=np.array([r["status"] for r in rows], dtype=object),
                              final_loss=column("final_loss"), best_loss=column("best_loss"),
                              diverged_at=column("diverged_at", int, -1), steps_run=column("steps_run", int, 0))
    history = SimpleNamespace(steps=data["step"].tolist(), loss=data["loss"].T)
    return draw_sweep_figures(outcome, member_indices(axes), history)
