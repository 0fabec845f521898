"""Learning-rate schedules as pure functions of the update index.

A schedule factory's signature holds its parameters and defaults; it returns factor(k, total), the multiplier of
the base lr for the update with 0-based index k out of `total` updates (update t = k + 1 uses lr·factor(k, total)).
factor keeps no state: calling it twice, or out of order, gives the same value (d2l's schedulers change themselves
when called; these do not).

Parameters are floats or (R, 1) arrays (one value per member of a sweep); factor then returns a float or an (R, 1)
array. Powers and cosines go through `exact_map` (Python's math), so a member's factor does not depend on how many
members share the array.
"""

from __future__ import annotations

import math
from typing import Any, Callable

from ..registry import Registry
from .base import exact_map

SCHEDULES = Registry("schedule")

Factor = Callable[[int, int], Any]  # (k, total) -> float | (R, 1) array


@SCHEDULES.register("constant", "factor = 1")
def constant() -> Factor:
    """The base lr at every update."""

    def factor(k: int, total: int) -> float:
        return 1.0

    return factor


@SCHEDULES.register("step", "factor = gamma^⌊k / step_size⌋")
def step(step_size=10, gamma=0.1) -> Factor:
    """Multiply the lr by gamma every step_size updates (torch.optim.lr_scheduler.StepLR).

        factor(k) = gamma^⌊k / step_size⌋
    """

    def factor(k: int, total: int) -> Any:
        return exact_map(lambda size, g: g ** (k // int(size)), step_size, gamma)

    return factor


@SCHEDULES.register("exponential", "factor = gamma^k")
def exponential(gamma=0.95) -> Factor:
    """Multiply the lr by gamma after every update (torch.optim.lr_scheduler.ExponentialLR).

        factor(k) = gamma^k
    """

    def factor(k: int, total: int) -> Any:
        return exact_map(lambda g: g**k, gamma)

    return factor


def _cosine(k: float, span: float, min_factor: float) -> float:
    """min + (1 − min)·(1 + cos(π·k/span))/2 for k < span; min from then on."""
    if k >= span:
        return min_factor
    return min_factor + (1 - min_factor) * (1 + math.cos(math.pi * k / span)) / 2


@SCHEDULES.register("cosine", "factor = min + (1 − min)·(1 + cos(π·k/T_max))/2, then min after T_max")
def cosine(T_max=None, min_factor=0.0) -> Factor:
    """Cosine annealing from 1 to min_factor over T_max updates (torch's CosineAnnealingLR as a multiplier).

        factor(k) = min_factor + (1 − min_factor)·(1 + cos(π·k/T_max))/2   for k < T_max, min_factor after
        (T_max = None: the whole run, T_max = total; PyTorch's η_min is lr·min_factor)

    Unlike PyTorch's scheduler, which rises again after T_max, the factor stays at min_factor.
    Reference: Loshchilov & Hutter, "SGDR: stochastic gradient descent with warm restarts", ICLR 2017.
    """

    def factor(k: int, total: int) -> Any:
        span = total if T_max is None else T_max
        return exact_map(lambda s, lo: _cosine(k, s, lo), span, min_factor)

    return factor


@SCHEDULES.register("inverse_time", "factor = (1 + rate·k)^(−power)")
def inverse_time(rate=0.1, power=1.0) -> Factor:
    """Inverse-time (polynomial) decay: factor(k) = (1 + rate·k)^(−power).

    power 0.5 is the shape of d2l's polynomial schedule, counted from k = 0 (`polynomial` counts as d2l does);
    power 1 is 1/t-like decay.
    """

    def factor(k: int, total: int) -> Any:
        return exact_map(lambda r, p: (1 + r * k) ** -p, rate, power)

    return factor


@SCHEDULES.register("exp_decay", "factor = e^(−lam·t), t = t0 + k + 1  (d2l 12.4: its λ and its counter t)")
def exp_decay(lam=0.1, t0=1) -> Factor:
    """d2l's exponential schedule η(t) = η0·e^(−λt), counted as d2l counts (section 12.4, exponential_lr).

        factor(k) = e^(−lam·t),  t = t0 + k + 1

    d2l keeps a global counter t that starts at t0 = 1 and is incremented before it is used, so its first update
    already runs at η0·e^(−0.2). With this form the numbers mean what d2l's mean: lam is d2l's λ, t0 its start.
    """

    def factor(k: int, total: int) -> Any:
        return exact_map(lambda lam_, t0_: math.exp(-lam_ * (t0_ + k + 1)), lam, t0)

    return factor


@SCHEDULES.register("polynomial", "factor = (beta·t + 1)^(−alpha), t = t0 + k + 1  (d2l 12.4: its counter t)")
def polynomial(alpha=0.5, beta=0.1, t0=1) -> Factor:
    """d2l's polynomial schedule η(t) = η0·(β·t + 1)^(−α), counted as d2l counts (section 12.4, polynomial_lr).

        factor(k) = (1 + beta·t)^(−alpha),  t = t0 + k + 1

    As in `exp_decay`, t is d2l's counter: it starts at t0 = 1 and is incremented before use. alpha 0.5 is the
    inverse square root d2l recommends. (`inverse_time` is the same curve counted from 0: (1 + rate·k)^(−power).)
    """

    def factor(k: int, total: int) -> Any:
        return exact_map(lambda a, b, t0_: (1 + b * (t0_ + k + 1)) ** -a, alpha, beta, t0)

    return factor


@SCHEDULES.register("warmup_cosine", "factor = (k+1)/warmup for k < warmup, then cosine to min over the rest")
def warmup_cosine(warmup_steps=10, min_factor=0.0) -> Factor:
    """Linear warm-up, then cosine annealing to min_factor over the remaining updates.

        k < w:     factor(k) = (k + 1)/w                                              (w = warmup_steps)
        otherwise: factor(k) = min_factor + (1 − min_factor)·(1 + cos(π·(k − w)/(total − w)))/2

    Reference: Goyal et al., "Accurate, large minibatch SGD", arXiv:1706.02677 (warm-up).
    """

    def at(w: float, lo: float, k: int, total: int) -> float:
        return (k + 1) / w if k < w else _cosine(k - w, total - w, lo)

    def factor(k: int, total: int) -> Any:
        return exact_map(lambda w, lo: at(w, lo, k, total), warmup_steps, min_factor)

    return factor


def _is_int(x: Any) -> bool:
    return not isinstance(x, bool) and isinstance(x, (int, float)) and float(x).is_integer()


# One table by parameter name: (accepts(value), what is accepted).
_RANGES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "step_size": (lambda x: _is_int(x) and x >= 1, "must be an integer >= 1"),
    "gamma": (lambda x: 0 < x <= 1, "must be in (0, 1]"),
    "T_max": (lambda x: x is None or (_is_int(x) and x >= 1), "must be an integer >= 1, or null for the whole run"),
    "min_factor": (lambda x: 0 <= x <= 1, "must be in [0, 1]"),
    "rate": (lambda x: x >= 0, "must be >= 0"),
    "power": (lambda x: x >= 0, "must be >= 0"),
    "warmup_steps": (lambda x: _is_int(x) and x >= 0, "must be an integer >= 0"),
    "lam": (lambda x: x >= 0, "must be >= 0"),
    "alpha": (lambda x: x >= 0, "must be >= 0"),
    "beta": (lambda x: x >= 0, "must be >= 0"),
    "t0": (lambda x: _is_int(x) and x >= 0, "must be an integer >= 0 (the counter's value before the first update)"),
}


def check_schedule(name: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    """(key, problem) for every out-of-range parameter of schedule `name` (types already checked)."""
    SCHEDULES.get(name)  # ConfigError for an unknown name
    return [(key, message) for key, (accepts, message) in _RANGES.items() if key in params and not accepts(params[key])]
