"""Running one batch of a sweep plan: a vectorized stack through the engine, its outcome as arrays.

`run_batch` writes nothing and prints nothing; a batch can run in any process (executors hand it over as it is).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..engine import make_schedule, run_stack
from .plan import Batch


@dataclass
class BatchResult:
    """What a batch's members did, each array in the batch's member order."""

    number: int
    members: np.ndarray  # (R_b,) positions in the sweep's member list
    status: np.ndarray  # (R_b,) object: completed | diverged | interrupted | failed
    final_loss: np.ndarray  # (R_b,) float64, nan where there is none
    best_loss: np.ndarray  # (R_b,) float64
    diverged_at: np.ndarray  # (R_b,) int64, -1 when never
    steps_run: np.ndarray  # (R_b,) int64
    steps: np.ndarray  # (L_b,) int64 logged steps
    loss: np.ndarray  # (L_b, R_b) float32 loss history, nan where a frozen member was not logged
    total_steps: int
    wall_time_s: float
    interrupted: bool
    failures: dict[int, str] = field(default_factory=dict)  # local member -> why it failed (a plugin raised)
    metrics: dict[str, np.ndarray] = field(default_factory=dict)  # whole-data metrics at the end (datasets), (R_b,)
    reached_at: np.ndarray | None = None  # (R_b,) updates until the run's target first held, -1 never (tune, bench)
    reached_time_s: np.ndarray | None = None  # (R_b,) seconds into the batch's loop when it did


def log_steps(total: int, log_every: int) -> list[int]:
    """The logged steps of a run of `total` updates: every log_every-th, and the end."""
    steps = list(range(0, total, log_every))
    return steps + [total] if not steps or steps[-1] != total else steps


def run_batch(batch: Batch, problem=None, progress: Callable[[int, int], None] | None = None,
              target=None) -> BatchResult:
    """Run the batch's stack; `problem`: the batch's problem built already (else it is built here); `target`: a
    problems.targets.Target whose steps (and seconds) to reach the result records (tune, bench)."""
    c = batch.config
    problem = problem if problem is not None else batch.problem.build()
    total = problem.total_steps(c.steps, c.epochs)
    steps = log_steps(total, c.log_every)
    n = len(batch.members)
    sink = LossHistory(steps, n)
    eval_every = None  # whole-data metrics along the way only where a target may need them (not for sweeps)
    if target is not None and problem.kind == "dataset":
        eval_every = c.eval_every or problem.default_eval_every(total)
    result = run_stack(problem, list(batch.groups), steps=c.steps, epochs=c.epochs,
                       schedule=make_schedule(*c.schedule), dtype=c.dtype, log_every=c.log_every, sink=sink,
                       progress=progress, target=target, eval_every=eval_every)
    return BatchResult(batch.number, batch.members, np.asarray(result.status, dtype=object), result.final_loss,
                       result.best_loss, result.diverged_at, result.steps_run, np.asarray(steps, dtype=np.int64),
                       sink.loss, result.total_steps, result.wall_time_s, result.interrupted,
                       dict(getattr(result, "failures", {}) or {}), dict(result.final_metrics), result.reached_at,
                       result.reached_time_s)


class LossHistory:
    """The engine's sink for a batch: the loss of every member at every logged step, (L, R_b) float32, preallocated.

    Only the loss is kept (the engine then computes no gradient norms or learning rates for the log).
    """

    step_columns = ("loss",)

    def __init__(self, steps: list[int], n: int):
        self.row = {s: i for i, s in enumerate(steps)}
        self.loss = np.full((len(steps), n), np.nan, dtype=np.float32)

    def log(self, step, epoch, values, rows):
        if "loss" in values and step in self.row:
            loss = values["loss"] if rows.all() else np.where(rows, values["loss"], np.nan)
            with np.errstate(over="ignore"):  # a loss beyond float32's range is kept as inf
                self.loss[self.row[step]] = loss

    def path(self, step, params, rows):  # sweeps keep no trajectories
        pass
