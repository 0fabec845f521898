"""Benchmark: `gdlab tune` of d2l's six optimizers against the same protocol as a d2l-style Python loop.

Run by hand (not collected by pytest, not run by CI):

    /work/venv/bin/python tests/perf/bench_tune.py [--repeats 3] [--gdlab PATH]

The protocol (tests/perf/d2l-tune-noisy.yaml): d2l's bowl with noisy gradients (std 1), 100 steps; each of d2l's six
optimizers tuned over logspace(-4, 1, 41) with 5 seeds per trial (1,230 members), the median final loss over the
seeds as the criterion, then the chosen settings rerun on 5 fresh seeds.
- gdlab: ONE process `gdlab tune tests/perf/d2l-tune-noisy.yaml --out <tmp> --quiet`: the trials as one stack,
  trials.csv, chosen.csv, tuned.yaml, the sensitivity figure, the final compare (30 run directories, aggregate.csv,
  band figures). Its trial loop time is summary.json's trials_wall_time_s.
- d2l: tests/perf/d2l_tune_loop.py in its own process: a train_2d per member with a `*_2d` trainer call per step,
  the same selection and reruns, nothing written; its loop time is measured inside the process.
Runs are interleaved (gdlab, d2l, gdlab, ...); medians are reported, with the CPU time of each process (the
machine is shared: wall times move with the neighbours' load, CPU times much less).
Honesty check: the chosen learning rates are the same floats; every trial's criterion (median final loss over its
5 seeds) and every rerun's final loss agree within 1e-12 relative.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import statistics
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from timing import med, timed  # tests/perf/timing.py, beside this script

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CONFIG = HERE / "d2l-tune-noisy.yaml"
RTOL = 1e-12
TARGET_WHOLE = 20.0


def default_gdlab() -> str | None:
    for candidate in (Path(sys.executable).parent / "gdlab", REPO.parent / "venv" / "bin" / "gdlab"):
        if candidate.is_file():
            return str(candidate)
    return shutil.which("gdlab")


def run_gdlab(gdlab: str, out: Path) -> dict:
    wall, cpu, stdout, load = timed([gdlab, "tune", str(CONFIG), "--out", str(out), "--quiet"])
    run_dir = Path(stdout.strip().splitlines()[-1])
    summary = json.loads((run_dir / "summary.json").read_text())
    with open(run_dir / "trials.csv", newline="") as f:
        trials = list(csv.DictReader(f))
    by_trial = defaultdict(list)
    for r in trials:
        by_trial[(r["member"], float(r["lr"]))].append(float(r["final_loss"]))
    with open(run_dir / "compare" / "summary.csv", newline="") as f:
        reruns = defaultdict(list)
        for r in csv.DictReader(f):
            reruns[r["member"]].append(float(r["final_loss"]))
    shutil.rmtree(run_dir)
    return {"wall": wall, "cpu": cpu, "load": load, "loop": summary["trials_wall_time_s"],
            "chosen": {k: v["lr"] for k, v in summary["chosen"].items()},
            "criteria": {k: statistics.median(v) for k, v in by_trial.items()}, "reruns": list(reruns.values())}


def run_d2l(out: Path) -> dict:
    result = out / "d2l-tune.json"
    wall, cpu, _, load = timed([sys.executable, str(HERE / "d2l_tune_loop.py"), "--json", str(result)])
    data = json.loads(result.read_text())
    criteria = {(k.split("@")[0], float(k.split("@")[1])): v for k, v in data["trials"].items()}
    return {"wall": wall, "cpu": cpu, "load": load, "loop": data["loop_s"], "chosen": data["chosen"],
            "criteria": criteria, "reruns": list(data["reruns"].values())}


def close(a: float, b: float) -> bool:
    return a == b or abs(a - b) <= RTOL * max(abs(a), abs(b))


def check(g: dict, d: dict) -> list[str]:
    problems = []
    if g["chosen"] != d["chosen"]:
        problems.append(f"chosen lrs differ: gdlab {g['chosen']} vs d2l {d['chosen']}")
    for key, value in d["criteria"].items():
        if key not in g["criteria"] or not close(g["criteria"][key], value):
            problems.append(f"trial {key}: gdlab {g['criteria'].get(key)} vs d2l {value}")
    for a, b in zip(g["reruns"], d["reruns"]):
        if not all(close(x, y) for x, y in zip(sorted(a), sorted(b))):
            problems.append(f"reruns differ: {a} vs {b}")
    return problems


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--gdlab", default=default_gdlab())
    args = ap.parse_args(argv)
    if not args.gdlab:
        sys.exit("bench_tune.py: no gdlab executable found; pass --gdlab PATH")
    runs = {"gdlab": [], "d2l": []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            runs["gdlab"].append(run_gdlab(args.gdlab, Path(tmp)))
            runs["d2l"].append(run_d2l(Path(tmp)))
            print(f"round {i + 1}: gdlab {runs['gdlab'][-1]['wall']:.2f} s (cpu {runs['gdlab'][-1]['cpu']:.2f}), "
                  f"d2l {runs['d2l'][-1]['wall']:.2f} s (cpu {runs['d2l'][-1]['cpu']:.2f}), "
                  f"load {runs['gdlab'][-1]['load']:.1f}", flush=True)
    problems = check(runs["gdlab"][0], runs["d2l"][0])
    g, d = runs["gdlab"], runs["d2l"]
    report = {
        "members": 1230, "steps": 100, "repeats": args.repeats,
        "gdlab_wall_s": med(g, "wall"), "gdlab_cpu_s": med(g, "cpu"), "gdlab_loop_s": med(g, "loop"),
        "d2l_wall_s": med(d, "wall"), "d2l_cpu_s": med(d, "cpu"), "d2l_loop_s": med(d, "loop"),
        "load_avg": statistics.median(r["load"] for r in g + d),
        "same_numbers": not problems,
    }
    report["whole_ratio_wall"] = report["d2l_wall_s"] / report["gdlab_wall_s"]
    report["whole_ratio_cpu"] = report["d2l_cpu_s"] / report["gdlab_cpu_s"]
    report["loop_ratio"] = report["d2l_loop_s"] / report["gdlab_loop_s"]
    print(json.dumps(report, indent=2))
    for p in problems[:10]:
        print("MISMATCH:", p)
    if report["whole_ratio_wall"] < TARGET_WHOLE:
        print(f"whole process: {report['whole_ratio_wall']:.2f}x, below the {TARGET_WHOLE:.0f}x target")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
