"""Variants of a sweep: the members that share a config entry and every structural value, each one validated
single-optimizer config. Structural values are applied to the config as written (not the resolved one), so that
a swept optimizer or schedule starts from its own defaults; settings it lacks are dropped and reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config import Config, member_config, validate
from ..config.grid import Axis
from ..config.yamlio import KeyPath, apply_override, format_path
from ..errors import ConfigError
from .members import Members


@dataclass
class Variant:
    """Members that share an entry and every structural value: one validated single-optimizer config."""

    config: Config
    entry: int
    rows: np.ndarray  # (n,) member positions
    warnings: list[str]
    optimizer_label: str  # what member names start with


@dataclass
class Variants:
    signatures: list[Variant]
    of_member: np.ndarray  # (R,) variant number of each member


def find_variants(cfg: Config, members: Members, vector: list[bool]) -> Variants:
    structural = [j for j, v in enumerate(vector) if not v]
    columns = np.vstack([members.entry[None, :], members.index[structural] + 1])  # +1: -1 (does not apply) -> 0
    sizes = [len(members.entry_labels) or 1] + [len(members.axes[j].values) + 1 for j in structural]
    of_member, firsts = first_seen_codes(np.ravel_multi_index(columns, sizes))
    rows_of = np.argsort(of_member, kind="stable")
    bounds = np.searchsorted(of_member[rows_of], np.arange(len(firsts) + 1))
    signatures = []
    for v, first in enumerate(firsts.tolist()):
        rows = rows_of[bounds[v]:bounds[v + 1]]
        signatures.append(_variant(cfg, members, vector, int(members.entry[first]), members.index[:, first], rows))
    return Variants(signatures, of_member)


def first_seen_codes(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each distinct code numbered in the order it first appears: (number of each element (R,), first elements)."""
    _, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
    order = np.argsort(first)
    renumber = np.empty_like(order)
    renumber[order] = np.arange(len(order))
    return renumber[inverse.ravel()], first[order]


def _variant(cfg: Config, members: Members, vector: list[bool], m: int, at: np.ndarray, rows: np.ndarray) -> Variant:
    """Entry m with the structural values at `at` applied, validated; vectorized axes checked at their extremes."""
    applying = [j for j in range(len(members.axes)) if at[j] >= 0]
    assigned = [(j, members.axes[j].values[at[j]]) for j in applying if not vector[j]]
    data, warnings = _entry_data(cfg, members, m, assigned)
    where = ", ".join(f"{members.axes[j].key}={value!r}" for j, value in assigned)
    config = _checked(cfg, data, f"--grid {where}" if where else "--grid")
    for j in applying:
        if vector[j]:
            axis = members.axes[j]
            for value in (min(axis.values), max(axis.values)):
                probe = _apply(data, members.write_path(j, m), value, axis, cfg, m)
                _checked(cfg, probe, f"--grid {axis.key}={value!r}" + (f" (with {where})" if where else ""))
    name_swept = any(members.kinds[j] == "optimizer" and members.rest[j] == ("name",) for j, _ in assigned)
    prefix = members.entry_labels[m] if members.entry_labels and not name_swept else short_name(config.optimizers[0])
    return Variant(config, m, rows, warnings, prefix)


def short_name(o) -> str:
    """How member names call an optimizer: its registered name, or a plugin's factory name."""
    return o.name if o.plugin is None else o.plugin.attr


def _entry_data(cfg: Config, members: Members, m: int, assigned: list) -> tuple[dict, list[str]]:
    """The single-optimizer mapping of entry m with structural values applied, and what was dropped on the way.

    When an optimizer's (or a schedule's) name is swept, settings the config gives that the new one does not take
    are left out (and reported); settings an axis sweeps must apply, or the grid is an error naming both.
    """
    from ..config.optimizers import ENTRY_KEYS, optimizer_parameters
    from ..optim.schedules import SCHEDULES
    from ..registry import signature_defaults

    data = members.entry_data(m)
    for j, value in assigned:
        data = _apply(data, members.write_path(j, m), value, members.axes[j], cfg, m)
    paths = [members.write_path(j, m) for j in members.applying_to_entry(m)]
    renamed = {path[:-1] for path in paths if path[-1] == "name"}  # names are never vectorized
    warnings = []
    for where in sorted(renamed, key=len):
        node = _lookup(data, where)
        if not isinstance(node, dict):
            continue
        name = node.get("name")
        if where == ("optimizer",):
            accepted, keep, what = optimizer_parameters(name, cfg.origin), ENTRY_KEYS, "hyperparameter"
        else:
            accepted = signature_defaults(SCHEDULES.get(name)) if isinstance(name, str) and name in SCHEDULES else None
            keep, what = ("name",), "parameter"
        if accepted is None:
            continue  # an unknown name: validation says so, with "did you mean"
        swept = {path[len(where)] for path in paths if path[:len(where)] == where and len(path) > len(where)}
        for key in sorted(swept - set(keep) - set(accepted)):
            raise ConfigError(f"--grid {format_path(where + (key,))}: does not apply to {name} (swept with "
                              f"{format_path(where + ('name',))}={name}), which has no {what} {key!r}")
        for key in [k for k in node if k not in keep and k not in accepted]:
            warnings.append(f"{format_path(where + ('name',))}={name}: {key}={node[key]!r} from the config does "
                            f"not apply to {name}; it runs without it")
        node = {k: v for k, v in node.items() if k in keep or k in accepted}
        if where == ("optimizer",):
            node.pop("label", None)  # the entry's label named the optimizer that was swept away
        data = apply_override(data, where, node, format_path(where))
    return data, warnings


def _apply(data: dict, path: KeyPath, value, axis: Axis, cfg: Config, m: int) -> dict:
    """`data` with `value` at `path`; a list the path indexes into (betas[0], problem.init[1]) that the config does
    not write out is filled in first with its resolved value (the default)."""
    for i in range(1, len(path)):
        if isinstance(path[i], int) and _lookup(data, path[:i]) is None:
            resolved = _lookup(member_config(cfg, cfg.optimizers[m]), path[:i])
            if resolved is None and path[0] == "optimizer":  # a swept-in optimizer's default
                from ..config.optimizers import optimizer_parameters

                resolved = (optimizer_parameters(_lookup(data, ("optimizer", "name")), cfg.origin) or {}).get(path[1])
            if isinstance(resolved, (list, tuple)):
                data = apply_override(data, path[:i], list(resolved), axis.key)
    return apply_override(data, path, value, f"{axis.key}={value}")


def _lookup(data, path: KeyPath):
    node = data
    for part in path:
        if isinstance(part, int) and isinstance(node, list) and part < len(node):
            node = node[part]
        elif isinstance(part, str) and isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return None
    return node


def _checked(cfg: Config, data: dict, where: str) -> Config:
    o = cfg.origin
    try:
        return validate(data, name=cfg.name, source=o.source if o else "config",
                        base_dir=o.base_dir if o else None, import_plugins=o.import_plugins if o else False)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def is_vector_in(v: Variant, members: Members, j: int) -> bool:
    """Whether axis j's key holds a number that may vary per member in variant v (True where j does not apply)."""
    if j not in members.applying_to_entry(v.entry):
        return True
    c = v.config
    kind, rest = members.kinds[j], members.rest[j]
    if kind == "optimizer" and rest[0] != "schedule":
        value = c.optimizers[0].hparams.get(rest[0])
        if len(rest) == 2:
            return isinstance(value, tuple) and rest[1] < len(value) and isinstance(value[rest[1]], float)
        return isinstance(value, float)
    if kind in ("optimizer", "schedule"):
        key = rest[1] if kind == "optimizer" else members.axes[j].path[1]
        value = c.member_schedule(c.optimizers[0])[1].get(key)
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    p = members.axes[j].path
    if p == ("seed",):  # a repetition axis: every problem takes one seed per member
        return True
    if c.problem.kind != "objective":
        return False
    if p[1] == "params":
        return isinstance(c.problem.params.get(p[2]), (int, float)) and not isinstance(c.problem.params.get(p[2]), bool)
    return isinstance(p[2], int) and p[2] < len(c.problem.init)


