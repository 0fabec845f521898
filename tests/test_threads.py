"""The BLAS thread policy: the command line sets one thread before NumPy loads, unless the user chose a count."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from gdlab.threads import BLAS_VARIABLES, blas_threads_for_children, limit_blas_threads

# Runs gdlab's entry point in a fresh interpreter, then asks NumPy's OpenBLAS how many threads it uses.
PROBE = """
import ctypes, glob, os, sys
sys.argv = ["gdlab", "list", "losses"]
from gdlab.cli import main
try:
    main()
except SystemExit:
    pass
import numpy
libs = glob.glob(os.path.join(os.path.dirname(numpy.__path__[0]), "numpy.libs", "*openblas*"))
for path in libs:
    lib = ctypes.CDLL(path)
    for name in ("scipy_openblas_get_num_threads64_", "openblas_get_num_threads64_", "openblas_get_num_threads"):
        if hasattr(lib, name):
            print("THREADS", getattr(lib, name)())
            sys.exit(0)
print("THREADS unknown")
"""


def _threads_seen(env_extra: dict) -> str:
    env = {k: v for k, v in os.environ.items() if k not in BLAS_VARIABLES}
    env.update(env_extra)
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, check=True).stdout
    answer = out.strip().splitlines()[-1].split()[-1]
    if answer == "unknown":
        pytest.skip("NumPy's BLAS is not a bundled OpenBLAS here; its thread count cannot be read")
    return answer


def test_the_command_line_gives_numpy_one_blas_thread():
    assert _threads_seen({}) == "1"


def test_a_thread_count_the_user_set_is_kept():
    if (os.cpu_count() or 1) < 2:
        pytest.skip("one core: OpenBLAS uses one thread whatever is asked")
    assert _threads_seen({"OPENBLAS_NUM_THREADS": "2"}) == "2"


def test_policy_functions(monkeypatch):
    for name in BLAS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert limit_blas_threads(1) and all(os.environ[n] == "1" for n in BLAS_VARIABLES)
    monkeypatch.setenv("OMP_NUM_THREADS", "4")
    monkeypatch.delenv("OPENBLAS_NUM_THREADS")
    assert not limit_blas_threads(1) and "OPENBLAS_NUM_THREADS" not in os.environ  # the user's choice stands
    with blas_threads_for_children(1):
        assert os.environ["OMP_NUM_THREADS"] == "1" and os.environ["OPENBLAS_NUM_THREADS"] == "1"
    assert os.environ["OMP_NUM_THREADS"] == "4" and "OPENBLAS_NUM_THREADS" not in os.environ
