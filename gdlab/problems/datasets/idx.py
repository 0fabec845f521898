"""A checked reader for IDX files (the MNIST format), gzip-compressed or raw.

IDX layout: a 4-byte big-endian magic number 0x0000TTNN (TT = element type, 0x08 for unsigned bytes; NN = number
of dimensions), then NN big-endian uint32 sizes, then the data, row-major. Unlike the textbooks' readers this one
checks the magic number and that the sizes match the data length, and names the file when it does not.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path

import numpy as np

from ...errors import DataError

GZIP_MAGIC = b"\x1f\x8b"
IMAGES_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions (N, rows, cols)
LABELS_MAGIC = 0x00000801  # unsigned bytes, 1 dimension (N,)


def read_bytes(path: str | os.PathLike) -> bytes:
    """The file's content, decompressed when it starts with the gzip magic bytes (whatever its name)."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            head = f.read(2)
            f.seek(0)
            if head == GZIP_MAGIC:
                with gzip.GzipFile(fileobj=f) as g:
                    return g.read()
            return f.read()
    except (EOFError, gzip.BadGzipFile, zlib.error) as e:
        raise DataError(f"{path}: corrupt or truncated gzip stream ({e}); delete the file to download it again") from e
    except OSError as e:
        raise DataError(f"cannot read {path}: {e}") from e


def parse_idx(buf: bytes, magic: int, name: str = "<bytes>") -> np.ndarray:
    """The uint8 array stored in the IDX bytes `buf`, after checking the magic number and the sizes."""
    if len(buf) < 4:
        raise DataError(f"{name}: too short for an IDX file ({len(buf)} bytes)")
    found = int.from_bytes(buf[:4], "big")
    if found != magic:
        raise DataError(
            f"{name}: not an IDX file of the expected kind (magic number 0x{found:08x}, expected 0x{magic:08x})"
        )
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(buf) < header:
        raise DataError(f"{name}: truncated IDX header ({len(buf)} bytes, expected at least {header})")
    shape = tuple(int.from_bytes(buf[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = math.prod(shape)  # Python integers: a header of four 2**32 - 1 sizes does not overflow
    if 0 in shape:
        raise DataError(f"{name}: the header says shape {shape}: the file holds no data")
    if len(buf) - header != expected:
        raise DataError(
            f"{name}: the header says shape {shape} ({expected} bytes of data) but the file holds "
            f"{len(buf) - header} bytes (truncated or corrupt)"
        )
    return np.frombuffer(buf, dtype=np.uint8, offset=header).reshape(shape)


def read_idx(path: str | os.PathLike, magic: int, check=None) -> np.ndarray:
    """The uint8 array of an IDX file (gzip or raw), checked against `magic` (and by check(content), if given)."""
    content = read_bytes(path)
    if check is not None:
        check(content)
    return parse_idx(content, magic, str(path))


def load_images(path: str | os.PathLike, check=None) -> np.ndarray:
    """Images as (N, rows·cols) float32 in [0, 1] (pixel / 255, flattened: 784 features for MNIST)."""
    raw = read_idx(path, IMAGES_MAGIC, check)  # (N, rows, cols) uint8
    X = raw.reshape(len(raw), -1).astype(np.float32)  # (N, 784), a fresh array
    X /= np.float32(255.0)
    return X


def load_labels(path: str | os.PathLike, check=None) -> np.ndarray:
    """Labels as (N,) int64."""
    return read_idx(path, LABELS_MAGIC, check).astype(np.int64)
