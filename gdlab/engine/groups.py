"""Members grouped for one optimizer call each: hyperparameters as per-member columns, a learning rate per group.

Members that use the same optimizer (and the same structural options: flags such as nesterov or amsgrad, texts
such as variant) share one update call with their hyperparameters as (G, 1) columns, G the number of members in
the group; there is no Python loop over members.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..errors import PluginError
from ..optim.plugins import optimizer_factory
from ..optim.schedules import SCHEDULES

WIDE = 64  # parameters per member from which row-wise reductions go through BLAS
NARROW = 8  # ... and up to which they go column by column (NumPy reduces a short last axis slowly)


@dataclass(frozen=True)
class Member:
    label: str
    optimizer: Any  # a registered name, or a plugin reference (gdlab.plugins.PluginRef)
    hparams: dict  # every hyperparameter, defaults filled in (floats, tuples of floats, bools)
    schedule: tuple | None = None  # (name, params) of the member's own schedule; None: the stack's


@dataclass(frozen=True)
class GroupSpec:
    """Members that share one optimizer call: their indices on the runs axis and their hyperparameters.

    A hyperparameter is one value for the whole group (a float, a bool, a text, a tuple such as betas) or an
    array of shape (G,) with one value per member (a sweep). Booleans and texts (variant) change the algorithm
    and must be shared.
    schedule: (name, params) with each parameter shared or (G,) per member; None: the stack's schedule.
    """

    optimizer: Any  # a registered name, or a plugin reference (gdlab.plugins.PluginRef)
    index: np.ndarray  # (G,) member indices
    hparams: dict
    schedule: tuple | None = None


@dataclass
class Group:
    """A GroupSpec made ready to step: an index (slice when contiguous), its lr and optimizer state."""

    index: Any  # slice or index array into the runs axis
    size: int
    lr_at: Callable[[int], Any]  # t -> the learning rate of update t, (G, 1), in the parameters' dtype
    lr_logged: Callable[[int], Any]  # the same in float64, for the metrics (0.05, not 0.05000000074505806)
    update: Callable
    state: Any
    failure: str | None = None  # why a plugin's group stopped (its members are "failed"); None while it runs

    def fail(self, reason: str) -> None:
        """From now on the group's members hold their parameters (they are frozen and unread)."""
        self.failure = reason
        self.update = _hold


def group_key(member: Member) -> tuple:
    """Members with equal keys can share an update call: same optimizer, same structural options (booleans such
    as nesterov, texts such as variant), same schedule."""
    flags = tuple(sorted((k, v) for k, v in member.hparams.items() if isinstance(v, (bool, str, int))))
    schedule = None if member.schedule is None else (member.schedule[0], repr(sorted(member.schedule[1].items())))
    return (member.optimizer, flags, schedule)


def groups_of(members: list[Member]) -> list[GroupSpec]:
    """Members of a compare grouped by optimizer and flags, each hyperparameter as a (G,) array or a shared value."""
    keys: dict[tuple, list[int]] = {}
    for i, m in enumerate(members):
        keys.setdefault(group_key(m), []).append(i)
    specs = []
    for indices in keys.values():
        ms = [members[i] for i in indices]
        hp = {k: _per_member([m.hparams[k] for m in ms]) for k in ms[0].hparams}
        specs.append(GroupSpec(ms[0].optimizer, np.asarray(indices), hp, ms[0].schedule))
    return specs


def _per_member(values: list) -> Any:
    if isinstance(values[0], (bool, str, int)) or values[0] is None:  # shared by the group (see group_key)
        return values[0]
    if isinstance(values[0], tuple):
        return tuple(_per_member([v[i] for v in values]) for i in range(len(values[0])))
    return np.asarray(values, dtype=float)


def _column(value: Any, size: int, dtype, width: int = 1) -> Any:
    """A hyperparameter as a (G, width) block of the parameters' dtype; tuples as tuples of blocks.

    width 1 broadcasts along long parameter rows; for a few parameters per member the block is as wide as the
    row, because NumPy multiplies an (R, 2) array by an (R, 1) column five times slower than by an (R, 2) one.
    """
    if isinstance(value, tuple):
        return tuple(_column(v, size, dtype, width) for v in value)
    if isinstance(value, (bool, str, int)) or value is None:  # an integer setting (a plugin's) stays a number
        return value
    # the same block whether the value is shared or per member: a member's arithmetic does not depend on it
    return np.broadcast_to(np.asarray(value, dtype=dtype).reshape(-1, 1), (size, width)).copy()


def as_index(idx: np.ndarray) -> Any:
    """Member indices as a slice when they are contiguous (views and cheap assignment), else as they are."""
    if len(idx) and np.array_equal(idx, np.arange(idx[0], idx[0] + len(idx))):
        return slice(int(idx[0]), int(idx[0]) + len(idx))
    return idx


def build_groups(specs: list[GroupSpec], params: np.ndarray, schedule: Callable, total: int) -> list[Group]:
    """Each GroupSpec made ready to step; `schedule` serves the groups without one of their own."""
    groups = []
    for spec in specs:
        size = len(spec.index)
        index = as_index(np.asarray(spec.index))
        width = params.shape[1] if params.shape[1] <= NARROW else 1
        hp = {k: _column(v, size, params.dtype, width) for k, v in spec.hparams.items()}
        base_lr = hp.pop("lr")
        base_lr64 = _column(spec.hparams["lr"], size, np.float64)
        factor = schedule if spec.schedule is None else _group_schedule(spec.schedule, size)

        def lr_at(t: int, base_lr=base_lr, factor=factor, dtype=params.dtype) -> np.ndarray:
            f = factor(t - 1, total)  # a float, or (G, 1) float64 when the schedule's parameters vary per member
            return base_lr * (f.astype(dtype) if isinstance(f, np.ndarray) else f)

        def lr_logged(t: int, base_lr=base_lr64, factor=factor) -> np.ndarray:
            return base_lr * factor(t - 1, total)

        group = Group(index, size, lr_at, lr_logged, _hold, None)
        try:
            opt = optimizer_factory(spec.optimizer)(lr=lr_at, **hp)
            group.update, group.state = opt.update, opt.init(params[index])
        except PluginError as exc:  # a plugin failing on the real stack after its probe passed
            group.fail(str(exc))
        groups.append(group)
    return groups


def _hold(grads, state, params, t):
    """The update of a failed group: its members keep their parameters."""
    return params, state


def make_schedule(name: str, params: dict) -> Callable[[int, int], Any]:
    return SCHEDULES.get(name)(**params)


def _group_schedule(schedule: tuple, size: int) -> Callable[[int, int], Any]:
    """A group's own schedule; per-member parameters ((G,) arrays) become (G, 1) float64 columns."""
    name, params = schedule
    return make_schedule(name, {k: np.asarray(v, dtype=np.float64).reshape(size, 1) if isinstance(v, np.ndarray)
                                else v for k, v in params.items()})


def current_lr(groups: list[Group], t: int, n: int) -> np.ndarray:
    """The learning rate each member uses at update t (after the schedule), shape (R,)."""
    lr = np.empty(n)
    for g in groups:
        lr[g.index] = np.broadcast_to(g.lr_logged(t), (g.size, 1))[:, 0]
    return lr


