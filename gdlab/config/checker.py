"""Checks of config values that name the key path, the bad value and what is accepted.

A Checker knows the file and the line of every key (from gdlab.yamlio), so its messages point at the YAML line:
`configs/my.yaml, line 7: optimizer.lr: must be > 0, got -0.1`.
"""

from __future__ import annotations

import math
from typing import Any

from ..errors import ConfigError
from ..registry import REQUIRED, did_you_mean, signature_defaults
from .yamlio import KeyPath, format_path


MAX_INTEGER = 2**53  # whole numbers a float64 still holds exactly: steps, seeds, sizes


class Checker:
    """Builds messages that point at a key path and, where known, its line in the YAML file."""

    def __init__(self, source: str, lines: dict[KeyPath, int], base_dir: str | None = None,
                 import_plugins: bool = False):
        self.source = source
        self.lines = lines
        self.base_dir = base_dir  # where a plugin's relative path starts: the config's folder
        self.import_plugins = import_plugins  # import plugins (run, compare, sweep), or only read their source

    def fail(self, path: KeyPath, message: str) -> ConfigError:
        line = next((self.lines[path[:i]] for i in range(len(path), 0, -1) if path[:i] in self.lines), None)
        if isinstance(line, str):  # the value came from the command line: "--set", "--optimizers"
            where = f"{self.source} (from {line})"
        else:
            where = f"{self.source}, line {line}" if isinstance(line, int) else self.source
        return ConfigError(f"{where}: {format_path(path)}: {message}")

    def mapping(self, value: Any, path: KeyPath, allowed: tuple[str, ...], owner: str = "") -> dict:
        """value checked to be a mapping of allowed keys; owner ("optimizer adam") is named for an unknown key."""
        if not isinstance(value, dict):
            raise self.fail(path, f"expected a mapping of keys, got {show(value)}")
        for key in value:
            if key not in allowed:
                key = key if isinstance(key, str) else str(key)  # `3:` is a key named 3, not a list index
                of = f" of {owner}" if owner else ""
                accepted = f"  accepted: {', '.join(allowed)}" if allowed else "  it takes no keys"
                raise self.fail(path + (key,), f"unknown key{of}{did_you_mean(key, allowed)}\n{accepted}")
        return value

    def integer(self, value: Any, path: KeyPath, minimum: int | None = None) -> int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(path, f"expected a whole number, got {show(value)}")
        if minimum is not None and value < minimum:
            raise self.fail(path, f"must be >= {minimum}, got {show(value)}")
        if abs(value) > MAX_INTEGER:  # NumPy counts in 64 bits; beyond that no run, seed or size makes sense
            raise self.fail(path, f"{show(value)} is too large; at most {MAX_INTEGER:,}")
        return value

    def number(self, value: Any, path: KeyPath) -> float:
        try:
            finite = not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
        except OverflowError:  # an integer of hundreds of digits
            finite = False
        if not finite:
            raise self.fail(path, f"expected a finite number, got {show(value)}")
        return float(value)

    def choice(self, value: Any, path: KeyPath, choices: tuple[str, ...] | list[str]) -> str:
        if value not in choices:
            raise self.fail(path, f"unknown value {show(value)}{did_you_mean(str(value), choices)}\n"
                                  f"  accepted: {', '.join(choices)}")
        return value

    def boolean(self, value: Any, path: KeyPath) -> bool:
        if not isinstance(value, bool):
            raise self.fail(path, f"expected true or false, got {show(value)}")
        return value

    def like_default(self, value: Any, default: Any, path: KeyPath, fixed_length: bool = True) -> Any:
        """`value` checked to have the type of `default` (a bool, a number, or a tuple of numbers).

        fixed_length: a tuple default fixes the length (betas); otherwise any non-empty list of numbers will do.
        """
        if isinstance(default, bool):
            return self.boolean(value, path)
        if isinstance(default, int):
            return self.integer(value, path)
        if isinstance(default, float):
            return self.number(value, path)
        if isinstance(default, tuple) and default and all(isinstance(d, (int, float)) for d in default):
            if not fixed_length and isinstance(value, (list, tuple)) and value:
                default = (0.0,) * len(value)
            if not isinstance(value, (list, tuple)) or len(value) != len(default):
                count = len(default) if fixed_length else "one or more"
                raise self.fail(path, f"expected a list of {count} numbers such as {list(default)}, got {show(value)}")
            return tuple(self.number(v, path + (i,)) for i, v in enumerate(value))
        if isinstance(value, (list, tuple)):
            return tuple(tuple(v) if isinstance(v, list) else v for v in value)
        return value

    def params(self, given: Any, factory, path: KeyPath, what: str, fixed_length: bool = True) -> dict:
        """`given` checked against the parameters of `factory` (or a {name: default} mapping), defaults filled in."""
        defaults = factory if isinstance(factory, dict) else signature_defaults(factory)
        given = {} if given is None else self.mapping(given, path, tuple(defaults))
        out = dict(defaults)
        for key, value in given.items():
            out[key] = self.like_default(value, defaults[key], path + (key,), fixed_length)
        missing = [k for k, v in out.items() if v is REQUIRED]
        if missing:
            raise self.fail(path, f"{what} needs {', '.join(missing)}")
        return out


    def plugin(self, name: str, path: KeyPath):
        """The PluginRef a plugin name makes, relative to the config's folder (a message at `path` if malformed)."""
        from ..plugins import parse_ref

        try:
            return parse_ref(name, self.base_dir, format_path(path))
        except ConfigError as exc:
            raise self.fail(path, without_key(exc)) from None

    def plugin_parameters(self, ref, path: KeyPath) -> dict:
        """{parameter: default} of a plugin's factory: from its signature once imported, else from its source."""
        from ..plugins import load_factory, read_signature

        try:
            if self.import_plugins:
                return signature_defaults(load_factory(ref, format_path(path)))
            return read_signature(ref, format_path(path)).defaults
        except ConfigError as exc:
            raise self.fail(path, without_key(exc)) from None


def without_key(exc: ConfigError) -> str:
    """A lower layer's message without its leading 'problem.x: ' (the checker adds the key and the line)."""
    return str(exc).split(": ", 1)[-1]


def show(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, str):
        return repr(value)
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
