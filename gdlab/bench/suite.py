"""A benchmark suite: which problems, each with its length and target, and which optimizers (fixed or tuned).

    name: toys
    measure: steps                 # steps | time: what the profile compares (steps to the target by default)
    seeds: 1                       # repetitions of every (problem, optimizer); its cost is the median over them
    tol: 1e-6                      # the default target of toys with a known minimum: f − f* <= tol
    optimizers:                    # as in a compare config (labels, hyperparameters; `tune:` spaces)
      - {name: sgd, lr: 0.1}
      - {name: adam, lr: 0.1}
    tune: {lr: logspace(-4,1,21)}  # optional (or `tune: true`): tune every optimizer on every problem first, by
                                   # gdlab tune's rules, fewest steps to the problem's target by default
    problems:
      - name: bowl
        problem: {objective: bowl2d, init: [-5, -2]}
        steps: 300                 # or epochs; also log_every, eval_every, dtype, schedule, seed
        target: "f - f* <= 1e-6"   # METRIC <= NUMBER or METRIC >= NUMBER

Each problem becomes a compare config (validated as one, errors point at the suite's lines).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..config import Config, validate
from ..config.checker import Checker, show, without_key
from ..config.yamlio import load_yaml
from ..errors import ConfigError
from ..problems.targets import Target, check_target, parse_target

SUITE_KEYS = ("name", "problems", "optimizers", "seeds", "seed", "measure", "tune", "tol")
PROBLEM_KEYS = ("name", "problem", "target", "steps", "epochs", "log_every", "eval_every", "dtype", "schedule",
                "seed")
SHARED = ("optimizers", "seeds", "seed", "tune", "tol")  # suite keys every problem's config takes
MEASURES = ("steps", "time")


@dataclass(frozen=True)
class SuiteProblem:
    name: str
    config: Config  # the suite's optimizers on this problem: a compare config (with seeds and tune)
    target: Target
    target_text: str


@dataclass(frozen=True)
class Suite:
    name: str
    problems: tuple[SuiteProblem, ...]
    labels: tuple[str, ...]  # the optimizers, as every problem's config labels them
    measure: str
    tuned: bool
    source: str


def load_suite(path: str | Path, import_plugins: bool = False) -> Suite:
    """Read and check a suite file; ConfigError naming the key (and the line) for any mistake. A plugin's file
    path is relative to the suite's folder, as in a config; import_plugins as in config.load_config."""
    path = Path(path)
    data, lines = load_yaml(path)
    c = Checker(str(path), lines)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping with problems: and optimizers:, got {show(data)}")
    c.mapping(data, (), SUITE_KEYS)
    for key in ("problems", "optimizers"):
        if not isinstance(data.get(key), list) or not data[key]:
            raise c.fail((key,), f"expected a non-empty list, got {show(data.get(key))}")
    name = data.get("name", path.stem)
    if not isinstance(name, str) or not name.strip():
        raise c.fail(("name",), f"expected a non-empty text, got {show(name)}")
    measure = c.choice(data.get("measure", "steps"), ("measure",), MEASURES)
    problems, seen = [], set()
    for i, raw in enumerate(data["problems"]):
        p = ("problems", i)
        c.mapping(raw, p, PROBLEM_KEYS)
        if "problem" not in raw:
            raise c.fail(p + ("problem",), "missing: each entry needs a problem (an objective or a dataset)")
        pname = raw.get("name", _default_name(raw["problem"], i))
        if not isinstance(pname, str) or not pname.strip():
            raise c.fail(p + ("name",), f"expected a non-empty text, got {show(pname)}")
        if pname in seen:
            raise c.fail(p + ("name",), f"{pname!r} names two problems; each problem once")
        seen.add(pname)
        problems.append(_problem(c, data, raw, i, pname.strip(), name.strip(), lines,
                                 str(path.resolve().parent), import_plugins))
    return Suite(name.strip(), tuple(problems), tuple(o.label for o in problems[0].config.optimizers), measure,
                 problems[0].config.tune is not None, str(path))


def _default_name(problem, i: int) -> str:
    if isinstance(problem, dict):
        for key in ("objective", "dataset"):
            if isinstance(problem.get(key), str):
                return problem[key]
    return f"problem{i + 1}"


def _problem(c: Checker, data: dict, raw: dict, i: int, pname: str, suite: str, lines: dict, base_dir: str,
             import_plugins: bool) -> SuiteProblem:
    """Problem i as a compare config of the suite's optimizers, and its target."""
    config = {k: v for k, v in raw.items() if k not in ("name", "target")}
    for k in SHARED:
        if k in data and not (k == "seed" and "seed" in raw):  # a problem's own seed wins over the suite's
            config[k] = data[k]
    text = raw.get("target")
    if "tune" in data:  # tuning in a benchmark: fewest steps to this problem's target, unless the suite says
        tune = {} if data["tune"] is True else data["tune"]  # `tune: true`: the default spaces
        config["tune"] = {"criterion": "steps_to_target", **({"target": text} if text is not None else {}),
                          **tune} if isinstance(tune, dict) else tune  # anything else: the config check says why
    prefix = ("problems", i)
    own = {k[2:]: v for k, v in lines.items() if k[:2] == prefix and len(k) > 2}
    shared = {k: v for k, v in lines.items() if k and k[0] in SHARED}
    cfg = validate(config, name=f"{suite}-{pname}", source=f"{c.source} problems[{i}] ({pname})",
                   lines={**shared, **own}, base_dir=base_dir, import_plugins=import_plugins)
    if text is None:
        if cfg.problem.kind != "objective":
            raise c.fail(prefix + ("target",), "missing: a dataset problem needs a target such as "
                                               "\"val_accuracy >= 0.95\" or \"train_loss <= 0.25\"")
        text = f"f - f* <= {cfg.tol:g}"
    try:
        target = parse_target(text, "target")
        check_target(target, cfg.problem, "target")
    except ConfigError as exc:
        raise c.fail(prefix + ("target",), without_key(exc)) from None
    return SuiteProblem(pname, cfg, target, text)
