"""Results as Python objects, for notebooks: what `run_config` returns (in memory with out=None), and what
`gdlab.load_run(path)` reads back from a run, compare or sweep directory.

Both give pandas-ready records: `records()` (a list of dicts, one per member), `history_records()` (one per member
and logged step, long format) and, where pandas is installed, `dataframe()`. pandas is not a dependency.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import GdlabError

SUMMARY_KEYS = ("member", "optimizer", "status", "steps_run", "final_loss", "best_loss", "diverged_at",
                "wall_time_s")


class Records:
    """records() and history_records() as lists of dicts; dataframe() as a pandas DataFrame."""

    def records(self) -> list[dict]:
        raise NotImplementedError

    def history_records(self) -> list[dict]:
        raise NotImplementedError

    def dataframe(self, which: str = "summary"):
        """records() ("summary") or history_records() ("history") as a pandas DataFrame (pandas must be installed)."""
        if which not in ("summary", "history"):
            raise GdlabError(f"dataframe({which!r}): accepted: 'summary', 'history'")
        try:
            import pandas as pd
        except ImportError:
            raise GdlabError("pandas is not installed (pip install pandas); records() and history_records() give "
                             "the same rows as lists of dicts") from None
        return pd.DataFrame(self.records() if which == "summary" else self.history_records())


@dataclass
class MemberResult:
    """One member of a run or compare: its summary, its logged history and its path."""

    label: str
    optimizer: str
    status: str  # completed | diverged | interrupted | failed
    steps_run: int
    final_loss: float
    best_loss: float
    diverged_at: int | None
    wall_time_s: float
    run_dir: Path | None  # None: kept in memory (run_config(..., out=None))
    metrics: dict = field(default_factory=dict)  # whole-data metrics at the end (datasets): val_loss, ...
    predictions: list = field(default_factory=list)  # [(input row, output row)] for the config's `predict`
    error: str | None = None  # why the member failed (status "failed": its plugin raised during the run)
    history: dict = field(default_factory=dict)  # step, epoch, loss, grad_norm, lr, ... each (n,) float64
    trajectory: np.ndarray | None = None  # (m, P) parameters at trajectory_steps (problems of up to 10)
    trajectory_steps: np.ndarray | None = None  # (m,) int: step 0 is the start point
    summary: dict = field(default_factory=dict)  # what summary.json holds
    seed: int = 0
    steps_to_tol: int | None = None  # updates until f − f* <= tol (toys with a known minimum); None: never
    final_params: list | None = None  # the end point of problems of up to 10 parameters
    unsettled: bool = False  # completed above its start loss (toys; outputs.verdicts)

    def record(self) -> dict:
        return {"member": self.label, "optimizer": self.optimizer, "seed": self.seed, "status": self.status,
                "steps_run": self.steps_run, "final_loss": self.final_loss, "best_loss": self.best_loss,
                "diverged_at": self.diverged_at, "wall_time_s": self.wall_time_s, **self.metrics,
                **({"steps_to_tol": self.steps_to_tol} if "steps_to_tol" in self.summary else {}),
                **({"error": self.error} if self.error else {})}


@dataclass
class RunResult(Records):
    """A run or a compare: its members, in the config's order."""

    run_dir: Path | None
    mode: str  # run | compare
    members: list[MemberResult]
    warnings: list[str]
    interrupted: bool
    plot_error: str | None = None  # the figures could not be drawn (a warning: the results are whole)
    output_error: str | None = None  # the figures could not be written (disk full: exit 1, results kept)
    seeds: tuple[int, ...] = (0,)  # the seeds every member ran with; members hold one outcome per (member, seed)
    aggregate: dict | None = None  # with several seeds: per member, statistics over its seeds (outputs.aggregate)
    labels: list[str] = field(default_factory=list)  # the members (one per optimizer entry), in order

    def __getitem__(self, label: str) -> MemberResult:
        for m in self.members:
            if m.label == label:
                return m
        raise KeyError(f"{label!r}: the members are {', '.join(m.label for m in self.members)}")

    def records(self) -> list[dict]:
        return [m.record() for m in self.members]

    def history_records(self) -> list[dict]:
        rows = []
        for m in self.members:
            names = list(m.history)
            for values in zip(*(m.history[k].tolist() for k in names)):
                rows.append({"member": m.label, "seed": m.seed, **{k: _plain(v, k) for k, v in zip(names, values)}})
        return rows


class SweepRecords(Records):
    """records() and history_records() of a sweep's members (what summary.csv and metrics.npz hold).

    Needs the attributes of a sweep outcome: labels, axes, index (n_axes, R), entries, entry, status, final_loss,
    best_loss, diverged_at, steps_run, history (steps, loss (L, R)).
    """

    def records(self) -> list[dict]:
        index = self.index
        entries = tuple(getattr(self, "entries", ()) or ())
        rows = []
        for r, label in enumerate(self.labels):
            row: dict[str, Any] = {"member": label}
            if entries:
                row["optimizer"] = entries[int(self.entry[r])]
            for j, a in enumerate(self.axes):
                row[a.short] = a.values[index[j, r]] if index[j, r] >= 0 else None
            d = int(self.diverged_at[r])
            row.update(status=str(self.status[r]), steps_run=int(self.steps_run[r]),
                       final_loss=_plain(self.final_loss[r]), best_loss=_plain(self.best_loss[r]),
                       diverged_at=None if d < 0 else d)
            rows.append(row)
        return rows

    def history_records(self) -> list[dict]:
        steps, loss = list(self.history.steps), np.asarray(self.history.loss, dtype=np.float64)
        return [{"member": label, "step": s, "loss": _plain(loss[i, r])}
                for r, label in enumerate(self.labels) for i, s in enumerate(steps)]


@dataclass
class SweepResult(SweepRecords):
    """A sweep directory read back (summary.csv, metrics.npz, config.yaml)."""

    run_dir: Path
    axes: list
    labels: list[str]
    status: np.ndarray
    final_loss: np.ndarray
    best_loss: np.ndarray
    diverged_at: np.ndarray
    steps_run: np.ndarray
    index: np.ndarray
    entry: np.ndarray
    entries: tuple
    history: Any  # steps (L,), loss (L, R)


def _plain(v, name: str = "") -> Any:
    """Python numbers for records: nan stays nan (pandas reads it as missing), whole steps become ints."""
    v = float(v)
    return int(v) if name == "step" and v == v else v


# ---------------------------------------------------------------------------------------------- reading back


def load_run(path: str | Path) -> RunResult | SweepResult:
    """A run, compare or sweep directory read back from its files (nothing is imported, nothing run)."""
    from .rundir import is_run_dir
    from .sweep_dir import is_sweep_dir, load_sweep

    path = Path(path)
    if is_sweep_dir(path):
        o, index, history = load_sweep(path)
        return SweepResult(path, o.axes, o.labels, o.status, o.final_loss, o.best_loss, o.diverged_at,
                           o.steps_run, index, o.entry, o.entries, history)
    if is_run_dir(path):
        member = member_from_dir(path)
        return RunResult(path, "run", [member], member.summary.get("warnings", []),
                         member.status == "interrupted")
    members = _compare_members(path)
    mode = "run" if all(m.run_dir.parent == path and m.run_dir.name.startswith("seed-") for m in members) \
        else "compare"
    seeds = tuple(dict.fromkeys(m.seed for m in members))
    return RunResult(path, mode, members, [w for m in members for w in m.summary.get("warnings", [])],
                     any(m.status == "interrupted" for m in members), seeds=seeds,
                     labels=list(dict.fromkeys(m.label for m in members)))


def member_from_dir(run_dir: Path) -> MemberResult:
    """One run directory (or a compare's member sub-directory) as a MemberResult."""
    from .rundir import merge_rows_by_step, read_csv_columns

    try:
        summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
        history = merge_rows_by_step(read_csv_columns(run_dir / "metrics.csv"))
    except (OSError, ValueError) as exc:
        raise GdlabError(f"{run_dir}: cannot read the run's summary.json and metrics.csv ({exc})") from None
    trajectory = steps = None
    if (run_dir / "trajectory.csv").is_file():
        columns = read_csv_columns(run_dir / "trajectory.csv")
        steps = columns.pop("step", np.zeros(0)).astype(np.int64)
        trajectory = np.stack(list(columns.values()), axis=1) if columns else None
    known = {"label", "optimizer", "status", "steps_run", "final_loss", "best_loss", "diverged_at",
             "wall_time_s", "predictions", "error"}
    metrics = {k: v for k, v in summary.items() if k.startswith(("val_", "train_")) and k not in known}
    # (steps_to_tol and the seed have fields of their own)
    return MemberResult(summary.get("label", run_dir.name), str(summary.get("optimizer", "")),
                        summary.get("status", "completed"), int(summary.get("steps_run", 0)),
                        _number(summary.get("final_loss")), _number(summary.get("best_loss")),
                        summary.get("diverged_at"), float(summary.get("wall_time_s", 0.0)), run_dir, metrics,
                        [(p["input"], p["output"]) for p in summary.get("predictions", [])], summary.get("error"),
                        history, trajectory, steps, summary, int(summary.get("seed", 0)),
                        summary.get("steps_to_tol"), summary.get("final_params"), summary.get("settled") is False)


def _compare_members(path: Path) -> list[MemberResult]:
    """The members of a compare (one sub-directory each) or of a run with several seeds (seed-<k> directories,
    also inside a compare's members), in summary.csv's order."""
    from .rundir import is_run_dir

    if not (path / "summary.csv").is_file():
        raise GdlabError(f"{path}: not a gdlab run, compare or sweep directory (no summary.json or summary.csv)")
    with open(path / "summary.csv", newline="", encoding="utf-8") as f:
        order = [(row["member"], row.get("seed") or "0") for row in csv.DictReader(f)]
    runs = []
    for d in sorted(p for p in path.iterdir() if p.is_dir()):
        runs += [d] if is_run_dir(d) else sorted(s for s in d.iterdir() if s.is_dir() and is_run_dir(s))
    members = [member_from_dir(d) for d in runs]
    rank = {key: i for i, key in enumerate(order)}
    return sorted(members, key=lambda m: rank.get((m.label, str(m.seed)), len(order)))


def _number(v) -> float:
    return float("nan") if v is None else float(v)


class HistorySink:
    """The engine's sink for a run kept in memory (run_config(..., out=None)): every logged row and the paths."""

    def __init__(self, dim: int):
        self.keep_paths = dim <= 10  # as the run directory's trajectory.csv
        self.rows: list[tuple[int, float, dict, np.ndarray]] = []  # (step, epoch, {column: (R,)}, rows (R,))
        self.paths: list[tuple[int, np.ndarray, np.ndarray]] = []  # (step, params (R, P), rows (R,))

    def log(self, step, epoch, values, rows) -> None:
        self.rows.append((step, epoch, {k: np.array(v, dtype=np.float64) for k, v in values.items()}, rows.copy()))

    def path(self, step, params, rows) -> None:
        if self.keep_paths:
            self.paths.append((step, params.copy(), rows.copy()))

    def history(self, i: int) -> dict[str, np.ndarray]:
        """Member i's rows merged by step (training and evaluation rows of one step become one), as metrics.csv."""
        by_step: dict[int, dict] = {}
        for step, epoch, values, rows in self.rows:
            if rows[i]:
                row = by_step.setdefault(step, {"step": float(step), "epoch": float(epoch)})
                row.update({k: float(v[i]) for k, v in values.items()})
        columns = list(dict.fromkeys(k for row in by_step.values() for k in row))
        steps = sorted(by_step)
        return {k: np.array([by_step[s].get(k, np.nan) for s in steps], dtype=np.float64) for k in columns}

    def trajectory(self, i: int) -> tuple[np.ndarray | None, np.ndarray | None]:
        """(steps (m,), params (m, P)) of member i; (None, None) for problems of more than 10 parameters."""
        if not self.keep_paths:
            return None, None
        mine = [(s, p[i]) for s, p, rows in self.paths if rows[i]]
        return np.array([s for s, _ in mine], dtype=np.int64), np.array([p for _, p in mine])
