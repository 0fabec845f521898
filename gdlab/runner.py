"""From a config to a finished run directory: build the problem, run the stack, write the results.

`run_config` is the library's entry point (`from gdlab import run_config`); the CLI is a thin layer over it.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Callable

import numpy as np

from . import memory, signals
from .config import Config, load_config, member_config, validate
from .config.repeats import reseeded
from .engine import Member, StackResult, make_schedule, run_stack
from .errors import ConfigError, OutputError
from .outputs.aggregate import AGGREGATE_FILE, aggregate, write_aggregate_csv
from .outputs.files import create_dir
from .outputs.rundir import (
    CsvSink,
    create_run_dir,
    member_dir_names,
    path_every,
    write_csv_rows,
    write_json,
    write_yaml,
)
from .optim.plugins import probe
from .outputs.results import HistorySink, MemberResult, RunResult
from .outputs.verdicts import not_settled
from .outputs.landscape_file import write_landscape
from .problems.build import build_problem, landscape
from .problems.stability import stability_warnings
from .problems.targets import Target
from .version import __version__

SUMMARY_COLUMNS = ["member", "optimizer", "status", "steps_run", "final_loss", "best_loss", "diverged_at",
                   "wall_time_s", "seed"]


MemberOutcome = MemberResult  # the names this module has always used
RunOutcome = RunResult


def run_config(
    config: Config | str | Path,
    *,
    out: str | Path | None = "runs",
    mode: str = "run",
    overrides: list[str] = (),
    seed: int | None = None,
    seeds: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    download_progress: Callable[[str, int, int | None], None] | None = None,
    plots: bool = True,
    directory: str | Path | None = None,
    on_warning: Callable[[str], None] | None = None,
    member_figures: bool = False,
    fmt: str = "png",
    max_memory: int | None = None,
) -> RunOutcome:
    """Run a config (a path or a loaded Config) and write its run directory under `out`.

    mode "run" takes a config with one optimizer; "compare" runs every optimizer of the config in one stack and
    writes a sub-directory per member plus overlay plots. With several seeds (`seeds:` in the config, or `seeds`
    here: a count from `seed`) every member runs once per seed in the same stack; each (member, seed) gets its
    own `seed-<k>` run directory, and the run directory an aggregate over the seeds.

    directory: write into exactly this new directory (created here, never reused) instead of one under `out`.
    on_warning: called with each warning (such as a learning rate past the stability edge) before the loop starts.
    member_figures: a compare also draws each member's own figures (by default the overlays and the grid only).
    fmt: png | svg | pdf.
    out=None (and no directory) writes nothing: each member's history, trajectory and summary stay in memory
    (RunResult.records(), .history_records(), .dataframe()).
    max_memory: bytes the run may use (default: what the machine has available); a run estimated to need more is
    refused before it starts (gdlab.memory).
    """
    cfg = config if isinstance(config, Config) else load_config(config, overrides, import_plugins=True)
    if seed is not None or seeds is not None:
        cfg = _reseeded(cfg, seed, seeds)
    if cfg.sweep:  # never drop a grid silently
        source = cfg.origin.source if cfg.origin else "CONFIG"
        raise ConfigError(f"sweep: this config has a `sweep:` block ({', '.join(cfg.sweep)}); `gdlab {mode}` runs "
                          f"one configuration and would leave the grid out.\n  run the grid with: gdlab sweep "
                          f"{source}\n  or this configuration alone with: gdlab {mode} {source} --set sweep=null")
    if mode == "run" and len(cfg.optimizers) > 1:
        raise ConfigError(f"optimizers: `gdlab run` takes one optimizer and this config lists {len(cfg.optimizers)} "
                          f"({', '.join(o.label for o in cfg.optimizers)}); use `gdlab compare` to run them side by side")
    seeds = cfg.all_seeds
    memory.check(memory.estimate(cfg, len(cfg.optimizers) * len(seeds)), max_memory, f"this {mode}")  # before any
    # data is read
    row_seeds = np.tile(np.asarray(seeds), len(cfg.optimizers))  # rows member-major: member i, seed j at i·S + j
    problem = build_problem(cfg.problem, seed=cfg.seed if len(seeds) == 1 else row_seeds, dtype=cfg.dtype,
                            predict=cfg.predict, download_progress=download_progress)  # before any directory
    # exists: missing data must leave nothing behind
    for o in cfg.optimizers:  # a plugin's first steps on a copy: its mistakes stop here, before any directory
        if o.plugin is not None:
            probe(o.plugin, o.hparams, problem.dim, cfg.dtype, o.label)
    members = [Member(o.label, o.optimizer, o.hparams, o.schedule) for o, _ in _rows(cfg)]
    total = problem.total_steps(cfg.steps, cfg.epochs)
    constant = [o for o in cfg.optimizers if cfg.member_schedule(o)[0] == "constant"]  # the theory's assumption
    warnings = stability_warnings(cfg.problem, constant, steps=total, dtype=cfg.dtype)
    for w in warnings if on_warning is not None else ():
        on_warning(w)  # before the loop: a run that will diverge says so first
    eval_every = cfg.eval_every or (problem.default_eval_every(total) if problem.kind == "dataset" else None)
    target = Target("suboptimality", cfg.tol) if getattr(problem, "optimum", None) is not None else None
    many = len(seeds) > 1
    run = dict(steps=cfg.steps, epochs=cfg.epochs, schedule=make_schedule(*cfg.schedule), dtype=cfg.dtype,
               log_every=cfg.log_every, eval_every=eval_every,
               path_every=path_every(total) if problem.dim <= 10 else 0, progress=progress, target=target)
    if out is None and directory is None:
        sink = HistorySink(problem.dim)
        result = run_stack(problem, members, sink=sink, **run)
        outcomes = _outcomes(cfg, result, [None] * len(members), warnings, _predictions(problem, cfg, result),
                             target, _unsettled(problem, result), sink)
        return RunResult(None, mode, outcomes, warnings, result.interrupted, seeds=seeds,
                         aggregate=_aggregate(cfg, outcomes, target is not None) if many else None,
                         labels=[o.label for o in cfg.optimizers])
    with signals.held():  # Ctrl-C or SIGTERM stops the loop only; the directory's files are written whole
        run_dir = create_run_dir(out, cfg.name) if directory is None else create_dir(Path(directory))
        member_dirs = _member_dirs(run_dir, cfg, mode)
        if mode == "compare" or many:
            write_yaml(run_dir / "config.yaml", cfg.resolved)
        for d, (o, s) in zip(member_dirs, _rows(cfg)):
            write_yaml(d / "config.yaml", member_config(cfg, o, seed=s if many else None))
        sink = CsvSink(member_dirs, problem.dim, tuple(getattr(problem, "step_columns", ())) + problem.metric_columns)
        try:
            result = run_stack(problem, members, sink=sink, **run)  # held: the engine opens its own window
        finally:
            sink.close()
        outcomes = _outcomes(cfg, result, member_dirs, warnings, _predictions(problem, cfg, result), target,
                             _unsettled(problem, result))
        if mode == "compare" or many:
            extra = (["steps_to_tol"] if target else []) + sorted(outcomes[0].metrics)
            write_csv_rows(run_dir / "summary.csv", SUMMARY_COLUMNS + extra,
                           [_summary_row(m, extra) for m in outcomes])
        aggregated = _aggregate(cfg, outcomes, target is not None) if many else None
        if many:
            write_aggregate_csv(run_dir / AGGREGATE_FILE, [o.label for o in cfg.optimizers],
                                [o.name for o in cfg.optimizers], aggregated)
        if problem.dim <= 2:
            _save_landscape(cfg, [run_dir] + [d for d in member_dirs if d != run_dir])
    outcome = RunOutcome(run_dir, mode, outcomes, warnings, result.interrupted or signals.pending(), seeds=seeds,
                         aggregate=aggregated, labels=[o.label for o in cfg.optimizers])
    if plots:
        outcome.plot_error, outcome.output_error = _draw(run_dir, member_dirs, mode, len(seeds), member_figures, fmt)
        outcome.interrupted = outcome.interrupted or outcome.plot_error == _not_drawn(run_dir)
    return outcome


def _save_landscape(cfg: Config, dirs: list[Path]) -> None:
    """The landscape of a plugin objective or a model on data, saved for `gdlab plot` (which never runs a plugin
    nor loads data; built-in objectives it recomputes). Written once, linked into each member's directory."""
    if cfg.problem.kind == "objective" and ":" not in cfg.problem.name:
        return
    try:
        land = landscape(cfg.problem)
    except Exception:  # noqa: BLE001 - a plugin failing off its path: the figures draw without a landscape
        return
    if land is None:
        return
    first = write_landscape(dirs[0], land)
    for d in dirs[1:]:
        try:
            os.link(first, d / first.name)  # the same bytes for every member: one copy on disk
        except OSError:
            write_landscape(d, land)


def _not_drawn(run_dir: Path) -> str:
    return f"plots not drawn (interrupted); draw them with: gdlab plot {run_dir}"


def _draw(run_dir: Path, member_dirs: list[Path], mode: str, seeds: int = 1, member_figures: bool = False,
          fmt: str = "png") -> tuple[str | None, str | None]:
    """(warning, error) of drawing the standard figures; the results are on disk already, so nothing is raised.

    A signal held back while the results were written, or one arriving now, skips the figures (gdlab plot
    redraws them); a full disk is an error (exit 1) that keeps the results.
    """
    from .figures.standard import draw_outputs  # matplotlib only when figures are wanted

    try:
        with signals.allowed():
            signals.check()
            return draw_outputs(run_dir, member_dirs, mode, seeds=seeds, member_figures=member_figures, fmt=fmt), None
    except KeyboardInterrupt:
        return _not_drawn(run_dir), None
    except OutputError as exc:
        return None, f"{exc}; the results are in {run_dir} (redraw the figures with gdlab plot {run_dir})"


def _reseeded(cfg: Config, seed: int | None, seeds: int | None) -> Config:
    """`cfg` with --seed / --seeds applied (see config.repeats.reseeded)."""
    o = cfg.origin
    return validate(reseeded(cfg.resolved, seed, seeds), name=cfg.name, source=o.source if o else "config",
                    base_dir=o.base_dir if o else None, import_plugins=o.import_plugins if o else False)


def _rows(cfg: Config) -> list[tuple]:
    """(optimizer entry, seed) of every row of the stack, member-major."""
    return [(o, s) for o in cfg.optimizers for s in cfg.all_seeds]


def _aggregate(cfg: Config, outcomes: list[MemberOutcome], with_tol: bool) -> dict:
    """Statistics over the seeds of each member: outcomes are member-major rows, S per member."""
    shape = (len(cfg.optimizers), len(cfg.all_seeds))

    def grid(get) -> np.ndarray:
        return np.array([get(m) for m in outcomes], dtype=float).reshape(shape)

    table = {"final_loss": grid(lambda m: m.final_loss), "best_loss": grid(lambda m: m.best_loss)}
    for key in ("val_loss", "val_accuracy"):
        if key in outcomes[0].metrics:
            table[key] = grid(lambda m, k=key: m.metrics[k])
    steps = grid(lambda m: -1 if m.steps_to_tol is None else m.steps_to_tol) if with_tol else None
    return aggregate(table, grid(lambda m: m.status == "diverged").astype(bool), steps)


def _member_dirs(run_dir: Path, cfg: Config, mode: str) -> list[Path]:
    """The run directory of every row: the run itself; a sub-directory per member (compare); with several seeds
    a `seed-<k>` directory per seed (inside the member's for a compare)."""
    seeds = cfg.all_seeds
    if mode != "compare":
        return [create_dir(run_dir / f"seed-{s}") for s in seeds] if len(seeds) > 1 else [run_dir]
    dirs = []
    for name in member_dir_names([o.label for o in cfg.optimizers]):
        member = create_dir(run_dir / name)
        dirs += [create_dir(member / f"seed-{s}") for s in seeds] if len(seeds) > 1 else [member]
    return dirs


def _unsettled(problem, result: StackResult) -> np.ndarray:
    """(R,) bool: toys that completed above their start loss (outputs.verdicts); datasets are not judged here
    (their start loss would need a pass over the data, and their mini-batch losses are noisy anyway)."""
    if problem.kind != "objective":
        return np.zeros(len(result.status), dtype=bool)
    start, _ = problem.final_loss(problem.initial_params(len(result.status)))  # the noiseless loss at the start
    return not_settled(result.status, start, result.final_loss)


def _predictions(problem, cfg: Config, result: StackResult) -> np.ndarray:
    """(R, n_inputs, K) the trained models' outputs at the config's `predict` inputs."""
    if not cfg.predict:
        return np.zeros((len(result.status), 0, 0))
    return problem.predict(result.final_params, np.asarray(cfg.predict))


def _outcomes(cfg: Config, result: StackResult, dirs: list[Path | None], warnings: list[str], predictions: np.ndarray,
              target: Target | None, unsettled: np.ndarray, sink: HistorySink | None = None) -> list[MemberResult]:
    """Every row's summary (written as summary.json where it has a directory) and MemberResult; with the in-memory
    sink, each row's history and trajectory too."""
    outcomes = []
    many = len(cfg.all_seeds) > 1
    for i, (d, (o, seed)) in enumerate(zip(dirs, _rows(cfg))):
        predicted = [(list(x), predictions[i, j].tolist()) for j, x in enumerate(cfg.predict)]
        diverged = int(result.diverged_at[i]) if result.diverged_at[i] >= 0 else None
        metrics = {k: float(v[i]) for k, v in result.final_metrics.items() if k != "train_loss"}  # = final_loss
        reached = None if target is None or result.reached_at[i] < 0 else int(result.reached_at[i])
        summary = {
            "label": o.label,
            "optimizer": o.name,
            "status": result.status[i],
            "steps_run": int(result.steps_run[i]),
            "total_steps": result.total_steps,
            "final_loss": float(result.final_loss[i]),
            "best_loss": float(result.best_loss[i]),
            "final_params": result.final_params[i].tolist() if result.final_params.shape[1] <= 10 else None,
            "diverged_at": diverged,
            "settled": None if result.status[i] != "completed" else not bool(unsettled[i]),
            "blowup": ({k: float(v[i]) for k, v in result.blowup.items()} if diverged is not None else None),
            **({"error": result.failures[i]} if i in result.failures else {}),
            **({"steps_to_tol": reached, "tol": cfg.tol} if target else {}),
            **metrics,
            **({"predictions": [{"input": x, "output": y} for x, y in predicted]} if predicted else {}),
            "wall_time_s": round(result.wall_time_s, 6),
            "warnings": [w for w in warnings if w.startswith(f"{o.label}:")],
            "seed": seed,
            "gdlab_version": __version__,
            "numpy_version": np.__version__,
            "python_version": platform.python_version(),
            "config": member_config(cfg, o, seed=seed if many else None),
        }
        if d is not None:
            write_json(d / "summary.json", summary)
        history, (steps, path) = (sink.history(i), sink.trajectory(i)) if sink is not None else ({}, (None, None))
        outcomes.append(MemberResult(o.label, o.name, result.status[i], int(result.steps_run[i]),
                                     float(result.final_loss[i]), float(result.best_loss[i]), diverged,
                                     result.wall_time_s, d, metrics, predicted, result.failures.get(i), history,
                                     path, steps, summary, seed, reached, summary["final_params"],
                                     bool(unsettled[i])))
    return outcomes


def _summary_row(m: MemberOutcome, extra: list[str]) -> list:
    values = {"steps_to_tol": "" if m.steps_to_tol is None else m.steps_to_tol, **m.metrics}
    return [m.label, m.optimizer, m.status, m.steps_run, m.final_loss, m.best_loss,
            "" if m.diverged_at is None else m.diverged_at, round(m.wall_time_s, 6), m.seed] + \
           [values[k] for k in extra]
