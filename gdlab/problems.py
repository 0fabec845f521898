"""Problems the engine can run: a toy objective, or a model trained on a dataset.

Both expose the same small interface (see engine.Problem): the start point for R members, the loss and gradient
at step k, the epoch of step k, whole-data evaluation and the final loss. Random draws (gradient noise, batches)
come from one Generator per stack and are shared by all members: every member of a compare sees the same noise
and the same batches at the same step.
"""

from __future__ import annotations

import numpy as np

from .config import Config, ProblemSpec
from .objectives import Objective, make_objective
from .series import Landscape


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


def build_problem(cfg: Config, params: dict | None = None, download_progress=None):
    """The problem a config describes, with its random generator seeded from the config.

    download_progress: (filename, bytes done, bytes total) callback for datasets fetched on first use.
    """
    if cfg.problem.kind == "objective":
        return toy_problem(cfg.problem, cfg.seed, params)
    from .learning import data_problem  # models and datasets only when the config asks for them

    return data_problem(cfg, download_progress)


def landscape(spec: ProblemSpec) -> Landscape | None:
    """The loss surface of a problem with one or two parameters (None otherwise)."""
    if spec.kind == "objective":
        return toy_landscape(spec)
    from .learning import model_landscape

    return model_landscape(spec)


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


def stability_warnings(spec: ProblemSpec, optimizers) -> list[str]:
    """Warnings for learning rates beyond gradient descent's stability limit on a quadratic objective.

    On a quadratic with largest curvature L, plain gradient descent converges only for lr < 2/L and heavy-ball
    momentum β only for lr < 2(1 + β)/L (d2l's bowl: L = 4, so lr < 0.5 without momentum).
    """
    if spec.kind != "objective":
        return []
    curvature = make_objective(spec.name, spec.params).max_curvature
    if not curvature:
        return []
    out = []
    for o in optimizers:
        if o.name not in ("sgd", "momentum", "nesterov") or o.hparams.get("weight_decay"):
            continue
        beta = o.hparams.get("momentum", 0.0) or 0.0
        if o.hparams.get("nesterov"):
            continue  # Nesterov's limit differs; do not guess
        limit = 2 * (1 + beta) / curvature
        if o.hparams["lr"] > limit:
            rule = "2(1 + momentum)/L" if beta else "2/L"
            out.append(f"{o.label}: lr {o.hparams['lr']:g} exceeds the stability limit {rule} = {limit:.4g} of this "
                       f"quadratic (largest curvature L = {curvature:g}); expect it to diverge")
    return out
