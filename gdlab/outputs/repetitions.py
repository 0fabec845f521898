"""A sweep with a `seed` axis: its seeds are repetitions, summarised per grid point, never a value to pick.

`collapse_seeds` turns the members of a sweep (grid points × seeds) into one member per grid point: the median
final and best loss over its seeds that did not diverge, "diverged" when most seeds diverged, the median loss
history. Tables, figures and summary.json read the collapsed sweep; summary.csv and metrics.npz keep every seed;
aggregate.csv holds the statistics (outputs.aggregate) of each grid point.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from .aggregate import AGGREGATE_FILE, aggregate, nan_quantiles
from .rundir import write_csv_rows

SEED = ("seed",)
_SEED_LABEL = re.compile(r",?seed=[^,\]]*")


def seed_axis(axes) -> int | None:
    """The position of the `seed` axis among a sweep's axes (None: no repetitions)."""
    return next((j for j, a in enumerate(axes) if tuple(a.path) == SEED), None)


def seed_groups(index: np.ndarray, entry: np.ndarray | None, j: int) -> np.ndarray:
    """(G, S) member positions: each row a grid point (every axis but seed, and the entry), its seeds in order."""
    keys = np.delete(index, j, axis=0)
    if entry is not None:
        keys = np.vstack([keys, entry[None, :]])
    _, first, inverse = np.unique(keys.T, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    order = np.argsort(first)  # grid points in the order they first appear
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    point = rank[inverse]  # (R,) grid point of each member
    members = np.argsort(point, kind="stable")  # by grid point, seeds in member (grid) order
    return members.reshape(len(order), -1)


def grid_label(label: str) -> str:
    """'sgd[lr=0.1,seed=3]' -> 'sgd[lr=0.1]'; 'sgd[seed=3]' -> 'sgd'."""
    return _SEED_LABEL.sub("", label).replace("[,", "[").replace("[]", "")


def collapse_seeds(o, index: np.ndarray, history):
    """(outcome, index, history) with one member per grid point (see the module's docstring); unchanged when the
    sweep has no seed axis. `o` is a SweepOutcome or what load_sweep reads back; neither is modified."""
    j = seed_axis(o.axes)
    if j is None:
        return o, index, history
    groups = seed_groups(index, getattr(o, "entry", None), j)  # (G, S)
    status = np.asarray(o.status, dtype=object)[groups]
    diverged = status == "diverged"
    counted = np.isin(status, ("completed", "interrupted"))
    c = copy.copy(o)
    c.axes = [a for k, a in enumerate(o.axes) if k != j]
    c.labels = [grid_label(o.labels[g[0]]) for g in groups]
    c.final_loss = _median(o.final_loss, groups, counted)
    c.best_loss = _median(o.best_loss, groups, counted)
    most = diverged.sum(axis=1) * 2 > groups.shape[1]
    c.status = np.where(most, "diverged", status[:, 0]).astype(object)
    c.status[(status == "not_run").all(axis=1)] = "not_run"
    at = np.where(diverged, np.asarray(o.diverged_at)[groups], -1)
    c.diverged_at = np.where(most, np.where(diverged, at, np.iinfo(np.int64).max).min(axis=1), -1)
    c.steps_run = np.asarray(o.steps_run)[groups].max(axis=1)
    if getattr(o, "unsettled", None) is not None:
        c.unsettled = np.asarray(o.unsettled)[groups].sum(axis=1) * 2 > groups.shape[1]
    if getattr(o, "entry", None) is not None:
        c.entry = np.asarray(o.entry)[groups[:, 0]]
    c.index = np.delete(index, j, axis=0)[:, groups[:, 0]]
    c.failures = {}
    c.repetitions = groups.shape[1]
    loss = np.asarray(history.loss, dtype=np.float64)[:, groups]  # (L, G, S)
    h = SimpleNamespace(steps=history.steps, loss=nan_quantiles(loss, [0.5], axis=2)[0].astype(np.float32))
    if getattr(c, "history", None) is not None:
        c.history = h
    return c, c.index, h


def _median(values: np.ndarray, groups: np.ndarray, counted: np.ndarray) -> np.ndarray:
    v = np.where(counted, np.asarray(values, dtype=np.float64)[groups], np.nan)
    return nan_quantiles(v, [0.5], axis=1)[0]


def write_sweep_aggregate(o, path: Path | None = None) -> dict | None:
    """aggregate.csv of a sweep with a seed axis: per grid point its swept values and the statistics over its
    seeds (final and best loss, diverged seeds). Returns the statistics (None without a seed axis)."""
    j = seed_axis(o.axes)
    if j is None:
        return None
    groups = seed_groups(o.index, getattr(o, "entry", None), j)
    status = np.asarray(o.status, dtype=object)[groups]
    table = {"final_loss": np.asarray(o.final_loss, float)[groups],
             "best_loss": np.asarray(o.best_loss, float)[groups]}
    agg = aggregate(table, status == "diverged")
    agg["not_run"] = (status == "not_run").sum(axis=1)
    axes = [(k, a) for k, a in enumerate(o.axes) if k != j]
    header = ["member"] + [a.short for _, a in axes] + list(agg)
    rows = []
    for g, members in enumerate(groups):
        first = members[0]
        cells = [a.values[o.index[k, first]] if o.index[k, first] >= 0 else "" for k, a in axes]
        rows.append([grid_label(o.labels[first]), *cells, *[_cell(agg[c][g]) for c in agg]])
    write_csv_rows(Path(path) if path else Path(o.run_dir) / AGGREGATE_FILE, header, rows)
    return agg


def _cell(x):
    x = x.item() if isinstance(x, np.generic) else x
    return "" if isinstance(x, float) and x != x else x
