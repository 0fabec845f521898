"""Which rows each step sees: mini-batch index arrays, epochs, and held-out splits.

All members of a run see THE SAME rows at each step, so a step's batch is one index array (B,) shared by the
runs axis. Randomness comes only from the numpy Generator passed in; nothing here keeps global state.

Conventions:
- batch_size None is the full batch: every step sees all N rows in data order (no random draws; the order of
  rows in a batch changes a mean gradient only by rounding). A batch_size >= N under "shuffle" is the same.
- "shuffle" (d2l's data_iter, DataLoader(shuffle=True)): epochs without replacement, reshuffled each epoch. As in
  d2l, the last batch of an epoch is partial when B does not divide N (it is not dropped, nor filled from the next
  epoch), so an epoch is exactly ceil(N / B) steps and every row is seen once per epoch.
- "replacement" (DLFS's np.random.choice(train_size, batch_size)): every step draws B rows uniformly with
  replacement, independently of the other steps (and possibly repeating a row within the batch).
- The epoch after step k is samples seen / N: k·B/N for "replacement"; for "shuffle" whole epochs plus the
  fraction of rows seen in the current one (step S of an epoch of S steps ends at exactly 1.0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np

from ...errors import ConfigError
from ...registry import did_you_mean

SAMPLINGS = ("shuffle", "replacement")


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


@dataclass(frozen=True)
class BatchPlan:
    """The batches of a run over N rows: `plan.batches(rng, steps)` yields one (B,) index array per step."""

    n: int  # rows in the training data
    batch_size: int | None = None  # None = full batch, 1 = stochastic, k = mini-batch
    sampling: str = "shuffle"  # "shuffle" | "replacement"

    def __post_init__(self) -> None:
        if not _is_int(self.n) or self.n < 1:
            raise ValueError(f"a batch plan needs at least one row, got n = {self.n!r}")
        if self.batch_size is not None and (not _is_int(self.batch_size) or self.batch_size < 1):
            raise ConfigError(f"batch_size: expected null (full batch) or an integer >= 1, got {self.batch_size!r}")
        if self.sampling not in SAMPLINGS:
            raise ConfigError(
                f"sampling: unknown sampling {self.sampling!r}{did_you_mean(str(self.sampling), SAMPLINGS)}\n"
                f"  accepted: {', '.join(SAMPLINGS)}"
            )

    @property
    def full_batch(self) -> bool:
        """True when every step sees all rows in data order."""
        return self.batch_size is None or (self.sampling == "shuffle" and self.batch_size >= self.n)

    @property
    def batch(self) -> int:
        """Rows per step B (the last step of a "shuffle" epoch may have fewer)."""
        return self.n if self.full_batch else int(self.batch_size)

    @property
    def steps_per_epoch(self) -> int:
        """ceil(N / B): the steps of one "shuffle" epoch (about one epoch's worth of draws for "replacement")."""
        return -(-self.n // self.batch)

    def steps_for(self, steps: int | None = None, epochs: float | None = None) -> int:
        """The number of update steps for a run given as `steps` or as `epochs` (exactly one of them).

        Epochs are rounded up to whole steps: ceil(epochs · steps_per_epoch) for "shuffle" (and the full batch),
        ceil(epochs · N / B) for "replacement" (DLFS's iter_per_epoch = N / B).
        """
        if (steps is None) == (epochs is None):
            raise ConfigError("give either steps or epochs (exactly one)")
        if steps is not None:
            if not _is_int(steps) or steps < 0:
                raise ConfigError(f"steps: expected an integer >= 0, got {steps!r}")
            return int(steps)
        if isinstance(epochs, bool) or not isinstance(epochs, (int, float)) or not 0 < epochs < math.inf:
            raise ConfigError(f"epochs: expected a number > 0, got {epochs!r}")
        per_epoch = self.steps_per_epoch if self.sampling == "shuffle" or self.full_batch else self.n / self.batch
        return max(1, math.ceil(round(epochs * per_epoch, 9)))

    def samples_seen(self, step):
        """Rows processed after `step` steps (int or int array)."""
        step = np.asarray(step, dtype=np.int64)
        if self.sampling == "replacement" and not self.full_batch:
            out = step * self.batch
        else:
            full, rest = np.divmod(step, self.steps_per_epoch)
            out = full * self.n + np.minimum(rest * self.batch, self.n)
        return out if out.ndim else int(out)

    def epoch_at(self, step):
        """The epoch (float) reached after `step` steps: samples seen / N (int or array -> float or array)."""
        out = np.asarray(self.samples_seen(step)) / self.n
        return out if out.ndim else float(out)

    def batches(self, rng: np.random.Generator, steps: int | None = None) -> Iterator[np.ndarray]:
        """Index arrays (B_k,) int64 for steps 1, 2, ..., `steps` (forever when None).

        Generated one epoch at a time, so memory does not grow with the number of steps. The arrays are fresh
        (or views of a fresh permutation): callers may keep them.
        """
        if self.full_batch:
            every = np.arange(self.n)
            every.flags.writeable = False
            yield from _repeat(every, steps)
        elif self.sampling == "replacement":
            for _ in _count(steps):
                yield rng.choice(self.n, self.batch)  # with replacement, as np.random.choice(N, B)
        else:
            yield from _shuffled_epochs(self.n, self.batch, rng, steps)


def _count(steps: int | None) -> Iterator[int]:
    k = 0
    while steps is None or k < steps:
        yield k
        k += 1


def _repeat(a: np.ndarray, steps: int | None) -> Iterator[np.ndarray]:
    for _ in _count(steps):
        yield a


def _shuffled_epochs(n: int, batch: int, rng: np.random.Generator, steps: int | None) -> Iterator[np.ndarray]:
    """Epochs without replacement: a new permutation per epoch, cut into batches (the last one partial)."""
    done = 0
    while steps is None or done < steps:
        perm = rng.permutation(n)  # (n,) this epoch's order
        for start in range(0, n, batch):
            if steps is not None and done >= steps:
                return
            yield perm[start : start + batch]
            done += 1


HELD_OUT_ENDS = ("first", "last")
_HELD_OUT_HELP = ("a fraction in [0, 1) of random rows such as 0.2, or a fixed head or tail of the data: "
                  "{first: 0.2}, {last: 2000} (a fraction in (0, 1) or a whole number of rows)")


def held_out(value: Any) -> float | dict:
    """`problem.validation` checked: a fraction in [0, 1) (random rows), or {first: a} / {last: a}, the first or
    last rows in data order, a being a whole number of rows >= 1 (an int) or a fraction in (0, 1) (a float).

    Returns the float, or the one-key mapping; a ConfigError names `validation` (or `validation.first`) otherwise.
    """
    if isinstance(value, dict):
        if len(value) != 1 or next(iter(value)) not in HELD_OUT_ENDS:
            key = str(next(iter(value), ""))
            hint = did_you_mean(key, HELD_OUT_ENDS) if len(value) == 1 else ""
            raise ConfigError(f"validation: expected one key, first or last{hint}, got {value!r}\n"
                              f"  accepted: {_HELD_OUT_HELP}")
        ((end, amount),) = value.items()
        is_count = _is_int(amount) and amount >= 1
        is_fraction = isinstance(amount, float) and math.isfinite(amount) and 0 < amount < 1
        if not (is_count or is_fraction):
            raise ConfigError(f"validation.{end}: expected a whole number of rows >= 1 such as 2000, or a fraction "
                              f"in (0, 1) such as 0.2, got {amount!r}")
        return {end: amount}
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ConfigError(f"validation: expected {_HELD_OUT_HELP}; got {value!r}")
    return float(value)


def split_validation(n: int, validation: float | dict, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(train_idx, val_idx), both sorted (data order kept), for a `held_out` value.

    A fraction holds out round(fraction · n) random rows, at least one when fraction > 0 (0: none). {first: a} and
    {last: a} hold out the head or the tail of the data, a rows or round(a · n) of them (at least one), without
    drawing from `rng`. The training part must keep at least one row.
    """
    validation = held_out(validation)
    if isinstance(validation, dict):
        ((end, amount),) = validation.items()
        n_val = amount if _is_int(amount) else max(1, round(amount * n))
        if n_val >= n:
            raise ConfigError(f"validation.{end}: {amount!r} of {n} rows leaves no training rows; "
                              f"hold out at most {n - 1}")
        rows = np.arange(n)
        return (rows[n_val:], rows[:n_val]) if end == "first" else (rows[: n - n_val], rows[n - n_val:])
    n_val = max(1, round(validation * n)) if validation > 0 else 0
    if n_val >= n:
        raise ConfigError(f"validation: a fraction of {validation} leaves no training rows out of {n}")
    perm = rng.permutation(n)
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])
