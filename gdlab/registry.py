"""Name -> factory tables with "did you mean" on a miss."""

from __future__ import annotations

import difflib
import inspect
from typing import Any, Callable, Iterator

from .errors import ConfigError


def did_you_mean(word: str, choices: list[str] | tuple[str, ...]) -> str:
    """' (did you mean 'adam'?)' for the closest choice, or '' when nothing is close."""
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


class Registry:
    """A table of named factories of one kind (optimizer, objective, dataset, ...).

    Each entry keeps the factory and a one-line description; the factory's signature is the single place where
    the entry's parameter names and defaults are written.
    """

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, tuple[Callable[..., Any], str]] = {}

    def register(self, name: str, summary: str = "") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def decorate(factory: Callable[..., Any]) -> Callable[..., Any]:
            if name in self._entries:
                raise ValueError(f"{self.kind} '{name}' registered twice")
            self._entries[name] = (factory, summary)
            return factory

        return decorate

    def get(self, name: str, key: str | None = None) -> Callable[..., Any]:
        """The factory called `name`; a ConfigError naming `key`, the value and the choices otherwise."""
        if not isinstance(name, str) or name not in self._entries:
            where = f"{key}: " if key else ""
            raise ConfigError(
                f"{where}unknown {self.kind} {name!r}{did_you_mean(name, self.names())}\n"
                f"  accepted: {', '.join(self.names())}"
            )
        return self._entries[name][0]

    def summary(self, name: str) -> str:
        return self._entries[name][1]

    def defaults(self, name: str) -> dict[str, Any]:
        """Parameter names and default values, read from the factory's signature."""
        return signature_defaults(self.get(name))

    def names(self) -> list[str]:
        return list(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)


def signature_defaults(factory: Callable[..., Any]) -> dict[str, Any]:
    """{name: default} for the keyword parameters of `factory` (parameters without a default map to None)."""
    out = {}
    for p in inspect.signature(factory).parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        out[p.name] = None if p.default is p.empty else p.default
    return out
