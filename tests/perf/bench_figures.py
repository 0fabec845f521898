"""Benchmark: the everyday `gdlab compare configs/d2l-compare.yaml` against a minimal matplotlib script.

Run by hand (not collected by pytest, not run by CI):

    python tests/perf/bench_figures.py [--repeats 5] [--gdlab PATH] [--loop-steps 20000]

1. Whole process. gdlab: ONE process `gdlab compare configs/d2l-compare.yaml --out <tmp> --quiet` (imports, six
   optimizers × 20 steps, every file of the run directory and its default figures: loss curves, the paths over
   the contours, the grid of small multiples). Reference: a script that imports matplotlib (pyplot), draws ONE
   contour figure of the same bowl with one path and saves it as a PNG, in its own process with the same
   interpreter. Runs interleave (gdlab, reference, gdlab, ...); medians; target: gdlab at most 3x the reference.
2. Figure options never slow the loop. The same compare with `--set steps=N` (default 20,000) run with each
   figure option (default, --member-figures, --format svg, --format pdf); the loop time is the members'
   `wall_time_s` in summary.json, measured inside the process around the loop alone. Interleaved, medians;
   the spread between options should be within the machine's noise (printed beside it).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from timing import med, timed  # tests/perf/timing.py, beside this script

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CONFIG = REPO / "configs" / "d2l-compare.yaml"
TARGET = 3.0
REFERENCE = '''
import numpy as np
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

x1, x2 = np.meshgrid(np.linspace(-5.5, 1.5, 200), np.linspace(-3.0, 3.0, 200))
path = [np.array([-5.0, -2.0])]
for _ in range(20):  # gradient descent, lr 0.4
    x = path[-1]
    path.append(x - 0.4 * np.array([0.2 * x[0], 4.0 * x[1]]))
path = np.array(path)
fig, ax = plt.subplots(figsize=(7, 4.5))
ax.contour(x1, x2, 0.1 * x1**2 + 2 * x2**2, levels=12, colors="0.5")
ax.plot(path[:, 0], path[:, 1], "-o", color="tab:blue", label="gd")
ax.set_xlabel("x1")
ax.set_ylabel("x2")
ax.legend()
fig.savefig({out!r})
'''
OPTIONS = {"default": [], "--member-figures": ["--member-figures"], "--format svg": ["--format", "svg"],
           "--format pdf": ["--format", "pdf"]}


def default_gdlab() -> str | None:
    for candidate in (Path(sys.executable).parent / "gdlab", REPO.parent / "venv" / "bin" / "gdlab"):
        if candidate.is_file():
            return str(candidate)
    return shutil.which("gdlab")


def run_gdlab(gdlab: str, out: Path, extra: list[str]) -> dict:
    wall, cpu, stdout, load = timed([gdlab, "compare", str(CONFIG), "--out", str(out), "--quiet", *extra])
    run_dir = Path(stdout.strip().splitlines()[-1])
    members = [json.loads(p.read_text()) for p in run_dir.glob("*/summary.json")]
    figures = sorted(p.relative_to(run_dir).as_posix() for p in run_dir.rglob("plots/*"))
    shutil.rmtree(run_dir)
    return {"wall": wall, "cpu": cpu, "load": load, "loop": members[0]["wall_time_s"], "figures": figures}


def run_reference(script: Path) -> dict:
    wall, cpu, _, load = timed([sys.executable, str(script)])
    return {"wall": wall, "cpu": cpu, "load": load}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--gdlab", default=default_gdlab())
    ap.add_argument("--loop-steps", type=int, default=20_000)
    args = ap.parse_args()
    if not args.gdlab:
        print("bench_figures: no gdlab executable found; install gdlab first")
        return
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        script = tmp / "reference.py"
        script.write_text(REFERENCE.format(out=str(tmp / "reference.png")), encoding="utf-8")
        run_gdlab(args.gdlab, tmp, [])  # warm the file cache once
        run_reference(script)
        g, r = [], []
        for _ in range(args.repeats):
            g.append(run_gdlab(args.gdlab, tmp, []))
            r.append(run_reference(script))
        ratio = med(g, "wall") / med(r, "wall")
        print(f"machine: {os.cpu_count()} cores, load average {statistics.median(x['load'] for x in g + r):.2f} "
              f"(median before each run), {args.repeats} interleaved repeats")
        print(f"gdlab compare d2l-compare: wall {med(g, 'wall'):.2f} s (min {min(x['wall'] for x in g):.2f}, "
              f"max {max(x['wall'] for x in g):.2f}), cpu {med(g, 'cpu'):.2f} s; figures: {', '.join(g[0]['figures'])}")
        print(f"reference (pyplot, one contour figure): wall {med(r, 'wall'):.2f} s (min "
              f"{min(x['wall'] for x in r):.2f}, max {max(x['wall'] for x in r):.2f}), cpu {med(r, 'cpu'):.2f} s")
        print(f"ratio {ratio:.2f}x the reference (target <= {TARGET:g}x): {'ok' if ratio <= TARGET else 'OVER'}")

        loops = {name: [] for name in OPTIONS}
        steps = ["--set", f"steps={args.loop_steps}"]
        for _ in range(args.repeats):
            for name, extra in OPTIONS.items():
                loops[name].append(run_gdlab(args.gdlab, tmp, steps + extra))
        print(f"loop time with each figure option ({args.loop_steps:,} steps x 6 members, median of {args.repeats}):")
        base = med(loops["default"], "loop")
        for name, runs in loops.items():
            spread = max(x["loop"] for x in runs) - min(x["loop"] for x in runs)
            print(f"  {name:18s} loop {med(runs, 'loop'):.3f} s ({med(runs, 'loop') / base:.2f}x default; "
                  f"spread of its repeats {spread:.3f} s)   whole process {med(runs, 'wall'):.2f} s")


if __name__ == "__main__":
    main()
