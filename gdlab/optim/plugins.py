"""Optimizer plugins: a user's factory, imported from the file a config names, held to the built-ins' contract.

A plugin factory takes its hyperparameters as keyword arguments with defaults and returns
`gdlab.Optimizer(init, update)` (see base.py for the contract: params and grads (R, P), a hyperparameter a float or
an (R, 1) column, lr possibly a callable t -> value, t 1-based). `checked` wraps what it returns so that anything
it does wrong becomes a PluginError naming the plugin and what it returned: an exception (sys.exit included),
something other than (params, state), params of another shape or kind. Its inputs reach it read-only, so an
update that writes into them in place fails at once instead of corrupting the run.
`probe` runs the factory, init and two updates on a tiny copy before a run, so that most mistakes stop the
command (exit 2) before a directory exists.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..errors import PluginError
from ..plugins import PluginRef, load_factory, what_happened
from .base import OPTIMIZERS, Optimizer

PROBE_RUNS = 2  # a probe of two members catches code that works for one member only (`if lr > 0.1:`)


def optimizer_factory(optimizer: str | PluginRef) -> Callable[..., Optimizer]:
    """The factory of a registered optimizer name, or a plugin's factory wrapped by `checked`."""
    if isinstance(optimizer, PluginRef):
        factory = load_factory(optimizer, "optimizer.name")
        return lambda **hparams: checked(optimizer, factory, hparams)
    return OPTIMIZERS.get(optimizer)


def checked(ref: PluginRef, factory: Callable[..., Any], hparams: dict) -> Optimizer:
    """The plugin's Optimizer for `hparams`, each call checked; PluginError for anything off the contract."""
    name = ref.attr
    try:
        opt = factory(**hparams)
    except BaseException as exc:  # noqa: BLE001 - user code; a KeyboardInterrupt is re-raised below
        _reraise_interrupt(exc)
        raise PluginError(f"optimizer plugin {name}: {name}(...) raised while building it ({what_happened(exc)})")
    if not (isinstance(opt, tuple) and len(opt) == 2 and all(callable(f) for f in opt)):
        raise PluginError(f"optimizer plugin {name}: {name}(...) returned {_show(opt)}; expected "
                          f"gdlab.Optimizer(init, update), two functions")
    init, update = opt

    def checked_init(params):
        try:
            return init(_read_only(params))
        except BaseException as exc:  # noqa: BLE001
            _reraise_interrupt(exc)
            raise PluginError(f"optimizer plugin {name}: init raised {what_happened(exc)}{_hint(exc)}") from None

    def checked_update(grads, state, params, t):
        try:
            out = update(_read_only(grads), state, _read_only(params), t)
        except BaseException as exc:  # noqa: BLE001
            _reraise_interrupt(exc)
            raise PluginError(f"optimizer plugin {name}: update at step {t} raised "
                              f"{what_happened(exc)}{_hint(exc)}") from None
        if not (isinstance(out, tuple) and len(out) == 2):
            raise PluginError(f"optimizer plugin {name}: update at step {t} returned {_show(out)}; expected a "
                              f"pair (new params, new state)")
        new, new_state = out
        if not isinstance(new, np.ndarray) or new.shape != params.shape or new.dtype.kind not in "fiu":
            what = f"an array of shape {new.shape} and dtype {new.dtype}" if isinstance(new, np.ndarray) else \
                _show(new)
            raise PluginError(f"optimizer plugin {name}: update at step {t} returned {what} as the new params; "
                              f"expected a float array of shape {params.shape} (members × parameters)")
        return (new if new.dtype == params.dtype else new.astype(params.dtype)), new_state

    return Optimizer(checked_init, checked_update)


def probe(ref: PluginRef, hparams: dict, dim: int, dtype: str, label: str) -> None:
    """init and two updates of the plugin on a copy of two members with `dim` parameters; PluginError (exit 2,
    before any directory exists) if it raises, returns the wrong thing, or returns non-finite parameters.

    hparams: one member's values; they reach the plugin as (2, 1) columns, as in a stack.
    """
    dt = np.dtype(dtype)
    columns = {k: _column(v, dt) for k, v in hparams.items()}
    lr = columns.pop("lr", None)
    if lr is not None:
        columns["lr"] = lambda t, lr=lr: lr  # a constant schedule, as the engine passes it
    params = np.tile(np.sin(np.arange(dim) + 1.0), (PROBE_RUNS, 1)).astype(dt)  # (2, P), no zeros
    grads = np.tile(np.cos(np.arange(dim) + 1.0), (PROBE_RUNS, 1)).astype(dt)
    opt = optimizer_factory(ref)(**columns)
    state = opt.init(params)
    for t in (1, 2):
        with np.errstate(all="ignore"):
            params, state = opt.update(grads, state, params, t)
        if not np.isfinite(params).all():
            raise PluginError(f"optimizer plugin {ref.attr} ({label}): a probe step (t = {t}) on finite "
                              f"parameters and gradients returned non-finite parameters: {params[0][:4].tolist()}")


def _column(value: Any, dtype: np.dtype) -> Any:
    if isinstance(value, tuple):
        return tuple(_column(v, dtype) for v in value)
    if isinstance(value, float) or (isinstance(value, int) and not isinstance(value, bool)):
        return np.full((PROBE_RUNS, 1), value, dtype=dtype if isinstance(value, float) else np.int64)
    return value


def _read_only(a: Any) -> Any:
    if not isinstance(a, np.ndarray):
        return a
    view = a.view()
    view.flags.writeable = False
    return view


def _reraise_interrupt(exc: BaseException) -> None:
    if isinstance(exc, KeyboardInterrupt):
        raise exc


def _hint(exc: BaseException) -> str:
    text = str(exc)
    if "read-only" in text:
        return "\n  an update must not change its inputs in place; compute new arrays (params - step, not params -= step)"
    if "'function'" in text or "callable" in text:
        return "\n  lr may arrive as a function of t (a schedule): read it with gdlab.lr_at(lr, t, params.dtype)"
    if "truth value of an array" in text:
        return ("\n  a hyperparameter arrives as an (R, 1) column (one value per member), not a number: use "
                "np.where, not if")
    return ""


def _show(value: Any) -> str:
    text = repr(value)
    kind = type(value).__name__
    return f"a {kind} ({text if len(text) <= 60 else text[:57] + '...'})"
