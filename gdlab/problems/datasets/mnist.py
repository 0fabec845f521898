"""MNIST: find the IDX files on disk, download the missing ones from mirrors, load a split.

Files live in `<data_dir>/mnist/`, where data_dir is the argument, else $GDLAB_DATA_DIR, else ~/.cache/gdlab.
Each file may be gzip-compressed (`train-images-idx3-ubyte.gz`) or raw (`train-images-idx3-ubyte`). Missing files
are downloaded (gzip) from the mirrors in $GDLAB_MNIST_MIRRORS (comma-separated base URLs) or DEFAULT_MIRRORS,
checked against the official MD5 checksums, written to a temporary file in the same folder and renamed into
place: a final name never holds a partial or unchecked file, and a failed download leaves no folder it made. The
SHA-256 of each verified file's content is recorded beside it (RECORD) and checked whenever the file is read, so a
bit flip on disk is caught, compressed or not (official content of the official length is checked against
CONTENT_SHA256 even without a record); the IDX reader checks headers and lengths.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, Optional

from ...errors import ConfigError, DataError
from . import DATASETS, Dataset, make_dataset
from .idx import load_images, load_labels, read_bytes

# (filename, bytes_done, bytes_total or None) -> None; lets the CLI draw a progress bar.
Progress = Callable[[str, int, Optional[int]], None]

SPLITS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
RECORD = "verified-sha256.json"  # {stem: SHA-256 of the decompressed content} of files verified at download
CONTENT_SHA256 = {  # SHA-256 of the decompressed official files (those whose .gz matched MD5 below)
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
}
CONTENT_LENGTH = {"train-images-idx3-ubyte": 47040016, "train-labels-idx1-ubyte": 60008,
                  "t10k-images-idx3-ubyte": 7840016, "t10k-labels-idx1-ubyte": 10008}
MD5 = {  # official checksums of the gzip files
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
DEFAULT_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
TIMEOUT_S = 30.0
CHUNK = 1 << 16
SOURCE = "MNIST handwritten digits (LeCun, Cortes, Burges), CC BY-SA 3.0; downloaded from public mirrors"


def data_root(data_dir: str | os.PathLike | None = None) -> Path:
    """The data folder: `data_dir`, else $GDLAB_DATA_DIR, else ~/.cache/gdlab (with ~ expanded)."""
    root = data_dir or os.environ.get("GDLAB_DATA_DIR") or "~/.cache/gdlab"
    return Path(root).expanduser()


def mnist_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """Where the MNIST files live: `<data_root>/mnist`."""
    return data_root(data_dir) / "mnist"


def mirrors() -> list[str]:
    """Base URLs to try in order: $GDLAB_MNIST_MIRRORS (comma-separated) or DEFAULT_MIRRORS."""
    env = os.environ.get("GDLAB_MNIST_MIRRORS", "")
    chosen = [m.strip() for m in env.split(",") if m.strip()]
    return chosen or list(DEFAULT_MIRRORS)


def locate(stem: str, folder: Path) -> Path | None:
    """`folder/stem.gz` or `folder/stem` (raw), whichever exists first; None if neither."""
    for name in (stem + ".gz", stem):
        if (folder / name).is_file():
            return folder / name
    return None


def _fetch(url: str, dest, filename: str, progress: Progress | None, timeout: float) -> str:
    """Stream `url` into the open binary file `dest`; the MD5 hex digest of what was written."""
    md5 = hashlib.md5()
    req = urllib.request.Request(url, headers={"User-Agent": "gdlab"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        length = resp.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        done = 0
        if progress:
            progress(filename, 0, total)
        while chunk := resp.read(CHUNK):
            dest.write(chunk)
            md5.update(chunk)
            done += len(chunk)
            if progress:
                progress(filename, done, total)
    return md5.hexdigest()


def _describe(e: Exception) -> str:
    """A short reason for a failed fetch: 'HTTP Error 404: Not Found', '[Errno 111] Connection refused', ..."""
    if isinstance(e, urllib.error.URLError) and not isinstance(e, urllib.error.HTTPError):
        return str(e.reason)
    return str(e) or repr(e)


def download(
    filename: str,
    folder: Path,
    bases: list[str] | None = None,
    progress: Progress | None = None,
    timeout: float = TIMEOUT_S,
) -> Path:
    """Download `filename` into `folder` from the first mirror that serves it with the official MD5.

    Raises DataError naming the file, the mirrors tried (with each failure) and where to put the file by hand.
    """
    bases = mirrors() if bases is None else bases
    expected = MD5[filename]
    final = folder / filename
    made = [p for p in (folder, *folder.parents) if not p.exists()]  # folders this download creates
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(f"cannot create the MNIST folder {folder}: {e}") from e
    try:
        return _download(filename, folder, final, expected, bases, progress, timeout)
    except BaseException:  # a failed or interrupted download leaves no folder it made
        for p in made:
            try:
                p.rmdir()
            except OSError:
                break  # not empty: a file was placed there meanwhile
        raise


def _download(filename: str, folder: Path, final: Path, expected: str, bases: list[str], progress, timeout) -> Path:
    failures = []
    for base in bases:
        url = base.rstrip("/") + "/" + filename
        try:
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{filename}.", suffix=".part")
        except OSError as e:
            raise DataError(f"cannot write into the MNIST folder {folder}: {e}") from e
        try:
            with os.fdopen(fd, "wb") as dest:
                digest = _fetch(url, dest, filename, progress, timeout)
            if digest == expected:
                os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a data file is as readable as any other
                content = read_bytes(tmp)
                os.replace(tmp, final)
                _record(folder, filename.removesuffix(".gz"), hashlib.sha256(content).hexdigest())
                return final
            failures.append(f"{base} (checksum mismatch: MD5 {digest}, expected {expected})")
        except (OSError, ValueError, http.client.HTTPException) as e:  # URLError, timeouts, bad URLs, cut streams
            failures.append(f"{base} ({_describe(e)})")
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
    tried = "\n".join(f"    {f}" for f in failures) or "    (no mirrors: GDLAB_MNIST_MIRRORS is empty)"
    raise DataError(
        f"could not download MNIST file {filename}; mirrors tried:\n{tried}\n"
        f"  download it by hand (MD5 {expected}) and put it, gzip-compressed or not, in {folder}/\n"
        f"  (or set GDLAB_MNIST_MIRRORS to comma-separated base URLs, or GDLAB_DATA_DIR to another data folder)"
    )


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def ensure_files(split: str, data_dir=None, progress: Progress | None = None) -> tuple[Path, Path]:
    """Paths of the (images, labels) files of `split`, downloading the missing ones."""
    folder = mnist_dir(data_dir)
    paths = []
    for stem in SPLITS[split]:
        found = locate(stem, folder)
        paths.append(found if found is not None else download(stem + ".gz", folder, progress=progress))
    return paths[0], paths[1]


def load_mnist(split: str = "train", data_dir=None, progress: Progress | None = None):
    """(X (N, 784) float32 in [0, 1], y (N,) int64 in 0..9) of `split` ("train": 60000 rows, "test": 10000)."""
    if split not in SPLITS:
        raise ConfigError(f"split: unknown MNIST split {split!r}; accepted: {', '.join(SPLITS)}")
    images, labels = ensure_files(split, data_dir, progress)
    X, y = load_images(images, verified(images)), load_labels(labels, verified(labels))
    if len(X) != len(y):
        raise DataError(f"{images} holds {len(X)} images but {labels} holds {len(y)} labels")
    if X.shape[1] != 784:
        raise DataError(f"{images}: not MNIST: its images have {X.shape[1]} pixels; MNIST's have 784 (28 x 28)")
    if y.size and (y.min() < 0 or y.max() > 9):
        raise DataError(f"{labels}: not MNIST: labels {int(y.min())}..{int(y.max())}; MNIST's are 0..9")
    return X, y


def verified(path: Path):
    """A check of the file's decompressed content against the SHA-256 recorded when it was verified (at download,
    see RECORD) or known for the official file (CONTENT_SHA256, for content of the official length); a bit flip
    in a file on disk, compressed or not, is caught. None when there is nothing to check against."""
    stem = path.name.removesuffix(".gz")
    recorded = _records(path.parent).get(stem)
    known = CONTENT_SHA256.get(stem)

    def check(content: bytes) -> None:
        expected = recorded or (known if len(content) == CONTENT_LENGTH.get(stem) else None)
        if expected and hashlib.sha256(content).hexdigest() != expected:
            raise DataError(f"{path}: its content changed since it was verified (SHA-256 differs from "
                            f"{'the one recorded at download' if recorded else 'the official file'}); "
                            f"delete it to download it again")

    return check


def _records(folder: Path) -> dict:
    try:
        data = json.loads((folder / RECORD).read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _record(folder: Path, stem: str, digest: str) -> None:
    """Add the verified content digest of `stem` to the folder's record (written whole: temporary file, rename)."""
    records = {**_records(folder), stem: digest}
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{RECORD}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(records, f, indent=1)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, folder / RECORD)
    except OSError:
        if os.path.exists(tmp):
            os.remove(tmp)


@DATASETS.register("mnist", "60000 (train) / 10000 (test) rows, 784 features, 10 classes: " + SOURCE)
def mnist(split: str = "train", data_dir: str | None = None, progress: Progress | None = None) -> Dataset:
    """MNIST digits, pixels scaled to [0, 1] and flattened (DLFS's load_mnist(normalize=True, flatten=True))."""
    X, y = load_mnist(split, data_dir, progress)
    return make_dataset("mnist", X, y, "multiclass", 10, SOURCE)
