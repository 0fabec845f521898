"""SGD, heavy-ball momentum and Nesterov momentum (torch.optim.SGD) as pure (init, update) pairs.

Conventions (shapes, lockstep-exact arithmetic, PyTorch's names and defaults) are in gdlab.optim.base.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .base import OPTIMIZERS, Optimizer, hp, is_off, l2, lr_at, ones
from .variants import textbook_rule


class SgdState(NamedTuple):
    momentum_buffer: np.ndarray  # (R, P) b; (R, 0) without momentum


@OPTIMIZERS.register("sgd", "θ ← θ − lr·g; momentum: b ← μ·b + (1−τ)·g (b=g at t=1), θ ← θ − lr·b (nesterov: g + μ·b)")
def sgd(lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, variant="torch") -> Optimizer:
    """Stochastic gradient descent with optional heavy-ball or Nesterov momentum (torch.optim.SGD).

        g ← g + wd·θ
        b ← g at t = 1, else μ·b + (1 − τ)·g        (τ = dampening; the first step is never dampened)
        θ ← θ − lr·b,  nesterov: θ ← θ − lr·(g + μ·b);  μ = 0: θ ← θ − lr·g

    d2l's momentum (v ← μ·v + g; θ ← θ − lr·v) is this rule; DLFS's (v ← μ·v − lr·g; θ ← θ + v) equals it for a
    constant lr (v = −lr·b), not under a schedule: `variant: dlfs` is DLFS's form (gdlab.optim.textbook).
    Members whose momentum is 0 take plain SGD steps, as PyTorch does.
    Reference: Sutskever et al., "On the importance of initialization and momentum in deep learning", ICML 2013.
    """
    if variant != "torch":
        return textbook_rule("sgd", variant, lr=lr, momentum=momentum, dampening=dampening,
                             weight_decay=weight_decay, nesterov=nesterov)
    momentum_on = not is_off(momentum)
    # a member with μ = 0 takes a plain step g, as alone; without dampening μ·b + g is g already, exactly
    plain = bool(np.any(np.asarray(momentum) == 0)) and not is_off(dampening)

    def init(params):
        return SgdState(np.zeros_like(params) if momentum_on else ones(params, 0))

    def update(grads, state, params, t):
        dt = params.dtype
        g = l2(grads, params, weight_decay)  # (R, P)
        buf = state.momentum_buffer
        if momentum_on:
            mu = hp(momentum, dt)
            if t == 1:
                buf = g.copy()
            else:
                buf = mu * buf
                buf += g if is_off(dampening) else (1 - hp(dampening, dt)) * g
            direction = g + mu * buf if nesterov else buf
            g = np.where(mu == 0, g, direction) if plain else direction
        return params - lr_at(lr, t, dt) * g, SgdState(buf)

    return Optimizer(init, update)


@OPTIMIZERS.register("momentum", "b ← μ·b + (1−τ)·g (b = g at t=1); θ ← θ − lr·b  (sgd with μ = 0.9)")
def momentum(lr=1e-3, momentum=0.9, dampening=0.0, weight_decay=0.0, nesterov=False, variant="torch") -> Optimizer:
    """Heavy-ball momentum: `sgd` with momentum 0.9 by default (d2l's "Momentum"; DLFS's is `variant: dlfs`)."""
    if variant != "torch":
        return textbook_rule("momentum", variant, lr=lr, momentum=momentum, dampening=dampening,
                             weight_decay=weight_decay, nesterov=nesterov)
    return sgd(lr, momentum, dampening, weight_decay, nesterov)


@OPTIMIZERS.register("nesterov", "b ← μ·b + g (b = g at t=1); θ ← θ − lr·(g + μ·b)  (sgd, nesterov, μ = 0.9)")
def nesterov(lr=1e-3, momentum=0.9, dampening=0.0, weight_decay=0.0, variant="torch") -> Optimizer:
    """Nesterov momentum in PyTorch's form: `sgd` with nesterov=True and momentum 0.9 by default.

    DLFS's form is `variant: dlfs` (gdlab.optim.textbook.sgd_dlfs).
    """
    if variant != "torch":
        return textbook_rule("nesterov", variant, lr=lr, momentum=momentum, dampening=dampening,
                             weight_decay=weight_decay, nesterov=True)
    return sgd(lr, momentum, dampening, weight_decay, nesterov=True)
