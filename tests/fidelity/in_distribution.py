"""What gdlab reproduces only in distribution: d2l's random experiments, many seeds on both sides.

d2l draws its randomness from torch (gradient noise, shuffling, initial weights), gdlab from NumPy's Generator: the
same distributions, different numbers. So single runs differ, and the claim to check is that the means over many
seeds agree within their standard errors. This script runs both sides and prints, per quantity, both means, their
standard errors and the difference in combined standard errors (|z| < 2 for about 95% of honest comparisons).

- d2l 12.4 noisy SGD (configs/d2l-sgd-{constant,exponential,polynomial}.yaml): the final point (x1, x2) and f.
  d2l's side is its sgd() and lr functions written out here, with torch.normal noise when torch is installed
  (as d2l draws it) and NumPy's legacy RandomState otherwise (an independent stream either way).
- d2l 12.5 minibatch SGD on the airfoil data (configs/airfoil-sgd.yaml: batch 10, lr 0.05, 2 epochs): the final
  whole-data loss. d2l's side is train_ch11 written out in NumPy float32: weights N(0, 0.01²), bias 0, a fresh
  shuffle each epoch, the loss ½(ŷ − y)² averaged.

Run by hand (not collected by pytest; about a minute):

    python tests/fidelity/in_distribution.py [--seeds 500] [--airfoil-seeds 70] [--first-seed 0] [--only NAME]
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from gdlab.config import load_config  # noqa: E402
from gdlab.engine import Member, make_schedule, run_stack  # noqa: E402
from gdlab.problems.build import build_problem  # noqa: E402

CONFIGS = REPO / "configs"


def gdlab_final(cfg, seed: int) -> tuple[np.ndarray, float]:
    """gdlab's final parameters and final loss of config `cfg` run with `seed`."""
    problem = build_problem(cfg.problem, seed=seed, dtype=cfg.dtype)
    o = cfg.optimizers[0]
    r = run_stack(problem, [Member(o.label, o.name, o.hparams)], steps=cfg.steps, epochs=cfg.epochs,
                  schedule=make_schedule(*cfg.schedule), dtype=cfg.dtype)
    return r.final_params[0].astype(float), float(r.final_loss[0])


# ------------------------------------------------------------------------------------------ d2l 12.4, by hand


def d2l_noisy_sgd(kind: str, steps: int, normal) -> tuple[float, float]:
    """d2l's sgd() with its lr functions (a global counter t = 1, incremented before use), from (−5, −2)."""
    eta, t = 0.1, 1

    def lr():
        nonlocal t
        if kind == "constant":
            return 1
        t += 1
        return math.exp(-0.1 * t) if kind == "exponential" else (1 + 0.1 * t) ** (-0.5)

    x1, x2 = -5.0, -2.0
    for _ in range(steps):
        g1, g2 = 2 * x1, 4 * x2
        g1 += normal()
        g2 += normal()
        eta_t = eta * lr()
        x1, x2 = x1 - eta_t * g1, x2 - eta_t * g2
    return x1, x2


def noise_source(seed: int):
    try:
        import torch

        gen = torch.Generator().manual_seed(seed)
        return lambda: torch.normal(0.0, 1.0, (1,), generator=gen).item(), "torch.normal"
    except ImportError:
        rs = np.random.RandomState(seed)
        return lambda: float(rs.normal(0.0, 1.0)), "numpy RandomState"


# ------------------------------------------------------------------------------------------ d2l 12.5, by hand


def d2l_airfoil_sgd(seed: int, lr=0.05, batch=10, epochs=2) -> float:
    """train_ch11 with sgd, in float32: the final loss on the whole data."""
    from gdlab.problems.datasets.airfoil import read_table, standardize

    data = standardize(read_table())[:1500]
    X, y = data[:, :-1], data[:, -1:]
    rng = np.random.RandomState(10_000 + seed)
    w = (rng.normal(0.0, 0.01, (5, 1))).astype(np.float32)
    b = np.zeros(1, np.float32)
    lr32 = np.float32(lr)
    for _ in range(epochs):
        order = rng.permutation(1500)
        for start in range(0, 1500, batch):
            idx = order[start:start + batch]
            err = X[idx] @ w + b - y[idx]  # d2l's squared_loss ½(ŷ − y)², averaged over the batch
            w -= lr32 * (X[idx].T @ err) / np.float32(len(idx))
            b -= lr32 * err.mean(axis=0)
    return float(np.mean(0.5 * (X @ w + b - y) ** 2))


def compare(name: str, ours: np.ndarray, theirs: np.ndarray) -> None:
    m1, m2 = ours.mean(), theirs.mean()
    s1, s2 = ours.std(ddof=1) / math.sqrt(len(ours)), theirs.std(ddof=1) / math.sqrt(len(theirs))
    z = (m1 - m2) / math.hypot(s1, s2) if s1 or s2 else 0.0
    print(f"  {name:<22} gdlab {m1: .6f} ± {s1:.6f}   d2l {m2: .6f} ± {s2:.6f}   "
          f"difference {m1 - m2: .2e} = {z:+.2f} SE")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=500)
    ap.add_argument("--airfoil-seeds", type=int, default=70)
    ap.add_argument("--first-seed", type=int, default=0, help="seeds first-seed, first-seed + 1, ... on both sides")
    ap.add_argument("--only", choices=("constant", "exponential", "polynomial", "airfoil"), default=None)
    args = ap.parse_args()
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    for kind, steps in (("constant", 50), ("exponential", 1000), ("polynomial", 50)):
        if args.only not in (None, kind):
            continue
        cfg = load_config(CONFIGS / f"d2l-sgd-{kind}.yaml")
        ours = np.array([np.append(*gdlab_final(cfg, s)) for s in seeds])  # (N, 3): x1, x2, f
        theirs, source = [], ""
        for s in seeds:
            normal, source = noise_source(s)
            x1, x2 = d2l_noisy_sgd(kind, steps, normal)
            theirs.append((x1, x2, x1 * x1 + 2 * x2 * x2))
        theirs = np.array(theirs)
        print(f"d2l 12.4 noisy SGD, {kind} ({steps} steps), {args.seeds} seeds each (d2l's noise: {source}):")
        for j, q in enumerate(("final x1", "final x2", "final f")):
            compare(q, ours[:, j], theirs[:, j])
    if args.only not in (None, "airfoil"):
        return
    n, cfg = args.airfoil_seeds, load_config(CONFIGS / "airfoil-sgd.yaml")
    ours = np.array([gdlab_final(cfg, s)[1] for s in range(args.first_seed, args.first_seed + n)])
    theirs = np.array([d2l_airfoil_sgd(s) for s in range(args.first_seed, args.first_seed + n)])
    print(f"d2l 12.5 airfoil, batch 10, lr 0.05, 2 epochs, {n} seeds each:")
    compare("final whole-data loss", ours, theirs)


if __name__ == "__main__":
    main()
