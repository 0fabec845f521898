"""Sign-SGD: each coordinate steps by lr against the sign of its gradient (Bernstein et al., ICML 2018)."""

import numpy as np

from gdlab import Optimizer, lr_at


def sign_sgd(lr=0.05, weight_decay=0.0):
    """θ ← θ − lr·sign(g + wd·θ)"""

    def init(params):  # params: (R, P), one row per member
        return ()  # no state to keep

    def update(grads, state, params, t):  # t = 1, 2, ...; never change grads or params in place
        g = grads + weight_decay * params  # a hyperparameter is a float, or an (R, 1) column in a sweep
        return params - lr_at(lr, t, params.dtype) * np.sign(g), state

    return Optimizer(init, update)
