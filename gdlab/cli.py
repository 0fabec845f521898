"""The command line: parse, call the library, print. The only place that prints errors and picks exit codes.

Heavy modules (NumPy, the engine, matplotlib) are imported inside the commands so that `gdlab --help` is quick.
"""

from __future__ import annotations

import sys
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, List, Optional

import typer
from rich.console import Console
from rich.markup import escape

from . import signals
from .errors import ConfigError, GdlabError

app = typer.Typer(
    help="gdlab: a lab for gradient-descent optimizers. Write a YAML config, run it, look at the plots.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
# piped output gets a wide console: tables are not squeezed into 80 columns and numbers are not cut
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def _show_version(value: bool) -> None:
    if value:
        from .version import __version__

        out.print(f"gdlab {__version__}")
        raise typer.Exit()


@app.callback()
def _options(version: bool = typer.Option(False, "--version", callback=_show_version, is_eager=True,
                                          help="Print gdlab's version and exit.")) -> None:
    """gdlab: a lab for gradient-descent optimizers. Write a YAML config, run it, look at the plots."""


LIST_KINDS = ("objectives", "datasets", "models", "losses", "optimizers", "schedules")

ConfigArg = typer.Argument(..., help="YAML config file.", show_default=False)
SetOpt = typer.Option([], "--set", help="Override a config key: --set optimizer.lr=0.6 (value parsed as YAML).")
OutOpt = typer.Option(Path("runs"), "--out", help="Parent folder of the new run directory.")
SeedOpt = typer.Option(None, "--seed", help="Random seed (overrides the config's seed).")
SeedsOpt = typer.Option(None, "--seeds", help="Run every member with N seeds (from --seed or the config's seed) in "
                        "one stack and aggregate them.")
QuietOpt = typer.Option(False, "--quiet", "-q", help="No progress bar and no table; print only the run directory.")
FormatOpt = typer.Option("png", "--format", help="Figure format: png | svg | pdf.")
MemberFigOpt = typer.Option(False, "--member-figures", help="Also draw each member's own figures (compare).")
FORMATS = ("png", "svg", "pdf")
MemoryOpt = typer.Option(None, "--max-memory", help="Memory the run may use, e.g. 8G (default: what the machine "
                         "has available); a bigger run is refused before it starts.")


@contextmanager
def error_boundary() -> Iterator[None]:
    """gdlab's own errors become one message on stderr and an exit code; never a traceback."""
    try:
        yield
    except GdlabError as exc:
        label = "config error" if isinstance(exc, ConfigError) else "error"
        err.print(f"[bold red]{label}:[/] {escape(str(exc))}")
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt as exc:  # Ctrl-C or SIGTERM before a run directory exists (or in `plot`)
        err.print("[yellow]interrupted[/]")
        raise typer.Exit(signals.exit_code(getattr(exc, "signum", None))) from None
    except SystemExit as exc:  # code gdlab ran (a plugin) called sys.exit: that is not gdlab finishing
        err.print(f"[bold red]error:[/] a plugin called sys.exit({escape(repr(exc.code))}) before gdlab finished; "
                  "no results were completed")
        raise typer.Exit(1) from None


def _holding_notice(signum: int) -> None:
    err.print("[yellow]interrupted:[/] finishing writing the results first (a third interrupt stops at once and "
              "leaves them incomplete)")


def _finish(outcome, what: str) -> None:
    """The run directory as the last line of stdout, then the exit code: 1 when its figures could not be
    written, 130 / 143 when it was interrupted."""
    out.print(str(outcome.run_dir), markup=False)
    failures = _failures(outcome)
    for reason, who in failures.items():
        err.print(f"[bold red]error:[/] {escape(who)} failed: {escape(reason)}")
    if failures:  # user code crashed during the run: what ran is kept, the command did not succeed
        err.print("[bold red]error:[/] what ran before the failure, and the other members, are in the directory")
        if getattr(outcome, "resumable", False):
            err.print(f"the failed batches run again with: gdlab sweep --resume {outcome.run_dir}")
        raise typer.Exit(1)
    if outcome.output_error:
        err.print(f"[bold red]error:[/] {escape(outcome.output_error)}")
        raise typer.Exit(1)
    if outcome.interrupted:
        err.print(f"[yellow]interrupted:[/] {what}")
        raise typer.Exit(signals.exit_code())


def _failures(outcome) -> dict[str, str]:
    """Why members failed, each reason once -> which members ("3 members", or the member's label)."""
    if hasattr(outcome, "members"):
        named = [(m.error, m.label) for m in outcome.members if m.error]
    else:
        named = [(why, outcome.labels[i]) for i, why in sorted(outcome.failures.items())]
    reasons: dict[str, list[str]] = {}
    for why, label in named:
        reasons.setdefault(why, []).append(label)
    return {why: labels[0] if len(labels) == 1 else f"{len(labels)} members" for why, labels in reasons.items()}


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


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        from .registry import did_you_mean

        raise ConfigError(f"--format {fmt!r}: unknown figure format{did_you_mean(fmt, FORMATS)}\n"
                          f"  accepted: {', '.join(FORMATS)}")


def _warning(text: str) -> None:
    err.print(f"[yellow]warning:[/] {escape(text)}")


def _execute(config: Path, overrides: list[str], out_dir: Path, seed: int | None, quiet: bool, mode: str,
             select: list[str] | None = None, seeds: int | None = None, fmt: str = "png",
             member_figures: bool = False, max_memory: str | None = None) -> None:
    with error_boundary():
        from .allocator import keep_freed_memory
        from .config import load_config
        from .memory import parse_size
        from .outputs import report
        from .runner import run_config

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


WorkersOpt = typer.Option(None, "--workers", help="Run batches on N local processes (1: this process).")
SchedulerOpt = typer.Option(None, "--scheduler", help="Send batches to a Dask cluster, tcp://HOST:PORT "
                            "(or set GDLAB_DASK_SCHEDULER); needs the extra: pip install 'gdlab\\[dask]'.")
ResumeOpt = typer.Option(None, "--resume", help="Finish an interrupted run directory: run only its missing batches.")


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
        from .allocator import keep_freed_memory
        from .memory import parse_size
        from .outputs import report
        from .sweeps.runner import resume_sweep, run_sweep

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


@app.command()
def tune(config: Path = ConfigArg, set_: List[str] = SetOpt, out_dir: Path = OutOpt,
         seed: Optional[int] = SeedOpt,
         seeds: Optional[int] = typer.Option(None, "--seeds", help="Seeds of the final compare of the tuned settings "
                                             "(default: 5 fresh ones)."),
         quiet: bool = QuietOpt, workers: Optional[int] = WorkersOpt,
         scheduler: Optional[str] = SchedulerOpt) -> None:
    """Tune every optimizer on the same budget, then compare the tuned settings over seeds."""
    with error_boundary():
        from .allocator import keep_freed_memory
        from .outputs import report
        from .tune.runner import run_tune

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
        from .allocator import keep_freed_memory
        from .bench.runner import run_bench
        from .outputs import report

        keep_freed_memory()
        with report.progress_bars(enabled=not quiet and err.is_terminal, console=err) as bars:
            outcome = run_bench(suite, out=out_dir, progress=bars.steps, workers=workers, scheduler=scheduler)
        _warn([], outcome.plot_error)
        if not quiet:
            out.print(report.bench_table(outcome))
        _finish(outcome, "the problems run so far are in the bench directory")


def _warn(warnings: list[str], plot_error: str | None) -> None:
    for w in warnings + ([plot_error] if plot_error else []):
        err.print(f"[yellow]warning:[/] {escape(w)}")


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
        from .figures.replot import replot

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


@app.command()
def stability(config: Path = ConfigArg, set_: List[str] = SetOpt, out_dir: Path = OutOpt,
              output: Optional[Path] = typer.Option(None, "--output", "-o", help="Figure file (.png, .svg, .pdf)."),
              fmt: str = FormatOpt) -> None:
    """Draw where momentum is stable in (lr, momentum) for the config's quadratic objective."""
    with error_boundary():
        from .config import load_config
        from .figures.stability_map import draw_for_config
        from .outputs.rundir import free_path, safe_name

        _check_format(fmt)
        cfg = load_config(config, set_)
        if output is not None:
            from .figures.replot import output_format

            output_format(output)  # checks the suffix
        target = output or free_path(out_dir, f"{safe_name(cfg.name)}-stability", f".{fmt}")
        out.print(str(draw_for_config(cfg, target)), markup=False)


def _plot_extras(run_dirs: list[Path], output: Path | None, animate: bool, export: Path | None) -> None:
    """`gdlab plot --animate` (with a progress bar) and `--export DIR`."""
    from .figures.replot import load_members
    from .outputs import report
    from .outputs.files import real_dir

    series, land, title = load_members(run_dirs)
    if export is not None:
        from .figures.export import export_figures

        for path in export_figures(series, land, export, title=title):
            out.print(str(path), markup=False)
    if animate:
        from .figures.animate import animate as draw_animation

        if land is None:
            raise ConfigError("--animate: these runs have no common 1- or 2-parameter landscape to draw on")
        if output is not None:
            from .figures.replot import check_output

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
        from .outputs import report

        if what is not None and what not in LIST_KINDS:
            from .registry import did_you_mean

            raise ConfigError(f"unknown list {what!r}{did_you_mean(what, LIST_KINDS)}\n  accepted: {', '.join(LIST_KINDS)}")
        plugins = []
        if config is not None:
            from .config import load_config

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
        from .config import load_config
        from .outputs import report

        cfg = load_config(config, set_, import_plugins=import_plugins)
        if import_plugins:
            from .optim.plugins import probe

            dim = len(cfg.problem.init) if cfg.problem.kind == "objective" else 3
            for o in cfg.optimizers:
                if o.plugin is not None:
                    probe(o.plugin, o.hparams, dim, cfg.dtype, o.label)
        out.print(report.describe_config(cfg))


def main() -> None:
    from .threads import limit_blas_threads

    limit_blas_threads()  # before anything imports NumPy: its BLAS reads the thread count once, when it loads
    signals.install(notice=_holding_notice)  # SIGTERM as Ctrl-C; a Ctrl-C while results are written waits
    # stderr carries gdlab's own messages only: NumPy's overflow in a diverging member is a result (summary.json
    # says so), and matplotlib's and a plugin's warnings are nothing the user can act on here
    warnings.filterwarnings("ignore", category=RuntimeWarning)
    warnings.filterwarnings("ignore", module="matplotlib")
    try:
        app()
    finally:
        signals.finished()  # the results are on disk: a late signal exits quietly, with its code


if __name__ == "__main__":
    sys.exit(main())
