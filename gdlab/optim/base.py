"""The optimizer contract and the pieces every update rule is built from.

Shapes: params and grads are (R, P): axis 0 is the runs axis (members of a compare or sweep advancing in lockstep),
axis 1 the flat parameter vector. A hyperparameter is a float or an (R, 1) array (one value per member); `lr` may
also be a callable t -> float | (R, 1) array (a schedule); booleans are plain bools. A state is a NamedTuple whose
fields all lead with the runs axis: (R, P) moments, (R, 1) running products such as β^t, (R, 0) for switched-off parts.

Names, defaults and update rules are PyTorch's torch.optim (2.x), eps where PyTorch puts it
(tests/test_torch_parity.py checks 200 steps against torch to rtol 1e-9).

Speed: an update may work in place on arrays it allocated itself (never on its inputs or the state it was given):
the same operations in the same order, without a fresh array for every intermediate. An option that is zero for
every member of a group (weight_decay, dampening, momentum) is skipped, as PyTorch skips it; adding a zero term is
exact, so skipping it changes no bit of any member.

Lockstep: members never interact and per-member values only meet IEEE-exact elementwise operations
(+ − × ÷ sqrt abs maximum where), so a member's result does not depend on how many members share the arrays. β^t are
running products kept in the state; NAdam's 0.96^ψ goes through `exact_map`. Hyperparameters are cast to the params'
dtype before any arithmetic, so float32 stays float32.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import numpy as np

from ..registry import Registry

OPTIMIZERS = Registry("optimizer")


class Optimizer(NamedTuple):
    """A pure pair: init(params (R, P)) -> state; update(grads (R, P), state, params (R, P), t) -> (params, state).

    t = 1, 2, ... is the 1-based count of the update (PyTorch's `step` after its increment). Neither function
    mutates its inputs; hyperparameters live in the closure, not in the state.
    """

    init: Callable[[np.ndarray], Any]
    update: Callable[[np.ndarray, Any, np.ndarray, int], tuple[np.ndarray, Any]]


# ---------------------------------------------------------------------------------------------- shared pieces


def exact_map(fn: Callable[..., float], *values: Any) -> Any:
    """fn applied elementwise through Python floats, so one member's result never depends on the others.

    values are floats or broadcastable arrays such as (R, 1). All scalars -> a float; otherwise an array of the
    broadcast shape in the arrays' float dtype. fn runs once per distinct combination of values. (NumPy's SIMD
    pow/exp/cos may differ by an ulp between array lengths; Python's math does not.)
    """
    arrays = [np.asarray(v) for v in values if np.ndim(v)]
    if not arrays:
        return float(fn(*(float(v) for v in values)))
    dtype = np.result_type(*arrays)
    dtype = dtype if np.issubdtype(dtype, np.floating) else np.dtype(np.float64)
    cols = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in values))
    rows, inverse = np.unique(np.stack([c.ravel() for c in cols], axis=1), axis=0, return_inverse=True)
    out = np.array([fn(*(float(x) for x in row)) for row in rows], dtype=np.float64)
    return out[inverse.ravel()].reshape(cols[0].shape).astype(dtype)


def hp(x: Any, dtype: np.dtype) -> np.ndarray:
    """A hyperparameter (float or (R, 1) array) as a 0-d or (R, 1) array of the params' dtype."""
    return np.asarray(x, dtype=dtype)


def lr_at(lr: Any, t: int, dtype: np.dtype) -> np.ndarray:
    """The learning rate of update t: lr is a float, an (R, 1) array, or a callable t -> either."""
    return hp(lr(t) if callable(lr) else lr, dtype)


def is_off(x: Any) -> bool:
    """True for 0 or an all-zero column: the option is off for every member and is skipped, as PyTorch skips it."""
    return not x.any() if isinstance(x, np.ndarray) else not np.any(x)  # the method: this runs every step


def ones(params: np.ndarray, width: int = 1) -> np.ndarray:
    """(R, 1) ones start a running product such as β^t; (R, 0) stands for a state part an option switches off."""
    return np.ones((params.shape[0], width), params.dtype)


def ema(avg: np.ndarray, x: np.ndarray, beta: np.ndarray, *, x_is_scratch: bool = False) -> np.ndarray:
    """β·avg + (1 − β)·x, the exponential moving average every adaptive method keeps (a new array).

    x_is_scratch: x is a temporary of the caller's and may be overwritten.
    """
    out = beta * avg
    tail = np.multiply(1 - beta, x, out=x if x_is_scratch else None)
    out += tail
    return out


def descend(params: np.ndarray, lr: np.ndarray, step: np.ndarray) -> np.ndarray:
    """θ − lr·step, written into `step` (a temporary of the caller's)."""
    np.multiply(lr, step, out=step)
    return np.subtract(params, step, out=step)


def l2(grads: np.ndarray, params: np.ndarray, weight_decay: Any) -> np.ndarray:
    """g + wd·θ: weight decay as an L2 term added to the gradient (PyTorch's default coupling)."""
    return grads if is_off(weight_decay) else grads + hp(weight_decay, params.dtype) * params


def decoupled(inner: Optimizer, lr: Any, weight_decay: Any) -> Optimizer:
    """θ ← θ·(1 − lr·wd), then `inner`'s update (AdamW, Lion, decoupled_weight_decay); lr is the scheduled lr."""
    if is_off(weight_decay):
        return inner

    def update(grads, state, params, t):
        shrink = 1 - lr_at(lr, t, params.dtype) * hp(weight_decay, params.dtype)  # (R, 1) or 0-d
        return inner.update(grads, state, params * shrink, t)

    return Optimizer(inner.init, update)
