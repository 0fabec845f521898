"""The shipped d2l and DLFS configs against the books' own update rules, written out here by hand.

Each reference below is the book's loop in plain Python floats (d2l's adagrad_2d / rmsprop_2d in chapter 12,
DLFS's common/optimizer.py driven as ch06/optimizer_compare_naive.py drives it), in the book's order of operations,
and shares no code with gdlab. gdlab runs the shipped config through the loader and the engine; the whole path,
start point included, must agree to 1e-12.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from gdlab.config import load_config
from gdlab.engine import Member, MemorySink, make_schedule, run_stack
from gdlab.errors import ConfigError
from gdlab.optim import OPTIMIZERS
from gdlab.problems.build import build_problem

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
TOL = 1e-12


def gdlab_paths(config, overrides=()) -> dict[str, np.ndarray]:
    """{label: (steps + 1, D) path} of every member of `config`, run as gdlab runs it."""
    cfg = load_config(config, list(overrides))
    problem = build_problem(cfg.problem, seed=cfg.seed, dtype=cfg.dtype)
    sink = MemorySink()
    run_stack(problem, [Member(o.label, o.name, o.hparams) for o in cfg.optimizers], steps=cfg.steps,
              epochs=cfg.epochs, schedule=make_schedule(*cfg.schedule), dtype=cfg.dtype, path_every=1, sink=sink)
    return {o.label: sink.trajectory(i) for i, o in enumerate(cfg.optimizers)}


def only_path(config, overrides=()) -> np.ndarray:
    (path,) = gdlab_paths(config, overrides).values()
    return path


# ------------------------------------------------------------------------------------------------ d2l, chapter 12


def d2l_train_2d(step, steps=20):
    """d2l's train_2d: from (−5, −2) with zero states, `steps` updates; every point including the start."""
    x1, x2, s1, s2 = -5, -2, 0, 0
    results = [(x1, x2)]
    for _ in range(steps):
        x1, x2, s1, s2 = step(x1, x2, s1, s2)
        results.append((x1, x2))
    return np.array(results, dtype=float)


def d2l_adagrad_2d(eta):
    def adagrad_2d(x1, x2, s1, s2):  # d2l 12.7
        eps = 1e-6
        g1, g2 = 0.2 * x1, 4 * x2
        s1 += g1 ** 2
        s2 += g2 ** 2
        x1 -= eta / math.sqrt(s1 + eps) * g1
        x2 -= eta / math.sqrt(s2 + eps) * g2
        return x1, x2, s1, s2

    return adagrad_2d


def d2l_rmsprop_2d(eta, gamma):
    def rmsprop_2d(x1, x2, s1, s2):  # d2l 12.8
        g1, g2, eps = 0.2 * x1, 4 * x2, 1e-6
        s1 = gamma * s1 + (1 - gamma) * g1 ** 2
        s2 = gamma * s2 + (1 - gamma) * g2 ** 2
        x1 -= eta / math.sqrt(s1 + eps) * g1
        x2 -= eta / math.sqrt(s2 + eps) * g2
        return x1, x2, s1, s2

    return rmsprop_2d


def d2l_gd_2d(eta):
    def gd_2d(x1, x2, s1, s2):  # d2l 12.3
        return (x1 - eta * 0.2 * x1, x2 - eta * 4 * x2, 0, 0)

    return gd_2d


def d2l_momentum_2d(eta, beta):
    def momentum_2d(x1, x2, v1, v2):  # d2l 12.6
        v1 = beta * v1 + 0.2 * x1
        v2 = beta * v2 + 4 * x2
        return x1 - eta * v1, x2 - eta * v2, v1, v2

    return momentum_2d


@pytest.mark.parametrize("config, book", [
    ("d2l-gd.yaml", d2l_gd_2d(0.4)),
    ("d2l-gd-lr0.6.yaml", d2l_gd_2d(0.6)),
    ("d2l-momentum.yaml", d2l_momentum_2d(0.4, 0.5)),
    ("d2l-momentum-lr0.6.yaml", d2l_momentum_2d(0.6, 0.5)),
    ("d2l-adagrad.yaml", d2l_adagrad_2d(0.4)),
    ("d2l-adagrad-lr2.yaml", d2l_adagrad_2d(2)),
    ("d2l-rmsprop.yaml", d2l_rmsprop_2d(0.4, 0.9)),
])
def test_d2l_configs_follow_d2ls_code_along_the_whole_path(config, book):
    ours, theirs = only_path(CONFIGS / config), d2l_train_2d(book)
    assert ours.shape == theirs.shape == (21, 2)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=TOL)


@pytest.mark.parametrize("config, printed", [
    ("d2l-adagrad.yaml", (-2.382563, -0.158591)),
    ("d2l-adagrad-lr2.yaml", (-0.002295, -0.0)),
    ("d2l-rmsprop.yaml", (-0.010599, 0.0)),
])
def test_d2l_configs_end_where_d2l_prints(config, printed):
    assert np.round(only_path(CONFIGS / config)[-1], 6).tolist() == list(printed)


def test_torchs_adagrad_differs_from_d2ls_by_where_eps_sits():
    """The gap the variant closes: PyTorch's rule ends 4e-7 away from d2l's code (d2l's eps inside the root)."""
    torch_end = only_path(CONFIGS / "d2l-adagrad.yaml", ["optimizer.variant=torch"])[-1]
    book_end = d2l_train_2d(d2l_adagrad_2d(0.4))[-1]
    assert 1e-7 < np.abs(torch_end - book_end).max() < 1e-6


# --------------------------------------------------------------------------------------------- DLFS, chapter 6


def dlfs_df(x, y):  # optimizer_compare_naive.py's gradient of x²/20 + y²
    return x / 10.0, 2.0 * y


class DlfsSGD:
    def __init__(self, lr):
        self.lr = lr

    def update(self, params, grads):
        for key in params:
            params[key] -= self.lr * grads[key]


class DlfsMomentum:
    def __init__(self, lr, momentum=0.9):
        self.lr, self.momentum, self.v = lr, momentum, {"x": 0.0, "y": 0.0}

    def update(self, params, grads):
        for key in params:
            self.v[key] = self.momentum * self.v[key] - self.lr * grads[key]
            params[key] += self.v[key]


class DlfsNesterov:
    def __init__(self, lr, momentum=0.9):
        self.lr, self.momentum, self.v = lr, momentum, {"x": 0.0, "y": 0.0}

    def update(self, params, grads):
        for key in params:
            self.v[key] *= self.momentum
            self.v[key] -= self.lr * grads[key]
            params[key] += self.momentum * self.momentum * self.v[key]
            params[key] -= (1 + self.momentum) * self.lr * grads[key]


class DlfsAdaGrad:
    def __init__(self, lr):
        self.lr, self.h = lr, {"x": 0.0, "y": 0.0}

    def update(self, params, grads):
        for key in params:
            self.h[key] += grads[key] * grads[key]
            params[key] -= self.lr * grads[key] / (math.sqrt(self.h[key]) + 1e-7)


class DlfsRMSprop:
    def __init__(self, lr, decay_rate=0.99):
        self.lr, self.decay_rate, self.h = lr, decay_rate, {"x": 0.0, "y": 0.0}

    def update(self, params, grads):
        for key in params:
            self.h[key] *= self.decay_rate
            self.h[key] += (1 - self.decay_rate) * grads[key] * grads[key]
            params[key] -= self.lr * grads[key] / (math.sqrt(self.h[key]) + 1e-7)


class DlfsAdam:
    def __init__(self, lr, beta1=0.9, beta2=0.999):
        self.lr, self.beta1, self.beta2, self.iter = lr, beta1, beta2, 0
        self.m, self.v = {"x": 0.0, "y": 0.0}, {"x": 0.0, "y": 0.0}

    def update(self, params, grads):
        self.iter += 1
        lr_t = self.lr * math.sqrt(1.0 - self.beta2 ** self.iter) / (1.0 - self.beta1 ** self.iter)
        for key in params:
            self.m[key] += (1 - self.beta1) * (grads[key] - self.m[key])
            self.v[key] += (1 - self.beta2) * (grads[key] ** 2 - self.v[key])
            params[key] -= lr_t * self.m[key] / (math.sqrt(self.v[key]) + 1e-7)


def dlfs_path(optimizer, steps=30, start=(-7.0, 2.0)) -> np.ndarray:
    """optimizer_compare_naive.py's loop, every point kept (the book plots the first 30, before each update)."""
    params = {"x": start[0], "y": start[1]}
    history = [start]
    for _ in range(steps):
        grads = dict(zip("xy", dlfs_df(params["x"], params["y"])))
        optimizer.update(params, grads)
        history.append((params["x"], params["y"]))
    return np.array(history, dtype=float)


def test_dlfs_compare_follows_dlfs_code_along_the_whole_path():
    ours = gdlab_paths(CONFIGS / "dlfs-compare.yaml")
    books = {"SGD": DlfsSGD(0.95), "Momentum": DlfsMomentum(0.1), "AdaGrad": DlfsAdaGrad(1.5), "Adam": DlfsAdam(0.3)}
    assert list(ours) == list(books)
    for label, book in books.items():
        theirs = dlfs_path(book)
        assert ours[label].shape == theirs.shape == (31, 2), label
        np.testing.assert_allclose(ours[label], theirs, rtol=0, atol=TOL, err_msg=label)


def test_torchs_adam_cannot_follow_dlfs_adam():
    """DLFS's Adam is PyTorch's with a changing eps: the torch rule with eps 1e-7 ends visibly elsewhere."""
    torch_adam = gdlab_paths(CONFIGS / "dlfs-compare.yaml", ["optimizers[3].variant=torch"])["Adam"]
    gap = np.abs(torch_adam - dlfs_path(DlfsAdam(0.3))).max()
    assert gap > 1e-7


def dlfs_bowl(optimizer: dict, steps=30, schedule=None) -> dict:
    cfg = {"problem": {"objective": "bowl2d", "params": {"a": 0.05, "b": 1.0}, "init": [-7.0, 2.0]},
           "optimizer": optimizer, "steps": steps}
    return {**cfg, "schedule": schedule} if schedule else cfg


@pytest.mark.parametrize("optimizer, book", [
    ({"name": "nesterov", "lr": 0.1, "variant": "dlfs"}, DlfsNesterov(0.1)),
    ({"name": "sgd", "lr": 0.05, "momentum": 0.8, "nesterov": True, "variant": "dlfs"}, DlfsNesterov(0.05, 0.8)),
    ({"name": "rmsprop", "lr": 0.1, "variant": "dlfs"}, DlfsRMSprop(0.1)),
    ({"name": "rmsprop", "lr": 0.1, "alpha": 0.9, "variant": "dlfs"}, DlfsRMSprop(0.1, 0.9)),
])
def test_dlfs_nesterov_and_rmsprop_follow_dlfs_code(write_config, optimizer, book):
    np.testing.assert_allclose(only_path(write_config(dlfs_bowl(optimizer))), dlfs_path(book), rtol=0, atol=TOL)


def test_dlfs_nesterov_is_not_pytorchs():
    ours = only_path_of({"name": "nesterov", "lr": 0.1, "variant": "dlfs"})
    torch_rule = only_path_of({"name": "nesterov", "lr": 0.1})
    assert np.abs(ours - torch_rule).max() > 1e-3


def only_path_of(optimizer, schedule=None):
    from gdlab.config import validate

    cfg = validate(dlfs_bowl(optimizer, schedule=schedule))
    problem = build_problem(cfg.problem, seed=0)
    sink = MemorySink()
    o = cfg.optimizers[0]
    run_stack(problem, [Member(o.label, o.name, o.hparams)], steps=cfg.steps, schedule=make_schedule(*cfg.schedule),
              path_every=1, sink=sink)
    return sink.trajectory(0)


def test_dlfs_momentum_keeps_each_steps_lr_in_its_velocity_under_a_schedule():
    """Under a step schedule DLFS's v ← μ·v − lr_t·g is not PyTorch's θ ← θ − lr_t·b (b ← μ·b + g)."""
    schedule = {"name": "step", "step_size": 10, "gamma": 0.5}
    ours = only_path_of({"name": "momentum", "lr": 0.1, "variant": "dlfs"}, schedule)
    torch_rule = only_path_of({"name": "momentum", "lr": 0.1}, schedule)
    x, v, book = np.array([-7.0, 2.0]), np.zeros(2), [np.array([-7.0, 2.0])]
    for k in range(30):
        lr_t = 0.1 * 0.5 ** (k // 10)
        v = 0.9 * v - lr_t * np.array([x[0] / 10.0, 2.0 * x[1]])
        x = x + v
        book.append(x)
    np.testing.assert_allclose(ours, np.array(book), rtol=0, atol=TOL)
    assert np.abs(ours - torch_rule).max() > 1e-3
    constant = {"name": "constant"}  # without a schedule the two rules are the same up to rounding
    np.testing.assert_allclose(only_path_of({"name": "momentum", "lr": 0.1, "variant": "dlfs"}, constant),
                               only_path_of({"name": "momentum", "lr": 0.1}, constant), rtol=0, atol=1e-13)


# ------------------------------------------------------------------------------------------- the variant option


def test_variant_eps_is_the_books_unless_the_config_gives_one(write_config):
    def eps_of(optimizer):
        return load_config(write_config(dlfs_bowl(optimizer))).optimizers[0].hparams["eps"]

    assert eps_of({"name": "adagrad"}) == 1e-10
    assert eps_of({"name": "adagrad", "variant": "d2l"}) == 1e-6
    assert eps_of({"name": "adagrad", "variant": "dlfs"}) == 1e-7
    assert eps_of({"name": "rmsprop", "variant": "d2l"}) == 1e-6
    assert eps_of({"name": "adam", "variant": "dlfs"}) == 1e-7
    assert eps_of({"name": "adagrad", "variant": "d2l", "eps": 1e-3}) == 1e-3


@pytest.mark.parametrize("optimizer, needles", [
    ({"name": "adagrad", "variant": "d2k"}, ["optimizer.variant", "'d2k'", "did you mean 'd2l'",
                                              "accepted: torch, d2l, dlfs"]),
    ({"name": "momentum", "variant": "d2l"}, ["optimizer.variant", "no d2l variant", "PyTorch's rule",
                                               "accepted: torch, dlfs"]),
    ({"name": "adadelta", "variant": "d2l"}, ["optimizer.variant", "no textbook variants", "eps: 1.0e-5"]),
    ({"name": "adam", "variant": 3}, ["optimizer.variant", "unknown variant 3", "accepted: torch, dlfs"]),
    ({"name": "adagrad", "variant": ["d2l"]}, ["optimizer.variant", "unknown variant ['d2l']"]),
    ({"name": "adadelta", "variant": {"d2l": 1}}, ["optimizer.variant", "no textbook variants"]),
    ({"name": "sgd", "variant": None}, ["optimizer.variant", "unknown variant null", "accepted: torch, dlfs"]),
    ({"name": "rmsprop", "variant": "d2l", "centered": True}, ["optimizer.centered", "must be false", "d2l"]),
    ({"name": "momentum", "variant": "dlfs", "dampening": 0.1}, ["optimizer.dampening", "must be 0", "DLFS"]),
    ({"name": "adam", "variant": "dlfs", "amsgrad": True}, ["optimizer.amsgrad", "must be false"]),
])
def test_bad_variants_name_the_key_value_and_choices(write_config, optimizer, needles):
    with pytest.raises(ConfigError) as err:
        load_config(write_config(dlfs_bowl(optimizer)))
    for needle in needles:
        assert needle in str(err.value), str(err.value)


def test_the_factory_refuses_what_the_config_refuses():
    with pytest.raises(ConfigError, match="dampening"):
        OPTIMIZERS.get("sgd")(lr=0.1, momentum=0.9, dampening=0.5, variant="dlfs")
    with pytest.raises(ConfigError, match="accepted: torch, dlfs"):
        OPTIMIZERS.get("adam")(variant="d2l")


def test_a_compare_of_variants_groups_each_variant_apart(write_config):
    """Members that differ only in `variant` must not share an update call (each runs its own rule)."""
    cfg = {"problem": {"objective": "bowl2d", "init": [-5.0, -2.0]}, "steps": 20,
           "optimizers": [{"name": "adagrad", "lr": 0.4, "variant": v, "label": v} for v in ("torch", "d2l", "dlfs")]}
    paths = gdlab_paths(write_config(cfg))
    for v in ("torch", "d2l", "dlfs"):
        assert np.array_equal(paths[v], only_path(CONFIGS / "d2l-adagrad.yaml", [f"optimizer.variant={v}"])), v
    np.testing.assert_allclose(paths["d2l"], d2l_train_2d(d2l_adagrad_2d(0.4)), rtol=0, atol=TOL)


def test_a_sweep_over_variant_runs_each_variant_with_its_own_eps(tmp_path):
    from gdlab.sweeps.runner import run_sweep

    out = run_sweep(CONFIGS / "d2l-adagrad.yaml", ["optimizer.variant=torch,d2l,dlfs"], out=tmp_path, plots=False)
    alone = {v: gdlab_paths(CONFIGS / "d2l-adagrad.yaml", [f"optimizer.variant={v}"]) for v in ("torch", "d2l", "dlfs")}
    bowl = lambda p: 0.1 * p[0] ** 2 + 2 * p[1] ** 2  # noqa: E731
    expected = [bowl(next(iter(alone[v].values()))[-1]) for v in ("torch", "d2l", "dlfs")]
    assert out.labels == ["adagrad[variant=torch]", "adagrad[variant=d2l]", "adagrad[variant=dlfs]"]
    np.testing.assert_allclose(out.final_loss, expected, rtol=1e-15)
    assert len(set(out.final_loss.tolist())) == 3


# ----------------------------------------------------------------------------- d2l 12.4: noisy SGD and its schedules


def d2l_noisy_sgd_path(lr_function, steps: int, noise: np.ndarray) -> np.ndarray:
    """d2l 12.4's sgd() on f = x1² + 2·x2² from (−5, −2) with eta 0.1, the gradient plus the given noise (steps, 2)."""
    eta, x1, x2, path = 0.1, -5.0, -2.0, [(-5.0, -2.0)]
    for k in range(steps):
        g1, g2 = 2 * x1, 4 * x2
        g1 += noise[k, 0]
        g2 += noise[k, 1]
        eta_t = eta * lr_function()
        x1, x2 = x1 - eta_t * g1, x2 - eta_t * g2
        path.append((x1, x2))
    return np.array(path)


def d2l_lr_function(kind: str):
    """d2l's constant_lr, exponential_lr and polynomial_lr with their global counter t = 1, incremented before use."""
    t = 1

    def lr():
        nonlocal t
        if kind == "constant":
            return 1
        t += 1
        return math.exp(-0.1 * t) if kind == "exponential" else (1 + 0.1 * t) ** (-0.5)

    return lr


@pytest.mark.parametrize("kind, steps", [("constant", 50), ("exponential", 1000), ("polynomial", 50)])
def test_d2l_noisy_sgd_configs_follow_d2ls_formula_given_the_same_noise(kind, steps):
    """Bit for bit given the same draws. d2l draws its noise with torch, so its own runs agree only in
    distribution (tests/fidelity/in_distribution.py); gdlab draws one N(0, 1) pair per step from the seed's
    Generator, shared by every member of a stack."""
    config = CONFIGS / f"d2l-sgd-{kind}.yaml"
    cfg = load_config(config)
    noise = np.random.default_rng(cfg.seed).standard_normal((steps, 2))  # one row per step, in draw order
    ours = only_path(config)
    assert cfg.steps == steps and ours.shape == (steps + 1, 2)
    np.testing.assert_allclose(ours, d2l_noisy_sgd_path(d2l_lr_function(kind), steps, noise), rtol=0, atol=TOL)


# ---------------------------------------------------------------------------------------------- the gaps figure


def test_variants_compare_draws_how_far_apart_its_overlapping_paths_are(tmp_path):
    from gdlab.figures import path_gaps
    from gdlab.figures.standard import draw_figures
    from gdlab.outputs.series import Series
    from gdlab.problems.build import landscape

    paths = gdlab_paths(CONFIGS / "variants-adagrad.yaml")
    series = [Series(label, np.arange(21), np.zeros(21), path=p) for label, p in paths.items()]
    land = landscape(load_config(CONFIGS / "variants-adagrad.yaml").problem)
    written = draw_figures(series, land, tmp_path, grid=True, kind="trajectory")  # as a compare draws them
    assert tmp_path / "path_distance.png" in written and (tmp_path / "path_distance.png").stat().st_size > 20_000
    gaps = path_gaps.distances(series)  # from PyTorch's path, the first member's
    np.testing.assert_allclose(gaps[0], np.linalg.norm(paths["d2l"] - paths["PyTorch"], axis=1), rtol=1e-15)
    assert 3e-7 < gaps[0, -1] < 5e-7 and 5e-8 < gaps[1, -1] < 2e-7  # d2l ends 4e-7 away, DLFS 1e-7
    assert path_gaps.paths_overlap(series, land)
    apart = [Series(label, np.arange(31), np.zeros(31), path=p) for label, p in
             gdlab_paths(CONFIGS / "dlfs-compare.yaml").items()]
    assert not path_gaps.paths_overlap(apart, land)  # distinct optimizers: the overlay shows them already


def test_full_batch_gd_on_airfoil_follows_d2ls_update_from_the_same_weights():
    """d2l 12.5's train_sgd(1, 1500, 10) is deterministic once the initial weights are drawn: from gdlab's draw,
    d2l's update w ← w − lr·Xᵀ(Xw + b − y)/n, b ← b − lr·mean(Xw + b − y), written out here in float64, gives
    gdlab's float32 path to float32 rounding."""
    from gdlab.problems.datasets.airfoil import read_table, standardize

    config = CONFIGS / "airfoil-sgd-batch1500.yaml"
    cfg = load_config(config)
    ours = only_path(config).astype(float)  # (11, 6): five weights, then the bias
    data = standardize(read_table())[:1500].astype(float)
    X, y = data[:, :-1], data[:, -1]
    w, b, theirs = ours[0, :5].copy(), ours[0, 5], [ours[0]]
    for _ in range(10):
        err = X @ w + b - y  # d2l's squared_loss ½(ŷ − y)², averaged over the batch of 1500
        w, b = w - 1.0 * X.T @ err / 1500, b - 1.0 * err.mean()
        theirs.append(np.append(w, b))
    assert cfg.epochs == 10 and ours.shape == (11, 6) and ours[0, 5] == 0.0
    np.testing.assert_allclose(ours, np.array(theirs), rtol=0, atol=1e-6)
