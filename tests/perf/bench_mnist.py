"""Benchmark: DLFS's MNIST optimizer comparison, one `gdlab compare` process against the same experiment in PyTorch.

Run by hand (not collected by pytest, not run by CI):

    /work/venv/bin/python tests/perf/bench_mnist.py [--repeats 3] [--threads 2] [--torch-python PATH]

- gdlab: `gdlab compare configs/dlfs-mnist-compare.yaml --set problem.split=test --set problem.data_dir=<data>
  --quiet --out <tmp>` (imports, data loading, the loop, metrics.csv, summaries and plots included); its loop
  time is wall_time_s in summary.csv (training + the whole-data evaluations + the final whole-data loss).
- PyTorch: tests/perf/torch_mnist.py with the torch interpreter (default /work/venv-torch/bin/python), whole
  process timed from outside as well; its loop time (training + evaluations) is measured inside.
Both get the same number of threads: torch.set_num_threads(N) there; OPENBLAS_NUM_THREADS, OMP_NUM_THREADS and
MKL_NUM_THREADS = N in the environment of both. Runs are interleaved (gdlab, torch, gdlab, ...), medians reported.
Ratio = gdlab wall / PyTorch wall (target <= 1.0, aim 0.6).

FLOP floor: the MLP 784-100-100-100-100-10 has 109,400 multiply-adds per row forward; backward needs the weight
gradients (the same 109,400) and the input gradients of layers 2..5 (31,000; none for the input layer), so one
row costs 249,800 multiply-adds = 499,600 FLOP, a batch of 128 rows 63.9 MFLOP per member and 319.8 MFLOP per
iteration for the 5 members. The floor is that divided by the machine's float32 matrix-product rate, measured
here with numpy on the same threads (the best of a large square product and the MLP's own shapes).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from timing import med, timed  # tests/perf/timing.py, beside this script

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CONFIG = REPO / "configs" / "dlfs-mnist-compare.yaml"
DEFAULT_DATA = REPO.parent / "shared" / "data"
FILES = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
SIZES = (784, 100, 100, 100, 100, 10)
MEMBERS, BATCH, STEPS = 5, 128, 2000
N_TRAIN, N_VAL, EVALS = 8000, 2000, 5  # t10k with 20% held out; evaluations at steps 0, 500, ..., 2000
LABELS = ("SGD", "Momentum", "AdaGrad", "Adam", "RMSprop")


def flops(steps: int = STEPS, evals: int = EVALS) -> dict:
    """FLOP counts (2 per multiply-add) of the experiment, from the layer sizes."""
    fwd = sum(a * b for a, b in zip(SIZES, SIZES[1:]))  # multiply-adds per row, forward
    bwd_w = fwd  # dL/dW of every layer
    bwd_x = sum(a * b for a, b in zip(SIZES[1:-1], SIZES[2:]))  # dL/dh of layers 2..5 (not the input layer)
    per_row = 2 * (fwd + bwd_w + bwd_x)
    return {
        "forward_macs_per_row": fwd, "backward_macs_per_row": bwd_w + bwd_x,
        "per_member_iteration": per_row * BATCH, "per_iteration": per_row * BATCH * MEMBERS,
        "training": per_row * BATCH * MEMBERS * steps,
        "evaluation": 2 * fwd * (N_TRAIN + N_VAL) * MEMBERS * evals,  # forward only
        "gdlab_final_loss": per_row * N_TRAIN * MEMBERS,  # gdlab's end: loss AND gradient on the training rows
    }


def matmul_rate(python: str, threads: int) -> dict:
    """GFLOP/s of float32 products on `threads` BLAS threads, in a fresh process of `python` (numpy)."""
    code = r"""
import json, time, numpy as np
def rate(a, b, reps):
    for _ in range(3): a @ b
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(reps): a @ b
        best = min(best, (time.perf_counter() - t) / reps)
    return 2 * a.shape[0] * a.shape[1] * b.shape[1] / best / 1e9
r = np.random.default_rng(0)
f = lambda *s: r.standard_normal(s).astype(np.float32)
print(json.dumps({"square_2048": rate(f(2048, 2048), f(2048, 2048), 3),
                  "batch_x_w1_128x784x100": rate(f(128, 784), f(784, 100), 200),
                  "w1_grad_784x128x100": rate(f(128, 784).T, f(128, 100), 200)}))
"""
    env = thread_env(threads)
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout)


def thread_env(threads: int) -> dict:
    env = dict(os.environ)
    for key in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[key] = str(threads)
    return env


def read_step(path: Path, step: int) -> dict:
    """The evaluation row of `step` in a member's metrics.csv (the row with train_loss filled)."""
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            if row["step"] == str(step) and row.get("train_loss"):
                return {k: float(v) for k, v in row.items() if v and k in
                        ("train_loss", "train_accuracy", "val_loss", "val_accuracy")}
    return {}


def run_gdlab(gdlab: str, data: Path, out: Path, env: dict, steps: int) -> dict:
    cmd = [gdlab, "compare", str(CONFIG), "--set", "problem.split=test", "--set", f"problem.data_dir={data}",
           *(["--set", f"steps={steps}"] if steps != STEPS else []), "--quiet", "--out", str(out),
           # the config uses DLFS's own rules; torch_mnist.py runs torch.optim's, so compare PyTorch's rules
           *[a for i in range(5) for a in ("--set", f"optimizers[{i}].variant=torch")]]
    wall, cpu, stdout, load = timed(cmd, env)
    run_dir = Path(stdout.strip().splitlines()[-1])
    with open(run_dir / "summary.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    members = [r["member"] for r in rows]
    result = {"wall": wall, "cpu": cpu, "load": load, "loop": float(rows[0]["wall_time_s"]),
              "first": {m: read_step(run_dir / m / "metrics.csv", 0) for m in members},
              "last": {m: read_step(run_dir / m / "metrics.csv", steps) for m in members},
              "figures": len(list(run_dir.rglob("*.png")))}
    shutil.rmtree(run_dir)
    return result


def run_torch(python: str, data: Path, out: Path, env: dict, threads: int, steps: int) -> dict:
    result_file = out / "torch.json"
    cmd = [python, str(HERE / "torch_mnist.py"), "--data", str(data), "--threads", str(threads),
           "--steps", str(steps), "--json", str(result_file)]
    wall, cpu, _, load = timed(cmd, env)
    r = json.loads(result_file.read_text())

    def named(step):
        ev = r["evals"][str(step)]
        return {m: {"train_loss": t[0], "train_accuracy": t[1], "val_loss": v[0], "val_accuracy": v[1]}
                for m, t, v in zip(r["labels"], ev["train"], ev["val"])}

    return {"wall": wall, "cpu": cpu, "load": load, "loop": r["loop_s"], "import": r["import_s"],
            "data": r["load_s"], "first": named(0), "last": named(steps)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the folder holding mnist/ (default %(default)s)")
    ap.add_argument("--gdlab", default=str(REPO.parent / "venv" / "bin" / "gdlab"))
    ap.add_argument("--torch-python", default=str(REPO.parent / "venv-torch" / "bin" / "python"))
    ap.add_argument("--only", choices=("gdlab", "torch"), help="run one side only")
    ap.add_argument("--steps", type=int, default=STEPS, help="iterations (2000; fewer for a quick look)")
    ap.add_argument("--json", help="write the raw timings here")
    args = ap.parse_args(argv)

    absent = [f for f in FILES if not (args.data / "mnist" / f).is_file()]
    if absent:
        print(f"bench_mnist: skipped, {', '.join(absent)} not found in {args.data / 'mnist'}")
        return 0
    sides = [s for s in ("gdlab", "torch") if args.only in (None, s)]
    if "gdlab" in sides and not Path(args.gdlab).is_file():
        print(f"bench_mnist: skipped, no gdlab executable at {args.gdlab} (pass --gdlab)")
        return 0
    if "torch" in sides:
        probe = subprocess.run([args.torch_python, "-c", "import torch, numpy"], capture_output=True)
        if probe.returncode != 0:
            print(f"bench_mnist: skipped, {args.torch_python} cannot import torch and numpy (pass --torch-python)")
            return 0
    env = thread_env(args.threads)
    print(f"bench_mnist: {args.repeats} interleaved repeats, {args.threads} threads, {os.cpu_count()} cores")
    runs: dict[str, list[dict]] = {s: [] for s in sides}
    with tempfile.TemporaryDirectory(prefix="gdlab-bench-mnist-") as tmp:
        for rep in range(args.repeats):
            if "gdlab" in sides:
                runs["gdlab"].append(run_gdlab(args.gdlab, args.data, Path(tmp), env, args.steps))
            if "torch" in sides:
                runs["torch"].append(run_torch(args.torch_python, args.data, Path(tmp), env, args.threads, args.steps))
            print("  repeat {}: {}".format(rep + 1, "  ".join(
                f"{k} {v[-1]['wall']:.2f}s (loop {v[-1]['loop']:.2f}s, load {v[-1]['load']:.2f})"
                for k, v in runs.items())), flush=True)

    print()
    print(f"{'process':10s} {'wall (median)':>14s} {'min':>7s} {'max':>7s} {'loop':>8s} {'outside loop':>13s} "
          f"{'CPU':>7s}")
    for name, rs in runs.items():
        print(f"{name:10s} {med(rs, 'wall'):13.2f}s {min(r['wall'] for r in rs):6.2f}s {max(r['wall'] for r in rs):6.2f}s "
              f"{med(rs, 'loop'):7.2f}s {med(rs, 'wall') - med(rs, 'loop'):12.2f}s {med(rs, 'cpu'):6.2f}s")
    if "torch" in runs:
        print(f"  torch: import {med(runs['torch'], 'import'):.2f}s, data + models {med(runs['torch'], 'data'):.2f}s")
    if "gdlab" in runs:
        print(f"  gdlab: {runs['gdlab'][-1]['figures']} PNG figures drawn")
    if len(runs) == 2:
        ratio = med(runs["gdlab"], "wall") / med(runs["torch"], "wall")
        loop_ratio = med(runs["gdlab"], "loop") / med(runs["torch"], "loop")
        print(f"\nratio gdlab / PyTorch: whole process {ratio:.2f} (target <= 1.0: {'met' if ratio <= 1 else 'NOT met'}; "
              f"aim 0.6), loop only {loop_ratio:.2f}")
        g, t = runs["gdlab"][-1], runs["torch"][-1]
        print("same experiment? evaluation at step 0 (same weights and data) and at the end:")
        for m in LABELS:
            a0, b0, a1, b1 = g["first"].get(m, {}), t["first"][m], g["last"].get(m, {}), t["last"][m]
            if a0:
                print(f"  {m:9s} step 0 train loss gdlab {a0['train_loss']:.6f} torch {b0['train_loss']:.6f} | "
                      f"end val acc gdlab {a1.get('val_accuracy', float('nan')):.4f} torch {b1['val_accuracy']:.4f}, "
                      f"train loss {a1.get('train_loss', float('nan')):.4f} / {b1['train_loss']:.4f}")

    f = flops(args.steps, len(range(0, args.steps, 500)) + 1)
    print(f"\nFLOPs: forward {f['forward_macs_per_row']:,} + backward {f['backward_macs_per_row']:,} multiply-adds per row"
          f" -> {f['per_member_iteration'] / 1e6:.1f} MFLOP per member per iteration, "
          f"{f['per_iteration'] / 1e6:.1f} MFLOP per iteration (5 members)")
    print(f"  training {f['training'] / 1e9:.0f} GFLOP; evaluations {f['evaluation'] / 1e9:.1f} GFLOP; gdlab's final "
          f"whole-data gradient {f['gdlab_final_loss'] / 1e9:.1f} GFLOP")
    rates = matmul_rate(str(REPO.parent / "venv" / "bin" / "python"), args.threads)
    peak = max(rates.values())
    print(f"  numpy float32 products on {args.threads} threads: " +
          ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in rates.items()))
    floor = (f["training"] + f["evaluation"]) / (peak * 1e9)
    print(f"  floor (training + evaluations at {peak:.0f} GFLOP/s): {floor:.2f} s")
    for name, rs in runs.items():
        work = f["training"] + f["evaluation"] + (f["gdlab_final_loss"] if name == "gdlab" else 0)
        print(f"  {name}: loop {med(rs, 'loop'):.2f}s = {work / med(rs, 'loop') / 1e9:.0f} GFLOP/s, "
              f"{100 * floor / med(rs, 'loop'):.0f}% of the floor rate (whole process: {100 * floor / med(rs, 'wall'):.0f}%)")
    if args.json:
        Path(args.json).write_text(json.dumps({"runs": runs, "flops": f, "rates": rates}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
