"""A member's history as read back from its run directory: the plain record the figures draw.

NumPy only: this module must never import matplotlib (the CLI imports it to read run directories, and
`gdlab --help` has to stay fast).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

STATUSES = ("completed", "diverged", "interrupted", "failed")


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
    path_step: np.ndarray | None = None  # (m,) the step of each path row (None: row k is step k)

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
        if self.path_step is not None:
            self.path_step = np.asarray(self.path_step, dtype=np.int64).reshape(-1)
        self.columns = {k: np.asarray(v, dtype=np.float64).reshape(-1) for k, v in self.columns.items()}
        for name, col in self.columns.items():
            if col.shape != self.step.shape:
                raise ValueError(f"{self.label}: column {name!r} has {col.size} values for {self.step.size} steps")
