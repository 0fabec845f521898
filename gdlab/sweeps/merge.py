"""The results of a sweep's batches put back together in grid order (members of batches not run: not_run)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..config.grid import Axis
from ..engine import as_index
from ..outputs.results import SweepRecords
from .batch import BatchResult
from .plan import SweepPlan

STATUS_NOT_RUN = "not_run"  # members of batches that an interrupt (or a failed worker) kept from running
STATUS_FAILED = "failed"


@dataclass
class History:
    """The loss of every member at every logged step: steps (L,), loss (L, R) float32, nan where not logged."""

    steps: list[int]
    loss: np.ndarray


@dataclass
class SweepOutcome(SweepRecords):
    """A sweep's members in grid order, each array (R,); records() and history_records() as lists of dicts."""

    run_dir: Path | None
    axes: list[Axis]
    labels: list[str]
    status: np.ndarray  # (R,) str: completed | diverged | interrupted | failed | not_run
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
    index: np.ndarray | None = None  # (n_axes, R) value index on each axis, -1 where the axis does not apply
    entry: np.ndarray | None = None  # (R,) the config entry of each member (compare sweeps)
    entries: tuple[str, ...] = ()  # labels of a compare's entries; () for one optimizer
    failures: dict[int, str] = field(default_factory=dict)  # member -> why it failed
    history: "History | None" = None  # the loss histories (also written to metrics.npz)


def assemble(plan: SweepPlan, results: list[BatchResult]) -> tuple[SweepOutcome, History]:
    """The sweep's outcome and loss history from the results of any of its batches (in any order)."""
    n = plan.size
    status = np.full(n, STATUS_NOT_RUN, dtype=object)
    final, best = np.full(n, np.nan), np.full(n, np.nan)
    diverged_at, steps_run = np.full(n, -1, dtype=np.int64), np.zeros(n, dtype=np.int64)
    steps = sorted(set().union(*(r.steps.tolist() for r in results))) if results else [0]
    row = {s: i for i, s in enumerate(steps)}
    loss = np.full((len(steps), n), np.nan, dtype=np.float32)
    failures: dict[int, str] = {}
    for r in results:
        m = r.members
        status[m] = r.status
        final[m], best[m] = r.final_loss, r.best_loss
        diverged_at[m], steps_run[m] = r.diverged_at, r.steps_run
        rows = as_index(np.asarray([row[s] for s in r.steps.tolist()], dtype=np.int64))
        columns = as_index(m)
        if isinstance(rows, slice) or isinstance(columns, slice):  # views: no (L, R) temporary index
            loss[rows, columns] = r.loss
        else:
            loss[np.ix_(rows, columns)] = r.loss
        failures.update({int(m[i]): why for i, why in r.failures.items()})
    outcome = SweepOutcome(None, list(plan.axes), plan.labels, status, final, best, diverged_at, steps_run,
                           sum(r.wall_time_s for r in results), list(plan.warnings),
                           any(r.interrupted for r in results) or len(results) < len(plan.batches),
                           index=plan.index, entry=plan.entry, entries=plan.entries, failures=failures)
    return outcome, History(steps, loss)
