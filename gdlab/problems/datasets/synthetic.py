"""Generated datasets: the textbooks' tiny regression sets and 2D classification teaching sets.

Every generator takes its own `seed` and uses a fresh `numpy.random.default_rng(seed)`: no global random state.
"""

from __future__ import annotations

import numpy as np

from ...errors import ConfigError
from . import DATASETS, Dataset, make_dataset


def _check_n(n: int, minimum: int = 2) -> None:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < minimum:
        raise ConfigError(f"n: expected an integer >= {minimum}, got {n!r}")


def _check_noise(noise: float) -> None:
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not noise >= 0:
        raise ConfigError(f"noise: expected a number >= 0, got {noise!r}")


def _check_seed(seed: int) -> None:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed: expected a whole number >= 0, got {seed!r}")


def _shuffled(rng: np.random.Generator, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows in random order (the generators build them class by class)."""
    perm = rng.permutation(len(X))
    return X[perm], y[perm]


@DATASETS.register("linefit", "3 rows, 1 feature, regression: x = 1, 2, 3; y = 2, 4, 6 (DLFS's 1D fit y = x·w)")
def linefit() -> Dataset:
    """x = [1, 2, 3], y = [2, 4, 6]: fit y = x·w (the answer is w = 2)."""
    X = np.array([[1.0], [2.0], [3.0]])  # (3, 1)
    y = np.array([2.0, 4.0, 6.0])  # (3,) -> (3, 1)
    return make_dataset("linefit", X, y, "regression", None, "the 1D fit y = x·w of Deep Learning from Scratch")


@DATASETS.register(
    "linear_synthetic", "n rows (1000), len(w) features (2), regression: y = X·w + b + noise (d2l synthetic_data)"
)
def linear_synthetic(
    n: int = 1000, w: tuple[float, ...] = (2.0, -3.4), b: float = 4.2, noise: float = 0.01, seed: int = 0
) -> Dataset:
    """d2l's synthetic regression: X ~ N(0, 1) of shape (n, len(w)), y = X·w + b + N(0, noise²)."""
    _check_n(n, 1)
    _check_noise(noise)
    _check_seed(seed)
    try:
        w_vec = np.asarray(w, dtype=np.float64).reshape(-1)  # (F,)
    except (TypeError, ValueError):
        w_vec = np.array([])
    if w_vec.size == 0 or not np.all(np.isfinite(w_vec)):
        raise ConfigError(f"w: expected a non-empty list of finite numbers, got {w!r}")
    rng = np.random.default_rng(seed)
    X = rng.normal(0.0, 1.0, size=(n, w_vec.size))  # (n, F)
    y = X @ w_vec + float(b) + rng.normal(0.0, noise, size=n)  # (n,)
    return make_dataset("linear_synthetic", X, y, "regression", None, "d2l's synthetic_data: y = X·w + b + noise")


@DATASETS.register("xor", "n rows (400), 2 features, binary: four Gaussian blobs at (±1, ±1), label = signs differ")
def xor(n: int = 400, noise: float = 0.2, seed: int = 0) -> Dataset:
    """Four blobs of std `noise` at the corners (±1, ±1); label 1 where x1 and x2 have different signs."""
    _check_n(n, 4)
    _check_noise(noise)
    _check_seed(seed)
    rng = np.random.default_rng(seed)
    corners = np.array([[1.0, 1.0], [-1.0, -1.0], [1.0, -1.0], [-1.0, 1.0]])  # (4, 2); rows 2, 3 are class 1
    which = np.arange(n) % 4  # (n,) balanced corners
    X = corners[which] + rng.normal(0.0, noise, size=(n, 2))  # (n, 2)
    y = (which >= 2).astype(np.int64)  # (n,)
    X, y = _shuffled(rng, X, y)
    return make_dataset("xor", X, y, "binary", 2, "generated: XOR of the signs of two coordinates")


@DATASETS.register("spirals", "n rows (400), 2 features, binary: two interleaved spirals (CS231n style)")
def spirals(n: int = 400, noise: float = 0.2, seed: int = 0) -> Dataset:
    """Two spiral arms (CS231n's spiral data with 2 classes): radius r in [0, 1], angle 4r + 4c (+ N(0, noise²))."""
    _check_n(n)
    _check_noise(noise)
    _check_seed(seed)
    rng = np.random.default_rng(seed)
    cls = np.arange(n) % 2  # (n,) balanced classes
    r = np.empty(n)
    for c in (0, 1):
        r[cls == c] = np.linspace(0.0, 1.0, int(np.sum(cls == c)))
    theta = 4.0 * r + 4.0 * cls + rng.normal(0.0, noise, size=n)  # (n,) radians; noise on the angle
    X = np.stack([r * np.sin(theta), r * np.cos(theta)], axis=1)  # (n, 2)
    X, y = _shuffled(rng, X, cls.astype(np.int64))
    return make_dataset("spirals", X, y, "binary", 2, "generated: two interleaved spirals (CS231n)")


@DATASETS.register("moons", "n rows (400), 2 features, binary: two interleaving half circles (sklearn make_moons)")
def moons(n: int = 400, noise: float = 0.1, seed: int = 0) -> Dataset:
    """scikit-learn's make_moons: an upper half circle (class 0) and a shifted lower one (class 1), + N(0, noise²)."""
    _check_n(n)
    _check_noise(noise)
    _check_seed(seed)
    rng = np.random.default_rng(seed)
    n_out = n // 2
    n_in = n - n_out
    t_out = np.linspace(0.0, np.pi, n_out)
    t_in = np.linspace(0.0, np.pi, n_in)
    X = np.concatenate(
        [
            np.stack([np.cos(t_out), np.sin(t_out)], axis=1),  # (n_out, 2)
            np.stack([1.0 - np.cos(t_in), 0.5 - np.sin(t_in)], axis=1),  # (n_in, 2)
        ]
    )
    X = X + rng.normal(0.0, noise, size=X.shape)
    y = np.concatenate([np.zeros(n_out, np.int64), np.ones(n_in, np.int64)])  # (n,)
    X, y = _shuffled(rng, X, y)
    return make_dataset("moons", X, y, "binary", 2, "generated: two moons (scikit-learn's make_moons)")
