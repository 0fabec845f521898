"""SIGINT and SIGTERM at any moment: what ran is kept, files are whole, one message, exit 130 / 143.

Every test waits for an event (a metrics row on disk, the moment gdlab starts writing a file, an import), never for
a duration: the machine may be slow and busy. Signals that must arrive "while gdlab writes its results" are sent by
the process to itself from inside the writing function (in-process with gdlab's handlers installed, or in a
subprocess whose writer is wrapped), so the moment is exact.
"""

from __future__ import annotations

import csv
import json
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from gdlab import signals

from .battery import (
    BOWL,
    HANG_S,
    LONG,
    LONG_COMPARE,
    LONG_STEPS,
    METRICS_HEADER,
    gdlab_cli,
    member_dirs,
    run_dirs,
    start,
    stop,
    wait_for,
    whole_csv,
    write_yaml,
)


@pytest.mark.parametrize("mode, sig", [("run", signal.SIGINT), ("compare", signal.SIGTERM)])
def test_a_signal_mid_run_stops_the_loop_and_keeps_what_ran(tmp_path, mode, sig):
    config = write_yaml(tmp_path / "long.yaml", LONG if mode == "run" else LONG_COMPARE)
    out = tmp_path / "runs"
    n_members = 1 if mode == "run" else 2
    proc = start(mode, config, "--out", out, cwd=tmp_path)
    try:
        def metrics_have_rows() -> bool:
            files = list(out.glob("*/metrics.csv")) + list(out.glob("*/*/metrics.csv"))
            return len(files) == n_members and all(f.read_bytes().count(b"\n") >= 2 for f in files)

        wait_for(metrics_have_rows, proc, timeout=HANG_S, what="metrics.csv to have rows")
        assert list(out.glob("*/summary.json")) + list(out.glob("*/*/summary.json")) == []
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=HANG_S)
    finally:
        stop(proc)

    assert proc.returncode == 128 + sig, stderr  # 130 for Ctrl-C, 143 for SIGTERM
    assert "Traceback" not in stderr and len(stderr.strip().splitlines()) <= 3, stderr
    assert "interrupted" in stderr
    (run_dir,) = run_dirs(out)
    assert stdout.strip().splitlines()[-1] == str(run_dir)
    steps = set()
    for d in member_dirs(run_dir, mode):
        summary = json.loads((d / "summary.json").read_text())
        assert summary["status"] == "interrupted" and summary["diverged_at"] is None
        assert 0 < summary["steps_run"] < summary["total_steps"] == LONG_STEPS
        assert math.isfinite(summary["final_loss"])
        rows = whole_csv(d / "metrics.csv", METRICS_HEADER)
        logged = [int(r[0]) for r in rows]
        assert len(logged) >= 2 and logged == sorted(set(logged))
        assert logged[-1] == summary["steps_run"], "the step the run stopped at is the last metrics row"
        path = whole_csv(d / "trajectory.csv", ["step", "x1", "x2"])
        assert int(path[-1][0]) == summary["steps_run"]
        assert [float(x) for x in path[-1][1:]] == summary["final_params"]
        plots = d / "plots" if mode == "run" else run_dir / "plots"  # a compare draws its overlays by default
        assert (plots / "loss.png").stat().st_size > 0
        assert (plots / "trajectory.png").stat().st_size > 0
        assert yaml.safe_load((d / "config.yaml").read_text())["steps"] == LONG_STEPS
        steps.add(summary["steps_run"])
    assert len(steps) == 1  # the members of a compare advance in lockstep
    if mode == "compare":
        with open(run_dir / "summary.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        assert [r["status"] for r in rows] == ["interrupted", "interrupted"]
        assert (run_dir / "plots" / "loss.png").stat().st_size > 0


# ================================================================================ signals while results are written


@pytest.fixture
def handlers():
    """gdlab's signal policy installed in this process (as `gdlab` installs it), pytest's handlers restored after."""
    saved = {s: signal.getsignal(s) for s in signals.HANDLED}
    signals.reset()
    signals.install()
    yield
    for s, h in saved.items():
        signal.signal(s, h)
    signals.reset()


def signal_when_called(monkeypatch, target, name: str, times: int, sig=signal.SIGINT) -> list:
    """Wrap `target.name` so that its first call sends `sig` to this process `times` times, then does its work."""
    original = getattr(target, name)
    calls = []

    def wrapped(*args, **kwargs):
        if not calls:
            for _ in range(times):
                os.kill(os.getpid(), sig)  # the handler runs before os.kill returns to Python code
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(target, name, wrapped)
    return calls


COMPARE = {"name": "cmp", "problem": {"objective": "bowl2d"}, "steps": 30,
           "optimizers": [{"name": "sgd", "lr": 0.1}, {"name": "adam", "lr": 0.1}, {"name": "momentum", "lr": 0.1}]}


@pytest.mark.parametrize("times", [1, 2])
def test_ctrl_c_while_a_compare_writes_its_summaries_waits_until_they_are_on_disk(tmp_path, monkeypatch, handlers,
                                                                                  times):
    import gdlab.runner

    calls = signal_when_called(monkeypatch, gdlab.runner, "write_json", times)
    r = gdlab_cli("compare", write_yaml(tmp_path / "c.yaml", COMPARE), "--out", tmp_path / "runs", "-q")

    assert r.exit_code == 130, r.output
    assert len(calls) == 3, "every member's summary was written"
    (d,) = run_dirs(tmp_path / "runs")
    assert r.stdout.strip().splitlines()[-1] == str(d)
    with open(d / "summary.csv", newline="") as f:
        assert [row["status"] for row in csv.DictReader(f)] == ["completed"] * 3  # the loop had finished
    for m in ("sgd", "adam", "momentum"):
        assert json.loads((d / m / "summary.json").read_text())["steps_run"] == 30
    assert "plots not drawn (interrupted)" in r.stderr and f"gdlab plot {d}" in r.stderr
    assert "finishing writing the results" not in r.stdout
    assert gdlab_cli("plot", d).exit_code == 0  # the figures can be drawn afterwards


def test_ctrl_c_while_a_finished_sweep_writes_its_files_keeps_the_whole_sweep(tmp_path, monkeypatch, handlers):
    import gdlab.outputs.sweep_dir as sweep_dir

    signal_when_called(monkeypatch, sweep_dir, "write_summary_csv", 2, signal.SIGTERM)
    r = gdlab_cli("sweep", write_yaml(tmp_path / "s.yaml", BOWL), "--grid", "optimizer.lr=0.1,0.2,0.3",
                  "--out", tmp_path / "runs", "-q")

    assert r.exit_code == 143, r.output
    (d,) = run_dirs(tmp_path / "runs")
    for f in ("config.yaml", "summary.csv", "metrics.npz", "summary.json"):
        assert (d / f).is_file(), f
    assert json.loads((d / "summary.json").read_text())["counts"]["completed"] == 3
    assert gdlab_cli("plot", d).exit_code == 0


def test_a_signal_held_back_while_the_run_directory_is_made_stops_the_run_at_step_0(tmp_path, monkeypatch, handlers):
    import gdlab.runner

    signal_when_called(monkeypatch, gdlab.runner, "create_run_dir", 1)
    r = gdlab_cli("run", write_yaml(tmp_path / "b.yaml", BOWL), "--out", tmp_path / "runs", "-q")

    assert r.exit_code == 130, r.output
    (d,) = run_dirs(tmp_path / "runs")
    summary = json.loads((d / "summary.json").read_text())
    assert summary["status"] == "interrupted" and summary["steps_run"] == 0
    assert [int(row[0]) for row in whole_csv(d / "metrics.csv", METRICS_HEADER)] == [0]


def test_without_gdlab_handlers_a_library_user_keeps_pythons_ctrl_c(tmp_path):
    """Importing gdlab changes no signal handler; only the command line installs its policy."""
    code = ("import signal, gdlab.runner, gdlab.sweeps.runner, gdlab.cli; "
            "print(signal.getsignal(signal.SIGINT) is signal.default_int_handler, "
            "signal.getsignal(signal.SIGTERM) is signal.SIG_DFL)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=HANG_S)
    assert r.stdout.split() == ["True", "True"], r.stderr


# ================================================================================ start-up

# Ctrl-C while gdlab is still importing its modules: the process sends the signal to itself the moment it starts
# importing `module`, exactly as a user pressing Ctrl-C at that instant.
STARTUP = """
import builtins, os, runpy, signal, sys
target, sig = sys.argv[1], getattr(signal, sys.argv[2])
signal.signal(signal.SIGINT, signal.default_int_handler)
real_import = builtins.__import__
def hooked(name, *args, **kwargs):
    global target
    if name == target:
        target = None
        os.kill(os.getpid(), sig)
    return real_import(name, *args, **kwargs)
builtins.__import__ = hooked
sys.argv = ["gdlab"] + sys.argv[3:]
runpy.run_module("gdlab", run_name="__main__")
"""


@pytest.mark.parametrize("module, sig", [("typer", "SIGINT"), ("numpy", "SIGTERM"), ("matplotlib", "SIGINT")])
def test_a_signal_during_start_up_is_one_message(tmp_path, module, sig):
    config = write_yaml(tmp_path / "b.yaml", BOWL)
    r = subprocess.run([sys.executable, "-c", STARTUP, module, sig, "run", str(config), "--out", str(tmp_path / "runs"),
                        "-q"], capture_output=True, text=True, timeout=HANG_S, cwd=tmp_path)
    assert r.returncode == 128 + getattr(signal, sig), r.stderr
    assert "Traceback" not in r.stderr and "interrupted" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) <= 2, r.stderr


def test_a_third_signal_while_writing_stops_at_once_and_plot_names_what_is_missing(tmp_path, monkeypatch, handlers):
    """The escape hatch for a hung disk: the third signal is obeyed, and the directory says it is incomplete."""
    import gdlab.runner

    signal_when_called(monkeypatch, gdlab.runner, "write_json", 3)
    r = gdlab_cli("compare", write_yaml(tmp_path / "c.yaml", COMPARE), "--out", tmp_path / "runs", "-q")
    assert r.exit_code == 130 and "Traceback" not in r.output, r.output
    (d,) = run_dirs(tmp_path / "runs")
    assert not (d / "summary.csv").exists()
    r = gdlab_cli("plot", d)
    assert r.exit_code == 1, r.output
    assert "incomplete" in r.stderr and "sgd/summary.json" in r.stderr and "summary.csv" in r.stderr, r.stderr


# ================================================================================ found by tests/attacks/signal_storm.py


def test_signals_during_the_engines_set_up_stop_the_loop_at_step_0_and_keep_the_directory(tmp_path, monkeypatch,
                                                                                         handlers):
    """Two SIGTERMs while the engine allocates its stack used to escape run_stack and lose the summaries."""
    import gdlab.engine.loop

    signal_when_called(monkeypatch, gdlab.engine.loop, "build_groups", 2, signal.SIGTERM)
    r = gdlab_cli("compare", write_yaml(tmp_path / "c.yaml", COMPARE), "--out", tmp_path / "runs", "-q")
    assert r.exit_code == 143, r.output
    (d,) = run_dirs(tmp_path / "runs")
    with open(d / "summary.csv", newline="") as f:
        assert [row["steps_run"] for row in csv.DictReader(f)] == ["0"] * 3
    assert gdlab_cli("plot", d).exit_code == 0


def test_a_sweep_stopped_in_its_first_stack_draws_and_redraws_without_the_members_not_run(tmp_path, monkeypatch,
                                                                                         handlers):
    import gdlab.sweeps.batch

    signal_when_called(monkeypatch, gdlab.sweeps.batch, "run_stack", 1)
    r = gdlab_cli("sweep", write_yaml(tmp_path / "s.yaml", BOWL), "--grid", "optimizer.lr=0.1,0.2", "--grid",
                  "steps=10,20,30", "--out", tmp_path / "runs", "-q")  # steps: three stacks, one after the other
    assert r.exit_code == 130, r.output
    assert "could not be drawn" not in r.stderr, r.stderr
    (d,) = run_dirs(tmp_path / "runs")
    assert json.loads((d / "summary.json").read_text())["counts"]["not_run"] == 4
    r = gdlab_cli("plot", d)
    assert r.exit_code == 0, r.output


class _SignalsWhenCollected:
    """An object whose finalizer receives a signal: Python drops exceptions raised there ("Exception ignored")."""

    def __del__(self):
        os.kill(os.getpid(), signal.SIGINT)


def test_a_signal_raised_inside_a_finalizer_is_not_lost(handlers, capfd):
    """Found by the signal storm: two Ctrl-Cs landing in matplotlib's weakref callbacks while a tune drew its
    figure printed a traceback and the tune exited 0. The signal is now kept and raised where it can propagate."""
    with signals.held():
        with pytest.raises(KeyboardInterrupt):
            with signals.allowed():
                obj = _SignalsWhenCollected()
                del obj  # the handler raises inside __del__; the interpreter swallows it
        assert not signals.pending()
    signals.open_window()
    obj = _SignalsWhenCollected()
    del obj
    with pytest.raises(KeyboardInterrupt):  # at the end of the engine's window, inside its try
        signals.close_window()
    assert "Exception ignored" not in capfd.readouterr().err
