"""Per-coordinate step sizes: AdaGrad, RMSProp and AdaDelta (torch.optim) as pure (init, update) pairs.

Conventions (shapes, lockstep-exact arithmetic, PyTorch's names and defaults) are in gdlab.optim.base.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .base import OPTIMIZERS, Optimizer, descend, ema, hp, is_off, l2, lr_at, ones
from .variants import textbook_rule


class AdagradState(NamedTuple):
    sum: np.ndarray  # (R, P) s, the running sum of squared gradients


@OPTIMIZERS.register("adagrad", "s ← s + g²; θ ← θ − lr/(1 + (t−1)·lr_decay)·g/(√s + eps)")
def adagrad(lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10,
            variant="torch") -> Optimizer:
    """AdaGrad (torch.optim.Adagrad): per-coordinate steps shrinking with the accumulated squared gradient.

        g ← g + wd·θ;  s ← s + g²   (s starts at initial_accumulator_value)
        θ ← θ − clr·g/(√s + eps),   clr = lr/(1 + (t − 1)·lr_decay)

    eps is added after the square root; `variant: d2l` is d2l's rule, √(s + eps), and `variant: dlfs` DLFS's
    (gdlab.optim.textbook; a config fills in the book's eps when eps is not given).
    Reference: Duchi, Hazan & Singer, "Adaptive subgradient methods", JMLR 2011.
    """
    if variant != "torch":
        return textbook_rule("adagrad", variant, lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                             initial_accumulator_value=initial_accumulator_value, eps=eps)

    def init(params):
        return AdagradState(np.zeros_like(params) + hp(initial_accumulator_value, params.dtype))

    def update(grads, state, params, t):
        dt = params.dtype
        g = l2(grads, params, weight_decay)
        clr = lr_at(lr, t, dt) / (1 + (t - 1) * hp(lr_decay, dt))
        s = g * g
        s += state.sum  # the same sum as state.sum + g², written into the temporary
        denom = np.sqrt(s)
        denom += hp(eps, dt)
        step = np.divide(g, denom, out=denom)
        return descend(params, clr, step), AdagradState(s)

    return Optimizer(init, update)


class RmspropState(NamedTuple):
    square_avg: np.ndarray  # (R, P) v
    grad_avg: np.ndarray  # (R, P) ḡ with centered=True, else (R, 0)
    momentum_buffer: np.ndarray  # (R, P) b with momentum, else (R, 0)


@OPTIMIZERS.register("rmsprop", "v ← α·v + (1−α)·g²; θ ← θ − lr·g/(√v + eps)  (centered: √(v − ḡ²); momentum μ)")
def rmsprop(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False,
            variant="torch") -> Optimizer:
    """RMSProp (torch.optim.RMSprop): steps scaled by a moving root mean square of the gradient.

        g ← g + wd·θ;  v ← α·v + (1 − α)·g²;  d = √v + eps
        centered: ḡ ← α·ḡ + (1 − α)·g and d = √(v − ḡ²) + eps   (v − ḡ² estimates the variance)
        θ ← θ − lr·g/d;  momentum μ: b ← μ·b + g/d, θ ← θ − lr·b

    eps is added after the square root, as in DLFS; `variant: d2l` is d2l's rule, √(v + eps), `variant: dlfs`
    DLFS's order and eps (gdlab.optim.textbook; neither book has centered or momentum).
    Reference: Hinton, Neural Networks for Machine Learning, lecture 6e; Graves, arXiv:1308.0850 (centered).
    """
    if variant != "torch":
        return textbook_rule("rmsprop", variant, lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                             momentum=momentum, centered=centered)
    momentum_on = not is_off(momentum)

    def init(params):
        z = np.zeros_like
        return RmspropState(z(params), z(params) if centered else ones(params, 0),
                            z(params) if momentum_on else ones(params, 0))

    def update(grads, state, params, t):
        dt = params.dtype
        a, e = hp(alpha, dt), hp(eps, dt)
        g = l2(grads, params, weight_decay)
        v, gbar, buf = ema(state.square_avg, g * g, a, x_is_scratch=True), state.grad_avg, state.momentum_buffer
        if centered:
            gbar = ema(gbar, g, a)
            d = np.sqrt(v - gbar * gbar)
        else:
            d = np.sqrt(v)
        d += e
        step = np.divide(g, d, out=d)
        if momentum_on:
            buf = hp(momentum, dt) * buf
            buf += step
            return params - lr_at(lr, t, dt) * buf, RmspropState(v, gbar, buf)
        return descend(params, lr_at(lr, t, dt), step), RmspropState(v, gbar, buf)

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
        r, e = hp(rho, dt), hp(eps, dt)
        g = l2(grads, params, weight_decay)
        v = ema(state.square_avg, g * g, r)
        delta = np.sqrt(state.acc_delta + e) / np.sqrt(v + e) * g
        u = ema(state.acc_delta, delta * delta, r)
        return params - lr_at(lr, t, dt) * delta, AdadeltaState(v, u)

    return Optimizer(init, update)
