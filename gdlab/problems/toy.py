"""A toy objective from a start point, as a problem the lockstep engine can run (see engine.Problem).

Random draws (gradient noise) come from one Generator per distinct seed: members with the same seed see the same
noise at the same step (a fair comparison), and a member's path depends only on its own seed, never on how many
others run beside it. A stack of M settings × S seeds costs S draws per step, not M·S.
"""

from __future__ import annotations

import numpy as np

from .landscape import Landscape
from .objectives import Objective, make_objective
from .seeds import SeedRows
from .spec import ProblemSpec


class ToyProblem:
    """A toy objective from a start point, with optional Gaussian noise on the gradient (d2l's "SGD").

    seeds: one seed (an int, or a Generator: one stream shared by every member) or the seed of every member, (R,).
    When the objective's minimum is known, each logged step also reports `suboptimality` (f − f*) and
    `dist_to_min` (distance to the nearest known minimiser).
    """

    kind = "objective"
    metric_columns: tuple[str, ...] = ()

    def __init__(self, objective: Objective, init, noise: float, seeds):
        self.objective = objective
        self.init = np.asarray(init, dtype=float)  # (D,) shared, or (R, D) one start per member (a sweep)
        self.dim = self.init.shape[-1]
        self.noise = noise
        self.seeds = SeedRows.of(seeds)
        self.optimum = objective.min_value  # f*, None when unknown (or different for each member)
        self.minimisers = known_minimisers(objective, self.dim)  # (K, D) or None
        self.step_columns = (("suboptimality",) if self.optimum is not None else ()) + \
            (("dist_to_min",) if self.minimisers is not None else ())

    def initial_params(self, n_runs: int) -> np.ndarray:
        self.seeds.check(n_runs)
        if self.init.ndim == 2:
            return self.init.copy()  # (R, D)
        return np.tile(self.init, (n_runs, 1))  # (R, D)

    def total_steps(self, steps: int | None, epochs: float | None) -> int:
        return int(steps)

    def loss_and_grad(self, params: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        value, grad = self.objective.value(params), self.objective.grad(params)
        if self.noise:
            # one draw per distinct seed and step, (S, D), shared by the members of that seed
            draws = np.stack([self.noise * rng.standard_normal(self.dim) for rng in self.seeds.generators])
            grad = grad + self.seeds.spread(draws.astype(params.dtype))
        return value, grad

    def step_metrics(self, params: np.ndarray, loss: np.ndarray) -> dict[str, np.ndarray]:
        """suboptimality f − f* (R,) and dist_to_min (R,) at the current parameters, where known."""
        out = {}
        if self.optimum is not None:
            out["suboptimality"] = loss - self.optimum
        if self.minimisers is not None:
            out["dist_to_min"] = distance_to_nearest(params, self.minimisers)
        return out

    def epoch(self, k: int) -> float:
        return float(k)  # d2l calls the steps on its toy functions epochs

    def evaluate(self, params: np.ndarray) -> dict[str, np.ndarray]:
        return {}

    def final_loss(self, params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.objective.value(params), self.objective.grad(params)


def known_minimisers(objective: Objective, dim: int) -> np.ndarray | None:
    """The objective's known minimisers as a (K, D) array (None when unknown).

    Any-dimension objectives (parabola, rastrigin) list their minimiser for one or two coordinates: it repeats its
    first coordinate in every dimension.
    """
    if objective.minimiser is None:
        return None
    points = []
    for m in (objective.minimiser, *objective.more_minimisers):
        m = np.asarray(m, dtype=float)
        points.append(m if len(m) == dim else np.full(dim, m[0]))
    return np.stack(points)


def distance_to_nearest(params: np.ndarray, minimisers: np.ndarray) -> np.ndarray:
    """Euclidean distance (R,) of each row of params (R, D) to the nearest of minimisers (K, D)."""
    best = None
    for m in minimisers:  # K is small (Himmelblau has four)
        diff = params - m.astype(params.dtype)
        d = np.sqrt(np.einsum("rd,rd->r", diff, diff))
        best = d if best is None else np.fmin(best, d)
    return best


def toy_problem(spec: ProblemSpec, seed, params: dict | None = None) -> ToyProblem:
    """The toy problem of `spec`; `params` replaces the objective's parameters (arrays of shape (R,) in a sweep).

    seed: an int, or the seed of every member (R,) for repetitions in one stack.
    """
    objective = make_objective(spec.objective, params if params is not None else spec.params)
    return ToyProblem(objective, spec.init, spec.noise, seed)


def toy_landscape(spec: ProblemSpec) -> Landscape | None:
    """The loss surface of a 1- or 2-parameter toy problem, for plots."""
    if len(spec.init) > 2:
        return None
    obj = make_objective(spec.objective, spec.params)
    labels = ("x",) if len(spec.init) == 1 else ("x1", "x2")
    window = obj.window[: len(spec.init)]
    if len(window) < len(spec.init):
        window = window + (window[-1],) * (len(spec.init) - len(window))
    minimiser = None if obj.minimiser is None else np.asarray(obj.minimiser[: len(spec.init)], dtype=float)
    if obj.minimiser is not None and len(obj.minimiser) != len(spec.init):
        minimiser = np.full(len(spec.init), obj.minimiser[0], dtype=float)  # any-dimension objectives
    return Landscape(f=obj.value, window=window, minimiser=minimiser, min_value=obj.min_value, labels=labels,
                     title=f"f = {obj.formula}")
