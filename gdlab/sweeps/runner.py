"""`gdlab sweep`: a grid of hyperparameters run as few vectorized stacks as possible.

Axes whose values can differ between members of one loop (numeric optimizer hyperparameters; a toy objective's
parameters and start point) are "vectorized": all their combinations share a stack. Any other swept key (seed,
steps, batch size, the optimizer's name, a boolean flag...) splits the grid into one stack per combination of its
values. Nothing is written per member: one summary.csv row each, the loss histories in metrics.npz, and plots.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .. import signals
from ..config import Config, load_config, member_config, validate
from ..config.grid import Axis, grid_axes, member_indices, member_labels
from ..config.yamlio import apply_override
from ..engine import GroupSpec, as_index, make_schedule, run_stack
from ..errors import ConfigError, OutputError
from ..optim.variants import BOOK_CONSTANTS
from ..outputs.rundir import create_run_dir, write_json, write_yaml
from ..outputs.verdicts import fate_counts, not_settled
from ..problems.build import build_problem
from ..problems.objectives import make_objective
from ..problems.stability import sweep_theory
from ..problems.toy import ToyProblem
from ..version import __version__

STATUS_NOT_RUN = "not_run"  # members of stacks that an interrupt kept from starting


@dataclass
class SweepOutcome:
    run_dir: Path
    axes: list[Axis]
    labels: list[str]
    status: np.ndarray  # (R,) str
    final_loss: np.ndarray
    best_loss: np.ndarray
    diverged_at: np.ndarray  # -1 when never
    steps_run: np.ndarray
    wall_time_s: float
    warnings: list[str]
    interrupted: bool
    plot_error: str | None = None
    output_error: str | None = None  # the figures could not be written (disk full: exit 1, results kept)
    unsettled: np.ndarray | None = None  # (R,) bool: completed, but ended above the start (outputs.verdicts)
    theory: dict | None = None  # what the figures need to draw the stability theory's edges (quadratics)


class History:
    """The loss of every member at every logged step, preallocated: (L, R) float32, nan where not logged."""

    def __init__(self, log_steps: list[int], n: int):
        self.steps = log_steps
        self.row = {s: i for i, s in enumerate(log_steps)}
        self.loss = np.full((len(log_steps), n), np.nan, dtype=np.float32)


def log_steps(total: int, log_every: int) -> list[int]:
    steps = list(range(0, total, log_every))
    return steps + [total] if not steps or steps[-1] != total else steps


def base_data(cfg: Config) -> dict:
    """The config as a plain single-optimizer mapping, the form grid values are applied to."""
    if len(cfg.optimizers) != 1:
        raise ConfigError(f"optimizers: a sweep varies one optimizer's settings; this config lists "
                          f"{len(cfg.optimizers)}. Use `optimizer:` (or sweep optimizer.name)")
    data = member_config(cfg, cfg.optimizers[0])
    data.pop("sweep", None)
    data["optimizer"].pop("label", None)
    return data


def _apply(data: dict, axis: Axis, value) -> dict:
    return apply_override(data, axis.path, value, f"{axis.key}={value}")


def check_axes(base: dict, axes: list[Axis], source: str) -> None:
    """Every grid value valid for its key: numeric axes at their extremes (ranges are intervals), others each."""
    for axis in axes:
        probe = [min(axis.values), max(axis.values)] if axis.numeric else list(dict.fromkeys(axis.values))
        for value in probe:
            try:
                validate(_apply(base, axis, value), source=source)
            except ConfigError as exc:
                raise ConfigError(f"--grid {axis.key}={value!r}: {exc}") from None


def is_vectorized(axis: Axis, cfg: Config) -> bool:
    if not axis.numeric:
        return False
    p = axis.path
    hp = cfg.optimizers[0].hparams
    if p[0] == "optimizer" and len(p) == 2:
        return isinstance(hp.get(p[1]), float)  # numeric hyperparameters are floats once validated
    if p[0] == "optimizer" and len(p) == 3:
        return isinstance(hp.get(p[1]), tuple) and isinstance(p[2], int)  # an entry of betas
    if cfg.problem.kind == "objective" and p[:2] == ("problem", "params") and len(p) == 3:
        return isinstance(cfg.problem.params.get(p[2]), (int, float))
    return cfg.problem.kind == "objective" and p[:2] == ("problem", "init") and len(p) == 3 and isinstance(p[2], int)


def run_sweep(config: str | Path, grid: list[str] = (), *, overrides: list[str] = (), out: str | Path = "runs",
              progress: Callable[[int, int], None] | None = None, plots: bool = True,
              fmt: str = "png") -> SweepOutcome:
    cfg = load_config(config, overrides)
    axes = grid_axes(cfg.sweep, list(grid))
    base = base_data(cfg)
    check_axes(base, axes, str(config))
    idx = member_indices(axes)  # (n_axes, R)
    n = idx.shape[1]
    vector = [is_vectorized(a, cfg) for a in axes]
    structural = [i for i, v in enumerate(vector) if not v]
    stacks = _stacks(idx, structural)
    unpinned = [k for k in BOOK_CONSTANTS if k not in cfg.optimizers[0].given]  # eps follows a swept variant
    configs = [validate(_stack_data(base, axes, idx[:, members[0]], structural, unpinned), name=cfg.name,
                        source=str(config)) for members in stacks]
    problems = [_problem(c, axes, idx[:, members], vector) for c, members in zip(configs, stacks)]
    totals = [p.total_steps(c.steps, c.epochs) for p, c in zip(problems, configs)]
    steps_all = sorted(set().union(*(log_steps(t, c.log_every) for t, c in zip(totals, configs))))
    history = History(steps_all, n)
    status = np.full(n, STATUS_NOT_RUN, dtype=object)
    final, best = np.full(n, np.nan), np.full(n, np.nan)
    diverged_at, steps_run = np.full(n, -1, dtype=np.int64), np.zeros(n, dtype=np.int64)
    wall, interrupted, done = 0.0, False, 0
    with signals.held():  # Ctrl-C or SIGTERM stops the loop only; every file of the directory is written whole
        run_dir = create_run_dir(out, cfg.name)
        write_yaml(run_dir / "config.yaml", {**base, "name": cfg.name, "sweep": {a.key: a.as_written for a in axes}})
        for c, members, problem, total in zip(configs, stacks, problems, totals):
            if signals.pending():  # a signal held back between two stacks: the rest is not run
                interrupted = True
                break
            sink = _Slice(history, members)
            offset = done
            with signals.allowed():
                result = run_stack(problem, [_group(c, axes, idx[:, members], vector)], steps=c.steps,
                                   epochs=c.epochs, schedule=make_schedule(*c.schedule), dtype=c.dtype,
                                   log_every=c.log_every, sink=sink, progress=None if progress is None else
                                   (lambda d, t, o=offset: progress(o + d, sum(totals))))
            done += total
            status[members] = result.status
            final[members], best[members] = result.final_loss, result.best_loss
            diverged_at[members], steps_run[members] = result.diverged_at, result.steps_run
            wall += result.wall_time_s
            if result.interrupted:
                interrupted = True
                break
        labels = member_labels(cfg.optimizers[0].name, axes, idx)
        outcome = SweepOutcome(run_dir, axes, labels, status, final, best, diverged_at, steps_run, wall, [],
                               interrupted, unsettled=not_settled(status, history.loss[0], final),
                               theory=sweep_theory(cfg.problem, cfg.optimizers[0].name, cfg.optimizers[0].hparams,
                                                   [a.path for a in axes]))
        from ..outputs.sweep_dir import write_sweep_files  # formatting only once the numbers exist

        write_sweep_files(outcome, history)
        write_json(run_dir / "summary.json", _summary(outcome, cfg, base))
    outcome.interrupted = outcome.interrupted or signals.pending()
    if plots:
        _draw(outcome, idx, history, fmt)
    return outcome


def _draw(outcome: SweepOutcome, idx: np.ndarray, history: History, fmt: str) -> None:
    """The sweep figures; a failure or Ctrl-C is reported, not raised (the numbers are on disk already)."""
    from ..figures.standard import draw_sweep_figures  # matplotlib only when figures are wanted

    redraw = f"gdlab plot {outcome.run_dir}"
    try:
        with signals.allowed():
            signals.check()  # held back while the files were written: no figures
            draw_sweep_figures(outcome, idx, history, fmt=fmt)
    except OutputError as exc:  # a full disk: exit 1, the numbers are kept
        outcome.output_error = f"{exc}; the results are in {outcome.run_dir} (redraw the figures with {redraw})"
    except Exception as exc:  # noqa: BLE001 - the numbers are on disk; report the figure problem
        outcome.plot_error = f"plots could not be drawn: {type(exc).__name__}: {exc}"
    except KeyboardInterrupt:
        outcome.plot_error = f"plots not drawn (interrupted); draw them with: {redraw}"
        outcome.interrupted = True


class _Slice:
    """The engine's sink for one stack, writing into the columns of its members in the sweep-wide history."""

    step_columns = ("loss",)  # the engine need not compute gradient norms and learning rates for a sweep

    def __init__(self, history: History, members: np.ndarray):
        self.history = history
        self.members = as_index(members)

    def log(self, step, epoch, values, rows):
        if "loss" in values and step in self.history.row:
            loss = values["loss"] if rows.all() else np.where(rows, values["loss"], np.nan)
            with np.errstate(over="ignore"):  # a loss beyond float32's range is kept as inf
                self.history.loss[self.history.row[step], self.members] = loss

    def path(self, step, params, rows):  # sweeps keep no trajectories
        pass


def _stacks(idx: np.ndarray, structural: list[int]) -> list[np.ndarray]:
    """Member indices of each stack: members with equal values on every structural axis, in grid order."""
    if not structural:
        return [np.arange(idx.shape[1])]
    keys = idx[structural].T  # (R, n_structural)
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    return [np.flatnonzero(inverse == u) for u in np.argsort(first)]


def _stack_data(base: dict, axes: list[Axis], first: np.ndarray, structural: list[int], unpinned=()) -> dict:
    """The config of the stack whose members take the values `first` on the structural axes.

    unpinned: optimizer keys the config did not write whose default depends on the variant (eps); a stack of a
    swept variant gets that variant's default for them, not the base's.
    """
    data = base
    if any(axes[i].path == ("optimizer", "variant") for i in structural):
        data = {**base, "optimizer": {k: v for k, v in base["optimizer"].items() if k not in unpinned}}
    for i in structural:
        data = _apply(data, axes[i], axes[i].values[first[i]])
    return data


def _values(axis: Axis, index_row: np.ndarray) -> np.ndarray:
    return np.asarray(axis.values, dtype=float)[index_row]


def _problem(cfg: Config, axes: list[Axis], idx: np.ndarray, vector: list[bool]):
    """The stack's problem; swept objective parameters and start coordinates become per-member arrays."""
    if cfg.problem.kind != "objective":
        return build_problem(cfg.problem, seed=cfg.seed, dtype=cfg.dtype, predict=cfg.predict)
    params = dict(cfg.problem.params)
    init = np.tile(np.asarray(cfg.problem.init, dtype=float), (idx.shape[1], 1))  # (R_s, D)
    for a, row, v in zip(axes, idx, vector):
        if v and a.path[:2] == ("problem", "params"):
            params[a.path[2]] = _values(a, row)
        elif v and a.path[:2] == ("problem", "init"):
            if a.path[2] >= init.shape[1]:
                raise ConfigError(f"--grid {a.key}: the start point has only {init.shape[1]} coordinates")
            init[:, a.path[2]] = _values(a, row)
    objective = make_objective(cfg.problem.name, params)
    return ToyProblem(objective, init, cfg.problem.noise, np.random.default_rng(cfg.seed))


def _group(cfg: Config, axes: list[Axis], idx: np.ndarray, vector: list[bool]) -> GroupSpec:
    opt = cfg.optimizers[0]
    hp = dict(opt.hparams)
    for a, row, v in zip(axes, idx, vector):
        if v and a.path[0] == "optimizer":
            if len(a.path) == 2:
                hp[a.path[1]] = _values(a, row)
            else:
                parts = list(hp[a.path[1]])
                parts[a.path[2]] = _values(a, row)
                hp[a.path[1]] = tuple(parts)
    return GroupSpec(opt.name, np.arange(idx.shape[1]), hp)


def _summary(o: SweepOutcome, cfg: Config, base: dict) -> dict:
    counts = fate_counts(o.status, o.unsettled)
    finite = np.where(np.isfinite(o.final_loss) & (o.status == "completed"), o.final_loss, np.inf)
    best = int(np.argmin(finite)) if np.isfinite(finite).any() else None
    return {
        "status": "interrupted" if o.interrupted else "completed",
        "members": len(o.labels),
        "counts": counts,
        "best_member": None if best is None else o.labels[best],
        "best_final_loss": None if best is None else float(o.final_loss[best]),
        "grid": {a.key: len(a.values) for a in o.axes},
        "stability_theory": o.theory,
        "wall_time_s": round(o.wall_time_s, 6),
        "seed": cfg.seed,
        "gdlab_version": __version__,
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
        "config": {**base, "name": cfg.name},
    }
