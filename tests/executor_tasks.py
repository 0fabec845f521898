"""Batch functions for the executor tests: module-level, so that worker processes import them by name."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path


def double(batch):
    """('ok', x) -> 2x; the other kinds misbehave on purpose."""
    kind, value = batch
    if kind == "die":  # the worker dies every time it runs this batch
        os.kill(os.getpid(), signal.SIGKILL)
    if kind == "die_once":  # value: a flag file; the first worker to run this dies, the retry succeeds
        flag = Path(value)
        if not flag.exists():
            flag.write_text("died once\n")
            os.kill(os.getpid(), signal.SIGKILL)
        return "survived"
    if kind == "raise":
        raise MemoryError("pretend the batch did not fit")
    if kind == "config":
        from gdlab.errors import ConfigError

        raise ConfigError("problem.data_dir: no such folder")
    return 2 * value


def worker_environment(batch):
    """What a worker looks like from inside: its BLAS thread variable, whether NumPy loaded first, its pid."""
    return os.environ.get("OPENBLAS_NUM_THREADS"), os.getpid(), sys.modules.get("numpy") is not None


def note_ready(folder):
    """A warm-up for LocalPool.prepare: a note named by this worker's pid."""
    Path(folder, str(os.getpid())).write_text("ready\n")


def ready_before(folder):
    """(this worker's pid, whether its warm-up note was there before this batch ran)."""
    return os.getpid(), Path(folder, str(os.getpid())).exists()
