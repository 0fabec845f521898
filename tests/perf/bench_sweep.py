"""Benchmark: one `gdlab sweep` of 100,000 momentum configurations against d2l's per-configuration Python loop.

Run by hand (not collected by pytest, not run by CI):

    /work/venv/bin/python tests/perf/bench_sweep.py [--repeats 3] [--gdlab PATH] [--styles d2l,inline]

The work: d2l's bowl f = 0.1·x1² + 2·x2² from (-5, -2), heavy-ball momentum, 100 steps, on the grid
lr = linspace(0.01, 1, 1000) × momentum = linspace(0, 0.99, 100), the loss recorded at every step.
- gdlab: ONE process `gdlab sweep configs/d2l-momentum.yaml --set steps=100 --grid ... --out <tmp> --quiet`
  (imports, summary.csv, metrics.npz and plots included); its loop time is summary.json's wall_time_s.
- d2l: tests/perf/d2l_loop.py in its own process with the same interpreter: style `d2l` is the book's
  train_2d(momentum_2d) with a function call per step; style `inline` is the same arithmetic in one tight loop nest
  (the fastest plain Python); the loop time is measured inside that process.
Runs are interleaved (gdlab, d2l, inline, gdlab, ...) so that both see the same machine load; medians are reported.
Ratios: whole process = d2l wall / gdlab wall (target >= 5), loop only = d2l loop / gdlab loop (target >= 20).
Honesty check: the final losses of every 997th member (and the last) must agree within 1e-12 relative, and the
grid values must be the same floats.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from timing import med, timed  # tests/perf/timing.py, beside this script

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CONFIG = REPO / "configs" / "d2l-momentum.yaml"
GRID = ["--grid", "optimizer.lr=linspace(0.01,1,1000)", "--grid", "optimizer.momentum=linspace(0,0.99,100)"]
SAMPLE = 997
RTOL = 1e-12
TARGET_WHOLE, TARGET_LOOP = 5.0, 20.0


def default_gdlab() -> str | None:
    for candidate in (REPO.parent / "venv" / "bin" / "gdlab", Path(sys.executable).parent / "gdlab"):
        if candidate.is_file():
            return str(candidate)
    return shutil.which("gdlab")


def run_gdlab(gdlab: str, out: Path, steps: int) -> dict:
    cmd = [gdlab, "sweep", str(CONFIG), "--set", f"steps={steps}", *GRID, "--out", str(out), "--quiet"]
    wall, cpu, stdout, load = timed(cmd)
    run_dir = Path(stdout.strip().splitlines()[-1])
    summary = json.loads((run_dir / "summary.json").read_text())
    with open(run_dir / "summary.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    sample = {i: (float(rows[i]["lr"]), float(rows[i]["momentum"]), float(rows[i]["final_loss"]))
              for i in list(range(0, len(rows), SAMPLE)) + [len(rows) - 1]}
    plots = sorted(p.name for p in (run_dir / "plots").glob("*.png")) if (run_dir / "plots").is_dir() else []
    shutil.rmtree(run_dir)  # 60+ MB each
    return {"wall": wall, "cpu": cpu, "loop": float(summary["wall_time_s"]), "load": load, "sample": sample,
            "members": summary.get("members"), "plots": plots}


def run_d2l(style: str, out: Path, steps: int) -> dict:
    result = out / f"d2l-{style}.json"
    cmd = [sys.executable, str(HERE / "d2l_loop.py"), "--style", style, "--steps", str(steps),
           "--sample", str(SAMPLE), "--json", str(result)]
    wall, cpu, _, load = timed(cmd)
    data = json.loads(result.read_text())
    return {"wall": wall, "cpu": cpu, "loop": data["loop_s"], "load": load, "finals": data["final_loss"],
            "members": data["members"]}


def grid_values() -> tuple[list[float], list[float]]:
    sys.path.insert(0, str(HERE))
    from d2l_loop import linspace  # noqa: E402  (the d2l process's own grid, no numpy)

    return linspace(0.01, 1.0, 1000), linspace(0.0, 0.99, 100)


def check(gd: dict, d2l: dict) -> list[str]:
    """Problems found comparing gdlab's sampled members with the d2l loop's (empty when they agree)."""
    lrs, moms = grid_values()
    problems, worst = [], 0.0
    for i, (lr, mu, final) in gd["sample"].items():
        if (lr, mu) != (lrs[i // 100], moms[i % 100]):
            problems.append(f"member {i}: gdlab ran lr={lr!r}, momentum={mu!r}; d2l {lrs[i // 100]!r}, {moms[i % 100]!r}")
        other = d2l["finals"][str(i)]
        worst = max(worst, abs(final - other) / max(abs(final), abs(other), 1e-300))
        if abs(final - other) > RTOL * max(abs(final), abs(other)):
            problems.append(f"member {i} (lr {lr:g}, momentum {mu:g}): final loss gdlab {final!r} vs d2l {other!r}")
    return problems, worst


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--gdlab", default=default_gdlab(), help="the gdlab executable (default %(default)s)")
    ap.add_argument("--styles", default="d2l,inline", help="d2l_loop.py styles to run (d2l, inline)")
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--json", help="write the raw timings here")
    args = ap.parse_args(argv)
    if not args.gdlab or not Path(args.gdlab).is_file():
        print("bench_sweep: skipped, no gdlab executable (install gdlab or pass --gdlab PATH)")
        return 0
    styles = [s for s in args.styles.split(",") if s]
    print(f"bench_sweep: {args.gdlab} vs {sys.executable} tests/perf/d2l_loop.py; 100,000 members x {args.steps} "
          f"steps; {args.repeats} interleaved repeats; {os.cpu_count()} cores")
    runs: dict[str, list[dict]] = {"gdlab": [], **{s: [] for s in styles}}
    with tempfile.TemporaryDirectory(prefix="gdlab-bench-sweep-") as tmp:
        for rep in range(args.repeats):
            runs["gdlab"].append(run_gdlab(args.gdlab, Path(tmp), args.steps))
            for s in styles:
                runs[s].append(run_d2l(s, Path(tmp), args.steps))
            line = "  ".join(f"{k} {v[-1]['wall']:.2f}/{v[-1]['loop']:.3f}s" for k, v in runs.items())
            print(f"  repeat {rep + 1}: {line}  (wall/loop; load {runs['gdlab'][-1]['load']:.2f})", flush=True)
    gd = runs["gdlab"]
    print()
    print(f"{'process':28s} {'wall (median)':>14s} {'min':>7s} {'max':>7s} {'loop':>8s} {'CPU':>7s}")
    for name, rs in runs.items():
        label = "gdlab sweep" if name == "gdlab" else f"d2l_loop.py --style {name}"
        print(f"{label:28s} {med(rs, 'wall'):13.2f}s {min(r['wall'] for r in rs):6.2f}s "
              f"{max(r['wall'] for r in rs):6.2f}s {med(rs, 'loop'):7.3f}s {med(rs, 'cpu'):6.2f}s")
    print(f"gdlab outside its loop (imports, config, outputs, plots): {med(gd, 'wall') - med(gd, 'loop'):.2f} s "
          f"(median wall - median loop); plots drawn: {', '.join(gd[-1]['plots']) or 'none'}")
    print()
    ok = True
    for s in styles:
        whole = med(runs[s], "wall") / med(gd, "wall")
        loop = med(runs[s], "loop") / med(gd, "loop")
        print(f"ratios vs d2l style '{s}': whole process {whole:.2f}x (target >= {TARGET_WHOLE:g}x: "
              f"{'met' if whole >= TARGET_WHOLE else 'NOT met'}), loop only {loop:.2f}x (target >= {TARGET_LOOP:g}x: "
              f"{'met' if loop >= TARGET_LOOP else 'NOT met'})")
        problems, worst = check(gd[-1], runs[s][-1])
        ok &= not problems
        print(f"  same numbers: {'yes' if not problems else 'NO'}, {len(gd[-1]['sample'])} sampled members' final "
              f"losses within {RTOL:g} relative (largest difference {worst:.2g}) and the same grid floats")
        for p in problems[:10]:
            print(f"    {p}")
    if args.json:
        Path(args.json).write_text(json.dumps({k: [{kk: vv for kk, vv in r.items() if kk not in ("sample", "finals")}
                                                   for r in v] for k, v in runs.items()}, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
