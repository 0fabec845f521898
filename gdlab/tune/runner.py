"""`gdlab tune CONFIG`: the tune directory, from the trials to the final compare of the chosen settings.

    <tune>/config.yaml     the config as resolved, with the tuning spec as written
    <tune>/trials.csv      one row per (trial, seed): optimizer, searched values, status, criterion, losses
    <tune>/chosen.csv      per optimizer: the chosen values, the criterion's value, trials, diverged trials
    <tune>/tuned.yaml      a compare config of the chosen settings (`gdlab compare tuned.yaml` runs it as is)
    <tune>/plots/sensitivity.png
    <tune>/compare/        the final compare: the chosen settings rerun with seeds (bands, aggregate.csv)
    <tune>/summary.json
    <tune>/.batches/       while the tune is unfinished: each finished batch of trials (what --resume keeps)
"""

from __future__ import annotations

import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .. import memory, signals
from ..config import Config, load_config
from ..errors import ConfigError
from ..optim.plugins import probe
from ..outputs.batch_records import records_dir, remove_records, write_plan
from ..outputs.files import real_dir
from ..outputs.rundir import create_run_dir, write_csv_rows, write_json, write_yaml
from ..runner import RunOutcome, run_config
from ..sweeps.resume import check_same, identity, recorded_source, resumable_record
from ..version import __version__
from .trials import Trials, chosen_settings, choose_all, plan_trials, run_trials, spec_of, sweep_plan


@dataclass
class TuneOutcome:
    run_dir: Path
    trials: Trials
    compare: RunOutcome | None
    interrupted: bool
    plot_error: str | None = None
    output_error: str | None = None
    resumable: bool = False  # the records stay for --resume
    notices: list = field(default_factory=list)  # what a resume did, said on the command line (not in the files)

    @property
    def members(self) -> list:
        """The final compare's members (what the command line reports failures of)."""
        return self.compare.members if self.compare is not None else []

    @property
    def warnings(self) -> list[str]:
        return self.trials.warnings + (self.compare.warnings if self.compare else [])


def tune_trials(cfg: Config, progress: Callable[[int, int], None] | None = None, executor=None,
                records: tuple | None = None) -> Trials:
    """Plan, run and choose: the library's tuning without its files (gdlab bench tunes this way); records:
    (directory, prefix) where each finished batch of trials is recorded, and read back on a resume."""
    plan = plan_trials(cfg, spec_of(cfg))
    return choose_all(plan, run_trials(plan, progress, executor, records))


def run_tune(config: str | Path | Config, *, out: str | Path = "runs", overrides: list[str] = (),
             seed: int | None = None, seeds: int | None = None, progress: Callable[[int, int], None] | None = None,
             plots: bool = True, workers: int | None = None, scheduler: str | None = None,
             max_memory: int | None = None) -> TuneOutcome:
    """Tune every optimizer of a compare config, then compare the chosen settings with repetitions.

    workers, scheduler: where the trials run (gdlab.sweeps.executors; None: this process, or the environment's
    GDLAB_DASK_SCHEDULER); the final compare runs here. Each finished batch of trials is recorded in the tune
    directory as it completes, so that an interrupted tune can be finished with resume_tune. max_memory (bytes):
    the trials are refused up front when their estimate exceeds it (default: what the machine has available)."""
    source = None
    if not isinstance(config, Config):  # a plugin is imported (and probed) as run and sweep do
        source = {"source": str(Path(config).resolve()), "overrides": list(overrides), "seed": seed, "seeds": seeds}
        config = load_config(config, overrides, seed=seed, seeds=seeds, import_plugins=True)
    return _tune(config, out, progress, plots, workers, scheduler, None, source, max_memory)


def resume_tune(run_dir: str | Path, config: str | Path | None = None, *, overrides: list[str] = (),
                seed: int | None = None, seeds: int | None = None,
                progress: Callable[[int, int], None] | None = None, plots: bool = True,
                workers: int | None = None, scheduler: str | None = None,
                max_memory: int | None = None) -> TuneOutcome:
    """Finish an interrupted tune: its config loaded again as it started (or from `config` with its --set, --seed
    and --seeds), checked against what the tune recorded (config, gdlab and NumPy versions: a difference refuses,
    naming it), the trial batches without a record run, then everything after the trials as an uninterrupted tune
    does it. A compare/ the interruption left behind is set aside in the records and run again from its start."""
    run_dir = Path(run_dir)
    record = resumable_record(run_dir, "tune")
    if config is None:
        config = recorded_source(record, run_dir, "tune")
        overrides, seed, seeds = record.get("overrides", []), record.get("seed"), record.get("seeds")
    cfg = load_config(config, overrides, seed=seed, seeds=seeds, import_plugins=True)
    check_same(record, identity(_config_written(cfg, plan_trials(cfg, spec_of(cfg)))), run_dir, "tune")
    return _tune(cfg, None, progress, plots, workers, scheduler, run_dir, None, max_memory)


def _tune(cfg: Config, out, progress, plots: bool, workers, scheduler, resume: Path | None,
          source: dict | None, max_memory: int | None = None) -> TuneOutcome:
    from ..problems.learning import keep_datasets
    from ..sweeps.executors import open_executor

    with open_executor(workers, scheduler) as executor, keep_datasets():  # the data read once here
        return _run_tune(cfg, out, progress, plots, executor, resume, source, max_memory)


def _config_written(cfg: Config, plan) -> dict:
    """config.yaml of a tune: the config as resolved, with the tuning spec as written."""
    return {**cfg.resolved, "tune": _written(plan)}


def _run_tune(cfg: Config, out, progress, plots: bool, executor, resume: Path | None = None,
              source: dict | None = None, max_memory: int | None = None) -> TuneOutcome:
    plan = plan_trials(cfg, spec_of(cfg))
    from ..sweeps.runner import plan_estimate

    stacks = sweep_plan(plan)  # every trial and seed in as few stacks as a sweep would run them
    memory.check(plan_estimate(stacks), max_memory, f"this tuning of {stacks.size:,} trials")  # before any data is read
    dim = build_data_check(cfg)  # missing data stops us before a directory exists
    for o in cfg.optimizers:  # and so does a plugin that fails its first steps on a copy
        if o.plugin is not None:
            probe(o.plugin, o.hparams, dim, cfg.dtype, o.label)
    notes = []
    with signals.held():  # the directory and its files are whole whatever signal arrives (see gdlab.signals)
        if resume is None:
            run_dir = create_run_dir(out, f"{cfg.name}-tune")
            written = _config_written(cfg, plan)
            write_yaml(run_dir / "config.yaml", written)
            write_plan(run_dir, {**identity(written), "kind": "tune", **(source or {})})
        else:
            run_dir = resume
            notes = _set_aside_compare(run_dir)
        result = run_trials(plan, progress, executor, records=(run_dir, "trials"))  # held: the engine (or the
        # executor while it waits for workers) opens the window a signal stops (gdlab.signals)
        trials = choose_all(plan, result)
        _write_trials(run_dir, trials)
        if not trials.interrupted:  # settings chosen from part of the trials are no result
            write_yaml(run_dir / "tuned.yaml", trials.tuned)
    outcome = TuneOutcome(run_dir, trials, None, trials.interrupted or signals.pending(), notices=notes)
    if plots and not outcome.interrupted:
        try:
            with signals.allowed():
                trials.draw(run_dir / "plots" / "sensitivity.png",
                            title=f"{cfg.name}: {plan.spec.criterion.replace('_', ' ')} by learning rate")
        except KeyboardInterrupt:
            outcome.interrupted = True
        except Exception as exc:  # noqa: BLE001 - the numbers are on disk already
            outcome.plot_error = f"plots could not be drawn: {type(exc).__name__}: {exc}"
    if not outcome.interrupted:
        outcome.compare = run_config(trials.tuned_config, mode="compare", directory=run_dir / "compare",
                                     progress=progress, plots=plots)
        outcome.interrupted = outcome.compare.interrupted
        outcome.plot_error = outcome.plot_error or outcome.compare.plot_error
        outcome.output_error = outcome.compare.output_error
    with signals.held():
        write_json(run_dir / "summary.json", _summary(outcome))
        outcome.resumable = outcome.interrupted or outcome.output_error is not None
        if not outcome.resumable:  # a finished tune is the same directory however it was computed
            remove_records(run_dir)
    return outcome


def _set_aside_compare(run_dir: Path) -> list[str]:
    """The compare/ an interrupted tune left behind is incomplete: moved into the records (removed with them once
    the tune finishes) so that the compare runs again, from its start, into compare/. Never deleted unseen: the
    resume says so."""
    compare = run_dir / "compare"
    if not compare.exists():
        return []
    aside = real_dir(records_dir(run_dir)) / "compare-interrupted"
    n = 1
    while aside.exists():
        n += 1
        aside = aside.with_name(f"compare-interrupted-{n}")
    compare.rename(aside)
    return [f"{compare} was left incomplete by the interruption: the compare runs again from its start (the "
            f"incomplete one is kept in {aside} until the tune finishes)"]


def build_data_check(cfg: Config) -> int:
    """Load the config's dataset once (a missing file is an error before anything is written); the problem's
    number of parameters."""
    if cfg.problem.kind == "dataset":
        from ..problems.build import build_problem

        return build_problem(cfg.problem, seed=cfg.seed, dtype=cfg.dtype).dim
    return len(cfg.problem.init)


def _written(plan) -> dict:
    spec = plan.spec
    return {"criterion": spec.criterion, **({"target": _target_text(spec.target)} if spec.target else {}),
            "seeds": list(spec.seeds), "equal_trials": spec.equal_trials,
            "spaces": {o.label: w for o, w in zip(plan.config.optimizers, spec.written)}}


def _target_text(t) -> str:
    from ..problems.targets import describe

    return describe(t)


def _write_trials(run_dir: Path, trials: Trials) -> None:
    plan = trials.plan
    keys = list(dict.fromkeys(k for space in plan.spec.spaces for k in space))
    metrics = [k for k in ("val_loss", "val_accuracy") if k in trials.per_seed] + \
        (["steps_to_target"] if plan.spec.target is not None else [])
    rows = []
    for t, m in enumerate(plan.entry.tolist()):
        o = plan.config.optimizers[m]
        for s, seed in enumerate(plan.seeds):
            ps = trials.per_seed
            rows.append([o.label, o.name, t, *[plan.settings[t].get(k, "") for k in keys], seed, ps["status"][t, s],
                         _cell(ps["criterion"][t, s]), float(ps["final_loss"][t, s]), float(ps["best_loss"][t, s]),
                         *[_cell(ps[k][t, s], never=k == "steps_to_target") for k in metrics],
                         bool(ps["blew_up"][t, s]) if "blew_up" in ps else ""])
    # `criterion` is the value the trial was judged by (plan.spec.criterion, also in chosen.csv and summary.json)
    write_csv_rows(run_dir / "trials.csv", ["member", "optimizer", "trial", *keys, "seed", "status", "criterion",
                                            "final_loss", "best_loss", *metrics, "blew_up"], rows)
    chosen = []
    for m, (o, c, setting) in enumerate(zip(plan.config.optimizers, trials.choices,
                                            chosen_settings(plan, trials.choices))):
        t = trials.trials_of(m)
        chosen.append([o.label, o.name, trials.tuned["optimizers"][m]["label"], *[setting.get(k, "") for k in keys],
                       plan.spec.criterion, c.value, int(t[c.index]), len(t), int(trials.diverged[t].sum()),
                       c.all_diverged])
    write_csv_rows(run_dir / "chosen.csv", ["member", "optimizer", "tuned_label", *keys, "criterion", "value",
                                            "trial", "trials", "diverged_trials", "all_diverged"], chosen)


def _cell(v, never: bool = False):
    """A number for a CSV cell; empty for nan/inf, and for -1 (never) in a steps column."""
    v = v.item() if isinstance(v, np.generic) else v
    if never and v == -1:
        return ""
    return "" if isinstance(v, float) and not np.isfinite(v) else v


def _summary(o: TuneOutcome) -> dict:
    plan = o.trials.plan
    return {
        "status": "interrupted" if o.interrupted else "completed",
        "criterion": plan.spec.criterion,
        "trials_per_optimizer": {opt.label: int(np.sum(plan.entry == m)) for m, opt in enumerate(plan.config.optimizers)},
        "trial_seeds": list(plan.seeds),
        "rerun_seeds": o.trials.tuned["seeds"],
        "chosen": {opt.label: setting for opt, setting in zip(plan.config.optimizers,
                                                               chosen_settings(plan, o.trials.choices))},
        "values": {opt.label: c.value for opt, c in zip(plan.config.optimizers, o.trials.choices)},
        "trials_wall_time_s": round(o.trials.wall_time_s, 6),
        "warnings": o.warnings,
        "gdlab_version": __version__, "numpy_version": np.__version__, "python_version": platform.python_version(),
    }
