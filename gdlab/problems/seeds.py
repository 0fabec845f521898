"""Which random stream each member of a stack uses: one stream per distinct seed, shared by its members.

A stack of M settings × S seeds (repetitions) keeps S generators, not M·S: every random draw (gradient noise,
batches, initial weights, the held-out split) is made once per distinct seed and handed to the members of that
seed. A member's numbers therefore depend on its seed alone, as if it ran by itself with that seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class SeedRows:
    """The distinct seeds of a stack and the rows (members) of each.

    seeds: distinct seeds in order of first appearance (None for a Generator given as is).
    rows: per distinct seed, its members on the runs axis: a slice (contiguous or strided) or an index array;
          `slice(None)` (every row) when the stack has one seed.
    of_row: (R,) position in `seeds` of each member's seed; None when every member shares one seed.
    generators: one numpy Generator per distinct seed, seeded with the seed itself.
    """

    seeds: tuple
    rows: tuple
    of_row: np.ndarray | None
    generators: tuple

    @classmethod
    def of(cls, seeds: Any) -> "SeedRows":
        """From an int seed, a Generator (one shared stream, as given), or the seed of every member (R,)."""
        if isinstance(seeds, np.random.Generator):
            return cls((None,), (slice(None),), None, (seeds,))
        if np.ndim(seeds) == 0:
            seed = int(seeds)
            return cls((seed,), (slice(None),), None, (np.random.default_rng(seed),))
        per_row = np.asarray(seeds, dtype=np.int64).reshape(-1)  # (R,)
        distinct, first, of_row = np.unique(per_row, return_index=True, return_inverse=True)
        order = np.argsort(first, kind="stable")  # seeds in order of first appearance
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        of_row = rank[of_row.reshape(-1)]
        values = tuple(int(distinct[i]) for i in order)
        if not values:
            raise ValueError("a stack needs at least one member seed")
        if len(values) == 1:
            return cls(values, (slice(None),), None, (np.random.default_rng(values[0]),))
        rows = tuple(as_rows(np.flatnonzero(of_row == j)) for j in range(len(values)))
        return cls(values, rows, of_row, tuple(np.random.default_rng(s) for s in values))

    @property
    def single(self) -> bool:
        return self.of_row is None

    def check(self, n_runs: int) -> None:
        if self.of_row is not None and len(self.of_row) != n_runs:
            raise ValueError(f"{len(self.of_row)} member seeds for a stack of {n_runs} members")

    def spread(self, per_seed: np.ndarray) -> np.ndarray:
        """Per-seed values (S, ...) as per-member values: (R, ...), or the single seed's row (...) to broadcast."""
        return per_seed[0] if self.of_row is None else per_seed[self.of_row]

    def derived(self, stream: int) -> tuple:
        """One Generator per distinct seed for an independent purpose `stream` (0 init, 1 split, 2 batches)."""
        return tuple(np.random.default_rng([s, stream]) for s in self.seeds)


def as_rows(idx: np.ndarray) -> Any:
    """Row indices as a slice when they are evenly spaced (a view, no copy), else as they are."""
    if len(idx) == 0:
        return idx
    if len(idx) == 1:
        return slice(int(idx[0]), int(idx[0]) + 1)
    step = int(idx[1] - idx[0])
    if step > 0 and np.array_equal(idx, np.arange(idx[0], idx[0] + step * len(idx), step)):
        return slice(int(idx[0]), int(idx[-1]) + 1, step)
    return idx
