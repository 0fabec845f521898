"""Helpers of the attack batteries (test_robustness, test_signals, test_bad_input, test_outputs_safety, ...):
real subprocesses where the operating system matters, whole-line checks of what gdlab leaves behind."""

from __future__ import annotations

import csv
import io
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from gdlab.cli import app

METRICS_HEADER = ["step", "epoch", "loss", "grad_norm", "lr"]
LONG_STEPS = 50_000_000
HANG_S = 120  # only a guard against a process that hangs: tests wait for events, never for a duration

BOWL = {"problem": {"objective": "bowl2d", "init": [-5.0, -2.0]}, "optimizer": {"name": "sgd", "lr": 0.4},
        "steps": 20}


def write_yaml(path: Path, data) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _default_sigint() -> None:
    # A process started from a non-interactive shell's background job inherits SIGINT as *ignored*, and Python
    # then never raises KeyboardInterrupt. A user at a terminal has the default disposition: give the child that.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(*args, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "gdlab", *map(str, args)], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=_default_sigint)


def gdlab_subprocess(*args, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gdlab", *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def wait_for(condition, proc: subprocess.Popen, timeout: float, what: str, poll: float = 0.01) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            _, err = proc.communicate()
            pytest.fail(f"gdlab exited ({proc.returncode}) before {what}:\n{err}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(poll)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.communicate()


def whole_csv(path: Path, header: list[str] | None = None) -> list[list[str]]:
    """The rows of a CSV file that must hold whole lines only: every line ends with a newline and has as many
    fields as the header; every cell is a number or empty. An empty (or absent) file has no rows."""
    if not path.is_file() or path.stat().st_size == 0:
        return []
    data = path.read_bytes()
    assert data.endswith(b"\n"), f"{path} ends in a partial line: {data[-120:]!r}"
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    if header is not None:
        assert rows[0][:len(header)] == header, rows[0]
    width = len(rows[0])
    broken = [(i, r) for i, r in enumerate(rows) if len(r) != width]
    assert not broken, f"{path}: lines with {width} fields expected, got {broken[:3]}"
    for r in rows[1:]:
        for cell in r:
            if cell:
                float(cell)
    return rows[1:]


def run_dirs(out: Path) -> list[Path]:
    return sorted(d for d in out.iterdir() if d.is_dir()) if out.is_dir() else []


def member_dirs(run_dir: Path, mode: str) -> list[Path]:
    if mode == "run":
        return [run_dir]
    return sorted(d for d in run_dir.iterdir() if d.is_dir() and d.name != "plots")



runner = CliRunner()


def gdlab_cli(*args):
    return runner.invoke(app, [str(a) for a in args])


def run_dir_of(result) -> Path:
    assert result.exit_code == 0, result.output
    path = Path(result.stdout.strip().splitlines()[-1])
    assert path.is_dir(), result.output
    return path


LONG = {"name": "long", "problem": {"objective": "bowl2d", "init": [-5.0, -2.0]},
        "optimizer": {"name": "sgd", "lr": 0.01}, "steps": LONG_STEPS, "log_every": 1000}
LONG_COMPARE = {**{k: v for k, v in LONG.items() if k != "optimizer"}, "name": "long-compare",
                "optimizers": [{"name": "sgd", "lr": 0.01}, {"name": "adam", "lr": 0.01}]}
