"""The `tune:` block of a config: how `gdlab tune` searches each optimizer's settings and picks the best.

    tune:                          # all optional
      criterion: val_loss          # final_loss | best_loss | val_loss | val_accuracy | steps_to_target
      target: "f - f* <= 1e-6"     # for steps_to_target (toys with a known minimum default to f − f* <= tol)
      lr: logspace(-4,1,21)        # the default space of every optimizer: lr on a log grid
      seeds: 1                     # seeds per trial (a count from `seed`, or a list); the criterion is their median
      equal_trials: true           # every optimizer gets the same number of trials
    optimizers:
      - {name: momentum, lr: 0.1, tune: {lr: logspace(-4,1,21), momentum: [0.5, 0.9]}}   # its own space

The default criterion is val_loss where the dataset holds out validation rows, else the final training loss.
Default spaces (lr only) get as many points as the largest explicit space when that is larger than the default
grid (a finer log grid over the same range), so equal_trials holds; smaller explicit spaces are an error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from ..problems.spec import ProblemSpec
from ..problems.targets import Target, check_target, parse_target
from .checker import Checker, show, without_key
from .grid import parse_values

CRITERIA = ("final_loss", "best_loss", "val_loss", "val_accuracy", "steps_to_target")
TUNE_KEYS = ("criterion", "target", "lr", "seeds", "equal_trials")
DEFAULT_LR = "logspace(-4,1,21)"  # 1e-4 ... 10, four points a decade
MAX_TRIALS = 100_000  # per optimizer: a finer grid than any tuning needs, and memory stays in bounds


@dataclass(frozen=True)
class TuneSpec:
    criterion: str
    target: Target | None  # what steps_to_target counts to (None for other criteria)
    spaces: tuple[dict, ...]  # per optimizer entry: {hyperparameter: (values...)}, in the entry's order
    written: tuple[dict, ...]  # the same as written (ranges as text), for the records
    seeds: tuple[int, ...]  # seeds of every trial
    equal_trials: bool = True

    @property
    def maximize(self) -> bool:
        return self.criterion == "val_accuracy"


def split_entry_spaces(data: dict) -> tuple[dict, list]:
    """(config without the optimizers' `tune:` keys, each entry's raw `tune:` or None): entries are then checked
    as usual and the spaces here."""
    key = "optimizers" if isinstance(data.get("optimizers"), list) else "optimizer"
    raw = data.get(key)
    entries = raw if isinstance(raw, list) else [raw]
    spaces = [e.get("tune") if isinstance(e, dict) else None for e in entries]
    if not any(s is not None for s in spaces):
        return data, spaces
    stripped = [{k: v for k, v in e.items() if k != "tune"} if isinstance(e, dict) else e for e in entries]
    return {**data, key: stripped if isinstance(raw, list) else stripped[0]}, spaces


def check_tune(c: Checker, raw: Any, entry_spaces: list, optimizers, problem: ProblemSpec, seed: int,
               tol: float, entries_key: str) -> TuneSpec | None:
    """The validated tuning spec (None when the config has no `tune:` anywhere)."""
    if raw is None and not any(s is not None for s in entry_spaces):
        return None
    return tune_spec(c, raw or {}, entry_spaces, optimizers, problem, seed, tol, entries_key)


def tune_spec(c: Checker, raw: Any, entry_spaces: list, optimizers, problem: ProblemSpec, seed: int, tol: float,
              entries_key: str = "optimizers") -> TuneSpec:
    """The tuning spec of a config, defaults filled in (also for a config without any `tune:`)."""
    p = ("tune",)
    c.mapping(raw, p, TUNE_KEYS)
    default = "val_loss" if problem.kind == "dataset" and problem.validation else "final_loss"
    criterion = c.choice(raw.get("criterion", default), p + ("criterion",), CRITERIA)
    target = _target(c, raw, problem, criterion, tol)
    if criterion in ("val_loss", "val_accuracy"):
        try:
            check_target(Target(criterion, 0.0), problem, "tune.criterion")
        except ConfigError as exc:
            raise c.fail(p + ("criterion",), f"{criterion}: {without_key(exc)}") from None
    default_lr = _values(c, raw.get("lr", DEFAULT_LR), p + ("lr",))
    written, spaces = [], []
    for i, (o, space) in enumerate(zip(optimizers, entry_spaces)):
        where = (entries_key, i, "tune") if entries_key == "optimizers" else ("optimizer", "tune")
        given = {} if space is None else c.mapping(space, where, tuple(space) if isinstance(space, dict) else ())
        checked = {k: _space_values(c, o, k, v, where + (k,)) for k, v in given.items()}
        written.append(dict(given))
        spaces.append(checked)
    equal = c.boolean(raw.get("equal_trials", True), p + ("equal_trials",))
    spaces = _fill_defaults(c, spaces, written, default_lr, raw.get("lr"), equal, entries_key)
    seeds = _seeds(c, raw.get("seeds"), seed)
    return TuneSpec(criterion, target, tuple(spaces), tuple(written), seeds, equal)


def _target(c: Checker, raw: dict, problem: ProblemSpec, criterion: str, tol: float) -> Target | None:
    p = ("tune", "target")
    if "target" in raw:
        try:
            target = parse_target(raw["target"], "tune.target")
            check_target(target, problem, "tune.target")
        except ConfigError as exc:
            raise c.fail(p, without_key(exc)) from None
        return target
    if criterion != "steps_to_target":
        return None
    try:
        check_target(Target("suboptimality", tol), problem, "tune.target")
    except ConfigError:
        raise c.fail(p, "criterion steps_to_target needs a target such as \"val_accuracy >= 0.95\" or "
                        "\"train_loss <= 0.25\" (only toys with a known minimum default to f − f* <= tol)") from None
    return Target("suboptimality", tol)


def _values(c: Checker, raw: Any, path) -> tuple[float, ...]:
    """A list of numbers or linspace(a,b,n) / logspace(a,b,n), non-empty, finite, each once."""
    if isinstance(raw, str):
        try:
            values = parse_values(raw, ".".join(map(str, path)))
        except ConfigError as exc:
            raise c.fail(path, without_key(exc)) from None
    elif isinstance(raw, list):
        values = raw
    else:
        raise c.fail(path, f"expected a list of values or logspace(a,b,n) / linspace(a,b,n), got {show(raw)}")
    if not values:
        raise c.fail(path, "the search space is empty: give at least one value, e.g. logspace(-4,1,21)")
    out = tuple(c.number(v, path + (i,)) for i, v in enumerate(values))
    if len(set(out)) < len(out):
        raise c.fail(path, "values repeat; each value once")
    return out


def _space_values(c: Checker, o, key: str, raw: Any, path) -> tuple[float, ...]:
    from ..optim import check_hparams
    from ..optim.ranges import check_ranges

    if key not in o.hparams:
        raise c.fail(path, f"optimizer {o.name} has no hyperparameter {key!r}\n"
                           f"  accepted: {', '.join(k for k, v in o.hparams.items() if isinstance(v, float))}")
    if not isinstance(o.hparams[key], float):
        raise c.fail(path, f"{key} of {o.name} is {show(o.hparams[key])}, not a number to search over "
                           f"(tune searches numeric hyperparameters)")
    values = _values(c, raw, path)
    for v in (min(values), max(values)):
        hparams = {**o.hparams, key: v}  # a plugin follows the built-ins' ranges for the names it shares
        for bad, problem in check_ranges(hparams) if o.plugin is not None else check_hparams(o.name, hparams):
            if bad == key:
                raise c.fail(path, f"{v:g}: {problem}")
    return values


def _fill_defaults(c: Checker, spaces: list[dict], written: list[dict], default_lr: tuple, lr_given: Any,
                   equal: bool, entries_key: str) -> list[dict]:
    """Entries without a space get lr on the default grid, with as many points as the largest explicit space
    when the default grid was not given; explicit spaces must have equal sizes when equal_trials."""
    sizes = [math.prod(len(v) for v in s.values()) for s in spaces if s]
    target = max(sizes + [len(default_lr)]) if lr_given is None else len(default_lr)
    lr = default_lr if target == len(default_lr) else _log_grid(default_lr, target)
    out = [s if s else {"lr": lr} for s in spaces]
    for s, w in zip(out, written):
        if not w:
            w["lr"] = DEFAULT_LR if lr is default_lr and lr_given is None else list(lr)
    counts = [math.prod(len(v) for v in s.values()) for s in out]
    if max(counts) > MAX_TRIALS:
        raise c.fail(("tune",), f"{max(counts):,} trials for one optimizer; at most {MAX_TRIALS:,}")
    if equal and len(set(counts)) > 1:
        i = counts.index(min(counts))
        raise c.fail((entries_key, i, "tune") if entries_key == "optimizers" else ("tune",),
                     f"{counts[i]} trials, while another optimizer gets {max(counts)}; give every optimizer the same "
                     f"number of trials, or set tune.equal_trials: false")
    return out


def _log_grid(like: tuple, n: int) -> tuple[float, ...]:
    """n points spaced evenly in log between the ends of the default grid."""
    import numpy as np

    lo, hi = min(like), max(like)
    return tuple(float(v) for v in np.logspace(math.log10(lo), math.log10(hi), n)) if lo > 0 else \
        tuple(float(v) for v in np.linspace(lo, hi, n))


def _seeds(c: Checker, raw: Any, seed: int) -> tuple[int, ...]:
    from .repeats import check_seeds

    if raw is None:
        return (seed,)
    _, seeds = check_seeds(_Prefixed(c), {"seeds": raw, **({"seed": seed} if not isinstance(raw, list) else {})})
    return seeds or (seed,)


class _Prefixed(Checker):
    """The config's checker, with key paths under `tune.` (for the trial seeds)."""

    def __init__(self, c: Checker):
        super().__init__(c.source, c.lines)

    def fail(self, path, message: str) -> ConfigError:
        return super().fail(("tune",) + tuple(path), message)
