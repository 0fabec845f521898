"""Losses: hand values, stability, dtype, gradients (central differences) and task checks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from tests.gradcheck import check_grad

from gdlab.errors import ConfigError
from gdlab.problems.losses import DEFAULT_LOSS, LOSS_TASKS, LOSSES, accuracy, check_task, predict

R, B = 3, 150  # B > 128: numpy's pairwise sums are in play


def _case(name: str, rng: np.random.Generator, dtype=np.float64):
    """(loss, out (R, B, K), target) of the right kind for loss `name`."""
    loss = LOSSES.get(name)()
    if name == "cross_entropy":
        out = rng.standard_normal((R, B, 4)) * 3
        target = rng.integers(0, 4, B)
    elif name == "bce":
        out = rng.standard_normal((R, B, 1)) * 3
        target = rng.integers(0, 2, B)
    else:
        out = rng.standard_normal((R, B, 1))
        target = rng.standard_normal((B, 1))
    return loss, out.astype(dtype), target


@pytest.mark.parametrize("name", LOSSES.names())
def test_gradient_matches_central_difference(name):
    rng = np.random.default_rng(1)
    loss, out, target = _case(name, rng)
    value, dout = loss.value_and_grad(out, target)
    assert value.shape == (R,) and dout.shape == out.shape
    np.testing.assert_array_equal(value, loss.value(out, target))
    check_grad(lambda o: loss.value(o, target).sum(), out, dout, rng=rng)


@pytest.mark.parametrize("name", LOSSES.names())
def test_float32_in_float32_out(name):
    loss, out, target = _case(name, np.random.default_rng(2), np.float32)
    if target.dtype.kind == "f":
        target = target.astype(np.float64)  # a float64 target must not upcast the float32 output
    value, dout = loss.value_and_grad(out, target)
    assert value.dtype == np.float32 and dout.dtype == np.float32


@pytest.mark.parametrize("name", LOSSES.names())
def test_members_are_independent(name):
    loss, out, target = _case(name, np.random.default_rng(3))
    value, dout = loss.value_and_grad(out, target)
    for r in range(R):
        v1, d1 = loss.value_and_grad(out[r : r + 1], target)
        np.testing.assert_array_equal(v1[0], value[r])
        np.testing.assert_array_equal(d1[0], dout[r])


def test_regression_hand_values():
    out = np.array([[[1.0], [2.0], [5.0]]])  # (1, 3, 1)
    target = np.array([[0.0], [2.0], [3.0]])  # residuals 1, 0, 2
    assert LOSSES.get("mse")().value(out, target)[0] == pytest.approx(5 / 3)
    assert LOSSES.get("half_mse")().value(out, target)[0] == pytest.approx(5 / 6)
    assert LOSSES.get("mae")().value(out, target)[0] == pytest.approx(1.0)
    assert LOSSES.get("lp")().value(out, target)[0] == pytest.approx(9 / 3)
    assert LOSSES.get("lp")(p=4).value(out, target)[0] == pytest.approx(17 / 3)
    _, d = LOSSES.get("mse")().value_and_grad(out, target)
    np.testing.assert_allclose(d[0, :, 0], [2 / 3, 0.0, 4 / 3])
    _, d = LOSSES.get("half_mse")().value_and_grad(out, target)
    np.testing.assert_allclose(d[0, :, 0], [1 / 3, 0.0, 2 / 3])


def test_mae_subgradient_is_zero_at_zero():
    _, d = LOSSES.get("mae")().value_and_grad(np.zeros((1, 2, 1)), np.zeros((2, 1)))
    np.testing.assert_array_equal(d, 0.0)
    _, d = LOSSES.get("lp")(p=1).value_and_grad(np.zeros((1, 2, 1)), np.zeros((2, 1)))
    np.testing.assert_array_equal(d, 0.0)


def test_cross_entropy_of_uniform_logits_is_log_k():
    for K in (2, 10):
        value, dout = LOSSES.get("cross_entropy")().value_and_grad(np.zeros((2, 5, K)), np.arange(5) % K)
        np.testing.assert_allclose(value, math.log(K))
        np.testing.assert_allclose(dout.sum(axis=-1), 0.0, atol=1e-15)  # softmax - onehot sums to 0


def test_bce_at_logit_zero_is_log_two():
    value, dout = LOSSES.get("bce")().value_and_grad(np.zeros((1, 4, 1)), np.array([0, 1, 0, 1]))
    np.testing.assert_allclose(value, math.log(2))
    np.testing.assert_allclose(dout[0, :, 0], np.array([0.5, -0.5, 0.5, -0.5]) / 4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_classification_losses_stable_at_extreme_logits(dtype):
    z = np.array([[[1000.0], [-1000.0], [1000.0], [-1000.0]]], dtype=dtype)
    labels = np.array([1, 0, 0, 1])  # two right (loss 0) and two wrong (loss 1000)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        value, dout = LOSSES.get("bce")().value_and_grad(z, labels)
    np.testing.assert_allclose(value, 500.0, rtol=1e-6)
    np.testing.assert_allclose(dout[0, :, 0], np.array([0.0, 0.0, 1.0, -1.0]) / 4)
    logits = np.array([[[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 0.0]]], dtype=dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        value, dout = LOSSES.get("cross_entropy")().value_and_grad(logits, np.array([0, 0]))
    np.testing.assert_allclose(value, 1000.0, rtol=1e-6)  # (0 + 2000) / 2
    assert np.all(np.isfinite(dout))


def test_predict_and_accuracy():
    out = np.array([[[2.0], [-1.0], [0.5]], [[-2.0], [-1.0], [-0.5]]])  # (2, 3, 1) logits
    np.testing.assert_array_equal(predict(out), [[1, 0, 1], [0, 0, 0]])
    np.testing.assert_allclose(accuracy(out, np.array([1, 0, 0])), [2 / 3, 2 / 3])
    logits = np.array([[[0.1, 3.0, 0.0], [5.0, 0.0, 0.0]]])  # (1, 2, 3)
    np.testing.assert_allclose(accuracy(logits, np.array([1, 2])), [0.5])


def test_task_checks():
    for name, tasks in LOSS_TASKS.items():
        assert name in LOSSES
        for task in tasks:
            check_task(name, task)
    for task, name in DEFAULT_LOSS.items():
        check_task(name, task)
    with pytest.raises(ConfigError, match="cross_entropy"):
        check_task("bce", "multiclass")
    with pytest.raises(ConfigError, match="did you mean 'mse'"):
        check_task("mes", "regression")


def test_lp_rejects_p_below_one():
    with pytest.raises(ConfigError, match="p"):
        LOSSES.get("lp")(p=0.5)
