"""Gradient-descent optimizers as pure (init, update) pairs over a runs axis.

Shapes: params and grads are (R, P): axis 0 is the runs axis (members of a compare or sweep advancing in lockstep),
axis 1 the flat parameter vector. A hyperparameter is a float or an (R, 1) array (one value per member); `lr` may
also be a callable t -> float | (R, 1) array (a schedule); booleans are plain bools. A state is a NamedTuple whose
fields all lead with the runs axis: (R, P) moments, (R, 1) running products such as β^t, (R, 0) for switched-off parts.

Names, defaults and update rules are PyTorch's torch.optim (2.x), eps where PyTorch puts it
(tests/test_torch_parity.py checks 200 steps against torch to rtol 1e-9).

Lockstep: members never interact and per-member values only meet IEEE-exact elementwise operations
(+ − × ÷ sqrt abs maximum where), so a member's result does not depend on how many members share the arrays. β^t are
running products kept in the state; NAdam's 0.96^ψ goes through `exact_map`. Hyperparameters are cast to the params'
dtype before any arithmetic, so float32 stays float32.
"""

from __future__ import annotations

import functools
import math
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
    """True for a scalar 0: the option is off for every member and is skipped, as PyTorch skips it."""
    return np.ndim(x) == 0 and float(x) == 0.0


def _ones(params: np.ndarray, width: int = 1) -> np.ndarray:
    """(R, 1) ones start a running product such as β^t; (R, 0) stands for a state part an option switches off."""
    return np.ones((params.shape[0], width), params.dtype)


def _ema(avg: np.ndarray, x: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """β·avg + (1 − β)·x, the exponential moving average every adaptive method keeps."""
    return beta * avg + (1 - beta) * x


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

    def init(params):
        return SgdState(np.zeros_like(params) if momentum_on else _ones(params, 0))

    def update(grads, state, params, t):
        dt = params.dtype
        g = _l2(grads, params, weight_decay)  # (R, P)
        buf = state.momentum_buffer
        if momentum_on:
            mu = _hp(momentum, dt)
            buf = g.copy() if t == 1 else mu * buf + (1 - _hp(dampening, dt)) * g
            direction = g + mu * buf if nesterov else buf
            g = np.where(mu == 0, g, direction) if np.ndim(mu) else direction
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
        s = state.sum + g * g
        return params - clr * (g / (np.sqrt(s) + _hp(eps, dt))), AdagradState(s)

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
        v, gbar, buf = _ema(state.square_avg, g * g, a), state.grad_avg, state.momentum_buffer
        if centered:
            gbar = _ema(gbar, g, a)
            d = np.sqrt(v - gbar * gbar) + e
        else:
            d = np.sqrt(v) + e
        step = g / d
        if momentum_on:
            buf = step = _hp(momentum, dt) * buf + step
        return params - _lr_at(lr, t, dt) * step, RmspropState(v, gbar, buf)

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


# ----------------------------------------------------------------------------------------------- Adam family


class AdamState(NamedTuple):
    exp_avg: np.ndarray  # (R, P) m
    exp_avg_sq: np.ndarray  # (R, P) v
    max_exp_avg_sq: np.ndarray  # (R, P) max of v so far with amsgrad, else (R, 0)
    beta1_pow: np.ndarray  # (R, 1) β1^t
    beta2_pow: np.ndarray  # (R, 1) β2^t


@OPTIMIZERS.register("adam", "m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²; θ ← θ − lr·m̂/(√v̂ + eps)")
def adam(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
         decoupled_weight_decay=False) -> Optimizer:
    """Adam (torch.optim.Adam): bias-corrected moving averages of the gradient and of its square.

        g ← g + wd·θ   (decoupled_weight_decay: θ ← θ·(1 − lr·wd) instead, which is `adamw`)
        m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g²;  amsgrad: v_max ← max(v_max, v), used in place of v
        θ ← θ − lr/(1 − β1^t) · m/(√v/√(1 − β2^t) + eps)

    eps is added to √v̂ = √v/√(1 − β2^t) (PyTorch, d2l); the paper's "efficient" form adds it to √v instead.
    amsgrad keeps the maximum of the raw v and divides by √(1 − β2^t) afterwards, as PyTorch does.
    Reference: Kingma & Ba, arXiv:1412.6980; Reddi, Kale & Kumar, ICLR 2018 (amsgrad).
    """
    if decoupled_weight_decay:
        return _decoupled(adam(lr, betas, eps, 0.0, amsgrad), lr, weight_decay)
    beta1, beta2 = betas

    def init(params):
        z = np.zeros_like
        return AdamState(z(params), z(params), z(params) if amsgrad else _ones(params, 0), _ones(params), _ones(params))

    def update(grads, state, params, t):
        dt = params.dtype
        b1, b2 = _hp(beta1, dt), _hp(beta2, dt)
        g = _l2(grads, params, weight_decay)
        m, v = _ema(state.exp_avg, g, b1), _ema(state.exp_avg_sq, g * g, b2)
        b1t, b2t = state.beta1_pow * b1, state.beta2_pow * b2  # (R, 1) β^t
        vmax = np.maximum(state.max_exp_avg_sq, v) if amsgrad else state.max_exp_avg_sq
        denom = np.sqrt(vmax if amsgrad else v) / np.sqrt(1 - b2t) + _hp(eps, dt)
        step_size = _lr_at(lr, t, dt) / (1 - b1t)
        return params - step_size * (m / denom), AdamState(m, v, vmax, b1t, b2t)

    return Optimizer(init, update)


@OPTIMIZERS.register("adamw", "θ ← θ·(1 − lr·wd); then adam: θ ← θ − lr·m̂/(√v̂ + eps)")
def adamw(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False) -> Optimizer:
    """AdamW (torch.optim.AdamW): `adam` with decoupled weight decay θ ← θ·(1 − lr·wd) before the Adam step.

    Reference: Loshchilov & Hutter, "Decoupled weight decay regularization", ICLR 2019.
    """
    return adam(lr, betas, eps, weight_decay, amsgrad, decoupled_weight_decay=True)


class AdamaxState(NamedTuple):
    exp_avg: np.ndarray  # (R, P) m
    exp_inf: np.ndarray  # (R, P) u, the exponentially weighted infinity norm
    beta1_pow: np.ndarray  # (R, 1) β1^t


@OPTIMIZERS.register("adamax", "m ← β1·m + (1−β1)·g; u ← max(β2·u, |g| + eps); θ ← θ − lr/(1−β1^t)·m/u")
def adamax(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0) -> Optimizer:
    """Adamax (torch.optim.Adamax): Adam with the infinity norm in place of the root mean square.

        g ← g + wd·θ;  m ← β1·m + (1 − β1)·g;  u ← max(β2·u, |g| + eps);  θ ← θ − lr/(1 − β1^t)·m/u

    eps is added to |g| inside the max (PyTorch), not to u.
    Reference: Kingma & Ba, arXiv:1412.6980, section 7.1.
    """
    beta1, beta2 = betas

    def init(params):
        return AdamaxState(np.zeros_like(params), np.zeros_like(params), _ones(params))

    def update(grads, state, params, t):
        dt = params.dtype
        b1 = _hp(beta1, dt)
        g = _l2(grads, params, weight_decay)
        m = _ema(state.exp_avg, g, b1)
        u = np.maximum(_hp(beta2, dt) * state.exp_inf, np.abs(g) + _hp(eps, dt))
        b1t = state.beta1_pow * b1
        return params - (_lr_at(lr, t, dt) / (1 - b1t)) * (m / u), AdamaxState(m, u, b1t)

    return Optimizer(init, update)


class NadamState(NamedTuple):
    exp_avg: np.ndarray  # (R, P) m
    exp_avg_sq: np.ndarray  # (R, P) v
    beta2_pow: np.ndarray  # (R, 1) β2^t
    mu_product: np.ndarray  # (R, 1) μ_1·μ_2·…·μ_t
    decay_pow: np.ndarray  # (R, 1) 0.96^(t·ψ)


@OPTIMIZERS.register("nadam", "μ_t = β1(1 − ½·0.96^(tψ)); θ ← θ − lr·[(1−μ_t)/(1−Π)·g + μ_t+1/(1−Π·μ_t+1)·m]/(√v̂+eps)")
def nadam(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, momentum_decay=4e-3,
          decoupled_weight_decay=False) -> Optimizer:
    """NAdam (torch.optim.NAdam): Adam with Nesterov momentum and Dozat's momentum warm-up schedule.

        g ← g + wd·θ   (decoupled_weight_decay: θ ← θ·(1 − lr·wd) instead)
        μ_t = β1·(1 − ½·0.96^(t·ψ)),  ψ = momentum_decay;  Π_t = μ_1·…·μ_t
        m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g²;  d = √(v/(1 − β2^t)) + eps
        θ ← θ − lr·(1 − μ_t)/(1 − Π_t)·g/d − lr·μ_{t+1}/(1 − Π_t·μ_{t+1})·m/d

    eps is added to √v̂ (the bias correction sits inside the root, unlike `adam`).
    Reference: Dozat, "Incorporating Nesterov momentum into Adam", ICLR 2016 workshop.
    """
    if decoupled_weight_decay:
        return _decoupled(nadam(lr, betas, eps, 0.0, momentum_decay), lr, weight_decay)
    beta1, beta2 = betas

    @functools.lru_cache(maxsize=None)
    def decay_in(dt):  # 0.96^ψ in the params' dtype, once per dtype
        return _hp(exact_map(lambda psi: math.pow(0.96, psi), _hp(momentum_decay, dt)), dt)

    def init(params):
        return NadamState(np.zeros_like(params), np.zeros_like(params), _ones(params), _ones(params), _ones(params))

    def update(grads, state, params, t):
        dt = params.dtype
        b1, b2, lr_t, decay = _hp(beta1, dt), _hp(beta2, dt), _lr_at(lr, t, dt), decay_in(dt)
        g = _l2(grads, params, weight_decay)
        decay_t = state.decay_pow * decay  # (R, 1) 0.96^(tψ)
        mu, mu_next = b1 * (1 - 0.5 * decay_t), b1 * (1 - 0.5 * (decay_t * decay))
        prod = state.mu_product * mu
        m, v = _ema(state.exp_avg, g, b1), _ema(state.exp_avg_sq, g * g, b2)
        b2t = state.beta2_pow * b2
        d = np.sqrt(v / (1 - b2t)) + _hp(eps, dt)
        params = params - (lr_t * (1 - mu) / (1 - prod)) * (g / d)
        params = params - (lr_t * mu_next / (1 - prod * mu_next)) * (m / d)
        return params, NadamState(m, v, b2t, prod, decay_t)

    return Optimizer(init, update)


class RadamState(NamedTuple):
    exp_avg: np.ndarray  # (R, P) m
    exp_avg_sq: np.ndarray  # (R, P) v
    beta1_pow: np.ndarray  # (R, 1) β1^t
    beta2_pow: np.ndarray  # (R, 1) β2^t


@OPTIMIZERS.register("radam", "ρ_t = ρ∞ − 2tβ2^t/(1−β2^t); θ ← θ − lr·m̂·(r_t·√(1−β2^t)/(√v + eps) if ρ_t > 5 else 1)")
def radam(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled_weight_decay=False) -> Optimizer:
    """RAdam (torch.optim.RAdam): Adam whose adaptive step is switched on, rectified, once its variance is finite.

        g ← g + wd·θ   (decoupled_weight_decay: θ ← θ·(1 − lr·wd) instead)
        m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g²;  m̂ = m/(1 − β1^t)
        ρ∞ = 2/(1 − β2) − 1;  ρ_t = ρ∞ − 2t·β2^t/(1 − β2^t)
        ρ_t > 5: r_t = √((ρ_t − 4)(ρ_t − 2)ρ∞ / ((ρ∞ − 4)(ρ∞ − 2)ρ_t)),  θ ← θ − lr·m̂·r_t·√(1 − β2^t)/(√v + eps)
        else:    θ ← θ − lr·m̂   (plain momentum SGD for the first steps; t ≤ 5 with the default betas)

    eps is added to √v before the bias correction (PyTorch).
    Reference: Liu et al., "On the variance of the adaptive learning rate and beyond", ICLR 2020.
    """
    if decoupled_weight_decay:
        return _decoupled(radam(lr, betas, eps, 0.0), lr, weight_decay)
    beta1, beta2 = betas

    def init(params):
        return RadamState(np.zeros_like(params), np.zeros_like(params), _ones(params), _ones(params))

    def update(grads, state, params, t):
        dt = params.dtype
        b1, b2 = _hp(beta1, dt), _hp(beta2, dt)
        g = _l2(grads, params, weight_decay)
        m, v = _ema(state.exp_avg, g, b1), _ema(state.exp_avg_sq, g * g, b2)
        b1t, b2t = state.beta1_pow * b1, state.beta2_pow * b2  # (R, 1)
        step = m / (1 - b1t) * _lr_at(lr, t, dt)  # (R, P) lr·m̂
        rho_inf = 2 / (1 - b2) - 1
        rho_t = rho_inf - 2 * t * b2t / (1 - b2t)  # (R, 1) or 0-d
        rectified = rho_t > 5
        if np.any(rectified):
            with np.errstate(divide="ignore", invalid="ignore"):  # members with ρ_t ≤ 5 are masked out below
                rect = np.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            adaptive = np.sqrt(1 - b2t) / (np.sqrt(v) + _hp(eps, dt))
            step = np.where(rectified, step * adaptive * rect, step)
        return params - step, RadamState(m, v, b1t, b2t)

    return Optimizer(init, update)


class LionState(NamedTuple):
    exp_avg: np.ndarray  # (R, P) m


@OPTIMIZERS.register("lion", "c ← β1·m + (1−β1)·g; θ ← θ·(1 − lr·wd) − lr·sign(c); m ← β2·m + (1−β2)·g")
def lion(lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0) -> Optimizer:
    """Lion: the sign of an interpolated momentum, with decoupled weight decay (not in torch.optim).

        c ← β1·m + (1 − β1)·g;  θ ← θ·(1 − lr·wd) − lr·sign(c);  m ← β2·m + (1 − β2)·g

    Every coordinate moves by exactly lr per step, so lr is typically 3-10× smaller than Adam's.
    Reference: Chen et al., "Symbolic discovery of optimization algorithms", NeurIPS 2023 (Program 1).
    """
    beta1, beta2 = betas

    def init(params):
        return LionState(np.zeros_like(params))

    def update(grads, state, params, t):
        dt = params.dtype
        c = _ema(state.exp_avg, grads, _hp(beta1, dt))
        new_params = params - _lr_at(lr, t, dt) * np.sign(c)
        return new_params, LionState(_ema(state.exp_avg, grads, _hp(beta2, dt)))

    return _decoupled(Optimizer(init, update), lr, weight_decay)


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
