"""Stability theory on quadratics: every edge against the spectral radius of the optimizer's own iteration matrix
(built from gdlab's update rule, not from the module's formulas), divergence steps against real runs."""

from __future__ import annotations

import numpy as np
import pytest

from gdlab.config import load_config
from gdlab.engine import Member, run_stack
from gdlab.optim import OPTIMIZERS
from gdlab.problems import stability as st
from gdlab.problems.objectives import make_objective
from gdlab.problems.spec import ProblemSpec
from gdlab.problems.toy import ToyProblem
from gdlab.runner import run_config

from .conftest import bowl_config


def optimizer_matrix(name: str, lam: float, **hp) -> np.ndarray:
    """The 2 × 2 map (x, b) -> (x', b') of gdlab's own update on f = ½·λ·x², read off by applying one update
    (t = 2, after PyTorch's first step has set the buffer) to the basis states: the update is linear there."""
    opt = OPTIMIZERS.get(name)(**hp)
    cols = []
    for x, b in ((1.0, 0.0), (0.0, 1.0)):
        params = np.array([[x]])
        state = opt.init(params)
        if state.momentum_buffer.size:
            state = state._replace(momentum_buffer=np.array([[b]]))
        new, new_state = opt.update(lam * params, state, params, 2)
        buf = new_state.momentum_buffer
        cols.append([new[0, 0], buf[0, 0] if buf.size else lam * new[0, 0]])
    return np.array(cols).T


def radius(name: str, lr: float, lams, **hp) -> float:
    return max(np.abs(np.linalg.eigvals(optimizer_matrix(name, lam, lr=lr, **hp))).max() for lam in lams)


def numerical_edge(name: str, lams, guess: float, **hp) -> float:
    """The lr at which the spectral radius of the optimizer's matrices crosses 1, by bisection."""
    lo, hi = 0.9 * guess, 1.1 * guess
    assert radius(name, lo, lams, **hp) < 1 < radius(name, hi, lams, **hp)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if radius(name, mid, lams, **hp) < 1 else (lo, mid)
    return 0.5 * (lo + hi)


CASES = [("sgd", {}, "gd"), ("momentum", {"momentum": 0.5}, "heavy_ball"),
         ("momentum", {"momentum": 0.9}, "heavy_ball"), ("momentum", {"momentum": 0.3, "dampening": 0.4}, "heavy_ball"),
         ("nesterov", {"momentum": 0.5}, "nesterov"), ("nesterov", {"momentum": 0.95}, "nesterov"),
         ("sgd", {"momentum": 0.7, "weight_decay": 0.3}, "heavy_ball")]


@pytest.mark.parametrize("name, hp, kind", CASES)
@pytest.mark.parametrize("lams", [(0.2, 4.0), (1.0, 10.0), (2.0,)])
def test_edge_matches_the_spectral_radius_of_the_optimizers_own_matrix(name, hp, kind, lams):
    m = st.method_of(name, hp)
    assert m.kind == kind
    edge = st.lr_edge(m, max(lams))
    assert abs(edge - numerical_edge(name, lams, edge, **hp)) <= 1e-9
    for lr in (0.3 * edge, 0.97 * edge, 1.03 * edge, 2 * edge):  # the closed-form radius agrees everywhere
        assert st.spectral_radius(m, lr, np.array(lams)) == pytest.approx(radius(name, lr, lams, **hp), abs=1e-9)


def test_textbook_edges():
    bowl = make_objective("bowl2d", {"a": 0.1, "b": 2.0})
    lam, _ = st.quadratic_modes("bowl2d", bowl, 2)
    assert np.allclose(lam, [0.2, 4.0])
    assert st.lr_edge(st.Method("gd"), 4.0) == 0.5  # d2l: lr 0.4 converges, 0.6 diverges
    assert st.lr_edge(st.Method("heavy_ball", 0.5), 4.0) == 0.75  # d2l's momentum lr 0.6 converges
    assert st.lr_edge(st.Method("nesterov", 0.5), 4.0) == pytest.approx(2 * 1.5 / (2 * 4))
    quad = make_objective("quadratic", {"A": [[3.0, 1.0], [1.0, 2.0]], "b": [1.0, 0.0]})
    assert np.allclose(st.quadratic_modes("quadratic", quad, 2)[0], np.linalg.eigvalsh([[3, 1], [1, 2]]))
    assert st.quadratic_modes("parabola", make_objective("parabola", {}), 3)[0].tolist() == [2.0, 2.0, 2.0]
    assert st.quadratic_modes("rosenbrock", make_objective("rosenbrock", {}), 2) is None
    assert st.method_of("adam", {"lr": 0.1}) is None
    assert st.method_of("nesterov", {"lr": 0.1, "momentum": 0.9, "variant": "dlfs"}) is None  # μ²·v_new, not b_old


def bowl_run(members: list[Member], steps: int):
    problem = ToyProblem(make_objective("bowl2d", {"a": 0.1, "b": 2.0}), (-5.0, -2.0), 0.0,
                         np.random.default_rng(0))
    return run_stack(problem, members, steps=steps)


def test_predicted_divergence_steps_match_the_runs():
    cases = [("sgd", {"lr": 0.6}), ("sgd", {"lr": 0.9}), ("momentum", {"lr": 0.9, "momentum": 0.5}),
             ("nesterov", {"lr": 0.5, "momentum": 0.5}), ("momentum", {"lr": 0.55, "momentum": 0.0})]
    result = bowl_run([Member(f"m{i}", n, OPTIMIZERS.defaults(n) | hp) for i, (n, hp) in enumerate(cases)], 3000)
    objective = make_objective("bowl2d", {"a": 0.1, "b": 2.0})
    for i, (name, hp) in enumerate(cases):
        v = st.verdict("bowl2d", objective, (-5.0, -2.0), name, OPTIMIZERS.defaults(name) | hp, steps=3000)
        assert v.radius > 1 and result.status[i] == "diverged"
        assert v.diverges_at == result.diverged_at[i], (name, hp)  # the d2l bowl at lr 0.6: step 1052
    assert st.verdict("bowl2d", objective, (-5.0, -2.0), "sgd", {"lr": 0.6}, steps=3000).diverges_at == 1052


def test_stable_or_short_runs_predict_no_divergence():
    objective = make_objective("bowl2d", {"a": 0.1, "b": 2.0})
    v = st.verdict("bowl2d", objective, (-5.0, -2.0), "momentum", {"lr": 0.8, "momentum": 0.9}, steps=20)
    assert v.stable and v.radius == pytest.approx(np.sqrt(0.9)) and v.diverges_at is None  # |z|² = β
    v = st.verdict("bowl2d", objective, (-5.0, -2.0), "sgd", {"lr": 0.6}, steps=20)
    assert not v.stable and v.diverges_at is None  # overflows only at step 1052


def test_warning_comes_before_the_run_with_the_edge(tmp_path, write_config):
    seen = []
    data = bowl_config(optimizers=[{"name": "sgd", "lr": 0.6, "label": "gd"}, {"name": "sgd", "lr": 0.4, "label": "calm"}])
    del data["optimizer"]
    path = write_config(data)
    cfg = load_config(path)
    outcome = run_config(cfg, out=tmp_path / "runs", mode="compare", plots=False,
                         on_warning=lambda w: seen.append((w, (tmp_path / "runs").exists())))
    assert [w for w, _ in seen] == outcome.warnings and len(seen) == 1
    text, existed = seen[0]
    assert not existed  # nothing was written yet: the warning precedes the run
    assert text.startswith("gd: lr 0.6 is past the stability edge lr < 2/L = 0.5") and "spectral radius 1.4" in text
    spec = ProblemSpec("objective", "rosenbrock", {}, (-1.5, 2.0))
    assert st.stability_warnings(spec, cfg.optimizers, steps=20) == []


def test_momentum_edge_in_beta_and_the_edge_curve():
    info = {"eigenvalues": [0.2, 4.0], "nesterov": False, "momentum": 0.5, "dampening": 0.0, "weight_decay": 0.0,
            "lr": 0.8}
    beta, label = st.momentum_edge_line(info)
    assert beta == pytest.approx(0.8 * 4 / 2 - 1) and "β >" in label
    assert st.lr_edge(st.Method("heavy_ball", beta), 4.0) == pytest.approx(0.8)
    nest = dict(info, nesterov=True, lr=0.4)  # lr·L = 1.6: β < 0.4/1.2
    beta, _ = st.momentum_edge_line(nest)
    assert st.lr_edge(st.Method("nesterov", beta), 4.0) == pytest.approx(0.4)
    lrs, betas, _ = st.edge_curve(info, np.array([0.0, 0.5, 0.9]))
    assert np.allclose(lrs, [0.5, 0.75, 0.95])
