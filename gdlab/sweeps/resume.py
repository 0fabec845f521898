"""Resuming a sweep: what a sweep directory and the program resuming it must agree on.

A sweep records in RUN/.batches/plan.json (outputs/batch_records.py), when it starts: its resolved config, the
code that runs it (gdlab's version and a hash of its sources, NumPy's version) and how its members were cut into
batches. `gdlab sweep --resume RUN` plans the sweep again from RUN/config.yaml, refuses when anything of that
differs (naming it: results computed by other code or for another config would not be those of one sweep), and
runs only the batches that have no record yet.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..outputs.batch_records import read_plan
from ..version import __version__

PLAN_FORMAT = 1
SHOWN = 70  # characters of a value shown in a difference


def code_hash() -> str:
    """A hash of gdlab's own source files (a changed line changes it, even without a new version number)."""
    package = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def identity(written_config: dict) -> dict:
    """What a resume must find unchanged: the resolved config and the code that computes it (as JSON holds it:
    tuples as lists, so that it compares equal to what plan.json gives back)."""
    return json.loads(json.dumps({"format": PLAN_FORMAT, "config": written_config, "gdlab_version": __version__,
                                  "code": code_hash(), "numpy_version": np.__version__}))


def check_same(recorded: dict, current: dict, run_dir: Path, kind: str = "sweep") -> None:
    """ConfigError naming every difference between the identity a sweep (tune, bench) started with and the
    current one."""
    problems = []
    if recorded.get("format") != current["format"]:
        problems.append(f"its record format is {recorded.get('format')!r}; this gdlab writes {current['format']}")
    for key, what in (("gdlab_version", "gdlab version"), ("code", "gdlab source code (hash)"),
                      ("numpy_version", "NumPy version")):
        if recorded.get(key) != current[key]:
            problems.append(f"{what}: {recorded.get(key)} when it started, {current[key]} now")
    for path, then, now in config_differences(recorded.get("config"), current["config"]):
        problems.append(f"config {path}: {_short(then)} when it started, {_short(now)} now")
    if problems:
        lines = "\n  ".join(problems)
        raise ConfigError(f"--resume {run_dir}: cannot resume, the {kind} would not be the one that started:\n  "
                          f"{lines}\n  (start a new {kind} instead)")


def config_differences(then: Any, now: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """(dotted key, value then, value now) for every leaf where two config mappings differ."""
    if isinstance(then, dict) and isinstance(now, dict):
        out = []
        for key in list(then) + [k for k in now if k not in then]:
            sub = f"{path}.{key}" if path else str(key)
            out += config_differences(then.get(key, _MISSING), now.get(key, _MISSING), sub)
        return out
    if isinstance(then, list) and isinstance(now, list) and len(then) == len(now):
        return [d for i, (a, b) in enumerate(zip(then, now)) for d in config_differences(a, b, f"{path}[{i}]")]
    return [] if _same(then, now) else [(path or "(the whole config)", then, now)]


class _Missing:
    def __repr__(self) -> str:
        return "(absent)"


_MISSING = _Missing()


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True  # nan in both
    return type(a) is type(b) and a == b if isinstance(a, (bool, int, float)) else a == b


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= SHOWN else text[:SHOWN - 3] + "..."


def resumable_record(run_dir: Path, kind: str) -> dict:
    """What a sweep, tune or bench directory recorded when it started; ConfigError when it cannot be resumed
    (it finished, it is not gdlab's, or another command wrote it: the message names the one to use)."""
    record = read_plan(run_dir) if run_dir.is_dir() else None
    if record is None:
        raise ConfigError(f"--resume {run_dir}: not a {kind} directory that can be resumed (no .batches/plan.json: "
                          f"it finished, or it was not written by gdlab {kind})")
    if record.get("kind", "sweep") != kind:
        raise ConfigError(f"--resume {run_dir}: written by gdlab {record.get('kind', 'sweep')}; resume it with "
                          f"gdlab {record.get('kind', 'sweep')} --resume {run_dir}")
    return record


def recorded_source(record: dict, run_dir: Path, kind: str) -> str:
    """The config (or suite) file a sweep, tune or bench was started from; ConfigError when it cannot be found."""
    if not record.get("source"):
        raise ConfigError(f"--resume {run_dir}: the {kind} was started from Python; give its config: gdlab {kind} "
                          f"CONFIG --resume {run_dir}")
    if not Path(record["source"]).is_file():
        raise ConfigError(f"--resume {run_dir}: its config {record['source']} is not there any more; give it: "
                          f"gdlab {kind} CONFIG --resume {run_dir}")
    return record["source"]
