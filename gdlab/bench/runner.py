"""`gdlab bench SUITE`: every (problem, optimizer) to its target, then performance profiles and scores.

Each problem runs as one stack of every optimizer × seed (steps to a target do not depend on the stack); with
`measure: time` each (problem, optimizer) is its own stack of its seeds, so that a wall time to the target is that
optimizer's own, with as many members as the others'; a tuned suite first tunes every optimizer on the problem
(gdlab.tune) and runs the chosen settings. The cost of an optimizer on a problem is the median over its seeds of
the steps (or seconds) to the target, a seed that never got there counting as infinite.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Callable

import numpy as np

from .. import memory, signals
from ..config import Config, member_config, validate
from ..outputs.files import write_atomic
from ..outputs.rundir import create_run_dir, member_dir_names, write_csv_rows, write_json
from ..problems.build import build_problem
from ..version import __version__
from . import profiles
from .suite import Suite, SuiteProblem, load_suite

RESULT_COLUMNS = ["problem", "optimizer", "seed", "status", "steps_to_target", "time_to_target_s", "final_loss",
                  "best_loss", "diverged_at", "steps_run", "wall_time_s", "settings"]


@dataclass
class BenchOutcome:
    run_dir: Path
    suite: Suite
    costs: np.ndarray  # (P, S) median cost over seeds (inf: not reached)
    ratios: np.ndarray  # (P, S)
    scores: np.ndarray  # (S,) AlgoPerf's score
    solved: np.ndarray  # (S,) problems solved
    settings: dict = field(default_factory=dict)  # (problem, label) -> the hyperparameters run
    interrupted: bool = False
    plot_error: str | None = None
    output_error: str | None = None
    failures: dict = field(default_factory=dict)  # a bench has no failing plugin members to report (yet)
    labels: list = field(default_factory=list)
    resumable: bool = False  # the records stay for --resume


def run_bench(path: str | Path, *, out: str | Path = "runs", progress: Callable[[int, int], None] | None = None,
              plots: bool = True, workers: int | None = None, scheduler: str | None = None,
              max_memory: int | None = None) -> BenchOutcome:
    """workers, scheduler: where the tuning trials and the reruns counted in steps run (gdlab.sweeps.executors);
    a suite that measures time runs its reruns here (seconds on busy workers are not the optimizer's).
    Each finished problem, and each finished batch of the problem in progress, is recorded in the bench directory
    as it completes, so that an interrupted bench can be finished with resume_bench. max_memory (bytes): a
    problem whose runs or tuning trials exceed it is refused up front (default: what the machine has available)."""
    return _bench(path, out, progress, plots, workers, scheduler, None, max_memory)


def resume_bench(run_dir: str | Path, suite: str | Path | None = None, *,
                 progress: Callable[[int, int], None] | None = None, plots: bool = True, workers: int | None = None,
                 scheduler: str | None = None, max_memory: int | None = None) -> BenchOutcome:
    """Finish an interrupted bench: the suite loaded again from the file it started from (or `suite`), checked
    against what the bench recorded (suite, problems' configs, gdlab and NumPy versions: a difference refuses,
    naming it); the finished problems are read back from their records, the others run (the problem in progress
    from its recorded batches on)."""
    from ..sweeps.resume import recorded_source, resumable_record

    run_dir = Path(run_dir)
    record = resumable_record(run_dir, "bench")
    if suite is None:
        suite = recorded_source(record, run_dir, "bench")
    return _bench(suite, None, progress, plots, workers, scheduler, (run_dir, record), max_memory)


def _bench(path, out, progress, plots: bool, workers, scheduler, resume, max_memory=None) -> BenchOutcome:
    from ..problems.learning import keep_datasets
    from ..sweeps.executors import open_executor

    with open_executor(workers, scheduler) as executor, keep_datasets():  # each dataset read once here
        return _run_bench(path, out, progress, plots, executor, resume, max_memory)


def _check_memory(suite: Suite, max_memory: int | None) -> None:
    """Each problem's biggest stacks (its tuning trials, its reruns over seeds) must fit in memory (gdlab.memory)."""
    from ..sweeps.runner import plan_estimate
    from ..tune.trials import plan_trials, spec_of, sweep_plan

    for p in suite.problems:
        cfg = p.config
        reruns = len(cfg.optimizers) * len(cfg.all_seeds)
        memory.check(memory.estimate(cfg, reruns), max_memory, f"problem {p.name} ({reruns:,} optimizer and seed runs)")
        if cfg.tune is not None:
            stacks = sweep_plan(plan_trials(cfg, spec_of(cfg)))
            memory.check(plan_estimate(stacks), max_memory, f"the tuning of problem {p.name} ({stacks.size:,} trials)")


def _identity(suite: Suite, path: Path) -> dict:
    """What a resume must find unchanged: the suite as written, every problem's resolved config, the code."""
    import yaml

    from ..sweeps.resume import identity

    return identity({"suite": yaml.safe_load(path.read_text(encoding="utf-8")),
                     "problems": {p.name: p.config.resolved for p in suite.problems}})


def _run_bench(path: str | Path, out, progress, plots: bool, executor, resume=None,
               max_memory: int | None = None) -> BenchOutcome:
    from ..outputs.batch_records import remove_records, write_plan
    from ..sweeps.resume import check_same

    suite = load_suite(path, import_plugins=True)  # a plugin is imported as run and sweep do
    _check_memory(suite, max_memory)  # before any data is read
    for p in suite.problems:  # every dataset readable before a directory exists
        build_problem(p.config.problem, seed=p.config.seed, dtype=p.config.dtype)
    current = _identity(suite, Path(path))
    if resume is not None:
        check_same(resume[1], current, resume[0], "bench")
    with signals.held():  # the directory and its files are whole whatever signal arrives (see gdlab.signals)
        if resume is None:
            run_dir = create_run_dir(out, suite.name)
            write_atomic(run_dir / "suite.yaml", Path(path).read_text(encoding="utf-8"))
            write_plan(run_dir, {**current, "kind": "bench", "source": str(Path(path).resolve())})
        else:
            run_dir = resume[0]
        rows, settings, sensitivity = [], {}, {}
        costs = np.full((len(suite.problems), len(suite.labels)), np.inf)
        try:
            _run_all(suite, costs, rows, settings, sensitivity, progress, executor, run_dir)  # held: the engine
            # (or the executor while it waits for workers) opens the window a signal stops
            interrupted = False
        except KeyboardInterrupt:  # the problems finished so far are kept; the others count as not reached
            interrupted = True
        ratios = profiles.performance_ratios(costs)
        outcome = BenchOutcome(run_dir, suite, costs, ratios, profiles.integrated_score(ratios),
                               np.isfinite(costs).sum(axis=0), settings, interrupted or signals.pending())
        _write(outcome, rows)
        outcome.resumable = outcome.interrupted
        if not outcome.resumable:  # a finished bench is the same directory however it was computed
            remove_records(run_dir)
    if plots and not outcome.interrupted:
        _draw(outcome, sensitivity)
    return outcome


def _run_all(suite: Suite, costs: np.ndarray, rows: list, settings: dict, sensitivity: dict, progress,
             executor, run_dir: Path) -> None:
    """Every problem (tuned first where asked), every optimizer: costs (P, S) and the rows of results.csv.
    A finished problem is recorded in run_dir (.batches/problem-NNN.json) and read back from there on a resume;
    the batches of its tuning trials and of its reruns counted in steps are recorded as each finishes."""
    from ..outputs.batch_records import read_plan, write_plan

    for i, p in enumerate(suite.problems):
        cfg = p.config
        if cfg.tune is not None:
            from ..tune.runner import tune_trials  # tuning only when the suite asks for it

            trials = tune_trials(cfg, executor=executor, records=(run_dir, f"p{i:03d}-trials"))
            if trials.interrupted:
                raise KeyboardInterrupt
            sensitivity[p.name] = trials
            cfg = trials.tuned_config
        done = read_plan(run_dir, f"problem-{i:03d}.json")
        if done is None:
            mine = {"rows": [], "costs": [], "settings": []}
            _run_problem(suite, i, p, cfg, mine, executor, run_dir)
            write_plan(run_dir, mine, f"problem-{i:03d}.json")  # held: whole or absent
            done = read_plan(run_dir, f"problem-{i:03d}.json")  # the numbers as a resume reads them
        costs[i] = done["costs"]
        rows += done["rows"]
        settings.update({(p.name, label): text for label, text in done["settings"]})
        if progress is not None:
            progress((i + 1) * len(suite.labels), len(suite.problems) * len(suite.labels))


def _run_problem(suite: Suite, i: int, p: SuiteProblem, cfg: Config, mine: dict, executor, run_dir: Path) -> None:
    """One problem's reruns: its costs (S,), its rows of results.csv and each optimizer's settings, into `mine`."""
    # steps to a target do not depend on what else is in the stack: one stack per problem; seconds do, so
    # with measure: time each optimizer gets its own stack (its seeds only)
    stacks = [list(cfg.optimizers)] if suite.measure == "steps" else [[o] for o in cfg.optimizers]
    j = 0
    for entries in stacks:
        steps_counted = suite.measure == "steps"
        result = run_members(cfg, entries, p, executor if steps_counted else None,
                             (run_dir, f"p{i:03d}-reruns") if steps_counted else None)
        if result.interrupted:
            raise KeyboardInterrupt
        S = len(cfg.all_seeds)
        for m, o in enumerate(entries):
            part = slice(m * S, (m + 1) * S)
            label = suite.labels[j]
            text = _settings(o)
            steps = profiles.steps_to_target(result.reached_at[part])
            cost = steps if steps_counted else np.where(np.isfinite(steps), result.reached_time_s[part], np.inf)
            mine["costs"].append(float(profiles.median_cost(cost)))
            mine["settings"].append([label, text])
            mine["rows"] += _rows(p, label, cfg, result, part, text)
            j += 1


def run_members(cfg: Config, entries: list, p: SuiteProblem, executor=None, records: tuple | None = None):
    """Optimizer entries on one problem, each once per seed, as a sweep plan's batch: per (entry, seed), entry-major,
    the status, losses and the steps (and seconds) to the problem's target. records: (directory, prefix) where each
    finished batch is recorded and read back on a resume (gdlab.sweeps.recorded_plan; needs an executor)."""
    from ..sweeps.plan import plan_sweep
    from ..sweeps.recorded_plan import run_recorded
    from ..sweeps.runner import run_batches, run_plan
    from ..tune.trials import ends_only

    one = cfg if len(entries) == len(cfg.optimizers) else _alone(cfg, entries[0])
    plan = plan_sweep(ends_only(one), [])  # several seeds: a seed axis (sweeps.plan.with_seed_axis)
    n_batches = len(plan.batches)
    if records is not None:
        results, n_batches, _ = run_recorded(plan, executor, records[0], records[1], None, p.target)
    elif executor is not None:
        results = run_plan(plan, executor, None, p.target)
    else:
        problems = [b.problem.build() for b in plan.batches]
        totals = [q.total_steps(b.config.steps, b.config.epochs) for q, b in zip(problems, plan.batches)]
        results = run_batches(plan, problems, totals, None, p.target)
    S = len(cfg.all_seeds)
    seed = plan.index[-1] if S > 1 else np.zeros(plan.size, dtype=np.int64)  # the seed axis is the last
    at = plan.entry * S + seed  # (R,) entry-major row of each member
    n = len(entries) * S
    out = SimpleNamespace(status=np.full(n, "not_run", dtype=object), final_loss=np.full(n, np.nan),
                          best_loss=np.full(n, np.nan), diverged_at=np.full(n, -1, dtype=np.int64),
                          steps_run=np.zeros(n, dtype=np.int64), reached_at=np.full(n, -1, dtype=np.int64),
                          reached_time_s=np.full(n, np.nan), wall_time_s=sum(r.wall_time_s for r in results),
                          interrupted=any(r.interrupted for r in results) or len(results) < n_batches)
    for r in results:
        rows = at[r.members]
        for name in ("status", "final_loss", "best_loss", "diverged_at", "steps_run", "reached_at", "reached_time_s"):
            getattr(out, name)[rows] = getattr(r, name)
    return out


def _alone(cfg: Config, o) -> Config:
    """The config of one entry with all its seeds (measure: time gives each optimizer its own stack)."""
    data = member_config(cfg, o)
    origin = cfg.origin
    return validate(data, name=cfg.name, source=origin.source if origin else "suite",
                    base_dir=origin.base_dir if origin else None,
                    import_plugins=origin.import_plugins if origin else False)


def _settings(o) -> str:
    """The numeric hyperparameters run, those that are off (0) left out: 'lr=0.0562 momentum=0.9'."""
    return " ".join(f"{k}={v:g}" for k, v in o.hparams.items() if isinstance(v, float) and v != 0)


def _rows(p: SuiteProblem, label: str, cfg: Config, result, part: slice, settings: str) -> list[list]:
    out = []
    for k, seed in zip(range(part.start, part.stop), cfg.all_seeds):
        reached = int(result.reached_at[k])
        out.append([p.name, label, seed, result.status[k], "" if reached < 0 else reached,
                    "" if reached < 0 else round(float(result.reached_time_s[k]), 6), float(result.final_loss[k]),
                    float(result.best_loss[k]), "" if result.diverged_at[k] < 0 else int(result.diverged_at[k]),
                    int(result.steps_run[k]), round(result.wall_time_s, 6), settings])
    return out


def _write(o: BenchOutcome, rows: list[list]) -> None:
    d = o.run_dir
    write_csv_rows(d / "results.csv", RESULT_COLUMNS, rows)
    taus = profiles.breakpoints(o.ratios)
    rho = profiles.profile(o.ratios, taus)  # (S, T)
    write_csv_rows(d / "profile.csv", ["optimizer", "tau", "rho"],
                   [[label, float(t), float(r)] for label, curve in zip(o.suite.labels, rho) for t, r in zip(taus, curve)])
    write_csv_rows(d / "scores.csv", ["optimizer", "score", "solved", "problems", "best_on"],
                   [[label, float(o.scores[j]), int(o.solved[j]), len(o.suite.problems),
                     int(np.sum(o.ratios[:, j] == 1.0))] for j, label in enumerate(o.suite.labels)])
    write_json(d / "summary.json", {
        "status": "interrupted" if o.interrupted else "completed", "suite": o.suite.name, "measure": o.suite.measure,
        "tuned": o.suite.tuned, "problems": [p.name for p in o.suite.problems], "optimizers": list(o.suite.labels),
        "targets": {p.name: p.target_text for p in o.suite.problems},
        "scores": {label: float(s) for label, s in zip(o.suite.labels, o.scores)},
        "gdlab_version": __version__, "numpy_version": np.__version__, "python_version": platform.python_version(),
    })


def _draw(o: BenchOutcome, sensitivity: dict) -> None:
    """The profile figure (and each tuned problem's sensitivity curves); a failure is reported, not raised."""
    try:
        from ..figures.tuning import performance_profiles

        taus = profiles.breakpoints(o.ratios)
        performance_profiles(list(o.suite.labels), taus, profiles.profile(o.ratios, taus),
                             o.run_dir / "plots" / "profile.png", scores=o.scores, measure=o.suite.measure,
                             n_problems=len(o.suite.problems), title=f"{o.suite.name}: performance profiles")
        for (name, trials), file in zip(sensitivity.items(), member_dir_names(list(sensitivity))):
            # a problem's name made safe for a file name (never a path), and never twice
            trials.draw(o.run_dir / "plots" / f"sensitivity-{file}.png", title=f"{o.suite.name}: {name}")
    except KeyboardInterrupt:
        o.interrupted = True
    except Exception as exc:  # noqa: BLE001 - the numbers are on disk already
        o.plot_error = f"plots could not be drawn: {type(exc).__name__}: {exc}"
