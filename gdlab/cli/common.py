"""What every command shares: the typer app, the consoles, the options, the error boundary (the only place
gdlab's errors become a message and an exit code) and how a run's end is reported."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import typer
from rich.console import Console
from rich.markup import escape

from .. import signals
from ..errors import ConfigError, GdlabError

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
        from ..version import __version__

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


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        from ..registry import did_you_mean

        raise ConfigError(f"--format {fmt!r}: unknown figure format{did_you_mean(fmt, FORMATS)}\n"
                          f"  accepted: {', '.join(FORMATS)}")


def _warning(text: str) -> None:
    err.print(f"[yellow]warning:[/] {escape(text)}")


WorkersOpt = typer.Option(None, "--workers", help="Run batches on N local processes (1: this process).")
SchedulerOpt = typer.Option(None, "--scheduler", help="Send batches to a Dask cluster, tcp://HOST:PORT "
                            "(or set GDLAB_DASK_SCHEDULER); needs the extra: pip install 'gdlab\\[dask]'.")
ResumeOpt = typer.Option(None, "--resume", help="Finish an interrupted run directory: run only its missing batches.")


def _warn(warnings: list[str], plot_error: str | None) -> None:
    for w in warnings + ([plot_error] if plot_error else []):
        err.print(f"[yellow]warning:[/] {escape(w)}")
