"""From a config to a finished run directory: build the problem, run the stack, write the results.

`run_config` is the library's entry point (`from gdlab import run_config`); the CLI is a thin layer over it.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from . import signals
from .config import Config, load_config, member_config
from .engine import Member, StackResult, make_schedule, run_stack
from .errors import ConfigError, OutputError
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
from .problems.build import build_problem, stability_warnings
from .version import __version__

SUMMARY_COLUMNS = ["member", "optimizer", "status", "steps_run", "final_loss", "best_loss", "diverged_at",
                   "wall_time_s"]


@dataclass
class MemberOutcome:
    label: str
    optimizer: str
    status: str
    steps_run: int
    final_loss: float
    best_loss: float
    diverged_at: int | None
    wall_time_s: float
    run_dir: Path
    metrics: dict = field(default_factory=dict)  # whole-data metrics at the end (datasets): val_loss, ...
    predictions: list = field(default_factory=list)  # [(input row, output row)] for the config's `predict`


@dataclass
class RunOutcome:
    run_dir: Path
    mode: str
    members: list[MemberOutcome]
    warnings: list[str]
    interrupted: bool
    plot_error: str | None = None  # the figures could not be drawn (a warning: the results are whole)
    output_error: str | None = None  # the figures could not be written (disk full: exit 1, results kept)


def run_config(
    config: Config | str | Path,
    *,
    out: str | Path = "runs",
    mode: str = "run",
    overrides: list[str] = (),
    seed: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    download_progress: Callable[[str, int, int | None], None] | None = None,
    plots: bool = True,
) -> RunOutcome:
    """Run a config (a path or a loaded Config) and write its run directory under `out`.

    mode "run" takes a config with one optimizer; "compare" runs every optimizer of the config in one stack and
    writes a sub-directory per member plus overlay plots.
    """
    cfg = config if isinstance(config, Config) else load_config(config, overrides)
    if seed is not None:
        cfg = _with_seed(cfg, seed)
    if mode == "run" and len(cfg.optimizers) > 1:
        raise ConfigError(f"optimizers: `gdlab run` takes one optimizer and this config lists {len(cfg.optimizers)} "
                          f"({', '.join(o.label for o in cfg.optimizers)}); use `gdlab compare` to run them side by side")
    problem = build_problem(cfg.problem, seed=cfg.seed, dtype=cfg.dtype, predict=cfg.predict,
                            download_progress=download_progress)  # before any directory exists: missing
    # data must leave nothing behind
    warnings = stability_warnings(cfg.problem, cfg.optimizers)
    members = [Member(o.label, o.name, o.hparams) for o in cfg.optimizers]
    total = problem.total_steps(cfg.steps, cfg.epochs)
    eval_every = cfg.eval_every or (problem.default_eval_every(total) if problem.kind == "dataset" else None)
    with signals.held():  # Ctrl-C or SIGTERM stops the loop only; the directory's files are written whole
        run_dir = create_run_dir(out, cfg.name)
        member_dirs = _member_dirs(run_dir, cfg, mode)
        if mode == "compare":
            write_yaml(run_dir / "config.yaml", cfg.resolved)
        for d, o in zip(member_dirs, cfg.optimizers):
            write_yaml(d / "config.yaml", member_config(cfg, o))
        sink = CsvSink(member_dirs, problem.dim, problem.metric_columns)
        try:
            with signals.allowed():
                result = run_stack(problem, members, steps=cfg.steps, epochs=cfg.epochs,
                                   schedule=make_schedule(*cfg.schedule), dtype=cfg.dtype, log_every=cfg.log_every,
                                   eval_every=eval_every, path_every=path_every(total) if problem.dim <= 10 else 0,
                                   sink=sink, progress=progress)
        finally:
            sink.close()
        predictions = (problem.predict(result.final_params, np.asarray(cfg.predict)) if cfg.predict
                       else np.zeros((len(members), 0, 0)))  # (R, n_inputs, K)
        outcomes = _write_summaries(cfg, result, member_dirs, warnings, predictions)
        if mode == "compare":
            write_csv_rows(run_dir / "summary.csv", SUMMARY_COLUMNS + sorted(outcomes[0].metrics),
                           [_summary_row(m) for m in outcomes])
    outcome = RunOutcome(run_dir, mode, outcomes, warnings, result.interrupted or signals.pending())
    if plots:
        outcome.plot_error, outcome.output_error = _draw(run_dir, member_dirs, mode)
        outcome.interrupted = outcome.interrupted or outcome.plot_error == _not_drawn(run_dir)
    return outcome


def _not_drawn(run_dir: Path) -> str:
    return f"plots not drawn (interrupted); draw them with: gdlab plot {run_dir}"


def _draw(run_dir: Path, member_dirs: list[Path], mode: str) -> tuple[str | None, str | None]:
    """(warning, error) of drawing the standard figures; the results are on disk already, so nothing is raised.

    A signal held back while the results were written, or one arriving now, skips the figures (gdlab plot
    redraws them); a full disk is an error (exit 1) that keeps the results.
    """
    from .figures.standard import draw_outputs  # matplotlib only when figures are wanted

    try:
        with signals.allowed():
            signals.check()
            return draw_outputs(run_dir, member_dirs, mode), None
    except KeyboardInterrupt:
        return _not_drawn(run_dir), None
    except OutputError as exc:
        return None, f"{exc}; the results are in {run_dir} (redraw the figures with gdlab plot {run_dir})"


def _with_seed(cfg: Config, seed: int) -> Config:
    if seed < 0:
        raise ConfigError(f"--seed: must be >= 0, got {seed}")
    resolved = dict(cfg.resolved, seed=seed)
    return Config(**{**cfg.__dict__, "seed": seed, "resolved": resolved})


def _member_dirs(run_dir: Path, cfg: Config, mode: str) -> list[Path]:
    if mode != "compare":
        return [run_dir]
    return [create_dir(run_dir / name) for name in member_dir_names([o.label for o in cfg.optimizers])]


def _write_summaries(cfg: Config, result: StackResult, dirs: list[Path], warnings: list[str],
                     predictions: np.ndarray) -> list[MemberOutcome]:
    outcomes = []
    for i, (d, o) in enumerate(zip(dirs, cfg.optimizers)):
        predicted = [(list(x), predictions[i, j].tolist()) for j, x in enumerate(cfg.predict)]
        diverged = int(result.diverged_at[i]) if result.diverged_at[i] >= 0 else None
        metrics = {k: float(v[i]) for k, v in result.final_metrics.items() if k != "train_loss"}  # = final_loss
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
            "blowup": ({k: float(v[i]) for k, v in result.blowup.items()} if diverged is not None else None),
            **metrics,
            **({"predictions": [{"input": x, "output": y} for x, y in predicted]} if predicted else {}),
            "wall_time_s": round(result.wall_time_s, 6),
            "warnings": [w for w in warnings if w.startswith(f"{o.label}:")],
            "seed": cfg.seed,
            "gdlab_version": __version__,
            "numpy_version": np.__version__,
            "python_version": platform.python_version(),
            "config": member_config(cfg, o),
        }
        write_json(d / "summary.json", summary)
        outcomes.append(MemberOutcome(o.label, o.name, result.status[i], int(result.steps_run[i]),
                                      float(result.final_loss[i]), float(result.best_loss[i]), diverged,
                                      result.wall_time_s, d, metrics, predicted))
    return outcomes


def _summary_row(m: MemberOutcome) -> list:
    return [m.label, m.optimizer, m.status, m.steps_run, m.final_loss, m.best_loss,
            "" if m.diverged_at is None else m.diverged_at, round(m.wall_time_s, 6)] + \
           [m.metrics[k] for k in sorted(m.metrics)]
