"""Sweep files written in chunks: metrics.npz is a plain npz (np.load reads it), the same bytes however its rows
were produced, and mapped rather than read when loaded back; batch records appear whole or not at all."""

from __future__ import annotations

import numpy as np
import pytest

from gdlab.outputs import sweep_dir
from gdlab.outputs.batch_records import load_record, record_batch, recorded_keys, remove_records
from gdlab.outputs.sweep_dir import MappedRows, SweepHistory, read_metrics, write_metrics_npz


def _write(path, steps, rows, labels):
    index = np.vstack([np.arange(len(labels)) // 4, np.arange(len(labels)) % 4])  # (n_axes, R)
    write_metrics_npz(path, steps, len(labels), lambda a, b: rows[a:b], labels, index, np.zeros(len(labels)))


def test_metrics_npz_streams_in_chunks_and_reads_back(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    n, steps = 23, [0, 5, 10, 12]
    rows = rng.standard_normal((n, len(steps))).astype(np.float32)
    rows[3, 2] = np.nan
    labels = [f"sgd[lr={i / 10:g}]" for i in range(n)]
    _write(tmp_path / "whole.npz", steps, rows, labels)
    monkeypatch.setattr(sweep_dir, "CHUNK_ROWS", 5)  # labels in 5 blocks
    monkeypatch.setattr(sweep_dir, "CHUNK_BYTES", 3 * 4 * len(steps))  # histories 3 rows at a time
    _write(tmp_path / "chunked.npz", steps, rows, labels)
    assert (tmp_path / "whole.npz").read_bytes() == (tmp_path / "chunked.npz").read_bytes()
    with np.load(tmp_path / "chunked.npz") as data:
        assert data["step"].tolist() == steps and data["member"].tolist() == labels
        np.testing.assert_array_equal(data["loss"], rows)
        assert data["grid_index"].tolist() == [[i // 4, i % 4] for i in range(n)] and not data["entry"].any()
    mapped = read_metrics(tmp_path / "chunked.npz")
    assert isinstance(mapped["loss"], MappedRows) and mapped["step"].tolist() == steps
    np.testing.assert_array_equal(mapped["loss"][:], rows)
    history = SweepHistory(steps, mapped["loss"])  # what the figures index, read a block at a time
    monkeypatch.setattr(sweep_dir, "CHUNK_BYTES", 4 * 4 * len(steps))
    np.testing.assert_array_equal(history.loss[0], rows[:, 0])
    np.testing.assert_array_equal(history.loss[:, 7], rows[7])


def test_metrics_npz_has_no_clock_in_it(tmp_path):
    """Written twice, a second apart or not: the same bytes (zip entries carry a fixed date)."""
    rows = np.ones((3, 2), dtype=np.float32)
    _write(tmp_path / "a.npz", [0, 1], rows, ["a", "b", "c"])
    import zipfile

    with zipfile.ZipFile(tmp_path / "a.npz") as zf:
        assert {i.date_time for i in zf.infolist()} == {sweep_dir.ZIP_DATE}


def test_batch_records_are_whole_or_absent(tmp_path):
    arrays = {"members": np.array([2, 5, 7]), "final_loss": np.array([0.5, np.nan, 1.5]),
              "status": np.array(["completed", "diverged", "completed"]), "step": np.array([0, 10]),
              "loss": np.arange(6, dtype=np.float32).reshape(3, 2)}
    record_batch(tmp_path, "b0001", arrays, {"wall_time_s": 1.5, "failures": {"2": "why"}})
    (tmp_path / ".batches" / ".b0002.999.tmp").mkdir()  # a write that was killed half-way
    assert recorded_keys(tmp_path) == ["b0001"]
    back, meta = load_record(tmp_path, "b0001")
    assert set(back) == set(arrays) and meta == {"wall_time_s": 1.5, "failures": {"2": "why"}}
    for name, value in arrays.items():
        np.testing.assert_array_equal(back[name], value)
    with pytest.raises(ValueError, match="increasing"):
        record_batch(tmp_path, "b0003", {**arrays, "members": np.array([5, 2, 7])})
    remove_records(tmp_path)
    assert recorded_keys(tmp_path) == []
