"""Plain records handed to the plots: a member's history and a loss surface.

NumPy only: this module must never import matplotlib (the CLI imports it to read run directories, and
`gdlab --help` has to stay fast).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

STATUSES = ("completed", "diverged", "interrupted")


@dataclass
class Series:
    """One member's history, as read back from its run directory.

    Arrays are coerced on construction (lists are fine); `path` of shape (m,) is read as a 1-parameter path
    of shape (m, 1).
    """

    label: str  # legend label, e.g. "momentum (lr 0.4, momentum 0.5)" or "adam"
    step: np.ndarray  # (n,) int, logged steps
    loss: np.ndarray  # (n,) float, loss at those steps; nan where missing
    status: str = "completed"  # "completed" | "diverged" | "interrupted"
    diverged_at: int | None = None
    path: np.ndarray | None = None  # (m, D), row 0 = the start, D = 1 or 2
    columns: dict[str, np.ndarray] = field(default_factory=dict)  # other metrics, each (n,)

    def __post_init__(self) -> None:
        self.step = np.asarray(self.step, dtype=np.int64).reshape(-1)
        self.loss = np.asarray(self.loss, dtype=np.float64).reshape(-1)
        if self.step.shape != self.loss.shape:
            raise ValueError(f"{self.label}: step {self.step.shape} and loss {self.loss.shape} differ in length")
        if self.status not in STATUSES:
            raise ValueError(f"{self.label}: status {self.status!r} is not one of {STATUSES}")
        if self.path is not None:
            path = np.asarray(self.path, dtype=np.float64)
            self.path = path.reshape(-1, 1) if path.ndim == 1 else path
        self.columns = {k: np.asarray(v, dtype=np.float64).reshape(-1) for k, v in self.columns.items()}
        for name, col in self.columns.items():
            if col.shape != self.step.shape:
                raise ValueError(f"{self.label}: column {name!r} has {col.size} values for {self.step.size} steps")


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
