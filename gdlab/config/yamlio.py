"""Reading YAML with the line of every key, and applying `--set key.path=value` overrides.

Key paths are tuples such as ("optimizers", 1, "lr"); `format_path` renders them as "optimizers[1].lr".
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError

KeyPath = tuple  # of str (mapping keys) and int (list indices)


def format_path(path: KeyPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def parse_path(text: str, flag: str = "--set") -> KeyPath:
    """'optimizers[1].lr' or 'optimizers.1.lr' -> ("optimizers", 1, "lr"); `flag` names the option in messages."""
    parts: list = []
    for token in re.split(r"\.(?![^\[]*\])", text.strip()):
        m = re.fullmatch(r"([^\[\]]*)((?:\[\d+\])*)", token)
        if not token or not m:
            raise ConfigError(f"{flag} {text!r}: malformed key (expected dotted names such as optimizer.lr)")
        name, indices = m.groups()
        if name:
            parts.append(int(name) if name.isdigit() else name)
        parts.extend(int(i) for i in re.findall(r"\[(\d+)\]", indices))
    if not parts or any(p == "" for p in parts):
        raise ConfigError(f"{flag} {text!r}: malformed key (expected dotted names such as optimizer.lr)")
    return tuple(parts)


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, reading numbers as YAML 1.2 does: `1e-3` is a float, as everyone writes learning rates
    (YAML 1.1, PyYAML's default, wants a dot: `1.0e-3`, and reads `1e-3` as text)."""


_FLOAT = "tag:yaml.org,2002:float"
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _FLOAT]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    _FLOAT,
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |[-+]?\.[0-9][0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


# PyYAML's words for the mistakes people make most, and what they mean in a config
_HINTS = {
    "expected <block end>": "\n  check the indentation: the keys of one mapping start in the same column",
    "mapping values are not allowed": "\n  a `key:` where a value was expected: is a colon missing on the line above, "
                                      "or does a value hold a colon (quote it)?",
    "found character '\\t'": "\n  YAML indents with spaces, not tabs",
    "could not find expected ':'": "\n  a key needs a colon and a space after it (`lr: 0.1`)",
}


# A config holds a few hundred values. Aliases (*name) repeat an anchored value without copying its text, so 400
# bytes of nested aliases can stand for a billion values ("billion laughs"); what the document expands to is
# bounded before anything walks it.
MAX_VALUES = 1_000_000
MAX_BYTES = 16 * 1024 * 1024


def parse_yaml(text: str) -> tuple[Any, yaml.Node | None]:
    """The document in `text` and its node tree; raises yaml.YAMLError, RecursionError (absurd nesting) or
    ConfigError (a document that is, or expands through aliases to, more than a config could hold)."""
    if len(text) > MAX_BYTES:
        raise ConfigError(f"{len(text):,} characters of YAML is far more than a config; at most {MAX_BYTES:,}")
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            _expanded_size(node, {}, set())
        return (loader.construct_document(node) if node is not None else None), node
    except ValueError as exc:  # a scalar PyYAML resolves but cannot construct
        raise yaml.YAMLError(f"cannot read a value: {exc}") from None
    finally:
        loader.dispose()


def _expanded_size(node: yaml.Node, sizes: dict[int, int], open_: set[int]) -> int:
    """How many values `node` stands for once every alias is expanded (each shared node counted once per use)."""
    key = id(node)
    if key in sizes:
        return sizes[key]
    if key in open_:
        return 1  # a node inside itself: refused with its key and line by the caller
    open_.add(key)
    size = 1
    if isinstance(node, yaml.MappingNode):
        size += sum(_expanded_size(k, sizes, open_) + _expanded_size(v, sizes, open_) for k, v in node.value)
    elif isinstance(node, yaml.SequenceNode):
        size += sum(_expanded_size(item, sizes, open_) for item in node.value)
    open_.discard(key)
    if size > MAX_VALUES:
        line = node.start_mark.line + 1
        raise ConfigError(f"line {line}: the YAML expands through its aliases (*name) to more than {MAX_VALUES:,} "
                          f"values; a config holds a few hundred")
    sizes[key] = size
    return size


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
        data, node = parse_yaml(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = exc.problem or str(exc)
        hint = next((h for key, h in _HINTS.items() if key in problem), "")
        raise ConfigError(f"{path}{where}: YAML syntax error: {problem}{hint}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: YAML error: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: the YAML is nested too deeply to be a config") from None
    except ConfigError as exc:
        raise ConfigError(f"{path}, {exc}" if str(exc).startswith("line") else f"{path}: {exc}") from None
    lines: dict[KeyPath, int] = {}
    try:
        _collect_lines(node, (), lines, set())
    except ConfigError as exc:
        raise ConfigError(f"{path}, {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: the YAML is nested too deeply to be a config") from None
    return data, lines


def _collect_lines(node: yaml.Node | None, path: KeyPath, lines: dict[KeyPath, int], ancestors: set[int]) -> None:
    """Record the line of every key; reject duplicate keys and anchors that contain themselves."""
    if node is None:
        return
    line = node.start_mark.line + 1
    if id(node) in ancestors:
        raise ConfigError(f"line {line}: {format_path(path)} refers to itself through an anchor (&) and alias (*)")
    lines.setdefault(path, line)
    if isinstance(node, yaml.MappingNode):
        seen: dict = {}
        for key_node, value_node in node.value:
            key = key_node.value
            key_line = key_node.start_mark.line + 1
            if key in seen:
                raise ConfigError(f"line {key_line}: {format_path(path + (key,))} is given twice "
                                  f"(first on line {seen[key]}); keep one")
            seen[key] = key_line
            lines[path + (key,)] = key_line
            _collect_lines(value_node, path + (key,), lines, ancestors | {id(node)})
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _collect_lines(item, path + (i,), lines, ancestors | {id(node)})


def parse_assignment(text: str, flag: str = "--set") -> tuple[KeyPath, Any]:
    """'optimizer.lr=0.6' -> (("optimizer", "lr"), 0.6); the value is parsed as YAML."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"{flag} {text!r}: expected KEY=VALUE, for example {flag} optimizer.lr=0.6")
    try:
        parsed = parse_yaml(value)[0] if value.strip() else None
    except (yaml.YAMLError, RecursionError):
        parsed = value  # not YAML: keep the text, validation says whether text is acceptable there
    return parse_path(key), parsed


def apply_override(data: dict, path: KeyPath, value: Any, text: str, flag: str = "--set") -> dict:
    """A copy of `data` with the value at `path` replaced (mappings on the way are created)."""
    data = copy.deepcopy(data)
    node: Any = data
    for i, part in enumerate(path):
        last = i == len(path) - 1
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                size = len(node) if isinstance(node, list) else 0
                raise ConfigError(
                    f"{flag} {text}: {format_path(path[:i + 1])} does not exist "
                    f"({format_path(path[:i]) or 'it'} has {size} entries)"
                )
        elif not isinstance(node, dict):
            raise ConfigError(f"{flag} {text}: {format_path(path[:i])} is not a mapping")
        if last:
            node[part] = value
        else:
            if isinstance(node, dict) and isinstance(node.get(part), str):
                node[part] = {"name": node[part]}  # `optimizer: adam` is short for `optimizer: {name: adam}`
            elif isinstance(node, dict) and not isinstance(node.get(part), (dict, list)):
                node[part] = {}
            node = node[part]
    return data
