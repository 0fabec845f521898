"""Accepted ranges of optimizer hyperparameters, one table by name, and the cross-field rules."""

from __future__ import annotations

from typing import Any, Callable

from .base import OPTIMIZERS
from .variants import BOOKS, lacking

# One table by hyperparameter name: (accepts(value), what is accepted).
_RANGES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "lr": (lambda x: x > 0, "must be > 0"),
    "momentum": (lambda x: 0 <= x < 1, "must be in [0, 1)"),
    "dampening": (lambda x: 0 <= x <= 1, "must be in [0, 1]"),
    "weight_decay": (lambda x: x >= 0, "must be >= 0"),
    "eps": (lambda x: x > 0, "must be > 0"),
    "alpha": (lambda x: 0 <= x < 1, "must be in [0, 1)"),
    "rho": (lambda x: 0 <= x <= 1, "must be in [0, 1]"),
    "lr_decay": (lambda x: x >= 0, "must be >= 0"),
    "initial_accumulator_value": (lambda x: x >= 0, "must be >= 0"),
    "momentum_decay": (lambda x: x >= 0, "must be >= 0"),
    "betas": (lambda b: len(b) == 2 and all(0 <= x < 1 for x in b), "must be two numbers, each in [0, 1)"),
}


def check_hparams(name: str, hparams: dict[str, Any]) -> list[tuple[str, str]]:
    """(key, problem) for every out-of-range value in the resolved hyperparameters of optimizer `name`.

    hparams holds every hyperparameter (defaults filled in, types already checked); keys without a range are
    ignored. Cross-field rules: Nesterov momentum needs momentum > 0 and dampening 0 (PyTorch's); a textbook
    variant refuses the options its book's rule does not have.
    """
    OPTIMIZERS.get(name)  # ConfigError for an unknown name
    problems = check_ranges(hparams)
    flagged = {key for key, _ in problems}
    if hparams.get("nesterov", name == "nesterov"):
        if "momentum" not in flagged and not hparams.get("momentum", 0) > 0:
            problems.append(("momentum", "must be in (0, 1) with Nesterov momentum"))
        if "dampening" not in flagged and hparams.get("dampening", 0) != 0:
            problems.append(("dampening", "must be 0 with Nesterov momentum"))
    variant = hparams.get("variant", "torch")
    for key, value in lacking(name, variant, hparams):
        if key not in {k for k, _ in problems}:
            off = "false" if isinstance(value, bool) else "0"
            problems.append((key, f"must be {off} with variant {variant} ({BOOKS[variant]}'s {name} has no {key})"))
    return problems


def check_ranges(hparams: dict[str, Any]) -> list[tuple[str, str]]:
    """(key, problem) for every value outside the range of its name (lr > 0, betas in [0, 1), ...).

    The built-ins' rules; a plugin's hyperparameters that carry the same names follow them too (a value of another
    kind, such as a plugin's lr of None, is left to the plugin).
    """
    problems = []
    for key, (accepts, message) in _RANGES.items():
        if key in hparams:
            try:
                ok = accepts(hparams[key])
            except (TypeError, ValueError):
                continue
            if not ok:
                problems.append((key, message))
    return problems
