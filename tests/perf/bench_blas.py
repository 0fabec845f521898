"""Benchmark: one BLAS thread against OpenBLAS's default (one per core) for gdlab's workloads, idle and loaded.

Run by hand (not collected by pytest, not run by CI):

    python tests/perf/bench_blas.py [--repeats 3] [--workloads toy,airfoil,mnist] [--data /work/shared/data]

Workloads (each one whole `gdlab` process, --quiet, figures included):
- toy:     `gdlab sweep configs/d2l-momentum.yaml --set steps=200` over 30,000 (lr, momentum) pairs
- airfoil: `gdlab compare configs/airfoil-compare.yaml --set epochs=10` (8 optimizers, linear model, batch 10)
- mnist:   `gdlab compare configs/dlfs-mnist-compare.yaml --set steps=300` on the shared t10k files (5 optimizers
           of the DLFS MLP 784-100-100-100-100-10, batch 128)
Threads: OPENBLAS_NUM_THREADS (and OMP_/MKL_) = 1 against = the number of cores (OpenBLAS's default when unset).
Load: none ("idle": whatever else the machine runs, reported) or one busy-loop process per core ("loaded").
Order: each repeat runs every (load, workload, threads) once, the two thread counts back to back, so both see the
same neighbours; medians over repeats. The loop time is the engine's wall_time_s from the run's summary.
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

from timing import busy_load, machine_line, med, timed  # tests/perf/timing.py, beside this script

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
BLAS_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def workloads(data: Path) -> dict[str, list[str]]:
    mnist_data = ["--set", "problem.split=test", "--set", f"problem.data_dir={data}"]
    return {
        "toy": ["sweep", str(REPO / "configs" / "d2l-momentum.yaml"), "--set", "steps=200",
                "--grid", "optimizer.lr=linspace(0.01,1,300)", "--grid", "optimizer.momentum=linspace(0,0.99,100)"],
        "airfoil": ["compare", str(REPO / "configs" / "airfoil-compare.yaml"), "--set", "epochs=10"],
        "mnist": ["compare", str(REPO / "configs" / "dlfs-mnist-compare.yaml"), "--set", "steps=300", *mnist_data],
    }


def loop_seconds(run_dir: Path) -> float:
    """The engine's time: summary.json's wall_time_s (sweep) or the largest member wall_time_s (compare)."""
    summary = json.loads((run_dir / "summary.json").read_text()) if (run_dir / "summary.json").is_file() else {}
    if "wall_time_s" in summary:
        return float(summary["wall_time_s"])
    with open(run_dir / "summary.csv", newline="") as f:
        return max(float(r["wall_time_s"]) for r in csv.DictReader(f))


def run_once(gdlab: str, args: list[str], threads: int, out: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in BLAS_VARIABLES}
    env.update({k: str(threads) for k in BLAS_VARIABLES})
    wall, cpu, stdout, load = timed([gdlab, *args, "--out", str(out), "--quiet"], env=env)
    run_dir = Path(stdout.strip().splitlines()[-1])
    loop = loop_seconds(run_dir)
    shutil.rmtree(run_dir)
    return {"wall": wall, "cpu": cpu, "loop": loop, "load": load}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--gdlab", default=shutil.which("gdlab") or str(Path(sys.executable).parent / "gdlab"))
    ap.add_argument("--workloads", default="toy,airfoil,mnist")
    ap.add_argument("--loads", default="idle,loaded")
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data"), help="folder holding mnist/")
    ap.add_argument("--json", help="write the raw timings here")
    args = ap.parse_args(argv)
    if not Path(args.gdlab).is_file():
        print("bench_blas: skipped, no gdlab executable (install gdlab or pass --gdlab PATH)")
        return 0
    chosen = {k: v for k, v in workloads(Path(args.data)).items() if k in args.workloads.split(",")}
    if "mnist" in chosen and not (Path(args.data) / "mnist").is_dir():
        print(f"bench_blas: no MNIST files under {args.data}; mnist left out")
        chosen.pop("mnist")
    cores = os.cpu_count() or 1
    thread_counts = [1, cores]
    print(f"bench_blas: {args.gdlab}; {cores} cores; threads {thread_counts}; {args.repeats} repeats")
    print(f"before: {machine_line()}")
    runs: dict[tuple, list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="gdlab-bench-blas-") as tmp:
        for rep in range(args.repeats):
            for load in args.loads.split(","):
                with busy_load() if load == "loaded" else _nothing():
                    for name, cmd in chosen.items():
                        order = thread_counts if rep % 2 == 0 else thread_counts[::-1]
                        for threads in order:
                            r = run_once(args.gdlab, cmd, threads, Path(tmp))
                            runs.setdefault((load, name, threads), []).append(r)
                            print(f"  repeat {rep + 1} {load:6s} {name:8s} threads {threads}: wall {r['wall']:6.2f} s "
                                  f"loop {r['loop']:6.2f} s cpu {r['cpu']:6.2f} s (load {r['load']:.2f})", flush=True)
            print(f"  after repeat {rep + 1}: {machine_line()}", flush=True)
    print()
    print(f"{'load':7s} {'workload':8s} {'threads':>7s} {'wall':>8s} {'loop':>8s} {'cpu':>7s}   loop ratio 1 / {cores}")
    for (load, name, threads), rs in runs.items():
        ratio = ""
        if threads == cores:
            ratio = f"   {med(runs[(load, name, 1)], 'loop') / med(rs, 'loop'):.2f}"
        print(f"{load:7s} {name:8s} {threads:7d} {med(rs, 'wall'):7.2f}s {med(rs, 'loop'):7.2f}s "
              f"{med(rs, 'cpu'):6.2f}s{ratio}")
    print(f"after: {machine_line()}")
    if args.json:
        Path(args.json).write_text(json.dumps({"|".join(map(str, k)): v for k, v in runs.items()}, indent=1))
    return 0


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None


if __name__ == "__main__":
    import signal

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # `kill PID` still stops the busy loops
    sys.exit(main())
