"""Toy objectives: gradients against central differences, minima, per-member parameters, plugins."""

from __future__ import annotations

import sys
import textwrap

import numpy as np
import pytest

from gdlab.errors import ConfigError
from gdlab.problems.objectives import OBJECTIVES, Objective, make_objective


def central_difference(f, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """∂f/∂x_j by central differences, for every member at once: x (R, D) -> (R, D)."""
    out = np.empty_like(x)
    for j in range(x.shape[1]):
        e = np.zeros_like(x)
        e[:, j] = h
        out[:, j] = (f(x + e) - f(x - e)) / (2 * h)
    return out


def points(obj: Objective, rng, n: int = 5) -> np.ndarray:
    dim = obj.dim or 3
    lows = np.array([w[0] for w in obj.window] + [-2.0] * (dim - len(obj.window)))[:dim]
    highs = np.array([w[1] for w in obj.window] + [2.0] * (dim - len(obj.window)))[:dim]
    return rng.uniform(lows, highs, size=(n, dim))


@pytest.mark.parametrize("name", OBJECTIVES.names())
def test_gradient_matches_central_differences(name):
    obj = make_objective(name, {})
    x = points(obj, np.random.default_rng(1))
    numeric = central_difference(obj.value, x)
    analytic = obj.grad(x)
    assert analytic.shape == x.shape
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-5 * (1 + np.abs(numeric).max()))


WITH_MINIMUM = [n for n in OBJECTIVES.names() if make_objective(n, {}).minimiser is not None]


def test_only_the_saddle_lacks_a_minimum():
    assert set(OBJECTIVES.names()) - set(WITH_MINIMUM) == {"saddle"}


@pytest.mark.parametrize("name", WITH_MINIMUM)
def test_declared_minimum_is_stationary_with_the_declared_value(name):
    obj = make_objective(name, {})
    x = np.array([obj.minimiser], dtype=float)
    np.testing.assert_allclose(obj.grad(x), 0.0, atol=1e-12)
    np.testing.assert_allclose(obj.value(x), [obj.min_value], atol=1e-12)
    # and it is a minimum: nearby points are higher
    nearby = x + np.random.default_rng(2).normal(scale=1e-3, size=(8, x.shape[1]))
    assert np.all(obj.value(nearby) > obj.min_value)


@pytest.mark.parametrize("name", OBJECTIVES.names())
def test_default_start_and_window_fit_the_dimension(name):
    obj = make_objective(name, {})
    assert obj.dim is None or len(obj.default_init) == obj.dim
    assert all(lo < hi for lo, hi in obj.window)
    v = obj.value(np.array([obj.default_init], dtype=float))
    assert v.shape == (1,) and np.isfinite(v).all()


def test_bowl_values_by_hand():
    bowl = make_objective("bowl2d", {})
    x = np.array([[-5.0, -2.0], [1.0, 1.0]])
    np.testing.assert_allclose(bowl.value(x), [0.1 * 25 + 2 * 4, 2.1])
    np.testing.assert_allclose(bowl.grad(x), [[-1.0, -8.0], [0.2, 4.0]])
    assert bowl.max_curvature == 4.0  # d2l's stability limit for gradient descent is 2/4 = 0.5


def test_parameters_per_member_broadcast_like_separate_objectives():
    a = np.array([0.1, 0.05, 1.0])
    stacked = make_objective("bowl2d", {"a": a, "b": 2.0})
    x = np.array([[1.0, 2.0], [3.0, -1.0], [-2.0, 0.5]])
    for i in range(3):
        alone = make_objective("bowl2d", {"a": float(a[i]), "b": 2.0})
        assert stacked.value(x)[i] == alone.value(x[i:i + 1])[0]
        np.testing.assert_array_equal(stacked.grad(x)[i], alone.grad(x[i:i + 1])[0])


def test_parabola_any_dimension_and_its_textbook_step():
    par = make_objective("parabola", {"c": 1.0, "d": 0.001})
    x = np.array([[0.2]])
    np.testing.assert_allclose(par.value(x), [0.641])
    assert x[0, 0] - 0.1 * par.grad(x)[0, 0] == pytest.approx(0.36)
    assert par.value(np.zeros((2, 4))).shape == (2,)


def test_quadratic_minimiser_solves_ax_eq_b():
    quad = make_objective("quadratic", {"A": [[3.0, 1.0], [1.0, 2.0]], "b": [1.0, -1.0]})
    np.testing.assert_allclose(np.array([[3.0, 1.0], [1.0, 2.0]]) @ np.array(quad.minimiser), [1.0, -1.0])
    assert quad.max_curvature == pytest.approx(np.linalg.eigvalsh([[3.0, 1.0], [1.0, 2.0]]).max())


def test_quadratic_rejects_non_square_or_asymmetric():
    with pytest.raises(ConfigError, match="square"):
        make_objective("quadratic", {"A": [[1.0, 2.0]], "b": [0.0]})
    with pytest.raises(ConfigError, match="symmetric"):
        make_objective("quadratic", {"A": [[1.0, 2.0], [0.0, 1.0]], "b": [0.0, 0.0]})


def test_plugin_objective_from_user_module(tmp_path, monkeypatch):
    (tmp_path / "my_objectives.py").write_text(textwrap.dedent("""
        import numpy as np
        from gdlab.problems.objectives import Objective

        def shifted(c=3.0):
            return Objective(formula="(x - c)^2", value=lambda x: ((x - c) ** 2).sum(axis=1),
                             grad=lambda x: 2 * (x - c), default_init=(0.0,), window=((-1.0, 5.0),))
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    obj = make_objective("my_objectives:shifted", {"c": 2.0})
    np.testing.assert_allclose(obj.grad(np.array([[0.0]])), [[-4.0]])
    sys.modules.pop("my_objectives", None)


@pytest.mark.parametrize("spec, message", [
    ("no_such_module_xyz:f", "cannot import"),
    ("math:no_such_function", "defines no function"),
])
def test_bad_plugins_are_config_errors(spec, message):
    with pytest.raises(ConfigError, match=message):
        make_objective(spec, {})


def test_unknown_objective_suggests_the_nearest_name():
    with pytest.raises(ConfigError, match="did you mean 'rosenbrock'"):
        make_objective("rosenbrok", {})
