"""Run, compare and sweep directories read back for `gdlab plot`, from their files alone, trusting none of them.

A directory may come from someone else, be damaged, or be incomplete (stopped while it was written). Nothing here
imports a plugin, loads a dataset or runs code named in a file: config.yaml is plain YAML read with the same bounds
as a config, cells are parsed as numbers, and every problem is one OutputError (exit 1) naming the file and what is
wrong, or, for an incomplete directory, what is missing.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, OutputError
from .names import member_dir_names
from .series import STATUSES, Series

RUN_FILES = ("config.yaml", "metrics.csv", "summary.json")  # what every finished run directory holds
SWEEP_FILES = ("config.yaml", "summary.csv", "metrics.npz", "summary.json")
TUNE_FILES = ("config.yaml", "trials.csv", "chosen.csv", "summary.json")  # and compare/, a run with repetitions
BENCH_FILES = ("suite.yaml", "results.csv", "profile.csv", "scores.csv", "summary.json")
MAX_TEXT_BYTES = 64 * 1024 * 1024  # config.yaml and summary.json are a few kB; anything this big is not gdlab's


def read_text(path: Path) -> str:
    try:
        if path.stat().st_size > MAX_TEXT_BYTES:
            raise OutputError(f"{path}: {path.stat().st_size:,} bytes is not a file gdlab wrote")
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise OutputError(f"{path} is missing") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise OutputError(f"cannot read {path}: {exc}") from None


def read_config(run_dir: Path) -> dict:
    """The config.yaml of a run directory as a mapping (plain YAML, bounded like a config; nothing is built)."""
    from ..config.yamlio import parse_yaml

    path = Path(run_dir) / "config.yaml"
    try:
        data = parse_yaml(read_text(path))[0]
    except ConfigError as exc:
        raise OutputError(f"{path}: damaged ({exc})") from None
    except Exception as exc:  # noqa: BLE001 - any YAML error: the file is damaged
        raise OutputError(f"{path}: damaged (not YAML: {type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise OutputError(f"{path}: damaged (expected a mapping, got {type(data).__name__})")
    return data


def read_summary(run_dir: Path) -> dict:
    """summary.json: a mapping with a known status."""
    path = Path(run_dir) / "summary.json"
    try:
        data = json.loads(read_text(path))
    except ValueError as exc:
        raise OutputError(f"{path}: damaged (not JSON: {exc})") from None
    if not isinstance(data, dict):
        raise OutputError(f"{path}: damaged (expected a JSON object, got {type(data).__name__})")
    if data.get("status", "completed") not in STATUSES:
        raise OutputError(f"{path}: damaged (status {data.get('status')!r}; expected one of {', '.join(STATUSES)})")
    return data


def read_csv_columns(path: Path) -> dict[str, np.ndarray]:
    """A CSV file of numbers as {column: float array} (empty cells -> nan); rows may come from several log calls.

    A last line cut short (a process killed mid-write) is skipped; a cell that is not a number is an OutputError.
    """
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            rows = [r for r in reader if len(r) == len(header or [])]
    except FileNotFoundError:
        raise OutputError(f"{path} is missing") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise OutputError(f"cannot read {path}: {exc}") from None
    if not header:
        return {}
    try:
        data = np.array([[float(x) if x else np.nan for x in r] for r in rows], dtype=float)
    except ValueError as exc:
        line = next(i + 2 for i, r in enumerate(rows) if not _numbers(r))
        raise OutputError(f"{path}, line {line}: damaged ({exc})") from None
    data = data.reshape(-1, len(header))
    return {name: data[:, j] for j, name in enumerate(header)}


def _numbers(row: list[str]) -> bool:
    try:
        [float(x) for x in row if x]
        return True
    except ValueError:
        return False


def merge_rows_by_step(cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Rows logged separately for the same step (training metrics, then evaluation) merged into one row."""
    if not cols or "step" not in cols or len(cols["step"]) == 0:
        return cols
    if not np.isfinite(cols["step"]).all():
        raise ValueError("a step that is not a whole number")
    steps, inverse = np.unique(cols["step"], return_inverse=True)
    out = {"step": steps}
    for name, values in cols.items():
        if name == "step":
            continue
        merged = np.full(len(steps), np.nan)
        ok = ~np.isnan(values)
        merged[inverse[ok]] = values[ok]
        out[name] = merged
    return out


def is_run_dir(path: Path) -> bool:
    return (path / "summary.json").is_file() and (path / "metrics.csv").is_file()


def load_series(run_dir: Path, label: str | None = None) -> Series:
    """One run directory back as a Series (what the plots draw)."""
    run_dir = Path(run_dir)
    missing = [f for f in RUN_FILES if not (run_dir / f).is_file()]
    if missing:
        raise OutputError(incomplete(run_dir, missing))
    summary = read_summary(run_dir)
    try:
        cols = merge_rows_by_step(read_csv_columns(run_dir / "metrics.csv"))
        path = path_step = None
        if (run_dir / "trajectory.csv").is_file():
            traj = read_csv_columns(run_dir / "trajectory.csv")
            coords = [traj[k] for k in traj if k != "step"]
            if coords and len(coords) <= 2 and len(coords[0]):  # a member diverged at step 0 has no path
                path = np.stack(coords, axis=1)
                path_step = traj.get("step")
        step = cols.pop("step", np.zeros(0))
        loss = cols.pop("loss", np.full(len(step), np.nan))
        return Series(label=label or _str(summary.get("label")) or run_dir.name, step=step.astype(int), loss=loss,
                      status=summary.get("status", "completed"), diverged_at=_step(summary.get("diverged_at")),
                      path=path, path_step=path_step, columns=cols)
    except (ValueError, TypeError) as exc:
        raise OutputError(f"{run_dir}: damaged ({exc})") from None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _step(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def incomplete(path: Path, missing: list[str]) -> str:
    return (f"{path} is incomplete (stopped while it was written, or damaged): missing {', '.join(missing)}; "
            f"its other files are whole")


def kind_of(path: Path) -> str:
    """"run", "compare", "sweep", "repeats" (several seeds), "tune" or "bench" from a directory's files;
    OutputError naming what is missing when incomplete."""
    path = Path(path)
    if not path.is_dir():
        raise ConfigError(f"RUN_DIR {path}: not a gdlab run or compare directory (no such folder)")
    if (path / "summary.json").is_file() and (path / "metrics.csv").is_file():
        return "run"
    for kind, files in (("tune", TUNE_FILES), ("bench", BENCH_FILES)):
        if (path / files[1]).is_file() or (path / files[2]).is_file():  # a study's own tables (a run has neither)
            missing = [f for f in files if not (path / f).is_file()]
            if missing:
                raise OutputError(incomplete(path, missing))
            return kind
    if not (path / "config.yaml").is_file():
        members = [d for d in sorted(path.iterdir()) if d.is_dir() and (d / "config.yaml").is_file()]
        if not members:
            raise ConfigError(f"RUN_DIR {path}: not a gdlab run or compare directory (no summary.json inside)")
        raise OutputError(incomplete(path, ["config.yaml"]))
    config = read_config(path)
    if isinstance(config.get("seeds"), list) and len(config["seeds"]) > 1:  # a run or compare over several seeds
        if not (path / "summary.csv").is_file():
            raise OutputError(incomplete(path, ["summary.csv"]))
        return "repeats"
    if "sweep" in config:
        missing = [f for f in SWEEP_FILES if not (path / f).is_file()]
        if missing:
            raise OutputError(incomplete(path, missing))
        return "sweep"
    if isinstance(config.get("optimizers"), list):
        missing = [f"{name}/{f}" for name in _member_names(path, config) for f in RUN_FILES
                   if not (path / name / f).is_file()]
        missing += [] if (path / "summary.csv").is_file() else ["summary.csv"]
        if missing:
            raise OutputError(incomplete(path, missing))
        return "compare"
    raise OutputError(incomplete(path, [f for f in RUN_FILES if not (path / f).is_file()]))


def _member_names(path: Path, config: dict) -> list[str]:
    labels = [o.get("label") or o.get("name") for o in config["optimizers"] if isinstance(o, dict)]
    if not labels or not all(isinstance(x, str) for x in labels):
        raise OutputError(f"{path / 'config.yaml'}: damaged (optimizers without labels)")
    return member_dir_names(labels)


def member_dirs_of(path: Path) -> list[Path]:
    """A run directory itself, or the member sub-directories of a compare directory in the compare's order."""
    path = Path(path)
    if kind_of(path) == "run":
        return [path]
    return [path / name for name in _member_names(path, read_config(path))]
