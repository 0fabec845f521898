"""Name -> factory tables with "did you mean" on a miss."""

from __future__ import annotations

import difflib
import inspect
from typing import Any, Callable, Iterator

from .errors import ConfigError


def did_you_mean(word: str, choices: list[str] | tuple[str, ...]) -> str:
    """"; did you mean 'adam'?" for the closest choice, or '' when nothing is close.

    Typing mistakes are mostly one swapped, missing or extra letter, so the edit distance with transpositions
    decides first ('adma' -> 'adam', not 'adamax'); difflib's similarity catches the rest.
    """
    word = str(word)
    if not choices:
        return ""

    def rank(choice: str) -> tuple[int, float]:
        return _edit_distance(word.lower(), choice.lower()), -difflib.SequenceMatcher(None, word, choice).ratio()

    best = min(choices, key=rank)
    if rank(best)[0] <= max(1, len(best) // 3):
        return f"; did you mean '{best}'?"
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def _edit_distance(a: str, b: str) -> int:
    """Optimal-string-alignment distance: insertions, deletions, substitutions and adjacent swaps cost 1."""
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


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


class _Required:
    def __repr__(self) -> str:
        return "<required>"


REQUIRED: Any = _Required()  # the "default" of a parameter that has none


def signature_defaults(factory: Callable[..., Any]) -> dict[str, Any]:
    """{name: default} for the keyword parameters of `factory` (REQUIRED where there is no default)."""
    out = {}
    for p in inspect.signature(factory).parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        out[p.name] = REQUIRED if p.default is p.empty else p.default
    return out
