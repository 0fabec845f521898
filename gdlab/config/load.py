"""YAML config -> validated, frozen `Config`.

Every mistake is a ConfigError naming the key path, the bad value and what is accepted (with the YAML line
where there is one). Names and defaults of optimizer, schedule and objective parameters are not repeated here:
they are read from the factories' signatures through the registries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError, PluginError
from ..plugins import is_plugin
from ..problems.spec import ProblemSpec
from ..registry import signature_defaults
from .checker import Checker, show, without_key
from .optimizers import OptimizerSpec, entry_mapping, optimizer_entries, plain, schedule_entry
from .repeats import DEFAULT_TOL, check_seeds, check_tol, reseeded, written_repeats
from .tuning import TuneSpec, check_tune, split_entry_spaces
from .yamlio import apply_override, load_yaml, parse_assignment

TOP_KEYS = ("name", "problem", "optimizer", "optimizers", "schedule", "steps", "epochs", "log_every",
            "eval_every", "seed", "seeds", "tol", "dtype", "sweep", "predict", "tune")
TOY_KEYS = ("objective", "params", "init", "noise")
DATA_KEYS = ("dataset", "params", "model", "hidden", "activation", "bias", "init", "loss", "batch_size",
             "sampling", "data_dir", "split", "validation")
DTYPES = ("float64", "float32")
DEFAULT_TOY_STEPS = 100


@dataclass(frozen=True)
class Origin:
    """Where a config came from: what a sweep re-validates its variants against, and where plugins are found."""

    source: str  # the file (or "config") named in messages
    base_dir: str | None  # the config file's folder: plugin paths are relative to it
    given: dict  # the mapping as written, `--set` and `--optimizers` applied, no defaults filled in
    lines: dict  # key path -> YAML line (or "--set")
    import_plugins: bool  # plugins were imported (run, compare, sweep) or only read (validate, plot)


@dataclass(frozen=True)
class Config:
    name: str
    problem: ProblemSpec
    optimizers: tuple[OptimizerSpec, ...]
    schedule: tuple[str, dict]
    steps: int | None
    epochs: float | None
    log_every: int
    eval_every: int | None
    seed: int
    dtype: str
    sweep: dict = field(default_factory=dict)
    predict: tuple = ()  # inputs (rows of features) to predict after training (datasets)
    resolved: dict = field(default_factory=dict)  # the config as a plain mapping, defaults filled in
    seeds: tuple[int, ...] = ()  # every seed each member runs with (repetitions in one stack); () = (seed,)
    tol: float = DEFAULT_TOL  # steps_to_tol: updates until f − f* <= tol (toys with a known minimum)
    tune: TuneSpec | None = None  # the `tune:` blocks (gdlab tune); None when the config has none

    origin: Origin | None = None

    @property
    def all_seeds(self) -> tuple[int, ...]:
        return self.seeds or (self.seed,)

    def member_schedule(self, optimizer: OptimizerSpec) -> tuple[str, dict]:
        """The schedule an entry runs with: its own, else the config's."""
        return optimizer.schedule if optimizer.schedule is not None else self.schedule


def load_config(path: str | Path, overrides: list[str] = (), select_optimizers: list[str] | None = None, *,
                seed: int | None = None, seeds: int | None = None, import_plugins: bool = False) -> Config:
    """Read, override (`--set`, `--seed`, `--seeds`) and validate a config file.

    select_optimizers (`--optimizers sgd,adam`) replaces the config's entries, each with its defaults; `--set` is
    applied after it, and `--set optimizer.lr=0.1` on a list of entries sets every entry's lr.
    import_plugins: import plugin files and call their factories (run, compare, sweep); otherwise a plugin is
    checked from its source text alone (validate, plot).
    """
    path = Path(path)
    data, lines = load_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level (keys such as problem:, optimizer:, steps:), "
                          f"got {type(data).__name__}")
    if select_optimizers:
        data = {k: v for k, v in data.items() if k not in ("optimizer", "optimizers")}
        data["optimizers"] = [{"name": n} for n in select_optimizers]
        lines = {k: v for k, v in lines.items() if k[:1] not in (("optimizer",), ("optimizers",))}
        lines.update({("optimizers", i, "name"): "--optimizers" for i in range(len(select_optimizers))})
    for text in overrides:
        key, value = parse_assignment(text)
        for target in _override_targets(data, key, text):
            data = apply_override(data, target, value, text)
            lines.update({k: "--set" for k in lines if k[:len(target)] == target})  # the file's lines no longer apply
            lines[target] = "--set"
    data = reseeded(data, seed, seeds)
    lines.update({k: f"--{k}" for k, v in (("seed", seed), ("seeds", seeds)) if v is not None})
    return validate(data, name=path.stem, source=str(path), lines=lines, base_dir=str(path.resolve().parent),
                    import_plugins=import_plugins)


def _override_targets(data: dict, key: tuple, text: str) -> list[tuple]:
    """Where `--set key=value` lands: `optimizer.x` on a config with a list of entries sets every entry's x."""
    if key[0] != "optimizer" or "optimizer" in data or not isinstance(data.get("optimizers"), list):
        return [key]
    if len(key) < 2 or key[1] in ("name", "label"):
        raise ConfigError(f"--set {text}: this config lists several optimizers (optimizers:); set one entry's "
                          f"{key[1] if len(key) > 1 else 'settings'} with --set optimizers[i].{key[1] if len(key) > 1 else 'lr'}=...")
    return [("optimizers", i) + key[1:] for i in range(len(data["optimizers"]))]


def validate(data: dict, name: str = "config", source: str = "config", lines: dict | None = None, *,
             base_dir: str | None = None, import_plugins: bool = False) -> Config:
    """A mapping checked and turned into a Config; base_dir: where relative plugin paths start."""
    c = Checker(source, lines or {}, base_dir, import_plugins)
    c.mapping(data, (), TOP_KEYS)
    origin = Origin(source, base_dir, data, dict(lines or {}), import_plugins)
    data, entry_spaces = split_entry_spaces(data)
    if "problem" not in data:
        raise c.fail(("problem",), "missing: every config needs a problem (an objective or a dataset)")
    problem = _problem(c, data["problem"])
    optimizers = optimizer_entries(c, data)
    schedule = schedule_entry(c, data.get("schedule"))
    given = {k for k in ("steps", "epochs") if data.get(k) is not None}  # null means "not given"
    if given == {"steps", "epochs"}:
        raise c.fail(("epochs",), "give either steps or epochs, not both")
    steps = c.integer(data["steps"], ("steps",), 1) if "steps" in given else None
    epochs = None
    if "epochs" in given:
        if problem.kind != "dataset":
            raise c.fail(("epochs",), "epochs count passes over a dataset; toy objectives take steps")
        epochs = c.number(data["epochs"], ("epochs",))
        if epochs <= 0:
            raise c.fail(("epochs",), f"must be > 0, got {epochs:g}")
    if steps is None and epochs is None:
        steps, epochs = (DEFAULT_TOY_STEPS, None) if problem.kind == "objective" else (None, 1.0)
    log_every = c.integer(data.get("log_every", 1), ("log_every",), 1)
    eval_every = c.integer(data["eval_every"], ("eval_every",), 1) if data.get("eval_every") is not None else None
    seed, seeds = check_seeds(c, data)
    tol = check_tol(c, data)
    default_dtype = "float64" if problem.kind == "objective" else "float32"
    dtype = c.choice(data.get("dtype", default_dtype), ("dtype",), DTYPES)
    run_name = data.get("name", name)
    if not isinstance(run_name, str) or not run_name.strip():
        raise c.fail(("name",), f"expected a non-empty text, got {show(run_name)}")
    sweep = _sweep(c, data.get("sweep"))
    predict = _predict(c, data.get("predict"), problem)
    tune = check_tune(c, data.get("tune"), entry_spaces, optimizers, problem, seed, tol,
                      "optimizers" if "optimizers" in data else "optimizer")
    cfg = Config(run_name.strip(), problem, optimizers, schedule, steps, epochs, log_every, eval_every,
                 seed, dtype, sweep, predict, seeds=seeds, tol=tol, tune=tune, origin=origin)
    return _with_resolved(cfg)


def _problem(c: Checker, raw: Any) -> ProblemSpec:
    p = ("problem",)
    if not isinstance(raw, dict):
        raise c.fail(p, f"expected a mapping with `objective:` or `dataset:`, got {show(raw)}")
    if "objective" in raw and "dataset" in raw:
        raise c.fail(p + ("dataset",), "give either an objective or a dataset, not both")
    if "objective" in raw:
        return _toy_problem(c, raw)
    if "dataset" in raw:
        return _data_problem(c, raw)
    raise c.fail(p, "needs `objective:` (a toy function such as bowl2d) or `dataset:` (such as airfoil)")


def _toy_problem(c: Checker, raw: dict) -> ProblemSpec:
    from ..problems.objectives import OBJECTIVES, make_objective, probe_objective

    p = ("problem",)
    c.mapping(raw, p, TOY_KEYS)
    name = raw["objective"]
    if not isinstance(name, str):
        raise c.fail(p + ("objective",), f"expected a name such as bowl2d, got {show(name)}")
    plugin = c.plugin(name, p + ("objective",)) if is_plugin(name) else None
    if plugin is None:
        c.choice(name, p + ("objective",), OBJECTIVES.names())
        parameters = OBJECTIVES.get(name)
    else:
        parameters = c.plugin_parameters(plugin, p + ("objective",))
    params = c.params(raw.get("params"), parameters, p + ("params",), f"objective {name}")
    objective = None
    if plugin is None or c.import_plugins:
        try:
            objective = make_objective(plugin or name, params)
        except PluginError as exc:  # the plugin's own words, whole
            raise c.fail(p + ("objective",), str(exc)) from None
        except ConfigError as exc:
            raise c.fail(p + ("objective",), without_key(exc)) from None
    init = raw.get("init", objective.default_init if objective else None)
    if init is None:  # a plugin not imported (gdlab validate): its default start is unknown
        init = ()
    else:
        if isinstance(init, (int, float)) and not isinstance(init, bool):
            init = [init]
        if not isinstance(init, (list, tuple)) or not init:
            raise c.fail(p + ("init",), f"expected the start point as a list of numbers, got {show(init)}")
        init = tuple(c.number(v, p + ("init", i)) for i, v in enumerate(init))
    if objective is not None and objective.dim is not None and len(init) != objective.dim:
        raise c.fail(p + ("init",), f"{name} has {objective.dim} coordinates; the start point has {len(init)}: "
                                    f"{list(init)}")
    if plugin is not None and objective is not None:
        try:
            probe_objective(objective, init, plugin.attr)
        except PluginError as exc:
            raise c.fail(p + ("objective",), str(exc)) from None
    noise = c.number(raw.get("noise", 0.0), p + ("noise",))
    if noise < 0:
        raise c.fail(p + ("noise",), f"must be >= 0 (the standard deviation of the gradient noise), got {noise:g}")
    return ProblemSpec("objective", plugin.resolved if plugin else name, params, init, noise, plugin=plugin)


def _data_problem(c: Checker, raw: dict) -> ProblemSpec:
    """A dataset + model + loss, checked without reading any data (sizes are checked when the data is loaded)."""
    from ..problems.datasets import DATASET_TASKS, DATASETS, NOT_PARAMS
    from ..problems.datasets.batching import SAMPLINGS, held_out
    from ..problems.losses import DEFAULT_LOSS, LOSSES, check_task
    from ..problems.models import MODEL_TASKS, MODELS

    p = ("problem",)
    c.mapping(raw, p, DATA_KEYS)
    name = c.choice(raw["dataset"], p + ("dataset",), DATASETS.names())
    task = DATASET_TASKS[name]
    factory = DATASETS.get(name)
    accepted = tuple(k for k in signature_defaults(factory) if k not in NOT_PARAMS)
    given = raw.get("params") or {}
    c.mapping(given, p + ("params",), accepted)
    params = {k: v for k, v in c.params(given, factory, p + ("params",), f"dataset {name}", fixed_length=False).items()
              if k not in NOT_PARAMS}
    default_model = {"regression": "linear", "binary": "logistic", "multiclass": "softmax"}[task]
    model = c.choice(raw.get("model", default_model), p + ("model",), MODELS.names())
    if task not in MODEL_TASKS[model]:
        fits = [m for m, tasks in MODEL_TASKS.items() if task in tasks]
        raise c.fail(p + ("model",), f"model {model!r} does not fit dataset {name!r} ({task})\n"
                                     f"  accepted for {task}: {', '.join(fits)}")
    options = signature_defaults(MODELS.get(model))
    for key in ("hidden", "activation", "bias", "init"):
        if key in raw and key not in options:
            raise c.fail(p + (key,), f"not an option of model {model!r} (it takes {', '.join(options)})")
    chosen = {k: raw.get(k, v) for k, v in options.items()}
    if "hidden" in chosen:
        h = chosen["hidden"]
        if isinstance(h, int) and not isinstance(h, bool):
            h = [h]
        if not isinstance(h, (list, tuple)) or not h:
            raise c.fail(p + ("hidden",), f"expected a list of layer widths such as [100, 100], got {show(h)}")
        chosen["hidden"] = tuple(c.integer(v, p + ("hidden", i), 1) for i, v in enumerate(h))
    if "activation" in chosen:
        from ..problems.models import ACTIVATIONS

        c.choice(chosen["activation"], p + ("activation",), list(ACTIVATIONS))
    if "bias" in chosen:
        c.boolean(chosen["bias"], p + ("bias",))
    if "init" in chosen:
        from ..problems.models import parse_init

        try:
            parse_init(chosen["init"])
        except ConfigError as exc:
            raise c.fail(p + ("init",), without_key(exc)) from None
    MODELS.get(model)(**chosen)  # anything else the model checks names its key itself
    loss = c.choice(raw.get("loss", DEFAULT_LOSS[task]), p + ("loss",), LOSSES.names())
    try:
        check_task(loss, task)
    except ConfigError as exc:
        raise c.fail(p + ("loss",), without_key(exc)) from None
    batch = raw.get("batch_size")
    if batch is not None:
        batch = c.integer(batch, p + ("batch_size",), 1)
    sampling = c.choice(raw.get("sampling", "shuffle"), p + ("sampling",), SAMPLINGS)
    data_dir = raw.get("data_dir")
    if data_dir is not None and not isinstance(data_dir, str):
        raise c.fail(p + ("data_dir",), f"expected a folder path, got {show(data_dir)}")
    if "split" in raw and "split" not in signature_defaults(factory):
        raise c.fail(p + ("split",), f"dataset {name!r} has no splits (only mnist has train | test)")
    split = c.choice(raw.get("split", "train"), p + ("split",), ("train", "test"))
    try:  # a random fraction, or a fixed head or tail: {first: 0.2}, {last: 2000}
        validation = held_out(raw.get("validation", 0.0))
    except ConfigError as exc:
        key, _, message = str(exc).partition(": ")
        raise c.fail(p + tuple(key.split(".")), message) from None
    return ProblemSpec("dataset", name, params, chosen.get("init"), 0.0, model=model,
                       hidden=chosen.get("hidden", ()), activation=chosen.get("activation", "relu"),
                       bias=chosen.get("bias", True), loss=loss, batch_size=batch, sampling=sampling,
                       data_dir=data_dir, split=split, validation=validation)


def _sweep(c: Checker, raw: Any) -> dict:
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not raw:
        raise c.fail(("sweep",), f"expected a mapping of key: [values], got {show(raw)}")
    out = {}
    for key, values in raw.items():
        if isinstance(values, str) and values.strip().startswith(("linspace(", "logspace(")):
            out[str(key)] = values.strip()  # a range, expanded by the sweep
            continue
        if not isinstance(values, list) or not values:
            raise c.fail(("sweep", key), f"expected a non-empty list of values or linspace(a,b,n) / "
                                         f"logspace(a,b,n), got {show(values)}")
        out[str(key)] = list(values)
    return out


def _predict(c: Checker, raw: Any, problem: ProblemSpec) -> tuple:
    """Inputs to predict after training: [4.0] (one feature) or [[x1, x2], ...]."""
    if raw is None:
        return ()
    if problem.kind != "dataset":
        raise c.fail(("predict",), "predictions need a model trained on a dataset")
    if not isinstance(raw, list) or not raw:
        raise c.fail(("predict",), f"expected a list of inputs such as [4.0] or [[1.0, 2.0]], got {show(raw)}")
    rows = []
    for i, row in enumerate(raw):
        row = row if isinstance(row, list) else [row]
        rows.append(tuple(c.number(v, ("predict", i, j) if isinstance(raw[i], list) else ("predict", i))
                          for j, v in enumerate(row)))
    if len({len(r) for r in rows}) > 1:
        raise c.fail(("predict",), "every input needs the same number of features")
    return tuple(rows)


def _with_resolved(cfg: Config) -> Config:
    """`cfg` with `resolved`: the plain mapping written to the run directory's config.yaml."""
    p = cfg.problem
    if p.kind == "objective":
        problem = {"objective": p.name, "params": plain(p.params), "init": list(p.init), "noise": p.noise}
    else:
        problem = {"dataset": p.name, "params": plain(p.params), "model": p.model}
        if p.model == "mlp":
            problem.update(hidden=list(p.hidden), activation=p.activation)
        problem.update(bias=p.bias, init=plain(p.init), loss=p.loss, batch_size=p.batch_size, sampling=p.sampling,
                       data_dir=p.data_dir, validation=p.validation)
        if p.name == "mnist":
            problem["split"] = p.split
    resolved = {
        "name": cfg.name,
        "problem": problem,
        "optimizers": [entry_mapping(o) for o in cfg.optimizers],
        "schedule": {"name": cfg.schedule[0], **plain(cfg.schedule[1])},
        "steps": cfg.steps,
        "epochs": cfg.epochs,
        "log_every": cfg.log_every,
        "eval_every": cfg.eval_every,
        "seed": cfg.seed,
        "dtype": cfg.dtype,
    }
    resolved.update(written_repeats(cfg.all_seeds, cfg.tol, p.kind))
    if cfg.sweep:
        resolved["sweep"] = cfg.sweep
    if cfg.predict:
        resolved["predict"] = [list(r) for r in cfg.predict]
    return Config(**{**cfg.__dict__, "resolved": resolved})


def member_config(cfg: Config, optimizer: OptimizerSpec, seed: int | None = None) -> dict:
    """The resolved config of one member of a compare (its config.yaml); with `seed`, of that repetition alone."""
    resolved = dict(cfg.resolved)
    resolved.pop("optimizers")
    resolved.pop("sweep", None)
    if seed is not None:
        resolved.pop("seeds", None)
        resolved["seed"] = seed
    resolved["optimizer"] = {"name": optimizer.name, "label": optimizer.label, **plain(optimizer.hparams)}
    name, params = cfg.member_schedule(optimizer)
    resolved["schedule"] = {"name": name, **plain(params)}
    return resolved
