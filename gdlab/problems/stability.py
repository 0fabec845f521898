"""Stability of gradient descent and momentum on quadratic objectives: edges, spectral radii, divergence steps.

On a quadratic f(x) = ½(x − x*)ᵀH(x − x*) + f*, gradient descent and PyTorch's SGD with heavy-ball or Nesterov
momentum are linear maps of the state (error e = x − x*, momentum buffer b). In the eigenbasis of H each
eigenvalue λ has its own 2 × 2 iteration matrix acting on (e_λ, b_λ) (torch.optim.SGD, dampening τ, lr η, β):

    heavy ball   b' = β·b + (1 − τ)·λe          e' = e − η·b'                 = (1 − η(1−τ)λ)·e − ηβ·b
    Nesterov     b' = β·b + (1 − τ)·λe          e' = e − η·(λe + β·b')         (PyTorch's form, τ = 0)

(the first step sets b = g without dampening, which changes no eigenvalue). With a = ηλ(1 − τ) the
characteristic polynomials are z² − (1 + β − a)·z + β (heavy ball) and z² − (1 + β − a(1 + β))·z + β(1 − a)
(Nesterov); Jury's conditions (|c| < 1 and |b| < 1 + c for z² + bz + c) give, for λ > 0 and 0 ≤ β < 1:

    gradient descent (β = 0)   stable iff 0 < ηλ < 2                     (Nesterov 2004, Thm 2.1.14's step rule)
    heavy ball                 stable iff 0 < ηλ(1 − τ) < 2(1 + β)        (Polyak 1964; Goh 2017, "Why momentum
                                                                            really works", Distill, §"the dynamics")
    Nesterov (PyTorch)         stable iff 0 < ηλ < 2(1 + β)/(1 + 2β)     (the same conditions on its matrix; see
                                                                            Lessard, Recht, Packard 2016, §3)

so the edge in lr is the bound over the largest eigenvalue L of the (weight-decay shifted) Hessian. The spectral
radius of the iteration matrix says how fast the error grows or shrinks per step; `divergence_step` follows the
exact linear recurrence (with a running scale, so nothing overflows here) to the step at which the loss exceeds
the largest float of the run's dtype, which is where the engine marks a member diverged.

NumPy only; no matplotlib. The numbers are tested against np.linalg.eigvals of the matrices (tests/test_stability.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

QUADRATICS = ("bowl2d", "quadratic", "parabola")  # objectives whose Hessian is constant (gdlab's own)
METHODS = ("gd", "heavy_ball", "nesterov")
FORMULAS = {"gd": "2/L", "heavy_ball": "2(1+β)/L", "nesterov": "2(1+β)/((1+2β)L)"}
MAX_TRACKED_STEPS = 200_000  # beyond this the divergence step is estimated from the spectral radius alone


@dataclass(frozen=True)
class Method:
    """How an optimizer config moves on a quadratic: which rule, its momentum β, dampening τ, weight decay."""

    kind: str  # "gd" | "heavy_ball" | "nesterov"
    beta: float = 0.0
    dampening: float = 0.0
    weight_decay: float = 0.0

    @property
    def formula(self) -> str:
        if self.kind == "heavy_ball" and self.dampening:
            return "2(1+β)/((1−τ)L)"
        return FORMULAS[self.kind]


def method_of(name: str, hparams: dict) -> Method | None:
    """The Method of an sgd / momentum / nesterov config (None for any other optimizer: no theory here)."""
    if name not in ("sgd", "momentum", "nesterov"):
        return None
    beta = float(hparams.get("momentum", 0.0) or 0.0)
    tau = float(hparams.get("dampening", 0.0) or 0.0)
    wd = float(hparams.get("weight_decay", 0.0) or 0.0)
    nesterov = name == "nesterov" or bool(hparams.get("nesterov"))
    if beta == 0.0:
        return Method("gd", 0.0, 0.0, wd)
    if nesterov and (tau or hparams.get("variant", "torch") != "torch"):
        return None  # PyTorch refuses Nesterov with dampening; DLFS's Nesterov is another recurrence
    return Method("nesterov" if nesterov else "heavy_ball", beta, tau, wd)


def hessian(objective) -> np.ndarray | None:
    """The constant Hessian (D, D) of a quadratic gdlab objective, from its gradient: H[:, i] = ∇f(e_i) − ∇f(0).

    Exact for a quadratic (the gradient is affine). `objective` has `grad` (R, D) -> (R, D) and `dim` (None:
    one coordinate for parabola-like objectives of any dimension).
    """
    d = objective.dim or 1
    points = np.vstack([np.zeros(d), np.eye(d)])  # (D + 1, D)
    g = np.asarray(objective.grad(points), dtype=np.float64)
    return (g[1:] - g[0]).T


def quadratic_modes(spec_name: str, objective, dim: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(eigenvalues (D,), eigenvectors (D, D)) of a quadratic objective's Hessian in `dim` coordinates, or None."""
    if spec_name not in QUADRATICS:
        return None
    h = hessian(objective)
    if h.shape[0] == 1 and dim > 1:  # parabola: the same curvature in every coordinate
        h = h[0, 0] * np.eye(dim)
    if h.shape[0] != dim or not np.all(np.isfinite(h)):
        return None
    lam, q = np.linalg.eigh(0.5 * (h + h.T))
    return lam, q


def _rate(m: Method, lam) -> np.ndarray:
    return np.asarray(lam, dtype=np.float64) + m.weight_decay


def lr_edge(m: Method, largest: float) -> float:
    """The largest stable lr (exclusive) for a positive largest eigenvalue `largest` of the Hessian.

    gd: 2/L; heavy ball: 2(1+β)/((1−τ)L); Nesterov: 2(1+β)/((1+2β)L), with L = largest + weight decay.
    """
    L = float(_rate(m, largest))
    if not L > 0:
        return math.inf
    if m.kind == "gd":
        return 2.0 / L
    if m.kind == "heavy_ball":
        return 2.0 * (1.0 + m.beta) / ((1.0 - m.dampening) * L)
    return 2.0 * (1.0 + m.beta) / ((1.0 + 2.0 * m.beta) * L)


def iteration_matrices(m: Method, lr, lam) -> np.ndarray:
    """The (…, 2, 2) matrices mapping (e, b) of one eigen-direction to the next step's (steps after the first).

    lr and lam broadcast against each other (and m.beta may be an array too); β = 0 gives gradient descent,
    whose b row is inert (b is recomputed from e every step).
    """
    lr, lam, beta = np.broadcast_arrays(np.asarray(lr, float), _rate(m, lam), np.asarray(m.beta, float))
    tau = m.dampening
    mat = np.empty(lr.shape + (2, 2))
    if m.kind == "nesterov":
        mat[..., 0, 0] = 1.0 - lr * lam * (1.0 + beta)
        mat[..., 0, 1] = -lr * beta * beta
    else:  # heavy ball (gd: beta = 0)
        mat[..., 0, 0] = 1.0 - lr * (1.0 - tau) * lam
        mat[..., 0, 1] = -lr * beta
    mat[..., 1, 0] = (1.0 - tau) * lam
    mat[..., 1, 1] = beta
    return mat


def spectral_radius(m: Method, lr, lam) -> np.ndarray:
    """max |z| over the eigenvalues z of each direction's matrix, maximised over the last axis of `lam` (…, D).

    Closed form for 2 × 2 matrices (roots of z² − tz + d), vectorized: lr (…,) against lam (D,) gives (…,).
    """
    lr = np.asarray(lr, dtype=np.float64)
    lam = np.atleast_1d(np.asarray(lam, dtype=np.float64))
    mat = iteration_matrices(m, lr[..., None], lam)  # (…, D, 2, 2)
    t = mat[..., 0, 0] + mat[..., 1, 1]
    d = mat[..., 0, 0] * mat[..., 1, 1] - mat[..., 0, 1] * mat[..., 1, 0]
    disc = t * t - 4 * d
    root = np.sqrt(np.abs(disc))
    real = np.maximum(np.abs(t + root), np.abs(t - root)) / 2  # real roots
    complex_ = np.sqrt(np.abs(d))  # complex pair: |z|² = d
    return np.where(disc >= 0, real, complex_).max(axis=-1)


@dataclass(frozen=True)
class Verdict:
    """What the theory says about one optimizer config on one quadratic."""

    method: Method
    lr: float
    edge: float  # stable iff lr < edge
    radius: float  # spectral radius of the iteration (per step)
    largest: float  # L, the largest Hessian eigenvalue (before weight decay)
    diverges_at: int | None  # predicted step at which the loss overflows (None: not within the steps given)

    @property
    def stable(self) -> bool:
        return self.radius < 1.0


def divergence_step(m: Method, lr: float, lam: np.ndarray, e0: np.ndarray, *, dtype="float64",
                    max_steps: int = MAX_TRACKED_STEPS, f_weights: np.ndarray | None = None) -> int | None:
    """The first step k at which f(x_k) = ½·Σ w_i·e_i(k)² + f* exceeds the largest float of `dtype`.

    lam (D,): Hessian eigenvalues; e0 (D,): the start's error x0 − x* in the eigenbasis; f_weights (D,): the
    eigenvalues f is measured with (default lam; they differ from lam by the weight decay). The recurrence is
    followed exactly (the first step b = g as PyTorch does, then the matrices) with a running log-scale, so it
    never overflows here. None when the loss stays finite for `max_steps` steps (or e0 is zero on every growing
    direction).
    """
    lam = np.asarray(lam, dtype=np.float64)
    w = lam if f_weights is None else np.asarray(f_weights, dtype=np.float64)
    limit = math.log(float(np.finfo(np.dtype(dtype)).max))
    rate = _rate(m, lam)
    e = np.asarray(e0, dtype=np.float64).copy()
    b = rate * e  # first step: b = g, undampened
    state = np.stack([e - lr * (rate * e + m.beta * b if m.kind == "nesterov" else b), b], axis=1)  # (D, 2) at step 1
    mats = iteration_matrices(m, lr, lam)  # (D, 2, 2)
    log_scale = 0.0
    with np.errstate(divide="ignore"):
        if _log_loss(e, 0.0, w) > limit:
            return 0
        for k in range(1, max_steps + 1):
            if _log_loss(state[:, 0], log_scale, w) > limit:
                return k
            state = np.einsum("dij,dj->di", mats, state)
            peak = np.abs(state).max()
            if not peak > 0:
                return None
            if peak > 1e100 or peak < 1e-100:  # keep the numbers in range; the scale goes into log_scale
                state /= peak
                log_scale += math.log(peak)
    return None


def _log_loss(e: np.ndarray, log_scale: float, w: np.ndarray) -> float:
    """log(½·Σ w_i·(e_i·exp(log_scale))²), computed without overflow (−inf for a zero error)."""
    terms = 0.5 * w * e * e
    total = terms[terms > 0].sum()
    return -math.inf if total <= 0 else math.log(total) + 2.0 * log_scale


def verdict(spec_name: str, objective, init, optimizer_name: str, hparams: dict, *, steps: int | None = None,
            dtype: str = "float64") -> Verdict | None:
    """The theory's verdict for one optimizer on a quadratic toy objective (None when no theory applies)."""
    m = method_of(optimizer_name, hparams)
    lr = hparams.get("lr")
    if m is None or not isinstance(lr, (int, float)):
        return None
    x0 = np.asarray(init, dtype=np.float64).reshape(-1)
    modes = quadratic_modes(spec_name, objective, x0.size)
    if modes is None:
        return None
    lam, q = modes
    if not lam.min() > 0:
        return None  # a saddle or a flat direction: not a bowl
    radius = float(spectral_radius(m, lr, lam))
    h = q @ np.diag(lam + m.weight_decay) @ q.T
    grad0 = np.asarray(objective.grad(x0[None, :]), dtype=np.float64)[0] + m.weight_decay * x0
    e0 = q.T @ np.linalg.solve(h, grad0)  # error from the (decay-shifted) minimiser, in the eigenbasis
    k = None
    if radius > 1.0 and steps:
        k = divergence_step(m, float(lr), lam, e0, dtype=dtype, max_steps=min(steps, MAX_TRACKED_STEPS))
    return Verdict(m, float(lr), lr_edge(m, float(lam.max())), radius, float(lam.max()), k)


def warning_text(label: str, v: Verdict, steps: int | None) -> str:
    """One line: the edge, the spectral radius and when the loss overflows."""
    beta = f", β = {v.method.beta:g}" if v.method.kind != "gd" else ""
    head = (f"{label}: lr {v.lr:g} is past the stability edge lr < {v.method.formula} = {v.edge:.4g} of this quadratic "
            f"(L = {v.largest:g}{beta}): spectral radius {v.radius:.4g} per step")
    if v.radius == 1.0:
        return head + "; it oscillates without converging"
    if v.diverges_at is not None:
        return head + f"; the loss overflows at step {v.diverges_at:,}"
    return head + (f"; the loss grows ×{v.radius ** 2:.3g} a step and stays finite for the {steps:,} steps"
                   if steps else "; expect it to diverge")


def stability_warnings(spec, optimizers, *, steps: int | None = None, dtype: str = "float64",
                       constant_lr: bool = True) -> list[str]:
    """A warning per optimizer whose lr is at or past the edge on a quadratic toy objective (before a run)."""
    if spec.kind != "objective" or not constant_lr:
        return []
    from .objectives import make_objective

    objective = make_objective(spec.objective, spec.params)
    out = []
    for o in optimizers:
        v = verdict(spec.name, objective, spec.init, o.name, o.hparams, steps=steps, dtype=dtype)
        if v is not None and v.radius >= 1.0:
            out.append(warning_text(o.label, v, steps))
    return out


# --------------------------------------------------------------------------------------- edges for sweeps

def sweep_theory(spec, optimizer_name: str, hparams: dict, swept: list[tuple]) -> dict | None:
    """What sweep figures need to draw the theory's edges, as plain data for summary.json (None: no theory).

    swept: the swept keys' paths, such as ("optimizer", "lr"). Only lr and momentum may vary: a swept
    objective parameter or start point changes the Hessian, and another swept hyperparameter the method.
    """
    if spec.kind != "objective" or any(p[0] != "optimizer" or p[1:] not in (("lr",), ("momentum",)) for p in swept):
        return None
    from .objectives import make_objective

    modes = quadratic_modes(spec.name, make_objective(spec.objective, spec.params), len(spec.init))
    base = method_of(optimizer_name, {**hparams, "momentum": 0.5 if ("optimizer", "momentum") in swept else
                                      hparams.get("momentum", 0.0)})
    if modes is None or base is None or not modes[0].min() > 0:
        return None
    return {"eigenvalues": [float(x) for x in modes[0]], "nesterov": base.kind == "nesterov",
            "momentum": float(hparams.get("momentum", 0.0) or 0.0), "dampening": base.dampening,
            "weight_decay": base.weight_decay, "lr": float(hparams["lr"]) if isinstance(hparams.get("lr"), (int, float))
            else None}


def _method(info: dict, beta: float) -> Method:
    kind = "gd" if beta == 0 else ("nesterov" if info["nesterov"] else "heavy_ball")
    return Method(kind, beta, info["dampening"] if kind == "heavy_ball" else 0.0, info["weight_decay"])


def lr_edge_line(info: dict) -> tuple[float, str]:
    """The edge on an lr axis at the config's fixed momentum: (value, 'theory: stable iff lr < 2/L = 0.5')."""
    m = _method(info, info["momentum"])
    edge = lr_edge(m, max(info["eigenvalues"]))
    return edge, f"theory: stable iff lr < {m.formula} = {edge:.3g}"


def momentum_edge_line(info: dict) -> tuple[float, str] | None:
    """The edge on a momentum axis at the config's fixed lr (None when every β in [0, 1) is stable or none is)."""
    if info["lr"] is None:
        return None
    a = info["lr"] * (max(info["eigenvalues"]) + info["weight_decay"])  # lr·L
    if info["nesterov"]:  # a(1 + 2β) < 2(1 + β)  <=>  β (2a − 2) < 2 − a
        if not 1.0 < a < 2.0:
            return None
        beta = (2.0 - a) / (2.0 * a - 2.0)
        return (beta, f"theory: stable iff β < (2 − lr·L)/(2·lr·L − 2) = {beta:.3g}") if beta < 1 else None
    beta = a * (1.0 - info["dampening"]) / 2.0 - 1.0  # heavy ball: a(1 − τ) < 2(1 + β)
    return (beta, f"theory: stable iff β > lr·L/2 − 1 = {beta:.3g}") if 0.0 < beta < 1.0 else None


def edge_curve(info: dict, betas: np.ndarray) -> tuple[np.ndarray, np.ndarray, str]:
    """The edge in the (lr, β) plane: lr_edge(β) at the given momenta; (lrs, betas, label)."""
    betas = np.asarray(betas, dtype=np.float64)
    L = max(info["eigenvalues"])
    lrs = np.array([lr_edge(_method(info, float(b)), L) for b in betas])
    kind = "nesterov" if info["nesterov"] else "heavy_ball"
    formula = _method(info, 0.5).formula if kind == "heavy_ball" else FORMULAS["nesterov"]
    return lrs, betas, f"theory: lr = {formula} (L = {L:g})"
