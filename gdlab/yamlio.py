"""Reading YAML with the line of every key, and applying `--set key.path=value` overrides.

Key paths are tuples such as ("optimizers", 1, "lr"); `format_path` renders them as "optimizers[1].lr".
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError

KeyPath = tuple  # of str (mapping keys) and int (list indices)


def format_path(path: KeyPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def parse_path(text: str) -> KeyPath:
    """'optimizers[1].lr' or 'optimizers.1.lr' -> ("optimizers", 1, "lr")."""
    parts: list = []
    for token in re.split(r"\.(?![^\[]*\])", text.strip()):
        m = re.fullmatch(r"([^\[\]]*)((?:\[\d+\])*)", token)
        if not token or not m:
            raise ConfigError(f"--set {text!r}: malformed key (expected dotted names such as optimizer.lr)")
        name, indices = m.groups()
        if name:
            parts.append(int(name) if name.isdigit() else name)
        parts.extend(int(i) for i in re.findall(r"\[(\d+)\]", indices))
    if not parts or any(p == "" for p in parts):
        raise ConfigError(f"--set {text!r}: malformed key (expected dotted names such as optimizer.lr)")
    return tuple(parts)


def load_yaml(path: Path) -> tuple[Any, dict[KeyPath, int]]:
    """The document in `path` and a map from key paths to 1-based line numbers."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except IsADirectoryError:
        raise ConfigError(f"config path is a directory, not a file: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    if not text.strip() or all(ln.strip().startswith("#") or not ln.strip() for ln in text.splitlines()):
        raise ConfigError(f"{path}: the config file is empty (expected a mapping with at least `problem:`)")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{path}{where}: YAML syntax error: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: YAML error: {exc}") from None
    lines: dict[KeyPath, int] = {}
    _collect_lines(node, (), lines)
    return data, lines


def _collect_lines(node: yaml.Node | None, path: KeyPath, lines: dict[KeyPath, int]) -> None:
    if node is None:
        return
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            lines[path + (key,)] = key_node.start_mark.line + 1
            _collect_lines(value_node, path + (key,), lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _collect_lines(item, path + (i,), lines)


def parse_assignment(text: str, flag: str = "--set") -> tuple[KeyPath, Any]:
    """'optimizer.lr=0.6' -> (("optimizer", "lr"), 0.6); the value is parsed as YAML."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"{flag} {text!r}: expected KEY=VALUE, for example {flag} optimizer.lr=0.6")
    try:
        parsed = yaml.safe_load(value) if value.strip() else None
    except yaml.YAMLError:
        parsed = value  # not YAML: keep the text, validation says whether text is acceptable there
    return parse_path(key), parsed


def apply_override(data: dict, path: KeyPath, value: Any, text: str) -> dict:
    """A copy of `data` with the value at `path` replaced (mappings on the way are created)."""
    data = copy.deepcopy(data)
    node: Any = data
    for i, part in enumerate(path):
        last = i == len(path) - 1
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                size = len(node) if isinstance(node, list) else 0
                raise ConfigError(
                    f"--set {text}: {format_path(path[:i + 1])} does not exist "
                    f"({format_path(path[:i]) or 'it'} has {size} entries)"
                )
        elif not isinstance(node, dict):
            raise ConfigError(f"--set {text}: {format_path(path[:i])} is not a mapping")
        if last:
            node[part] = value
        else:
            if isinstance(node, dict) and not isinstance(node.get(part), (dict, list)):
                node[part] = {}
            node = node[part]
    return data
