"""MNIST downloads against local HTTP servers (never the internet): mirrors, checksums, atomic files."""

from __future__ import annotations

import functools
import hashlib
import json
import http.server
import shutil
import socket
import threading
from pathlib import Path

import numpy as np
import pytest

from gdlab.problems.datasets import DATASETS
from gdlab.problems.datasets import mnist as mnist_mod
from gdlab.errors import DataError

T10K = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep the test output clean
        pass


class _CutHandler(http.server.BaseHTTPRequestHandler):
    """Promises 10000 bytes, sends 100 and hangs up."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "10000")
        self.end_headers()
        self.wfile.write(b"\x1f\x8b" + b"\x00" * 98)
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def serve():
    """serve(directory) -> base URL of a ThreadingHTTPServer on 127.0.0.1 (stopped after the test)."""
    servers = []

    def start(directory: Path | None = None, handler=None) -> str:
        handler = handler or functools.partial(_QuietHandler, directory=str(directory))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def dead_mirror() -> str:
    """A base URL on a closed port of 127.0.0.1: connections are refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


@pytest.fixture
def mnist_files(shared_data) -> Path:
    folder = shared_data / "mnist"
    if not all((folder / name).is_file() for name in T10K):
        pytest.skip(f"the MNIST test split is not in {folder}")
    return folder


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_download_falls_through_a_dead_mirror(monkeypatch, tmp_path, serve, dead_mirror, mnist_files):
    monkeypatch.setenv("GDLAB_MNIST_MIRRORS", f"{dead_mirror},{serve(mnist_files)}")
    calls = []
    ds = DATASETS.get("mnist")(split="test", data_dir=str(tmp_path), progress=lambda *a: calls.append(a))
    assert ds.X.shape == (10000, 784) and ds.y.shape == (10000,)
    assert set(np.unique(ds.y)) == set(range(10))
    folder = tmp_path / "mnist"
    assert sorted(p.name for p in folder.iterdir()) == sorted(T10K + (mnist_mod.RECORD,))  # no temp files left
    for name in T10K:
        assert _md5(folder / name) == mnist_mod.MD5[name]
        size = (folder / name).stat().st_size
        assert (name, size, size) in calls  # the progress callback saw the whole file
    calls.clear()
    DATASETS.get("mnist")(split="test", data_dir=str(tmp_path), progress=lambda *a: calls.append(a))
    assert calls == []  # found on disk: no second download


def test_env_data_dir_is_the_default_folder(monkeypatch, tmp_path, serve, mnist_files):
    monkeypatch.setenv("GDLAB_MNIST_MIRRORS", serve(mnist_files))
    monkeypatch.setenv("GDLAB_DATA_DIR", str(tmp_path / "data"))
    images, labels = mnist_mod.ensure_files("test")
    assert images == tmp_path / "data" / "mnist" / T10K[0] and labels.name == T10K[1]


def test_a_corrupted_file_is_rejected_and_nothing_is_left_behind(monkeypatch, tmp_path, serve, mnist_files):
    bad = tmp_path / "bad-mirror"
    bad.mkdir()
    for name in T10K:
        shutil.copy(mnist_files / name, bad / name)
    blob = bytearray((bad / T10K[1]).read_bytes())
    blob[100] ^= 0xFF
    (bad / T10K[1]).write_bytes(bytes(blob))
    bad_url = serve(bad)
    monkeypatch.setenv("GDLAB_MNIST_MIRRORS", bad_url)
    folder = tmp_path / "data" / "mnist"
    with pytest.raises(DataError) as info:
        mnist_mod.download(T10K[1], folder)
    message = str(info.value)
    assert T10K[1] in message and bad_url in message and "checksum mismatch" in message
    assert not folder.exists()  # neither the final name nor a temp file, nor the folders it made
    # a good mirror after the bad one is used
    good = mnist_mod.download(T10K[1], folder, [bad_url, serve(mnist_files)])
    assert _md5(good) == mnist_mod.MD5[T10K[1]]
    assert sorted(p.name for p in folder.iterdir()) == sorted([T10K[1], mnist_mod.RECORD])


def test_unreachable_mirrors_say_where_to_put_the_files(monkeypatch, tmp_path, serve, dead_mirror):
    empty = tmp_path / "empty"
    empty.mkdir()
    not_found = serve(empty)
    cut = serve(handler=_CutHandler)
    monkeypatch.setenv("GDLAB_MNIST_MIRRORS", f"{dead_mirror},{not_found},{cut}")
    with pytest.raises(DataError) as info:
        DATASETS.get("mnist")(split="test", data_dir=str(tmp_path / "data"))
    message = str(info.value)
    folder = tmp_path / "data" / "mnist"
    assert T10K[0] in message and f"{folder}/" in message and "by hand" in message
    assert dead_mirror in message and "refused" in message.lower()
    assert not_found in message and "404" in message
    assert cut in message
    assert not (tmp_path / "data").exists()  # a failed download leaves no folder it made


def test_a_failed_download_leaves_no_folder_it_made(tmp_path, dead_mirror):
    folder = tmp_path / "a" / "b" / "mnist"
    with pytest.raises(DataError):
        mnist_mod.download(T10K[1], folder, [dead_mirror])
    assert list(tmp_path.iterdir()) == []


def test_a_bit_flip_after_download_is_caught_even_in_a_decompressed_file(monkeypatch, tmp_path, serve, mnist_files):
    """The content digest recorded at download is checked whenever the file is read, gzip or raw."""
    import gzip

    monkeypatch.setenv("GDLAB_MNIST_MIRRORS", serve(mnist_files))
    monkeypatch.setattr(mnist_mod, "CONTENT_SHA256", {})  # only what was recorded at download
    mnist_mod.ensure_files("test", tmp_path)
    folder = tmp_path / "mnist"
    records = json.loads((folder / mnist_mod.RECORD).read_text())
    assert set(records) == {"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}
    raw = bytearray(gzip.decompress((folder / T10K[1]).read_bytes()))
    (folder / T10K[1]).unlink()
    raw[-1] = (raw[-1] + 1) % 10  # still a digit: only the digest can tell
    (folder / "t10k-labels-idx1-ubyte").write_bytes(bytes(raw))
    with pytest.raises(DataError, match="changed since it was verified"):
        mnist_mod.load_mnist("test", tmp_path)
