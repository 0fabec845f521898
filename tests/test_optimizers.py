"""Optimizers: hand-derived steps, textbook trajectories, equivalences, and a table of invariants over every name."""

from __future__ import annotations

import ast
import inspect
import math

import numpy as np
import pytest

from gdlab.errors import ConfigError
from gdlab.optim import OPTIMIZERS, Optimizer, check_hparams, exact_map
from gdlab.registry import signature_defaults

EPS_ADAM = 1e-8

# ----------------------------------------------------------------------------------------------------- helpers


def rosenbrock(x):  # x (R, 2) -> (R,)
    return (1 - x[:, 0]) ** 2 + 100 * (x[:, 1] - x[:, 0] ** 2) ** 2


def rosenbrock_grad(x):  # (R, 2) -> (R, 2); only + − ×, so exact per member
    a, b = x[:, :1], x[:, 1:]
    return np.concatenate([-2 * (1 - a) - 400 * a * (b - a * a), 200 * (b - a * a)], axis=1)


def parabola(x):  # (x − 1)² + 0.001 summed over coordinates: (R, P) -> (R,)
    return ((x - 1) ** 2 + 0.001).sum(axis=1)


def parabola_grad(x):
    return 2 * (x - 1)


def trajectory(opt: Optimizer, x0, grad, steps: int) -> list[np.ndarray]:
    """Params after each update 1..steps; grad is a function of params or a list of gradients (one per update)."""
    x = np.asarray(x0, dtype=float) if not isinstance(x0, np.ndarray) else x0
    state, out = opt.init(x), []
    for t in range(1, steps + 1):
        g = grad(x) if callable(grad) else np.full_like(x, grad[t - 1])
        x, state = opt.update(g, state, x, t)
        out.append(x)
    return out


def two_steps(name: str, grads=(2.0, 1.0), theta0: float = 1.0, **hp) -> tuple[float, float]:
    """θ1, θ2 of a single scalar parameter starting at theta0, fed the given gradients."""
    xs = trajectory(OPTIMIZERS.get(name)(**hp), [[theta0]], list(grads), len(grads))
    return float(xs[0][0, 0]), float(xs[1][0, 0])


# --------------------------------------------------------------------------- hand-derived first and second steps
# θ0 = 1, g1 = 2, g2 = 1 unless stated; every expected value below is the rule worked by hand.

HAND = [
    # sgd: θ1 = 1 − 0.1·2; θ2 = 0.8 − 0.1·1
    ("sgd", {"lr": 0.1}, (2.0, 1.0), (0.8, 0.7)),
    # L2: g1 = 2 + 0.5·1 = 2.5 → 0.75; g2 = 1 + 0.5·0.75 = 1.375 → 0.75 − 0.1375
    ("sgd", {"lr": 0.1, "weight_decay": 0.5}, (2.0, 1.0), (0.75, 0.6125)),
    # momentum, dampening: b1 = g1 = 2 (first step undamped) → 0.8; b2 = 0.9·2 + 0.5·1 = 2.3 → 0.8 − 0.23
    ("sgd", {"lr": 0.1, "momentum": 0.9, "dampening": 0.5}, (2.0, 1.0), (0.8, 0.57)),
    # "momentum" = sgd μ 0.9: b2 = 1.8 + 1 = 2.8 → 0.8 − 0.28
    ("momentum", {"lr": 0.1}, (2.0, 1.0), (0.8, 0.52)),
    # nesterov: b1 = 2, d1 = 2 + 0.9·2 = 3.8 → 0.62; b2 = 2.8, d2 = 1 + 0.9·2.8 = 3.52 → 0.62 − 0.352
    ("nesterov", {"lr": 0.1}, (2.0, 1.0), (0.62, 0.268)),
    # adagrad: s1 = 4 → 1 − 0.1·2/(2 + eps); s2 = 5 → θ1 − 0.1·1/(√5 + eps)
    ("adagrad", {"lr": 0.1}, (2.0, 1.0), (1 - 0.2 / (2 + 1e-10), 1 - 0.2 / (2 + 1e-10) - 0.1 / (math.sqrt(5) + 1e-10))),
    # lr_decay 0.5, s0 = 5: s1 = 9 → 1 − 0.1·2/(3 + eps); clr2 = 0.1/(1 + 0.5), s2 = 10
    ("adagrad", {"lr": 0.1, "lr_decay": 0.5, "initial_accumulator_value": 5.0}, (2.0, 1.0),
     (1 - 0.2 / (3 + 1e-10), 1 - 0.2 / (3 + 1e-10) - (0.1 / 1.5) / (math.sqrt(10) + 1e-10))),
    # rmsprop: v1 = 0.01·4 = 0.04 → 1 − 0.01·2/(0.2 + eps); v2 = 0.99·0.04 + 0.01 = 0.0496
    ("rmsprop", {"lr": 0.01}, (2.0, 1.0),
     (1 - 0.02 / (0.2 + 1e-8), 1 - 0.02 / (0.2 + 1e-8) - 0.01 / (math.sqrt(0.0496) + 1e-8))),
    # adadelta (lr 1, ρ 0.9, eps 1e-6): v1 = 0.4, Δ1 = √(0 + eps)/√(0.4 + eps)·2, u1 = 0.1·Δ1²;
    # v2 = 0.36 + 0.1 = 0.46, Δ2 = √(u1 + eps)/√(0.46 + eps)·1
    ("adadelta", {}, (2.0, 1.0), None),
    # adam lr 0.1: m1 = 0.2, v1 = 0.004, m̂ = 2, √v1/√0.001 = 2 → 1 − 0.1·2/(2 + eps)
    # m2 = 0.18 + 0.1 = 0.28, 1 − β1² = 0.19; v2 = 0.003996 + 0.001 = 0.004996, 1 − β2² = 0.001999
    ("adam", {"lr": 0.1}, (2.0, 1.0),
     (1 - 0.2 / (2 + EPS_ADAM),
      1 - 0.2 / (2 + EPS_ADAM) - (0.1 / 0.19) * 0.28 / (math.sqrt(0.004996) / math.sqrt(0.001999) + EPS_ADAM))),
    # amsgrad, g2 = 0.01: v2 = 0.003996 + 1e-7 < v1 = 0.004, so the max keeps 0.004; m2 = 0.18 + 0.001 = 0.181
    ("adam", {"lr": 0.1, "amsgrad": True}, (2.0, 0.01),
     (1 - 0.2 / (2 + EPS_ADAM),
      1 - 0.2 / (2 + EPS_ADAM) - (0.1 / 0.19) * 0.181 / (math.sqrt(0.004) / math.sqrt(0.001999) + EPS_ADAM))),
    # the same without amsgrad uses v2 = 0.0039961
    ("adam", {"lr": 0.1}, (2.0, 0.01),
     (1 - 0.2 / (2 + EPS_ADAM),
      1 - 0.2 / (2 + EPS_ADAM) - (0.1 / 0.19) * 0.181 / (math.sqrt(0.0039961) / math.sqrt(0.001999) + EPS_ADAM))),
    # adam L2 0.5: g1 = 2.5, m1 = 0.25, v1 = 0.00625 → 1 − 0.25/(√0.00625/√0.001 + eps) = 1 − 0.25/(2.5 + eps)
    ("adam", {"lr": 0.1, "weight_decay": 0.5}, (2.0,), (1 - 0.25 / (2.5 + EPS_ADAM),)),
    # adamw wd 0.5: θ·(1 − 0.1·0.5) first: 0.95 − 0.1·2/(2 + eps); then θ1·0.95 − the adam step above
    ("adamw", {"lr": 0.1, "weight_decay": 0.5}, (2.0, 1.0),
     (0.95 - 0.2 / (2 + EPS_ADAM),
      (0.95 - 0.2 / (2 + EPS_ADAM)) * 0.95
      - (0.1 / 0.19) * 0.28 / (math.sqrt(0.004996) / math.sqrt(0.001999) + EPS_ADAM))),
    # adamax: m1 = 0.2, u1 = max(0, 2 + eps) → 1 − (0.1/0.1)·0.2/(2 + eps); u2 = max(0.999·(2 + eps), 1 + eps)
    ("adamax", {"lr": 0.1}, (2.0, 1.0),
     (1 - 0.2 / (2 + EPS_ADAM), 1 - 0.2 / (2 + EPS_ADAM) - (0.1 / 0.19) * 0.28 / (0.999 * (2 + EPS_ADAM)))),
    # nadam: worked below in test_nadam_two_steps
    # radam: ρ∞ = 1999, ρ1 = 1999 − 2·0.999/0.001 = 1 ≤ 5 → θ1 = 1 − 0.1·m̂1 = 1 − 0.1·2;
    # ρ2 = 1999 − 4·0.998001/0.001999 ≈ 2 ≤ 5 → θ2 = 0.8 − 0.1·0.28/0.19
    ("radam", {"lr": 0.1}, (2.0, 1.0), (0.8, 0.8 - 0.1 * 0.28 / 0.19)),
    # lion: c1 = 0.1·2 > 0 → 1 − 0.1; m1 = 0.01·2 = 0.02;
    # g2 = −0.1: c2 = 0.9·0.02 − 0.01 = 0.008 > 0 (the sign of c, not of g) → 0.8; m2 = 0.0198 − 0.001 = 0.0188;
    # g3 = −0.2: c3 = 0.9·0.0188 − 0.02 = −0.00308 < 0 → 0.9
    ("lion", {"lr": 0.1}, (2.0, -0.1, -0.2), (0.9, 0.8, 0.9)),
    # lion wd 0.5: 1·0.95 − 0.1 = 0.85; 0.85·0.95 − 0.1 = 0.7075
    ("lion", {"lr": 0.1, "weight_decay": 0.5}, (2.0, -0.1), (0.85, 0.7075)),
]


@pytest.mark.parametrize("name, hp, grads, expected", [h for h in HAND if h[3] is not None],
                         ids=lambda v: v if isinstance(v, str) else "")
def test_hand_derived_steps(name, hp, grads, expected):
    xs = trajectory(OPTIMIZERS.get(name)(**hp), [[1.0]], list(grads), len(grads))
    assert [float(x[0, 0]) for x in xs] == pytest.approx(list(expected), rel=1e-12, abs=1e-15)


def test_adadelta_two_steps():
    e = 1e-6
    d1 = math.sqrt(e) / math.sqrt(0.4 + e) * 2
    u1 = 0.1 * d1 * d1
    d2 = math.sqrt(u1 + e) / math.sqrt(0.46 + e) * 1
    assert two_steps("adadelta") == pytest.approx((1 - d1, 1 - d1 - d2), rel=1e-12)


def test_rmsprop_centered_momentum_two_steps():
    e = 1e-8
    # ḡ1 = 0.01·2 = 0.02, v1 = 0.04: d1 = √(0.04 − 0.0004) + eps, b1 = 2/d1
    d1 = math.sqrt(0.04 - 0.02**2) + e
    b1 = 2 / d1
    # v2 = 0.0496, ḡ2 = 0.99·0.02 + 0.01·1 = 0.0298: b2 = 0.9·b1 + 1/d2
    d2 = math.sqrt(0.0496 - 0.0298**2) + e
    b2 = 0.9 * b1 + 1 / d2
    got = two_steps("rmsprop", lr=0.01, centered=True, momentum=0.9)
    assert got == pytest.approx((1 - 0.01 * b1, 1 - 0.01 * b1 - 0.01 * b2), rel=1e-12)


def test_nadam_two_steps():
    lr, psi = 0.1, 4e-3
    mu = [0.9 * (1 - 0.5 * 0.96 ** (t * psi)) for t in (1, 2, 3)]  # μ1, μ2, μ3
    # step 1: m = 0.2, v = 0.004, d = √(0.004/0.001) + eps = 2 + eps
    d1 = 2 + EPS_ADAM
    th1 = 1 - lr * (1 - mu[0]) / (1 - mu[0]) * 2 / d1 - lr * mu[1] / (1 - mu[0] * mu[1]) * 0.2 / d1
    # step 2: g = 1, m = 0.28, v = 0.004996, 1 − β2² = 0.001999
    d2 = math.sqrt(0.004996 / 0.001999) + EPS_ADAM
    p2 = mu[0] * mu[1]
    th2 = th1 - lr * (1 - mu[1]) / (1 - p2) * 1 / d2 - lr * mu[2] / (1 - p2 * mu[2]) * 0.28 / d2
    assert two_steps("nadam", lr=lr) == pytest.approx((th1, th2), rel=1e-12)


def test_radam_switches_to_the_rectified_step_when_rho_exceeds_5():
    # β1 = 0 (m̂ = g), β2 = 0.9 (ρ∞ = 19), g = 1 throughout: ρ5 = 19 − 10·0.9⁵/(1 − 0.9⁵) ≈ 4.58, ρ6 ≈ 5.39
    lr, b2 = 0.1, 0.9
    xs = trajectory(OPTIMIZERS.get("radam")(lr=lr, betas=(0.0, b2)), [[1.0]], [1.0] * 6, 6)
    assert float(xs[4][0, 0]) == pytest.approx(1 - 5 * lr, rel=1e-12)  # five plain steps θ ← θ − lr·g
    bc = 1 - b2**6
    rho6 = 19 - 2 * 6 * b2**6 / bc
    assert rho6 > 5 > 19 - 2 * 5 * b2**5 / (1 - b2**5)
    r6 = math.sqrt((rho6 - 4) * (rho6 - 2) * 19 / ((19 - 4) * (19 - 2) * rho6))
    # v6 = (1 − 0.9⁶)·1², so √(1 − β2⁶)/(√v6 + eps) = √bc/(√bc + eps)
    assert float(xs[5][0, 0]) == pytest.approx(0.5 - lr * r6 * math.sqrt(bc) / (math.sqrt(bc) + EPS_ADAM), rel=1e-12)


# ------------------------------------------------------------------------------------------ textbook trajectories


def bowl_grad(x):  # d2l: f = 0.1·x1² + 2·x2²
    return np.concatenate([0.2 * x[:, :1], 4 * x[:, 1:]], axis=1)


@pytest.mark.parametrize("name, hp, end", [
    ("sgd", {"lr": 0.4}, (-0.943467, -0.000073)),
    ("sgd", {"lr": 0.6}, (-0.387814, -1673.365109)),
    ("momentum", {"lr": 0.4, "momentum": 0.5}, (-0.062843, 0.001202)),
    ("momentum", {"lr": 0.6, "momentum": 0.5}, (0.007188, 0.002553)),
])
def test_d2l_bowl_20_steps(name, hp, end):
    x = trajectory(OPTIMIZERS.get(name)(**hp), [[-5.0, -2.0]], bowl_grad, 20)[-1]
    assert np.round(x[0], 6).tolist() == list(end)


def test_parabola_one_step():
    # y = (x − 1)² + 0.001, x0 = 0.2: x1 = 0.2 − 0.1·2·(0.2 − 1) = 0.36
    x = trajectory(OPTIMIZERS.get("sgd")(lr=0.1), [[0.2]], parabola_grad, 1)[0]
    assert x[0, 0] == pytest.approx(0.36, rel=1e-15)


# -------------------------------------------------------------------------------------------------- equivalences


def run(opt, steps=50, x0=((-1.2, 1.0),), grad=rosenbrock_grad):
    x0 = x0 if isinstance(x0, np.ndarray) else np.array(x0, dtype=float)
    return np.array(trajectory(opt, x0, grad, steps))  # (steps, R, P)


def test_nesterov_and_momentum_without_momentum_are_sgd():
    sgd = OPTIMIZERS.get("sgd")
    plain = run(sgd(lr=1e-3))
    assert np.array_equal(run(OPTIMIZERS.get("nesterov")(lr=1e-3, momentum=0.0)), plain)
    assert np.array_equal(run(OPTIMIZERS.get("momentum")(lr=1e-3, momentum=0.0, dampening=0.3)), plain)
    assert np.allclose(run(OPTIMIZERS.get("nesterov")(lr=1e-3, momentum=1e-9)), plain, rtol=1e-6)
    # a member whose momentum is 0 in a per-member array takes plain SGD steps (PyTorch ignores its dampening)
    stacked = run(sgd(lr=1e-3, momentum=np.array([[0.0], [0.5]]), dampening=0.3, nesterov=True),
                  x0=((-1.2, 1.0), (-1.2, 1.0)))
    assert np.array_equal(stacked[:, :1], plain)
    assert not np.allclose(stacked[:, 1:], plain)


def test_named_variants_are_sgd_with_other_defaults():
    sgd = OPTIMIZERS.get("sgd")
    assert np.array_equal(run(OPTIMIZERS.get("momentum")(lr=1e-4)), run(sgd(lr=1e-4, momentum=0.9)))
    assert np.array_equal(run(OPTIMIZERS.get("nesterov")(lr=1e-4)), run(sgd(lr=1e-4, momentum=0.9, nesterov=True)))


def test_sgd_momentum_with_dampening_follows_the_buffer_rule():
    mu, tau, lr = 0.9, 0.1, 1e-4
    x, b = np.array([[-1.2, 1.0]]), None
    for got in run(OPTIMIZERS.get("sgd")(lr=lr, momentum=mu, dampening=tau)):
        g = rosenbrock_grad(x)
        b = g if b is None else mu * b + (1 - tau) * g
        x = x - lr * b
        np.testing.assert_allclose(got, x, rtol=1e-13)


def test_adam_with_beta1_zero_is_bias_corrected_rmsprop():
    lr, b2, eps = 0.02, 0.99, 1e-8
    x, v = np.array([[-1.2, 1.0]]), 0.0
    for t, got in enumerate(run(OPTIMIZERS.get("adam")(lr=lr, betas=(0.0, b2), eps=eps)), start=1):
        g = rosenbrock_grad(x)
        v = b2 * v + (1 - b2) * g * g
        x = x - lr * g / (np.sqrt(v) / math.sqrt(1 - b2**t) + eps)
        np.testing.assert_allclose(got, x, rtol=1e-12)


def test_adamw_without_decay_is_adam_and_adam_decoupled_is_adamw():
    adam, adamw = OPTIMIZERS.get("adam"), OPTIMIZERS.get("adamw")
    assert np.array_equal(run(adamw(lr=0.02, weight_decay=0.0)), run(adam(lr=0.02)))
    assert np.array_equal(run(adam(lr=0.02, weight_decay=0.1, decoupled_weight_decay=True)),
                          run(adamw(lr=0.02, weight_decay=0.1)))
    assert not np.allclose(run(adam(lr=0.02, weight_decay=0.1)), run(adamw(lr=0.02, weight_decay=0.1)))


def test_amsgrad_with_constant_gradients_is_adam():
    # constant g: v rises monotonically to g², so max(v_max, v) = v at every step
    def const(x):
        return np.array([[3.0, -0.5]])

    adam = OPTIMIZERS.get("adam")
    assert np.array_equal(run(adam(lr=0.1, amsgrad=True), grad=const), run(adam(lr=0.1), grad=const))
    # shrinking gradients make them differ
    assert not np.array_equal(run(adam(lr=0.02, amsgrad=True)), run(adam(lr=0.02)))


def test_adagrad_lr_decay_is_a_decaying_lr():
    ada = OPTIMIZERS.get("adagrad")
    np.testing.assert_allclose(run(ada(lr=0.1, lr_decay=0.05)),
                               run(ada(lr=lambda t: 0.1 / (1 + (t - 1) * 0.05))), rtol=1e-15)


@pytest.mark.parametrize("name", [n for n in OPTIMIZERS if n not in ("adamw", "lion")])
def test_weight_decay_is_an_l2_term_in_the_gradient(name):
    wd, lr = 0.01, LR_ROSEN[name]
    with_wd = run(OPTIMIZERS.get(name)(lr=lr, weight_decay=wd))
    by_hand = run(OPTIMIZERS.get(name)(lr=lr), grad=lambda x: rosenbrock_grad(x) + wd * x)
    assert np.array_equal(with_wd, by_hand)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_callable_lr_equals_float_lr(name):
    lr = LR_ROSEN[name]
    assert np.array_equal(run(OPTIMIZERS.get(name)(lr=lambda t: lr)), run(OPTIMIZERS.get(name)(lr=lr)))


# ---------------------------------------------------------------------------------------- table over every name

LR_ROSEN = dict(sgd=1e-3, momentum=1e-4, nesterov=1e-4, adagrad=0.1, rmsprop=1e-2, adadelta=1.0, adam=0.02,
                adamw=0.02, adamax=0.05, nadam=0.02, radam=1e-3, lion=0.01)
LR_PARABOLA = dict(sgd=0.1, momentum=0.1, nesterov=0.1, adagrad=0.5, rmsprop=0.01, adadelta=1.0, adam=0.1,
                   adamw=0.1, adamax=0.1, nadam=0.1, radam=0.1, lion=0.01)

# every registered name with the switches that change its code path
CASES = [("sgd", {}), ("sgd", {"nesterov": True}), ("momentum", {}), ("nesterov", {}), ("adagrad", {}),
         ("rmsprop", {}), ("rmsprop", {"centered": True}), ("adadelta", {}), ("adam", {}), ("adam", {"amsgrad": True}),
         ("adam", {"decoupled_weight_decay": True}), ("adamw", {}), ("adamw", {"amsgrad": True}), ("adamax", {}),
         ("nadam", {}), ("nadam", {"decoupled_weight_decay": True}), ("radam", {}),
         ("radam", {"decoupled_weight_decay": True}), ("lion", {}),
         # the textbook variants (gdlab.optim.textbook), with the options their books' rules lack switched off
         ("sgd", {"variant": "dlfs", "dampening": 0.0}), ("sgd", {"variant": "dlfs", "dampening": 0.0, "nesterov": True}),
         ("momentum", {"variant": "dlfs", "dampening": 0.0}), ("nesterov", {"variant": "dlfs", "dampening": 0.0}),
         ("adagrad", {"variant": "d2l"}), ("adagrad", {"variant": "dlfs"}),
         ("rmsprop", {"variant": "d2l", "momentum": 0.0}), ("rmsprop", {"variant": "dlfs", "momentum": 0.0}),
         ("adam", {"variant": "dlfs"}), ("adam", {"variant": "dlfs", "decoupled_weight_decay": True})]
CASE_IDS = [n + "".join(f"-{v}" if k == "variant" else f"-{k}" for k, v in kw.items() if v) for n, kw in CASES]


def test_tables_cover_every_registered_optimizer():
    assert set(LR_ROSEN) == set(LR_PARABOLA) == {n for n, _ in CASES} == set(OPTIMIZERS)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
@pytest.mark.parametrize("problem", ["parabola", "rosenbrock"])
def test_every_optimizer_decreases_the_loss(name, problem):
    f, grad, x0, lr = {"parabola": (parabola, parabola_grad, [[0.2, -1.0]], LR_PARABOLA[name]),
                       "rosenbrock": (rosenbrock, rosenbrock_grad, [[-1.2, 1.0]], LR_ROSEN[name])}[problem]
    x = trajectory(OPTIMIZERS.get(name)(lr=lr), x0, grad, 200)[-1]
    assert np.isfinite(x).all() and f(x)[0] < f(np.array(x0))[0]


@pytest.mark.parametrize("name, flags", CASES, ids=CASE_IDS)
def test_float32_stays_float32_and_inputs_are_not_mutated(name, flags):
    hp = {"weight_decay": 0.01, **flags}
    hp.update({"momentum": 0.5} if name in ("rmsprop", "sgd") and "momentum" not in flags else {})
    opt = OPTIMIZERS.get(name)(lr=np.full((3, 1), LR_ROSEN[name], np.float32), **hp)
    x = np.array([[-1.2, 1.0], [0.5, 0.5], [2.0, -1.0]], dtype=np.float32)
    state = opt.init(x)
    for t in (1, 2, 3):
        g = rosenbrock_grad(x)
        x_copy, g_copy, state_copy = x.copy(), g.copy(), [a.copy() for a in state]
        new_x, new_state = opt.update(g, state, x, t)
        assert np.array_equal(x, x_copy) and np.array_equal(g, g_copy)
        assert all(np.array_equal(a, b) for a, b in zip(state, state_copy))
        assert new_x.dtype == np.float32 and new_x.shape == (3, 2)
        assert type(new_state) is type(state)
        for field, a in zip(new_state._fields, new_state):
            assert a.dtype == np.float32 and a.shape[0] == 3, field  # every state field leads with the runs axis
        x, state = new_x, new_state


# per-member values by hyperparameter name, for R = 7 members (zeros included: they must not change other members)
MEMBERS = {
    "lr": [1.0, 0.5, 1.5, 0.25, 0.75, 1.25, 0.1],  # multiples of LR_ROSEN
    "momentum": [0.0, 0.1, 0.5, 0.9, 0.95, 0.3, 0.0],
    "dampening": [0.0, 0.1, 0.0, 0.5, 0.2, 0.0, 1.0],
    "weight_decay": [0.0, 1e-3, 1e-2, 0.0, 0.1, 1e-4, 0.05],
    "eps": [1e-8, 1e-6, 1e-3, 1e-10, 1e-8, 1e-4, 1e-7],
    "alpha": [0.99, 0.9, 0.5, 0.0, 0.95, 0.999, 0.8],
    "rho": [0.9, 0.95, 0.5, 0.99, 0.0, 0.8, 1.0],
    "lr_decay": [0.0, 0.1, 0.01, 1.0, 0.0, 0.5, 0.001],
    "initial_accumulator_value": [0.0, 0.1, 1.0, 0.0, 10.0, 0.5, 0.0],
    "momentum_decay": [4e-3, 0.0, 1e-2, 0.1, 4e-3, 1.0, 2e-3],
    "beta1": [0.9, 0.8, 0.0, 0.95, 0.5, 0.9, 0.99],
    "beta2": [0.999, 0.99, 0.9, 0.9999, 0.95, 0.5, 0.999],
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name, flags", CASES, ids=CASE_IDS)
def test_members_run_together_exactly_as_alone(name, flags, dtype):
    """R = 7 members with per-member (R, 1) hyperparameters give bit for bit what each gives alone."""
    factory, R = OPTIMIZERS.get(name), 7
    members = {**MEMBERS, "lr": [m * LR_ROSEN[name] for m in MEMBERS["lr"]]}
    swept = [k for k, v in signature_defaults(factory).items() if not isinstance(v, (bool, str)) and k not in flags]

    def hparams(i):  # member i's values as Python floats; i = None: all members as (R, 1) arrays
        col = (lambda k: np.array(members[k], dtype).reshape(R, 1)) if i is None else (lambda k: members[k][i])
        hp = {k: col(k) for k in swept if k != "betas"}
        if "betas" in swept:
            hp["betas"] = (col("beta1"), col("beta2"))
        return {**hp, **flags}

    x0 = np.tile(np.array([[-1.2, 1.0]], dtype), (R, 1)) + np.arange(R, dtype=dtype)[:, None] * dtype(0.05)
    with np.errstate(all="ignore"):
        together = run(factory(**hparams(None)), x0=x0)
        for i in range(R):
            alone = run(factory(**hparams(i)), x0=x0[i:i + 1])
            assert np.array_equal(together[:, i:i + 1], alone, equal_nan=True), f"member {i}"
    assert together.dtype == dtype
    assert np.isfinite(together[-1]).any()


# ----------------------------------------------------------------------------------------------- check_hparams


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_defaults_pass_check_hparams(name):
    assert check_hparams(name, OPTIMIZERS.defaults(name)) == []


@pytest.mark.parametrize("name, key, value, accepted", [
    ("sgd", "lr", 0.0, "> 0"), ("sgd", "lr", -0.1, "> 0"), ("adam", "lr", float("nan"), "> 0"),
    ("sgd", "momentum", 1.0, "[0, 1)"), ("rmsprop", "momentum", -0.1, "[0, 1)"),
    ("sgd", "dampening", 1.5, "[0, 1]"), ("adam", "weight_decay", -1e-3, ">= 0"),
    ("adam", "eps", 0.0, "> 0"), ("adam", "betas", (0.9, 1.0), "[0, 1)"), ("nadam", "betas", (-0.1, 0.9), "[0, 1)"),
    ("rmsprop", "alpha", 1.0, "[0, 1)"), ("adadelta", "rho", 1.5, "[0, 1]"), ("adagrad", "lr_decay", -1.0, ">= 0"),
    ("adagrad", "initial_accumulator_value", -1.0, ">= 0"), ("nadam", "momentum_decay", -1.0, ">= 0"),
])
def test_check_hparams_names_the_key_and_the_accepted_range(name, key, value, accepted):
    problems = check_hparams(name, {**OPTIMIZERS.defaults(name), key: value})
    assert len(problems) == 1 and problems[0][0] == key and accepted in problems[0][1], problems


def test_check_hparams_nesterov_needs_momentum_and_no_dampening():
    d = OPTIMIZERS.defaults("sgd")
    assert check_hparams("sgd", {**d, "momentum": 0.0}) == []
    assert [k for k, _ in check_hparams("sgd", {**d, "nesterov": True})] == ["momentum"]
    damped = {**d, "nesterov": True, "momentum": 0.9, "dampening": 0.1}
    assert [k for k, _ in check_hparams("sgd", damped)] == ["dampening"]
    no_momentum = {**OPTIMIZERS.defaults("nesterov"), "momentum": 0.0}
    assert [k for k, _ in check_hparams("nesterov", no_momentum)] == ["momentum"]
    assert check_hparams("momentum", {**OPTIMIZERS.defaults("momentum"), "dampening": 0.5}) == []


def test_check_hparams_unknown_optimizer():
    with pytest.raises(ConfigError, match="did you mean 'adam'"):
        check_hparams("adma", {})


# ---------------------------------------------------------------------------------------------- manual and misc


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_every_optimizer_documents_its_rule(name):
    factory = OPTIMIZERS.get(name)
    summary = OPTIMIZERS.summary(name)
    assert summary and "\n" not in summary and "←" in summary
    assert factory.__doc__ and factory.__doc__.strip().splitlines()[0].endswith(".")
    assert all(p.default is not p.empty for p in inspect.signature(factory).parameters.values())


def test_exact_map_scalars_arrays_and_dtype():
    assert exact_map(lambda a, b: a**b, 0.5, 2) == 0.25 and isinstance(exact_map(math.cos, 0.0), float)
    psi = np.array([[0.004], [0.1], [0.004]], dtype=np.float32)
    out = exact_map(lambda p: 0.96**p, psi)
    assert out.dtype == np.float32 and out.shape == (3, 1)
    assert [float(v) for v in out[:, 0]] == [float(np.float32(0.96 ** float(p))) for p in psi[:, 0]]
    both = exact_map(lambda a, b: a + 10 * b, np.array([[1.0], [2.0]]), np.array([[3.0, 4.0]]))
    assert both.tolist() == [[31.0, 41.0], [32.0, 42.0]]


def test_no_length_dependent_transcendentals_on_member_arrays():
    """β^t and 0.96^(tψ) must be running products or go through exact_map: NumPy's SIMD pow/exp/log/cos may
    differ by an ulp between array lengths on some CPUs, which would break lockstep there (not necessarily here)."""
    from gdlab.optim import adam_family, adaptive, base, sgd, textbook

    banned = {"power", "float_power", "exp", "exp2", "expm1", "log", "log2", "log1p", "cos", "sin", "tanh"}
    nodes = [n for m in (base, sgd, adaptive, adam_family, textbook) for n in ast.walk(ast.parse(inspect.getsource(m)))]
    for node in nodes:
        assert not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow)), f"** on line {node.lineno}"
        is_np = isinstance(node, ast.Attribute) and getattr(node.value, "id", "") == "np"
        assert not (is_np and node.attr in banned), f"np.{node.attr} on line {node.lineno}"
