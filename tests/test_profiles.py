"""Performance profiles and AlgoPerf's integrated score, checked on a table worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from gdlab.bench.profiles import (
    breakpoints,
    integrated_score,
    median_cost,
    performance_ratios,
    profile,
    steps_to_target,
)

INF = np.inf
# problems p1..p4 × optimizers A, B, C: steps to the target (inf: never)
COSTS = np.array([[10, 20, INF],
                  [30, 15, 15],
                  [INF, INF, INF],  # nobody solves p3
                  [5, 40, 10]], dtype=float)


def test_ratios_by_hand():
    r = performance_ratios(COSTS)
    assert r.tolist() == [[1, 2, INF], [2, 1, 1], [INF, INF, INF], [1, 8, 2]]


def test_profile_by_hand():
    rho = profile(performance_ratios(COSTS), [1, 2, 8, 100])
    assert rho[0].tolist() == [0.5, 0.75, 0.75, 0.75]  # A: best on p1 and p4, within 2x on p2
    assert rho[1].tolist() == [0.25, 0.5, 0.75, 0.75]  # B: best on p2 (tie with C), p1 at 2x, p4 at 8x
    assert rho[2].tolist() == [0.25, 0.5, 0.5, 0.5]
    assert breakpoints(performance_ratios(COSTS)).tolist() == [1, 2, 8]


def test_integrated_score_by_hand():
    # A: (4-1) + (4-2) + (4-1) = 8 over 4 problems and a width of 3; B: (4-2) + (4-1) = 5; C: (4-1) + (4-2) = 5
    np.testing.assert_allclose(integrated_score(performance_ratios(COSTS)), [8 / 12, 5 / 12, 5 / 12])
    # the same area by numerical integration of the step function
    taus = np.linspace(1, 4, 300001)
    area = np.trapezoid(profile(performance_ratios(COSTS), taus), taus, axis=1) / 3
    np.testing.assert_allclose(integrated_score(performance_ratios(COSTS)), area, atol=1e-5)
    assert integrated_score(np.ones((3, 1))).tolist() == [1.0]  # best everywhere: the full score


def test_the_best_optimizer_on_a_problem_starts_at_one_there():
    r = performance_ratios(np.array([[7.0, 3.0, 5.0]]))
    assert profile(r, [1.0])[:, 0].tolist() == [0, 1, 0]


def test_zero_costs_shift_every_cost_by_one_and_failures():
    assert performance_ratios(np.array([[0.0, 2.0]])).tolist() == [[1.0, 3.0]]
    assert performance_ratios(np.array([[np.nan, 2.0]])).tolist() == [[INF, 1.0]]
    with pytest.raises(ValueError):
        performance_ratios(np.array([[-1.0, 2.0]]))
    assert steps_to_target(np.array([3, -1, 0])).tolist() == [3, INF, 0]
    # over five seeds: the median, failures as inf; a majority of failures is a failure
    assert median_cost(np.array([[9, 1, INF, 5, 3], [INF, INF, INF, 1, 2]])).tolist() == [5, INF]
    assert median_cost(np.array([[4.0, 2.0]])).tolist() == [2.0]  # even count: the lower middle
