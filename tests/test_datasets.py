"""Datasets: the registry, generated sets, the packaged airfoil table, the IDX reader and MNIST on disk."""

from __future__ import annotations

import gzip
import hashlib
import shutil
import struct
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from gdlab.problems.datasets import DATASETS, Dataset
from gdlab.problems.datasets import mnist as mnist_mod
from gdlab.problems.datasets.idx import IMAGES_MAGIC, LABELS_MAGIC, load_images, load_labels, parse_idx, read_idx
from gdlab.errors import ConfigError, DataError

LOCAL = [name for name in DATASETS.names() if name != "mnist"]  # no download needed


@pytest.fixture
def no_network(monkeypatch):
    """Mirrors that cannot answer: a test that tried to download would fail fast instead of going online."""
    monkeypatch.setenv("GDLAB_MNIST_MIRRORS", "http://127.0.0.1:9/")


def test_registry_lists_every_dataset_with_a_one_line_summary():
    assert set(DATASETS.names()) == {"linefit", "linear_synthetic", "airfoil", "mnist", "xor", "spirals", "moons"}
    for name in DATASETS.names():
        assert DATASETS.summary(name) and "\n" not in DATASETS.summary(name)
    assert DATASETS.defaults("linear_synthetic") == {"n": 1000, "w": (2.0, -3.4), "b": 4.2, "noise": 0.01, "seed": 0}
    assert DATASETS.defaults("mnist") == {"split": "train", "data_dir": None, "progress": None}
    assert DATASETS.defaults("airfoil") == {"rows": 1500}


@pytest.mark.parametrize("name", LOCAL)
def test_local_datasets_have_the_documented_form(name):
    ds = DATASETS.get(name)()
    assert isinstance(ds, Dataset) and ds.name == name and ds.source
    assert ds.X.dtype == np.float32 and ds.X.flags.c_contiguous and ds.X.ndim == 2
    assert not ds.X.flags.writeable and not ds.y.flags.writeable
    if ds.task == "regression":
        assert ds.y.shape == (ds.n, 1) and ds.y.dtype == np.float32 and ds.n_classes is None
        assert ds.n_outputs == 1
    else:
        assert ds.y.shape == (ds.n,) and ds.y.dtype == np.int64
        assert set(np.unique(ds.y)) == set(range(ds.n_classes))
    assert np.all(np.isfinite(ds.X))


def test_linefit_values():
    ds = DATASETS.get("linefit")()
    np.testing.assert_array_equal(ds.X, [[1.0], [2.0], [3.0]])
    np.testing.assert_array_equal(ds.y, [[2.0], [4.0], [6.0]])
    assert ds.task == "regression"


def test_linear_synthetic_recovers_w_and_b():
    ds = DATASETS.get("linear_synthetic")()
    assert ds.X.shape == (1000, 2)
    A = np.hstack([ds.X, np.ones((1000, 1), np.float32)]).astype(np.float64)
    coef = np.linalg.lstsq(A, ds.y[:, 0].astype(np.float64), rcond=None)[0]
    np.testing.assert_allclose(coef, [2.0, -3.4, 4.2], atol=0.003)
    again = DATASETS.get("linear_synthetic")()
    np.testing.assert_array_equal(again.X, ds.X)
    assert not np.array_equal(DATASETS.get("linear_synthetic")(seed=1).X, ds.X)
    assert DATASETS.get("linear_synthetic")(n=10, w=[1.0, 2.0, 3.0]).X.shape == (10, 3)
    with pytest.raises(ConfigError, match="w:"):
        DATASETS.get("linear_synthetic")(w=["a"])


@pytest.mark.parametrize("name", ["xor", "spirals", "moons"])
def test_teaching_sets_are_balanced_deterministic_and_sized(name):
    factory = DATASETS.get(name)
    ds = factory(n=101, seed=3)
    assert ds.X.shape == (101, 2) and ds.task == "binary" and ds.n_classes == 2
    assert abs(int(ds.y.sum()) - 50) <= 1
    np.testing.assert_array_equal(factory(n=101, seed=3).X, ds.X)
    assert not np.array_equal(factory(n=101, seed=4).X, ds.X)
    with pytest.raises(ConfigError, match="n:"):
        factory(n=1)
    with pytest.raises(ConfigError, match="noise:"):
        factory(noise=-0.1)


def test_xor_labels_follow_the_signs():
    ds = DATASETS.get("xor")(noise=0.0)
    np.testing.assert_array_equal(ds.y, (ds.X[:, 0] * ds.X[:, 1] < 0).astype(np.int64))


def test_airfoil_is_d2l_standardized(shared_data):
    ds = DATASETS.get("airfoil")()
    assert ds.X.shape == (1500, 5) and ds.y.shape == (1500, 1)
    # d2l's get_data_ch11, verbatim, on the shared copy of the file
    data = np.genfromtxt(shared_data / "airfoil_self_noise.dat", dtype=np.float32, delimiter="\t")
    data = (data - data.mean(axis=0)) / data.std(axis=0)
    np.testing.assert_array_equal(ds.X, data[:1500, :-1])
    np.testing.assert_array_equal(ds.y[:, 0], data[:1500, -1])


def test_airfoil_columns_are_standardized():
    full = DATASETS.get("airfoil")(rows=1503)
    table = np.hstack([full.X, full.y]).astype(np.float64)
    np.testing.assert_allclose(table.mean(axis=0), 0.0, atol=1e-4)  # float32 statistics, as d2l
    np.testing.assert_allclose(table.std(axis=0), 1.0, atol=1e-4)
    kept = DATASETS.get("airfoil")()
    kept_table = np.hstack([kept.X, kept.y]).astype(np.float64)
    np.testing.assert_allclose(kept_table.mean(axis=0), 0.0, atol=0.01)  # statistics of all 1503 rows
    np.testing.assert_allclose(kept_table.std(axis=0), 1.0, atol=0.01)
    for bad in (0, 1504, 2.5, True):
        with pytest.raises(ConfigError, match="rows"):
            DATASETS.get("airfoil")(rows=bad)


def test_packaged_airfoil_file_is_the_original():
    data = resources.files("gdlab").joinpath("data", "airfoil_self_noise.dat").read_bytes()
    assert hashlib.md5(data).hexdigest() == "3972a8c9356256d50f350a799a381fb3"
    attribution = resources.files("gdlab").joinpath("data", "ATTRIBUTION.md").read_text()
    assert "CC BY 4.0" in attribution and "10.24432/C5VW2C" in attribution


def test_subset_keeps_the_description():
    ds = DATASETS.get("moons")(n=20)
    sub = ds.subset(np.array([3, 1, 4]))
    np.testing.assert_array_equal(sub.X, ds.X[[3, 1, 4]])
    assert (sub.task, sub.n_classes, sub.source, sub.n) == (ds.task, ds.n_classes, ds.source, 3)


# ------------------------------------------------------------------------------------------------ IDX files


def _idx(magic: int, array: np.ndarray) -> bytes:
    return struct.pack(">I", magic) + b"".join(struct.pack(">I", s) for s in array.shape) + array.tobytes()


@pytest.fixture
def images():
    return np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8)


@pytest.mark.parametrize("compress", [False, True])
def test_idx_round_trip(tmp_path, images, compress):
    blob = _idx(IMAGES_MAGIC, images)
    path = tmp_path / "imgs"  # no .gz suffix: gzip is recognised by its magic bytes
    path.write_bytes(gzip.compress(blob) if compress else blob)
    np.testing.assert_array_equal(read_idx(path, IMAGES_MAGIC), images)
    X = load_images(path)
    assert X.shape == (5, 784) and X.dtype == np.float32
    np.testing.assert_allclose(X, images.reshape(5, -1) / 255.0, rtol=1e-6)
    assert 0.0 <= X.min() and X.max() <= 1.0
    labels = np.array([3, 0, 9], np.uint8)
    (tmp_path / "lbl").write_bytes(_idx(LABELS_MAGIC, labels))
    y = load_labels(tmp_path / "lbl")
    assert y.dtype == np.int64 and y.tolist() == [3, 0, 9]


def test_idx_rejects_a_wrong_magic_number(tmp_path, images):
    path = tmp_path / "labels-as-images"
    path.write_bytes(_idx(LABELS_MAGIC, np.arange(10, dtype=np.uint8)))
    with pytest.raises(DataError, match=r"labels-as-images.*magic number 0x00000801, expected 0x00000803"):
        load_images(path)
    path.write_bytes(b"<html>not found</html>")
    with pytest.raises(DataError, match="labels-as-images"):
        load_labels(path)


@pytest.mark.parametrize("compress", [False, True])
def test_idx_rejects_a_truncated_file(tmp_path, images, compress):
    blob = _idx(IMAGES_MAGIC, images)
    data = gzip.compress(blob)[:-200] if compress else blob[:-100]
    path = tmp_path / "short.gz"
    path.write_bytes(data)
    with pytest.raises(DataError, match="short.gz.*truncated"):
        load_images(path)


def test_idx_rejects_a_header_that_does_not_match_the_data(tmp_path, images):
    path = tmp_path / "long"
    path.write_bytes(_idx(IMAGES_MAGIC, images) + b"\x00")
    with pytest.raises(DataError, match=r"long: the header says shape \(5, 28, 28\)"):
        load_images(path)
    path.write_bytes(struct.pack(">II", IMAGES_MAGIC, 5))  # header cut short
    with pytest.raises(DataError, match="truncated IDX header"):
        load_images(path)


# ------------------------------------------------------------------------------------------------ MNIST


def test_mnist_test_split_loads_from_the_shared_data(shared_data, no_network):
    if not (shared_data / "mnist" / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip("MNIST test split not in the shared data")
    ds = DATASETS.get("mnist")(split="test", data_dir=str(shared_data))
    assert ds.X.shape == (10000, 784) and ds.X.dtype == np.float32
    assert ds.y.shape == (10000,) and set(np.unique(ds.y)) == set(range(10))
    assert 0.0 == ds.X.min() and ds.X.max() == 1.0
    assert ds.task == "multiclass" and ds.n_classes == 10 and ds.n_outputs == 10


def test_mnist_reads_raw_files_too(tmp_path, no_network):
    folder = tmp_path / "mnist"
    folder.mkdir()
    imgs = np.random.default_rng(1).integers(0, 256, (4, 28, 28), dtype=np.uint8)
    (folder / "t10k-images-idx3-ubyte").write_bytes(_idx(IMAGES_MAGIC, imgs))
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(_idx(LABELS_MAGIC, np.arange(4, dtype=np.uint8))))
    X, y = mnist_mod.load_mnist("test", tmp_path)
    assert X.shape == (4, 784) and y.tolist() == [0, 1, 2, 3]


def test_mnist_rejects_images_and_labels_of_different_lengths(tmp_path, no_network):
    folder = tmp_path / "mnist"
    folder.mkdir()
    (folder / "t10k-images-idx3-ubyte").write_bytes(_idx(IMAGES_MAGIC, np.zeros((4, 28, 28), np.uint8)))
    (folder / "t10k-labels-idx1-ubyte").write_bytes(_idx(LABELS_MAGIC, np.zeros(3, np.uint8)))
    with pytest.raises(DataError, match="4 images but .* 3 labels"):
        mnist_mod.load_mnist("test", tmp_path)


def test_mnist_unknown_split():
    with pytest.raises(ConfigError, match="split.*accepted: train, test"):
        DATASETS.get("mnist")(split="validation")


def test_data_folder_resolution(monkeypatch, tmp_path):
    monkeypatch.delenv("GDLAB_DATA_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert mnist_mod.mnist_dir() == tmp_path / "home" / ".cache" / "gdlab" / "mnist"
    monkeypatch.setenv("GDLAB_DATA_DIR", str(tmp_path / "env"))
    assert mnist_mod.mnist_dir() == tmp_path / "env" / "mnist"
    assert mnist_mod.mnist_dir(tmp_path / "arg") == tmp_path / "arg" / "mnist"
    assert mnist_mod.mnist_dir("~/x") == Path(tmp_path / "home" / "x" / "mnist")


def test_mirror_list(monkeypatch):
    monkeypatch.delenv("GDLAB_MNIST_MIRRORS", raising=False)
    assert mnist_mod.mirrors() == list(mnist_mod.DEFAULT_MIRRORS)
    monkeypatch.setenv("GDLAB_MNIST_MIRRORS", " http://a/ , http://b ,")
    assert mnist_mod.mirrors() == ["http://a/", "http://b"]


# ======================================================================================= damaged IDX files


def test_an_idx_header_whose_shape_overflows_is_one_message():
    header = struct.pack(">IIII", IMAGES_MAGIC, 2**32 - 1, 2**32 - 1, 2**32 - 1)
    with pytest.raises(DataError, match="holds 4 bytes"):
        parse_idx(header + b"\0" * 4, IMAGES_MAGIC, "x")


def test_an_idx_file_with_an_empty_dimension_is_one_message():
    with pytest.raises(DataError, match="no data"):
        parse_idx(struct.pack(">IIII", IMAGES_MAGIC, 3, 0, 28), IMAGES_MAGIC, "x")


def test_images_of_4_pixels_are_not_reported_as_bad_labels(tmp_path, no_network):
    folder = tmp_path / "mnist"
    folder.mkdir()
    (folder / "t10k-images-idx3-ubyte").write_bytes(_idx(IMAGES_MAGIC, np.zeros((3, 2, 2), np.uint8)))
    (folder / "t10k-labels-idx1-ubyte").write_bytes(_idx(LABELS_MAGIC, np.arange(3, dtype=np.uint8)))
    with pytest.raises(DataError) as info:
        mnist_mod.load_mnist("test", tmp_path)
    assert "4 pixels" in str(info.value) and "784" in str(info.value) and "labels" not in str(info.value)


def test_a_bit_flip_in_a_decompressed_official_file_is_caught(shared_data, tmp_path, no_network):
    source = shared_data / "mnist" / "t10k-labels-idx1-ubyte.gz"
    if not source.is_file():
        pytest.skip("MNIST test labels not in the shared data")
    folder = tmp_path / "mnist"
    folder.mkdir()
    shutil.copy(shared_data / "mnist" / "t10k-images-idx3-ubyte.gz", folder)
    raw = bytearray(gzip.decompress(source.read_bytes()))
    raw[100] = (raw[100] + 1) % 10
    (folder / "t10k-labels-idx1-ubyte").write_bytes(bytes(raw))
    with pytest.raises(DataError, match="changed since it was verified"):
        mnist_mod.load_mnist("test", tmp_path)
