"""The commands that look at results and configs: plot, stability, list, validate."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from ..errors import ConfigError
from .common import (ConfigArg, FormatOpt, LIST_KINDS, OutOpt, SetOpt, _check_format, _warning, app, err,
                     error_boundary, out)


@app.command()
def plot(run_dirs: List[Path] = typer.Argument(..., help="Run or compare directories to draw (overlaid).",
                                               show_default=False),
         kind: str = typer.Option("all", "--kind", help="loss | trajectory | all"),
         output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the figure to this file, "
                                               ".png, .svg or .pdf (default: each run's plots/ folder)."),
         smooth: int = typer.Option(0, "--smooth", help="Moving-average window for noisy loss curves."),
         fmt: str = FormatOpt,
         animate: bool = typer.Option(False, "--animate", help="Write an animation of the paths (GIF; --output "
                                      "FILE.mp4 where ffmpeg is installed)."),
         export: Optional[Path] = typer.Option(None, "--export", help="Write each figure's data (CSV), a script "
                                               "that redraws it and a pgfplots .tex into this folder.")) -> None:
    """Redraw loss curves and trajectories from saved run directories."""
    with error_boundary():
        from ..figures.replot import replot

        _check_format(fmt)
        if animate or export is not None or (output is not None and output.suffix.lower() in (".gif", ".mp4")):
            _plot_extras(run_dirs, output, animate or export is None, export)
            return
        if kind not in ("loss", "trajectory", "all"):
            raise ConfigError(f"--kind {kind!r}: accepted: loss, trajectory, all")
        if smooth < 0:
            raise ConfigError(f"--smooth {smooth}: must be >= 0")
        for path in replot(run_dirs, kind=kind, output=output, smooth=smooth, fmt=fmt):
            out.print(str(path), markup=False)
        _unfinished(run_dirs)


def _unfinished(run_dirs: list[Path]) -> None:
    """Say which directories hold an interrupted sweep, tune or bench: drawn from what finished, not the result."""
    from ..outputs.batch_records import unfinished

    for d in run_dirs:
        kind = unfinished(d)
        if kind is not None:
            _warning(f"{d} is an interrupted {kind}, drawn from what finished; finish it with: gdlab {kind} "
                     f"--resume {d}")


@app.command()
def stability(config: Path = ConfigArg, set_: List[str] = SetOpt, out_dir: Path = OutOpt,
              output: Optional[Path] = typer.Option(None, "--output", "-o", help="Figure file (.png, .svg, .pdf)."),
              fmt: str = FormatOpt) -> None:
    """Draw where momentum is stable in (lr, momentum) for the config's quadratic objective."""
    with error_boundary():
        from ..config import load_config
        from ..figures.stability_map import draw_for_config
        from ..outputs.rundir import free_path, safe_name

        _check_format(fmt)
        cfg = load_config(config, set_)
        if output is not None:
            from ..figures.replot import output_format

            output_format(output)  # checks the suffix
        target = output or free_path(out_dir, f"{safe_name(cfg.name)}-stability", f".{fmt}")
        out.print(str(draw_for_config(cfg, target)), markup=False)


def _plot_extras(run_dirs: list[Path], output: Path | None, animate: bool, export: Path | None) -> None:
    """`gdlab plot --animate` (with a progress bar) and `--export DIR`."""
    from ..figures.replot import load_members
    from ..outputs import report
    from ..outputs.files import real_dir

    series, land, title = load_members(run_dirs)
    if export is not None:
        from ..figures.export import export_figures

        for path in export_figures(series, land, export, title=title):
            out.print(str(path), markup=False)
    if animate:
        from ..figures.animate import animate as draw_animation

        if land is None:
            raise ConfigError("--animate: these runs have no common 1- or 2-parameter landscape to draw on")
        if output is not None:
            from ..figures.replot import check_output

            check_output(output)
        target = output or real_dir(Path(run_dirs[0]) / "plots") / "animation.gif"  # never through a planted link
        with report.progress_bars(enabled=err.is_terminal, console=err) as bars:
            progress = None if bars.steps is None else (lambda d, t: bars.frames(d, t))
            out.print(str(draw_animation(series, land, target, title=title, progress=progress)), markup=False)


@app.command("list")
def list_(what: Optional[str] = typer.Argument(None, help=" | ".join(LIST_KINDS), show_default=False),
          config: Optional[Path] = typer.Option(None, "--config", help="Also list the plugins this config names "
                                                "(read from their source, not imported).")) -> None:
    """List objectives, datasets, models, losses, optimizers or schedules with their defaults."""
    with error_boundary():
        from ..outputs import report

        if what is not None and what not in LIST_KINDS:
            from ..registry import did_you_mean

            raise ConfigError(f"unknown list {what!r}{did_you_mean(what, LIST_KINDS)}\n  accepted: {', '.join(LIST_KINDS)}")
        plugins = []
        if config is not None:
            from ..config import load_config

            plugins = report.plugin_entries(load_config(config))
        for kind in [what] if what else LIST_KINDS:
            out.print(report.catalogue(kind, [(n, s, d) for k, n, s, d in plugins if k == kind]))


@app.command()
def validate(config: Path = ConfigArg, set_: List[str] = SetOpt,
             import_plugins: bool = typer.Option(False, "--import-plugins", help="Import the config's plugins and "
                                                 "run their first steps on a copy (default: read their source only).")
             ) -> None:
    """Check a config without running it."""
    with error_boundary():
        from ..config import load_config
        from ..outputs import report

        cfg = load_config(config, set_, import_plugins=import_plugins)
        if import_plugins:
            from ..optim.plugins import probe

            dim = len(cfg.problem.init) if cfg.problem.kind == "objective" else 3
            for o in cfg.optimizers:
                if o.plugin is not None:
                    probe(o.plugin, o.hparams, dim, cfg.dtype, o.label)
        out.print(report.describe_config(cfg))
