"""The command line's allocator setting: applied on glibc, a no-op elsewhere, and harmless to the numbers."""

import sys

import numpy as np
import pytest

from gdlab.allocator import keep_freed_memory


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt is Linux-only")
def test_applies_on_linux_with_glibc():
    import ctypes

    try:
        ctypes.CDLL(None).mallopt
    except AttributeError:
        pytest.skip("not glibc (musl?)")
    assert keep_freed_memory() is True
    a = np.arange(1_000_000, dtype=np.float64)  # large arrays still allocate, compute and free as before
    assert (a * 2).sum() == 2 * a.sum()


def test_is_a_no_op_elsewhere(monkeypatch):
    monkeypatch.setattr(sys, "platform", "darwin")
    assert keep_freed_memory() is False
