"""Which optimizer has which textbook variant: its one-line rule, its factory, the options it lacks.

`variant` is an option of sgd, momentum, nesterov, adagrad, rmsprop and adam: `torch` (the default, PyTorch's
rule), `d2l` or `dlfs` where that book's rule differs (the rules are in gdlab.optim.textbook). The book's eps is
the default of its factory's eps; `variant_defaults` hands it to the config, which uses it when eps is not given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import ConfigError
from ..registry import did_you_mean, signature_defaults
from . import textbook
from .base import OPTIMIZERS, Optimizer, is_off

VARIANT_NAMES = ("torch", "d2l", "dlfs")
BOOK_CONSTANTS = ("eps",)  # hard-coded in the books' rules: a variant's default, not PyTorch's
BOOKS = {"d2l": "d2l", "dlfs": "DLFS"}


@dataclass(frozen=True)
class Variant:
    rule: str  # one line for `gdlab list optimizers`
    factory: Callable[..., Optimizer]  # the torch factory's keyword arguments, minus variant
    off: dict = field(default_factory=dict)  # options the book's rule lacks: each must keep this value


_DLFS_MOMENTUM = dict(dampening=0.0)
_NO_EXTRAS = dict(momentum=0.0, centered=False)

VARIANTS: dict[str, dict[str, Variant]] = {
    "sgd": {"dlfs": Variant("θ ← θ − lr·g; momentum: v ← μ·v − lr·g, θ ← θ + v; nesterov: θ ← θ + μ²·v − (1+μ)·lr·g",
                            textbook.sgd_dlfs, _DLFS_MOMENTUM)},
    "momentum": {"dlfs": Variant("v ← μ·v − lr·g; θ ← θ + v  (v carries the lr of every step)",
                                 textbook.sgd_dlfs, _DLFS_MOMENTUM)},
    "nesterov": {"dlfs": Variant("v ← μ·v − lr·g; θ ← θ + μ²·v − (1 + μ)·lr·g  (with the updated v)",
                                 textbook.sgd_dlfs, _DLFS_MOMENTUM)},
    "adagrad": {"d2l": Variant("s ← s + g²; θ ← θ − lr/√(s + eps)·g  (eps inside the root)", textbook.adagrad_d2l),
                "dlfs": Variant("h ← h + g²; θ ← θ − lr·g/(√h + eps)  (eps after the root)", textbook.adagrad_dlfs)},
    "rmsprop": {"d2l": Variant("s ← α·s + (1−α)·g²; θ ← θ − lr/√(s + eps)·g  (eps inside the root)",
                               textbook.rmsprop_d2l, _NO_EXTRAS),
                "dlfs": Variant("h ← α·h + (1−α)·g²; θ ← θ − lr·g/(√h + eps)  (eps after the root)",
                                textbook.rmsprop_dlfs, _NO_EXTRAS)},
    "adam": {"dlfs": Variant("lr_t = lr·√(1−β2^t)/(1−β1^t); m ← m + (1−β1)(g − m); v ← v + (1−β2)(g² − v); "
                             "θ ← θ − lr_t·m/(√v + eps)", textbook.adam_dlfs, dict(amsgrad=False))},
}

# Where a book's rule is PyTorch's, asking for its variant says what to write instead.
SAME_AS_TORCH = {
    ("sgd", "d2l"): "d2l's gradient descent and momentum are PyTorch's rule: use variant: torch",
    ("momentum", "d2l"): "d2l's momentum (v ← β·v + g; θ ← θ − lr·v) is PyTorch's rule: use variant: torch",
    ("adam", "d2l"): "d2l's Adam is PyTorch's rule with eps 1e-6: use variant: torch, eps: 1.0e-6",
    ("adadelta", "d2l"): "d2l's AdaDelta is PyTorch's rule with eps 1e-5: write eps: 1.0e-5",
}


def variants_of(name: str) -> tuple[str, ...]:
    """The variants optimizer `name` accepts: ('torch', ...) or () when it has no `variant` option."""
    if "variant" not in signature_defaults(OPTIMIZERS.get(name)):
        return ()
    return ("torch", *VARIANTS.get(name, {}))


def variant_problem(name: str, value: Any) -> str | None:
    """What is wrong with `variant: value` for optimizer `name`, for the config checker; None when accepted."""
    accepted = variants_of(name)
    if isinstance(value, str) and value in accepted:
        return None
    note = SAME_AS_TORCH.get((name, value)) if isinstance(value, str) else None
    if not accepted:
        having = [n for n in OPTIMIZERS.names() if variants_of(n)]
        return (f"optimizer {name} has no textbook variants: {note or 'its rule is PyTorch' + chr(39) + 's'}"
                f"\n  variants exist for: {', '.join(having)}")
    if isinstance(value, str) and value in VARIANT_NAMES:
        why = note or f"{BOOKS.get(value, value)}'s rule for {name} is not one gdlab has"
        return f"optimizer {name} has no {value} variant: {why}\n  accepted: {', '.join(accepted)}"
    shown = repr(value) if isinstance(value, str) else "null" if value is None else str(value)
    return (f"unknown variant {shown}{did_you_mean(str(value), accepted)}\n"
            f"  accepted: {', '.join(accepted)}")


def textbook_rule(name: str, variant: str, **hparams: Any) -> Optimizer:
    """The optimizer of `name` in `variant`'s rule, built from the torch factory's hyperparameters."""
    accepted = variants_of(name) or ("torch",)
    if variant not in accepted:
        raise ConfigError(f"variant: optimizer {name} has no variant {variant!r}"
                          f"{did_you_mean(str(variant), accepted)}\n  accepted: {', '.join(accepted)}")
    v = VARIANTS[name][variant]
    for key, value in lacking(name, variant, hparams):
        raise ConfigError(f"{key}: must be {_show(v.off[key])} with variant {variant} "
                          f"({BOOKS[variant]}'s {name} has no {key}), got {value!r}")
    return v.factory(**hparams)


def lacking(name: str, variant: str, hparams: dict) -> list[tuple[str, Any]]:
    """(key, value) of every option set that `variant`'s rule of `name` does not have."""
    v = VARIANTS.get(name, {}).get(variant)
    if v is None:
        return []
    return [(k, hparams[k]) for k, v in v.off.items()
            if k in hparams and (hparams[k] is not v if isinstance(v, bool) else not is_off(hparams[k]))]


def variant_defaults(name: str, variant: str, given: Any = ()) -> dict[str, Any]:
    """The book's own values of its hard-coded constants (eps) where they differ from PyTorch's defaults, except
    those in `given` (the keys a config writes itself)."""
    if variant == "torch" or variant not in VARIANTS.get(name, {}):
        return {}
    ours = signature_defaults(OPTIMIZERS.get(name))
    book = signature_defaults(VARIANTS[name][variant].factory)
    return {k: book[k] for k in BOOK_CONSTANTS if k in book and k in ours and ours[k] != book[k] and k not in given}


def variant_lines(name: str) -> list[str]:
    """`variant d2l: <rule> [eps=1e-06]` for every textbook variant of `name`."""
    out = []
    for variant, v in VARIANTS.get(name, {}).items():
        defaults = ", ".join(f"{k}={d}" for k, d in variant_defaults(name, variant).items())
        out.append(f"variant {variant}: {v.rule}" + (f"  [{defaults}]" if defaults else ""))
    return out


def _show(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else f"{value:g}"
