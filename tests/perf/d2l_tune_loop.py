"""The tuning protocol of bench_tune.py the d2l way: a Python loop over members (run by hand, not by CI).

d2l section 12.4-12.10 style: module-level hyperparameters, one `*_2d` trainer per optimizer called once per step on
plain Python floats, `train_2d` per member; the gradient noise of each member drawn per step from its seed's own
generator (numpy's default_rng(seed).standard_normal(2), the same stream gdlab gives that seed). For each of d2l's
six optimizers, each of 41 learning rates and 5 seeds: 100 steps on f = 0.1·x1² + 2·x2² from (-5, -2). Then the
same selection rule as gdlab tune (median final loss over the seeds; a trial with a diverged seed loses; values
equal to 12 significant digits tie, ties to the larger lr) and the chosen settings rerun on seeds 5..9.
Arithmetic is in gdlab's order (PyTorch's rules; d2l's own for AdaGrad and RMSProp), so both sides agree.

    python tests/perf/d2l_tune_loop.py [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time

import numpy as np

LRS = [float(v) for v in np.logspace(-4, 1, 41)]  # the grid gdlab's logspace(-4,1,41) gives
TRIAL_SEEDS, RERUN_SEEDS, STEPS, NOISE = range(0, 5), range(5, 10), 100, 1.0
eta = 0.4  # d2l's module-level learning rate, set before each member


def f_2d(x1, x2):
    return 0.1 * x1 * x1 + 2.0 * x2 * x2


def f_grad(x1, x2, z):
    return 0.2 * x1 + NOISE * z[0], 4.0 * x2 + NOISE * z[1]


def sgd_2d(x1, x2, g1, g2, s, t):
    return x1 - eta * g1, x2 - eta * g2, s


def momentum_2d(x1, x2, g1, g2, s, t):  # PyTorch's (and d2l's) v ← μ·v + g, the first v = g
    v1, v2 = (g1, g2) if t == 1 else (0.5 * s[0] + g1, 0.5 * s[1] + g2)
    return x1 - eta * v1, x2 - eta * v2, (v1, v2)


def adagrad_2d(x1, x2, g1, g2, s, t):  # d2l: eps inside the root
    s1, s2 = s[0] + g1 * g1, s[1] + g2 * g2
    return x1 - eta / math.sqrt(s1 + 1e-6) * g1, x2 - eta / math.sqrt(s2 + 1e-6) * g2, (s1, s2)


def rmsprop_2d(x1, x2, g1, g2, s, t):  # d2l: γ = 0.9, eps inside the root
    s1, s2 = 0.9 * s[0] + (1 - 0.9) * (g1 * g1), 0.9 * s[1] + (1 - 0.9) * (g2 * g2)
    return x1 - eta / math.sqrt(s1 + 1e-6) * g1, x2 - eta / math.sqrt(s2 + 1e-6) * g2, (s1, s2)


def adadelta_2d(x1, x2, g1, g2, s, t):  # ρ = 0.9, eps 1e-5 (d2l's), PyTorch's order
    v1, v2, u1, u2 = s
    v1, v2 = 0.9 * v1 + (1 - 0.9) * (g1 * g1), 0.9 * v2 + (1 - 0.9) * (g2 * g2)
    d1 = math.sqrt(u1 + 1e-5) / math.sqrt(v1 + 1e-5) * g1
    d2 = math.sqrt(u2 + 1e-5) / math.sqrt(v2 + 1e-5) * g2
    u1, u2 = 0.9 * u1 + (1 - 0.9) * (d1 * d1), 0.9 * u2 + (1 - 0.9) * (d2 * d2)
    return x1 - eta * d1, x2 - eta * d2, (v1, v2, u1, u2)


def adam_2d(x1, x2, g1, g2, s, t):  # PyTorch's Adam with d2l's eps 1e-6
    m1, m2, v1, v2, b1t, b2t = s
    m1, m2 = 0.9 * m1 + (1 - 0.9) * g1, 0.9 * m2 + (1 - 0.9) * g2
    v1, v2 = 0.999 * v1 + (1 - 0.999) * (g1 * g1), 0.999 * v2 + (1 - 0.999) * (g2 * g2)
    b1t, b2t = b1t * 0.9, b2t * 0.999
    c = math.sqrt(1 - b2t)
    step = eta / (1 - b1t)
    x1 = x1 - step * (m1 / (math.sqrt(v1) / c + 1e-6))
    x2 = x2 - step * (m2 / (math.sqrt(v2) / c + 1e-6))
    return x1, x2, (m1, m2, v1, v2, b1t, b2t)


TRAINERS = {"GD": (sgd_2d, None), "momentum": (momentum_2d, (0.0, 0.0)), "AdaGrad": (adagrad_2d, (0.0, 0.0)),
            "RMSProp": (rmsprop_2d, (0.0, 0.0)), "AdaDelta": (adadelta_2d, (0.0, 0.0, 0.0, 0.0)),
            "Adam": (adam_2d, (0.0, 0.0, 0.0, 0.0, 1.0, 1.0))}


def train_2d(trainer, state, seed):
    """d2l.train_2d for one member: (final loss, diverged)."""
    rng = np.random.default_rng(seed)
    x1, x2, s = -5.0, -2.0, state
    last = f_2d(x1, x2)
    for t in range(1, STEPS + 1):
        loss = f_2d(x1, x2)
        if not math.isfinite(loss):
            return last, True
        last = loss
        g1, g2 = f_grad(x1, x2, rng.standard_normal(2))
        x1, x2, s = trainer(x1, x2, g1, g2, s, t)
        if not (math.isfinite(x1) and math.isfinite(x2)):
            return last, True
    final = f_2d(x1, x2)
    return (final, False) if math.isfinite(final) else (last, True)


def rounded(v: float) -> float:
    if not math.isfinite(v) or v == 0:
        return v
    e = math.floor(math.log10(abs(v)))
    return round(v / 10.0**e, 11) * 10.0**e


def main(argv=None) -> int:
    global eta
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    start = time.perf_counter()
    trials, chosen, reruns = {}, {}, {}
    for name, (trainer, state) in TRAINERS.items():
        best = None
        for lr in LRS:
            eta = lr
            runs = [train_2d(trainer, state, seed) for seed in TRIAL_SEEDS]
            value = sorted(r[0] for r in runs)[len(runs) // 2]  # the median of five
            diverged = any(r[1] for r in runs)
            trials[f"{name}@{lr!r}"] = value
            key = (diverged, rounded(value), -lr)
            best = key if best is None or key < best else best
        eta = chosen[name] = -best[2]
        reruns[name] = [train_2d(trainer, state, seed)[0] for seed in RERUN_SEEDS]
    loop_s = time.perf_counter() - start
    out = {"loop_s": loop_s, "members": len(TRAINERS) * len(LRS) * len(TRIAL_SEEDS), "chosen": chosen,
           "reruns": reruns, "trials": trials}
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(out, f)
    print(json.dumps({"loop_s": loop_s, "members": out["members"], "chosen": chosen}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
