"""The trials of a tuning: every optimizer entry × its search space × the trial seeds, as ONE vectorized stack.

The trials are a sweep plan (gdlab.sweeps): each entry's searched keys are axes of that entry only, the trial seeds
a seed axis, so they run as a sweep's batches do (in this process, or by an executor) and a trial's numbers equal
that setting run alone with that seed (the lockstep invariant). Rows here are entry-major, then trial (the space's
product, last key fastest), then seed (fastest): row (offset_m + t)·S + s.
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Callable

import numpy as np

from ..config import Config, validate
from ..config.checker import Checker
from ..config.tuning import TuneSpec, tune_spec
from .select import Choice, choose, criterion_of, over_seeds


@dataclass(frozen=True)
class TrialPlan:
    config: Config
    spec: TuneSpec
    entry: np.ndarray  # (N,) entry of each trial
    settings: list[dict]  # (N,) the searched values of each trial {key: value}
    seeds: tuple[int, ...]

    @property
    def rows(self) -> int:
        return len(self.entry) * len(self.seeds)


@dataclass
class Trials:
    """The trials run and what was chosen; `tuned_config` is the compare of the chosen settings."""

    plan: TrialPlan
    values: np.ndarray  # (N,) criterion per trial (median over seeds)
    diverged: np.ndarray  # (N,) any seed diverged
    per_seed: dict[str, np.ndarray]  # name -> (N, S): status, final_loss, best_loss, criterion, metrics...
    choices: list[Choice]  # per entry, index into the trials OF THAT ENTRY
    tuned: dict  # tuned.yaml
    tuned_config: Config
    wall_time_s: float
    interrupted: bool = False
    warnings: list[str] = field(default_factory=list)

    def trials_of(self, m: int) -> np.ndarray:
        return np.flatnonzero(self.plan.entry == m)

    def draw(self, out, title: str = ""):
        from ..figures.tuning import sensitivity

        return sensitivity(sensitivity_curves(self), out, criterion=self.plan.spec.criterion, title=title,
                           multi_seed=len(self.plan.seeds) > 1)


def spec_of(cfg: Config) -> TuneSpec:
    """The config's tuning spec, or the defaults (lr on a log grid for every optimizer) when it gives none."""
    if cfg.tune is not None:
        return cfg.tune
    return tune_spec(Checker(cfg.name, {}), {}, [None] * len(cfg.optimizers), cfg.optimizers, cfg.problem, cfg.seed,
                     cfg.tol)


def plan_trials(cfg: Config, spec: TuneSpec | None = None) -> TrialPlan:
    spec = spec or spec_of(cfg)
    entry, settings = [], []
    for m, space in enumerate(spec.spaces):
        keys = list(space)
        for combo in itertools.product(*(space[k] for k in keys)):
            entry.append(m)
            settings.append(dict(zip(keys, combo)))
    return TrialPlan(cfg, spec, np.asarray(entry, dtype=np.int64), settings, spec.seeds)


def sweep_plan(plan: TrialPlan):
    """The trials as a sweep plan (gdlab.sweeps.plan): each entry's searched keys as axes of that entry only, the
    trial seeds as a seed axis; all in one stack. Only the start and the end are logged (log_every beyond the run).
    Batches of this plan run anywhere a sweep's do (executors, resume)."""
    from ..config.grid import Axis
    from ..sweeps.plan import plan_sweep

    cfg = plan.config
    one = len(cfg.optimizers) == 1
    axes = [Axis(("optimizer", key) if one else ("optimizers", m, key), tuple(values))
            for m, space in enumerate(plan.spec.spaces) for key, values in space.items()]
    axes.append(Axis(("seed",), tuple(plan.seeds)))
    return plan_sweep(ends_only(cfg, drop_seeds=True), axes)  # the config's seeds are the reruns'


END_ONLY = 2**53  # a log_every longer than any run (and the largest integer a config takes): the loss is logged
# at the start and at the end


def ends_only(cfg: Config, drop_seeds: bool = False) -> Config:
    """`cfg` logging the loss at the start and the end only (and without its `seeds:` when drop_seeds)."""
    given = dict(cfg.origin.given) if cfg.origin is not None else {}
    given["log_every"] = END_ONLY
    if drop_seeds:
        given.pop("seeds", None)
    origin = None if cfg.origin is None else dataclasses.replace(cfg.origin, given=given)
    return dataclasses.replace(cfg, log_every=END_ONLY, origin=origin, **({"seeds": ()} if drop_seeds else {}))


def trial_rows(plan: TrialPlan, sweep) -> np.ndarray:
    """(R,) the trial row (t·S + s, entry-major as TrialPlan) of each member of the sweep plan."""
    S = len(plan.seeds)
    offsets = np.concatenate([[0], np.cumsum([np.sum(plan.entry == m) for m in range(len(plan.spec.spaces))])])
    rows = np.empty(sweep.size, dtype=np.int64)
    axis = 0
    seed_axis = len(sweep.axes) - 1
    for m, space in enumerate(plan.spec.spaces):
        mine = np.flatnonzero(sweep.entry == m)
        sizes = [len(v) for v in space.values()]
        local = np.ravel_multi_index(sweep.index[axis:axis + len(space), mine], sizes) if space else 0
        rows[mine] = (offsets[m] + local) * S + sweep.index[seed_axis, mine]
        axis += len(space)
    return rows


def run_trials(plan: TrialPlan, progress: Callable[[int, int], None] | None = None, executor=None,
               records: tuple | None = None):
    """Every trial's result, in TrialPlan's row order: final and best loss, status, divergence, the start loss,
    whole-data metrics at the end and the steps to the tuning target. Run as the batches of a sweep plan, in this
    process or on an executor's workers (gdlab.sweeps.executors: --workers, --scheduler).

    records: (run directory, prefix): each finished batch recorded there as it completes, and those recorded
    already (a resume) read back instead of run (gdlab.sweeps.recorded_plan); needs an executor."""
    from ..sweeps.recorded_plan import run_recorded
    from ..sweeps.runner import run_batches, run_plan

    sweep = sweep_plan(plan)
    if records is not None:
        results, n_batches, _ = run_recorded(sweep, executor, records[0], records[1], progress, plan.spec.target)
        return gathered(plan, trial_rows(plan, sweep), results, n_batches)
    if executor is not None:
        results = run_plan(sweep, executor, progress, plan.spec.target)
        return gathered(plan, trial_rows(plan, sweep), results, len(sweep.batches))
    problems = [b.problem.build() for b in sweep.batches]
    totals = [p.total_steps(b.config.steps, b.config.epochs) for p, b in zip(problems, sweep.batches)]
    results = run_batches(sweep, problems, totals, progress, plan.spec.target)
    return gathered(plan, trial_rows(plan, sweep), results, len(sweep.batches))


def gathered(plan: TrialPlan, rows: np.ndarray, results: list, n_batches: int) -> SimpleNamespace:
    """The batches' results put in trial-row order; members of batches that did not run are "not_run"."""
    n = plan.rows
    out = SimpleNamespace(status=np.full(n, "not_run", dtype=object), final_loss=np.full(n, np.nan),
                          best_loss=np.full(n, np.nan), diverged_at=np.full(n, -1, dtype=np.int64),
                          reached_at=np.full(n, -1, dtype=np.int64), final_metrics={}, extra={},
                          wall_time_s=sum(r.wall_time_s for r in results),
                          interrupted=any(r.interrupted for r in results) or len(results) < n_batches)
    start = np.full(n, np.nan)
    for r in results:
        at = rows[r.members]
        out.status[at], out.final_loss[at], out.best_loss[at] = r.status, r.final_loss, r.best_loss
        out.diverged_at[at] = r.diverged_at
        if r.reached_at is not None:
            out.reached_at[at] = r.reached_at
        for k, v in r.metrics.items():
            out.final_metrics.setdefault(k, np.full(n, np.nan))[at] = v
        start[at] = r.loss[0]  # step 0: the start
    out.extra["start_loss"] = start
    return out


def choose_all(plan: TrialPlan, result) -> Trials:
    """Criterion values per trial, the choice per entry, and the tuned compare config."""
    N, S = len(plan.entry), len(plan.seeds)
    crit = criterion_of(plan.spec.criterion, result.final_loss, result.best_loss, result.final_metrics,
                        result.reached_at).reshape(N, S)
    status = np.asarray(result.status, dtype=object).reshape(N, S)
    diverged_seed = (status == "diverged") | (status == "failed")  # a plugin that failed loses like a blow-up
    values, diverged = over_seeds(crit, diverged_seed, plan.spec.criterion)
    final = np.median(result.final_loss.reshape(N, S), axis=1)
    per_seed = {"status": status, "criterion": crit, "final_loss": result.final_loss.reshape(N, S),
                "best_loss": result.best_loss.reshape(N, S),
                "diverged_at": result.diverged_at.reshape(N, S),
                **{k: v.reshape(N, S) for k, v in result.final_metrics.items()}}
    if result.reached_at is not None:
        per_seed["steps_to_target"] = result.reached_at.reshape(N, S)
    start = result.extra.get("start_loss")
    if start is not None:  # ended above where it started: blowing up, though still finite (d2l's lr 0.6)
        per_seed["blew_up"] = diverged_seed | (per_seed["final_loss"] > start.reshape(N, S))
    choices = []
    for m in range(len(plan.config.optimizers)):
        t = np.flatnonzero(plan.entry == m)
        lr = np.array([plan.settings[i].get("lr", plan.config.optimizers[m].hparams["lr"]) for i in t])
        lasted = np.where(diverged_seed[t].any(axis=1), per_seed["diverged_at"][t].max(axis=1), np.inf)
        choices.append(choose(values[t], diverged[t], lr, maximize=plan.spec.maximize,
                              secondary=final[t] if plan.spec.criterion == "steps_to_target" else None,
                              diverged_at=lasted))
    tuned = tuned_mapping(plan, choices)
    warnings = [f"{o.label}: every trial diverged; kept the one that lasted longest"
                for o, c in zip(plan.config.optimizers, choices) if c.all_diverged]
    if "blew_up" in per_seed:
        warnings += [f"{o.label}: every trial diverged or ended above its start; no setting searched works"
                     for m, (o, c) in enumerate(zip(plan.config.optimizers, choices))
                     if not c.all_diverged and per_seed["blew_up"][plan.entry == m].all()]
    warnings += edge_warnings(plan, choices)
    return Trials(plan, values, diverged, per_seed, choices, tuned, validate(tuned, name=tuned["name"],
                  source="tuned.yaml"), result.wall_time_s, bool(result.interrupted), warnings)


def edge_warnings(plan: TrialPlan, choices: list[Choice]) -> list[str]:
    """A chosen value at the end of its search range (the best may lie beyond it): say which, and which end."""
    out = []
    for o, space, setting in zip(plan.config.optimizers, plan.spec.spaces, chosen_settings(plan, choices)):
        for key, values in space.items():
            if len(values) > 2 and setting[key] in (min(values), max(values)):
                end = "largest" if setting[key] == max(values) else "smallest"
                out.append(f"{o.label}: the chosen {key} {setting[key]:g} is the {end} value searched; the best may "
                           f"lie beyond it (widen {key}'s range)")
    return out


def chosen_settings(plan: TrialPlan, choices: list[Choice]) -> list[dict]:
    return [plan.settings[int(np.flatnonzero(plan.entry == m)[c.index])] for m, c in enumerate(choices)]


def tuned_mapping(plan: TrialPlan, choices: list[Choice]) -> dict:
    """tuned.yaml: the config with each optimizer at its chosen setting, labelled by it, run with the rerun seeds."""
    cfg = plan.config
    data = {k: v for k, v in cfg.resolved.items() if k not in ("seeds", "tune")}
    data["name"] = f"{cfg.name}-tuned"
    settings = chosen_settings(plan, choices)
    labels = [_label(o, s, cfg.optimizers) for o, s in zip(cfg.optimizers, settings)]
    entries = []
    for i, (o, setting, label) in enumerate(zip(cfg.optimizers, settings, labels)):
        if labels[:i].count(label):  # an entry that landed on another's setting: the same run, numbered
            label = f"{label} #{labels[:i].count(label) + 1}"
        entries.append({"name": o.name, "label": label, **_plain({**o.hparams, **setting})})
    data["optimizers"] = entries
    data["seeds"] = list(rerun_seeds(cfg, plan.seeds))
    data["seed"] = data["seeds"][0]
    return data


def rerun_seeds(cfg: Config, trial_seeds: tuple[int, ...], default: int = 5) -> tuple[int, ...]:
    """The config's seeds when it gives them, else `default` fresh seeds after the trial seeds (a chosen setting is
    judged on seeds it was not selected on)."""
    if cfg.seeds:
        return cfg.seeds
    start = max(trial_seeds) + 1
    return tuple(range(start, start + default))


def _label(o, setting: dict, entries) -> str:
    """'momentum (momentum 0.5, lr 0.01)': the optimizer, the fixed settings that tell it from other entries of the
    same optimizer, and the chosen values."""
    twins = [e for e in entries if e.name == o.name]
    fixed = {k: v for k, v in o.hparams.items() if k not in setting and isinstance(v, float)
             and len({e.hparams.get(k) for e in twins}) > 1}
    name = o.plugin.attr if o.plugin is not None else o.name  # a plugin by its factory, not its file's path
    return f"{name} ({', '.join(f'{k} {v:.3g}' for k, v in {**fixed, **setting}.items())})"


def _plain(hp: dict) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in hp.items()}


def sensitivity_curves(trials: Trials) -> list[dict]:
    """Per entry: criterion against lr; with other searched keys, the best over them at each lr."""
    from ..outputs.tune_files import sensitivity_curve

    plan = trials.plan
    curves = []
    for m, o in enumerate(plan.config.optimizers):
        t = trials.trials_of(m)
        lr = np.array([plan.settings[i].get("lr", o.hparams["lr"]) for i in t])
        bad = trials.per_seed.get("blew_up", trials.per_seed["status"] == "diverged")[t].any(axis=1)
        picked = chosen_settings(plan, trials.choices)[m]
        label = f"{o.label} → " + ", ".join(f"{k} {picked[k]:.3g}" for k in plan.spec.spaces[m])
        c = trials.choices[m]
        curves.append(sensitivity_curve(label, lr, trials.values[t], bad, [k for k in plan.spec.spaces[m] if k != "lr"],
                                        None if c.all_diverged else c.index, plan.spec.maximize))
    return curves
