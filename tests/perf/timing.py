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
