"""What the terminal shows: progress bar, summary table, catalogues. Rich lives here and in cli.py only."""

from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Callable, Iterator

from rich import box
from rich.console import Console, Group
from rich.progress import (
    BarColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

import numpy as np

from .verdicts import NOT_SETTLED, fate_counts

STATUS_STYLE = {"completed": "green", "diverged": "red", "interrupted": "yellow", NOT_SETTLED: "dark_orange",
                "failed": "magenta"}


class Bars:
    """Callbacks for the library: `steps(done, total)` for the run, `download(name, done, total)` for data files.

    Both draw into one rich Progress (rich allows one live display at a time).
    """

    def __init__(self, bar: Progress | None):
        self._bar = bar
        self._tasks: dict[str, int] = {}

    def _update(self, key: str, description: str, done: float, total: float | None, detail: str) -> None:
        if key not in self._tasks:
            self._tasks[key] = self._bar.add_task(description, total=total, detail="")
        self._bar.update(self._tasks[key], completed=done, total=total, detail=detail)

    @property
    def steps(self) -> Callable[[int, int], None] | None:
        if self._bar is None:
            return None
        return lambda done, total: self._update("steps", "steps", done, total, f"{done:,}/{total:,}")

    def frames(self, done: int, total: int) -> None:
        """Frames of an animation rendered so far."""
        if self._bar is not None:
            self._update("frames", "frames", done, total, f"{done:,}/{total:,}")

    @property
    def download(self) -> Callable[[str, int, int | None], None] | None:
        if self._bar is None:
            return None

        def update(name: str, done: int, total: int | None) -> None:
            size = f"{done / 1e6:.1f}/{total / 1e6:.1f} MB" if total else f"{done / 1e6:.1f} MB"
            self._update(name, f"downloading {name}", done, total, size)

        return update


@contextmanager
def progress_bars(enabled: bool, console: Console) -> Iterator[Bars]:
    """Progress bars on `console` while the block runs (none when not enabled: --quiet or not a terminal)."""
    if not enabled:
        yield Bars(None)
        return
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.fields[detail]}"),
                  TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=True) as bar:
        yield Bars(bar)


def _num(x: float | None, digits: int = 6) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:.{digits}g}"


TABLE_METRICS = {"val_loss": "val loss", "val_accuracy": "val acc"}  # all metrics are in summary.json/csv
MAX_SHOWN_PARAMS = 3  # toys of up to this many parameters show their end point (d2l prints x1, x2 after 20 steps)


def end_point(params: list | None) -> str:
    """'(-0.943467, -0.000073)': six decimals, as d2l prints its end points."""
    return "–" if not params else "(" + ", ".join(f"{x:.6f}" for x in params) + ")"


def summary_table(outcome) -> Table:
    """Per member: final loss, best loss, steps, status, wall time (+ validation metrics for datasets, or the end
    point of a toy with up to three parameters).

    Narrow enough for an 80-column terminal: the whole-data training accuracy stays in the files.
    """
    if getattr(outcome, "aggregate", None) is not None:
        return aggregate_table(outcome)
    extra = [k for k in TABLE_METRICS if outcome.members and k in outcome.members[0].metrics]
    params = [getattr(m, "final_params", None) for m in outcome.members]
    show_x = not extra and all(p is not None and 0 < len(p) <= MAX_SHOWN_PARAMS for p in params)
    table = Table(title=f"{outcome.mode}: {outcome.run_dir.name}  (final and best loss)", title_justify="left",
                  box=box.SIMPLE_HEAD, pad_edge=False)
    for col in (["member", "final", "best", "steps", "status"] + [TABLE_METRICS[k] for k in extra] +
                (["final x"] if show_x else []) + ["time"]):
        # numbers and statuses are never cut; a long member label wraps instead
        table.add_column(col, justify="left" if col in ("member", "status") else "right",
                         no_wrap=col != "member", min_width={"status": 9, "member": 8}.get(col))
    for m in outcome.members:
        fate = NOT_SETTLED if getattr(m, "unsettled", False) else m.status
        status = Text(fate if m.diverged_at is None else f"diverged at {m.diverged_at}",
                      style=STATUS_STYLE.get(fate, ""))
        table.add_row(Text(m.label), _num(m.final_loss, 5), _num(m.best_loss, 5), str(m.steps_run), status,
                      *[_num(m.metrics[k], 4) for k in extra], *([end_point(m.final_params)] if show_x else []),
                      f"{m.wall_time_s:.2f}s")
    return table


def _spread(agg: dict, name: str, i: int, digits: int = 4) -> str:
    """'0.1234 [0.1, 0.2]': the median and quartiles over seeds."""
    med, lo, hi = (float(agg[f"{name}_{k}"][i]) for k in ("median", "q25", "q75"))
    if math.isnan(med):
        return "–"
    return f"{_num(med, digits)} [{_num(lo, 3)}, {_num(hi, 3)}]"


def aggregate_table(outcome) -> Table:
    """Per member, over its seeds: final and best loss as median [25 %, 75 %], diverged seeds (+ validation)."""
    agg = outcome.aggregate
    n = len(outcome.seeds)
    extra = [k for k in TABLE_METRICS if f"{k}_median" in agg]
    table = Table(title=f"{outcome.mode}: {outcome.run_dir.name}  (median [25 %, 75 %] over {n} seeds)",
                  title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for col in ["member", "final loss", "best loss"] + [TABLE_METRICS[k] for k in extra] + \
            (["steps to tol"] if "steps_to_tol_median" in agg else []) + ["diverged"]:
        table.add_column(col, justify="left" if col == "member" else "right", no_wrap=col != "member")
    for i, label in enumerate(outcome.labels):
        gone = int(agg["diverged"][i])
        cells = [_spread(agg, "final_loss", i), _num(float(agg["best_loss_median"][i]), 4)]
        cells += [_spread(agg, k, i) for k in extra]
        if "steps_to_tol_median" in agg:
            st = float(agg["steps_to_tol_median"][i])
            cells.append("never" if math.isinf(st) else f"{st:.0f} ({int(agg['reached_tol'][i])}/{n})")
        cells.append(Text(f"{gone}/{n}", style="red" if gone else "green"))
        table.add_row(Text(label), *cells)
    return table


def sweep_table(outcome, top: int = 10) -> Group:
    """The best members of a sweep, and how many completed, diverged or did not run."""
    import numpy as np

    from .repetitions import collapse_seeds

    every = outcome
    outcome, _, _ = collapse_seeds(outcome, outcome.index, outcome.history)  # seeds: each grid point's median
    seeds = getattr(outcome, "repetitions", 0)
    rank = np.where(outcome.status == "completed", outcome.final_loss, np.inf)
    rank = np.where(np.isfinite(rank), rank, np.inf)
    order = np.argsort(rank, kind="stable")[:top]
    what = f" by the median over {seeds} seeds" if seeds else ""
    table = Table(title=f"sweep: {outcome.run_dir.name} (best {min(top, len(order))} of {len(outcome.labels):,}"
                        f"{what})", title_justify="left", box=box.SIMPLE_HEAD)
    for col in ("member", "final loss", "best loss", "steps", "status"):
        table.add_column(col, justify="left" if col in ("member", "status") else "right")
    for i in order:
        d = outcome.diverged_at[i]
        fate = NOT_SETTLED if outcome.unsettled[i] else str(outcome.status[i])
        status = Text(fate if d < 0 else f"diverged at {d}", style=STATUS_STYLE.get(fate, ""))
        table.add_row(Text(outcome.labels[i]), _num(float(outcome.final_loss[i])), _num(float(outcome.best_loss[i])),
                      str(outcome.steps_run[i]), status)
    counts = fate_counts(every.status, every.unsettled)  # every member, each seed counted
    failed = int(np.sum(every.status == "failed"))
    if failed:
        counts["failed"] = failed
    line = Text("  ".join(f"{k}: {v:,}" for k, v in counts.items() if v or k in ("diverged", NOT_SETTLED)))
    line.append(f"   loop time {outcome.wall_time_s:.3f} s")
    return Group(table, line)


def tune_table(outcome) -> Table:
    """Per optimizer: the chosen setting, the criterion's value, how many trials ran and diverged."""
    trials = outcome.trials
    plan = trials.plan
    keys = list(dict.fromkeys(k for space in plan.spec.spaces for k in space))
    partial = "  INTERRUPTED: chosen from the trials' steps so far" if trials.interrupted else ""
    table = Table(title=f"tune: {outcome.run_dir.name}  ({plan.spec.criterion}, {len(plan.seeds)} seed(s) per trial)"
                        f"{partial}",
                  title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for col in ["member", *keys, plan.spec.criterion.replace("_", " "), "trials", "diverged"]:
        table.add_column(col, justify="left" if col == "member" else "right", no_wrap=col != "member")
    for m, (o, c) in enumerate(zip(plan.config.optimizers, trials.choices)):
        t = trials.trials_of(m)
        setting = plan.settings[int(t[c.index])]
        value = "all diverged" if c.all_diverged else _num(c.value, 5)
        table.add_row(Text(o.label), *[_num(setting[k], 4) if k in setting else "–" for k in keys], value,
                      str(len(t)), str(int(trials.diverged[t].sum())))
    return table


def bench_table(outcome) -> Group:
    """Problems × optimizers: the median cost to each target (– when not reached), then scores and problems solved."""
    s = outcome.suite
    unit = "steps" if s.measure == "steps" else "s"
    table = Table(title=f"bench: {outcome.run_dir.name}  (median {s.measure} to target)", title_justify="left",
                  box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("problem", no_wrap=False)
    for label in s.labels:
        table.add_column(label, justify="right")
    for i, p in enumerate(s.problems):
        best = float(np.min(outcome.costs[i]))
        cells = []
        for c in outcome.costs[i]:
            text = "–" if not np.isfinite(c) else (f"{c:.0f}" if unit == "steps" else f"{c:.3g}")
            cells.append(Text(text, style="bold green" if np.isfinite(c) and c == best else ""))
        table.add_row(Text(f"{p.name}: {p.target_text}"), *cells)
    table.add_row(Text("score (AlgoPerf, τ ≤ 4)", style="bold"), *[f"{x:.3f}" for x in outcome.scores])
    table.add_row(Text("solved"), *[f"{int(n)}/{len(s.problems)}" for n in outcome.solved])
    return Group(table)


def prediction_lines(outcome) -> list[str]:
    """'sgd: prediction at x = [4.0]: 7.99975' for each member and each input of the config's `predict`."""
    lines = []
    for m in outcome.members:
        for x, y in m.predictions:
            shown = y[0] if len(y) == 1 else y
            lines.append(f"{m.label}: prediction at x = {x}: {shown:.6g}" if len(y) == 1 else
                         f"{m.label}: prediction at x = {x}: {[round(v, 6) for v in shown]}")
    return lines


def _defaults_text(defaults: dict) -> str:
    return ", ".join(f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}" for k, v in defaults.items()) or "–"


def catalogue(kind: str, plugins: list[tuple[str, str, dict]] = ()) -> Table:
    """The table `gdlab list <kind>` prints: each entry with its one-line description and defaults.

    plugins: (name, docstring's first line, defaults) of a config's plugins of this kind, listed first.
    """
    registry = _registry(kind)
    table = Table(title=kind, title_justify="left", show_lines=False)
    table.add_column("name", style="bold")
    table.add_column("what it is" if kind != "optimizers" else "update rule")
    table.add_column("parameters (defaults)")
    for name, summary, defaults in plugins:
        table.add_row(Text(name, style="bold cyan"), Text(f"{summary}  (plugin)".strip()),
                      Text(_defaults_text(defaults)))
    for name in registry.names():
        table.add_row(name, Text(registry.summary(name)), Text(_defaults_text(registry.defaults(name))))
        if kind == "optimizers":  # the textbook variants' rules, one line each, under PyTorch's
            from ..optim import variant_lines

            for line in variant_lines(name):
                table.add_row("", Text(line, style="dim"), "")
    return table


def _registry(kind: str):
    if kind == "objectives":
        from ..problems.objectives import OBJECTIVES as reg
    elif kind == "optimizers":
        from ..optim import OPTIMIZERS as reg
    elif kind == "schedules":
        from ..optim.schedules import SCHEDULES as reg
    elif kind == "datasets":
        from ..problems.datasets import DATASETS as reg
    elif kind == "models":
        from ..problems.models import MODELS as reg
    else:
        from ..problems.losses import LOSSES as reg
    return reg


def describe_config(cfg) -> Group:
    p = cfg.problem
    name = p.plugin.spec if p.plugin is not None else p.name
    what = f"objective {name} {p.params or ''}" if p.kind == "objective" else f"dataset {p.name}, model {p.model}, loss {p.loss}"
    length = f"{cfg.steps} steps" if cfg.steps else f"{cfg.epochs:g} epochs"
    lines = [Text.assemble(("ok: ", "bold green"), f"{cfg.name}"),
             Text(f"  problem:    {what}"),
             Text(f"  optimizers: {', '.join(o.label for o in cfg.optimizers)}"),
             Text(f"  schedule:   {cfg.schedule[0]}   {length}   seed {cfg.seed}   {cfg.dtype}")]
    if len(cfg.all_seeds) > 1:
        lines.append(Text(f"  seeds:      {len(cfg.all_seeds)} ({', '.join(map(str, cfg.all_seeds[:8]))}"
                          f"{', ...' if len(cfg.all_seeds) > 8 else ''}) per member, aggregated"))
    if cfg.sweep:
        lines.append(Text(f"  sweep:      {', '.join(f'{k} ({len(v)} values)' for k, v in cfg.sweep.items())}"))
    if cfg.tune is not None:
        import math

        trials = [math.prod(len(v) for v in space.values()) for space in cfg.tune.spaces]
        lines.append(Text(f"  tune:       {cfg.tune.criterion}, {'/'.join(map(str, trials))} trials per optimizer, "
                          f"{len(cfg.tune.seeds)} seed(s) each"))
    plugins = plugin_entries(cfg)
    if plugins:
        how = "imported, first steps run" if cfg.origin and cfg.origin.import_plugins else \
            "read from the source, not imported; --import-plugins runs their first steps"
        lines.append(Text(f"  plugins:    {', '.join(n for _, n, _, _ in plugins)}: {how}"))
    return Group(*lines)


def plugin_entries(cfg) -> list[tuple[str, str, str, dict]]:
    """(kind, name, docstring's first line, defaults) of each plugin a config names, read from the source only."""
    from ..plugins import read_signature

    found, seen = [], set()
    if cfg.problem.plugin is not None:
        ref = cfg.problem.plugin
        sig = read_signature(ref, "problem.objective")
        found.append(("objectives", ref.spec, sig.summary, sig.defaults))
    for o in cfg.optimizers:
        if o.plugin is not None and o.plugin.resolved not in seen:
            seen.add(o.plugin.resolved)
            sig = read_signature(o.plugin, "optimizer.name")
            found.append(("optimizers", o.plugin.spec, sig.summary, sig.defaults))
    return found
