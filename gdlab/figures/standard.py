"""Which figures a run, compare or sweep directory gets, drawn from its files alone (so `gdlab plot` can redraw them)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from ..config import validate
from ..errors import OutputError
from ..outputs.files import real_dir
from ..outputs.rundir import load_series
from ..outputs.series import Series
from ..problems.build import landscape
from ..problems.landscape import Landscape

BEST_CURVES = 5


def landscape_of(run_dir: Path) -> Landscape | None:
    """The loss surface of the problem in `run_dir`'s config.yaml (1- and 2-parameter problems)."""
    import yaml

    data = yaml.safe_load((Path(run_dir) / "config.yaml").read_text(encoding="utf-8"))
    cfg = validate(data, source=str(Path(run_dir) / "config.yaml"))
    return landscape(cfg.problem)


def run_name(run_dir: Path) -> str:
    """The config name of a run directory `<name>-<YYYYmmdd>-<HHMMSS>-<id>`; of a directory named otherwise (a tune
    directory's compare/), the name in its config.yaml."""
    import re

    name = Path(run_dir).name
    if re.fullmatch(r".+-\d{8}-\d{6}-[0-9a-f]+", name):
        return name.rsplit("-", 3)[0]
    try:
        import yaml

        return str(yaml.safe_load((Path(run_dir) / "config.yaml").read_text(encoding="utf-8"))["name"])
    except (OSError, KeyError, TypeError, ValueError, yaml.YAMLError):
        return name


def draw_outputs(run_dir: Path, member_dirs: list[Path], mode: str, seeds: int = 1) -> str | None:
    """Draw the standard figures; a failure is reported, not raised (the results are already on disk).

    seeds > 1: member_dirs hold each member's seeds in turn (member-major); the figures show bands over seeds.
    """
    try:
        if seeds > 1:
            series = [load_series(d) for d in member_dirs]
            groups = [(series[i].label, series[i:i + seeds]) for i in range(0, len(series), seeds)]
            draw_repeat_figures(groups, landscape_of(member_dirs[0]), run_dir / "plots", title=run_name(run_dir))
            return None
        series = [load_series(d) for d in member_dirs]
        land = landscape_of(member_dirs[0])
        name = run_name(run_dir)
        for d, s in zip(member_dirs, series):
            # a member of a compare gets its loss curves; its validation and accuracy curves are in the overlays
            draw_figures([s], land, d / "plots", title=f"{name}: {s.label}" if mode == "compare" else name,
                         metric_figures=mode != "compare")
        if mode == "compare":
            draw_figures(series, land, run_dir / "plots", title=name, grid=True)
    except OutputError:  # a full disk or a folder gdlab may not write: the caller says so and exits 1
        raise
    except Exception as exc:  # noqa: BLE001 - the run's data is safe; say what went wrong with the figures
        return f"plots could not be drawn: {type(exc).__name__}: {exc}"
    return None


def _default_smoothing(series: list[Series]) -> int:
    """A moving-average window for mini-batch losses: about a fiftieth of the run (DLFS smooths its curves)."""
    n = max((len(s.step) for s in series), default=0)
    return n // 50 if n >= 200 else 0


def draw_figures(series: list[Series], land: Landscape | None, out_dir: Path, *, title: str = "",
                 grid: bool = False, kind: str = "all", smooth: int = 0, metric_figures: bool = True) -> list[Path]:
    """The loss figures (and, with metric_figures, validation and accuracy curves) and the trajectory figures."""
    from . import curves, paths

    real_dir(out_dir)  # never through a link planted in a shared run directory
    written = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # nan-only columns of diverged members
        if kind in ("all", "loss"):
            if any("train_loss" in s.columns for s in series):  # a dataset: whole-data loss per epoch, as d2l
                written.append(curves.loss_curves(series, out_dir / "loss.png", x="epoch", y="train_loss",
                                                 title=title))
                written.append(curves.loss_curves(series, out_dir / "batch_loss.png", title=f"{title} (mini-batches)",
                                                 smooth=smooth or _default_smoothing(series)))
            elif all("suboptimality" in s.columns for s in series):  # a known minimum: f − f* on a log axis
                written.append(curves.loss_curves(series, out_dir / "loss.png", y="suboptimality", logy=True,
                                                  title=title, smooth=smooth))
            else:
                written.append(curves.loss_curves(series, out_dir / "loss.png", title=title, smooth=smooth))
            for col in ("val_loss", "train_accuracy", "val_accuracy") if metric_figures else ():
                if any(col in s.columns for s in series):
                    written.append(curves.loss_curves(series, out_dir / f"{col}.png", x="epoch", y=col, title=title))
        has_path = land is not None and any(s.path is not None for s in series)
        if kind in ("all", "trajectory") and has_path:
            written.append(paths.trajectories(series, land, out_dir / "trajectory.png", title=title))
            if grid and len(series) > 1:
                written.append(paths.small_multiples(series, land, out_dir / "trajectories_grid.png", title=title))
    return written


def draw_repeat_figures(groups: list[tuple[str, list[Series]]], land: Landscape | None, out_dir: Path, *,
                        title: str = "") -> list[Path]:
    """Members run with several seeds: median curves with 25–75 % bands, and every seed's path with the median's."""
    from . import bands

    out_dir.mkdir(parents=True, exist_ok=True)
    every = [s for _, seeds in groups for s in seeds]
    written = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if any("train_loss" in s.columns for s in every):
            written.append(bands.band_curves(groups, out_dir / "loss.png", x="epoch", y="train_loss", title=title))
        elif all("suboptimality" in s.columns for s in every):
            written.append(bands.band_curves(groups, out_dir / "loss.png", y="suboptimality", logy=True,
                                             title=title))
        else:
            written.append(bands.band_curves(groups, out_dir / "loss.png", title=title))
        for col in ("val_loss", "val_accuracy"):
            if any(col in s.columns for s in every):
                written.append(bands.band_curves(groups, out_dir / f"{col}.png", x="epoch", y=col, title=title))
        if land is not None and any(s.path is not None for s in every):
            written.append(bands.seed_paths(groups, land, out_dir / "trajectory.png", title=title))
    return written


def draw_sweep_figures(o, idx: np.ndarray, history) -> list[Path]:
    """Final loss against each swept value, a heat map over the first two numeric keys, the best loss curves."""
    from . import curves, sweeps

    out = real_dir(o.run_dir / "plots")
    diverged = blew_up(o, history)
    title = run_name(o.run_dir)
    written = []
    numeric = [j for j, a in enumerate(o.axes) if a.numeric]
    for j in numeric:
        a = o.axes[j]
        values = np.asarray(a.values, dtype=float)[idx[j]]
        written.append(sweeps.sweep_curve(values, o.final_loss, diverged, a.short,
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
        written.append(sweeps.sweep_heatmap(xs[sx], ys[sy], grid, all_diverged[np.ix_(sy, sx)],
                                                 o.axes[jx].short, o.axes[jy].short,
                                                 out / "final_loss_heatmap.png", title=title))
    written.append(curves.loss_curves(best_series(o, history), out / "best_loss.png",
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


def redraw_sweep(run_dir: Path) -> list[Path]:
    """The sweep figures again, from the sweep directory's files alone (`gdlab plot`)."""
    from ..outputs.sweep_dir import load_sweep

    return draw_sweep_figures(*load_sweep(run_dir))
