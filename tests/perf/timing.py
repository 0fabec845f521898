"""What the benchmark scripts share: timing one whole process, and the median of repeated runs."""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time


def timed(cmd: list[str], env: dict | None = None) -> tuple[float, float, str, float]:
    """(wall s, child CPU s, stdout, load average before) of one process; exits with its output if it fails."""
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        script = os.path.basename(sys.argv[0])
        sys.exit(f"{script}: {' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.stdout, load


def med(runs: list[dict], key: str) -> float:
    """The median of `key` over repeated runs."""
    return statistics.median(r[key] for r in runs)


class busy_load:
    """A context that keeps `n` busy-loop processes running (one per core by default): a loaded machine."""

    def __init__(self, n: int | None = None):
        self.n = n or os.cpu_count() or 1
        self.procs: list[subprocess.Popen] = []

    def __enter__(self) -> "busy_load":
        self.procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(self.n)]
        return self

    def __exit__(self, *exc) -> None:
        for p in self.procs:
            p.kill()
        for p in self.procs:
            p.wait()
        self.procs = []


def machine_line() -> str:
    """What else was running: load averages and the busiest other processes (from `top -bn1`), one line."""
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    try:
        top = subprocess.run(["top", "-bn1", "-o", "%CPU"], capture_output=True, text=True, timeout=10).stdout
        rows = [r.split() for r in top.splitlines()[7:12] if r.strip()]
        busy = ", ".join(f"{r[11]} {r[8]}%" for r in rows if len(r) >= 12 and float(r[8].replace(",", ".")) >= 5)
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        busy = "?"
    return f"load average {load}; busiest processes: {busy or 'none above 5 % CPU'}"
