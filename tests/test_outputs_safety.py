"""What gdlab writes is whole or absent: a full disk is one message (exit 1) that keeps what was written and leaves
no temporary file; labels never collide with gdlab's own files.

The disk fills up by injection at the system-call layer gdlab writes through (gdlab/outputs/files.py): a short
write followed by ENOSPC, as write(2) behaves on a filling disk, or ENOSPC from fsync, where filesystems with
delayed allocation report it. (The attack script in tests/attacks/ fills a real 256 kB tmpfs.)
"""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest

import gdlab.outputs.files as files

from .battery import BOWL, METRICS_HEADER, gdlab_cli, run_dir_of, run_dirs, whole_csv, write_yaml

LONG_LOG = {**BOWL, "name": "full", "steps": 3000, "log_every": 1}


def no_temporaries(root: Path) -> None:
    left = [p for p in root.rglob("*") if p.name.startswith(".") and p.name.endswith(".tmp")]
    assert not left, f"temporary files left: {left}"


def one_error(r, *needles) -> None:
    assert r.exit_code == 1, f"exit {r.exit_code}: {r.output}{r.exception!r}"
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert "Traceback" not in r.output
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("error")]
    assert len(errors) == 1, r.stderr
    for n in needles:
        assert n in r.stderr, f"{n!r} not in {r.stderr}"


def test_a_disk_filling_up_while_metrics_stream_keeps_whole_lines(tmp_path, monkeypatch):
    real_write = files.os.write
    room = {"left": 20_000}  # bytes the "disk" takes, then a short write and ENOSPC

    def filling(fd, data):
        if room["left"] <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        n = real_write(fd, bytes(data[: room["left"]]))
        room["left"] -= n
        return n

    monkeypatch.setattr(files.os, "write", filling)
    r = gdlab_cli("run", write_yaml(tmp_path / "f.yaml", LONG_LOG), "--out", tmp_path / "runs", "-q")

    one_error(r, "disk full while writing", ".csv", "whole lines are kept")
    (d,) = run_dirs(tmp_path / "runs")
    rows = whole_csv(d / "metrics.csv", METRICS_HEADER)  # ends in a whole line, every cell a number
    assert len(rows) < 3001 and [int(x[0]) for x in rows] == list(range(len(rows)))
    path = whole_csv(d / "trajectory.csv", ["step", "x1", "x2"])
    assert len(rows) + len(path) > 100 and len(path) < 3001  # as many whole lines as the disk took
    assert (d / "metrics.csv").stat().st_size <= 20_000
    assert not (d / "summary.json").exists()
    no_temporaries(tmp_path)
    r = gdlab_cli("plot", d)  # what is there is reported, not drawn half
    assert r.exit_code == 1 and "incomplete" in r.stderr and "summary.json" in r.stderr, r.output


@pytest.mark.parametrize("failing, what", [(2, "summary.json"), (3, "loss.png")])
def test_a_full_disk_at_a_whole_file_leaves_it_absent_and_the_rest_kept(tmp_path, monkeypatch, failing, what):
    """fsync calls of a run: 1 config.yaml, 2 summary.json, 3 plots/loss.png, ..."""
    real_fsync, calls = files.os.fsync, []

    def full_at(fd):
        calls.append(fd)
        if len(calls) == failing:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(files.os, "fsync", full_at)
    r = gdlab_cli("run", write_yaml(tmp_path / "b.yaml", BOWL), "--out", tmp_path / "runs", "-q")

    one_error(r, "disk full while writing", what)
    (d,) = run_dirs(tmp_path / "runs")
    assert not list(d.rglob(what)), f"{what} written in part"
    assert len(whole_csv(d / "metrics.csv", METRICS_HEADER)) == 21
    no_temporaries(tmp_path)
    if what == "loss.png":  # the results were whole: the directory is printed, and the figures can be redrawn
        assert r.stdout.strip().splitlines()[-1] == str(d)
        assert json.loads((d / "summary.json").read_text())["status"] == "completed"
        assert "gdlab plot" in r.stderr


def test_labels_that_are_gdlabs_own_file_names_get_their_own_directories(tmp_path):
    data = {"name": "names", "problem": {"objective": "bowl2d"}, "steps": 5,
            "optimizers": [{"name": "sgd", "label": "plots"}, {"name": "adam", "label": "config.yaml"},
                           {"name": "momentum", "label": "summary.csv"}, {"name": "adagrad", "label": "PLOTS"}]}
    d = run_dir_of(gdlab_cli("compare", write_yaml(tmp_path / "n.yaml", data), "--out", tmp_path / "runs", "-q"))
    assert sorted(p.name for p in d.iterdir()) == ["PLOTS__", "config.yaml", "config.yaml_", "plots", "plots_",
                                                   "summary.csv", "summary.csv_"]
    assert (d / "config.yaml").is_file() and (d / "summary.csv").is_file() and (d / "plots" / "loss.png").is_file()
    for member, label in (("plots_", "plots"), ("config.yaml_", "config.yaml"), ("PLOTS__", "PLOTS")):
        assert json.loads((d / member / "summary.json").read_text())["label"] == label
    r = gdlab_cli("plot", d)
    assert r.exit_code == 0, r.output


def test_an_existing_file_is_never_opened_for_streaming(tmp_path):
    target = tmp_path / "victim.txt"
    target.write_text("mine")
    (tmp_path / "metrics.csv").symlink_to(target)
    with pytest.raises(Exception) as info:
        files.LineWriter(tmp_path / "metrics.csv", ["step"])
    assert "metrics.csv" in str(info.value)
    assert target.read_text() == "mine"
