"""The UCI airfoil self-noise data (d2l chapter 11), packaged with gdlab.

NASA data (Brooks, Pope and Marcolini, 1989) from the UCI Machine Learning Repository, CC BY 4.0,
doi 10.24432/C5VW2C; see gdlab/data/ATTRIBUTION.md. 1503 rows, tab-separated: frequency, angle of attack,
chord length, free-stream velocity, suction-side displacement thickness, and the target, the scaled sound
pressure level in dB.
"""

from __future__ import annotations

from importlib import resources

import numpy as np

from ...errors import ConfigError, DataError
from . import DATASETS, Dataset, make_dataset

FILENAME = "airfoil_self_noise.dat"
N_ROWS = 1503
SOURCE = "UCI airfoil self-noise (NASA; Brooks, Pope, Marcolini 1989), CC BY 4.0, doi:10.24432/C5VW2C"


def packaged_file():
    """Where the packaged table is (a path in an ordinary install)."""
    return resources.files("gdlab").joinpath("data", FILENAME)


def read_table() -> np.ndarray:
    """The packaged table as float32 (1503, 6), parsed as d2l does (np.genfromtxt(..., dtype=np.float32))."""
    try:
        with packaged_file().open("r") as f:
            data = np.loadtxt(f, dtype=np.float32, delimiter="\t")
    except (OSError, ValueError) as e:
        raise DataError(f"cannot read the packaged airfoil data gdlab/data/{FILENAME}: {e}") from e
    if data.shape != (N_ROWS, 6):
        raise DataError(f"gdlab/data/{FILENAME}: expected {N_ROWS} rows of 6 columns, got shape {data.shape}")
    return data


def standardize(data: np.ndarray) -> np.ndarray:
    """(data - mean) / std per column (population std, ddof 0), in the data's dtype: d2l's get_data_ch11."""
    return (data - data.mean(axis=0)) / data.std(axis=0)


@DATASETS.register("airfoil", f"rows (1500) of {N_ROWS}, 5 features, regression, standardized (d2l): {SOURCE}")
def airfoil(rows: int = 1500) -> Dataset:
    """d2l's get_data_ch11: standardize every column over all 1503 rows, keep the first `rows`.

    Features are the first five columns, the target is the last (the sound pressure level), all standardized
    with the statistics of the full table, exactly as d2l does (so the kept rows' means are only close to 0).
    """
    if isinstance(rows, bool) or not isinstance(rows, (int, np.integer)) or not 1 <= rows <= N_ROWS:
        raise ConfigError(f"rows: expected an integer from 1 to {N_ROWS}, got {rows!r}")
    data = standardize(read_table())[:rows]  # (rows, 6)
    return make_dataset("airfoil", data[:, :-1], data[:, -1], "regression", None, SOURCE)
