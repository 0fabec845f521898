"""Attack script (run by hand, not by pytest): signals at random moments of a sweep and of a compare, and a full disk.

    python tests/attacks/signal_storm.py [--rounds 20] [--seed 0] [--tmpfs] [--kinds sweep,compare,tune]

Each round starts `python -m gdlab sweep|compare|tune ... -q` on a small problem, waits for a randomly chosen event of
that process (a file of its run directory appearing: the directory, config.yaml, a metrics row, summary.csv,
metrics.npz, summary.json, the plots folder, a figure) plus a random number (0-40) of further polls of the file
system, sends SIGINT or SIGTERM (once, or twice in a row), and then runs `gdlab plot` on whatever was left. Moments
are anchored to events, not to a clock, so a slow machine shifts them but does not change what they mean.

What must hold, whatever the moment: the process exits 0 (it had finished), 130 or 143; no traceback; either no run
directory exists (the signal came before it was made) or `gdlab plot` on it exits 0. With --tmpfs (root only) it
also mounts a 256 kB tmpfs and runs a compare and a sweep into it: exit 1 with one "disk full" message, no temporary
file left, every CSV whole.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

COMPARE = {"name": "storm-compare", "problem": {"objective": "rosenbrock"}, "steps": 20000, "log_every": 1,
           "optimizers": [{"name": "sgd", "lr": 0.001}, {"name": "adam", "lr": 0.01},
                          {"name": "momentum", "lr": 0.001}]}
SWEEP = {"name": "storm-sweep", "problem": {"objective": "bowl2d"}, "optimizer": {"name": "momentum"},
         "steps": 500, "sweep": {"optimizer.lr": "linspace(0.01,1,100)", "optimizer.momentum": [0.0, 0.5, 0.9],
                                 "steps": [300, 400, 500]}}  # three stacks (steps is structural; seeds are one
# stack now): signals can fall between them
TUNE = {"name": "storm-tune", "problem": {"objective": "rosenbrock"}, "steps": 3000, "seeds": 2,
        "optimizers": [{"name": "sgd", "tune": {"lr": "logspace(-4,-2,20)"}},
                       {"name": "adam", "tune": {"lr": "logspace(-3,-1,20)"}}]}
CONFIGS = {"compare": COMPARE, "sweep": SWEEP, "tune": TUNE}
EVENTS = {
    "compare": ["dir", "config.yaml", "metrics-row", "summary.json", "summary.csv", "plots", "figure"],
    "sweep": ["dir", "config.yaml", "summary.csv", "metrics.npz", "summary.json", "plots", "figure"],
    "tune": ["dir", "config.yaml", "trials.csv", "chosen.csv", "tuned.yaml", "compare", "metrics-row", "figure"],
}


def happened(event: str, out: Path) -> bool:
    try:
        return _happened(event, out)
    except FileNotFoundError:  # a temporary file or batch record renamed away while we looked: not yet
        return False


def _happened(event: str, out: Path) -> bool:
    dirs = [d for d in out.iterdir() if d.is_dir()] if out.is_dir() else []
    if event == "dir":
        return bool(dirs)
    files = [f for d in dirs for f in d.rglob("*")]
    if event == "metrics-row":
        return any(f.name == "metrics.csv" and f.stat().st_size > 200 for f in files)
    if event == "figure":
        return any(f.suffix == ".png" for f in files)
    return any(f.name == event for f in files)


def gdlab(*args, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "gdlab", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=lambda: signal.signal(signal.SIGINT,
                                                                                               signal.SIG_DFL),
                            **kwargs)


def one_round(kind: str, rng: random.Random, work: Path) -> dict:
    config = work / f"{kind}.yaml"
    config.write_text(yaml.safe_dump(CONFIGS[kind]))
    out = work / f"out-{kind}-{rng.random():.6f}"
    event, extra = rng.choice(EVENTS[kind]), rng.randrange(41)
    sig, times = rng.choice([signal.SIGINT, signal.SIGTERM]), rng.choice([1, 1, 2])
    proc = gdlab(kind, config, "--out", out, "-q")
    while not happened(event, out) and proc.poll() is None:
        time.sleep(0.001)
    for _ in range(extra):
        happened(event, out)
    sent = proc.poll() is None
    for _ in range(times if sent else 0):
        proc.send_signal(sig)
    _, err = proc.communicate(timeout=600)
    dirs = [d for d in out.iterdir() if d.is_dir()] if out.is_dir() else []
    plot = None
    if dirs:
        p = subprocess.run([sys.executable, "-m", "gdlab", "plot", str(dirs[0])], capture_output=True, text=True,
                           timeout=600)
        plot = (p.returncode, p.stderr.strip().splitlines()[-1:] if p.returncode else [])
    ok = (proc.returncode in (0, 130, 143) and "Traceback" not in err
          and (not dirs or plot[0] == 0) and (proc.returncode == 0 or sent))
    return {"kind": kind, "event": event, "extra_polls": extra, "signal": signal.Signals(sig).name, "times": times,
            "sent": sent, "exit": proc.returncode, "dirs": len(dirs), "plot": plot, "ok": ok,
            "stderr": err.strip().splitlines()[-2:]}


def full_disk(work: Path) -> list[dict]:
    mount = work / "small"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], check=True)
    results = []
    try:
        for kind, data in (("compare", {**COMPARE, "steps": 20000}), ("sweep", SWEEP)):
            config = work / f"full-{kind}.yaml"
            config.write_text(yaml.safe_dump(data))
            r = subprocess.run([sys.executable, "-m", "gdlab", kind, str(config), "--out", str(mount / kind), "-q"],
                               capture_output=True, text=True, timeout=600)
            temporaries = [str(f) for f in mount.rglob(".*.tmp")]
            partial = [str(f) for f in mount.rglob("*.csv") if f.stat().st_size and not f.read_bytes().endswith(b"\n")]
            dirs = [d for d in (mount / kind).iterdir()] if (mount / kind).is_dir() else []
            plot = subprocess.run([sys.executable, "-m", "gdlab", "plot", str(dirs[0])], capture_output=True,
                                  text=True, timeout=600) if dirs else None
            results.append({"kind": kind, "exit": r.returncode, "stderr": r.stderr.strip().splitlines(),
                            "temporaries": temporaries, "partial_csv": partial,
                            "plot": None if plot is None else (plot.returncode, plot.stderr.strip().splitlines()),
                            "ok": r.returncode == 1 and "Traceback" not in r.stderr and not temporaries
                            and not partial and len(r.stderr.strip().splitlines()) == 1})
            for d in dirs:
                subprocess.run(["rm", "-rf", str(d)], check=True)
    finally:
        subprocess.run(["umount", str(mount)], check=False)
    return results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tmpfs", action="store_true")
    ap.add_argument("--kinds", default="sweep,compare", help="comma-separated: sweep, compare, tune")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        results = [one_round(kind, rng, work) for kind in args.kinds.split(",")
                   for _ in range(args.rounds)]
        if args.tmpfs:
            results += full_disk(work)
    for r in results:
        print(json.dumps(r))
    bad = [r for r in results if not r["ok"]]
    print(f"{len(results) - len(bad)} passed, {len(bad)} failed", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
