"""The trials of a tuning: every optimizer entry × its search space × the trial seeds, as ONE vectorized stack.

Rows are entry-major, then trial (the space's product, last key fastest), then seed (fastest): row
(offset_m + t)·S + s. Entries are separate engine groups with their searched hyperparameters as per-row arrays,
so a trial's numbers equal that setting run alone with that seed (the lockstep invariant).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..config import Config, validate
from ..config.checker import Checker
from ..config.tuning import TuneSpec, tune_spec
from ..engine import GroupSpec, make_schedule, run_stack
from ..problems.build import build_problem
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


def groups_of(plan: TrialPlan) -> list[GroupSpec]:
    """One engine group per entry: its rows, its fixed hyperparameters and its searched ones as (G,) arrays."""
    S = len(plan.seeds)
    groups = []
    for m, o in enumerate(plan.config.optimizers):
        trials = np.flatnonzero(plan.entry == m)
        rows = (trials[:, None] * S + np.arange(S)[None, :]).reshape(-1)
        hp = dict(o.hparams)
        for key in plan.spec.spaces[m]:
            hp[key] = np.repeat([plan.settings[t][key] for t in trials], S).astype(float)
        groups.append(GroupSpec(o.optimizer, rows, hp, o.schedule))  # a plugin, an entry's own schedule
    return groups


def run_trials(plan: TrialPlan, progress: Callable[[int, int], None] | None = None):
    """The engine's result for every row of the plan (one stack), with steps to the tuning target if any."""
    cfg = plan.config
    seeds = np.tile(np.asarray(plan.seeds), len(plan.entry))  # (R,) seed of each row
    problem = build_problem(cfg.problem, seed=cfg.seed if len(plan.seeds) == 1 and plan.seeds[0] == cfg.seed
                            else seeds, dtype=cfg.dtype)
    total = problem.total_steps(cfg.steps, cfg.epochs)
    eval_every = cfg.eval_every or (problem.default_eval_every(total) if problem.kind == "dataset" else None)
    start = _StartLoss()
    result = run_stack(problem, groups_of(plan), steps=cfg.steps, epochs=cfg.epochs,
                       schedule=make_schedule(*cfg.schedule), dtype=cfg.dtype, log_every=max(1, total),
                       eval_every=eval_every, progress=progress, target=plan.spec.target, sink=start)
    result.extra["start_loss"] = start.loss
    return result


class _StartLoss:
    """A sink that keeps only the loss at the start (step 0) of every row: trials ending above it blew up."""

    step_columns = ("loss",)

    def __init__(self):
        self.loss = None

    def log(self, step, epoch, values, rows):
        if step == 0 and "loss" in values and self.loss is None:
            self.loss = np.array(values["loss"], dtype=np.float64)

    def path(self, step, params, rows):
        pass


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
    return f"{o.name} ({', '.join(f'{k} {v:.3g}' for k, v in {**fixed, **setting}.items())})"


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
