"""Optimizers as pure (init, update) pairs over a runs axis, and learning-rate schedules.

    base.py          the contract (Optimizer) and the shared pieces (hp, lr_at, ema, exact_map, ...)
    sgd.py           sgd, momentum, nesterov
    adaptive.py      adagrad, rmsprop, adadelta
    adam_family.py   adam (amsgrad), adamw, adamax, nadam, radam, lion
    ranges.py        accepted hyperparameter ranges
    plugins.py       optimizer plugins (a user's factory named by a config), checked and probed
    schedules.py     learning-rate schedules
    variants.py      which optimizer has which textbook variant (`variant: d2l | dlfs`), and their checks
    textbook.py      d2l's and DLFS's own update rules where they differ from PyTorch's

A new optimizer is a factory registered with `@OPTIMIZERS.register(name, one-line rule)` in one of these modules.
"""

from . import adam_family, adaptive, sgd  # noqa: E402,F401  (registration order = the order of `gdlab list`)
from .base import OPTIMIZERS, Optimizer, exact_map
from .ranges import check_hparams, check_ranges
from .variants import variant_defaults, variant_lines, variant_problem, variants_of

__all__ = ["OPTIMIZERS", "Optimizer", "check_hparams", "check_ranges", "exact_map", "variant_defaults", "variant_lines",
           "variant_problem", "variants_of"]
