"""`gdlab sweep`: a grid planned as few vectorized stacks as possible (plan.py), each run (batch.py), the results
put back in grid order (merge.py) and written as one directory: a summary.csv row per member, the loss histories in
metrics.npz, and plots. Nothing is written per member (thousands of members are normal).
"""

from __future__ import annotations

import platform
from pathlib import Path
from typing import Callable

import numpy as np

from .. import memory, signals
from ..config import Config, load_config
from ..config.grid import grid_axes
from ..errors import ConfigError, OutputError
from ..optim.plugins import probe
from ..plugins import PluginRef
from ..outputs.batch_records import recorded_keys, remove_records, write_plan
from ..outputs.repetitions import collapse_seeds, write_sweep_aggregate
from ..outputs.rundir import create_run_dir, write_json, write_yaml
from ..outputs.sweep_dir import SweepHistory
from ..outputs.verdicts import fate_counts, not_settled
from ..problems.learning import keep_datasets
from ..problems.stability import sweep_theory
from ..version import __version__
from .batch import BatchResult, run_batch
from .cutting import choose_pieces, cut, with_log_every
from .execute import execute, ready_worker
from .executors import open_executor
from .merge import STATUS_FAILED, STATUS_NOT_RUN, History, SweepOutcome, assemble
from .plan import SweepPlan, plan_sweep
from .recorded import assemble_gathered, load_result
from .resume import check_same, identity, recorded_source, resumable_record

__all__ = ["SweepOutcome", "run_sweep", "resume_sweep", "STATUS_NOT_RUN"]


def run_sweep(config: str | Path | Config, grid: list[str] = (), *, overrides: list[str] = (),
              out: str | Path | None = "runs", progress: Callable[[int, int], None] | None = None,
              plots: bool = True, fmt: str = "png", seeds: int | None = None, workers: int | None = None,
              scheduler: str | None = None, max_memory: int | None = None) -> SweepOutcome:
    """Run the grid of `config` (its `sweep:` mapping, then the `--grid` options) and write its directory under
    `out` (out=None: nothing is written; the outcome and its `history` stay in memory).

    seeds: run every grid point with that many seeds (a `seed` axis in the same stack, summarised per point).
    workers: local worker processes (None or 1: this process); scheduler: a Dask scheduler's address (or the
    environment's GDLAB_DASK_SCHEDULER). Each finished batch is recorded in the directory as it completes, so that
    an interrupted sweep can be finished with resume_sweep.
    max_memory: bytes the sweep may use (default: what the machine has available); a sweep estimated to need more
    is refused before any data is read or directory made (gdlab.memory).
    """
    cfg = config if isinstance(config, Config) else load_config(config, overrides, import_plugins=True, seeds=seeds)
    with open_executor(workers, scheduler, keep_memory=_keeps_memory()) as executor:  # exit 2 before any directory
        plan, totals, work = _prepared(cfg, list(grid), max_memory, executor)
        theory = _theory(cfg, plan)
        pieces = choose_pieces(plan, totals, work, executor.workers)
        batches = cut(plan, pieces)
        totals_of = {b.number: totals[stack] for b, (stack, _, _) in zip(batches.batches, pieces)}
        if out is None:
            results, _ = execute(list(batches.batches), totals_of, executor, None, progress)
            outcome, history = assemble(batches, results)
            outcome.history, outcome.theory = history, theory
            outcome.unsettled = not_settled(outcome.status, history.loss[0], outcome.final_loss)
            return outcome
        with signals.held():  # Ctrl-C or SIGTERM stops the loop only; every file of the directory is written whole
            run_dir = create_run_dir(out, cfg.name)
            write_yaml(run_dir / "config.yaml", plan.written_config)
            source = None if isinstance(config, Config) else str(Path(config).resolve())
            write_plan(run_dir, {**identity(plan.written_config), "pieces": pieces, "source": source, "fmt": fmt,
                                 "overrides": list(overrides), "grid": list(grid), "seeds": seeds})
            results, _ = execute(list(batches.batches), totals_of, executor, run_dir, progress)
            outcome = _written(run_dir, cfg, batches, results, executor, len(plan.batches), theory)
    return _drawn(outcome, plots, fmt)


def resume_sweep(run_dir: str | Path, config: str | Path | None = None, grid: list[str] = (), *,
                 overrides: list[str] = (), progress: Callable[[int, int], None] | None = None, plots: bool = True,
                 workers: int | None = None, scheduler: str | None = None, seeds: int | None = None) -> SweepOutcome:
    """Finish an interrupted sweep: run the batches `run_dir` has no record of, then write it as a whole.

    The sweep is planned again from the config it started with (or `config` with its --grid, --set and --seeds);
    anything that differs from what the directory recorded (config, gdlab or NumPy version) refuses, naming it.
    """
    run_dir = Path(run_dir)
    record = resumable_record(run_dir, "sweep")  # a tune or bench records its batches the same way
    if config is None:
        config = recorded_source(record, run_dir, "sweep")
        grid, overrides, seeds = record["grid"], record["overrides"], record.get("seeds")
    cfg = load_config(config, overrides, import_plugins=True, seeds=seeds)
    with open_executor(workers, scheduler, keep_memory=_keeps_memory()) as executor:
        plan, totals, _ = _prepared(cfg, list(grid), executor=executor)
        check_same(record, identity(plan.written_config), run_dir)
        pieces = [tuple(p) for p in record["pieces"]]
        batches = cut(plan, pieces)
        totals_of = {b.number: totals[stack] for b, (stack, _, _) in zip(batches.batches, pieces)}
        done = {int(key.rsplit("-", 1)[1]) for key in recorded_keys(run_dir) if key.startswith("batch-")}
        with signals.held():
            kept = [load_result(run_dir, number) for number in sorted(done)]
            todo = [b for b in batches.batches if b.number not in done]
            results, _ = execute(todo, totals_of, executor, run_dir, progress)
            outcome = _written(run_dir, cfg, batches, kept + results, executor, len(plan.batches),
                               _theory(cfg, plan))
    return _drawn(outcome, plots, record.get("fmt", "png"))


def _theory(cfg: Config, plan: SweepPlan) -> dict | None:
    """What the figures need to draw one optimizer's stability edges (None for compare sweeps)."""
    if plan.entries:
        return None
    return sweep_theory(cfg.problem, cfg.optimizers[0].name, cfg.optimizers[0].hparams, [a.path for a in plan.axes])


def _prepared(cfg: Config, grid: list[str], max_memory: int | None = None,
              executor=None) -> tuple[SweepPlan, list[int], list[int]]:
    """The plan of the sweep, each stack's total steps and work per member-step (parameters × rows a step sees);
    its memory checked (gdlab.memory) before any data is read, then every stack's problem built once before anything
    is written (missing data, a plugin that fails its probe: an error and no directory), then let go.

    executor: its workers are started meanwhile, each building the first data stack's problem (read the data, touch
    the memory) while this process builds and probes: their start-up overlaps this one's work."""
    plan = plan_sweep(cfg, grid_axes(cfg.sweep, grid))
    given = cfg.origin is not None and "log_every" in (cfg.origin.given or {})
    memory.check(plan_estimate(plan, bounded=not given), max_memory, f"this sweep of {plan.size:,} members")
    if executor is not None:
        executor.prepare(ready_worker, tuple(b.problem for b in plan.batches if b.problem.spec.kind == "dataset")[:1],
                         _keeps_memory())
    totals, work = [], []
    with keep_datasets():
        for batch in plan.batches:
            problem = batch.problem.build()
            probe_plugins(batch, problem.dim)
            totals.append(problem.total_steps(batch.config.steps, batch.config.epochs))
            work.append(_work(problem, batch))
    return with_log_every(plan, totals, given), totals, work


def _keeps_memory() -> bool:
    """Workers tune the allocator as their parent did (the command line does; a library caller does not)."""
    from ..allocator import applied

    return applied()


def _written(run_dir: Path, cfg: Config, plan: SweepPlan, results: list[BatchResult], executor, stacks: int,
             theory: dict | None) -> SweepOutcome:
    """summary.csv, metrics.npz, aggregate.csv and summary.json of the sweep from its batches' results; the records
    are removed once every batch has run (a complete directory is the same however it was computed)."""
    from ..outputs.sweep_dir import read_metrics, write_sweep_files  # formatting only once the numbers exist

    outcome, rows = assemble_gathered(plan, results)
    outcome.run_dir, outcome.theory = run_dir, theory
    outcome.unsettled = not_settled(outcome.status, rows.start(), outcome.final_loss)  # summary.csv says which
    write_sweep_files(outcome, SweepHistory(rows.steps, rows))
    outcome.history = SweepHistory(rows.steps, read_metrics(run_dir / "metrics.npz")["loss"])  # read when used
    write_sweep_aggregate(outcome)  # with a seed axis: statistics over the seeds of each grid point
    summary = {**_summary(outcome, cfg, plan), "stacks": stacks}
    summary["executor"] = {"kind": executor.name, "workers": executor.workers, "batches": len(plan.batches)}
    write_json(run_dir / "summary.json", summary)
    outcome.resumable = bool(outcome.interrupted or outcome.failures)  # the records stay for --resume
    if not outcome.resumable:
        remove_records(run_dir)
    return outcome


def _drawn(outcome: SweepOutcome, plots: bool, fmt: str) -> SweepOutcome:
    outcome.interrupted = outcome.interrupted or signals.pending()
    if plots:
        _draw(outcome, outcome.history, fmt)
    return outcome


def plan_estimate(plan: SweepPlan, bounded: bool = False) -> memory.Estimate:
    """The memory a plan's batches need (the largest stack, and every member's history until the files are
    written); each stack's optimizer state counted for the largest state among its groups; bounded: the sweep logs
    a bounded history (the config does not set log_every)."""
    states = [max(memory.state_arrays(g.optimizer if isinstance(g.optimizer, str) else None,
                                      {k: _first(v) for k, v in g.hparams.items()}) for g in b.groups)
              for b in plan.batches]
    return memory.sweep_estimate([b.config for b in plan.batches], [len(b.members) for b in plan.batches], states,
                                 bounded)


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


def run_plan(plan: SweepPlan, executor, progress: Callable[[int, int], None] | None = None,
             target=None) -> list[BatchResult]:
    """A plan's batches on an executor's workers, cut as a sweep's are, the results kept in memory (tune, bench:
    their trials and reruns). `target`: steps to it recorded per member."""
    problems = [b.problem.build() for b in plan.batches]
    totals = [p.total_steps(b.config.steps, b.config.epochs) for p, b in zip(problems, plan.batches)]
    if executor.workers == 1 and executor.name == "in-process":
        return run_batches(plan, problems, totals, progress, target)
    work = [_work(p, b) for p, b in zip(problems, plan.batches)]
    pieces = choose_pieces(plan, totals, work, executor.workers)
    batches = cut(plan, pieces)
    totals_of = {b.number: totals[stack] for b, (stack, _, _) in zip(batches.batches, pieces)}
    return execute(list(batches.batches), totals_of, executor, None, progress, target)[0]


def _work(problem, batch) -> int:
    """Multiply-adds per member and step: parameters × rows a step sees (1 for a toy)."""
    rows = getattr(problem, "X", None)
    return problem.dim * (1 if rows is None else batch.config.problem.batch_size or len(rows))


def run_batches(plan: SweepPlan, problems: list, totals: list[int],
                progress: Callable[[int, int], None] | None, target=None) -> list[BatchResult]:
    """The batches one after the other in this process; an interrupt keeps what ran and skips the rest.
    target: steps to it recorded per member (tune, bench)."""
    results, done, grand = [], 0, sum(totals)
    for batch, problem, total in zip(plan.batches, problems, totals):
        if signals.pending():  # a signal held back between two batches: the rest is not run
            break
        report = None if progress is None else (lambda d, t, o=done: progress(o + d, grand))
        result = run_batch(batch, problem, report, target)  # held: the engine opens the window a signal stops
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
