"""How many threads NumPy's BLAS may use: decided before NumPy loads, through the environment.

OpenBLAS (NumPy's BLAS on Linux wheels) starts one thread per core when it loads and reads its thread count from
the environment only then, so the count is set here, in os.environ, before the first `import numpy`: by the command
line at start-up (`limit_blas_threads`) and in every worker process (the local pool starts its workers with it;
Dask's nanny sets the same variables to 1 by default). A count the user set in the environment is kept.

Why one thread by default (tests/perf/bench_blas.py, see the README's "Scale out" section): gdlab's arrays are
small (a toy member has 2 parameters; a DLFS MNIST layer is a 128 × 784 by 784 × 100 product per member), so a
second BLAS thread saves little on an idle machine and costs a lot on a busy one, where its threads wait for each
other on every product.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

# The variables that BLAS libraries and OpenMP runtimes read once at load time
BLAS_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
                  "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
DEFAULT_THREADS = 1  # the single process's default (measured: see the module docstring)
WORKER_THREADS = 1  # each of several workers: they already use the cores between them


def user_set_threads() -> bool:
    """True when the environment already names a BLAS thread count (the user's choice wins)."""
    return any(os.environ.get(name) for name in BLAS_VARIABLES)


def limit_blas_threads(threads: int = DEFAULT_THREADS) -> bool:
    """Set every BLAS thread variable to `threads` unless the user set one; True when applied.

    Effective only before NumPy is imported in this process (and in the processes it starts afterwards).
    """
    if user_set_threads():
        return False
    os.environ.update({name: str(threads) for name in BLAS_VARIABLES})
    return True


@contextmanager
def blas_threads_for_children(threads: int = WORKER_THREADS) -> Iterator[None]:
    """os.environ with `threads` BLAS threads while child processes are started (they inherit it), then restored.

    Unlike limit_blas_threads, this overrides the user's count: several workers share the cores already.
    """
    saved = {name: os.environ.get(name) for name in BLAS_VARIABLES}
    os.environ.update({name: str(threads) for name in BLAS_VARIABLES})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
