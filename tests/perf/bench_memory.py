"""Benchmark: peak memory and disk of a huge toy sweep (1,000,000 members × 1,000 steps by default).

Run by hand (not collected by pytest, not run by CI):

    python tests/perf/bench_memory.py [--lr 1000 --momentum 1000 --steps 1000] [--gdlab PATH] [--keep]

One `gdlab sweep configs/d2l-momentum.yaml --set steps=STEPS --grid optimizer.lr=linspace(0.01,1,LR) --grid
optimizer.momentum=linspace(0,0.99,MOMENTUM) --quiet` process (figures included). Peak RSS is the child's
ru_maxrss (the kernel's high-water mark of resident memory, file pages it mapped included), measured in a wrapper
process of its own so that no other child counts. The run directory's size is the sum of its files' sizes.
Goals (issue 12): peak RSS under 2 GB and a run directory under 1.5 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from timing import machine_line  # tests/perf/timing.py, beside this script

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
# Runs the command given after it and prints its peak RSS (KiB on Linux) as the last line.
WRAPPER = ("import resource, subprocess, sys; p = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
           "sys.stdout.write(p.stdout); sys.stderr.write(p.stderr); "
           "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(p.returncode)")
GOAL_RSS, GOAL_DISK = 2e9, 1.5e9


def dir_size(path: Path) -> tuple[int, dict[str, int]]:
    sizes = {str(p.relative_to(path)): p.stat().st_size for p in path.rglob("*") if p.is_file()}
    return sum(sizes.values()), sizes


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gdlab", default=shutil.which("gdlab") or str(Path(sys.executable).parent / "gdlab"))
    ap.add_argument("--lr", type=int, default=1000)
    ap.add_argument("--momentum", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--extra", nargs="*", default=[], help="more gdlab arguments, e.g. --set log_every=1")
    ap.add_argument("--keep", action="store_true", help="keep the run directory")
    args = ap.parse_args(argv)
    members = args.lr * args.momentum
    cmd = [args.gdlab, "sweep", str(REPO / "configs" / "d2l-momentum.yaml"), "--set", f"steps={args.steps}",
           "--grid", f"optimizer.lr=linspace(0.01,1,{args.lr})",
           "--grid", f"optimizer.momentum=linspace(0,0.99,{args.momentum})", "--quiet", *args.extra]
    print(f"bench_memory: {members:,} members x {args.steps} steps; {machine_line()}", flush=True)
    out = Path(tempfile.mkdtemp(prefix="gdlab-bench-memory-"))
    try:
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", WRAPPER, *cmd, "--out", str(out)], capture_output=True,
                              text=True)
        wall = time.perf_counter() - t0
        lines = proc.stdout.strip().splitlines()
        if proc.returncode != 0 or len(lines) < 2:
            print(f"failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
            return 1
        peak = int(lines[-1]) * 1024
        run_dir = Path(lines[-2])
        total, sizes = dir_size(run_dir)
        summary = json.loads((run_dir / "summary.json").read_text())
        print(f"wall {wall:.1f} s (loop {summary.get('wall_time_s', float('nan')):.1f} s); peak RSS "
              f"{peak / 1e9:.2f} GB (goal < {GOAL_RSS / 1e9:g}); run directory {total / 1e9:.2f} GB "
              f"(goal < {GOAL_DISK / 1e9:g})")
        for name, size in sorted(sizes.items(), key=lambda kv: -kv[1])[:6]:
            print(f"  {size / 1e6:10.1f} MB  {name}")
        if args.keep:
            print(f"kept: {run_dir}")
        return 0 if peak < GOAL_RSS and total < GOAL_DISK else 1
    finally:
        if not args.keep:
            shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
