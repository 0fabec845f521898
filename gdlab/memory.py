"""What a run, compare or sweep will hold in memory, estimated before anything starts, and the check against what the
machine has.

The estimate counts the arrays that grow with the experiment, from the config alone (no data is loaded):

    parameters   R members × P parameters: the parameters, the new parameters, the gradient, the frozen copy and
                 the update's temporaries (STEP_COPIES arrays of R × P)
    optimizer    the optimizer's state: its init() counted on one member of two parameters, times R × P
    data         the dataset's rows (the generated or read table and its training copy)
    activations  a model's layer outputs and their gradients for one batch of every member, and for one chunk
                 of the whole-data evaluation
    histories    a sweep's loss history (log points × R, float32) and its per-member records (labels, rows)
    process      the interpreter and its libraries

It errs on the high side (NumPy's temporaries come and go), which is what a refusal up front needs: a run it lets
through may still be slow, but one it refuses would have failed after the run directory existed.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass

import numpy as np

from .config import Config
from .errors import ConfigError

STEP_COPIES = 6  # params, new params, grad, frozen copy, two temporaries of an update
PER_MEMBER_RECORD = 1536  # bytes per sweep member: label, summary.csv row, statuses, indices (measured: 1.1 kB
# per member for one swept key, peak RSS of 200,000- and 1,000,000-member sweeps; labels grow with more keys)
PROCESS = 150_000_000  # Python, NumPy and matplotlib themselves (a 20-step run peaks at about 140 MB)
EVAL_CHUNK = 4096  # rows per forward pass of a whole-data evaluation (problems.learning.CHUNK)
DATA_COPIES = 3  # the generated or read table, its float copy, the training rows


@dataclass(frozen=True)
class Estimate:
    """Bytes each part of an experiment needs (see the module docstring)."""

    parameters: int = 0
    optimizer: int = 0
    data: int = 0
    activations: int = 0
    histories: int = 0
    process: int = PROCESS

    @property
    def total(self) -> int:
        return self.parameters + self.optimizer + self.data + self.activations + self.histories + self.process

    def describe(self) -> str:
        parts = [(k, getattr(self, k)) for k in ("parameters", "optimizer", "data", "activations", "histories",
                                                 "process")]
        return ", ".join(f"{k} {human(v)}" for k, v in parts if v >= 1e6 or v == max(p[1] for p in parts))


def human(n: float) -> str:
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} B"


def parse_size(text: str) -> int:
    """'8G', '500M', '1.5GB', '2e9' -> bytes (powers of 1000; 'GiB' etc. of 1024)."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([kKmMgGtT]?)(i?)[bB]?\s*", str(text))
    if not m:
        raise ConfigError(f"--max-memory {text!r}: expected a size such as 8G, 500M or 2e9 (bytes)")
    value, unit, binary = float(m.group(1)), m.group(2).lower(), m.group(3)
    power = " kmgt".index(unit) if unit else 0
    size = value * (1024 if binary else 1000) ** power
    if not math.isfinite(size) or size <= 0:
        raise ConfigError(f"--max-memory {text!r}: must be a positive size")
    return int(size)


def available() -> int | None:
    """Bytes this process may still use: the kernel's MemAvailable, within a cgroup limit if one is set."""
    found = []
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    found.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open("/sys/fs/cgroup/memory.max", encoding="ascii") as f:
            limit = f.read().strip()
        with open("/sys/fs/cgroup/memory.current", encoding="ascii") as f:
            used = int(f.read().strip())
        if limit != "max":
            found.append(max(0, int(limit) - used))
    except (OSError, ValueError):
        pass
    if not found and hasattr(os, "sysconf"):
        try:
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (OSError, ValueError):
            pass
    return min(found) if found else None


def state_arrays(name: str | None, hparams: dict) -> int:
    """How many parameter-sized arrays the optimizer keeps per member (Adam 2, AMSGrad 3, SGD with momentum 1);
    a plugin (name None) or an optimizer that cannot be probed counts as the largest built-in state."""
    from .optim import OPTIMIZERS

    if name is None:
        return 4
    try:
        opt = OPTIMIZERS.get(name)(**{**hparams, "lr": lambda t: 0.0})
        state = opt.init(np.zeros((1, 2)))
        return math.ceil(sum(np.size(a) for a in state if isinstance(a, np.ndarray)) / 2)
    except Exception:  # noqa: BLE001 - an optimizer that cannot be probed this way: the largest built-in state
        return 4


def data_shape(cfg: Config) -> tuple[int, int, int] | None:
    """(rows N, features F, outputs K) of a dataset problem, from its config alone; None when unknown."""
    from .problems.datasets import DATASET_TASKS, shape_of

    p = cfg.problem
    shape = shape_of(p.name, p.params, p.split)
    if shape is None:
        return None
    n, f = shape
    return n, f, 10 if DATASET_TASKS.get(p.name) == "multiclass" else 1


def estimate(cfg: Config, members: int, states: int | None = None) -> Estimate:
    """The memory of running `cfg`'s problem with `members` members in one stack (run and compare stream their
    metrics to disk: no history is kept); `states`: parameter-sized arrays of optimizer state per member (default:
    the largest among the config's optimizers)."""
    itemsize = np.dtype(cfg.dtype).itemsize
    p = cfg.problem
    data = activations = 0
    if p.kind == "objective":
        n_params = max(len(p.init or ()), 1)
    else:
        shape = data_shape(cfg)
        if shape is None:
            return Estimate()
        rows, features, outputs = shape
        widths = (features, *p.hidden, outputs) if p.model == "mlp" else (features, outputs)
        n_params = sum(a * b + (b if p.bias else 0) for a, b in zip(widths[:-1], widths[1:]))
        data = DATA_COPIES * rows * (features + 1) * 8
        batch = min(p.batch_size or rows, rows)
        layer_values = sum(widths[1:])
        activations = 3 * members * (batch + min(rows, EVAL_CHUNK)) * layer_values * itemsize
    per_member = n_params * itemsize * members
    if states is None:
        states = max((state_arrays(None if o.plugin is not None else o.name, o.hparams) for o in cfg.optimizers),
                     default=0)
    return Estimate(parameters=STEP_COPIES * per_member, optimizer=states * per_member, data=data,
                    activations=activations)


def log_points(cfg: Config, bounded: bool = False) -> int:
    """How many steps of `cfg` are logged (from the config alone; datasets counted in batches of their rows).

    bounded: the config does not set log_every, so a sweep logs a bounded history (config.history)."""
    from .config.history import bounded_log_every

    steps = cfg.steps
    if steps is None:
        shape = data_shape(cfg) if cfg.problem.kind == "dataset" else None
        rows = shape[0] if shape else 1
        steps = math.ceil((cfg.epochs or 1) * math.ceil(rows / min(cfg.problem.batch_size or rows, rows)))
    return steps // (bounded_log_every(steps) if bounded else cfg.log_every) + 2


def sweep_estimate(configs: list[Config], stack_sizes: list[int], states: list[int] | None = None,
                   bounded: bool = False) -> Estimate:
    """A sweep runs its stacks one after the other, and keeps every member's history and record until the end:
    each stack's (L, R_b) float32 loss until the stacks are merged into one (L, R) history, so two copies.

    states: parameter-sized state arrays per member of each stack (default: from each stack's config); bounded: the
    sweep chooses log_every itself (see log_points)."""
    members = sum(stack_sizes)
    states = list(states) if states is not None else [None] * len(configs)
    stacks = [estimate(c, size, s) for c, size, s in zip(configs, stack_sizes, states)]
    largest = max(stacks, key=lambda e: e.total)
    points = max(log_points(c, bounded) for c in configs)
    return Estimate(largest.parameters, largest.optimizer, largest.data, largest.activations,
                    histories=2 * points * members * 4 + PER_MEMBER_RECORD * members)


def check(need: Estimate, limit: int | None = None, what: str = "this run") -> None:
    """Refuse (ConfigError, exit 2) an experiment whose estimate exceeds `limit` (default: what is available)."""
    have = limit if limit is not None else available()
    if have is None or need.total <= have:
        return
    source = "--max-memory" if limit is not None else "the machine has available"
    raise ConfigError(f"{what} needs about {human(need.total)} of memory ({need.describe()}), more than the "
                      f"{human(have)} {source}; make it smaller (fewer members, steps or hidden units, a larger "
                      f"log_every, a smaller batch) or, if you know better, allow more with --max-memory")
