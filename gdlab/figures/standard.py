"""Which figures a run, compare or sweep directory gets, drawn from its files alone (so `gdlab plot` can redraw them)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from ..errors import OutputError
from ..outputs.files import real_dir
from ..outputs.landscape_file import landscape_of
from ..outputs.readback import load_series
from ..outputs.series import STATUSES, Series
from ..problems.landscape import Landscape

BEST_CURVES = 5


def run_name(run_dir: Path) -> str:
    """The config name of a run directory `<name>-<YYYYmmdd>-<HHMMSS>-<id>`; of a directory named otherwise (a tune
    directory's compare/), the name in its config.yaml."""
    import re

    name = Path(run_dir).name
    if re.fullmatch(r".+-\d{8}-\d{6}-[0-9a-f]+", name):
        return name.rsplit("-", 3)[0]
    try:
        from ..outputs.readback import read_config

        title = read_config(run_dir).get("name")  # bounded, plain YAML (a shared directory's config builds nothing)
    except OutputError:
        return name
    return title if isinstance(title, str) and title.strip() else name


def draw_outputs(run_dir: Path, member_dirs: list[Path], mode: str, seeds: int = 1, *, member_figures: bool = False,
                 fmt: str = "png") -> str | None:
    """Draw the standard figures; a failure is reported, not raised (the results are already on disk).

    A run gets its own figures. A compare gets what a reader needs: the overlays and the grid of small multiples;
    each member's own figures only with `member_figures` (or later, from `gdlab plot MEMBER_DIR`).
    seeds > 1: member_dirs hold each member's seeds in turn (member-major); the figures show bands over seeds.
    """
    try:
        if seeds > 1:
            series = [load_series(d) for d in member_dirs]
            groups = [(series[i].label, series[i:i + seeds]) for i in range(0, len(series), seeds)]
            draw_repeat_figures(groups, landscape_of(member_dirs[0]), run_dir / "plots", title=run_name(run_dir),
                                fmt=fmt)
            return None
        series = [load_series(d) for d in member_dirs]
        land = landscape_of(member_dirs[0])  # from the files, as `gdlab plot` draws it
        name = run_name(run_dir)
        if mode != "compare":
            draw_figures(series, land, run_dir / "plots", title=name, fmt=fmt)
            return None
        draw_figures(series, land, run_dir / "plots", title=name, grid=True, fmt=fmt)
        for d, s in zip(member_dirs, series) if member_figures else ():
            draw_figures([s], land, d / "plots", title=f"{name}: {s.label}", metric_figures=False, fmt=fmt)
    except OutputError:  # a full disk or a folder gdlab may not write: the caller says so and exits 1
        raise
    except Exception as exc:  # noqa: BLE001 - the run's data is safe; say what went wrong with the figures
        return f"plots could not be drawn: {type(exc).__name__}: {exc}"
    return None


def _default_smoothing(series: list[Series]) -> int:
    """A moving-average window for mini-batch losses: a twentieth of the run (DLFS smooths its curves); shared
    batches make every member's raw curve jump together, so a narrower window leaves a tangle."""
    n = max((len(s.step) for s in series), default=0)
    return n // 20 if n >= 100 else 0


def draw_figures(series: list[Series], land: Landscape | None, out_dir: Path, *, title: str = "",
                 grid: bool = False, kind: str = "all", smooth: int = 0, metric_figures: bool = True,
                 fmt: str = "png", name=lambda f: f, own_folder: bool = True) -> list[Path]:
    """The loss figures (and, with metric_figures, validation and accuracy curves) and the trajectory figures.

    fmt: png | svg | pdf. name: the file name of each figure in `out_dir` from its standard name ("loss.png" ->
    "both.png" for `gdlab plot --output both.png`). own_folder: `out_dir` is a run directory's plots/ folder, made
    if absent and never a symbolic link (a shared directory may hold a planted one); otherwise the user named it.
    """
    from . import curves, paths

    if own_folder:
        real_dir(out_dir)
    at = lambda f: out_dir / name(f)  # noqa: E731
    written = []
    floor = None if land is None else land.min_value
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # nan-only columns of diverged members
        if kind in ("all", "loss"):
            if any("train_loss" in s.columns for s in series):  # a dataset: whole-data loss per epoch, as d2l
                written.append(curves.loss_curves(series, at(f"loss.{fmt}"), x="epoch", y="train_loss",
                                                 title=title))
                written.append(curves.loss_curves(series, at(f"batch_loss.{fmt}"), title=f"{title} (mini-batches)",
                                                 smooth=smooth or _default_smoothing(series)))
            elif all("suboptimality" in s.columns for s in series):  # a known minimum: f − f* on a log axis
                written.append(curves.loss_curves(series, at(f"loss.{fmt}"), y="suboptimality", logy=True,
                                                  title=title, smooth=smooth))
            else:
                written.append(curves.loss_curves(series, at(f"loss.{fmt}"), title=title, smooth=smooth,
                                                  floor=floor))
            for col in ("val_loss", "train_accuracy", "val_accuracy") if metric_figures else ():
                if any(col in s.columns for s in series):
                    written.append(curves.loss_curves(series, at(f"{col}.{fmt}"), x="epoch", y=col, title=title))
        has_path = land is not None and any(s.path is not None for s in series)
        if kind in ("all", "trajectory") and has_path:
            written.append(paths.trajectories(series, land, at(f"trajectory.{fmt}"), title=title))
            if grid and len(series) > 1:
                written.append(paths.small_multiples(series, land, at(f"trajectories_grid.{fmt}"), title=title))
            from . import path_gaps

            if grid and path_gaps.paths_overlap(series, land):  # one line on the overlay: show the gaps
                written.append(path_gaps.path_distance(series, land, at(f"path_distance.{fmt}"), title=title))
    return written


def draw_repeat_figures(groups: list[tuple[str, list[Series]]], land: Landscape | None, out_dir: Path, *,
                        title: str = "", fmt: str = "png") -> list[Path]:
    """Members run with several seeds: median curves with 25–75 % bands, and every seed's path with the median's."""
    from . import bands

    real_dir(out_dir)  # never through a link planted in a shared run directory
    every = [s for _, seeds in groups for s in seeds]
    written = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if any("train_loss" in s.columns for s in every):
            written.append(bands.band_curves(groups, out_dir / f"loss.{fmt}", x="epoch", y="train_loss", title=title))
        elif all("suboptimality" in s.columns for s in every):
            written.append(bands.band_curves(groups, out_dir / f"loss.{fmt}", y="suboptimality", logy=True,
                                             title=title))
        else:
            written.append(bands.band_curves(groups, out_dir / f"loss.{fmt}", title=title))
        for col in ("val_loss", "val_accuracy"):
            if any(col in s.columns for s in every):
                written.append(bands.band_curves(groups, out_dir / f"{col}.{fmt}", x="epoch", y=col, title=title))
        if land is not None and any(s.path is not None for s in every):
            written.append(bands.seed_paths(groups, land, out_dir / f"trajectory.{fmt}", title=title))
    return written


def draw_sweep_figures(o, idx: np.ndarray, history, *, fmt: str = "png") -> list[Path]:
    """Final loss against each swept value, a heat map over the first two numeric keys, the best loss curves.

    The members' fates are those of the table (gdlab.outputs.verdicts): diverged = non-finite (o.status), not
    settled = o.unsettled; the stability theory's edges come from o.theory (quadratics, see problems.stability).
    idx (n_axes, R): each member's value index on each axis, -1 where the axis does not apply (an axis of one entry
    of a compare sweep). In a compare sweep each entry gets its own line, and the heat map is drawn for one entry.
    """
    from ..outputs.repetitions import collapse_seeds

    o, idx, history = collapse_seeds(o, idx, history)  # seeds are repetitions: each grid point's median
    from . import curves, heatmap, sweeps

    out = real_dir(o.run_dir / "plots")
    diverged = np.asarray(o.status == "diverged")
    unsettled = np.asarray(o.unsettled, dtype=bool)
    theory = getattr(o, "theory", None)
    title = run_name(o.run_dir) + (f" (median over {o.repetitions} seeds)" if getattr(o, "repetitions", 0) else "")
    entries = np.array(list(getattr(o, "entries", ()) or ()), dtype=str)
    entry = getattr(o, "entry", None)
    written = []
    numeric = [j for j, a in enumerate(o.axes) if a.numeric]
    for j in numeric:
        a = o.axes[j]
        on = idx[j] >= 0
        values = np.asarray(a.values, dtype=float)[idx[j][on]]
        others = entries[entry[on]] if entries.size and len(np.unique(entry[on])) > 1 else None
        written.append(sweeps.sweep_curve(values, o.final_loss[on], diverged[on], a.short,
                                          out / f"final_loss_{_file_key(a.short)}.{fmt}", title=title, others=others,
                                          unsettled=unsettled[on], theory=_edges_along(theory, a, o.axes)))
    on = (idx[numeric[0]] >= 0) & (idx[numeric[1]] >= 0) if len(numeric) >= 2 else None
    if on is not None and (not entries.size or len(np.unique(entry[on])) == 1):  # one optimizer: a map of it
        jx, jy = numeric[:2]
        xs, ys = np.asarray(o.axes[jx].values, float), np.asarray(o.axes[jy].values, float)
        cells = (idx[jy][on], idx[jx][on])
        grid = np.full((len(ys), len(xs)), np.inf)
        finite = np.where(np.isfinite(o.final_loss) & ~diverged, o.final_loss, np.inf)[on]
        np.minimum.at(grid, cells, finite)
        all_diverged = np.ones_like(grid, dtype=bool)
        np.logical_and.at(all_diverged, cells, diverged[on])
        none_settled = np.ones_like(grid, dtype=bool)  # every member of the cell diverged or did not settle
        np.logical_and.at(none_settled, cells, (diverged | unsettled)[on])
        sx, sy = np.argsort(xs), np.argsort(ys)
        pick = np.ix_(sy, sx)
        grid = np.where(np.isfinite(grid), grid, np.nan)[pick]
        written.append(heatmap.sweep_heatmap(xs[sx], ys[sy], grid, all_diverged[pick], o.axes[jx].short,
                                             o.axes[jy].short, out / f"final_loss_heatmap.{fmt}", title=title,
                                             unsettled=(none_settled & ~all_diverged)[pick],
                                             theory=_edge_curves(theory, o.axes[jx], o.axes[jy], xs, ys)))
    best = best_series(o, history)
    written.append(curves.loss_curves(best, out / f"best_loss.{fmt}", title=f"{title}: {_best_title(len(best), o)}"))
    return written


def _best_title(shown: int, o) -> str:
    """'the 5 best of 500 members' / 'all 3 members' / 'the best member' – counting what is drawn."""
    n = len(o.labels)
    if shown >= n:
        return "the member" if n == 1 else f"all {n} members"
    return "the best member" if shown == 1 else f"the {shown} best of {n:,} members"


def _edges_along(theory: dict | None, axis, axes) -> list[tuple[float, str]]:
    """The theory's edge on a sweep curve over `axis` (lr, or momentum at a fixed lr), if one holds there."""
    from ..problems.stability import lr_edge_line, momentum_edge_line

    if theory is None:
        return []
    swept = {a.path for a in axes}
    if axis.path == ("optimizer", "lr") and ("optimizer", "momentum") not in swept:
        return [lr_edge_line(theory)]
    if axis.path == ("optimizer", "momentum") and ("optimizer", "lr") not in swept:
        line = momentum_edge_line(theory)
        return [] if line is None else [line]
    return []


def _edge_curves(theory: dict | None, ax_x, ax_y, xs: np.ndarray, ys: np.ndarray) -> list:
    """The theory's edge in the (lr, momentum) plane of a heat map over those two keys, in either order."""
    from ..problems.stability import edge_curve

    paths = {ax_x.path: xs, ax_y.path: ys}
    if theory is None or set(paths) != {("optimizer", "lr"), ("optimizer", "momentum")}:
        return []
    m = paths[("optimizer", "momentum")]
    lrs, betas, label = edge_curve(theory, np.linspace(m.min(), m.max(), 200))
    return [(lrs, betas, label) if ax_x.path == ("optimizer", "lr") else (betas, lrs, label)]


def best_series(o, history) -> list[Series]:
    """Loss curves of the members with the lowest final loss (settled completed ones first)."""
    rank = np.where((o.status == "completed") & ~np.asarray(o.unsettled, dtype=bool), o.final_loss, np.inf)
    rank = np.where(np.isfinite(rank), rank, np.inf)
    drawn = np.isin(o.status.astype(str), STATUSES)  # members a Ctrl-C kept from running have no curve
    order = [i for i in np.argsort(rank, kind="stable") if drawn[i]][:BEST_CURVES]
    steps = np.asarray(history.steps)
    return [Series(o.labels[i], steps, history.loss[:, i].astype(float), status=str(o.status[i]),
                   diverged_at=None if o.diverged_at[i] < 0 else int(o.diverged_at[i])) for i in order]


def _file_key(key: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in key)


def redraw_sweep(run_dir: Path, *, fmt: str = "png") -> list[Path]:
    """The sweep figures again, from the sweep directory's files alone (`gdlab plot`)."""
    from ..outputs.sweep_dir import load_sweep

    try:
        loaded = load_sweep(run_dir)
    except OutputError:
        raise
    except Exception as exc:  # noqa: BLE001 - a truncated metrics.npz, a cell that is not a number, ...
        raise OutputError(f"{run_dir}: damaged sweep files ({type(exc).__name__}: {exc})") from None
    return draw_sweep_figures(*loaded, fmt=fmt)
