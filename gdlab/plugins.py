"""User code a config names: `my_file.py:factory` (a path relative to the config's folder) or
`package.module:factory` (importable from the config's folder or sys.path, no PYTHONPATH needed).

Two ways to look at a plugin. `read_signature` reads the file's source (Python's ast) for the factory's keyword
arguments and their literal defaults, without running a line of it: what `gdlab validate` and `gdlab list` do.
`load_factory` imports the file and returns the factory: only run, compare, sweep and tune of a config the user
names do that. Whatever the plugin does while importing (an exception, sys.exit) is a ConfigError naming it.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import importlib.util
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from .errors import ConfigError
from .registry import REQUIRED

_ATTR = r"[A-Za-z_]\w*"
_MODULE = re.compile(rf"{_ATTR}(\.{_ATTR})*:{_ATTR}")
_FILE = re.compile(rf"(?P<file>.+\.py):(?P<attr>{_ATTR})")


@dataclass(frozen=True)
class PluginRef:
    """Where a plugin's factory lives; plain values, so a batch carrying it can go to another process."""

    spec: str  # as the config wrote it: "signsgd.py:sign_sgd"
    attr: str  # the factory's name
    path: str | None = None  # file form: the absolute path of the file
    module: str | None = None  # module form: the dotted module name
    base: str | None = None  # the config's folder (module form: searched before sys.path)

    @property
    def resolved(self) -> str:
        """The spec as written to a run directory's config.yaml: an absolute path, found from anywhere."""
        return f"{self.path}:{self.attr}" if self.path else self.spec

    def __str__(self) -> str:
        return self.spec


def is_plugin(name: Any) -> bool:
    """A plugin name has a colon: file.py:factory or package.module:factory."""
    return isinstance(name, str) and ":" in name


def parse_ref(spec: str, base: str | None, key: str) -> PluginRef:
    """The reference `spec` makes from the config's folder `base`; ConfigError for a malformed name or no file."""
    m = _FILE.fullmatch(spec.strip())
    if m:
        path = Path(m["file"]).expanduser()
        if not path.is_absolute():
            path = Path(base or ".") / path
        path = path.resolve()
        if not path.is_file():
            raise ConfigError(f"{key}: plugin file not found: {path} (from {spec!r}; a path is relative to the "
                              f"config's folder)")
        return PluginRef(spec, m["attr"], path=str(path), base=base)
    if _MODULE.fullmatch(spec.strip()):
        module, _, attr = spec.strip().partition(":")
        return PluginRef(spec, attr, module=module, base=base)
    raise ConfigError(f"{key}: {spec!r} is not a plugin name; expected \"my_file.py:factory\" (a file next to the "
                      f"config) or \"package.module:factory\", a colon, then the name of a function")


# ------------------------------------------------------------------------------------------ reading, not running


def source_file(ref: PluginRef, key: str) -> Path:
    """The file that holds the plugin, found without importing anything."""
    if ref.path:
        return Path(ref.path)
    parts = ref.module.split(".")
    for root in ([ref.base] if ref.base else []) + [p or "." for p in sys.path]:
        for candidate in (Path(root, *parts).with_suffix(".py"), Path(root, *parts, "__init__.py")):
            if candidate.is_file():
                return candidate
    raise ConfigError(f"{key}: plugin module {ref.module!r} not found in the config's folder or on sys.path")


@dataclass(frozen=True)
class Signature:
    defaults: dict  # {parameter: default or REQUIRED}, in the order written
    summary: str  # the first line of the factory's docstring


def read_signature(ref: PluginRef, key: str) -> Signature:
    """The factory's parameters and their defaults, read from the source without running it.

    Defaults must be literals (numbers, booleans, None, strings, tuples/lists of those) to be read this way; with
    any other default the factory can only be checked by importing it (`gdlab validate --import-plugins`).
    """
    path = source_file(ref, key)
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError) as exc:
        raise ConfigError(f"{key}: cannot read plugin {ref.spec!r} ({type(exc).__name__}: {exc})") from None
    node = next((n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                 and n.name == ref.attr), None)
    if node is None:
        defined = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
        from .registry import did_you_mean

        raise ConfigError(f"{key}: {path.name} defines no function {ref.attr!r}{did_you_mean(ref.attr, defined)}"
                          + (f"\n  functions in it: {_some(defined)}" if defined else ""))
    args = node.args
    positional = args.posonlyargs + args.args
    padded = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    pairs = list(zip(positional, padded)) + list(zip(args.kwonlyargs, args.kw_defaults))
    defaults = {}
    for arg, default in pairs:
        if default is None:
            defaults[arg.arg] = REQUIRED
            continue
        try:
            value = ast.literal_eval(default)
        except ValueError:
            raise ConfigError(f"{key}: the default of {arg.arg!r} in {ref.attr}() is not a plain value "
                              f"({ast.unparse(default)}); check it by importing: gdlab validate --import-plugins"
                              ) from None
        defaults[arg.arg] = tuple(value) if isinstance(value, list) else value
    doc = ast.get_docstring(node) or ""
    return Signature(defaults, doc.strip().splitlines()[0] if doc.strip() else "")


# ---------------------------------------------------------------------------------------------------- importing

_LOADED: dict[tuple, Any] = {}  # (path, mtime) -> module: a file imported once per process


def load_factory(ref: PluginRef, key: str) -> Callable[..., Any]:
    """Import the plugin and return its factory. Anything the import raises (sys.exit included) is a ConfigError."""
    module = _import_file(ref, key) if ref.path else _import_module(ref, key)
    factory = getattr(module, ref.attr, None)
    if not callable(factory):
        from .registry import did_you_mean

        where = Path(ref.path).name if ref.path else ref.module
        defined = [k for k, v in vars(module).items() if callable(v) and not k.startswith("_")
                   and getattr(v, "__module__", None) == module.__name__]
        raise ConfigError(f"{key}: {where} defines no function {ref.attr!r}{did_you_mean(ref.attr, defined)}"
                          + (f"\n  functions in it: {_some(defined)}" if defined else ""))
    return factory


def is_loaded(ref: PluginRef) -> bool:
    """Whether this process has imported the plugin already (it never is by reading a config alone)."""
    if ref.path:
        return any(path == ref.path for path, _ in _LOADED)
    return ref.module in sys.modules


def _import_file(ref: PluginRef, key: str):
    path = Path(ref.path)
    stamp = (str(path), path.stat().st_mtime_ns)
    if stamp in _LOADED:
        return _LOADED[stamp]
    stem = re.sub(r"\W", "_", path.stem)
    name = f"gdlab_plugin_{hashlib.sha1(str(path).encode()).hexdigest()[:10]}_{stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look the module up while it runs
    with _on_path(str(path.parent)):  # the plugin may import files beside it
        try:
            spec.loader.exec_module(module)
        except BaseException as exc:  # noqa: BLE001 - user code may fail in any way, sys.exit included
            sys.modules.pop(name, None)
            if isinstance(exc, KeyboardInterrupt):
                raise
            raise ConfigError(f"{key}: cannot import plugin {ref.spec!r} ({what_happened(exc)})") from None
    _LOADED[stamp] = module
    return module


def _import_module(ref: PluginRef, key: str):
    with _on_path(ref.base):
        try:
            return importlib.import_module(ref.module)
        except BaseException as exc:  # noqa: BLE001 - user code may fail in any way, sys.exit included
            if isinstance(exc, KeyboardInterrupt):
                raise
            if isinstance(exc, ModuleNotFoundError) and exc.name == ref.module.split(".")[0]:
                raise ConfigError(f"{key}: cannot import plugin module {ref.module!r}: not found in the config's "
                                  f"folder or on sys.path") from None
            raise ConfigError(f"{key}: cannot import plugin module {ref.module!r} ({what_happened(exc)})") from None


class _on_path:
    """`folder` first on sys.path while a plugin is imported (removed again afterwards)."""

    def __init__(self, folder: str | None):
        self.folder = folder

    def __enter__(self):
        if self.folder:
            sys.path.insert(0, self.folder)

    def __exit__(self, *exc):
        if self.folder and self.folder in sys.path:
            sys.path.remove(self.folder)


def _some(names: list[str], limit: int = 12) -> str:
    return ", ".join(names[:limit]) + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def what_happened(exc: BaseException) -> str:
    """What user code did, in a few words: 'ValueError: ...' or 'it called sys.exit(0)'."""
    if isinstance(exc, SystemExit):
        return f"it called sys.exit({exc.code!r})"
    text = str(exc)
    return f"{type(exc).__name__}: {text if len(text) <= 300 else text[:297] + '...'}"
