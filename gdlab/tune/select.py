"""Picking each optimizer's best trial: the criterion, the rule for diverged trials and for ties (pure).

Rule, in order:
1. A trial that diverged (any of its seeds) loses to every trial that did not.
2. Among the rest, the best criterion value wins: lowest loss, highest accuracy, fewest steps to the target (a trial
   that never reached it counts as infinitely many steps). With several seeds per trial the value is their median.
3. Values equal to 12 significant digits tie; for steps to a target, ties (and trials that never got there) are
   broken by the lower final training loss.
4. Remaining ties go to the larger learning rate (the faster of equally good settings), then to the later trial.
5. When every trial diverged, the one that lasted longest is kept (marked so in chosen.csv), ties to the smaller lr.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SIGNIFICANT = 12  # criterion values equal to this many significant digits tie


@dataclass(frozen=True)
class Choice:
    index: int  # the chosen trial, position in the trials given
    value: float  # its criterion value
    all_diverged: bool


def rounded(values: np.ndarray, digits: int = SIGNIFICANT) -> np.ndarray:
    """Values rounded to `digits` significant digits (inf and nan kept), so that round-off ties compare equal."""
    v = np.asarray(values, dtype=np.float64)
    out = v.copy()
    ok = np.isfinite(v) & (v != 0)
    with np.errstate(all="ignore"):  # subnormal values: their power of ten underflows; they are kept as they are
        exponent = np.floor(np.log10(np.abs(v[ok])))
        unit = 10.0 ** exponent
        r = np.round(v[ok] / unit, digits - 1) * unit  # the mantissa in [1, 10) rounded
    out[ok] = np.where(np.isfinite(r) & (unit > 0), r, v[ok])
    return out


def choose(values: np.ndarray, diverged: np.ndarray, lr: np.ndarray, *, maximize: bool = False,
           secondary: np.ndarray | None = None, diverged_at: np.ndarray | None = None) -> Choice:
    """The best trial of one optimizer by the rule above.

    values (n,): the criterion of each trial (nan counts as the worst value); diverged (n,) bool; lr (n,);
    secondary (n,): the tie-breaker before lr (final loss for steps to a target); diverged_at (n,): when each
    trial diverged (for rule 5).
    """
    v = np.asarray(values, dtype=np.float64)
    bad = np.asarray(diverged, dtype=bool)
    lr = np.asarray(lr, dtype=np.float64)
    n = len(v)
    if n == 0:
        raise ValueError("no trials to choose from")
    if bad.all():
        lasted = np.zeros(n) if diverged_at is None else np.asarray(diverged_at, dtype=np.float64)
        order = np.lexsort((np.arange(n), lr, -lasted))  # longest-lived first, then the smaller lr
        i = int(order[0])
        return Choice(i, float(v[i]), True)
    key = -v if maximize else v
    key = rounded(np.where(np.isnan(key), np.inf, key))
    second = np.zeros(n) if secondary is None else rounded(np.nan_to_num(np.asarray(secondary, float), nan=np.inf))
    # np.lexsort sorts by the last key first: diverged, criterion, secondary, larger lr, later trial
    order = np.lexsort((-np.arange(n), -lr, second, key, bad))
    i = int(order[0])
    return Choice(i, float(v[i]), False)


def criterion_of(criterion: str, final_loss: np.ndarray, best_loss: np.ndarray, metrics: dict[str, np.ndarray],
                 reached_at: np.ndarray | None) -> np.ndarray:
    """The criterion of every run (R,) from its results: a loss, an accuracy, or steps to the target (inf: never)."""
    if criterion == "final_loss":
        return np.asarray(final_loss, dtype=np.float64)
    if criterion == "best_loss":
        return np.asarray(best_loss, dtype=np.float64)
    if criterion == "steps_to_target":
        a = np.asarray(reached_at, dtype=np.float64)
        return np.where(a < 0, np.inf, a)
    return np.asarray(metrics[criterion], dtype=np.float64)


def over_seeds(values: np.ndarray, diverged: np.ndarray, criterion: str) -> tuple[np.ndarray, np.ndarray]:
    """(value (n,), diverged (n,)) of trials run with S seeds each, from values and diverged (n, S): the median
    value (lower middle for steps, a step that happened) and diverged when any seed diverged."""
    v = np.asarray(values, dtype=np.float64)
    method = "lower" if criterion == "steps_to_target" else "linear"
    with np.errstate(invalid="ignore"):
        med = np.quantile(np.where(np.isnan(v), np.inf, v), 0.5, axis=1, method=method)
    return med, np.asarray(diverged, dtype=bool).any(axis=1)
