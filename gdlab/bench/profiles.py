"""Performance profiles (Dolan and Moré, 2002) and AlgoPerf's integrated score, as pure functions over arrays.

For problems p and optimizers s with cost c[p, s] (steps or seconds to reach p's target; inf when it did not):

    r[p, s]  = c[p, s] / min_s c[p, s]                   the performance ratio (inf when s failed on p)
    rho_s(τ) = |{p : r[p, s] <= τ}| / P                 the fraction of problems s solves within τ times the best
    B_s      = 1/(τ_max − 1) · ∫_1^τ_max rho_s(τ) dτ    AlgoPerf's benchmark score, τ_max = 4 (Dahl et al., 2023)

rho_s(1) is the fraction of problems on which s was the best (ties count for every tied optimizer); rho_s(τ) for
large τ the fraction it solved at all. A problem no optimizer solved has no best: every ratio on it is inf.
As in BenchmarkProfiles.jl, when some cost is zero (a target met at the start) every cost is shifted by one so that
ratios stay defined.
"""

from __future__ import annotations

import numpy as np

TAU_MAX = 4.0  # AlgoPerf integrates the profile from 1 to 4


def performance_ratios(costs: np.ndarray) -> np.ndarray:
    """r (P, S) from costs (P, S): cost over the best cost on the same problem; inf for failures (inf or nan)."""
    c = np.asarray(costs, dtype=np.float64)
    if c.ndim != 2:
        raise ValueError(f"costs must be (problems, optimizers), got shape {c.shape}")
    c = np.where(np.isnan(c), np.inf, c)
    if (c < 0).any():
        raise ValueError("costs must be >= 0 (inf for a failure)")
    if (c == 0).any():
        c = c + 1.0
    best = c.min(axis=1, keepdims=True)  # (P, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = c / best
    return np.where(np.isfinite(best) & np.isfinite(c), r, np.inf)


def profile(ratios: np.ndarray, taus: np.ndarray) -> np.ndarray:
    """rho (S, T): for each optimizer the fraction of problems with ratio <= tau, at every tau of taus (T,)."""
    r = np.asarray(ratios, dtype=np.float64)
    t = np.asarray(taus, dtype=np.float64).reshape(-1)
    return (r[:, :, None] <= t[None, None, :]).mean(axis=0)


def breakpoints(ratios: np.ndarray, tau_max: float = TAU_MAX) -> np.ndarray:
    """The taus where a profile steps: 1, every finite ratio, and tau_max (or the largest finite ratio beyond it)."""
    r = np.asarray(ratios, dtype=np.float64)
    finite = r[np.isfinite(r)]
    top = max(tau_max, float(finite.max()) if finite.size else tau_max)
    return np.unique(np.concatenate([[1.0, top], finite]))


def integrated_score(ratios: np.ndarray, tau_max: float = TAU_MAX) -> np.ndarray:
    """B (S,): the profile's area over [1, tau_max] divided by (tau_max − 1), exactly.

    rho is a step function that rises by 1/P at each ratio, so the area is the sum over problems with r <= tau_max
    of (tau_max − r) / P.
    """
    r = np.asarray(ratios, dtype=np.float64)
    if tau_max <= 1:
        raise ValueError(f"tau_max must be > 1, got {tau_max}")
    gain = np.where(r <= tau_max, tau_max - np.maximum(r, 1.0), 0.0)  # (P, S)
    return gain.mean(axis=0) / (tau_max - 1.0)


def steps_to_target(reached_at: np.ndarray) -> np.ndarray:
    """Costs from the engine's reached_at (-1: never): a float array with inf for failures."""
    a = np.asarray(reached_at, dtype=np.float64)
    return np.where(a < 0, np.inf, a)


def median_cost(costs: np.ndarray) -> np.ndarray:
    """The cost over seeds (..., S) as their median, failures counted as inf (so a majority of failures fails).

    For an even number of seeds the lower middle value (a cost that actually happened).
    """
    c = np.asarray(costs, dtype=np.float64)
    c = np.where(np.isnan(c), np.inf, c)
    return np.quantile(c, 0.5, axis=-1, method="lower")
