"""Datasets: the `Dataset` record and the `DATASETS` table of factories.

Every factory returns a `Dataset` whose arrays are read-only: X (N, F) float32 C-contiguous, y (N,) int64 class
labels (binary 0/1 or multiclass 0..K-1) or (N, 1) float32 regression targets. The factory's signature is the
single place where its parameters and defaults are written (`DATASETS.defaults(name)`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...registry import Registry

TASKS = ("regression", "binary", "multiclass")

DATASETS = Registry("dataset")

# The task of each registered dataset, known without loading it (configs are checked before any data is read;
# tests check each entry against the loaded data).
DATASET_TASKS = {
    "linefit": "regression",
    "linear_synthetic": "regression",
    "xor": "binary",
    "spirals": "binary",
    "moons": "binary",
    "airfoil": "regression",
    "mnist": "multiclass",
}


def shape_of(name: str, params: dict, split: str = "train") -> tuple[int, int] | None:
    """(rows, features) of a registered dataset from its parameters alone (nothing is read or generated), for the
    memory estimate made before a run starts; None for a dataset it does not know."""
    n = params.get("n")
    return {
        "linefit": (3, 1),
        "linear_synthetic": (n or 1000, len(params.get("w") or (0, 0))),
        "xor": (n or 400, 2), "spirals": (n or 400, 2), "moons": (n or 400, 2),
        "airfoil": (params.get("rows") or 1500, 5),
        "mnist": (60000 if split == "train" else 10000, 784),
    }.get(name)


def files_of(name: str, split: str = "train", data_dir=None) -> list:
    """The files on disk a registered dataset is read from now (paths; a missing one as its expected name), so that
    a kept dataset can be told stale when one of them changed. Generated datasets have none."""
    if name == "mnist":
        folder = mnist.mnist_dir(data_dir)
        return [mnist.locate(stem, folder) or folder / stem for stem in mnist.SPLITS.get(split, ())]
    if name == "airfoil":
        return [airfoil.packaged_file()]
    return []


# Factory parameters that have their own `problem:` keys (or are not config at all) instead of `problem.params`.
NOT_PARAMS = ("split", "data_dir", "progress")


@dataclass(frozen=True, eq=False)
class Dataset:
    """A table of examples. Row i is (X[i], y[i])."""

    name: str
    X: np.ndarray = field(repr=False)  # (N, F) float32 features
    y: np.ndarray = field(repr=False)  # (N,) int64 labels | (N, 1) float32 targets
    task: str  # "regression" | "binary" | "multiclass"
    n_classes: int | None
    source: str  # one line: where the data comes from (attribution)

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {self.task!r}")
        if self.X.ndim != 2 or len(self.y) != len(self.X):
            raise ValueError(f"X must be (N, F) and y have N rows; got {self.X.shape} and {self.y.shape}")
        if (self.task == "regression") != (self.y.ndim == 2):
            raise ValueError(f"{self.task} targets must be {'(N, 1)' if self.task == 'regression' else '(N,)'}")
        for a in (self.X, self.y):
            a.flags.writeable = False  # shared by every member and every step: nobody writes into it

    @property
    def n(self) -> int:
        """Number of rows N."""
        return len(self.X)

    @property
    def n_features(self) -> int:
        """Number of features F."""
        return self.X.shape[1]

    @property
    def n_outputs(self) -> int:
        """Width K of a model's output for this task: 1 (regression, binary logit) or n_classes."""
        return self.n_classes if self.task == "multiclass" else 1

    def subset(self, idx: np.ndarray, name: str | None = None) -> "Dataset":
        """The rows `idx` (int index array) as a new Dataset (copies; e.g. a train / validation split)."""
        return Dataset(
            name or self.name, np.ascontiguousarray(self.X[idx]), self.y[idx], self.task, self.n_classes, self.source
        )


def make_dataset(name: str, X, y, task: str, n_classes: int | None, source: str) -> Dataset:
    """A Dataset with X as float32 C-contiguous and y as int64 labels or (N, 1) float32 targets."""
    X = np.ascontiguousarray(X, dtype=np.float32)
    if task == "regression":
        y = np.ascontiguousarray(np.reshape(y, (-1, 1)), dtype=np.float32)
    else:
        y = np.ascontiguousarray(y, dtype=np.int64)
    return Dataset(name, X, y, task, n_classes, source)


# Importing the modules registers their factories (they import DATASETS and Dataset from here).
from . import airfoil, mnist, synthetic  # noqa: E402,F401  (this order is the order of `gdlab list datasets`)

__all__ = ["DATASETS", "DATASET_TASKS", "NOT_PARAMS", "Dataset", "TASKS", "files_of", "make_dataset", "shape_of"]
