"""Cutting a sweep plan's stacks into batches worth shipping to a worker, and choosing how often histories log.

A stack's members are independent (a member gives bit for bit the same result in any stack: the lockstep
invariant), so a stack can be cut into contiguous pieces that run anywhere. How many:

- memory: a batch's loss history (logged points × members × 4 bytes) stays under BATCH_HISTORY_BYTES, so a sweep of
  a million toy members runs as a dozen batches of ~80,000, each streamed to disk when it finishes;
- workers: with N > 1 workers, enough pieces to keep them busy (about PIECES_PER_WORKER × N over the sweep), but
  none whose step computes less than MIN_PIECE_WORK multiply-adds (parameters × rows per step, summed over its
  members): every step of a batch costs some Python on top of its arithmetic, so cutting a stack whose members are
  cheap (a toy's 2 parameters, airfoil's linear model) multiplies that cost for nothing, while a DLFS MNIST member
  (110,000 parameters × 128 rows) is worth a batch on its own. One process (N = 1) keeps its stacks whole (cut for
  memory only), as fast as before.

The pieces are written down (`pieces`: stack number, first and last+1 local member) so that a resume cuts the same
way whatever its number of workers.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ..config.history import bounded_log_every
from .plan import Batch, SweepPlan

BATCH_HISTORY_BYTES = 64 * 2**20
PIECES_PER_WORKER = 4
MIN_PIECE_WORK = 2**17  # multiply-adds per step: a toy piece has at least 65,536 members


def with_log_every(plan: SweepPlan, totals: list[int], given: bool) -> SweepPlan:
    """The plan with each stack's log_every chosen from its total steps, unless the config set log_every.

    The directory's config.yaml says what was chosen (or leaves log_every out when stacks of different lengths
    chose differently: loading it again chooses the same).
    """
    if given:
        return plan
    chosen = [bounded_log_every(t) for t in totals]
    batches = tuple(dataclasses.replace(b, config=dataclasses.replace(b.config, log_every=k))
                    for b, k in zip(plan.batches, chosen))
    written = {k: v for k, v in plan.written_config.items() if k != "log_every"}  # absent: chosen per stack
    if len(set(chosen)) == 1:
        written = {**plan.written_config, "log_every": chosen[0]}
    return dataclasses.replace(plan, batches=batches, written_config=written)


def choose_pieces(plan: SweepPlan, totals: list[int], work: list[int], workers: int) -> list[tuple[int, int, int]]:
    """(stack, start, stop) of every batch: each stack cut for memory, and for the workers when there are several.

    work: each stack's multiply-adds per member and step (parameters × rows per step).
    """
    n_all = max(1, plan.size)
    pieces = []
    for number, (batch, total, cost) in enumerate(zip(plan.batches, totals, work)):
        n = len(batch.members)
        points = len(range(0, total, batch.config.log_every)) + 1
        count = math.ceil(n * points * 4 / BATCH_HISTORY_BYTES)
        if workers > 1 and len(plan.batches) < PIECES_PER_WORKER * workers:
            share = math.ceil(PIECES_PER_WORKER * workers * n / n_all)  # this stack's part of the workers' pieces
            smallest = math.ceil(MIN_PIECE_WORK / max(1, cost))  # members
            count = max(count, min(share, n // smallest))
        count = max(1, min(count, n))
        bounds = np.linspace(0, n, count + 1).round().astype(int)
        pieces += [(number, int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
    return pieces


def cut(plan: SweepPlan, pieces: list[tuple[int, int, int]]) -> SweepPlan:
    """The plan with its stacks replaced by the given pieces, numbered in order."""
    batches = [dataclasses.replace(piece_of(plan.batches[stack], start, stop), number=i)
               for i, (stack, start, stop) in enumerate(pieces)]
    return dataclasses.replace(plan, batches=tuple(batches))


def piece_of(batch: Batch, start: int, stop: int) -> Batch:
    """Members start..stop-1 of a batch (local positions) as a batch of their own."""
    n = len(batch.members)
    if (start, stop) == (0, n):
        return batch
    groups = []
    for g in batch.groups:
        inside = (g.index >= start) & (g.index < stop)
        if not inside.any():
            continue
        size = len(g.index)
        schedule = g.schedule if g.schedule is None else (g.schedule[0], _rows(g.schedule[1], inside, size))
        groups.append(dataclasses.replace(g, index=g.index[inside] - start, hparams=_rows(g.hparams, inside, size),
                                          schedule=schedule))
    problem = dataclasses.replace(batch.problem, **{
        f.name: _rows(getattr(batch.problem, f.name), slice(start, stop), n)
        for f in dataclasses.fields(batch.problem) if f.name in ("params", "init", "seed")})
    return dataclasses.replace(batch, members=batch.members[start:stop], groups=tuple(groups), problem=problem)


def _rows(value, rows, size: int):
    """`value` with its per-member entries (arrays of length `size`, inside dicts and tuples) cut to `rows`."""
    if isinstance(value, dict):
        return {k: _rows(v, rows, size) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(_rows(v, rows, size) for v in value)
    if isinstance(value, np.ndarray) and value.ndim >= 1 and len(value) == size:
        return value[rows]
    return value
