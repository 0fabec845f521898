"""Sweep grids: `--grid optimizer.lr=0.01,0.1` or `linspace(a,b,n)` / `logspace(a,b,n)`, expanded as a product.

A grid is an ordered list of axes (key path, values). Member i of the product takes, for each axis, the value at
its index; the last axis varies fastest (as itertools.product). Members are named deterministically:
`momentum[lr=0.4,momentum=0.5]`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import yaml

from ..errors import ConfigError
from .yamlio import KeyPath, format_path, parse_path, parse_yaml

MAX_MEMBERS = 10_000_000
_RANGE = re.compile(r"^\s*(linspace|logspace)\s*\(([^)]*)\)\s*$")


@dataclass(frozen=True)
class Axis:
    path: KeyPath
    values: tuple  # numbers, bools or text, in the order given
    source: str | None = None  # "linspace(0.01,1,100000)" when given as a range: written back as such

    @property
    def as_written(self):
        """What config.yaml records: the range's text, or the list of values."""
        return self.source if self.source is not None else list(self.values)

    @property
    def key(self) -> str:
        return format_path(self.path)

    @property
    def short(self) -> str:
        """The name used in member labels and summary columns: `lr` for optimizer.lr, else the full key."""
        return self.key.removeprefix("optimizer.")

    @property
    def numeric(self) -> bool:
        return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in self.values)


def parse_values(text: str, flag: str) -> list:
    """'0.1,0.2' | 'linspace(0.01,1,100)' | 'logspace(-4,0,50)' | '[0.1, 0.2]' -> list of values."""
    m = _RANGE.match(text)
    if m:
        kind, args = m.groups()
        parts = [a.strip() for a in args.split(",")]
        try:
            a, b, n = float(parts[0]), float(parts[1]), int(parts[2])
            if len(parts) != 3 or n < 1 or not (math.isfinite(a) and math.isfinite(b)):
                raise ValueError
        except (ValueError, IndexError):
            raise ConfigError(f"{flag}: {kind}({args}) needs three numbers: finite start and stop, count >= 1, "
                              f"e.g. {kind}({'0.01,1,100' if kind == 'linspace' else '-4,0,50'})") from None
        if n > MAX_MEMBERS:  # checked before anything is expanded
            raise ConfigError(f"{flag}: {kind}({args}) asks for {n:,} values; a grid has at most {MAX_MEMBERS:,} "
                              f"members")
        with np.errstate(over="ignore"):
            values = np.linspace(a, b, n) if kind == "linspace" else np.logspace(a, b, n)
        if not np.isfinite(values).all():
            raise ConfigError(f"{flag}: {kind}({args}) gives values beyond the range of floating-point numbers")
        return values.tolist()
    try:
        parsed = parse_yaml(f"[{text.strip().strip('[]')}]")[0]
    except (yaml.YAMLError, RecursionError):
        parsed = None
    if not isinstance(parsed, list) or not parsed or any(v is None for v in parsed):
        raise ConfigError(f"{flag}: expected comma-separated values, linspace(a,b,n) or logspace(a,b,n); got {text!r}")
    return parsed


def parse_grid_option(text: str) -> Axis:
    """One `--grid KEY=VALUES` option."""
    key, sep, values = text.partition("=")
    if not sep or not key.strip() or not values.strip():
        raise ConfigError(f"--grid {text!r}: expected KEY=V1,V2,... or KEY=linspace(a,b,n), "
                          f"for example --grid optimizer.lr=0.01,0.1,0.4")
    flag = f"--grid {key.strip()}"
    return Axis(parse_path(key, "--grid"), tuple(parse_values(values, flag)), _range_text(values))


def _range_text(text) -> str | None:
    return re.sub(r"\s+", "", text) if isinstance(text, str) and _RANGE.match(text) else None


def grid_axes(config_sweep: dict, options: list[str]) -> list[Axis]:
    """The config's `sweep:` axes, then the command line's (which replace config axes of the same key)."""
    axes = {}
    for key, values in config_sweep.items():
        source = _range_text(values)
        if isinstance(values, str):
            values = parse_values(values, f"sweep.{key}")
        path = parse_path(str(key), "sweep:")
        axes[path] = Axis(path, tuple(values), source)
    for text in options:
        axis = parse_grid_option(text)
        axes[axis.path] = axis
    out = list(axes.values())
    if not out:
        raise ConfigError("sweep: no grid: give --grid KEY=V1,V2,... or a `sweep:` mapping in the config")
    for axis in out:
        if len(set(map(repr, axis.values))) < len(axis.values):
            raise ConfigError(f"--grid {axis.key}: values repeat; each value once")
    size = math.prod(len(a.values) for a in out)  # the product is never expanded beyond this check
    if size > MAX_MEMBERS:
        raise ConfigError(f"sweep: the grid has {size:,} members; at most {MAX_MEMBERS:,}")
    return out


def member_indices(axes: list[Axis]) -> np.ndarray:
    """(n_axes, R) value indices of every member, in product order (last axis fastest)."""
    shape = tuple(len(a.values) for a in axes)
    return np.indices(shape).reshape(len(axes), -1)


def member_labels(optimizer: str, axes: list[Axis], idx: np.ndarray) -> list[str]:
    """`momentum[lr=0.4,momentum=0.5]` for every member; idx (n_axes, R) holds their value indices."""
    parts = [[f"{a.short}={_fmt(v)}" for v in a.values] for a in axes]  # formatted once per value, not per member
    columns = [[p[i] for i in row] for p, row in zip(parts, idx.tolist())]
    return [f"{optimizer}[{','.join(cells)}]" for cells in zip(*columns)]


def _fmt(v: Any) -> str:
    return f"{v:.6g}" if isinstance(v, float) else str(v)
