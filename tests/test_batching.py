"""Batching: index arrays per step, epochs, DLFS-style draws, full batch, held-out splits."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gdlab.problems.datasets.batching import BatchPlan, held_out, split_validation
from gdlab.errors import ConfigError


def _take(plan: BatchPlan, seed: int, steps: int) -> list[np.ndarray]:
    return list(plan.batches(np.random.default_rng(seed), steps))


def test_shuffle_epochs_cover_every_row_once_with_a_partial_last_batch():
    plan = BatchPlan(10, 4, "shuffle")
    assert plan.steps_per_epoch == 3 and plan.batch == 4 and not plan.full_batch
    batches = _take(plan, 0, 9)  # three epochs
    assert [len(b) for b in batches] == [4, 4, 2] * 3
    epochs = [np.concatenate(batches[i : i + 3]) for i in (0, 3, 6)]
    for order in epochs:
        assert sorted(order.tolist()) == list(range(10))
    assert not np.array_equal(epochs[0], epochs[1])  # reshuffled each epoch
    assert all(b.dtype == np.int64 for b in batches)


def test_batches_are_reproducible_and_follow_the_generator():
    plan = BatchPlan(50, 8)
    a, b = _take(plan, 3, 20), _take(plan, 3, 20)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not all(np.array_equal(x, y) for x, y in zip(a, _take(plan, 4, 20)))
    # epoch by epoch: the same draws as rng.permutation(n) per epoch
    rng = np.random.default_rng(3)
    expected = np.concatenate([rng.permutation(50) for _ in range(4)])
    assert np.array_equal(np.concatenate(a), expected[: sum(len(x) for x in a)])


def test_replacement_draws_like_dlfs():
    plan = BatchPlan(60, 7, "replacement")
    batches = _take(plan, 5, 30)
    assert all(len(b) == 7 and b.min() >= 0 and b.max() < 60 for b in batches)
    rng = np.random.default_rng(5)
    for b in batches:
        np.testing.assert_array_equal(b, rng.choice(60, 7))
    assert plan.steps_for(epochs=2) == 18  # ceil(2 · 60 / 7), DLFS's iter_per_epoch = N / B
    assert plan.epoch_at(60) == pytest.approx(7.0)


@pytest.mark.parametrize("batch, sampling", [(None, "shuffle"), (None, "replacement"), (5, "shuffle"), (9, "shuffle")])
def test_full_batch_is_every_row_in_order_without_random_draws(batch, sampling):
    plan = BatchPlan(5, batch, sampling)
    rng = np.random.default_rng(0)
    state = rng.bit_generator.state
    assert plan.full_batch and plan.batch == 5 and plan.steps_per_epoch == 1
    for b in plan.batches(rng, 3):
        np.testing.assert_array_equal(b, np.arange(5))
    assert rng.bit_generator.state == state
    assert plan.steps_for(epochs=6) == 6
    assert plan.epoch_at(4) == 4.0


def test_stochastic_batches_are_single_rows():
    batches = _take(BatchPlan(3, 1), 0, 6)
    assert [len(b) for b in batches] == [1] * 6
    assert sorted(int(b[0]) for b in batches[:3]) == [0, 1, 2]


def test_steps_and_epochs():
    plan = BatchPlan(1500, 10)  # d2l: airfoil, mini-batch 10, 2 epochs
    assert plan.steps_for(epochs=2) == 300
    assert plan.steps_for(steps=17) == 17
    assert plan.steps_for(epochs=0.5) == 75
    assert BatchPlan(10, 4).steps_for(epochs=1) == 3
    assert BatchPlan(10, 4).steps_for(epochs=1.5) == 5  # ceil(4.5)
    for kwargs in ({}, {"steps": 3, "epochs": 1}, {"steps": -1}, {"steps": 2.5}, {"epochs": 0}, {"epochs": "2"}):
        with pytest.raises(ConfigError):
            plan.steps_for(**kwargs)


def test_epoch_of_each_step_is_samples_seen_over_n():
    plan = BatchPlan(10, 4)
    assert [plan.samples_seen(k) for k in range(7)] == [0, 4, 8, 10, 14, 18, 20]
    assert [plan.epoch_at(k) for k in (0, 1, 3, 4, 6)] == [0.0, 0.4, 1.0, 1.4, 2.0]
    np.testing.assert_allclose(plan.epoch_at(np.arange(4)), [0.0, 0.4, 0.8, 1.0])
    assert isinstance(plan.epoch_at(2), float)


def test_memory_does_not_grow_with_the_number_of_steps():
    plan = BatchPlan(100, 10)
    it = plan.batches(np.random.default_rng(0), 10**12)  # lazy: nothing is drawn ahead
    first = list(itertools.islice(it, 25))
    assert len(first) == 25
    forever = BatchPlan(4, 3, "replacement").batches(np.random.default_rng(0))
    assert len(list(itertools.islice(forever, 5))) == 5


def test_bad_plans_are_config_errors():
    with pytest.raises(ConfigError, match="batch_size"):
        BatchPlan(10, 0)
    with pytest.raises(ConfigError, match="batch_size"):
        BatchPlan(10, 2.5)
    with pytest.raises(ConfigError, match="did you mean 'shuffle'"):
        BatchPlan(10, 2, "shufle")


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 60), batch=st.integers(1, 70), epochs=st.integers(1, 3), seed=st.integers(0, 10**6))
def test_property_each_shuffle_epoch_is_a_permutation(n, batch, epochs, seed):
    plan = BatchPlan(n, batch)
    steps = plan.steps_for(epochs=epochs)
    batches = _take(plan, seed, steps)
    assert len(batches) == steps == epochs * plan.steps_per_epoch
    for e in range(epochs):
        rows = np.concatenate(batches[e * plan.steps_per_epoch : (e + 1) * plan.steps_per_epoch])
        assert sorted(rows.tolist()) == list(range(n))
    assert plan.epoch_at(steps) == pytest.approx(epochs)


def test_split_validation():
    train, val = split_validation(100, 0.2, np.random.default_rng(0))
    assert len(train) == 80 and len(val) == 20
    assert sorted(np.concatenate([train, val]).tolist()) == list(range(100))
    assert np.all(np.diff(train) > 0) and np.all(np.diff(val) > 0)
    again = split_validation(100, 0.2, np.random.default_rng(0))
    np.testing.assert_array_equal(again[1], val)
    train, val = split_validation(7, 0.0, np.random.default_rng(0))
    assert train.tolist() == list(range(7)) and val.size == 0
    assert len(split_validation(10, 0.01, np.random.default_rng(0))[1]) == 1  # at least one row
    for bad in (1.0, -0.1, "0.2", True):
        with pytest.raises(ConfigError, match="validation"):
            split_validation(10, bad, np.random.default_rng(0))
    with pytest.raises(ConfigError, match="no training rows"):
        split_validation(1, 0.5, np.random.default_rng(0))


def test_held_out_head_or_tail_in_data_order_without_random_draws():
    rng = np.random.default_rng(0)
    before = rng.bit_generator.state
    train, val = split_validation(10, {"last": 3}, rng)
    assert train.tolist() == list(range(7)) and val.tolist() == [7, 8, 9]
    train, val = split_validation(10, {"first": 0.2}, rng)
    assert train.tolist() == list(range(2, 10)) and val.tolist() == [0, 1]
    assert split_validation(10, {"last": 0.01}, rng)[1].tolist() == [9]  # a fraction holds out at least one row
    assert split_validation(10_000, {"last": 2000}, rng)[1].tolist() == list(range(8000, 10_000))
    assert rng.bit_generator.state == before  # a fixed split draws nothing
    with pytest.raises(ConfigError, match=r"validation.last: 10 of 10 rows leaves no training rows"):
        split_validation(10, {"last": 10}, rng)
    with pytest.raises(ConfigError, match="validation.first"):
        split_validation(1, {"first": 0.5}, rng)


@pytest.mark.parametrize("bad, needles", [
    ({"lsat": 2000}, ["validation:", "did you mean 'last'", "{first: 0.2}"]),
    ({"first": 1, "last": 1}, ["validation:", "one key"]),
    ({}, ["validation:", "one key"]),
    ({"last": 0}, ["validation.last", "whole number of rows >= 1", "got 0"]),
    ({"last": 1.0}, ["validation.last", "fraction in (0, 1)", "got 1.0"]),
    ({"first": 2000.0}, ["validation.first", "2000.0"]),
    ({"first": True}, ["validation.first", "True"]),
    ({"first": "20%"}, ["validation.first", "'20%'"]),
    ([0.2], ["validation:", "[0.2]"]),
])
def test_held_out_names_the_key_and_what_is_accepted(bad, needles):
    with pytest.raises(ConfigError) as err:
        held_out(bad)
    for needle in needles:
        assert needle in str(err.value), str(err.value)
    assert held_out({"last": 2000}) == {"last": 2000} and held_out(0.2) == 0.2 and held_out(0) == 0.0
