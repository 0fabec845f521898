"""Booth's function, a bowl tilted off the axes: f(x, y) = (x + 2y − 7)² + (2x + y − 5)², minimum 0 at (1, 3)."""

import numpy as np

from gdlab import Objective


def booth():
    """f = (x + 2y − 7)² + (2x + y − 5)²; minimum 0 at (1, 3)"""

    def parts(x):  # x: (R, 2), one point per member
        return x[:, 0] + 2 * x[:, 1] - 7, 2 * x[:, 0] + x[:, 1] - 5

    def value(x):
        u, v = parts(x)
        return u * u + v * v  # (R,)

    def grad(x):
        u, v = parts(x)
        return np.stack([2 * u + 4 * v, 4 * u + 2 * v], axis=1)  # (R, 2)

    return Objective(formula="(x + 2y − 7)² + (2x + y − 5)²", value=value, grad=grad, dim=2,
                     default_init=(-4.0, -3.0), window=((-7.0, 5.0), (-5.0, 7.0)), minimiser=(1.0, 3.0),
                     min_value=0.0)
