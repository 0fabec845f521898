"""The loss surface of a 1- or 2-parameter problem: the record the path figures draw over (NumPy only)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass
class Landscape:
    """The loss surface of a 1- or 2-parameter problem."""

    f: Callable[[np.ndarray], np.ndarray]  # points (N, D) -> values (N,), vectorized
    window: tuple[tuple[float, float], ...]  # suggested view: ((x0, x1),) or ((x0, x1), (y0, y1))
    minimiser: np.ndarray | None = None  # (D,) where known
    min_value: float | None = None
    labels: tuple[str, ...] = ("x1", "x2")  # axis names ("w", "b" for a model's weight and bias)
    title: str = ""  # e.g. "f(x1, x2) = 0.1·x1² + 2·x2²"

    def __post_init__(self) -> None:
        self.window = tuple((float(lo), float(hi)) for lo, hi in self.window)
        if len(self.window) not in (1, 2) or any(not lo < hi for lo, hi in self.window):
            raise ValueError(f"window must be 1 or 2 increasing (low, high) pairs, got {self.window}")
        if self.minimiser is not None:
            self.minimiser = np.asarray(self.minimiser, dtype=np.float64).reshape(-1)

    @property
    def dim(self) -> int:
        return len(self.window)
