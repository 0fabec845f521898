"""Gradient-descent optimizers as pure (init, update) pairs over a runs axis.

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

from .registry import Registry

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


def _hp(x: Any, dtype: np.dtype) -> np.ndarray:
    """A hyperparameter (float or (R, 1) array) as a 0-d or (R, 1) array of the params' dtype."""
    return np.asarray(x, dtype=dtype)


def _lr_at(lr: Any, t: int, dtype: np.dtype) -> np.ndarray:
    """The learning rate of update t: lr is a float, an (R, 1) array, or a callable t -> either."""
    return _hp(lr(t) if callable(lr) else lr, dtype)


def _off(x: Any) -> bool:
    """True for 0 or an all-zero column: the option is off for every member and is skipped, as PyTorch skips it."""
    return not x.any() if isinstance(x, np.ndarray) else not np.any(x)  # the method: this runs every step


def _ones(params: np.ndarray, width: int = 1) -> np.ndarray:
    """(R, 1) ones start a running product such as β^t; (R, 0) stands for a state part an option switches off."""
    return np.ones((params.shape[0], width), params.dtype)


def _ema(avg: np.ndarray, x: np.ndarray, beta: np.ndarray, *, x_is_scratch: bool = False) -> np.ndarray:
    """β·avg + (1 − β)·x, the exponential moving average every adaptive method keeps (a new array).

    x_is_scratch: x is a temporary of the caller's and may be overwritten.
    """
    out = beta * avg
    tail = np.multiply(1 - beta, x, out=x if x_is_scratch else None)
    out += tail
    return out


def _descend(params: np.ndarray, lr: np.ndarray, step: np.ndarray) -> np.ndarray:
    """θ − lr·step, written into `step` (a temporary of the caller's)."""
    np.multiply(lr, step, out=step)
    return np.subtract(params, step, out=step)


def _l2(grads: np.ndarray, params: np.ndarray, weight_decay: Any) -> np.ndarray:
    """g + wd·θ: weight decay as an L2 term added to the gradient (PyTorch's default coupling)."""
    return grads if _off(weight_decay) else grads + _hp(weight_decay, params.dtype) * params


def _decoupled(inner: Optimizer, lr: Any, weight_decay: Any) -> Optimizer:
    """θ ← θ·(1 − lr·wd), then `inner`'s update (AdamW, Lion, decoupled_weight_decay); lr is the scheduled lr."""
    if _off(weight_decay):
        return inner

    def update(grads, state, params, t):
        shrink = 1 - _lr_at(lr, t, params.dtype) * _hp(weight_decay, params.dtype)  # (R, 1) or 0-d
        return inner.update(grads, state, params * shrink, t)

    return Optimizer(inner.init, update)


# ------------------------------------------------------------------------------------------------ SGD family


class SgdState(NamedTuple):
    momentum_buffer: np.ndarray  # (R, P) b; (R, 0) without momentum


@OPTIMIZERS.register("sgd", "θ ← θ − lr·g; momentum: b ← μ·b + (1−τ)·g (b=g at t=1), θ ← θ − lr·b (nesterov: g + μ·b)")
def sgd(lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False) -> Optimizer:
    """Stochastic gradient descent with optional heavy-ball or Nesterov momentum (torch.optim.SGD).

        g ← g + wd·θ
        b ← g at t = 1, else μ·b + (1 − τ)·g        (τ = dampening; the first step is never dampened)
        θ ← θ − lr·b,  nesterov: θ ← θ − lr·(g + μ·b);  μ = 0: θ ← θ − lr·g

    d2l's momentum (v ← μ·v + g; θ ← θ − lr·v) is this rule; DLFS's (v ← μ·v − lr·g; θ ← θ + v) equals it for a
    constant lr (v = −lr·b). Members whose momentum is 0 take plain SGD steps, as PyTorch does.
    Reference: Sutskever et al., "On the importance of initialization and momentum in deep learning", ICML 2013.
    """
    momentum_on = not _off(momentum)
    # a member with μ = 0 takes a plain step g, as alone; without dampening μ·b + g is g already, exactly
    plain = bool(np.any(np.asarray(momentum) == 0)) and not _off(dampening)

    def init(params):
        return SgdState(np.zeros_like(params) if momentum_on else _ones(params, 0))

    def update(grads, state, params, t):
        dt = params.dtype
        g = _l2(grads, params, weight_decay)  # (R, P)
        buf = state.momentum_buffer
        if momentum_on:
            mu = _hp(momentum, dt)
            if t == 1:
                buf = g.copy()
            else:
                buf = mu * buf
                buf += g if _off(dampening) else (1 - _hp(dampening, dt)) * g
            direction = g + mu * buf if nesterov else buf
            g = np.where(mu == 0, g, direction) if plain else direction
        return params - _lr_at(lr, t, dt) * g, SgdState(buf)

    return Optimizer(init, update)


@OPTIMIZERS.register("momentum", "b ← μ·b + (1−τ)·g (b = g at t=1); θ ← θ − lr·b  (sgd with μ = 0.9)")
def momentum(lr=1e-3, momentum=0.9, dampening=0.0, weight_decay=0.0, nesterov=False) -> Optimizer:
    """Heavy-ball momentum: `sgd` with momentum 0.9 by default (d2l's and DLFS's "Momentum")."""
    return sgd(lr, momentum, dampening, weight_decay, nesterov)


@OPTIMIZERS.register("nesterov", "b ← μ·b + g (b = g at t=1); θ ← θ − lr·(g + μ·b)  (sgd, nesterov, μ = 0.9)")
def nesterov(lr=1e-3, momentum=0.9, dampening=0.0, weight_decay=0.0) -> Optimizer:
    """Nesterov momentum in PyTorch's form: `sgd` with nesterov=True and momentum 0.9 by default."""
    return sgd(lr, momentum, dampening, weight_decay, nesterov=True)


# ------------------------------------------------------------------------------------- per-coordinate scaling


class AdagradState(NamedTuple):
    sum: np.ndarray  # (R, P) s, the running sum of squared gradients


@OPTIMIZERS.register("adagrad", "s ← s + g²; θ ← θ − lr/(1 + (t−1)·lr_decay)·g/(√s + eps)")
def adagrad(lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10) -> Optimizer:
    """AdaGrad (torch.optim.Adagrad): per-coordinate steps shrinking with the accumulated squared gradient.

        g ← g + wd·θ;  s ← s + g²   (s starts at initial_accumulator_value)
        θ ← θ − clr·g/(√s + eps),   clr = lr/(1 + (t − 1)·lr_decay)

    eps is added after the square root (d2l adds it inside: √(s + eps)).
    Reference: Duchi, Hazan & Singer, "Adaptive subgradient methods", JMLR 2011.
    """

    def init(params):
        return AdagradState(np.zeros_like(params) + _hp(initial_accumulator_value, params.dtype))

    def update(grads, state, params, t):
        dt = params.dtype
        g = _l2(grads, params, weight_decay)
        clr = _lr_at(lr, t, dt) / (1 + (t - 1) * _hp(lr_decay, dt))
        s = g * g
        s += state.sum  # the same sum as state.sum + g², written into the temporary
        denom = np.sqrt(s)
        denom += _hp(eps, dt)
        step = np.divide(g, denom, out=denom)
        return _descend(params, clr, step), AdagradState(s)

    return Optimizer(init, update)


class RmspropState(NamedTuple):
    square_avg: np.ndarray  # (R, P) v
    grad_avg: np.ndarray  # (R, P) ḡ with centered=True, else (R, 0)
    momentum_buffer: np.ndarray  # (R, P) b with momentum, else (R, 0)


@OPTIMIZERS.register("rmsprop", "v ← α·v + (1−α)·g²; θ ← θ − lr·g/(√v + eps)  (centered: √(v − ḡ²); momentum μ)")
def rmsprop(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False) -> Optimizer:
    """RMSProp (torch.optim.RMSprop): steps scaled by a moving root mean square of the gradient.

        g ← g + wd·θ;  v ← α·v + (1 − α)·g²;  d = √v + eps
        centered: ḡ ← α·ḡ + (1 − α)·g and d = √(v − ḡ²) + eps   (v − ḡ² estimates the variance)
        θ ← θ − lr·g/d;  momentum μ: b ← μ·b + g/d, θ ← θ − lr·b

    eps is added after the square root, as in DLFS (d2l adds it inside: √(v + eps)).
    Reference: Hinton, Neural Networks for Machine Learning, lecture 6e; Graves, arXiv:1308.0850 (centered).
    """
    momentum_on = not _off(momentum)

    def init(params):
        z = np.zeros_like
        return RmspropState(z(params), z(params) if centered else _ones(params, 0),
                            z(params) if momentum_on else _ones(params, 0))

    def update(grads, state, params, t):
        dt = params.dtype
        a, e = _hp(alpha, dt), _hp(eps, dt)
        g = _l2(grads, params, weight_decay)
        v, gbar, buf = _ema(state.square_avg, g * g, a, x_is_scratch=True), state.grad_avg, state.momentum_buffer
        if centered:
            gbar = _ema(gbar, g, a)
            d = np.sqrt(v - gbar * gbar)
        else:
            d = np.sqrt(v)
        d += e
        step = np.divide(g, d, out=d)
        if momentum_on:
            buf = _hp(momentum, dt) * buf
            buf += step
            return params - _lr_at(lr, t, dt) * buf, RmspropState(v, gbar, buf)
        return _descend(params, _lr_at(lr, t, dt), step), RmspropState(v, gbar, buf)

    return Optimizer(init, update)


class AdadeltaState(NamedTuple):
    square_avg: np.ndarray  # (R, P) v, moving average of g²
    acc_delta: np.ndarray  # (R, P) u, moving average of Δ²


@OPTIMIZERS.register("adadelta", "v ← ρ·v + (1−ρ)·g²; Δ ← √(u + eps)/√(v + eps)·g; u ← ρ·u + (1−ρ)·Δ²; θ ← θ − lr·Δ")
def adadelta(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0) -> Optimizer:
    """AdaDelta (torch.optim.Adadelta): unit-correct steps from two moving averages, scaled by lr (default 1).

        g ← g + wd·θ;  v ← ρ·v + (1 − ρ)·g²;  Δ ← √(u + eps)/√(v + eps)·g;  u ← ρ·u + (1 − ρ)·Δ²;  θ ← θ − lr·Δ

    eps sits inside both square roots, as in the paper and in d2l.
    Reference: Zeiler, "ADADELTA: an adaptive learning rate method", arXiv:1212.5701.
    """

    def init(params):
        return AdadeltaState(np.zeros_like(params), np.zeros_like(params))

    def update(grads, state, params, t):
        dt = params.dtype
        r, e = _hp(rho, dt), _hp(eps, dt)
        g = _l2(grads, params, weight_decay)
        v = _ema(state.square_avg, g * g, r)
        delta = np.sqrt(state.acc_delta + e) / np.sqrt(v + e) * g
        u = _ema(state.acc_delta, delta * delta, r)
        return params - _lr_at(lr, t, dt) * delta, AdadeltaState(v, u)

    return Optimizer(init, update)


# ---------------------------------------------------------------------------------------------------- ranges

# One table by hyperparameter name: (accepts(value), what is accepted).
_RANGES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "lr": (lambda x: x > 0, "must be > 0"),
    "momentum": (lambda x: 0 <= x < 1, "must be in [0, 1)"),
    "dampening": (lambda x: 0 <= x <= 1, "must be in [0, 1]"),
    "weight_decay": (lambda x: x >= 0, "must be >= 0"),
    "eps": (lambda x: x > 0, "must be > 0"),
    "alpha": (lambda x: 0 <= x < 1, "must be in [0, 1)"),
    "rho": (lambda x: 0 <= x <= 1, "must be in [0, 1]"),
    "lr_decay": (lambda x: x >= 0, "must be >= 0"),
    "initial_accumulator_value": (lambda x: x >= 0, "must be >= 0"),
    "momentum_decay": (lambda x: x >= 0, "must be >= 0"),
    "betas": (lambda b: len(b) == 2 and all(0 <= x < 1 for x in b), "must be two numbers, each in [0, 1)"),
}


def check_hparams(name: str, hparams: dict[str, Any]) -> list[tuple[str, str]]:
    """(key, problem) for every out-of-range value in the resolved hyperparameters of optimizer `name`.

    hparams holds every hyperparameter (defaults filled in, types already checked); keys without a range are
    ignored. Cross-field rule (PyTorch's): Nesterov momentum needs momentum > 0 and dampening 0.
    """
    OPTIMIZERS.get(name)  # ConfigError for an unknown name
    problems = [(key, message) for key, (accepts, message) in _RANGES.items()
                if key in hparams and not accepts(hparams[key])]
    flagged = {key for key, _ in problems}
    if hparams.get("nesterov", name == "nesterov"):
        if "momentum" not in flagged and not hparams.get("momentum", 0) > 0:
            problems.append(("momentum", "must be in (0, 1) with Nesterov momentum"))
        if "dampening" not in flagged and hparams.get("dampening", 0) != 0:
            problems.append(("dampening", "must be 0 with Nesterov momentum"))
    return problems


# The Adam family lives in its own module; importing it registers adam, adamw, adamax, nadam, radam and lion
# after the methods above (the order `gdlab list optimizers` shows).
from . import adam_family  # noqa: E402,F401
