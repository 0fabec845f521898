"""A model learning from a dataset, as a problem the lockstep engine can run.

Every member trains its own copy of the same model from the same initial parameters and sees the same batch at
each step, unless members run with different seeds (repetitions): then each distinct seed has its own initial
weights, split and batches, shared by its members. The random streams are separate and derived from the seed, so
that changing one thing (say the held-out fraction) does not reshuffle another (the initial weights): stream 0
initializes, 1 splits, 2 batches.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

import numpy as np

from ..errors import ConfigError
from .datasets import DATASETS, Dataset, files_of
from .datasets.batching import BatchPlan, split_validation
from .landscape import Landscape
from .losses import LOSSES, accuracy
from .models import MODELS, Model
from .seeds import SeedRows
from .spec import ProblemSpec

EVALS_PER_RUN = 50  # default number of whole-data evaluations in a run (eval_every = total // 50)
CHUNK = 4096  # rows per forward pass when evaluating on whole data (bounded memory for large sets)


DATASETS_KEPT = 2  # datasets kept loaded while a sweep (or a sweep's worker) runs its batches


def load_dataset(spec: ProblemSpec, progress=None) -> Dataset:
    """The dataset of `spec`; inside keep_datasets() loaded once and shared (Datasets are read-only)."""
    factory = DATASETS.get(spec.name)
    kwargs = dict(spec.params)
    if spec.name == "mnist":
        kwargs.update(split=spec.split, data_dir=spec.data_dir)
    arguments = (spec.name, repr(sorted(kwargs.items())), os.environ.get("GDLAB_DATA_DIR"))
    key = (*arguments, _identity(spec))
    if _kept.depth and key in _kept.datasets:
        _kept.datasets[key] = _kept.datasets.pop(key)  # most recently used last
        return _kept.datasets[key]
    if spec.name == "mnist":
        kwargs["progress"] = progress
    try:
        dataset = factory(**kwargs)
    except ConfigError as exc:  # the dataset names its own argument ("n: ..."): say where it is in the config
        raise ConfigError(f"problem.params.{exc}") from None
    if _kept.depth:
        for kept in [k for k in _kept.datasets if k[:3] == arguments]:
            del _kept.datasets[kept]  # read from a file that changed since: stale
        _kept.datasets[(*arguments, _identity(spec))] = dataset  # identity now (a download made the files)
        while len(_kept.datasets) > DATASETS_KEPT:
            _kept.datasets.pop(next(iter(_kept.datasets)))
    return dataset


def _identity(spec: ProblemSpec) -> tuple:
    """What tells the dataset's files apart from an edited or replaced copy: (path, size, mtime_ns, inode) of each
    (None for a missing one). A long-lived worker keeps what it read; a file changed between sweeps is read again."""
    found = []
    for path in files_of(spec.name, spec.split, spec.data_dir):
        try:
            st = os.stat(path)
            found.append((str(path), st.st_size, st.st_mtime_ns, st.st_ino))
        except (OSError, TypeError):  # missing (to be downloaded), or not a plain file in an unusual install
            found.append((str(path), None))
    return tuple(found)


class _Kept:
    depth = 0  # open keep_datasets() blocks
    datasets: dict[tuple, Dataset] = {}  # (name, arguments, data folder, files) -> dataset, least recently used first


_kept = _Kept()


@contextmanager
def keep_datasets() -> Iterator[None]:
    """Within the block, each dataset is read from disk (or generated) once and shared by every problem built."""
    _kept.depth += 1
    try:
        yield
    finally:
        _kept.depth -= 1
        if not _kept.depth:
            _kept.datasets = {}


def build_model(spec: ProblemSpec, dataset: Dataset) -> Model:
    options = {"bias": spec.bias, "init": spec.init}
    if spec.model == "mlp":
        options.update(hidden=spec.hidden, activation=spec.activation)
    return MODELS.get(spec.model)(**options).build(dataset.n_features, dataset.n_outputs)


class DataProblem:
    """A model on a dataset with a loss, for R members in lockstep.

    seed: an int (every member shares the streams) or the seed of every member, (R,): each distinct seed has its
    own initial weights, held-out split and batches, drawn once and used by all members of that seed.
    """

    kind = "dataset"

    def __init__(self, spec: ProblemSpec, dataset: Dataset, *, seed, dtype: str, predict: tuple = ()):
        self.dtype = np.dtype(dtype)
        self.model = build_model(spec, dataset)
        self.loss = LOSSES.get(spec.loss)()
        self.classify = dataset.task != "regression"
        self.seeds = SeedRows.of(seed)
        self.init_rngs, split_rngs, self.batch_rngs = (self.seeds.derived(i) for i in range(3))
        self.parts = [self._split(spec, dataset, rng) for rng in split_rngs] if spec.validation else \
            [self._split(spec, dataset, None)] * len(self.seeds.seeds)  # no split: every seed shares the rows
        widths = {len(row) for row in predict}
        if widths and widths != {dataset.n_features}:
            raise ConfigError(f"predict: {list(predict[0])} has {widths.pop()} feature(s); {dataset.name} has "
                              f"{dataset.n_features}, so each input needs {dataset.n_features} number(s)")
        self.X, self.y, self.Xv, self.yv = self.parts[0]  # the first seed's rows (the only ones for one seed)
        n = len(self.X)
        if spec.batch_size is not None and spec.batch_size > n:
            raise ConfigError(f"problem.batch_size: {spec.batch_size} is larger than the {n} training rows of "
                              f"{dataset.name}; use at most {n}, or null for the full batch")
        self.plan = BatchPlan(n, spec.batch_size, spec.sampling)
        self.dim = self.model.n_params
        self.metric_columns = ("train_loss",) + (("train_accuracy",) if self.classify else ()) + \
            (("val_loss",) + (("val_accuracy",) if self.classify else ()) if len(self.Xv) else ())
        self._batches = None
        self._next_step = 0

    def _split(self, spec: ProblemSpec, dataset: Dataset, rng) -> tuple:
        """(X, y, Xv, yv): the training and held-out rows of one seed."""
        try:
            train, val = (split_validation(dataset.n, spec.validation, rng) if spec.validation
                          else (np.arange(dataset.n), np.arange(0)))
        except ConfigError as exc:
            raise ConfigError(f"problem.{exc}") from None
        if spec.validation and (len(val) == 0 or len(train) == 0):
            raise ConfigError(f"problem.validation: {spec.validation!r} of {dataset.n} rows leaves an empty "
                              f"{'validation' if len(val) == 0 else 'training'} set")
        return (*self._rows(dataset, train), *self._rows(dataset, val))

    def _rows(self, dataset: Dataset, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        X = np.ascontiguousarray(dataset.X[idx], dtype=self.dtype)
        y = dataset.y[idx]
        return X, (np.ascontiguousarray(y, dtype=self.dtype) if y.ndim == 2 else y)

    def _per_seed(self, params: np.ndarray, fn) -> tuple:
        """fn(j, params of seed j's members) -> arrays with a leading members axis, put together in member order.

        One seed: fn(0, params) itself. Several: one call per distinct seed (never one per member), on a
        contiguous copy of that seed's rows so that every member computes exactly as it would alone.
        """
        if self.seeds.single:
            return fn(0, params)
        out = None
        for j, rows in enumerate(self.seeds.rows):
            part = fn(j, np.ascontiguousarray(params[rows]))
            if out is None:
                out = tuple({k: np.empty((len(params),) + v.shape[1:], v.dtype) for k, v in a.items()}
                            if isinstance(a, dict) else np.empty((len(params),) + a.shape[1:], a.dtype) for a in part)
            for whole, a in zip(out, part):
                if isinstance(a, dict):
                    for k, v in a.items():
                        whole[k][rows] = v
                else:
                    whole[rows] = a
        return out

    def initial_params(self, n_runs: int) -> np.ndarray:
        self.seeds.check(n_runs)
        if self.seeds.single:
            return self.model.init(n_runs, self.init_rngs[0], self.dtype)
        params = np.empty((n_runs, self.dim), dtype=self.dtype)
        for rows, rng in zip(self.seeds.rows, self.init_rngs):
            params[rows] = self.model.init(1, rng, self.dtype)  # one draw per seed, as that seed alone
        return params

    def total_steps(self, steps: int | None, epochs: float | None) -> int:
        total = self.plan.steps_for(steps=steps, epochs=None if steps is not None else epochs)
        self._batches = [self.plan.batches(rng, total) for rng in self.batch_rngs]
        return total

    def loss_and_grad(self, params: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        if self._batches is None or k != self._next_step:
            raise RuntimeError("DataProblem steps must run in order from 0 after total_steps()")
        self._next_step += 1
        batches = [next(b) for b in self._batches]  # one batch per distinct seed

        def step(j: int, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            X, y = self.parts[j][:2]
            if self.plan.full_batch:
                return self.model.loss_and_grad(p, X, y, self.loss)
            return self.model.loss_and_grad(p, X[batches[j]], y[batches[j]], self.loss)

        return self._per_seed(params, step)

    def epoch(self, k: int) -> float:
        return float(self.plan.epoch_at(k))

    def default_eval_every(self, total: int) -> int:
        return max(1, total // EVALS_PER_RUN)

    def evaluate(self, params: np.ndarray) -> dict[str, np.ndarray]:
        """Loss (and accuracy) on the whole training data and on the held-out rows."""
        return self._per_seed(params, lambda j, p: (self._evaluate(p, *self.parts[j]),))[0]

    def _evaluate(self, params: np.ndarray, X, y, Xv, yv) -> dict[str, np.ndarray]:
        out = {}
        for prefix, X, y in (("train", X, y), ("val", Xv, yv)):
            if len(X) == 0:
                continue
            loss, acc = self._whole(params, X, y)
            out[f"{prefix}_loss"] = loss
            if self.classify:
                out[f"{prefix}_accuracy"] = acc
        return out

    def _whole(self, params: np.ndarray, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Mean loss and accuracy over all rows, in chunks (weighted by chunk size)."""
        loss = np.zeros(len(params))
        correct = np.zeros(len(params))
        for start in range(0, len(X), CHUNK):
            Xc, yc = X[start:start + CHUNK], y[start:start + CHUNK]
            out, _ = self.model.forward(params, Xc)
            loss += self.loss.value(out, yc) * len(Xc)
            if self.classify:
                correct += accuracy(out, yc) * len(Xc)
        return loss / len(X), (correct / len(X) if self.classify else None)

    def final_loss(self, params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Loss and gradient on the whole training data (d2l reports this loss)."""
        return self._per_seed(params, lambda j, p: self._final_loss(p, *self.parts[j][:2]))

    def _final_loss(self, params: np.ndarray, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        total_loss = np.zeros(len(params))
        total_grad = np.zeros(params.shape, dtype=params.dtype)
        for start in range(0, len(X), CHUNK):
            Xc, yc = X[start:start + CHUNK], y[start:start + CHUNK]
            loss, grad = self.model.loss_and_grad(params, Xc, yc, self.loss)
            total_loss += loss * len(Xc)
            total_grad += grad * len(Xc)
        return total_loss / len(X), total_grad / len(X)

    def predict(self, params: np.ndarray, X: np.ndarray) -> np.ndarray:
        out, _ = self.model.forward(params, np.asarray(X, dtype=self.dtype))
        return out


def data_problem(spec: ProblemSpec, *, seed, dtype: str, predict: tuple = (), progress=None) -> DataProblem:
    return DataProblem(spec, load_dataset(spec, progress), seed=seed, dtype=dtype, predict=predict)


def model_landscape(spec: ProblemSpec) -> Landscape | None:
    """The whole-data loss over the parameters of a 1- or 2-parameter model (linefit's w; w and b)."""
    dataset = load_dataset(spec)
    model = build_model(spec, dataset)
    if model.n_params > 2:
        return None
    loss = LOSSES.get(spec.loss)()
    X = np.asarray(dataset.X, dtype=float)
    y = dataset.y.astype(float) if dataset.y.ndim == 2 else dataset.y

    def f(points: np.ndarray) -> np.ndarray:  # points (N, P): every grid point is a member of one big stack
        return np.concatenate([loss.value(model.forward(points[s:s + CHUNK], X)[0], y)
                               for s in range(0, len(points), CHUNK)])

    centre = _least_squares(model, X, y) if spec.loss in ("mse", "half_mse") else np.zeros(model.n_params)
    names = [n for n, _ in model.layout]
    labels = tuple("w" if n.startswith("W") else "b" for n in names) if len(names) == model.n_params else \
        tuple(f"θ{i + 1}" for i in range(model.n_params))
    window = tuple((float(c) - 2.5, float(c) + 2.5) for c in centre)
    return Landscape(f=f, window=window, minimiser=centre if spec.loss in ("mse", "half_mse") else None,
                     min_value=float(f(centre[None, :])[0]) if spec.loss in ("mse", "half_mse") else None,
                     labels=labels, title=f"{spec.loss} of {spec.model} on {spec.name}")


def _least_squares(model: Model, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The minimiser of a squared loss for a linear model: [w] or [w, b] by least squares."""
    A = np.hstack([X, np.ones((len(X), 1))]) if model.n_params == X.shape[1] + 1 else X
    return np.linalg.lstsq(A, y.reshape(-1), rcond=None)[0]
