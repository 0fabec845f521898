"""The Adam family: adam (amsgrad), adamw, adamax, nadam, radam, and lion, as pure (init, update) pairs.

Same conventions as gdlab.optim.base (shapes, lockstep-exact arithmetic, PyTorch's names, defaults and rules);
β^t are running products kept in the state. Importing gdlab.optim registers everything here.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numpy as np

from .base import (
    OPTIMIZERS,
    Optimizer,
    decoupled,
    descend,
    ema,
    exact_map,
    hp,
    l2,
    lr_at,
    ones,
)
from .variants import textbook_rule


class AdamState(NamedTuple):
    exp_avg: np.ndarray  # (R, P) m
    exp_avg_sq: np.ndarray  # (R, P) v
    max_exp_avg_sq: np.ndarray  # (R, P) max of v so far with amsgrad, else (R, 0)
    beta1_pow: np.ndarray  # (R, 1) β1^t
    beta2_pow: np.ndarray  # (R, 1) β2^t


@OPTIMIZERS.register("adam", "m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²; θ ← θ − lr·m̂/(√v̂ + eps)")
def adam(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
         decoupled_weight_decay=False, variant="torch") -> Optimizer:
    """Adam (torch.optim.Adam): bias-corrected moving averages of the gradient and of its square.

        g ← g + wd·θ   (decoupled_weight_decay: θ ← θ·(1 − lr·wd) instead, which is `adamw`)
        m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g²;  amsgrad: v_max ← max(v_max, v), used in place of v
        θ ← θ − lr/(1 − β1^t) · m/(√v/√(1 − β2^t) + eps)

    eps is added to √v̂ = √v/√(1 − β2^t) (PyTorch, d2l); the paper's "efficient" form adds it to √v instead.
    amsgrad keeps the maximum of the raw v and divides by √(1 − β2^t) afterwards, as PyTorch does.
    `variant: dlfs` is DLFS's Adam, which folds the bias corrections into lr (gdlab.optim.textbook).
    Reference: Kingma & Ba, arXiv:1412.6980; Reddi, Kale & Kumar, ICLR 2018 (amsgrad).
    """
    if variant != "torch":
        return textbook_rule("adam", variant, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                             amsgrad=amsgrad, decoupled_weight_decay=decoupled_weight_decay)
    if decoupled_weight_decay:
        return decoupled(adam(lr, betas, eps, 0.0, amsgrad), lr, weight_decay)
    beta1, beta2 = betas

    def init(params):
        z = np.zeros_like
        return AdamState(z(params), z(params), z(params) if amsgrad else ones(params, 0), ones(params), ones(params))

    def update(grads, state, params, t):
        dt = params.dtype
        b1, b2 = hp(beta1, dt), hp(beta2, dt)
        g = l2(grads, params, weight_decay)
        m, v = ema(state.exp_avg, g, b1), ema(state.exp_avg_sq, g * g, b2, x_is_scratch=True)
        b1t, b2t = state.beta1_pow * b1, state.beta2_pow * b2  # (R, 1) β^t
        vmax = np.maximum(state.max_exp_avg_sq, v) if amsgrad else state.max_exp_avg_sq
        denom = np.sqrt(vmax if amsgrad else v)
        denom /= np.sqrt(1 - b2t)
        denom += hp(eps, dt)
        step = np.divide(m, denom, out=denom)
        return descend(params, lr_at(lr, t, dt) / (1 - b1t), step), AdamState(m, v, vmax, b1t, b2t)

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
        return AdamaxState(np.zeros_like(params), np.zeros_like(params), ones(params))

    def update(grads, state, params, t):
        dt = params.dtype
        b1 = hp(beta1, dt)
        g = l2(grads, params, weight_decay)
        m = ema(state.exp_avg, g, b1)
        u = np.maximum(hp(beta2, dt) * state.exp_inf, np.abs(g) + hp(eps, dt))
        b1t = state.beta1_pow * b1
        return params - (lr_at(lr, t, dt) / (1 - b1t)) * (m / u), AdamaxState(m, u, b1t)

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
        return decoupled(nadam(lr, betas, eps, 0.0, momentum_decay), lr, weight_decay)
    beta1, beta2 = betas

    @functools.lru_cache(maxsize=None)
    def decay_in(dt):  # 0.96^ψ in the params' dtype, once per dtype
        return hp(exact_map(lambda psi: math.pow(0.96, psi), hp(momentum_decay, dt)), dt)

    def init(params):
        return NadamState(np.zeros_like(params), np.zeros_like(params), ones(params), ones(params), ones(params))

    def update(grads, state, params, t):
        dt = params.dtype
        b1, b2, lr_t, decay = hp(beta1, dt), hp(beta2, dt), lr_at(lr, t, dt), decay_in(dt)
        g = l2(grads, params, weight_decay)
        decay_t = state.decay_pow * decay  # (R, 1) 0.96^(tψ)
        mu, mu_next = b1 * (1 - 0.5 * decay_t), b1 * (1 - 0.5 * (decay_t * decay))
        prod = state.mu_product * mu
        m, v = ema(state.exp_avg, g, b1), ema(state.exp_avg_sq, g * g, b2)
        b2t = state.beta2_pow * b2
        d = np.sqrt(v / (1 - b2t)) + hp(eps, dt)
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
        return decoupled(radam(lr, betas, eps, 0.0), lr, weight_decay)
    beta1, beta2 = betas

    def init(params):
        return RadamState(np.zeros_like(params), np.zeros_like(params), ones(params), ones(params))

    def update(grads, state, params, t):
        dt = params.dtype
        b1, b2 = hp(beta1, dt), hp(beta2, dt)
        g = l2(grads, params, weight_decay)
        m, v = ema(state.exp_avg, g, b1), ema(state.exp_avg_sq, g * g, b2)
        b1t, b2t = state.beta1_pow * b1, state.beta2_pow * b2  # (R, 1)
        step = m / (1 - b1t) * lr_at(lr, t, dt)  # (R, P) lr·m̂
        rho_inf = 2 / (1 - b2) - 1
        rho_t = rho_inf - 2 * t * b2t / (1 - b2t)  # (R, 1) or 0-d
        rectified = rho_t > 5
        if np.any(rectified):
            with np.errstate(divide="ignore", invalid="ignore"):  # members with ρ_t ≤ 5 are masked out below
                rect = np.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            adaptive = np.sqrt(1 - b2t) / (np.sqrt(v) + hp(eps, dt))
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
        c = ema(state.exp_avg, grads, hp(beta1, dt))
        new_params = params - lr_at(lr, t, dt) * np.sign(c)
        return new_params, LionState(ema(state.exp_avg, grads, hp(beta2, dt)))

    return decoupled(Optimizer(init, update), lr, weight_decay)
