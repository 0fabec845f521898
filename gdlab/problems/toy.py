"""A toy objective from a start point, as a problem the lockstep engine can run (see engine.Problem).

Random draws (gradient noise) come from one Generator per stack and are shared by all members: every member of a
compare sees the same noise at the same step.
"""

from __future__ import annotations

import numpy as np

from .landscape import Landscape
from .objectives import Objective, make_objective
from .spec import ProblemSpec


class ToyProblem:
    """A toy objective from a start point, with optional Gaussian noise on the gradient (d2l's "SGD")."""

    kind = "objective"
    metric_columns: tuple[str, ...] = ()

    def __init__(self, objective: Objective, init, noise: float, rng: np.random.Generator):
        self.objective = objective
        self.init = np.asarray(init, dtype=float)  # (D,) shared, or (R, D) one start per member (a sweep)
        self.dim = self.init.shape[-1]
        self.noise = noise
        self.rng = rng

    def initial_params(self, n_runs: int) -> np.ndarray:
        if self.init.ndim == 2:
            return self.init.copy()  # (R, D)
        return np.tile(self.init, (n_runs, 1))  # (R, D)

    def total_steps(self, steps: int | None, epochs: float | None) -> int:
        return int(steps)

    def loss_and_grad(self, params: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        value, grad = self.objective.value(params), self.objective.grad(params)
        if self.noise:
            # one draw per step, shared by all members (a fair comparison, and a member's path does not depend
            # on how many others run beside it)
            grad = grad + (self.noise * self.rng.standard_normal(self.dim)).astype(params.dtype)
        return value, grad

    def epoch(self, k: int) -> float:
        return float(k)  # d2l calls the steps on its toy functions epochs

    def evaluate(self, params: np.ndarray) -> dict[str, np.ndarray]:
        return {}

    def final_loss(self, params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.objective.value(params), self.objective.grad(params)


def toy_problem(spec: ProblemSpec, seed: int, params: dict | None = None) -> ToyProblem:
    """The toy problem of `spec`; `params` replaces the objective's parameters (arrays of shape (R,) in a sweep)."""
    objective = make_objective(spec.name, params if params is not None else spec.params)
    return ToyProblem(objective, spec.init, spec.noise, np.random.default_rng(seed))


def toy_landscape(spec: ProblemSpec) -> Landscape | None:
    """The loss surface of a 1- or 2-parameter toy problem, for plots."""
    if len(spec.init) > 2:
        return None
    obj = make_objective(spec.name, spec.params)
    labels = ("x",) if len(spec.init) == 1 else ("x1", "x2")
    window = obj.window[: len(spec.init)]
    if len(window) < len(spec.init):
        window = window + (window[-1],) * (len(spec.init) - len(window))
    minimiser = None if obj.minimiser is None else np.asarray(obj.minimiser[: len(spec.init)], dtype=float)
    if obj.minimiser is not None and len(obj.minimiser) != len(spec.init):
        minimiser = np.full(len(spec.init), obj.minimiser[0], dtype=float)  # any-dimension objectives
    return Landscape(f=obj.value, window=window, minimiser=minimiser, min_value=obj.min_value, labels=labels,
                     title=f"f = {obj.formula}")
