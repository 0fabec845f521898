"""The study commands: tune (search settings, then compare them over seeds) and bench (a suite of problems to
their targets)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from .common import (ConfigArg, OutOpt, QuietOpt, SchedulerOpt, SeedOpt, SetOpt, WorkersOpt, _finish, _warn, app,
                     err, error_boundary, out)


@app.command()
def tune(config: Path = ConfigArg, set_: List[str] = SetOpt, out_dir: Path = OutOpt,
         seed: Optional[int] = SeedOpt,
         seeds: Optional[int] = typer.Option(None, "--seeds", help="Seeds of the final compare of the tuned settings "
                                             "(default: 5 fresh ones)."),
         quiet: bool = QuietOpt, workers: Optional[int] = WorkersOpt,
         scheduler: Optional[str] = SchedulerOpt) -> None:
    """Tune every optimizer on the same budget, then compare the tuned settings over seeds."""
    with error_boundary():
        from ..allocator import keep_freed_memory
        from ..outputs import report
        from ..tune.runner import run_tune

        keep_freed_memory()
        with report.progress_bars(enabled=not quiet and err.is_terminal, console=err) as bars:
            outcome = run_tune(config, out=out_dir, overrides=set_, seed=seed, seeds=seeds, progress=bars.steps,
                               workers=workers, scheduler=scheduler)
        _warn(outcome.warnings, outcome.plot_error)
        if not quiet:
            out.print(report.tune_table(outcome))
            if outcome.compare is not None:
                out.print(report.summary_table(outcome.compare))
        _finish(outcome, "what ran so far is in the tune directory")


@app.command()
def bench(suite: Path = typer.Argument(..., help="Suite YAML file (problems, targets, optimizers).",
                                       show_default=False),
          out_dir: Path = OutOpt, quiet: bool = QuietOpt, workers: Optional[int] = WorkersOpt,
          scheduler: Optional[str] = SchedulerOpt) -> None:
    """Run a suite of problems to their targets: results, performance profiles and scores."""
    with error_boundary():
        from ..allocator import keep_freed_memory
        from ..bench.runner import run_bench
        from ..outputs import report

        keep_freed_memory()
        with report.progress_bars(enabled=not quiet and err.is_terminal, console=err) as bars:
            outcome = run_bench(suite, out=out_dir, progress=bars.steps, workers=workers, scheduler=scheduler)
        _warn([], outcome.plot_error)
        if not quiet:
            out.print(report.bench_table(outcome))
        _finish(outcome, "the problems run so far are in the bench directory")
