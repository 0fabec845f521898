"""Cross-check against torch.optim: same names, defaults and trajectories (skipped where torch is not installed)."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from gdlab.optim import OPTIMIZERS  # noqa: E402
from gdlab.optim.schedules import SCHEDULES  # noqa: E402

STEPS = 200


@pytest.fixture(autouse=True)
def torch_float64_scalars():
    """torch keeps some per-parameter scalars (NAdam's mu_product, step counts) in the *default* dtype, float32,
    even for float64 parameters; NAdam then differs from a float64 computation by ~1e-9 relative after one step.
    gdlab keeps them in the params' dtype, so the cross-check runs torch with float64 as the default dtype."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)

# gdlab name -> (torch class, extra torch kwargs that the gdlab name implies)
TORCH = {
    "sgd": (torch.optim.SGD, {}),
    "momentum": (torch.optim.SGD, {"momentum": 0.9}),
    "nesterov": (torch.optim.SGD, {"momentum": 0.9, "nesterov": True}),
    "adagrad": (torch.optim.Adagrad, {}),
    "rmsprop": (torch.optim.RMSprop, {}),
    "adadelta": (torch.optim.Adadelta, {}),
    "adam": (torch.optim.Adam, {}),
    "adamw": (torch.optim.AdamW, {}),
    "adamax": (torch.optim.Adamax, {}),
    "nadam": (torch.optim.NAdam, {}),
    "radam": (torch.optim.RAdam, {}),
}

CASES = [
    ("sgd", {"lr": 1e-3}),
    ("sgd", {"lr": 1e-3, "weight_decay": 0.1}),
    ("sgd", {"lr": 1e-4, "momentum": 0.9, "dampening": 0.3}),
    ("sgd", {"lr": 1e-4, "momentum": 0.8, "nesterov": True, "weight_decay": 0.01}),
    ("momentum", {"lr": 1e-4}),
    ("nesterov", {"lr": 1e-4}),
    ("adagrad", {"lr": 0.1}),
    ("adagrad", {"lr": 0.1, "lr_decay": 0.01, "initial_accumulator_value": 0.5, "weight_decay": 0.01}),
    ("rmsprop", {"lr": 1e-2}),
    ("rmsprop", {"lr": 1e-3, "centered": True}),
    ("rmsprop", {"lr": 1e-4, "momentum": 0.9}),
    ("rmsprop", {"lr": 1e-4, "alpha": 0.9, "centered": True, "momentum": 0.5, "weight_decay": 0.01}),
    ("adadelta", {}),
    ("adadelta", {"lr": 0.5, "rho": 0.95, "eps": 1e-5, "weight_decay": 0.01}),
    ("adam", {"lr": 0.02}),
    ("adam", {"lr": 0.02, "amsgrad": True}),
    ("adam", {"lr": 0.02, "weight_decay": 0.1, "amsgrad": True}),
    ("adam", {"lr": 0.02, "betas": (0.8, 0.99), "eps": 1e-6}),
    ("adam", {"lr": 0.02, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("adamw", {"lr": 0.02}),
    ("adamw", {"lr": 0.02, "weight_decay": 0.1, "amsgrad": True}),
    ("adamax", {"lr": 0.05}),
    ("adamax", {"lr": 0.05, "betas": (0.8, 0.99), "weight_decay": 0.01}),
    ("nadam", {"lr": 0.02}),
    ("nadam", {"lr": 0.02, "momentum_decay": 0.1}),
    ("nadam", {"lr": 0.02, "weight_decay": 0.01}),
    ("nadam", {"lr": 0.02, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("radam", {"lr": 1e-3}),  # ρ_t ≤ 5 for t ≤ 5: the unrectified early steps
    ("radam", {"lr": 1e-3, "betas": (0.9, 0.9)}),  # ρ∞ = 19: the switch comes at t = 6
    ("radam", {"lr": 1e-3, "weight_decay": 0.01}),
    ("radam", {"lr": 1e-3, "weight_decay": 0.1, "decoupled_weight_decay": True}),
]
CASE_IDS = [n + "".join(f"-{k}" for k in kw if k != "lr") for n, kw in CASES]
GDLAB_ONLY = {"variant"}  # gdlab's own option: the textbooks' rules (tests/test_textbook.py); its default is torch


def test_cases_cover_every_optimizer_torch_has():
    assert {n for n, _ in CASES} == set(TORCH) == set(OPTIMIZERS) - {"lion"}  # Lion is not in torch.optim


@pytest.mark.parametrize("name", sorted(TORCH))
def test_names_and_defaults_are_torchs(name):
    assert OPTIMIZERS.defaults(name).get("variant", "torch") == "torch"
    cls, implied = TORCH[name]
    theirs = {k: p.default for k, p in inspect.signature(cls.__init__).parameters.items()}
    ours = {k: v for k, v in OPTIMIZERS.defaults(name).items() if k not in GDLAB_ONLY}
    for key, value in ours.items():
        assert key in theirs, f"{name}.{key} is not a torch.optim.{cls.__name__} argument"
        assert value == implied.get(key, theirs[key]), key


# ------------------------------------------------------------------------------------------------- problems


def rosenbrock_grad(x):  # (R, 2) -> (R, 2)
    a, b = x[:, :1], x[:, 1:]
    return np.concatenate([-2 * (1 - a) - 400 * a * (b - a * a), 200 * (b - a * a)], axis=1)


_rng = np.random.default_rng(7)
_Q = _rng.normal(size=(5, 5))
A = _Q @ _Q.T / 5 + np.eye(5)  # random SPD matrix, f = ½xᵀAx − bᵀx
B = _rng.normal(size=5)


def quadratic_grad(x):  # (R, 5) -> (R, 5)
    return x @ A - B


PROBLEMS = {"rosenbrock": (rosenbrock_grad, [-1.2, 1.0]), "quadratic": (quadratic_grad, [1.0, -2.0, 0.5, 3.0, -1.0])}


def torch_trajectory(name, hp, grad, x0):
    cls, implied = TORCH[name]
    p = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    opt = cls([p], **{**implied, **hp}, foreach=False)
    out = []
    for _ in range(STEPS):
        p.grad = torch.from_numpy(grad(p.detach().numpy()[None, :])[0].copy())
        opt.step()
        out.append(p.detach().numpy().copy())
    return np.array(out)  # (STEPS, P)


def gdlab_trajectory(name, hp, grad, x0):  # x0 (R, P) -> (STEPS, R, P)
    opt = OPTIMIZERS.get(name)(**hp)
    x = np.array(x0, dtype=np.float64)
    state, out = opt.init(x), []
    for t in range(1, STEPS + 1):
        x, state = opt.update(grad(x), state, x, t)
        out.append(x)
    return np.array(out)


@pytest.mark.parametrize("problem", sorted(PROBLEMS))
@pytest.mark.parametrize("name, hp", CASES, ids=CASE_IDS)
def test_trajectory_matches_torch(name, hp, problem):
    grad, x0 = PROBLEMS[problem]
    ours = gdlab_trajectory(name, hp, grad, [x0])[:, 0]
    theirs = torch_trajectory(name, hp, grad, x0)
    assert np.isfinite(theirs).all()
    for t in range(STEPS):
        np.testing.assert_allclose(ours[t], theirs[t], rtol=1e-9, atol=0, err_msg=f"update {t + 1}")


@pytest.mark.parametrize("name, hp", CASES, ids=CASE_IDS)
def test_per_member_hyperparameters_match_separate_torch_runs(name, hp):
    """Three members with (R, 1) lr (and betas) arrays in one stack against three torch runs."""
    grad, x0 = PROBLEMS["quadratic"]
    base = OPTIMIZERS.defaults(name)["lr"] if "lr" not in hp else hp["lr"]
    members = [{**hp, "lr": base * m} for m in (1.0, 0.5, 1.5)]
    if "betas" in OPTIMIZERS.defaults(name):
        for m, b1 in zip(members, (0.9, 0.8, 0.0)):
            m["betas"] = (b1, hp.get("betas", (0.9, 0.999))[1])
    stacked = {k: v for k, v in hp.items()}
    stacked["lr"] = np.array([[m["lr"]] for m in members])
    if "betas" in members[0]:
        stacked["betas"] = tuple(np.array([[m["betas"][j]] for m in members]) for j in (0, 1))
    ours = gdlab_trajectory(name, stacked, grad, [x0] * 3)
    for i, m in enumerate(members):
        np.testing.assert_allclose(ours[:, i], torch_trajectory(name, m, grad, x0), rtol=1e-9, atol=0,
                                   err_msg=f"member {i}: {m}")


# ------------------------------------------------------------------------------------------------- schedules


@pytest.mark.parametrize("name, ours, make", [
    ("step", {"step_size": 7, "gamma": 0.5}, lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=7, gamma=0.5)),
    ("exponential", {"gamma": 0.95}, lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.95)),
    ("cosine", {"T_max": 40, "min_factor": 0.1},
     lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=40, eta_min=0.1 * 2.0)),
])
def test_schedules_match_torch_lr_schedulers(name, ours, make):
    base = 2.0
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base)
    sched, factor = make(opt), SCHEDULES.get(name)(**ours)
    for k in range(41):  # CosineAnnealingLR rises again after T_max; gdlab's cosine holds the minimum
        assert factor(k, 41) * base == pytest.approx(sched.get_last_lr()[0], rel=1e-12, abs=1e-15), k
        opt.step()
        sched.step()
