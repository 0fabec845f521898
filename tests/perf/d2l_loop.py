"""The d2l way to sweep momentum on the bowl: one scalar Python loop per configuration (run by hand, not by CI).

d2l's train_2d style: for each (lr, momentum) configuration, 100 steps of plain Python floats on x1, x2, v1, v2
from (-5, -2) on f = 0.1·x1² + 2·x2², recording the loss at every step (and at the end) as gdlab's sweep does.
The arithmetic is written in the same order as gdlab's (f = a·x1·x1 + b·x2·x2, ∇f = (2a·x1, 2b·x2), PyTorch's
heavy-ball v ← μ·v + g, x ← x − lr·v), so the final losses agree bit for bit and the timing compares equal work.

The grid is linspace(0.01, 1, 1000) × linspace(0, 0.99, 100) computed in pure Python exactly as numpy.linspace
does (start + i·step, last value = stop), so this process imports nothing heavier than the standard library.

    python tests/perf/d2l_loop.py [--lr-count 1000] [--mom-count 100] [--steps 100] [--json OUT] [--sample K]

Prints one JSON line: loop_s (the loop alone, timed inside this process), members, steps, and with --sample K the
final loss of every K-th member (index -> float, for bench_sweep.py's equality check).
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def linspace(start: float, stop: float, num: int) -> list[float]:
    """numpy.linspace(start, stop, num) (endpoint=True) for floats, in the same IEEE operations."""
    if num == 1:
        return [start]
    div = num - 1
    step = (stop - start) / div
    out = [i * step + start for i in range(num)]
    out[-1] = stop
    return out


def sweep_inline(lrs: list[float], moms: list[float], steps: int) -> tuple[list[float], list[list[float]]]:
    """The tight variant: everything inlined in one loop nest (the fastest plain Python a reader would write)."""
    a, b = 0.1, 2.0
    ga, gb = 2 * a, 2 * b  # 2a·x1 and 2b·x2, as gdlab's bowl2d gradient
    finals: list[float] = []
    histories: list[list[float]] = []
    for lr in lrs:
        for mu in moms:
            x1, x2 = -5.0, -2.0
            v1 = v2 = 0.0
            losses = []
            for _ in range(steps):
                losses.append(a * x1 * x1 + b * x2 * x2)
                v1 = mu * v1 + ga * x1  # from v = 0 the first buffer is exactly g, as PyTorch's (and gdlab's)
                v2 = mu * v2 + gb * x2
                x1 -= lr * v1
                x2 -= lr * v2
            final = a * x1 * x1 + b * x2 * x2
            losses.append(final)
            finals.append(final)
            histories.append(losses)
    return finals, histories


# d2l 12.6 as the book writes it: module-level hyperparameters, f_2d, a trainer called once per step, train_2d.
eta, beta = 0.4, 0.5


def f_2d(x1, x2):
    return 0.1 * x1 * x1 + 2.0 * x2 * x2  # d2l: 0.1 * x1 ** 2 + 2 * x2 ** 2; gdlab's order of operations


def momentum_2d(x1, x2, v1, v2):
    v1 = beta * v1 + 0.2 * x1
    v2 = beta * v2 + 4.0 * x2
    return x1 - eta * v1, x2 - eta * v2, v1, v2


def train_2d(trainer, steps=20):
    """d2l.train_2d, recording the loss at each step (and at the end) instead of the points, and not printing."""
    x1, x2, s1, s2 = -5.0, -2.0, 0.0, 0.0
    losses = []
    for _ in range(steps):
        losses.append(f_2d(x1, x2))
        x1, x2, s1, s2 = trainer(x1, x2, s1, s2)
    losses.append(f_2d(x1, x2))
    return losses


def sweep_d2l(lrs: list[float], moms: list[float], steps: int) -> tuple[list[float], list[list[float]]]:
    """The book's structure: set eta and beta, call train_2d(momentum_2d), for every configuration."""
    global eta, beta
    histories = []
    for lr in lrs:
        for mu in moms:
            eta, beta = lr, mu
            histories.append(train_2d(momentum_2d, steps))
    return [h[-1] for h in histories], histories


STYLES = {"d2l": sweep_d2l, "inline": sweep_inline}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lr-count", type=int, default=1000)
    ap.add_argument("--mom-count", type=int, default=100)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--style", choices=sorted(STYLES), default="d2l",
                    help="d2l: the book's train_2d(momentum_2d) with a call per step; inline: one tight loop nest")
    ap.add_argument("--sample", type=int, default=0, help="report the final loss of every K-th member")
    ap.add_argument("--json", help="also write the result here")
    args = ap.parse_args(argv)
    lrs = linspace(0.01, 1.0, args.lr_count)
    moms = linspace(0.0, 0.99, args.mom_count)
    start = time.perf_counter()
    finals, histories = STYLES[args.style](lrs, moms, args.steps)
    loop_s = time.perf_counter() - start
    out = {"style": args.style, "loop_s": loop_s, "members": len(finals), "steps": args.steps,
           "recorded_losses": sum(map(len, histories))}
    if args.sample:
        out["final_loss"] = {str(i): finals[i] for i in range(0, len(finals), args.sample)}
        out["final_loss"][str(len(finals) - 1)] = finals[-1]
    text = json.dumps(out)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            f.write(text)
    print(json.dumps({k: v for k, v in out.items() if k != "final_loss"}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
