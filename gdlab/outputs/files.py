"""How gdlab writes files: new paths created exclusively, whole files renamed into place, never through a planted
symbolic link, one message when the disk is full. Every file gdlab writes goes through here.

    create_dir(path)          a new directory; fails if anything (a file, a folder, a link) is at `path`
    real_dir(path)            a folder to write into, created if absent; refuses a symbolic link or a file
    atomic(path)              a block writing a binary file object: a temporary file beside `path` (created
                              exclusively, so a planted link is never followed), fsynced, renamed onto `path` when
                              the block ends; removed when it fails (disk full, Ctrl-C, anything)
    write_atomic(path, data)  the same for text or bytes
    atomic_path(path)         the same for writers that take a file name: yields the temporary file's name
    LineWriter                a new file streamed in whole lines (metrics.csv): after a failed write the file is
                              cut back to its last whole line

A rename replaces whatever name is at the destination (a link itself, never its target), so readers see the old
file or the whole new one. An OSError becomes OutputError: one message naming the path and the reason.
"""

from __future__ import annotations

import errno
import os
import secrets
import time
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

from ..errors import OutputError

_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
FULL = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))


def describe(exc: OSError, path: Path | str) -> str:
    """'disk full while writing runs/x/metrics.csv' or 'cannot write runs/x: Permission denied'."""
    if exc.errno in FULL:
        return f"disk full while writing {path} ({exc.strerror})"
    if exc.errno == errno.EISDIR:
        return f"cannot write {path}: it is a directory"
    return f"cannot write {path}: {exc.strerror or exc}"


def create_dir(path: Path) -> Path:
    """Make the directory `path`, which must not exist (two processes never share one)."""
    try:
        os.mkdir(path)
    except FileExistsError:
        raise
    except OSError as exc:
        raise OutputError(describe(exc, path)) from None
    return Path(path)


def real_dir(path: Path) -> Path:
    """`path` as a folder gdlab may write into: created when absent; a symbolic link or a file there is refused."""
    path = Path(path)
    try:
        os.mkdir(path)
        return path
    except FileExistsError:
        pass  # made by an earlier run or a concurrent `gdlab plot`: fine if it is a real folder
    except OSError as exc:
        raise OutputError(describe(exc, path)) from None
    if path.is_symlink():
        raise OutputError(f"{path} is a symbolic link; gdlab writes only into a real folder it can see "
                          f"(remove the link, or copy the run directory)")
    if not path.is_dir():
        raise OutputError(f"{path} exists and is not a folder; gdlab would write its files there")
    return path


def _temporary(path: Path, suffix: str = "") -> tuple[int, Path]:
    """A new file beside `path`, created exclusively (O_EXCL refuses anything already there, links included)."""
    for _ in range(100):
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp{suffix}")
        try:
            return os.open(tmp, _NEW_FILE, 0o666), tmp
        except FileExistsError:
            continue
        except OSError as exc:
            raise OutputError(describe(exc, path)) from None
    raise OutputError(f"cannot write {path}: no free temporary name beside it")


@contextmanager
def atomic(path: Path) -> Iterator[IO[bytes]]:
    """Yield a binary file; when the block ends it is synced and renamed onto `path`, or removed if anything fails."""
    path = Path(path)
    fd, tmp = _temporary(path)
    with _replacing(tmp, path), os.fdopen(fd, "wb") as f:  # the file is closed before it is renamed
        yield f
        f.flush()
        os.fsync(f.fileno())


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """atomic() for writers that take a file name (an animation writer, a subprocess): yields the name of a new,
    empty temporary file beside `path` (created exclusively, ending in path's suffix, which such writers read the
    format from), renamed onto `path` when the block ends, removed when it fails."""
    path = Path(path)
    fd, tmp = _temporary(path, path.suffix)
    os.close(fd)
    with _replacing(tmp, path):
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())


@contextmanager
def _replacing(tmp: Path, path: Path) -> Iterator[None]:
    """The block writes `tmp`; then it is renamed onto `path`. Any failure removes `tmp` (Ctrl-C included); an
    OSError becomes one OutputError naming `path`."""
    try:
        yield
        os.replace(tmp, path)
    except OSError as exc:
        _remove(tmp)
        raise OutputError(describe(exc, path)) from None
    except BaseException:
        _remove(tmp)
        raise


def _remove(tmp: Path) -> None:
    try:
        os.unlink(tmp)
    except OSError:
        pass


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write `data` to `path` so that readers see the old file or the whole new one, never a part."""
    with atomic(path) as f:
        f.write(data.encode("utf-8") if isinstance(data, str) else data)


class LineWriter:
    """Appends CSV lines to a new file in whole lines: buffered in memory, written with one system call per batch.

    A write the disk cannot take (disk full) is undone: the file is cut back to its last whole line and the error
    raised as OutputError; the writer then stays closed for good.
    """

    def __init__(self, path: Path, header: list[str], flush_seconds: float = 0.5):
        self.path = Path(path)
        self.header = header
        try:
            self._fd: int | None = os.open(self.path, _NEW_FILE, 0o666)
        except OSError as exc:
            raise OutputError(describe(exc, self.path)) from None
        self._size = 0  # bytes of whole lines on disk
        self._pending: list[str] = [",".join(header) + "\n"]
        self._last = time.monotonic()
        self.flush_seconds = flush_seconds

    def row(self, cells: list[str]) -> None:
        self._pending.append(",".join(cells) + "\n")
        if len(self._pending) >= 2000 or time.monotonic() - self._last > self.flush_seconds:
            self.flush()

    def flush(self) -> None:
        self._last = time.monotonic()
        if not self._pending or self._fd is None:
            return
        data = "".join(self._pending).encode()
        self._pending.clear()
        view, done = memoryview(data), 0
        try:
            while done < len(data):  # write(2) may take part of a batch (a disk filling up)
                done += os.write(self._fd, view[done:])
        except OSError as exc:
            self._undo(self._size + data.rfind(b"\n", 0, done) + 1)  # the whole lines that did fit
            raise OutputError(describe(exc, self.path) + "; its whole lines are kept") from None
        self._size += done

    def _undo(self, size: int) -> None:
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, size)  # cutting a file frees space: this works on a full disk
        except OSError:
            pass
        os.close(fd)

    def close(self) -> None:
        if self._fd is None:
            return
        try:
            self.flush()
        finally:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

