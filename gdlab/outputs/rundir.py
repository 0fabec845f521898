"""Run directories: created exclusively, written atomically (read back by readback.py).

    <run>/config.yaml  <run>/metrics.csv  <run>/trajectory.csv  <run>/summary.json  <run>/plots/*.png

Metrics and trajectories are streamed while the run goes (whole lines, one write call per batch of lines, so a
killed process leaves complete rows); config.yaml and summary.json are written to a temporary file and renamed.
"""

from __future__ import annotations

import csv
import io
import json
import math
import secrets
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ..errors import ConfigError, GdlabError, OutputError
from .files import LineWriter, create_dir, write_atomic
from .names import OWN_NAMES, member_dir_names, safe_name  # noqa: F401 (importable from here)

METRIC_COLUMNS = ("step", "epoch", "loss", "grad_norm", "lr")
MAX_PATH_ROWS = 100_000  # trajectories of longer runs are thinned to about this many rows


def create_run_dir(parent: str | Path, name: str) -> Path:
    """A new directory `<parent>/<name>-<YYYYmmdd-HHMMSS>-<id>`, created exclusively (never reused)."""
    parent = Path(parent)
    if parent.exists() and not parent.is_dir():
        raise ConfigError(f"--out {parent}: is a file; expected a folder to hold run directories")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the output folder {parent}: {exc.strerror or exc}") from None
    stem = safe_name(name)
    for _ in range(100):
        path = parent / f"{stem}-{datetime.now():%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"
        try:
            return create_dir(path)  # fails if it exists: two processes never share a directory
        except FileExistsError:
            continue
    raise GdlabError(f"could not find a free run directory name in {parent}")


def free_path(parent: str | Path, stem: str, suffix: str) -> Path:
    """`<parent>/<stem><suffix>`, or with -2, -3 ... before the suffix when that file exists (never overwrites)."""
    parent = Path(parent)
    if parent.exists() and not parent.is_dir():
        raise ConfigError(f"--out {parent}: is a file; expected a folder")
    parent.mkdir(parents=True, exist_ok=True)
    for k in range(1, 10_000):
        path = parent / f"{stem}{'' if k == 1 else f'-{k}'}{suffix}"
        if not path.exists():
            return path
    raise GdlabError(f"could not find a free file name for {stem}{suffix} in {parent}")


def write_yaml(path: Path, data: dict) -> None:
    write_atomic(path, yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


def write_json(path: Path, data: dict) -> None:
    write_atomic(path, json.dumps(_jsonable(data), indent=2, allow_nan=False) + "\n")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no nan/inf
    return value


def write_csv_rows(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    write_atomic(path, buf.getvalue())


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, (float, np.floating)):
        return "" if math.isnan(v) else repr(float(v))
    return str(v)


class CsvSink:
    """Streams each member's metrics (and trajectory) to the CSV files of its own run directory."""

    def __init__(self, member_dirs: list[Path], dim: int, extra_columns: tuple[str, ...] = ()):
        self.columns = METRIC_COLUMNS + tuple(extra_columns)
        self.metrics = [LineWriter(d / "metrics.csv", list(self.columns)) for d in member_dirs]
        self.paths = ([LineWriter(d / "trajectory.csv", ["step"] + [f"x{i + 1}" for i in range(dim)])
                       for d in member_dirs] if dim <= 10 else [])

    def log(self, step: int, epoch: float, values: dict[str, np.ndarray], rows: np.ndarray) -> None:
        if not values:
            return
        cols = [(c, values.get(c)) for c in self.columns[2:]]
        for i in np.flatnonzero(rows):
            self.metrics[i].row([_cell(x) for x in [step, epoch] + [None if v is None else v[i] for _, v in cols]])

    def path(self, step: int, params: np.ndarray, rows: np.ndarray) -> None:
        for i in np.flatnonzero(rows) if self.paths else ():
            self.paths[i].row([str(step)] + [repr(float(x)) for x in params[i]])

    def close(self) -> None:
        """Close every file; the first failure (disk full) is raised after all are closed."""
        failure = None
        for w in self.metrics + self.paths:
            try:
                w.close()
            except OutputError as exc:
                failure = failure or exc
        if failure is not None:
            raise failure


def path_every(total_steps: int) -> int:
    return max(1, math.ceil(total_steps / MAX_PATH_ROWS))


# reading back lives in readback.py (never trusting the files); these names stay importable from here
from .readback import is_run_dir, load_series, merge_rows_by_step, read_csv_columns  # noqa: E402,F401
