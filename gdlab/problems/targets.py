"""Targets: "f − f* <= 1e-6", "val_accuracy >= 0.95"; when a member first meets one (steps to tolerance).

A target names a metric the problem reports: "loss", a step metric of a toy with a known minimum
("suboptimality" = f − f*, "dist_to_min"), or a whole-data metric of a dataset problem ("train_loss",
"val_loss", "train_accuracy", "val_accuracy"). The engine checks step metrics at every step and whole-data metrics
wherever it evaluates the data.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError


@dataclass(frozen=True)
class Target:
    """A goal a member reaches when `metric` is at or below `threshold` (at or above it when `above`).

    metric: "loss", a step metric ("suboptimality", "dist_to_min": checked at every step) or a whole-data metric
    ("train_loss", "val_loss", "val_accuracy", ...: checked where the data is evaluated, every eval_every steps).
    """

    metric: str
    threshold: float
    above: bool = False

    def met(self, values: np.ndarray) -> np.ndarray:
        return values >= self.threshold if self.above else values <= self.threshold


class GoalTracker:
    """Steps (and seconds) to a target for every member: the first point at which the target holds."""

    def __init__(self, target: Target | None, problem, n: int):
        self.target = target
        self.problem = problem
        self.reached_at = np.full(n, -1, dtype=np.int64)
        self.reached_time_s = np.full(n, np.nan)
        self.pending = target is not None
        self.step_metric = target is not None and target.metric in \
            ("loss",) + tuple(getattr(problem, "step_columns", ()))

    def check_step(self, params: np.ndarray, loss: np.ndarray, alive: np.ndarray, k: int, start: float,
                   metrics: dict | None = None) -> None:
        """At the point after k updates, with its loss (R,): a step metric's target (and with the whole-data
        `metrics` there, theirs)."""
        if metrics is not None:
            self.check(metrics, alive, k, start)
        if not self.pending or not self.step_metric:
            return
        m = self.target.metric
        if m == "loss":
            values = loss
        elif m == "suboptimality":  # the usual case, without the distance computation
            values = loss - self.problem.optimum
        else:
            values = self.problem.step_metrics(params, loss)[m]
        self._mark(values, alive, k, start)

    def check(self, metrics: dict[str, np.ndarray], alive: np.ndarray, k: int, start: float) -> None:
        """At an evaluation after k updates: a whole-data metric's target."""
        if self.pending and not self.step_metric and self.target.metric in metrics:
            self._mark(metrics[self.target.metric], alive, k, start)

    def _mark(self, values: np.ndarray, alive: np.ndarray, k: int, start: float) -> None:
        hit = self.target.met(values) & alive & (self.reached_at < 0)
        if hit.any():
            self.reached_at[hit] = k
            self.reached_time_s[hit] = time.perf_counter() - start
            self.pending = bool((self.reached_at < 0).any())




_ALIASES = {"f-f*": "suboptimality", "f−f*": "suboptimality", "suboptimality": "suboptimality"}
_TARGET = re.compile(r"^\s*(?P<metric>.+?)\s*(?P<op><=|>=|≤|≥)\s*(?P<value>[-+0-9.eE]+|inf)\s*$")


def parse_target(text: str, key: str = "target") -> Target:
    """"f - f* <= 1e-6" | "val_accuracy >= 0.95" | "train_loss <= 0.25" -> Target; ConfigError naming `key`."""
    m = _TARGET.match(text) if isinstance(text, str) else None
    if m is None:
        raise ConfigError(f"{key}: expected METRIC <= NUMBER or METRIC >= NUMBER, such as \"f - f* <= 1e-6\" or "
                          f"\"val_accuracy >= 0.95\"; got {text!r}")
    raw = m["metric"].replace(" ", "")
    metric = _ALIASES.get(raw.replace("−", "-"), m["metric"].strip())
    try:
        value = float(m["value"])
    except ValueError:
        raise ConfigError(f"{key}: {m['value']!r} is not a number") from None
    if not math.isfinite(value):
        raise ConfigError(f"{key}: the threshold must be a finite number, got {m['value']!r}")
    return Target(metric, value, above=m["op"] in (">=", "≥"))


def describe(target: Target) -> str:
    name = "f − f*" if target.metric == "suboptimality" else target.metric
    return f"{name} {'>=' if target.above else '<='} {target.threshold:g}"


def metrics_of(spec) -> tuple[str, ...]:
    """The metrics a problem of `spec` (a ProblemSpec) reports, without loading any data: what a target may name."""
    if spec.kind == "objective":
        from .objectives import make_objective

        obj = make_objective(spec.name, spec.params)
        return ("loss",) + (("suboptimality",) if obj.min_value is not None else ()) + \
            (("dist_to_min",) if obj.minimiser is not None else ())
    from .datasets import DATASET_TASKS

    classify = DATASET_TASKS[spec.name] != "regression"
    held_out = ("val_loss",) + (("val_accuracy",) if classify else ()) if spec.validation else ()
    return ("loss", "train_loss") + (("train_accuracy",) if classify else ()) + held_out


def check_target(target: Target, spec, key: str = "target") -> None:
    """ConfigError naming `key` when the problem does not report the target's metric (and what it reports)."""
    have = metrics_of(spec)
    if target.metric not in have:
        why = {"suboptimality": "its minimum is not known", "dist_to_min": "its minimiser is not known",
               "val_loss": "it holds out no validation rows (problem.validation)",
               "val_accuracy": "it has no validation accuracy (a classification dataset with problem.validation)"}
        reason = why.get(target.metric, "it does not report it")
        raise ConfigError(f"{key}: this problem has no metric {target.metric!r}: {reason}\n"
                          f"  accepted: {', '.join(have)}")
