"""The tuning rule: diverged trials lose, best value wins, ties to the larger learning rate."""

from __future__ import annotations

import numpy as np

from gdlab.tune.select import choose, over_seeds, rounded

LR = np.array([0.01, 0.1, 0.3, 1.0])


def test_best_value_wins_and_diverged_trials_lose():
    c = choose([0.5, 0.2, 1e-9, np.nan], [False, False, True, True], LR)
    assert (c.index, c.value, c.all_diverged) == (1, 0.2, False)  # 1e-9 at lr 0.3 diverged: it loses


def test_ties_go_to_the_larger_learning_rate():
    assert choose([0.2, 0.3, 0.2, 0.5], [False] * 4, LR).index == 2
    # equal to 12 significant digits is a tie (round-off), 11 digits apart is not
    assert choose([1.0 + 1e-14, 1.0, 9.0, 9.0], [False] * 4, LR).index == 1
    assert choose([1.0, 1.0 + 1e-9, 9.0, 9.0], [False] * 4, LR).index == 0
    r = rounded(np.array([0.1 + 0.2, 0.3, 0.3 + 1e-11, np.inf, 0.0, 1e-300, 5e-324]))
    assert r[0] == r[1] != r[2] and r[3:].tolist() == [np.inf, 0.0, 1e-300, 5e-324]


def test_accuracy_is_maximised_and_steps_break_ties_on_final_loss():
    assert choose([0.9, 0.95, 0.95, 0.1], [False] * 4, LR, maximize=True).index == 2
    steps = [np.inf, 40, 40, np.inf]
    assert choose(steps, [False] * 4, LR, secondary=[1.0, 0.01, 0.02, 0.5]).index == 1
    # nobody reached the target: the lowest final loss
    assert choose([np.inf] * 4, [False] * 4, LR, secondary=[1.0, 0.3, 0.2, 0.5]).index == 2


def test_all_diverged_keeps_the_longest_lived():
    c = choose([1.0] * 4, [True] * 4, LR, diverged_at=[9, 30, 30, 2])
    assert (c.index, c.all_diverged) == (1, True)  # lasted 30 steps; of the two, the smaller lr


def test_seeds_median_and_any_divergence():
    v, d = over_seeds(np.array([[3.0, 1.0, 2.0], [1.0, 1.0, 9.0]]), np.array([[0, 0, 0], [0, 1, 0]]), "final_loss")
    assert v.tolist() == [2.0, 1.0] and d.tolist() == [False, True]
    v, _ = over_seeds(np.array([[np.inf, 4.0, 6.0, 8.0]]), np.zeros((1, 4)), "steps_to_target")
    assert v.tolist() == [6.0]
