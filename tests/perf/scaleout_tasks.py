"""Helpers of bench_scaleout.py: a real MNIST batch record, and a batch function that only sends a result back."""

from __future__ import annotations

from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]


def mnist_like_batch():
    """The first batch (5 members) of the benchmark's MNIST sweep, as workers receive it (no data inside)."""
    from gdlab.config import load_config
    from gdlab.config.grid import grid_axes
    from gdlab.sweeps.cutting import cut
    from gdlab.sweeps.plan import plan_sweep

    cfg = load_config(REPO / "configs" / "dlfs-mnist-activation.yaml",
                      ["problem.split=test", "steps=200", "problem.activation=relu"])
    plan = plan_sweep(cfg, grid_axes({}, ["optimizer.lr=logspace(-3,-1,10)", "seed=0,1,2,3"]))
    return cut(plan, [(0, 0, 5)]).batches[0]


def echo_result(batch):
    """What a finished batch sends back (201 logged points per member), without running it."""
    from gdlab.sweeps.batch import BatchResult

    n = len(batch.members)
    return BatchResult(batch.number, batch.members, np.full(n, "completed", dtype=object), np.zeros(n),
                       np.zeros(n), np.full(n, -1), np.full(n, 200), np.arange(0, 201, dtype=np.int64),
                       np.zeros((201, n), dtype=np.float32), 200, 0.0, False)
