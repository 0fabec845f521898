"""Schedules: hand values at the boundaries, per-member arrays, ranges."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gdlab.errors import ConfigError
from gdlab.optim import OPTIMIZERS
from gdlab.optim.schedules import SCHEDULES, check_schedule


def values(name, ks, total=20, **params):
    factor = SCHEDULES.get(name)(**params)
    return [factor(k, total) for k in ks]


def test_registered_schedules_and_defaults():
    assert {n: SCHEDULES.defaults(n) for n in SCHEDULES} == {
        "constant": {},
        "step": {"step_size": 10, "gamma": 0.1},
        "exponential": {"gamma": 0.95},
        "cosine": {"T_max": None, "min_factor": 0.0},
        "inverse_time": {"rate": 0.1, "power": 1.0},
        "exp_decay": {"lam": 0.1, "t0": 1},
        "polynomial": {"alpha": 0.5, "beta": 0.1, "t0": 1},
        "warmup_cosine": {"warmup_steps": 10, "min_factor": 0.0},
    }
    assert all(SCHEDULES.summary(n) and "\n" not in SCHEDULES.summary(n) for n in SCHEDULES)


def test_constant():
    assert values("constant", range(5)) == [1.0] * 5


def test_step_changes_at_multiples_of_step_size():
    assert values("step", range(8), step_size=3, gamma=0.5) == [1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25]
    assert values("step", [9, 10, 19, 20]) == pytest.approx([1, 0.1, 0.1, 0.01], rel=1e-15)  # defaults 10, 0.1


def test_exponential():
    assert values("exponential", [0, 1, 2, 10], gamma=0.9) == pytest.approx([1, 0.9, 0.81, 0.9**10], rel=1e-15)


def test_cosine_hand_values():
    # min + (1 − min)(1 + cos(πk/T))/2 with T = 10, min = 0.1: k = 0 → 1; k = 5 → 0.1 + 0.9·½ = 0.55; k ≥ 10 → 0.1
    got = values("cosine", [0, 5, 10, 15], T_max=10, min_factor=0.1)
    assert got == pytest.approx([1.0, 0.55, 0.1, 0.1], rel=1e-15)
    # T_max = None spans the run: total 20, k = 10 is halfway; k = 19: (1 + cos(19π/20))/2
    got = values("cosine", [0, 10, 19], total=20)
    assert got == pytest.approx([1.0, 0.5, (1 + math.cos(0.95 * math.pi)) / 2], rel=1e-14)


def test_inverse_time():
    # (1 + rate·k)^(−power): rate 0.1, k = 10 → 2^(−power)
    assert values("inverse_time", [0, 10], rate=0.1, power=0.5) == pytest.approx([1, 2**-0.5], rel=1e-15)
    assert values("inverse_time", [0, 10, 30]) == pytest.approx([1, 0.5, 0.25], rel=1e-15)


def d2l_lr_calls(lr_function: str, steps: int, t: int = 1, lam: float = 0.1, beta: float = 0.1, alpha: float = 0.5):
    """What d2l 12.4's exponential_lr / polynomial_lr return on their first `steps` calls: a global counter t,
    set to 1 before training and incremented before each use."""
    out = []
    for _ in range(steps):
        t += 1
        out.append(math.exp(-lam * t) if lr_function == "exponential" else (1 + beta * t) ** (-alpha))
    return out


def test_d2l_counter_schedules_are_d2ls_lr_functions_exactly():
    assert values("exp_decay", range(1000), total=1000) == d2l_lr_calls("exponential", 1000)
    assert values("polynomial", range(50), total=50) == d2l_lr_calls("polynomial", 50)
    assert values("exp_decay", [0], lam=0.1, t0=1) == [math.exp(-0.2)]  # the first update already has t = 2
    assert values("polynomial", [0, 8], alpha=1.0, beta=0.5, t0=0) == [(1 + 0.5) ** -1, (1 + 0.5 * 9) ** -1]
    got = values("exp_decay", range(20), total=20, lam=0.3, t0=5)
    assert got == d2l_lr_calls("exponential", 20, t=5, lam=0.3)
    # the old way needed hand-mapped constants: lr·e^(−0.2) and gamma e^(−0.1) for the same numbers, to rounding
    mapped = [math.exp(-0.2) * f for f in values("exponential", range(50), gamma=math.exp(-0.1))]
    np.testing.assert_allclose(mapped, d2l_lr_calls("exponential", 50), rtol=1e-13)


def test_warmup_cosine():
    # warm-up 4: (k+1)/4 for k = 0..3; then cosine over the remaining 12 − 4 = 8 updates: k = 4 → 1, k = 8 → ½
    got = values("warmup_cosine", range(12), total=12, warmup_steps=4)
    assert got[:5] == [0.25, 0.5, 0.75, 1.0, 1.0]
    assert got[8] == pytest.approx(0.5, rel=1e-15)
    assert got[11] == pytest.approx((1 + math.cos(7 * math.pi / 8)) / 2, rel=1e-14)
    no_warmup = values("warmup_cosine", [0, 1], total=10, warmup_steps=0)
    assert no_warmup == pytest.approx([1.0, (1 + math.cos(math.pi / 10)) / 2], rel=1e-15)


def test_factor_is_pure():
    factor = SCHEDULES.get("warmup_cosine")(warmup_steps=3, min_factor=0.2)
    forward = [factor(k, 30) for k in range(30)]
    assert [factor(k, 30) for k in reversed(range(30))] == forward[::-1]


# per-member parameters for R = 5 members (scalars alone, (R, 1) arrays together; same dtype both ways)
MEMBERS = {
    "step": {"step_size": [1, 3, 10, 7, 2], "gamma": [0.5, 0.1, 1.0, 0.9, 0.3]},
    "exponential": {"gamma": [0.95, 0.5, 0.99, 1.0, 0.7]},
    "cosine": {"T_max": [10, 30, 7, 25, 1], "min_factor": [0.0, 0.1, 0.5, 1.0, 0.01]},
    "inverse_time": {"rate": [0.1, 0.0, 1.0, 0.05, 3.0], "power": [1.0, 0.5, 2.0, 0.0, 0.25]},
    "exp_decay": {"lam": [0.1, 0.0, 0.5, 0.01, 2.0], "t0": [1, 0, 10, 3, 1]},
    "polynomial": {"alpha": [0.5, 1.0, 0.0, 2.0, 0.25], "beta": [0.1, 0.0, 1.0, 0.05, 3.0], "t0": [1, 0, 7, 1, 2]},
    "warmup_cosine": {"warmup_steps": [10, 0, 3, 30, 1], "min_factor": [0.0, 0.1, 0.5, 1.0, 0.01]},
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", sorted(MEMBERS))
def test_per_member_arrays_equal_each_member_alone(name, dtype):
    together = SCHEDULES.get(name)(**{k: np.array(v, dtype)[:, None] for k, v in MEMBERS[name].items()})
    alone = [SCHEDULES.get(name)(**{k: dtype(v[i]) for k, v in MEMBERS[name].items()}) for i in range(5)]
    for k in range(30):
        stacked = together(k, 30)
        assert stacked.shape == (5, 1) and stacked.dtype == dtype
        assert np.array_equal(stacked[:, 0], np.array([f(k, 30) for f in alone], dtype)), k


def test_tables_cover_every_schedule():
    assert set(MEMBERS) | {"constant"} == set(SCHEDULES)


def test_scheduled_lr_keeps_optimizer_members_in_lockstep():
    """adam with lr·factor(t − 1, total) and per-member schedule parameters: together = alone, bit for bit."""
    total, lrs, warm = 40, [0.01, 0.02, 0.05], [5, 0, 12]

    def lr_of(base, factor):
        return lambda t: base * factor(t - 1, total)

    def run(lr, x):
        opt = OPTIMIZERS.get("adam")(lr=lr)
        state = opt.init(x)
        for t in range(1, total + 1):
            x, state = opt.update(x * x - 1, state, x, t)
        return x

    x0 = np.array([[0.3, -2.0], [1.5, 0.1], [-0.7, 0.9]])
    stacked = SCHEDULES.get("warmup_cosine")(warmup_steps=np.array(warm, float)[:, None], min_factor=0.1)
    together = run(lr_of(np.array(lrs)[:, None], stacked), x0)
    for i in range(3):
        alone = run(lr_of(lrs[i], SCHEDULES.get("warmup_cosine")(warmup_steps=warm[i], min_factor=0.1)), x0[i:i + 1])
        assert np.array_equal(together[i:i + 1], alone), i


# ------------------------------------------------------------------------------------------------------ ranges


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_defaults_pass_check_schedule(name):
    assert check_schedule(name, SCHEDULES.defaults(name)) == []


@pytest.mark.parametrize("name, key, value, accepted", [
    ("step", "step_size", 0, "integer >= 1"), ("step", "step_size", 2.5, "integer >= 1"),
    ("step", "step_size", True, "integer >= 1"), ("step", "gamma", 0.0, "(0, 1]"),
    ("exponential", "gamma", 1.5, "(0, 1]"),
    ("cosine", "T_max", 0, "integer >= 1"), ("cosine", "min_factor", 1.5, "[0, 1]"),
    ("inverse_time", "rate", -0.1, ">= 0"), ("inverse_time", "power", -1.0, ">= 0"),
    ("warmup_cosine", "warmup_steps", -1, "integer >= 0"), ("warmup_cosine", "warmup_steps", 2.5, "integer >= 0"),
    ("warmup_cosine", "min_factor", -0.1, "[0, 1]"),
    ("exp_decay", "lam", -0.1, ">= 0"), ("exp_decay", "t0", -1, "integer >= 0"), ("exp_decay", "t0", 1.5, "integer"),
    ("polynomial", "alpha", -0.5, ">= 0"), ("polynomial", "beta", -1.0, ">= 0"), ("polynomial", "t0", -2, ">= 0"),
])
def test_check_schedule_names_the_key_and_the_accepted_range(name, key, value, accepted):
    problems = check_schedule(name, {**SCHEDULES.defaults(name), key: value})
    assert len(problems) == 1 and problems[0][0] == key and accepted in problems[0][1], problems


def test_check_schedule_accepts_integral_floats_and_unknown_names_fail():
    assert check_schedule("step", {"step_size": 5.0, "gamma": 1.0}) == []
    assert check_schedule("cosine", {"T_max": 100, "min_factor": 0.0}) == []
    with pytest.raises(ConfigError, match="did you mean 'cosine'"):
        check_schedule("cosin", {})
