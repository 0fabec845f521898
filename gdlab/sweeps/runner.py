"""`gdlab sweep`: a grid planned as few vectorized stacks as possible (plan.py), each run (batch.py), the results
put back in grid order (merge.py) and written as one directory: a summary.csv row per member, the loss histories in
metrics.npz, and plots. Nothing is written per member (thousands of members are normal).
"""

from __future__ import annotations

import platform
from pathlib import Path
from typing import Callable

import numpy as np

from .. import signals
from ..config import Config, load_config
from ..config.grid import grid_axes
from ..errors import OutputError
from ..optim.plugins import probe
from ..plugins import PluginRef
from ..outputs.repetitions import collapse_seeds, write_sweep_aggregate
from ..outputs.rundir import create_run_dir, write_json, write_yaml
from ..outputs.verdicts import fate_counts, not_settled
from ..problems.stability import sweep_theory
from ..version import __version__
from .batch import BatchResult, run_batch
from .merge import STATUS_FAILED, STATUS_NOT_RUN, History, SweepOutcome, assemble
from .plan import SweepPlan, plan_sweep

__all__ = ["SweepOutcome", "run_sweep", "STATUS_NOT_RUN"]


def run_sweep(config: str | Path | Config, grid: list[str] = (), *, overrides: list[str] = (),
              out: str | Path | None = "runs", progress: Callable[[int, int], None] | None = None,
              plots: bool = True, fmt: str = "png", seeds: int | None = None) -> SweepOutcome:
    """Run the grid of `config` (its `sweep:` mapping, then the `--grid` options) and write its directory under
    `out` (out=None: nothing is written; the outcome and its `history` stay in memory).

    seeds: run every grid point with that many seeds (a `seed` axis in the same stack, summarised per point).
    """
    cfg = config if isinstance(config, Config) else load_config(config, overrides, import_plugins=True, seeds=seeds)
    plan = plan_sweep(cfg, grid_axes(cfg.sweep, list(grid)))
    problems = [b.problem.build() for b in plan.batches]  # before any directory exists: missing data leaves nothing
    for batch, problem in zip(plan.batches, problems):
        probe_plugins(batch, problem.dim)
    totals = [p.total_steps(b.config.steps, b.config.epochs) for p, b in zip(problems, plan.batches)]
    theory = sweep_theory(cfg.problem, cfg.optimizers[0].name, cfg.optimizers[0].hparams,
                          [a.path for a in plan.axes]) if not plan.entries else None  # one optimizer's edges
    if out is None:
        return _in_memory(plan, problems, totals, progress, theory)
    with signals.held():  # Ctrl-C or SIGTERM stops the loop only; every file of the directory is written whole
        run_dir = create_run_dir(out, cfg.name)
        write_yaml(run_dir / "config.yaml", plan.written_config)
        results = run_batches(plan, problems, totals, progress)
        outcome, history = _assembled(plan, results, theory)
        outcome.run_dir = run_dir
        from ..outputs.sweep_dir import write_sweep_files  # formatting only once the numbers exist

        write_sweep_files(outcome, history)
        write_sweep_aggregate(outcome)  # with a seed axis: statistics over the seeds of each grid point
        write_json(run_dir / "summary.json", _summary(outcome, cfg, plan))
    outcome.interrupted = outcome.interrupted or signals.pending()
    if plots:
        _draw(outcome, history, fmt)
    return outcome


def _in_memory(plan: SweepPlan, problems: list, totals: list[int], progress, theory) -> SweepOutcome:
    return _assembled(plan, run_batches(plan, problems, totals, progress), theory)[0]


def _assembled(plan: SweepPlan, results: list[BatchResult], theory) -> tuple[SweepOutcome, History]:
    """The outcome in grid order with its history, the members' fates (not settled) and the theory's edges."""
    outcome, history = assemble(plan, results)
    outcome.history, outcome.theory = history, theory
    outcome.unsettled = not_settled(outcome.status, history.loss[0], outcome.final_loss)
    return outcome, history


def probe_plugins(batch, dim: int) -> None:
    """A plugin's first steps on a copy, with the first member's hyperparameters of each group that uses one."""
    for g in batch.groups:
        if isinstance(g.optimizer, PluginRef):
            first = {k: _first(v) for k, v in g.hparams.items()}
            probe(g.optimizer, first, dim, batch.config.dtype, g.optimizer.attr)


def _first(value):
    if isinstance(value, tuple):
        return tuple(_first(v) for v in value)
    return float(value[0]) if isinstance(value, np.ndarray) else value


def run_batches(plan: SweepPlan, problems: list, totals: list[int],
                progress: Callable[[int, int], None] | None, target=None) -> list[BatchResult]:
    """The batches one after the other in this process; an interrupt keeps what ran and skips the rest.
    target: steps to it recorded per member (tune, bench)."""
    results, done, grand = [], 0, sum(totals)
    for batch, problem, total in zip(plan.batches, problems, totals):
        if signals.pending():  # a signal held back between two batches: the rest is not run
            break
        report = None if progress is None else (lambda d, t, o=done: progress(o + d, grand))
        with signals.allowed():
            result = run_batch(batch, problem, report, target)
        results.append(result)
        done += total
        if result.interrupted:
            break
    return results


def _draw(outcome: SweepOutcome, history: History, fmt: str) -> None:
    """The sweep figures; a failure or Ctrl-C is reported, not raised (the numbers are on disk already)."""
    from ..figures.standard import draw_sweep_figures  # matplotlib only when figures are wanted

    redraw = f"gdlab plot {outcome.run_dir}"
    try:
        with signals.allowed():
            signals.check()  # held back while the files were written: no figures
            draw_sweep_figures(outcome, outcome.index, history, fmt=fmt)
    except OutputError as exc:  # a full disk: exit 1, the numbers are kept
        outcome.output_error = f"{exc}; the results are in {outcome.run_dir} (redraw the figures with {redraw})"
    except Exception as exc:  # noqa: BLE001 - the numbers are on disk; report the figure problem
        outcome.plot_error = f"plots could not be drawn: {type(exc).__name__}: {exc}"
    except KeyboardInterrupt:
        outcome.plot_error = f"plots not drawn (interrupted); draw them with: {redraw}"
        outcome.interrupted = True


def _summary(o: SweepOutcome, cfg: Config, plan: SweepPlan) -> dict:
    counts = fate_counts(o.status, o.unsettled)
    if o.failures:
        counts[STATUS_FAILED] = int(np.sum(o.status == STATUS_FAILED))
    c, _, _ = collapse_seeds(o, o.index, o.history)  # seeds are repetitions: the best grid point by its median
    finite = np.where(np.isfinite(c.final_loss) & (c.status == "completed"), c.final_loss, np.inf)
    best = int(np.argmin(finite)) if np.isfinite(finite).any() else None
    summary = {
        "status": "interrupted" if o.interrupted else "completed",
        "members": len(o.labels),
        "counts": counts,
        "best_member": None if best is None else c.labels[best],
        "best_final_loss": None if best is None else float(c.final_loss[best]),
        **({"repetitions": c.repetitions, "best_is": "median over seeds"} if c is not o else {}),
        "grid": {a.key: len(a.values) for a in o.axes},
        "stability_theory": o.theory,
        "stacks": len(plan.batches),
        "wall_time_s": round(o.wall_time_s, 6),
        "seed": cfg.seed,
        "gdlab_version": __version__,
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
        "config": {k: v for k, v in plan.written_config.items() if k != "sweep"},
    }
    if o.warnings:
        summary["warnings"] = list(o.warnings)
    if o.failures:
        summary["failures"] = _failure_summary(o)
    return summary


def _failure_summary(o: SweepOutcome) -> dict:
    """Why members failed, each reason once with how many members it stopped and the first of them."""
    reasons: dict[str, list[int]] = {}
    for member, why in sorted(o.failures.items()):
        reasons.setdefault(why, []).append(member)
    return {why: {"members": len(ms), "first": o.labels[ms[0]]} for why, ms in reasons.items()}
