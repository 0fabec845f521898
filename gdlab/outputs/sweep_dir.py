"""What a sweep directory holds, written and read back: summary.csv (a row per member) and metrics.npz (all loss
histories). The figures are drawn by gdlab.figures.standard from what is read here."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .files import atomic, write_atomic


def write_sweep_files(outcome, history) -> None:
    """summary.csv and metrics.npz of a finished (or interrupted) sweep, each written atomically."""
    d = outcome.run_dir
    write_summary_csv(d / "summary.csv", outcome)
    with atomic(d / "metrics.npz") as f:  # uncompressed: float32 histories barely compress, zlib would dominate
        np.savez(f, step=np.asarray(history.steps, dtype=np.int64), loss=history.loss.T,
                 member=np.asarray(outcome.labels))


def _cells(values: np.ndarray) -> list[str]:
    """Floats as their shortest round-trip text (repr), nan as an empty cell."""
    return ["" if x != x else repr(x) for x in np.asarray(values, dtype=np.float64).tolist()]


def write_summary_csv(path: Path, o) -> None:
    """One row per member in grid order, with a column per swept key (built column by column: 100,000 rows)."""
    from ..config.grid import member_indices

    header = ["member"] + [a.short for a in o.axes] + ["status", "steps_run", "final_loss", "best_loss", "diverged_at"]
    idx = member_indices(o.axes)
    swept = [[texts[i] for i in idx[j].tolist()] for j, texts in enumerate([_text(v) for v in a.values]
                                                                            for a in o.axes)]
    columns = [[_quote(label) for label in o.labels], *swept, list(o.status), list(map(str, o.steps_run.tolist())),
               _cells(o.final_loss), _cells(o.best_loss),
               ["" if d < 0 else str(d) for d in np.asarray(o.diverged_at).tolist()]]
    lines = [",".join(header), *map(",".join, zip(*columns))]
    write_atomic(path, "\n".join(lines) + "\n")


def _text(v) -> str:
    return repr(v) if isinstance(v, float) else _quote(str(v))


def _quote(s: str) -> str:
    return f'"{s}"' if "," in s or '"' in s else s


def is_sweep_dir(path: Path) -> bool:
    return (path / "metrics.npz").is_file() and (path / "summary.csv").is_file()


def load_sweep(run_dir: Path):
    """(outcome, member indices, history) of a sweep directory, from summary.csv, metrics.npz and config.yaml alone.

    outcome and history carry what the sweep figures read: the axes, labels, statuses, final and best losses,
    divergence steps; the logged steps and the (L, R) loss history.
    """
    import csv
    from types import SimpleNamespace

    import yaml

    from ..config.grid import grid_axes, member_indices

    config = yaml.safe_load((run_dir / "config.yaml").read_text(encoding="utf-8"))
    axes = grid_axes(config.get("sweep") or {}, [])
    with open(run_dir / "summary.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    data = np.load(run_dir / "metrics.npz")

    def column(name: str, kind=float, empty=np.nan) -> np.ndarray:
        return np.array([kind(r[name]) if r[name] else empty for r in rows])

    outcome = SimpleNamespace(run_dir=run_dir, axes=axes, labels=[r["member"] for r in rows],
                              status=np.array([r["status"] for r in rows], dtype=object),
                              final_loss=column("final_loss"), best_loss=column("best_loss"),
                              diverged_at=column("diverged_at", int, -1), steps_run=column("steps_run", int, 0))
    history = SimpleNamespace(steps=data["step"].tolist(), loss=data["loss"].T)
    return outcome, member_indices(axes), history
