"""Batch results on disk and back: each finished batch recorded in the sweep directory (outputs/batch_records.py),
and the sweep's histories gathered from the records in grid order a block of members at a time.

A record holds a BatchResult's arrays (`loss` member-major, (R_b, L_b), so that a block of members is contiguous)
and its plain fields in meta.json. Read back, its arrays are memory-mapped: assembling a sweep of a million members
reads each block of rows when it is written out, never all histories at once.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from ..outputs.batch_records import load_record, record_batch, recorded_keys, records_dir
from ..outputs.sweep_dir import CHUNK_BYTES, MappedRows, SweepHistory, mapped_npy
from .batch import BatchResult
from .merge import STATUS_FAILED, SweepOutcome, assemble
from .plan import Batch, SweepPlan


def batch_key(number: int, prefix: str = "batch") -> str:
    """A record's name: `batch-000003`; a tune or bench that records several plans in one directory names each
    plan's batches by its own prefix (`p002-trials-000003`)."""
    return f"{prefix}-{number:06d}"


def recorded_numbers(run_dir: Path, prefix: str = "batch") -> set[int]:
    """The numbers of the batches of `prefix` recorded whole in run_dir."""
    return {int(key.rsplit("-", 1)[1]) for key in recorded_keys(run_dir) if key.rsplit("-", 1)[0] == prefix}


def record_result(run_dir: Path, result: BatchResult, prefix: str = "batch") -> None:
    """Record a finished batch's result atomically (a whole record or none)."""
    arrays, meta = {}, {}
    for f in dataclasses.fields(result):
        value = getattr(result, f.name)
        if f.name == "loss":
            arrays["loss_rows"] = np.ascontiguousarray(np.asarray(value).T)  # (R_b, L_b)
        elif isinstance(value, np.ndarray):
            arrays[f.name] = value.astype(str) if value.dtype == object else value
        elif f.name == "metrics":  # whole-data metrics at the end: (R_b,) arrays, one file each
            arrays.update({f"metric.{k}": np.asarray(v) for k, v in value.items()})
            meta["metrics"] = sorted(value)
        elif isinstance(value, dict):
            meta[f.name] = {str(k): v for k, v in value.items()}
        else:
            meta[f.name] = value.item() if isinstance(value, np.generic) else value
    record_batch(run_dir, batch_key(result.number, prefix), arrays, meta)


def load_result(run_dir: Path, number: int, prefix: str = "batch") -> BatchResult:
    """A recorded result, its arrays memory-mapped; `loss` the (L_b, R_b) view of the member-major rows, read
    from the file when indexed."""
    arrays, meta = load_record(run_dir, batch_key(number, prefix))
    values = {}
    for f in dataclasses.fields(BatchResult):
        if f.name == "loss":
            rows = mapped_npy(records_dir(run_dir) / batch_key(number, prefix) / "loss_rows.npy")
            values["loss"] = SweepHistory(arrays["steps"], rows).loss
        elif f.name in arrays:
            a = arrays[f.name]
            values[f.name] = np.asarray(a, dtype=object) if a.dtype.kind == "U" else a
        elif f.name == "metrics":
            values["metrics"] = {k: arrays[f"metric.{k}"] for k in meta.get("metrics", [])}
        elif f.name == "failures":
            values["failures"] = {int(k): v for k, v in meta.get("failures", {}).items()}
        else:
            values[f.name] = meta[f.name]
    return BatchResult(**values)


def failed_result(batch: Batch, reason: str) -> BatchResult:
    """What a batch that could not be run leaves: its members failed, with the reason."""
    n = len(batch.members)
    return BatchResult(batch.number, batch.members, np.full(n, STATUS_FAILED, dtype=object), np.full(n, np.nan),
                       np.full(n, np.nan), np.full(n, -1, dtype=np.int64), np.zeros(n, dtype=np.int64),
                       np.zeros(0, dtype=np.int64), np.zeros((0, n), dtype=np.float32), 0, 0.0, False,
                       {i: reason for i in range(n)})


class GatheredRows:
    """The sweep's loss history as member-major rows, gathered from batch results on demand.

    rows[a:b] -> (b - a, L) float32: members a..b-1 in grid order at every logged step of the sweep (nan where a
    member's batch did not log that step, or did not run).
    """

    def __init__(self, results: list[BatchResult], n: int):
        self.results = results
        # [0] when nothing was logged (no batch ran, or every one failed): one column of nan, as the readers expect
        self.steps = sorted(set().union(*(r.steps.tolist() for r in results))) or [0]
        position = {s: i for i, s in enumerate(self.steps)}
        self.columns = [np.asarray([position[s] for s in r.steps.tolist()], dtype=np.int64) for r in results]
        self.n = n

    def __len__(self) -> int:
        return self.n

    def start(self) -> np.ndarray:
        """(R,) every member's loss at the first logged step (its start), gathered a block of members at a time."""
        block = max(1, CHUNK_BYTES // (4 * max(1, len(self.steps))))
        return np.concatenate([self[a:a + block][:, 0] for a in range(0, self.n, block)] or [np.zeros(0, np.float32)])

    def __getitem__(self, rows: slice) -> np.ndarray:
        a, b, _ = rows.indices(self.n)
        block = np.full((b - a, len(self.steps)), np.nan, dtype=np.float32)
        for r, columns in zip(self.results, self.columns):
            lo, hi = np.searchsorted(r.members, [a, b])
            if hi > lo and len(columns):
                rows = r.loss.rows if isinstance(getattr(r.loss, "rows", None), MappedRows) else r.loss.T
                block[np.ix_(np.asarray(r.members[lo:hi]) - a, columns)] = rows[lo:hi]
        return block


def assemble_gathered(plan: SweepPlan, results: list[BatchResult]) -> tuple[SweepOutcome, GatheredRows]:
    """The sweep's outcome from any of its batches' results, its histories left where they are (gathered rows)."""
    scalars = [dataclasses.replace(r, steps=np.zeros(0, dtype=np.int64),
                                   loss=np.zeros((0, len(r.members)), dtype=np.float32)) for r in results]
    outcome, _ = assemble(plan, scalars)
    return outcome, GatheredRows(results, plan.size)
