"""The loss landscape of a 1- or 2-parameter problem saved with its run (`landscape.npz`) and read back.

`gdlab plot` never runs code named in a run directory and never loads data, so a landscape it cannot recompute
from a built-in objective (a plugin objective, a model on a dataset) is sampled on a grid when the run is written
and drawn from that grid afterwards (bilinear interpolation; nan outside the grid, where nothing is drawn).

The grid spans the landscape's window widened by SAMPLED_REACH of its width on each side: the widest view the path
figures choose (figures.paths.view_window: REACH 0.5 plus a 5 % margin of the widened window).
"""

from __future__ import annotations

import math
import zipfile
from pathlib import Path

import numpy as np

from ..errors import OutputError
from ..problems.landscape import Landscape
from .files import atomic

FILE = "landscape.npz"
SAMPLED_REACH = 0.6
POINTS = {1: 1601, 2: 321}  # grid points per axis: 1D curves and 2D contours as fine as the figures draw them
MAX_BYTES = 64 * 1024 * 1024  # a landscape file is < 1 MB; refuse anything that would unpack to more


def sample(land: Landscape) -> dict[str, np.ndarray]:
    """The landscape on its grid: axes (n,) each, values (n,) or (n_y, n_x), and what the figures label."""
    win = np.array(land.window, dtype=np.float64)  # (D, 2)
    width = win[:, 1] - win[:, 0]
    lo, hi = win[:, 0] - SAMPLED_REACH * width, win[:, 1] + SAMPLED_REACH * width
    n = POINTS[land.dim]
    axes = [np.linspace(lo[d], hi[d], n) for d in range(land.dim)]
    if land.dim == 1:
        points = axes[0][:, None]  # (n, 1)
    else:
        xx, yy = np.meshgrid(*axes)  # (n_y, n_x)
        points = np.column_stack([xx.ravel(), yy.ravel()])
    with np.errstate(all="ignore"):  # far corners may overflow: stored as nan
        z = np.asarray(land.f(points), dtype=np.float64).reshape((n,) * land.dim)
    return {"axes": np.stack(axes), "values": np.where(np.isfinite(z), z, np.nan).astype(np.float32),
            "window": win, "minimiser": np.full(land.dim, np.nan) if land.minimiser is None else land.minimiser,
            "min_value": np.array(np.nan if land.min_value is None else land.min_value),
            "labels": np.array(land.labels[:land.dim], dtype=str), "title": np.array(land.title, dtype=str)}


def write_landscape(run_dir: Path, land: Landscape) -> Path:
    path = Path(run_dir) / FILE
    with atomic(path) as f:
        np.savez(f, **sample(land))
    return path


def read_landscape(run_dir: Path) -> Landscape | None:
    """The saved landscape of `run_dir` (None when there is none); OutputError when the file is damaged."""
    path = Path(run_dir) / FILE
    if not path.is_file():
        return None
    try:
        with zipfile.ZipFile(path) as z:  # before loading: the sizes the archive claims
            if sum(i.file_size for i in z.infolist()) > MAX_BYTES:
                raise OutputError(f"{path}: too large to be a landscape gdlab wrote")
        with np.load(path, allow_pickle=False) as data:
            axes, values = np.asarray(data["axes"], dtype=np.float64), np.asarray(data["values"], dtype=np.float64)
            window, minimiser = np.asarray(data["window"], dtype=np.float64), np.asarray(data["minimiser"], float)
            min_value = float(data["min_value"])
            labels, title = tuple(str(x) for x in data["labels"]), str(data["title"])
        dim = axes.shape[0]
        if dim not in (1, 2) or values.shape != (axes.shape[1],) * dim or window.shape != (dim, 2) \
                or not np.isfinite(axes).all() or (np.diff(axes, axis=1) <= 0).any():
            raise ValueError("the grid's shapes do not fit together")
        return Landscape(f=_interpolator(axes, values), window=window,
                         minimiser=None if np.isnan(minimiser).any() else minimiser,
                         min_value=None if np.isnan(min_value) else min_value, labels=labels, title=title)
    except OutputError:
        raise
    except Exception as exc:  # noqa: BLE001 - a truncated zip, a missing array, wrong shapes: one message
        raise OutputError(f"{path}: damaged ({type(exc).__name__}: {exc})") from None


def _interpolator(axes: np.ndarray, values: np.ndarray):
    """points (N, D) -> values (N,) interpolated linearly on the regular grid; nan outside it."""
    if axes.shape[0] == 1:
        return lambda points: np.interp(np.asarray(points, float)[:, 0], axes[0], values, left=np.nan,
                                        right=np.nan)
    x, y = axes
    nx, ny = len(x), len(y)

    def f(points: np.ndarray) -> np.ndarray:
        p = np.asarray(points, dtype=np.float64)
        fx = (p[:, 0] - x[0]) / (x[-1] - x[0]) * (nx - 1)  # fractional grid index along x
        fy = (p[:, 1] - y[0]) / (y[-1] - y[0]) * (ny - 1)
        inside = (fx >= 0) & (fx <= nx - 1) & (fy >= 0) & (fy <= ny - 1)
        i = np.clip(np.floor(np.nan_to_num(fx)).astype(np.int64), 0, nx - 2)
        j = np.clip(np.floor(np.nan_to_num(fy)).astype(np.int64), 0, ny - 2)
        tx, ty = fx - i, fy - j
        z = ((1 - tx) * (1 - ty) * values[j, i] + tx * (1 - ty) * values[j, i + 1]
             + (1 - tx) * ty * values[j + 1, i] + tx * ty * values[j + 1, i + 1])
        return np.where(inside, z, np.nan)

    return f


def landscape_of(run_dir: Path) -> Landscape | None:
    """The loss surface to draw a run's paths on, from its files alone: the saved landscape.npz, else a built-in
    objective's, recomputed from config.yaml's plain values. Never a plugin, never data: None when neither applies."""
    saved = read_landscape(run_dir)
    if saved is not None:
        return saved
    from .readback import read_config

    return builtin_landscape(read_config(run_dir).get("problem"))


def builtin_landscape(problem) -> Landscape | None:
    """The landscape of a registered toy objective described by plain values ({objective, params, init}); None for
    anything else (a plugin name, a dataset, values that do not fit)."""
    from ..problems.objectives import OBJECTIVES
    from ..problems.spec import ProblemSpec
    from ..problems.toy import toy_landscape

    if not isinstance(problem, dict) or problem.get("objective") not in OBJECTIVES.names():
        return None  # checked against the registry's names: nothing is imported by name
    params, init = problem.get("params") or {}, problem.get("init")
    if not isinstance(params, dict) or not isinstance(init, list) or not 1 <= len(init) <= 2 \
            or not all(_finite(v) for v in init) or not all(_finite(v) or _numbers(v) for v in params.values()):
        return None
    params = {str(k): tuple(v) if isinstance(v, list) else v for k, v in params.items()}
    try:
        return toy_landscape(ProblemSpec("objective", problem["objective"], params, tuple(init)))
    except Exception:  # noqa: BLE001 - parameters the objective refuses: no landscape, the loss figures still draw
        return None


def _finite(v) -> bool:
    try:
        return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    except OverflowError:  # an integer of hundreds of digits
        return False


def _numbers(v) -> bool:
    return isinstance(v, list) and len(v) <= 1000 and all(_finite(x) for x in v)
