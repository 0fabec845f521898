"""Repetitions summarised: per member, statistics over its seeds (median, mean, std, min, max, quartiles).

Seeds are repetitions, never a hyperparameter to pick the best of. For every member the statistics of a loss or
accuracy are taken over the seeds that did not diverge (a diverged seed's numbers are those of its last finite
parameters, not an outcome); how many diverged is its own column. Steps to a tolerance count a seed that never
got there as infinitely many steps, so their median is infinite when most seeds fail.

NumPy only (the figures and the terminal read these numbers too).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .rundir import write_csv_rows

STATS = ("median", "mean", "std", "min", "max", "q25", "q75")
METRICS = ("final_loss", "best_loss", "val_loss", "val_accuracy")  # aggregated when the members have them
AGGREGATE_FILE = "aggregate.csv"


def nan_quantiles(values: np.ndarray, qs, axis: int = -1) -> np.ndarray:
    """np.nanquantile(values, qs, axis) with linear interpolation, for the many short columns of repetitions.

    numpy's nanquantile goes column by column in Python once any nan is present (a second for a figure's few
    thousand columns); this sorts once (nan last) and interpolates every column at the same time. A column
    without values gives nan; inf is an ordinary value (two infinite neighbours give inf, not nan).
    Returns (len(qs), ...) with `axis` removed.
    """
    v = np.moveaxis(np.asarray(values, dtype=np.float64), axis, 0)
    ordered = np.sort(v, axis=0)  # nan sorts last
    n = (~np.isnan(v)).sum(axis=0)
    out = []
    for q in np.atleast_1d(qs):
        pos = q * np.maximum(n - 1, 0)
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, np.maximum(n - 1, 0))
        a = np.take_along_axis(ordered, lo[None], axis=0)[0]
        b = np.take_along_axis(ordered, hi[None], axis=0)[0]
        frac = pos - lo
        with np.errstate(invalid="ignore"):
            mixed = a + (b - a) * frac
        out.append(np.where(n == 0, np.nan, np.where((frac == 0) | (a == b), a, mixed)))
    return np.stack(out)


def seed_stats(values: np.ndarray, counted: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Statistics over the seeds axis of values (M, S), using only the `counted` (M, S) entries that are finite.

    Returns each of STATS as (M,): std with ddof = 1 (nan with fewer than two values); quartiles by linear
    interpolation (numpy's default: q25 of five sorted values is the second). A member with no counted value
    gets nan everywhere.
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 2:
        raise ValueError(f"values must be (members, seeds), got shape {v.shape}")
    keep = np.isfinite(v) if counted is None else (np.asarray(counted, bool) & np.isfinite(v))
    x = np.where(keep, v, np.nan)
    n = keep.sum(axis=1)
    out = {k: np.full(len(v), np.nan) for k in STATS}
    rows = n > 0
    if rows.any():
        xs = x[rows]
        q25, median, q75 = nan_quantiles(xs, [0.25, 0.5, 0.75], axis=1)
        out.update(median=_put(rows, median), q25=_put(rows, q25), q75=_put(rows, q75),
                   mean=_put(rows, np.nanmean(xs, axis=1)), min=_put(rows, np.nanmin(xs, axis=1)),
                   max=_put(rows, np.nanmax(xs, axis=1)))
    two = n > 1
    if two.any():
        out["std"] = _put(two, np.nanstd(x[two], axis=1, ddof=1))
    return out


def step_stats(steps: np.ndarray) -> dict[str, np.ndarray]:
    """Median and quartiles (M,) of steps to a target (M, S), a never-reached seed (-1) counted as infinite."""
    s = np.asarray(steps, dtype=np.float64)
    s = np.where(s < 0, np.inf, s)
    q25, median, q75 = np.quantile(s, [0.25, 0.5, 0.75], axis=1, method="lower")  # lower: a step that happened
    return {"median": median, "q25": q25, "q75": q75, "reached": np.sum(np.isfinite(s), axis=1)}


def _put(rows: np.ndarray, values: np.ndarray) -> np.ndarray:
    out = np.full(len(rows), np.nan)
    out[rows] = values
    return out


def aggregate(table: dict[str, np.ndarray], diverged: np.ndarray, steps_to_tol: np.ndarray | None = None) -> dict:
    """Per member: {"<metric>_<stat>": (M,)} for each metric of `table` ({name: (M, S)}), "diverged" (M,) and,
    given steps to a tolerance (M, S) with -1 for never, "steps_to_tol_{median,q25,q75}" and "reached_tol"."""
    ok = ~np.asarray(diverged, dtype=bool)
    out: dict[str, np.ndarray] = {"seeds": np.full(ok.shape[0], ok.shape[1]), "diverged": (~ok).sum(axis=1)}
    for name in [m for m in METRICS if m in table]:
        for stat, v in seed_stats(table[name], ok).items():
            out[f"{name}_{stat}"] = v
    if steps_to_tol is not None:
        st = step_stats(steps_to_tol)
        out.update({f"steps_to_tol_{k}": st[k] for k in ("median", "q25", "q75")}, reached_tol=st["reached"])
    return out


def write_aggregate_csv(path: Path, labels: list[str], optimizers: list[str], agg: dict) -> None:
    """One row per member: member, optimizer, seeds, diverged and the statistics (empty cell for nan)."""
    columns = list(agg)
    rows = [[label, opt] + [_cell(agg[c][i]) for c in columns] for i, (label, opt) in enumerate(zip(labels, optimizers))]
    write_csv_rows(Path(path), ["member", "optimizer"] + columns, rows)


def _cell(x) -> object:
    x = x.item() if isinstance(x, np.generic) else x
    if isinstance(x, float) and x != x:
        return ""
    return x


def repeat_groups(run_dir: Path) -> list[tuple[str, list[Path]]] | None:
    """The (member label, its seed directories) of a run or compare directory written with several seeds, in the
    order of summary.csv; None for any other directory."""
    import csv
    import io

    from ..errors import OutputError
    from .readback import incomplete, read_config, read_text

    run_dir = Path(run_dir)
    config, summary = run_dir / "config.yaml", run_dir / "summary.csv"
    if not (config.is_file() and summary.is_file()):
        return None
    seeds = read_config(run_dir).get("seeds")  # plain YAML, bounded: a shared directory builds nothing
    if not isinstance(seeds, list) or len(seeds) < 2:
        return None
    groups: dict[str, list[Path]] = {}
    try:
        rows = list(csv.DictReader(io.StringIO(read_text(summary), newline="")))
        subdirs = [d for d in run_dir.iterdir() if d.is_dir() and d.name != "plots"]
        single = any(d.name.startswith("seed-") for d in subdirs)  # `gdlab run`: seed-<k> right here
        missing = []
        for row in rows:
            base = run_dir if single else _member_dir(run_dir, row["member"], subdirs)
            d = base / f"seed-{row['seed']}"
            if d.is_dir() and d.resolve().is_relative_to(run_dir.resolve()):  # a seed cell never leads out
                groups.setdefault(row["member"], []).append(d)
            else:
                missing.append(f"{row['member']} seed {row['seed']}")
    except (KeyError, TypeError, ValueError, csv.Error) as exc:
        raise OutputError(f"{summary}: damaged ({type(exc).__name__}: {exc})") from None
    if missing:
        raise OutputError(incomplete(run_dir, [f"the run directory of {m}" for m in missing[:5]]
                                     + ([f"{len(missing) - 5} more"] if len(missing) > 5 else [])))
    return list(groups.items()) or None


def _member_dir(run_dir: Path, label: str, subdirs: list[Path]) -> Path:
    """The sub-directory of a member: the one whose seeds' summary.json carries its label."""
    import json

    for d in sorted(subdirs):
        first = next(iter(sorted(d.glob("seed-*/summary.json"))), None)
        if first is not None and json.loads(first.read_text(encoding="utf-8")).get("label") == label:
            return d
    return run_dir / "missing"
