"""The commands that run a config: run, compare and sweep (their directories are what `plot` draws)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from rich.markup import escape

from ..errors import ConfigError
from .common import (ConfigArg, FormatOpt, MemberFigOpt, MemoryOpt, OutOpt, QuietOpt, ResumeOpt,
                     SchedulerOpt, SeedOpt, SeedsOpt, SetOpt, WorkersOpt, _check_format, _finish, _warning, app, err,
                     error_boundary, out)


@app.command()
def run(config: Path = ConfigArg, set_: List[str] = SetOpt, out_dir: Path = OutOpt,
        seed: Optional[int] = SeedOpt, seeds: Optional[int] = SeedsOpt, quiet: bool = QuietOpt,
        fmt: str = FormatOpt, max_memory: Optional[str] = MemoryOpt) -> None:
    """Run one configuration (one optimizer) and write a run directory."""
    _execute(config, set_, out_dir, seed, quiet, mode="run", seeds=seeds, fmt=fmt, max_memory=max_memory)


@app.command()
def compare(config: Path = ConfigArg,
            optimizers: Optional[str] = typer.Option(None, "--optimizers", help="Comma-separated names to run with "
                                                     "their defaults instead of the config's list, e.g. sgd,adam."),
            set_: List[str] = SetOpt, out_dir: Path = OutOpt, seed: Optional[int] = SeedOpt,
            seeds: Optional[int] = SeedsOpt, quiet: bool = QuietOpt, fmt: str = FormatOpt,
            member_figures: bool = MemberFigOpt, max_memory: Optional[str] = MemoryOpt) -> None:
    """Run several optimizers side by side on the same problem (one vectorized loop)."""
    names = None
    if optimizers is not None:
        names = [n.strip() for n in optimizers.split(",") if n.strip()]
        if not names:
            with error_boundary():
                raise ConfigError(f"--optimizers {optimizers!r}: expected comma-separated optimizer names, e.g. sgd,adam")
    _execute(config, set_, out_dir, seed, quiet, mode="compare", select=names, seeds=seeds, fmt=fmt,
             member_figures=member_figures, max_memory=max_memory)


def _execute(config: Path, overrides: list[str], out_dir: Path, seed: int | None, quiet: bool, mode: str,
             select: list[str] | None = None, seeds: int | None = None, fmt: str = "png",
             member_figures: bool = False, max_memory: str | None = None) -> None:
    with error_boundary():
        from ..allocator import keep_freed_memory
        from ..config import load_config
        from ..memory import parse_size
        from ..outputs import report
        from ..runner import run_config

        keep_freed_memory()
        _check_format(fmt)
        limit = parse_size(max_memory) if max_memory is not None else None
        cfg = load_config(config, overrides, select_optimizers=select, seed=seed, seeds=seeds, import_plugins=True)
        with report.progress_bars(enabled=not quiet and err.is_terminal, console=err) as bars:
            outcome = run_config(cfg, out=out_dir, mode=mode, progress=bars.steps,
                                 download_progress=bars.download, on_warning=_warning, fmt=fmt,
                                 member_figures=member_figures, max_memory=limit)  # warnings print before the loop
        if outcome.plot_error:
            _warning(outcome.plot_error)
        if not quiet:
            out.print(report.summary_table(outcome))
            for line in report.prediction_lines(outcome):
                out.print(line, markup=False)
        _finish(outcome, "metrics and summary so far are in the run directory")


@app.command()
def sweep(config: Optional[Path] = typer.Argument(None, help="YAML config file (optional with --resume).",
                                                  show_default=False),
          grid: List[str] = typer.Option([], "--grid", help="KEY=V1,V2,... or KEY=linspace(a,b,n) / logspace(a,b,n); "
                                          "repeat for a product grid."),
          set_: List[str] = SetOpt, out_dir: Path = OutOpt, seeds: Optional[int] = SeedsOpt, quiet: bool = QuietOpt,
          fmt: str = FormatOpt, workers: Optional[int] = WorkersOpt, scheduler: Optional[str] = SchedulerOpt,
          resume: Optional[Path] = ResumeOpt, max_memory: Optional[str] = MemoryOpt) -> None:
    """Run a grid of hyperparameters as one vectorized stack (or batches on workers)."""
    with error_boundary():
        from ..allocator import keep_freed_memory
        from ..memory import parse_size
        from ..outputs import report
        from ..sweeps.runner import resume_sweep, run_sweep

        keep_freed_memory()
        _check_format(fmt)
        if config is None and resume is None:
            raise ConfigError("sweep: give a CONFIG file, or --resume RUN_DIR to finish an interrupted sweep")
        limit = parse_size(max_memory) if max_memory is not None else None
        with report.progress_bars(enabled=not quiet and err.is_terminal, console=err) as bars:
            if resume is not None:
                outcome = resume_sweep(resume, config, grid, overrides=set_, progress=bars.steps, workers=workers,
                                       scheduler=scheduler, seeds=seeds)
            else:
                outcome = run_sweep(config, grid, overrides=set_, out=out_dir, progress=bars.steps, fmt=fmt,
                                    seeds=seeds, workers=workers, scheduler=scheduler, max_memory=limit)
        for w in outcome.warnings:
            _warning(w)
        if outcome.plot_error:
            err.print(f"[yellow]warning:[/] {escape(outcome.plot_error)}")
        if not quiet:
            out.print(report.sweep_table(outcome))
        _finish(outcome, f"the finished batches are kept; run the rest with: gdlab sweep --resume {outcome.run_dir}")
