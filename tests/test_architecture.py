"""The package's shape: wings that import one way, no import circles, matplotlib in figures/ only, short modules.

Imports are read from the source (function-level imports included, since gdlab imports heavy modules lazily), so
a circle hidden inside a function still counts.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "gdlab"

# A wing may import its own modules and the wings of lower rank, never a higher one.
RANK = {
    "errors": 0, "registry": 0, "allocator": 0, "version": 0, "signals": 0, "threads": 0, "plugins": 0,
    "optim": 1, "problems": 1,
    "config": 2,
    "engine": 3, "memory": 3,
    "outputs": 4,
    "figures": 5,
    "runner": 6, "sweeps": 6, "tune": 6, "bench": 6,
    "cli": 7,  # the cli/ package (common, runs, study, views): one wing
    "__init__": 8, "__main__": 8,
}
MAX_LINES = 420  # "no module over ~400 lines"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every gdlab module `path` imports, anywhere in the file."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "gdlab"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "gdlab":
                continue
            for alias in node.names:  # `from . import sgd` imports the module gdlab.optim.sgd
                sub = f"{target}.{alias.name}"
                found.add(sub if _is_module(sub) else target)
    return found - {name}


def _is_module(dotted: str) -> bool:
    rel = Path(*dotted.split(".")[1:])
    return (PACKAGE / rel).with_suffix(".py").is_file() or (PACKAGE / rel / "__init__.py").is_file()


def wing(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


MODULES = sorted(PACKAGE.rglob("*.py"))
GRAPH = {module_name(p): imports_of(p) for p in MODULES}


def test_every_wing_has_a_rank():
    assert {wing(m) for m in GRAPH} <= set(RANK), {wing(m) for m in GRAPH} - set(RANK)


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_imports_flow_one_way(module):
    upward = [t for t in GRAPH[module] if RANK[wing(t)] > RANK[wing(module)]]
    assert not upward, f"{module} imports {upward}, which sit above it (cli -> runner/sweeps -> figures -> outputs " \
                       f"-> engine -> config -> optim/problems -> errors/registry)"


def test_no_import_circles_between_modules():
    # a package's __init__ that re-exports its modules is not part of a circle through them
    graph = {m: {t for t in ts if not m.startswith(t + ".")} for m, ts in GRAPH.items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for t in sorted(graph.get(m, ())):
            if state.get(t) == 1:
                raise AssertionError("import circle: " + " -> ".join(stack[stack.index(t):] + [t]))
            if t not in state:
                visit(t)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)


def test_no_circles_between_wings():
    edges = {(wing(m), wing(t)) for m, ts in GRAPH.items() for t in ts if wing(m) != wing(t)}
    assert not {(a, b) for a, b in edges if (b, a) in edges}


def test_matplotlib_only_in_figures():
    for path in MODULES:
        if module_name(path).startswith("gdlab.figures"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names] + \
                [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        assert not [n for n in names if n.split(".")[0] == "matplotlib"], f"{path} imports matplotlib"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_stay_short(path):
    n = len(path.read_text(encoding="utf-8").splitlines())
    assert n <= MAX_LINES, f"{path.name} has {n} lines; split it by responsibility"
