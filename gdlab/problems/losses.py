"""Losses: value and gradient with respect to the model output, vectorized over the runs axis.

Shapes: `out` (R, B, K) is the model output of R members on one shared batch of B rows (K = 1 for regression
and binary logits, K = n_classes for multiclass logits); `target` is (B, 1) floats (regression) or (B,) integer
labels (binary 0/1, multiclass 0..K-1). Every loss is the MEAN over the batch (and over the K outputs of a
regression), returned per member as (R,); `dout` (R, B, K) is d loss / d out, already divided by B.
Computations stay in `out`'s dtype (float32 in, float32 out: Python-float constants do not upcast arrays).
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from ..errors import ConfigError
from ..registry import Registry

LOSSES = Registry("loss")

# Which dataset task each loss fits (checked by the config before a run).
LOSS_TASKS = {
    "mse": ("regression",),
    "half_mse": ("regression",),
    "mae": ("regression",),
    "lp": ("regression",),
    "bce": ("binary",),
    "cross_entropy": ("multiclass",),
}
DEFAULT_LOSS = {"regression": "half_mse", "binary": "bce", "multiclass": "cross_entropy"}


class Loss(NamedTuple):
    """A loss: `value(out, target) -> (R,)` and `value_and_grad(out, target) -> ((R,), dout (R, B, K))`."""

    name: str
    tasks: tuple[str, ...]
    value: Callable[[np.ndarray, np.ndarray], np.ndarray]
    value_and_grad: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def check_task(loss_name: str, task: str, key: str = "problem.loss") -> None:
    """ConfigError when loss `loss_name` does not fit a dataset of `task`."""
    LOSSES.get(loss_name, key)
    if task not in LOSS_TASKS[loss_name]:
        fits = [name for name, tasks in LOSS_TASKS.items() if task in tasks]
        raise ConfigError(
            f"{key}: loss {loss_name!r} does not fit a {task} dataset (it needs {' or '.join(LOSS_TASKS[loss_name])})"
            f"\n  accepted for {task}: {', '.join(fits)}"
        )


# ----------------------------------------------------------------------------------------------- regression


def _residual(out: np.ndarray, target: np.ndarray) -> np.ndarray:
    """ŷ - y, (R, B, K), in out's dtype (targets (B, K) broadcast over the runs axis)."""
    return out - np.asarray(target, dtype=out.dtype).reshape(out.shape[1:])


def _pointwise(name: str, f: Callable, df: Callable) -> Loss:
    """A regression loss mean_i f(ŷ_i - y_i) with derivative df."""

    def value(out, target):
        return f(_residual(out, target)).mean(axis=(1, 2))  # (R,)

    def value_and_grad(out, target):
        d = _residual(out, target)  # (R, B, K)
        return f(d).mean(axis=(1, 2)), df(d) * (1.0 / (out.shape[1] * out.shape[2]))

    return Loss(name, LOSS_TASKS[name], value, value_and_grad)


@LOSSES.register("mse", "mean (ŷ − y)²")
def mse() -> Loss:
    return _pointwise("mse", np.square, lambda d: 2.0 * d)


@LOSSES.register("half_mse", "mean ½(ŷ − y)² (d2l's squared_loss, averaged)")
def half_mse() -> Loss:
    return _pointwise("half_mse", lambda d: 0.5 * np.square(d), lambda d: d)


@LOSSES.register("mae", "mean |ŷ − y| (subgradient 0 at 0)")
def mae() -> Loss:
    return _pointwise("mae", np.abs, np.sign)


@LOSSES.register("lp", "mean |ŷ − y|^p (p >= 1)")
def lp(p: float = 3.0) -> Loss:
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 1 <= p < np.inf:
        raise ConfigError(f"p: expected a number >= 1, got {p!r}")
    p = float(p)

    def f(d):
        return np.abs(d) ** p

    def df(d):  # p |d|^(p-1) sign(d); 0 at d = 0 (also for p = 1, where |0|^0 = 1)
        return p * np.abs(d) ** (p - 1.0) * np.sign(d)

    return _pointwise("lp", f, df)


# ------------------------------------------------------------------------------------------- classification


def _labels_as(out: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Binary labels (B,) as out's dtype, shaped (1, B, 1) to broadcast against logits (R, B, 1)."""
    return np.asarray(target).astype(out.dtype, copy=False).reshape(1, -1, 1)


def sigmoid(z: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-z), stable for any z: ½(1 + tanh(z/2)) (absolute error of order eps)."""
    return 0.5 + 0.5 * np.tanh(0.5 * z)


@LOSSES.register("bce", "binary cross-entropy on logits: mean softplus(z) − y·z (stable)")
def bce() -> Loss:
    """-[y log σ(z) + (1-y) log(1-σ(z))] = softplus(z) - y·z = logaddexp(0, z) - y·z; d/dz = σ(z) - y."""

    def value(out, target):
        t = _labels_as(out, target)
        return (np.logaddexp(0.0, out) - t * out).mean(axis=(1, 2))  # (R,)

    def value_and_grad(out, target):
        t = _labels_as(out, target)
        return value(out, target), (sigmoid(out) - t) * (1.0 / out.shape[1])

    return Loss("bce", LOSS_TASKS["bce"], value, value_and_grad)


def log_softmax(z: np.ndarray) -> np.ndarray:
    """log softmax over the last axis with the max subtracted first (stable log-sum-exp)."""
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _picked(logp: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """logp[r, i, labels[i]] for every member r and row i: (R, B), C-contiguous.

    (Fancy indexing logp[:, arange(B), labels] may lay the result out with R innermost, and a mean over B of that
    sums in another order than a single member's: members would differ from single-member runs in the last bit.)
    """
    return np.take_along_axis(logp, labels.reshape(1, -1, 1), axis=2)[:, :, 0].copy()


@LOSSES.register("cross_entropy", "softmax cross-entropy with integer labels: mean −log softmax(z)[y] (stable)")
def cross_entropy() -> Loss:
    """-log softmax(z)_y averaged over the batch; d/dz = softmax(z) - onehot(y)."""

    def value(out, target):
        labels = np.asarray(target, dtype=np.intp)
        return -_picked(log_softmax(out), labels).mean(axis=1)  # (R,)

    def value_and_grad(out, target):
        labels = np.asarray(target, dtype=np.intp)
        logp = log_softmax(out)  # (R, B, K)
        loss = -_picked(logp, labels).mean(axis=1)
        dout = np.exp(logp)  # softmax (R, B, K)
        dout[:, np.arange(out.shape[1]), labels] -= 1
        dout *= 1.0 / out.shape[1]
        return loss, dout

    return Loss("cross_entropy", LOSS_TASKS["cross_entropy"], value, value_and_grad)


# ------------------------------------------------------------------------------------------------- accuracy


def predict(out: np.ndarray) -> np.ndarray:
    """Predicted labels (R, B) int64: logit > 0 when K = 1 (binary), argmax over K otherwise."""
    if out.shape[-1] == 1:
        return (out[..., 0] > 0).astype(np.int64)
    return out.argmax(axis=-1)


def accuracy(out: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Fraction of correct predictions per member, (R,) float64."""
    return (predict(out) == np.asarray(target).reshape(1, -1)).mean(axis=1)
