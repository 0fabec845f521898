"""Finished batches of a sweep, recorded in its directory as they complete: what `--resume` keeps and the final files
are assembled from.

    <run>/.batches/plan.json          what the sweep is (config, code and NumPy versions, batch keys): resume checks it
    <run>/.batches/<name>.json        a tune's or bench's other records (how a plan was cut, a finished problem)
    <run>/.batches/<key>/<name>.npy   one batch's arrays: `members` (R_b,) grid indices in increasing order, the
                                      per-member results (R_b,), `step` (L_b,) and `loss` (R_b, L_b) float32

A record appears whole or not at all: its files are written into a temporary folder that is then renamed (a rename
within one file system is atomic), so a batch killed mid-write is simply not there and runs again on resume.
Arrays are plain .npy files (no pickles), read back memory-mapped, so assembling a large sweep holds one chunk of
rows at a time, not every history. The folder is removed once summary.csv and metrics.npz are written.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np

from ..errors import GdlabError, OutputError
from .files import atomic, create_dir, describe, real_dir

RECORDS = ".batches"
PLAN = "plan.json"


def records_dir(run_dir: Path) -> Path:
    return Path(run_dir) / RECORDS


def write_plan(run_dir: Path, plan: dict, name: str = PLAN) -> None:
    """The sweep's identity and batch keys, written once when the sweep starts (name: another JSON file beside it,
    such as how a tune's trials were cut, or a bench's finished problem)."""
    folder = real_dir(records_dir(run_dir))
    with atomic(folder / name) as f:
        f.write((json.dumps(plan, indent=1, sort_keys=True) + "\n").encode())


def read_plan(run_dir: Path, name: str = PLAN) -> dict | None:
    path = records_dir(run_dir) / name
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise GdlabError(f"{path}: unreadable ({exc}); the sweep cannot be resumed") from None


def unfinished(run_dir: Path) -> str | None:
    """"sweep", "tune" or "bench" when run_dir is one that was interrupted and can be resumed (it still holds its
    records); None otherwise (also when its plan.json is unreadable: the resume names that)."""
    try:
        record = read_plan(Path(run_dir))
    except GdlabError:
        return None
    return None if record is None else str(record.get("kind", "sweep"))


def record_batch(run_dir: Path, key: str, arrays: dict[str, np.ndarray], meta: dict | None = None) -> None:
    """Record one finished batch atomically.

    arrays: `members` (R_b,) grid indices in increasing order, per-member arrays in that order, `step` (L_b,).
    meta: plain values (numbers, texts, lists, mappings) kept beside them in meta.json.
    """
    members = np.asarray(arrays["members"])
    if len(members) > 1 and not np.all(members[1:] > members[:-1]):
        raise ValueError("record_batch: members must be in increasing grid order")
    folder = real_dir(records_dir(run_dir))
    tmp = folder / f".{key}.{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)  # left by an earlier process with our pid
    create_dir(tmp)  # exclusive: nothing planted there is written through
    try:
        if meta is not None:
            with open(tmp / "meta.json", "x", encoding="utf-8") as f:
                f.write(json.dumps(meta, sort_keys=True) + "\n")
                f.flush()
                os.fsync(f.fileno())
        for name, value in arrays.items():
            with open(tmp / f"{name}.npy", "xb") as f:
                np.save(f, np.ascontiguousarray(value), allow_pickle=False)
                f.flush()
                os.fsync(f.fileno())
        _fsync_dir(tmp)
        os.replace(tmp, folder / key)  # a directory rename: the whole record appears at once
        _fsync_dir(folder)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise OutputError(describe(exc, folder / key)) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def recorded_keys(run_dir: Path) -> list[str]:
    """Keys of the batches recorded whole (temporary folders of interrupted writes are ignored)."""
    folder = records_dir(run_dir)
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def load_record(run_dir: Path, key: str) -> tuple[dict[str, np.ndarray], dict]:
    """One record's arrays, memory-mapped (nothing is read until used), and its meta.json ({} when none)."""
    folder = records_dir(run_dir) / key
    arrays = {p.stem: np.load(p, mmap_mode="r", allow_pickle=False) for p in sorted(folder.glob("*.npy"))}
    meta = folder / "meta.json"
    return arrays, (json.loads(meta.read_text(encoding="utf-8")) if meta.is_file() else {})


def remove_records(run_dir: Path) -> None:
    shutil.rmtree(records_dir(run_dir), ignore_errors=True)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
