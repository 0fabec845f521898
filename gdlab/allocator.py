"""Process-wide tuning of the C allocator for the command line (not applied when gdlab is imported as a library).

The lockstep loop allocates the same few arrays every step and frees them again. With glibc's defaults an array
above the mmap threshold (128 KiB at first, adjusted upwards as blocks are freed) is mapped fresh from the kernel
and unmapped on free, so every step pays a page fault per 4 KiB page: a 100,000-member sweep takes 86,000 minor
faults and twice as long in its first run as in a second one in the same process. Serving arrays up to 256 MiB
from the heap and keeping freed memory for reuse removes that cost; the process holds on to at most what it once
used, which it gives back when it exits. Where glibc's mallopt is not available (macOS, Windows, musl) nothing
changes.
"""

from __future__ import annotations

import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
HEAP_LIMIT = 256 * 1024 * 1024  # arrays up to this size come from the reusable heap
TRIM_LIMIT = 512 * 1024 * 1024  # free memory kept at the top of the heap before it is returned


def keep_freed_memory() -> bool:
    """Ask glibc to reuse freed memory rather than return it to the kernel; True when it was applied."""
    global _applied
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    _applied = bool(mallopt(M_MMAP_THRESHOLD, HEAP_LIMIT)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_LIMIT))
    return _applied


_applied = False


def applied() -> bool:
    """Whether this process asked for it (worker processes then do the same)."""
    return _applied
