"""Shared gradient check: analytic gradient vs a central difference along random directions (HIPS autograd style).

Use float64: with eps = 1e-6 the central difference has an error of order eps² + machine-eps / eps ~ 1e-10.
"""

from __future__ import annotations

from typing import Callable

import numpy as np


def check_grad(
    f: Callable[[np.ndarray], float],
    x: np.ndarray,
    grad: np.ndarray,
    *,
    rng: np.random.Generator,
    eps: float = 1e-6,
    atol: float = 1e-8,
    rtol: float = 1e-5,
    n_directions: int = 5,
) -> None:
    """Assert that d f(x + t·v) / dt at t = 0 equals <grad, v> for random unit directions v.

    f: x -> a scalar (sum a per-member loss over the runs axis: members are independent, so a mix-up between
    members shows as a wrong directional derivative). Fails with both numbers printed.
    """
    x = np.asarray(x, dtype=np.float64)
    grad = np.asarray(grad, dtype=np.float64)
    assert grad.shape == x.shape, f"gradient shape {grad.shape} != parameter shape {x.shape}"
    for i in range(n_directions):
        v = rng.standard_normal(x.shape)
        v /= np.linalg.norm(v)
        numeric = (float(f(x + eps * v)) - float(f(x - eps * v))) / (2 * eps)
        analytic = float(np.sum(grad * v))
        tol = atol + rtol * max(abs(numeric), abs(analytic))
        assert abs(numeric - analytic) <= tol, (
            f"direction {i}: numeric {numeric!r} vs analytic {analytic!r} (difference {numeric - analytic:.3g}, "
            f"tolerance {tol:.3g})"
        )
