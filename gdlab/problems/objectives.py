"""Toy objectives: analytic value and gradient, vectorized over a leading runs axis.

Every objective maps points x of shape (R, D) (axis 0 = the runs axis) to values (R,) and gradients (R, D).
Its parameters are floats, or arrays of shape (R,) when a sweep gives each member its own value; the formulas
below broadcast either way. Factories are registered by name; each factory's signature holds the parameter
names and defaults (`gdlab list objectives` reads them from there).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..errors import ConfigError, PluginError
from ..plugins import PluginRef, is_plugin, load_factory, parse_ref, what_happened
from ..registry import Registry

OBJECTIVES = Registry("objective")

Window = tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class Objective:
    """A differentiable toy function and what a plot or a stability check needs to know about it.

    What an objective plugin's factory returns (`gdlab.Objective`): value and grad work on many points at once,
    x of shape (R, D) (axis 0: the members of a compare or sweep) giving f (R,) and ∇f (R, D); the factory's
    parameters may arrive as (R,) arrays when a sweep varies them. default_init is the start point when the config
    gives none; window the plotting range of each coordinate; minimiser and min_value (the minimum) are drawn
    and reported when known.
    """

    formula: str  # shown as the figure's title: "(x + 2y − 7)² + (2x + y − 5)²"
    value: Callable[[np.ndarray], np.ndarray]  # x (R, D) -> f (R,)
    grad: Callable[[np.ndarray], np.ndarray]  # x (R, D) -> ∇f (R, D)
    default_init: tuple[float, ...]  # the start point when the config gives no problem.init
    window: Window  # plotting window, one (low, high) per coordinate (1-D and 2-D problems)
    dim: int | None = None  # None: any dimension (taken from the start point)
    minimiser: tuple[float, ...] | None = None
    min_value: float | None = None  # the minimum, f(minimiser)
    max_curvature: float | None = None  # largest Hessian eigenvalue where constant (quadratics)
    more_minimisers: tuple[tuple[float, ...], ...] = ()  # further global minimisers (Himmelblau has four)


def _cols(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return x[:, 0], x[:, 1]


def _stack(*cols: np.ndarray) -> np.ndarray:
    return np.stack(np.broadcast_arrays(*cols), axis=1)


def _scalar(v) -> float | None:
    """The value as a float when it is one number, None when it varies per member (a sweep)."""
    a = np.asarray(v)
    return float(a) if a.ndim == 0 else None


@OBJECTIVES.register("bowl2d", "f = a·x1² + b·x2² (d2l: a = 0.1, b = 2; DLFS: a = 0.05, b = 1)")
def bowl2d(a: float = 0.1, b: float = 2.0) -> Objective:
    """An axis-aligned elliptic bowl; ill-conditioned when a and b differ (the ratio b/a is the condition number)."""

    def value(x):
        x1, x2 = _cols(x)
        return a * x1 * x1 + b * x2 * x2

    def grad(x):
        x1, x2 = _cols(x)
        return _stack(2 * a * x1, 2 * b * x2)

    sa, sb = _scalar(a), _scalar(b)
    curvature = 2 * max(sa, sb) if sa is not None and sb is not None else None
    return Objective(
        formula=f"{_num(a)}·x1² + {_num(b)}·x2²",
        value=value,
        grad=grad,
        dim=2,
        default_init=(-5.0, -2.0),
        window=((-5.5, 1.5), (-3.0, 3.0)),
        minimiser=(0.0, 0.0),
        min_value=0.0,
        max_curvature=curvature,
    )


@OBJECTIVES.register("quadratic", "f = ½·xᵀAx − bᵀx (A symmetric positive definite for a minimum)")
def quadratic(A: list = ((1.0, 0.0), (0.0, 10.0)), b: list = (0.0, 0.0)) -> Objective:
    """A general quadratic; the gradient is Ax − b and the minimiser solves Ax = b."""
    A_ = np.asarray(A, dtype=float)
    b_ = np.asarray(b, dtype=float)
    if A_.ndim != 2 or A_.shape[0] != A_.shape[1] or b_.shape != (A_.shape[0],):
        raise ConfigError(
            f"problem.params: A must be a square matrix and b a vector of the same size; got A of shape "
            f"{A_.shape} and b of shape {b_.shape}"
        )
    if not np.allclose(A_, A_.T):
        raise ConfigError("problem.params.A: must be symmetric")
    S = 0.5 * (A_ + A_.T)
    eig = np.linalg.eigvalsh(S)
    minimiser = tuple(np.linalg.solve(S, b_)) if eig.min() > 0 else None
    d = len(b_)

    def value(x):
        return 0.5 * np.einsum("ri,ij,rj->r", x, S, x) - x @ b_

    def grad(x):
        return x @ S - b_  # S is symmetric: (S x)ᵀ = xᵀ S

    centre = np.zeros(d) if minimiser is None else np.asarray(minimiser)
    return Objective(
        formula="½·xᵀAx − bᵀx",
        value=value,
        grad=grad,
        dim=d,
        default_init=tuple(float(c) + 2.0 for c in centre),
        window=tuple((float(c) - 3.0, float(c) + 3.0) for c in centre),
        minimiser=minimiser,
        min_value=None if minimiser is None else float(-0.5 * b_ @ np.asarray(minimiser)),
        max_curvature=float(eig.max()),
    )


@OBJECTIVES.register("parabola", "f = Σ (x_i − c)² + d (DLFS: (x − 1)² + 0.001 from 0.2)")
def parabola(c: float = 1.0, d: float = 0.0) -> Objective:
    """The simplest convex problem, in any dimension; gradient descent converges for lr < 1."""

    def value(x):
        diff = x - np.reshape(c, (-1, 1))
        return np.sum(diff * diff, axis=1) + d

    def grad(x):
        return 2 * (x - np.reshape(c, (-1, 1)))

    sc = _scalar(c)
    centre = 1.0 if sc is None else sc
    return Objective(
        formula=f"(x − {_num(c)})² + {_num(d)}",
        value=value,
        grad=grad,
        default_init=(0.2,),
        window=((centre - 1.5, centre + 1.5),),
        minimiser=None if sc is None else (sc,),
        min_value=_scalar(d),
        max_curvature=2.0,
    )


@OBJECTIVES.register("rosenbrock", "f = (a − x)² + b·(y − x²)² (a = 1, b = 100; minimum at (a, a²))")
def rosenbrock(a: float = 1.0, b: float = 100.0) -> Objective:
    """The banana valley: easy to find, hard to follow to its end."""

    def value(x):
        x1, x2 = _cols(x)
        r = x2 - x1 * x1
        return (a - x1) ** 2 + b * r * r

    def grad(x):
        x1, x2 = _cols(x)
        r = x2 - x1 * x1
        return _stack(-2 * (a - x1) - 4 * b * x1 * r, 2 * b * r)

    sa = _scalar(a)
    return Objective(
        formula=f"({_num(a)} − x)² + {_num(b)}·(y − x²)²",
        value=value,
        grad=grad,
        dim=2,
        default_init=(-1.5, 2.0),
        window=((-2.0, 2.0), (-1.0, 3.0)),
        minimiser=None if sa is None else (sa, sa * sa),
        min_value=0.0,
    )


@OBJECTIVES.register("rastrigin", "f = A·n + Σ (x_i² − A·cos 2πx_i) (A = 10; many local minima, global at 0)")
def rastrigin(A: float = 10.0) -> Objective:
    """A bowl covered in ripples: a lesson in local minima."""
    two_pi = 2 * math.pi

    def value(x):
        return A * x.shape[1] + np.sum(x * x - np.reshape(A, (-1, 1)) * np.cos(two_pi * x), axis=1)

    def grad(x):
        return 2 * x + two_pi * np.reshape(A, (-1, 1)) * np.sin(two_pi * x)

    return Objective(
        formula=f"{_num(A)}·n + Σ (x_i² − {_num(A)}·cos 2πx_i)",
        value=value,
        grad=grad,
        default_init=(2.2, -1.7),
        window=((-5.12, 5.12), (-5.12, 5.12)),
        minimiser=(0.0, 0.0),
        min_value=0.0,
    )


@OBJECTIVES.register("beale", "f = (1.5 − x + xy)² + (2.25 − x + xy²)² + (2.625 − x + xy³)²; minimum at (3, 0.5)")
def beale() -> Objective:
    """Flat plateaus and steep ridges; the minimum sits in a narrow curved valley."""
    consts = (1.5, 2.25, 2.625)

    def terms(x):
        x1, x2 = _cols(x)
        return [(c - x1 + x1 * x2**k, k) for k, c in enumerate(consts, start=1)]

    def value(x):
        return sum(t * t for t, _ in terms(x))

    def grad(x):
        x1, x2 = _cols(x)
        gx = sum(2 * t * (x2**k - 1) for t, k in terms(x))
        gy = sum(2 * t * k * x1 * x2 ** (k - 1) for t, k in terms(x))
        return _stack(gx, gy)

    return Objective(
        formula="(1.5 − x + xy)² + (2.25 − x + xy²)² + (2.625 − x + xy³)²",
        value=value,
        grad=grad,
        dim=2,
        default_init=(1.0, 1.5),
        window=((-4.5, 4.5), (-4.5, 4.5)),
        minimiser=(3.0, 0.5),
        min_value=0.0,
    )


# Himmelblau's three other minima (f = 0), by Newton's method from (-2.8, 3.1), (-3.8, -3.3), (3.6, -1.8)
HIMMELBLAU_OTHER_MINIMA = ((-2.805118086952745, 3.131312518250573), (-3.779310253377747, -3.2831859912861696),
                           (3.5844283403304917, -1.8481265269644036))


@OBJECTIVES.register("himmelblau", "f = (x² + y − 11)² + (x + y² − 7)²; four minima, one at (3, 2)")
def himmelblau() -> Objective:
    """Four equal minima: which one an optimizer finds depends on where it starts."""

    def value(x):
        x1, x2 = _cols(x)
        return (x1 * x1 + x2 - 11) ** 2 + (x1 + x2 * x2 - 7) ** 2

    def grad(x):
        x1, x2 = _cols(x)
        u = x1 * x1 + x2 - 11
        v = x1 + x2 * x2 - 7
        return _stack(4 * x1 * u + 2 * v, 2 * u + 4 * x2 * v)

    return Objective(
        formula="(x² + y − 11)² + (x + y² − 7)²",
        value=value,
        grad=grad,
        dim=2,
        default_init=(0.0, 0.0),
        window=((-5.0, 5.0), (-5.0, 5.0)),
        minimiser=(3.0, 2.0),
        min_value=0.0,
        more_minimisers=HIMMELBLAU_OTHER_MINIMA,
    )


@OBJECTIVES.register("saddle", "f = x² − y²; a saddle point at (0, 0), unbounded below")
def saddle() -> Objective:
    """Gradient descent slows near the saddle and escapes along y only if it starts off the x axis."""

    def value(x):
        x1, x2 = _cols(x)
        return x1 * x1 - x2 * x2

    def grad(x):
        x1, x2 = _cols(x)
        return _stack(2 * x1, -2 * x2)

    return Objective(
        formula="x² − y²",
        value=value,
        grad=grad,
        dim=2,
        default_init=(-1.5, 0.05),
        window=((-2.0, 2.0), (-2.0, 2.0)),
    )


def make_objective(name: str | PluginRef, params: dict, key: str = "problem.objective") -> Objective:
    """The objective `name` built with `params`: a registered name, or a plugin (a PluginRef, or a name such as
    "/abs/path/booth.py:booth" or "package.module:factory"), imported here."""
    ref = name if isinstance(name, PluginRef) else (parse_ref(name, None, key) if is_plugin(name) else None)
    if ref is None:
        factory = OBJECTIVES.get(name, key)
        try:
            obj = factory(**params)
        except ConfigError:
            raise
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{key}: cannot build {name!r} with params {params}: {exc}") from None
        return obj
    factory = load_factory(ref, key)
    try:
        obj = factory(**params)
    except BaseException as exc:  # noqa: BLE001 - user code; an interrupt goes on
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise PluginError(f"objective plugin {ref.attr}({params}) raised {what_happened(exc)}") from None
    if not isinstance(obj, Objective):
        raise PluginError(f"objective plugin {ref.attr} must return a gdlab.Objective, got {type(obj).__name__}")
    return _checked(obj, ref.attr)


def load_plugin(spec: str, key: str, base: str | None = None) -> Callable[..., Objective]:
    """Import the factory of an objective plugin: "file.py:factory" (relative to `base`) or "package.module:factory"."""
    return load_factory(parse_ref(spec, base, key), key)


def _checked(obj: Objective, name: str) -> Objective:
    """A plugin's objective whose value and gradient are held to the contract: value (R,), gradient (R, D) in the
    points' dtype; anything else (or an exception) is a PluginError naming the plugin."""

    def call(which: str, fn, x: np.ndarray, shape: tuple) -> np.ndarray:
        try:
            out = fn(x)
        except BaseException as exc:  # noqa: BLE001 - user code; an interrupt goes on
            if isinstance(exc, KeyboardInterrupt):
                raise
            raise PluginError(f"objective plugin {name}: {which} raised {what_happened(exc)}") from None
        out = np.asarray(out) if isinstance(out, (np.ndarray, list, float, int)) else out
        if not isinstance(out, np.ndarray) or out.shape != shape or out.dtype.kind not in "fiu":
            got = f"shape {out.shape}, dtype {out.dtype}" if isinstance(out, np.ndarray) else type(out).__name__
            raise PluginError(f"objective plugin {name}: {which} of points of shape {x.shape} returned {got}; "
                              f"expected numbers of shape {shape}")
        return out if out.dtype == x.dtype else out.astype(x.dtype)

    return dataclasses.replace(obj, value=lambda x: call("value", obj.value, x, x.shape[:1]),
                               grad=lambda x: call("grad", obj.grad, x, x.shape))


def probe_objective(obj: Objective, init: tuple, name: str) -> None:
    """value and grad at the start point for two members (PluginError, exit 2, before any directory exists)."""
    x = np.tile(np.asarray(init, dtype=float), (2, 1))  # (2, D)
    with np.errstate(all="ignore"):
        value, grad = obj.value(x), obj.grad(x)
    if not (np.isfinite(value).all() and np.isfinite(grad).all()):
        raise PluginError(f"objective plugin {name}: at the start point {list(init)} value {value[0]!r} and "
                          f"gradient {grad[0].tolist()} are not all finite")


def _num(v) -> str:
    s = _scalar(v)
    return "·" if s is None else f"{s:g}"
