"""Benchmark: one sweep in one process, on 2 local worker processes and on a 2-worker Dask cluster; the overhead of
shipping one batch.

Run by hand (not collected by pytest, not run by CI):

    python tests/perf/bench_scaleout.py [--repeats 3] [--workloads airfoil,mnist] [--data ../shared/data]

Workloads (one whole `gdlab sweep ... --quiet` process each, figures included):
- airfoil: configs/airfoil-sgd.yaml, lr = logspace(-3,-0.5,10) × seed = 0..7, 20 epochs (80 members in one stack:
  seeds are a vectorized axis, and a linear model's members are too cheap to cut, so --workers 2 ships it whole
  to one worker: this workload measures what the pool costs where it cannot help)
- mnist:   configs/dlfs-mnist-activation.yaml with ReLU, lr = logspace(-3,-1,10) × seed = 0..3, 200 steps of 128
  rows on the shared t10k images (40 members of the DLFS MLP in one stack, cut into 8 batches of 5 for 2 workers)
- mnist1000: the same with 1,000 steps (not run by default: --workloads mnist1000): where each worker's fixed cost
  (a fresh interpreter, imports, reading MNIST, a first batch slower than the next) is small beside its batches
Modes: `--workers 1`, `--workers 2`, `--scheduler` to a cluster this script starts on 127.0.0.1 (`dask scheduler`
and `dask worker --nworkers 2 --nthreads 1`, the README's commands) and stops at the end.
Each repeat runs every (workload, mode) once, in a rotating order; medians over repeats; every run's summary.csv and
metrics.npz must be byte-equal to the one-process run's. Goals (issue 12): workers 2 at least 1.7x faster than 1;
Dask within 10 % of the local pool.
Overhead per batch: 64 empty batches (a real MNIST batch record each, its result a BatchResult-sized array) sent
through each executor, wall time / 64, after the pool or client has started.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from timing import machine_line, med, timed  # tests/perf/timing.py, beside this script

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
PORT = 8786
BATCHES_FOR_OVERHEAD = 64


def workloads(data: Path) -> dict[str, list[str]]:
    return {
        "airfoil": ["sweep", str(REPO / "configs" / "airfoil-sgd.yaml"), "--set", "epochs=20",
                    "--grid", "optimizer.lr=logspace(-3,-0.5,10)", "--grid", "seed=0,1,2,3,4,5,6,7"],
        "mnist": ["sweep", str(REPO / "configs" / "dlfs-mnist-activation.yaml"), "--grid", "problem.activation=relu",
                  "--grid", "optimizer.lr=logspace(-3,-1,10)", "--grid", "seed=0,1,2,3", "--set", "steps=200",
                  "--set", "problem.split=test", "--set", f"problem.data_dir={data}"],
        "mnist1000": ["sweep", str(REPO / "configs" / "dlfs-mnist-activation.yaml"), "--grid",
                      "problem.activation=relu", "--grid", "optimizer.lr=logspace(-3,-1,10)", "--grid", "seed=0,1,2,3",
                      "--set", "steps=1000", "--set", "problem.split=test", "--set", f"problem.data_dir={data}"],
    }


class Cluster:
    """`dask scheduler` and `dask worker --nworkers 2 --nthreads 1` on 127.0.0.1, as the README starts them."""

    def __init__(self, bindir: Path, log: Path):
        env = {**os.environ, "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "1"}
        self.log = open(log, "w")
        self.procs = [subprocess.Popen([str(bindir / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(PORT),
                                        "--no-dashboard"], stdout=self.log, stderr=subprocess.STDOUT, env=env)]
        self.procs.append(subprocess.Popen([str(bindir / "dask"), "worker", f"tcp://127.0.0.1:{PORT}", "--nworkers",
                                            "2", "--nthreads", "1", "--no-dashboard"], stdout=self.log,
                                           stderr=subprocess.STDOUT, env=env))
        self.address = f"tcp://127.0.0.1:{PORT}"
        from distributed import Client

        with Client(self.address, timeout=60) as client:
            client.wait_for_workers(2, timeout=120)

    def stop(self) -> None:
        for p in reversed(self.procs):
            p.terminate()
        for p in self.procs:
            p.wait(timeout=60)
        self.log.close()


def run(gdlab: str, args: list[str], mode: list[str], out: Path) -> dict:
    wall, cpu, stdout, load = timed([gdlab, *args, *mode, "--quiet", "--out", str(out)])
    run_dir = Path(stdout.strip().splitlines()[-1])
    files = {name: (run_dir / name).read_bytes() for name in ("summary.csv", "metrics.npz")}
    shutil.rmtree(run_dir)
    return {"wall": wall, "cpu": cpu, "load": load, "files": files}


def overhead_per_batch(address: str | None) -> dict[str, float]:
    """Seconds per batch of shipping a real MNIST-sized batch record and result through each executor."""
    sys.path.insert(0, str(HERE))
    import scaleout_tasks  # noqa: E402  (beside this script)
    from scaleout_tasks import echo_result, mnist_like_batch  # noqa: E402

    from gdlab.sweeps.executors import DaskCluster, LocalPool

    batch = mnist_like_batch()
    if address:  # the cluster's workers do not have this folder on their path: ship the helper by value
        import cloudpickle

        cloudpickle.register_pickle_by_value(scaleout_tasks)
    out = {}
    executors = [("local pool", lambda: LocalPool(2))] + ([("Dask", lambda: DaskCluster(address))] if address else [])
    for name, make in executors:
        with make() as ex:
            list(ex.run(echo_result, {i: batch for i in range(4)}))  # workers started, modules imported
            t0 = time.perf_counter()
            list(ex.run(echo_result, {i: batch for i in range(BATCHES_FOR_OVERHEAD)}))
            out[name] = (time.perf_counter() - t0) / BATCHES_FOR_OVERHEAD
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--gdlab", default=shutil.which("gdlab") or str(Path(sys.executable).parent / "gdlab"))
    ap.add_argument("--workloads", default="airfoil,mnist")
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data"), help="folder holding mnist/")
    ap.add_argument("--no-dask", action="store_true")
    args = ap.parse_args(argv)
    chosen = {k: v for k, v in workloads(Path(args.data).resolve()).items() if k in args.workloads.split(",")}
    if any(k.startswith("mnist") for k in chosen) and not (Path(args.data) / "mnist").is_dir():
        print(f"bench_scaleout: no MNIST files under {args.data}; mnist left out")
        chosen = {k: v for k, v in chosen.items() if not k.startswith("mnist")}
    try:
        import distributed  # noqa: F401
        dask = not args.no_dask
    except ImportError:
        print("bench_scaleout: Dask not installed (pip install 'gdlab[dask]'); its mode left out")
        dask = False
    modes = {"workers 1": ["--workers", "1"], "workers 2": ["--workers", "2"]}
    print(f"bench_scaleout: {args.gdlab}; {os.cpu_count()} cores; {args.repeats} repeats; {machine_line()}")
    runs: dict[tuple, list[dict]] = {}
    cluster = None
    with tempfile.TemporaryDirectory(prefix="gdlab-bench-scaleout-") as tmp:
        try:
            if dask:
                cluster = Cluster(Path(args.gdlab).parent, Path(tmp) / "cluster.log")
                modes["Dask 2 workers"] = ["--scheduler", cluster.address]
            names = list(modes)
            for rep in range(args.repeats):
                order = names[rep % len(names):] + names[:rep % len(names)]
                for workload, cmd in chosen.items():
                    for mode in order:
                        r = run(args.gdlab, cmd, modes[mode], Path(tmp))
                        runs.setdefault((workload, mode), []).append(r)
                        print(f"  repeat {rep + 1} {workload:8s} {mode:15s} wall {r['wall']:6.2f} s cpu "
                              f"{r['cpu']:6.2f} s (load {r['load']:.2f})", flush=True)
            overhead = overhead_per_batch(cluster.address if cluster else None)
        finally:
            if cluster:
                cluster.stop()
    print()
    ok = True
    for workload in chosen:
        base = runs[(workload, "workers 1")]
        for mode in modes:
            rs = runs[(workload, mode)]
            same = all(r["files"] == base[0]["files"] for r in rs)
            ok &= same
            speed = med(base, "wall") / med(rs, "wall")
            print(f"{workload:8s} {mode:15s} wall {med(rs, 'wall'):6.2f} s (min {min(r['wall'] for r in rs):.2f}, "
                  f"max {max(r['wall'] for r in rs):.2f}); speed-up vs 1 process {speed:.2f}x; same bytes: "
                  f"{'yes' if same else 'NO'}")
        if "Dask 2 workers" in modes:
            ratio = med(runs[(workload, "Dask 2 workers")], "wall") / med(runs[(workload, "workers 2")], "wall")
            print(f"{workload:8s} Dask / local pool: {ratio:.3f} (goal <= 1.10)")
    for name, seconds in overhead.items():
        print(f"overhead per batch, {name}: {seconds * 1e3:.1f} ms")
    print(f"after: {machine_line()}")
    return 0 if ok else 1


if __name__ == "__main__":
    import signal

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(main())
