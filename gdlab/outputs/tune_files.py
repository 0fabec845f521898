"""What tune and bench directories hold for their figures, shaped from arrays and read back from their files.

    sensitivity_curve()  one optimizer's criterion against lr (the envelope over other searched keys)
    load_sensitivity()   every optimizer's curve from a tune directory's trials.csv and chosen.csv
    load_profile()       a bench directory's profile.csv and scores.csv
    read_study()         either, for `gdlab plot`: bounded reads, a damaged file is one OutputError naming it

NumPy only (`gdlab plot` reads these without running anything).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np


def sensitivity_curve(label: str, lr: np.ndarray, values: np.ndarray, bad: np.ndarray, others: list[str],
                      chosen: int | None, maximize: bool) -> dict:
    """The curve the sensitivity figure draws for one optimizer.

    lr, values, bad (n,): each trial's learning rate, criterion (median over seeds) and whether it diverged or
    ended above its start; others: the other searched keys (then each lr shows the best value over them);
    chosen: the chosen trial's position (None when every trial diverged).
    """
    lr, v, bad = np.asarray(lr, float), np.asarray(values, float), np.asarray(bad, bool)
    note = ""
    if others:  # the envelope: at each lr the best value of the trials that neither diverged nor blew up
        chosen_lr = None if chosen is None else lr[chosen]
        xs = np.unique(lr)
        sign = -1 if maximize else 1
        best, gone = [], []
        for x in xs:
            at = (lr == x) & ~bad
            best.append(sign * np.min(sign * v[at]) if at.any() else np.nan)
            gone.append(not at.any())
        lr, v, bad = xs, np.array(best), np.array(gone)
        chosen = None if chosen_lr is None else int(np.flatnonzero(xs == chosen_lr)[0])
        note = f"best over {', '.join(others)}"
    return {"label": label, "lr": lr, "value": v, "diverged": bad, "chosen": chosen, "note": note}


def is_tune_dir(path: Path) -> bool:
    return (Path(path) / "trials.csv").is_file() and (Path(path) / "chosen.csv").is_file()


def is_bench_dir(path: Path) -> bool:
    return (Path(path) / "profile.csv").is_file() and (Path(path) / "results.csv").is_file()


def _rows(path: Path) -> list[dict]:
    """The rows of a CSV file gdlab wrote (size-bounded: a shared directory may hold anything)."""
    from .readback import read_text

    return list(csv.DictReader(io.StringIO(read_text(path), newline="")))


def _summary(run_dir: Path) -> dict:
    from .readback import read_text

    data = json.loads(read_text(Path(run_dir) / "summary.json"))
    if not isinstance(data, dict):
        raise ValueError(f"summary.json holds a {type(data).__name__}, not an object")
    return data


def read_study(run_dir: Path) -> dict:
    """{"kind": "tune", "sensitivity": load_sensitivity(...)} or {"kind": "bench", "profile": load_profile(...)} of
    a tune or bench directory, from its files alone; OutputError naming the directory when they do not fit."""
    from ..errors import OutputError
    from .readback import kind_of

    kind = kind_of(run_dir)  # incomplete: OutputError naming the missing files
    try:
        if kind == "tune":
            return {"kind": kind, "sensitivity": load_sensitivity(run_dir)}
        if kind == "bench":
            return {"kind": kind, "profile": load_profile(run_dir)}
    except OutputError:
        raise
    except Exception as exc:  # noqa: BLE001 - a missing column, a cell that is not a number, a label not listed
        raise OutputError(f"{run_dir}: damaged {kind} files ({type(exc).__name__}: {exc})") from None
    raise OutputError(f"{run_dir}: not a tune or bench directory")


def load_sensitivity(run_dir: Path) -> tuple[list[dict], str, bool]:
    """(curves, criterion, several seeds per trial) of a tune directory, from its files alone."""
    run_dir = Path(run_dir)
    summary = _summary(run_dir)
    criterion = summary["criterion"]
    trials, chosen = _rows(run_dir / "trials.csv"), _rows(run_dir / "chosen.csv")
    searched = [k for k in (trials[0] if trials else {}) if k not in _TRIAL_COLUMNS]
    curves = []
    for row in chosen:
        mine = [t for t in trials if t["member"] == row["member"]]
        order = list(dict.fromkeys(int(t["trial"]) for t in mine))
        per = {t: [r for r in mine if int(r["trial"]) == t] for t in order}
        values = np.array([_median(per[t], criterion) for t in order])
        bad = np.array([any(r["status"] == "diverged" or r.get("blew_up") == "True" for r in per[t]) for t in order])
        lr = np.array([float(per[t][0]["lr"]) for t in order])
        keys = [k for k in searched if per[order[0]][0][k] != ""]
        pick = None if row["all_diverged"] == "True" else order.index(int(row["trial"]))
        label = f"{row['member']} → " + ", ".join(f"{k} {float(row[k]):.3g}" for k in keys)
        curves.append(sensitivity_curve(label, lr, values, bad, [k for k in keys if k != "lr"], pick,
                                        criterion == "val_accuracy"))
    return curves, criterion, len(summary.get("trial_seeds", [0])) > 1


_TRIAL_COLUMNS = ("member", "optimizer", "trial", "seed", "status", "criterion", "final_loss", "best_loss",
                  "val_loss", "val_accuracy", "steps_to_target", "blew_up")


def _median(rows: list[dict], criterion: str) -> float:
    empty = np.inf if criterion == "steps_to_target" else np.nan
    v = np.array([float(r["criterion"]) if r["criterion"] != "" else empty for r in rows])
    return float(np.quantile(v, 0.5, method="lower" if criterion == "steps_to_target" else "linear"))


def load_profile(run_dir: Path) -> dict:
    """labels, taus (T,), rho (S, T), scores (S,), measure and the number of problems of a bench directory."""
    run_dir = Path(run_dir)
    rows, scores = _rows(run_dir / "profile.csv"), _rows(run_dir / "scores.csv")
    labels = [s["optimizer"] for s in scores]
    taus = np.array(sorted({float(r["tau"]) for r in rows}))
    rho = np.zeros((len(labels), len(taus)))
    for r in rows:
        rho[labels.index(r["optimizer"]), int(np.searchsorted(taus, float(r["tau"])))] = float(r["rho"])
    summary = _summary(run_dir)
    return {"labels": labels, "taus": taus, "rho": rho, "scores": np.array([float(s["score"]) for s in scores]),
            "measure": summary.get("measure", "steps"), "n_problems": len(summary.get("problems", [])),
            "name": summary.get("suite", run_dir.name)}
