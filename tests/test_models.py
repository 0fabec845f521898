"""Models: hand-written backward vs central differences, the lockstep invariant, dtype, init, layout, errors."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from gdlab.problems.datasets import DATASETS
from gdlab.errors import ConfigError
from gdlab.problems.losses import LOSSES
from gdlab.problems.models import MODELS, build_model
from tests.gradcheck import check_grad

F, B, R = 4, 6, 3

# (id, factory name, options, n_outputs, loss name)
CASES = [
    ("linear", "linear", {}, 1, "half_mse"),
    ("linear-nobias", "linear", {"bias": False}, 1, "mse"),
    ("logistic", "logistic", {}, 1, "bce"),
    ("softmax", "softmax", {}, 5, "cross_entropy"),
    ("mlp-relu", "mlp", {"hidden": [5, 3], "activation": "relu"}, 4, "cross_entropy"),
    ("mlp-sigmoid", "mlp", {"hidden": [5, 3], "activation": "sigmoid"}, 1, "bce"),
    ("mlp-tanh", "mlp", {"hidden": [5], "activation": "tanh"}, 1, "mae"),
    ("mlp-nobias", "mlp", {"hidden": [5, 5], "bias": False}, 3, "cross_entropy"),
]


def _setup(factory, options, K, loss_name, rng, dtype=np.float64, R=R, B=B):
    """(model, params (R, P) with different values per member, X (B, F), y, loss)."""
    model = MODELS.get(factory)(**options).build(F, K)
    params = model.init(R, rng, dtype) + rng.normal(0, 0.5, (R, model.n_params)).astype(dtype)
    X = rng.standard_normal((B, F)).astype(dtype)
    if loss_name == "cross_entropy":
        y = rng.integers(0, K, B)
    elif loss_name == "bce":
        y = rng.integers(0, 2, B)
    else:
        y = rng.standard_normal((B, 1)).astype(dtype)
    return model, params, X, y, LOSSES.get(loss_name)()


@pytest.mark.parametrize("shared_gemm", [False, True])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_gradient_matches_central_difference(case, shared_gemm):
    rng = np.random.default_rng(0)
    model, params, X, y, loss = _setup(*case[1:], rng)
    model = dataclasses.replace(model, shared_gemm=shared_gemm)
    value, grads = model.loss_and_grad(params, X, y, loss)
    assert value.shape == (R,) and grads.shape == params.shape
    check_grad(lambda p: loss.value(model.forward(p, X)[0], y).sum(), params, grads, rng=rng)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_members_equal_single_member_runs_bit_for_bit(case, dtype):
    rng = np.random.default_rng(1)
    model, params, X, y, loss = _setup(*case[1:], rng, dtype, R=4, B=150)  # B > 128: pairwise sums in play
    out, _ = model.forward(params, X)
    value, grads = model.loss_and_grad(params, X, y, loss)
    for r in range(4):
        one = params[r : r + 1].copy()
        out1, _ = model.forward(one, X)
        value1, grads1 = model.loss_and_grad(one, X, y, loss)
        np.testing.assert_array_equal(out1[0], out[r])
        np.testing.assert_array_equal(value1[0], value[r])
        np.testing.assert_array_equal(grads1[0], grads[r])


def test_big_mlp_members_equal_single_member_runs_bit_for_bit():
    rng = np.random.default_rng(2)
    model = MODELS.get("mlp")(hidden=[100, 100]).build(784, 10)
    params = model.init(5, rng, np.float32) + rng.normal(0, 0.01, (5, model.n_params)).astype(np.float32)
    X, y = rng.random((200, 784), dtype=np.float32), rng.integers(0, 10, 200)
    value, grads = model.loss_and_grad(params, X, y, LOSSES.get("cross_entropy")())
    for r in range(5):
        value1, grads1 = model.loss_and_grad(params[r : r + 1].copy(), X, y, LOSSES.get("cross_entropy")())
        np.testing.assert_array_equal(value1[0], value[r])
        np.testing.assert_array_equal(grads1[0], grads[r])


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_shared_gemm_agrees_with_per_member_products(case):
    rng = np.random.default_rng(3)
    model, params, X, y, loss = _setup(*case[1:], rng, np.float64)
    value, grads = model.loss_and_grad(params, X, y, loss)
    value2, grads2 = dataclasses.replace(model, shared_gemm=True).loss_and_grad(params, X, y, loss)
    np.testing.assert_allclose(value2, value, rtol=1e-12)
    np.testing.assert_allclose(grads2, grads, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_float32_in_float32_out(case):
    rng = np.random.default_rng(4)
    model, params, X, y, loss = _setup(*case[1:], rng, np.float32)
    X = X.astype(np.float64)  # float64 data is cast to the params' dtype, never the other way round
    out, _ = model.forward(params, X)
    value, grads = model.loss_and_grad(params, X, y, loss)
    assert out.dtype == value.dtype == grads.dtype == np.float32


def test_linefit_hand_values():
    """DLFS's 1D fit: ŷ = x·w with w0 = 1 on x = 1, 2, 3, y = 2x: MSE 14/3, gradient -28/3."""
    ds = DATASETS.get("linefit")()
    model = build_model("linear", ds, bias=False, init={"constant": 1.0})
    assert model.layout == [("W", (1, 1))]
    params = model.init(2, np.random.default_rng(0))
    np.testing.assert_array_equal(params, [[1.0], [1.0]])
    value, grads = model.loss_and_grad(params, ds.X, ds.y, LOSSES.get("mse")())
    np.testing.assert_allclose(value, 14 / 3, rtol=1e-6)
    np.testing.assert_allclose(grads, -28 / 3, rtol=1e-6)


def test_layout_and_zero_copy_views():
    model = MODELS.get("mlp")(hidden=[100, 50]).build(784, 10)
    assert model.layout == [
        ("W1", (784, 100)), ("b1", (100,)), ("W2", (100, 50)), ("b2", (50,)), ("W3", (50, 10)), ("b3", (10,))
    ]
    assert model.n_params == sum(math.prod(shape) for _, shape in model.layout)
    params = np.zeros((3, model.n_params), np.float32)
    views = model.views(params)
    assert list(views) == [name for name, _ in model.layout]
    for name, shape in model.layout:
        assert views[name].shape == (3, *shape)
        assert np.shares_memory(views[name], params)
    views["b2"][1, 7] = 5.0
    assert params[1, 784 * 100 + 100 + 100 * 50 + 7] == 5.0
    assert MODELS.get("softmax")().build(3, 4).layout == [("W", (3, 4)), ("b", (4,))]


def test_every_member_starts_from_the_same_point_and_the_seed_decides_it():
    model = MODELS.get("mlp")(hidden=[6]).build(8, 3)
    a = model.init(4, np.random.default_rng(7), np.float32)
    assert a.dtype == np.float32 and a.flags.c_contiguous
    assert np.all(a == a[0])
    np.testing.assert_array_equal(a, model.init(4, np.random.default_rng(7), np.float32))
    assert not np.array_equal(a[0], model.init(1, np.random.default_rng(8))[0])
    np.testing.assert_array_equal(model.views(a)["b1"], 0.0)  # biases start at zero


@pytest.mark.parametrize("init, factor", [("he", 2.0), ("xavier", 1.0)])
def test_init_std(init, factor):
    fan_in = 400
    model = MODELS.get("mlp")(hidden=[200], init=init).build(fan_in, 10)
    W1 = model.views(model.init(1, np.random.default_rng(0)))["W1"][0]  # 80000 draws
    assert abs(W1.mean()) < 0.01 * math.sqrt(factor / fan_in) * 5
    assert W1.std() == pytest.approx(math.sqrt(factor / fan_in), rel=0.02)
    W2 = model.views(model.init(1, np.random.default_rng(0)))["W2"][0]  # fan_in 200
    assert W2.std() == pytest.approx(math.sqrt(factor / 200), rel=0.05)


def test_numeric_zero_and_constant_inits():
    p = MODELS.get("linear")(init=0.5).build(3, 1).init(1, np.random.default_rng(0))
    assert p[0, 3] == 0.0 and 0 < np.abs(p[0, :3]).max() < 3.0
    p = MODELS.get("softmax")(init="zeros").build(3, 2).init(2, np.random.default_rng(0))
    np.testing.assert_array_equal(p, 0.0)
    p = MODELS.get("linear")(init={"constant": 1.5}).build(2, 1).init(1, np.random.default_rng(0))
    np.testing.assert_array_equal(p, [[1.5, 1.5, 0.0]])  # weights constant, bias zero


@pytest.mark.parametrize(
    "options, match",
    [
        ({"init": "hee"}, "did you mean 'he'"),
        ({"init": -1.0}, "bad init"),
        ({"init": {"constant": "x"}}, "bad init"),
        ({"init": True}, "bad init"),
        ({"activation": "rellu"}, "did you mean 'relu'"),
        ({"hidden": "100"}, "hidden"),
        ({"hidden": [100, 0]}, r"hidden: expected a list of positive integers, got \[100, 0\]"),
        ({"hidden": [100.0]}, "hidden"),
        ({"bias": "yes"}, "bias"),
    ],
)
def test_bad_options_are_config_errors(options, match):
    with pytest.raises(ConfigError, match=match):
        MODELS.get("mlp")(**options)  # checked before the model is sized


def test_build_model_checks_task_and_options():
    ds = DATASETS.get("xor")()
    model = build_model("mlp", ds, hidden=[8], activation="tanh")
    assert model.sizes == (2, 8, 1)
    assert build_model("logistic", ds).sizes == (2, 1)
    with pytest.raises(ConfigError, match="accepted for binary: logistic, mlp"):
        build_model("softmax", ds)
    with pytest.raises(ConfigError, match="did you mean 'hidden'"):
        build_model("mlp", ds, hiden=[8])
    assert MODELS.defaults("mlp") == {"hidden": (100,), "activation": "relu", "bias": True, "init": "he"}
    assert MODELS.defaults("linear") == {"bias": True, "init": 0.01}
