"""Which figures a run or compare directory gets, drawn from its files alone (so `gdlab plot` can redraw them)."""

from __future__ import annotations

import warnings
from pathlib import Path

from .config import validate
from .problems.build import landscape
from .rundir import load_series
from .problems.landscape import Landscape
from .series import Series


def landscape_of(run_dir: Path) -> Landscape | None:
    """The loss surface of the problem in `run_dir`'s config.yaml (1- and 2-parameter problems)."""
    import yaml

    data = yaml.safe_load((Path(run_dir) / "config.yaml").read_text(encoding="utf-8"))
    cfg = validate(data, source=str(Path(run_dir) / "config.yaml"))
    return landscape(cfg.problem)


def run_name(run_dir: Path) -> str:
    """The config name of a run directory `<name>-<YYYYmmdd>-<HHMMSS>-<id>`."""
    return Path(run_dir).name.rsplit("-", 3)[0]


def draw_outputs(run_dir: Path, member_dirs: list[Path], mode: str) -> str | None:
    """Draw the standard figures; a failure is reported, not raised (the results are already on disk)."""
    try:
        series = [load_series(d) for d in member_dirs]
        land = landscape_of(member_dirs[0])
        name = run_name(run_dir)
        for d, s in zip(member_dirs, series):
            # a member of a compare gets its loss curves; its validation and accuracy curves are in the overlays
            draw_figures([s], land, d / "plots", title=f"{name}: {s.label}" if mode == "compare" else name,
                         metric_figures=mode != "compare")
        if mode == "compare":
            draw_figures(series, land, run_dir / "plots", title=name, grid=True)
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
    from . import path_plots, plots

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # nan-only columns of diverged members
        if kind in ("all", "loss"):
            if any("train_loss" in s.columns for s in series):  # a dataset: whole-data loss per epoch, as d2l
                written.append(plots.loss_curves(series, out_dir / "loss.png", x="epoch", y="train_loss",
                                                 title=title))
                written.append(plots.loss_curves(series, out_dir / "batch_loss.png", title=f"{title} (mini-batches)",
                                                 smooth=smooth or _default_smoothing(series)))
            else:
                written.append(plots.loss_curves(series, out_dir / "loss.png", title=title, smooth=smooth))
            for col in ("val_loss", "train_accuracy", "val_accuracy") if metric_figures else ():
                if any(col in s.columns for s in series):
                    written.append(plots.loss_curves(series, out_dir / f"{col}.png", x="epoch", y=col, title=title))
        has_path = land is not None and any(s.path is not None for s in series)
        if kind in ("all", "trajectory") and has_path:
            written.append(path_plots.trajectories(series, land, out_dir / "trajectory.png", title=title))
            if grid and len(series) > 1:
                written.append(path_plots.small_multiples(series, land, out_dir / "trajectories_grid.png", title=title))
    return written
