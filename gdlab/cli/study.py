"""The study commands: tune (search settings, then compare them over seeds) and bench (a suite of problems to
their targets)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from ..errors import ConfigError
from .common import (MemoryOpt, OutOpt, QuietOpt, ResumeOpt, SchedulerOpt, SeedOpt, SetOpt, WorkersOpt, _finish,
                     _warn, app, err, error_boundary, out)


@app.command()
def tune(config: Optional[Path] = typer.Argument(None, help="YAML config file (optional with --resume).",
                                                show_default=False),
         set_: List[str] = SetOpt, out_dir: Path = OutOpt,
         seed: Optional[int] = SeedOpt,
         seeds: Optional[int] = typer.Option(None, "--seeds", help="Seeds of the final compare of the tuned settings "
                                             "(default: 5 fresh ones)."),
         quiet: bool = QuietOpt, workers: Optional[int] = WorkersOpt,
         scheduler: Optional[str] = SchedulerOpt, resume: Optional[Path] = ResumeOpt,
         max_memory: Optional[str] = MemoryOpt) -> None:
    """Tune every optimizer on the same budget, then compare the tuned settings over seeds."""
    with error_boundary():
        from ..allocator import keep_freed_memory
        from ..memory import parse_size
        from ..outputs import report
        from ..tune.runner import resume_tune, run_tune

        keep_freed_memory()
        limit = parse_size(max_memory) if max_memory is not None else None
        if config is None and resume is None:
            raise ConfigError("tune: give a CONFIG file, or --resume TUNE_DIR to finish an interrupted tune")
        with report.progress_bars(enabled=not quiet and err.is_terminal, console=err) as bars:
            if resume is not None:
                outcome = resume_tune(resume, config, overrides=set_, seed=seed, seeds=seeds, progress=bars.steps,
                                      workers=workers, scheduler=scheduler, max_memory=limit)
            else:
                outcome = run_tune(config, out=out_dir, overrides=set_, seed=seed, seeds=seeds, progress=bars.steps,
                                   workers=workers, scheduler=scheduler, max_memory=limit)
        _warn(outcome.warnings + outcome.notices, outcome.plot_error)
        if not quiet:
            out.print(report.tune_table(outcome))
            if outcome.compare is not None:
                out.print(report.summary_table(outcome.compare))
        _finish(outcome, f"the finished trials are kept; run the rest with: gdlab tune --resume {outcome.run_dir}")


@app.command()
def bench(suite: Optional[Path] = typer.Argument(None, help="Suite YAML file (problems, targets, optimizers; "
                                                 "optional with --resume).", show_default=False),
          out_dir: Path = OutOpt, quiet: bool = QuietOpt, workers: Optional[int] = WorkersOpt,
          scheduler: Optional[str] = SchedulerOpt, resume: Optional[Path] = ResumeOpt,
          max_memory: Optional[str] = MemoryOpt) -> None:
    """Run a suite of problems to their targets: results, performance profiles and scores."""
    with error_boundary():
        from ..allocator import keep_freed_memory
        from ..bench.runner import resume_bench, run_bench
        from ..memory import parse_size
        from ..outputs import report

        keep_freed_memory()
        limit = parse_size(max_memory) if max_memory is not None else None
        if suite is None and resume is None:
            raise ConfigError("bench: give a SUITE file, or --resume BENCH_DIR to finish an interrupted bench")
        with report.progress_bars(enabled=not quiet and err.is_terminal, console=err) as bars:
            if resume is not None:
                outcome = resume_bench(resume, suite, progress=bars.steps, workers=workers, scheduler=scheduler,
                                       max_memory=limit)
            else:
                outcome = run_bench(suite, out=out_dir, progress=bars.steps, workers=workers, scheduler=scheduler,
                                    max_memory=limit)
        _warn([], outcome.plot_error)
        if not quiet:
            out.print(report.bench_table(outcome))
        _finish(outcome, f"the finished problems are kept; run the rest with: gdlab bench --resume {outcome.run_dir}")
