"""The stable region of momentum in the (lr, β) plane of a quadratic: heavy ball beside PyTorch's Nesterov.

Each panel colours the spectral radius of the iteration (the factor by which the error shrinks, or grows, per
step: gdlab.problems.stability), draws the level ρ = 1 computed from the matrices and, dashed on top, the edge
formula, and marks the optimizers of the config at their (lr, β).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.colors import TwoSlopeNorm

from ..problems.stability import FORMULAS, Method, lr_edge, spectral_radius
from .style import colour, figure, save

RADIUS_TOP = 1.5  # the colour scale stops here: beyond, the run diverges fast anyway
RATE_LEVELS = [0.7, 0.8, 0.9, 0.95]  # thin labelled lines: where the error shrinks by these factors per step


def stability_map(eigenvalues: np.ndarray, out, *, title: str = "", points: list[tuple[str, float, float, str]] = (),
                  resolution: int = 160) -> Path:
    """Spectral radius over lr ∈ (0, 1.15·4/L], β ∈ [0, 0.99] for heavy ball and Nesterov, edges and points.

    eigenvalues (D,): the Hessian's (positive). points: (label, lr, β, kind) of the config's optimizers, kind
    "heavy_ball" | "nesterov" | "gd" (gd is drawn at β = 0 in both panels).
    """
    lam = np.asarray(eigenvalues, dtype=np.float64).reshape(-1)
    L = float(lam.max())
    lrs = np.linspace(0.0, 1.15 * 4.0 / L, resolution + 1)[1:]
    betas = np.linspace(0.0, 0.99, resolution)
    LR, B = np.meshgrid(lrs, betas)  # (nb, nlr)
    fig, axes = figure(axes=(3.6, 3.0), grid=(1, 2), right=0.9, bottom=0.35, top=0.2, hgap=0.45)
    radii = {kind: _radius(kind, LR, B, lam) for kind in ("heavy_ball", "nesterov")}
    low = min(float(r.min()) for r in radii.values())
    norm = TwoSlopeNorm(vmin=min(low, 0.99), vcenter=1.0, vmax=RADIUS_TOP)  # blue converges, red diverges
    mesh = None
    for ax, kind in zip(axes, ("heavy_ball", "nesterov")):
        rho = radii[kind]
        mesh = ax.pcolormesh(lrs, betas, np.minimum(rho, RADIUS_TOP), cmap="RdBu_r", norm=norm, shading="nearest",
                             rasterized=True)
        rates = ax.contour(lrs, betas, rho, levels=RATE_LEVELS, colors="0.25", linewidths=0.6)
        ax.clabel(rates, fontsize=7, fmt="%g")
        ax.contour(lrs, betas, rho, levels=[1.0], colors="black", linewidths=2.2)
        edge = [lr_edge(Method(kind, float(b)), L) for b in betas]
        ax.plot(edge, betas, color=colour(2), linestyle="--", linewidth=1.4,
                label=f"lr = {FORMULAS[kind]}")
        for k, (label, lr, beta, which) in enumerate(points):
            if which in (kind, "gd"):
                ax.plot([lr], [beta], marker="o", markersize=7, markerfacecolor=colour(k), markeredgecolor="white",
                        linestyle="none", label=label)
        ax.set_xlim(lrs[0], lrs[-1])
        ax.set_ylim(betas[0], betas[-1])
        ax.set_xlabel("learning rate (lr)")
        ax.set_title("heavy ball (momentum)" if kind == "heavy_ball" else "Nesterov (PyTorch)", fontsize=10)
        ax.legend(loc="upper left", fontsize=8, framealpha=0.85)
    axes[0].set_ylabel("momentum β")
    axes[1].tick_params(labelleft=False)
    pos = axes[1].get_position()
    cax = fig.add_axes((pos.x1 + 0.12 / fig.get_figwidth(), pos.y0, 0.15 / fig.get_figwidth(), pos.height))
    bar = fig.colorbar(mesh, cax=cax, extend="max")
    bar.set_label("spectral radius ρ per step (stable: ρ < 1)")
    fig.suptitle(title or f"where momentum converges (L = {L:g}): black line ρ = 1", x=0.02, ha="left",
                 fontsize=11)
    fig.text(0.02, 0.02, "blue: converges, by the factor ρ per step (thin labelled lines); red: diverges",
             fontsize=8, color="0.3")
    return save(fig, out)


def _radius(kind: str, LR: np.ndarray, B: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """The radius over the (nb, nlr) grid, a row of equal β at a time (a Method holds one β)."""
    return np.stack([spectral_radius(Method(kind, float(b)), LR[i], lam) for i, b in enumerate(B[:, 0])])


def draw_for_config(cfg, out) -> Path:
    """The stable-region figure for a config's quadratic objective, its optimizers marked (`gdlab stability`)."""
    from ..errors import ConfigError
    from ..problems.objectives import make_objective
    from ..problems.stability import QUADRATICS, method_of, quadratic_modes

    p = cfg.problem
    modes = quadratic_modes(p.name, make_objective(p.name, p.params), len(p.init)) if p.kind == "objective" \
        else None
    if modes is None or not modes[0].min() > 0:
        raise ConfigError(f"problem: the stability theory covers quadratic bowls ({', '.join(QUADRATICS)} with a "
                          f"positive definite Hessian); this config has {p.name!r}")
    points = []
    for o in cfg.optimizers:
        m = method_of(o.name, o.hparams)
        if m is not None and isinstance(o.hparams.get("lr"), (int, float)):
            points.append((o.label, float(o.hparams["lr"]), m.beta, m.kind))
    return stability_map(modes[0], out, points=points,
                         title=f"{cfg.name}: where momentum converges (L = {modes[0].max():g}); black line ρ = 1")
