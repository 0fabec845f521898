"""DLFS chapter 6's MNIST optimizer comparison in PyTorch on the CPU: the baseline for bench_mnist.py (run by hand).

The same experiment as `gdlab compare configs/dlfs-mnist-compare.yaml --set problem.split=test`:
- data: the t10k IDX files read with numpy + gzip, pixels / 255 as float32; 20% held out exactly as gdlab splits
  (numpy Generator seeded [seed, 1], permutation, round(0.2·N) validation rows, both parts sorted);
- model: five separate nn.Sequential MLPs 784-100-100-100-100-10 with ReLU, all starting from gdlab's He draw
  (Generator [seed, 0], N(0, 2/fan_in) per layer in float64, cast to float32; biases 0);
- batches: 128 rows drawn with replacement each iteration (Generator [seed, 2], rng.choice(N, 128), gdlab's
  stream), the same batch for all five; 2000 iterations; the mini-batch loss of every step is kept;
- optimizers: torch.optim.SGD(lr 0.01), SGD(lr 0.01, momentum 0.9), Adagrad(lr 0.01), Adam(lr 0.001),
  RMSprop(lr 0.01, alpha 0.99), torch's defaults otherwise;
- evaluation: loss and accuracy on the training and held-out rows at steps 0, 500, 1000, 1500 and 2000.

    /work/venv-torch/bin/python tests/perf/torch_mnist.py [--data DIR] [--threads 2] [--steps 2000] [--json OUT]

Prints one JSON line with the phase times (import_s, load_s, loop_s: training + evaluation, as gdlab's
wall_time_s) and the evaluations. Exits 0 with a message when torch or the data is missing.
"""

from __future__ import annotations

import time

T_START = time.perf_counter()

import argparse  # noqa: E402
import gzip  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DEFAULT_DATA = REPO.parent / "shared" / "data"
FILES = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
SIZES = (784, 100, 100, 100, 100, 10)
OPTIMIZERS = (  # (label, torch.optim class name, keyword arguments)
    ("SGD", "SGD", {"lr": 0.01}),
    ("Momentum", "SGD", {"lr": 0.01, "momentum": 0.9}),
    ("AdaGrad", "Adagrad", {"lr": 0.01}),
    ("Adam", "Adam", {"lr": 0.001}),
    ("RMSprop", "RMSprop", {"lr": 0.01, "alpha": 0.99}),
)


def missing(data: Path) -> str | None:
    """Why this benchmark cannot run here, or None."""
    try:
        import torch  # noqa: F401
        import numpy  # noqa: F401
    except ImportError as e:
        return f"torch_mnist: skipped, {e.name} is not installed (use /work/venv-torch/bin/python)"
    absent = [f for f in FILES if not (data / "mnist" / f).is_file()]
    if absent:
        return f"torch_mnist: skipped, {', '.join(absent)} not found in {data / 'mnist'}"
    return None


def read_idx(path: Path, offset: int):
    import numpy as np

    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def load(data: Path, seed: int, validation: float = 0.2):
    """(X_train, y_train, X_val, y_val) as numpy float32 / int64, split as gdlab splits."""
    import numpy as np

    X = read_idx(data / "mnist" / FILES[0], 16).reshape(-1, 784).astype(np.float32)
    X /= np.float32(255.0)
    y = read_idx(data / "mnist" / FILES[1], 8).astype(np.int64)
    n = len(X)
    n_val = max(1, round(validation * n))
    perm = np.random.default_rng([seed, 1]).permutation(n)
    train, val = np.sort(perm[n_val:]), np.sort(perm[:n_val])
    return X[train], y[train], X[val], y[val]


def he_weights(seed: int):
    """gdlab's initial weights: one (fan_in, fan_out) float64 draw per layer from Generator [seed, 0]."""
    import numpy as np

    rng = np.random.default_rng([seed, 0])
    return [(math.sqrt(2.0 / a) * rng.standard_normal((a, b))).astype(np.float32) for a, b in zip(SIZES, SIZES[1:])]


def build(weights):
    import torch
    from torch import nn

    layers = []
    for i, W in enumerate(weights):
        lin = nn.Linear(W.shape[0], W.shape[1])
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(W.T.copy()))  # nn.Linear keeps (out, in)
            lin.bias.zero_()
        layers.append(lin)
        if i < len(weights) - 1:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def evaluate(models, X, y):
    import torch
    import torch.nn.functional as F

    out = []
    with torch.no_grad():
        for m in models:
            logits = m(X)
            out.append((float(F.cross_entropy(logits, y)), float((logits.argmax(1) == y).double().mean())))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the folder holding mnist/ (default %(default)s)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--eval-every", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="also write the result here")
    args = ap.parse_args(argv)
    why = missing(args.data)
    if why:
        print(why)
        return 0

    import numpy as np
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(args.threads)
    t_import = time.perf_counter()
    Xtr, ytr, Xv, yv = load(args.data, args.seed)
    Xtr_t, ytr_t, Xv_t, yv_t = map(torch.from_numpy, (Xtr, ytr, Xv, yv))
    weights = he_weights(args.seed)
    models = [build(weights) for _ in OPTIMIZERS]
    opts = [getattr(torch.optim, cls)(m.parameters(), **kw) for m, (_, cls, kw) in zip(models, OPTIMIZERS)]
    batch_rng = np.random.default_rng([args.seed, 2])
    n = len(Xtr)
    t_load = time.perf_counter()

    evals = {}
    losses = [[] for _ in models]

    def record(step):
        evals[step] = {"train": evaluate(models, Xtr_t, ytr_t), "val": evaluate(models, Xv_t, yv_t)}

    t0 = time.perf_counter()
    for k in range(args.steps):
        if k % args.eval_every == 0:
            record(k)
        idx = torch.from_numpy(batch_rng.choice(n, args.batch))
        xb, yb = Xtr_t[idx], ytr_t[idx]
        for m, opt, hist in zip(models, opts, losses):
            opt.zero_grad()
            loss = F.cross_entropy(m(xb), yb)
            loss.backward()
            opt.step()
            hist.append(loss.item())
    record(args.steps)
    loop_s = time.perf_counter() - t0
    t_end = time.perf_counter()

    result = {
        "torch_version": torch.__version__, "threads": torch.get_num_threads(),
        "import_s": t_import - T_START, "load_s": t_load - t_import, "loop_s": loop_s, "total_s": t_end - T_START,
        "labels": [label for label, _, _ in OPTIMIZERS],
        "first_batch_loss": [h[0] for h in losses], "last_batch_loss": [h[-1] for h in losses],
        "evals": {str(s): v for s, v in evals.items()},
    }
    if args.json:
        Path(args.json).write_text(json.dumps(result), encoding="utf-8")
    print(json.dumps({k: result[k] for k in ("threads", "import_s", "load_s", "loop_s", "total_s")}))
    for label, (tl, ta), (vl, va) in zip(result["labels"], evals[args.steps]["train"], evals[args.steps]["val"]):
        print(f"  {label:9s} train loss {tl:.4f} acc {ta:.4f}   val loss {vl:.4f} acc {va:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
