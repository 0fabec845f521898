"""What a sweep directory holds, written and read back: summary.csv (a row per member) and metrics.npz (all loss
histories). The figures are drawn by gdlab.figures.standard from what is read here.

Both files are written in chunks of rows, so that a sweep of a million members never holds its whole history or
all its summary lines at once, and byte for byte the same whichever way the rows were computed (in one process,
on workers, resumed): metrics.npz is an uncompressed zip with fixed entry dates, and reading it back maps the loss
array from the file instead of reading it.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from .files import atomic
from .verdicts import not_settled

CHUNK_ROWS = 65_536  # members per block of summary lines and labels
CHUNK_BYTES = 32 * 2**20  # loss history per block written or read
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the zip format's earliest date: entries carry no wall-clock time


class SweepHistory:
    """Loss histories of a sweep: `steps` (L,) and `rows` (R, L) float32, member-major: an array, or MappedRows.

    `loss` is the step-major (L, R) view the figures index: loss[0] the start loss of every member, loss[:, i] one
    member's curve (for mapped rows, read when indexed, a block at a time).
    """

    def __init__(self, steps, rows):
        self.steps = list(steps)
        self.rows = rows

    @property
    def loss(self):
        return _StepMajor(self.rows) if isinstance(self.rows, MappedRows) else self.rows.T


class MappedRows:
    """(R, L) rows of an array stored uncompressed in a file, read through a fresh memory map at each access and let
    go after it: a million members' histories never stay resident in the process (its peak memory)."""

    def __init__(self, path: Path, offset: int, dtype: np.dtype, shape: tuple):
        self.path, self.offset, self.dtype, self.shape = path, offset, dtype, tuple(shape)

    def __len__(self) -> int:
        return self.shape[0]

    def _map(self) -> np.ndarray:
        return np.memmap(self.path, dtype=self.dtype, mode="r", offset=self.offset, shape=self.shape)

    def __getitem__(self, key) -> np.ndarray:
        return np.array(self._map()[key])  # a copy; the map goes when this returns

    def column(self, k: int) -> np.ndarray:
        """(R,) entry k of every row, gathered a block of rows at a time."""
        block = max(1, CHUNK_BYTES // max(1, self.dtype.itemsize * self.shape[1]))
        return np.concatenate([self[a:a + block, k] for a in range(0, self.shape[0], block)]) \
            if self.shape[0] else np.zeros(0, dtype=self.dtype)


def mapped_npy(path: Path) -> MappedRows:
    """A 2-D .npy file as MappedRows."""
    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read(f)
        offset = f.tell()
    if fortran:
        raise ValueError(f"{path}: expected C order")
    return MappedRows(path, offset, dtype, shape)


class _StepMajor:
    """The (L, R) transpose of MappedRows for the figures' indexing: [k] and [:, i]."""

    def __init__(self, rows: MappedRows):
        self.rows = rows
        self.shape = rows.shape[::-1]
        self.ndim, self.dtype = 2, rows.dtype

    def __len__(self) -> int:
        return self.shape[0]

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        return np.asarray(self.rows[:].T, dtype=dtype)  # everything, read now (asked for explicitly)

    def __getitem__(self, key) -> np.ndarray:
        if isinstance(key, (int, np.integer)):
            return self.rows.column(int(key))
        if isinstance(key, tuple) and len(key) == 2 and isinstance(key[1], (int, np.integer)):
            return self.rows[int(key[1])][key[0]]
        return np.array(self.rows[:].T[key])


def write_sweep_files(outcome, history) -> None:
    """summary.csv and metrics.npz of a finished (or interrupted) sweep, each written atomically.

    history: anything with `steps` and a step-major `loss` (L, R), or a SweepHistory.
    """
    d = outcome.run_dir
    write_summary_csv(d / "summary.csv", outcome)
    rows = history.rows if isinstance(history, SweepHistory) else history.loss.T
    write_metrics_npz(d / "metrics.npz", history.steps, len(outcome.labels), lambda a, b: rows[a:b],
                      outcome.labels, _index(outcome), _entry(outcome))


def write_metrics_npz(path: Path, steps, n: int, loss_rows: Callable[[int, int], np.ndarray],
                      labels: list[str], index: np.ndarray, entry: np.ndarray) -> None:
    """metrics.npz: `step` (L,), `loss` (R, L) float32 written block by block, `member` (R,) names,
    `grid_index` (R, n_axes) int32 value index on each axis (-1: the axis does not apply), `entry` (R,) int32.

    loss_rows(a, b): the (b - a, L) loss rows of members a..b-1 in grid order.
    """
    steps = np.asarray(steps, dtype=np.int64)
    width = max((len(label) for label in labels), default=1)
    rows = max(1, CHUNK_BYTES // (4 * max(1, len(steps))))  # members per block of history
    with atomic(path) as f:  # uncompressed: float32 histories barely compress, zlib would dominate
        with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
            _npy(zf, "step", steps.dtype, steps.shape, iter([steps]))
            _npy(zf, "loss", np.dtype(np.float32), (n, len(steps)),
                 (np.asarray(loss_rows(a, min(a + rows, n)), dtype=np.float32) for a in range(0, n, rows)))
            _npy(zf, "member", np.dtype(f"<U{width}"), (n,),
                 (np.asarray(labels[a:a + CHUNK_ROWS], dtype=f"<U{width}") for a in range(0, n, CHUNK_ROWS)))
            _npy(zf, "grid_index", np.dtype(np.int32), (n, len(index)),
                 (index[:, a:a + CHUNK_ROWS].T for a in range(0, n, CHUNK_ROWS)))
            _npy(zf, "entry", np.dtype(np.int32), (n,), iter([entry]))


def _npy(zf: zipfile.ZipFile, name: str, dtype: np.dtype, shape: tuple, blocks: Iterator[np.ndarray]) -> None:
    """One .npy entry of an npz, its data given in C-order blocks (never the whole array at once)."""
    info = zipfile.ZipInfo(f"{name}.npy", date_time=ZIP_DATE)
    info.compress_type = zipfile.ZIP_STORED
    header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": tuple(shape)}
    with zf.open(info, "w", force_zip64=True) as out:
        np.lib.format.write_array_header_1_0(out, header)
        for block in blocks:
            out.write(np.ascontiguousarray(block, dtype=dtype).tobytes())


def read_metrics(path: Path) -> dict[str, np.ndarray]:
    """The arrays of a metrics.npz, read whole except `loss`, which is a MappedRows when stored uncompressed (gdlab
    writes it so) and an array otherwise."""
    out = {}
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
    for info in infos:
        name = info.filename.removesuffix(".npy")
        mapped = _map_entry(path, info) if info.compress_type == zipfile.ZIP_STORED else None
        if mapped is None:
            with np.load(path, allow_pickle=False) as data:
                out[name] = data[name]
        else:
            out[name] = mapped if name == "loss" else mapped[:]
    return out


def _map_entry(path: Path, info: zipfile.ZipInfo) -> MappedRows | None:
    """Where an uncompressed .npy entry's data starts in the zip, as MappedRows (None: not mappable)."""
    with open(path, "rb") as f:
        f.seek(info.header_offset)
        local = f.read(30)
        if local[:4] != b"PK\x03\x04":
            return None
        name_len, extra_len = int.from_bytes(local[26:28], "little"), int.from_bytes(local[28:30], "little")
        f.seek(info.header_offset + 30 + name_len + extra_len)
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            return None
        offset = f.tell()
    if dtype.hasobject or fortran or len(shape) == 0 or 0 in shape:
        return None  # written by another program: read whole
    return MappedRows(path, offset, dtype, shape)


def _cells(values: np.ndarray) -> list[str]:
    """Floats as their shortest round-trip text (repr), nan as an empty cell."""
    return ["" if x != x else repr(x) for x in np.asarray(values, dtype=np.float64).tolist()]


def _index(o) -> np.ndarray:
    """(n_axes, R) value index of each member on each axis (-1 where the axis does not apply to it)."""
    from ..config.grid import member_indices

    index = getattr(o, "index", None)
    return member_indices(o.axes) if index is None else index


def _entry(o) -> np.ndarray:
    entry = getattr(o, "entry", None)
    return np.zeros(len(o.labels), dtype=np.int64) if entry is None else entry


def write_summary_csv(path: Path, o) -> None:
    """One row per member in grid order, with a column per swept key; built column by column, CHUNK_ROWS at a time.

    A compare sweep has an `optimizer` column (the entry of the config each member is), and an axis that applies
    to some entries only (optimizers[1].lr) leaves the cells of the others empty.
    """
    entries = tuple(getattr(o, "entries", ()) or ())
    header = ["member"] + (["optimizer"] if entries else []) + [a.short for a in o.axes] + \
             ["status", "steps_run", "final_loss", "best_loss", "diverged_at", "settled"]
    idx = _index(o)
    entry = _entry(o)
    names = [_quote(e) for e in entries]
    texts = [[_text(v) for v in a.values] + [""] for a in o.axes]  # index -1: the axis does not apply
    n = len(o.labels)
    settled = _settled(o)
    with atomic(path) as f:
        f.write((",".join(header) + "\n").encode())
        for a in range(0, n, CHUNK_ROWS):
            b = min(a + CHUNK_ROWS, n)
            swept = [[t[i] for i in idx[j, a:b].tolist()] for j, t in enumerate(texts)]
            which = [[names[m] for m in entry[a:b].tolist()]] if entries else []
            columns = [[_quote(label) for label in o.labels[a:b]], *which, *swept, list(o.status[a:b]),
                       list(map(str, np.asarray(o.steps_run[a:b]).tolist())),
                       _cells(o.final_loss[a:b]), _cells(o.best_loss[a:b]),
                       ["" if d < 0 else str(d) for d in np.asarray(o.diverged_at[a:b]).tolist()], settled[a:b]]
            f.write("".join(",".join(row) + "\n" for row in zip(*columns)).encode())


def _settled(o) -> list[str]:
    """'true' / 'false' for completed members (false: ended above the start, see verdicts), empty otherwise."""
    unsettled = np.zeros(len(o.labels), bool) if getattr(o, "unsettled", None) is None else o.unsettled
    return ["" if s != "completed" else ("false" if u else "true") for s, u in zip(o.status.tolist(), unsettled.tolist())]


def _text(v) -> str:
    return repr(v) if isinstance(v, float) else _quote(str(v))


def _quote(s: str) -> str:
    return f'"{s}"' if "," in s or '"' in s else s


def is_sweep_dir(path: Path) -> bool:
    return (path / "metrics.npz").is_file() and (path / "summary.csv").is_file()


def load_sweep(run_dir: Path):
    """(outcome, member indices, history) of a sweep directory, from summary.csv, metrics.npz and config.yaml alone.

    outcome and history carry what the sweep figures read: the axes, labels, statuses, final and best losses,
    divergence steps; the logged steps and the loss histories (mapped from the file, not read whole).
    """
    import csv
    import json
    from types import SimpleNamespace

    from ..config.grid import grid_axes, member_indices
    from .readback import read_config, read_text

    config = read_config(run_dir)  # plain YAML, bounded: a shared directory's config.yaml builds nothing
    axes = grid_axes(config.get("sweep") or {}, [])
    entries = tuple(e.get("label", e.get("name")) for e in config.get("optimizers") or [] if isinstance(e, dict))
    with open(run_dir / "summary.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    data = read_metrics(run_dir / "metrics.npz")

    def column(name: str, kind=float, empty=np.nan) -> np.ndarray:
        return np.array([kind(r[name]) if r[name] else empty for r in rows])

    # sweeps written before grid_index was kept are product grids of one optimizer
    index = np.asarray(data["grid_index"]).T.astype(np.int64) if "grid_index" in data else member_indices(axes)
    entry = np.asarray(data["entry"]).astype(np.int64) if "entry" in data else np.zeros(len(rows), dtype=np.int64)
    summary_path = run_dir / "summary.json"
    summary = json.loads(read_text(summary_path)) if summary_path.is_file() else {}  # size-bounded
    status = np.array([r["status"] for r in rows], dtype=object)
    outcome = SimpleNamespace(run_dir=run_dir, axes=axes, labels=[r["member"] for r in rows], status=status,
                              final_loss=column("final_loss"), best_loss=column("best_loss"),
                              diverged_at=column("diverged_at", int, -1), steps_run=column("steps_run", int, 0),
                              index=index, entry=entry, entries=entries, theory=summary.get("stability_theory"))
    history = SweepHistory(np.asarray(data["step"]).tolist(), data["loss"])
    outcome.unsettled = (np.array([r.get("settled") == "false" for r in rows]) if rows and "settled" in rows[0]
                         else not_settled(status, history.loss[0], outcome.final_loss))
    return outcome, index, history
