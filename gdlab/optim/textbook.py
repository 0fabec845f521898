"""The textbooks' own update rules, where they differ from PyTorch's: the optimizers' `variant` option.

`variant: torch` (the default) is PyTorch's rule (sgd.py, adaptive.py, adam_family.py). Two books write some rules
their own way, and the difference is in the rule, not only in a constant:

    d2l   Dive into Deep Learning, chapter 12 (d2l-ai/d2l-en, chapter_optimization): AdaGrad and RMSProp put eps
          inside the square root, θ ← θ − lr/√(s + eps)·g, with eps = 1e-6.
    dlfs  Deep Learning from Scratch, chapter 6 (oreilly-japan/deep-learning-from-scratch, common/optimizer.py):
          Momentum and Nesterov keep the learning rate inside the velocity, AdaGrad and RMSprop add eps = 1e-7
          after the root, Adam folds both bias corrections into the learning rate and adds eps to √v.

Where a book's rule is PyTorch's (d2l's gradient descent and momentum, d2l's Adam and AdaDelta with their own eps,
DLFS's SGD) there is no variant; `gdlab.optim.variants` says so when one is asked for.

Each rule is computed in the book's own order of operations, so a float64 path equals the book's code to rounding
(tests/test_textbook.py writes the books' loops out by hand and compares whole paths to 1e-12). A factory's
signature holds the book's eps as its default; the config fills it in when eps is not given. Options a book's rule
does not have (dampening, centered, RMSProp's momentum, amsgrad) are refused rather than invented: see VARIANTS.
Shapes and lockstep conventions are gdlab.optim.base's.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .base import Optimizer, decoupled, exact_map, hp, is_off, l2, lr_at, ones


class VelocityState(NamedTuple):
    velocity: np.ndarray  # (R, P) v, which carries −lr·g; (R, 0) without momentum


def sgd_dlfs(lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False) -> Optimizer:
    """DLFS's SGD, Momentum and Nesterov (common/optimizer.py): the velocity carries the learning rate.

        momentum:  v ← μ·v − lr·g;  θ ← θ + v                    (μ = 0: θ ← θ − lr·g, plain SGD)
        nesterov:  v ← μ·v − lr·g;  θ ← θ + μ·μ·v − (1 + μ)·lr·g (v just updated, as DLFS writes it)

    With a constant lr, v = −lr·b and Momentum is PyTorch's rule; under a schedule it is not (v keeps the lr of
    every past step, PyTorch's buffer b none). DLFS's Nesterov uses the updated v where Bengio et al.'s formula
    (and so PyTorch's rule) uses the previous one: θ gains μ³·v_{t−1} − (1 + μ + μ²)·lr·g, a different rule.
    dampening must be 0 (DLFS has none).
    """
    momentum_on = not is_off(momentum)

    def init(params):
        return VelocityState(np.zeros_like(params) if momentum_on else ones(params, 0))

    def update(grads, state, params, t):
        dt = params.dtype
        g = l2(grads, params, weight_decay)
        lr_t = lr_at(lr, t, dt)
        if not momentum_on:
            return params - lr_t * g, state
        mu = hp(momentum, dt)
        v = mu * state.velocity
        v -= lr_t * g
        if nesterov:
            return params + mu * mu * v - (1 + mu) * lr_t * g, VelocityState(v)
        return params + v, VelocityState(v)

    return Optimizer(init, update)


class AccumulatorState(NamedTuple):
    sum: np.ndarray  # (R, P) s (d2l) or h (DLFS): the running sum, or moving average, of squared gradients


def _decayed_lr(lr, lr_decay, t: int, dt) -> np.ndarray:
    """PyTorch's Adagrad lr_decay on top of the (scheduled) lr: lr/(1 + (t − 1)·lr_decay); lr itself when 0."""
    return lr_at(lr, t, dt) / (1 + (t - 1) * hp(lr_decay, dt))


def adagrad_d2l(lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-6) -> Optimizer:
    """d2l's AdaGrad (section 12.7, adagrad_2d and adagrad): eps inside the square root.

        s ← s + g²;  θ ← θ − lr/√(s + eps)·g
    """

    def init(params):
        return AccumulatorState(np.zeros_like(params) + hp(initial_accumulator_value, params.dtype))

    def update(grads, state, params, t):
        dt = params.dtype
        g = l2(grads, params, weight_decay)
        s = state.sum + g * g
        return params - _decayed_lr(lr, lr_decay, t, dt) / np.sqrt(s + hp(eps, dt)) * g, AccumulatorState(s)

    return Optimizer(init, update)


def adagrad_dlfs(lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-7) -> Optimizer:
    """DLFS's AdaGrad (common/optimizer.py AdaGrad): eps = 1e-7 after the square root.

        h ← h + g·g;  θ ← θ − lr·g/(√h + eps)

    PyTorch's rule with eps 1e-7, in DLFS's order of operations (lr·g first).
    """

    def init(params):
        return AccumulatorState(np.zeros_like(params) + hp(initial_accumulator_value, params.dtype))

    def update(grads, state, params, t):
        dt = params.dtype
        g = l2(grads, params, weight_decay)
        h = state.sum + g * g
        return params - _decayed_lr(lr, lr_decay, t, dt) * g / (np.sqrt(h) + hp(eps, dt)), AccumulatorState(h)

    return Optimizer(init, update)


def rmsprop_d2l(lr=1e-2, alpha=0.99, eps=1e-6, weight_decay=0.0, momentum=0.0, centered=False) -> Optimizer:
    """d2l's RMSProp (section 12.8, rmsprop_2d and rmsprop; d2l's γ is alpha): eps inside the square root.

        s ← γ·s + (1 − γ)·g²;  θ ← θ − lr/√(s + eps)·g
    """

    def init(params):
        return AccumulatorState(np.zeros_like(params))

    def update(grads, state, params, t):
        dt = params.dtype
        gamma = hp(alpha, dt)
        g = l2(grads, params, weight_decay)
        s = gamma * state.sum + (1 - gamma) * (g * g)
        return params - lr_at(lr, t, dt) / np.sqrt(s + hp(eps, dt)) * g, AccumulatorState(s)

    return Optimizer(init, update)


def rmsprop_dlfs(lr=1e-2, alpha=0.99, eps=1e-7, weight_decay=0.0, momentum=0.0, centered=False) -> Optimizer:
    """DLFS's RMSprop (common/optimizer.py RMSprop; DLFS's decay_rate is alpha): eps = 1e-7 after the root.

        h ← ρ·h;  h ← h + (1 − ρ)·g·g;  θ ← θ − lr·g/(√h + eps)
    """

    def init(params):
        return AccumulatorState(np.zeros_like(params))

    def update(grads, state, params, t):
        dt = params.dtype
        rho = hp(alpha, dt)
        g = l2(grads, params, weight_decay)
        h = state.sum * rho
        h += (1 - rho) * g * g
        return params - lr_at(lr, t, dt) * g / (np.sqrt(h) + hp(eps, dt)), AccumulatorState(h)

    return Optimizer(init, update)


class MomentsState(NamedTuple):
    m: np.ndarray  # (R, P) first moment
    v: np.ndarray  # (R, P) second moment


def adam_dlfs(lr=1e-3, betas=(0.9, 0.999), eps=1e-7, weight_decay=0.0, amsgrad=False,
              decoupled_weight_decay=False) -> Optimizer:
    """DLFS's Adam (common/optimizer.py Adam): the bias corrections folded into the learning rate.

        lr_t = lr·√(1 − β2^t)/(1 − β1^t);  m ← m + (1 − β1)·(g − m);  v ← v + (1 − β2)·(g² − v)
        θ ← θ − lr_t·m/(√v + eps)

    This is PyTorch's rule with eps·√(1 − β2^t) in place of eps, a changing eps: no constant eps reproduces it.
    β^t are powers of Python floats, as DLFS computes them (not running products).
    """
    if decoupled_weight_decay:
        return decoupled(adam_dlfs(lr, betas, eps, 0.0), lr, weight_decay)
    beta1, beta2 = betas

    def init(params):
        return MomentsState(np.zeros_like(params), np.zeros_like(params))

    def update(grads, state, params, t):
        dt = params.dtype
        b1, b2 = hp(beta1, dt), hp(beta2, dt)
        # β^t of the dtype's β (as a member alone sees it), through Python's pow: (R, 1) or 0-d
        b1t, b2t = (hp(exact_map(lambda b: math.pow(b, t), beta), dt) for beta in (b1, b2))
        lr_t = lr_at(lr, t, dt) * np.sqrt(1 - b2t) / (1 - b1t)
        g = l2(grads, params, weight_decay)
        m = state.m + (1 - b1) * (g - state.m)
        v = state.v + (1 - b2) * (g * g - state.v)
        return params - lr_t * m / (np.sqrt(v) + hp(eps, dt)), MomentsState(m, v)

    return Optimizer(init, update)
