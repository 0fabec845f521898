"""Optimizer entries (`optimizer:` or a list under `optimizers:`) and learning-rate schedules, checked against the
factories' signatures: unknown keys get "did you mean", values the type of the default and the accepted range."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ..plugins import PluginRef, is_plugin
from ..registry import signature_defaults
from .checker import Checker, show
from .yamlio import KeyPath


ENTRY_KEYS = ("name", "label", "schedule")  # the keys of an optimizer entry that are not hyperparameters


@dataclass(frozen=True)
class OptimizerSpec:
    name: str
    hparams: dict  # every hyperparameter of the optimizer, defaults filled in (a textbook variant's eps)
    label: str
    given: frozenset = frozenset()  # the hyperparameters the config wrote itself
    schedule: tuple | None = None  # (name, params): the entry's own schedule; None: the config's `schedule:`
    plugin: PluginRef | None = None  # a plugin's reference (name then holds its resolved spec, label its factory)

    @property
    def optimizer(self):
        """What the engine takes: the plugin reference, or the registered name."""
        return self.plugin if self.plugin is not None else self.name


def optimizer_entries(c: Checker, data: dict) -> tuple[OptimizerSpec, ...]:
    from ..optim import OPTIMIZERS, variant_defaults, variant_problem

    if "optimizer" in data and "optimizers" in data:
        raise c.fail(("optimizers",), "give either `optimizer:` (one) or `optimizers:` (a list), not both")
    if "optimizers" in data:
        raw_list = data["optimizers"]
        if not isinstance(raw_list, list) or not raw_list:
            raise c.fail(("optimizers",), f"expected a non-empty list of optimizers, got {show(raw_list)}")
        entries = [(("optimizers", i), item) for i, item in enumerate(raw_list)]
    elif "optimizer" in data:
        entries = [(("optimizer",), data["optimizer"])]
    else:
        raise c.fail(("optimizer",), "missing: name an optimizer, e.g. optimizer: {name: sgd, lr: 0.1}")
    specs = []
    for path, raw in entries:
        if isinstance(raw, str):
            raw = {"name": raw}
        if not isinstance(raw, dict) or "name" not in raw:
            raise c.fail(path, f"expected a mapping with a name, e.g. {{name: adam, lr: 0.01}}, got {show(raw)}")
        plugin = c.plugin(raw["name"], path + ("name",)) if is_plugin(raw["name"]) else None
        if plugin is None:
            name = c.choice(raw["name"], path + ("name",), OPTIMIZERS.names())
            defaults = signature_defaults(OPTIMIZERS.get(name))
            if "variant" in raw and variant_problem(name, raw["variant"]):
                raise c.fail(path + ("variant",), variant_problem(name, raw["variant"]))
        else:
            name, defaults = plugin.resolved, plugin_parameters(c, plugin, path)
        short = plugin.attr if plugin else name
        c.mapping(raw, path, (*ENTRY_KEYS, *defaults), owner=f"optimizer {short}")
        hp_raw = {k: v for k, v in raw.items() if k not in ENTRY_KEYS}
        hparams = c.params(hp_raw, defaults, path, f"optimizer {short}")
        if plugin is None:
            hparams.update(variant_defaults(name, hparams.get("variant", "torch"), given=hp_raw))  # the book's eps
        check_optimizer_hparams(c, name, hparams, path, plugin=plugin is not None)
        label = raw.get("label", short)
        if not isinstance(label, str) or not label.strip():
            raise c.fail(path + ("label",), f"expected a non-empty text, got {show(label)}")
        schedule = schedule_entry(c, raw["schedule"], path + ("schedule",)) if "schedule" in raw else None
        specs.append(OptimizerSpec(name, hparams, label, frozenset(hp_raw), schedule, plugin))
    labels = [s.label for s in specs]
    if len(set(labels)) < len(labels):
        specs = _unique_labels(specs)
    return tuple(specs)


def check_optimizer_hparams(c: Checker, name: str, hparams: dict, path: KeyPath, plugin: bool = False) -> None:
    from ..optim import check_hparams, check_ranges

    for key, problem in (check_ranges(hparams) if plugin else check_hparams(name, hparams)):
        raise c.fail(path + (key,), f"{problem}, got {show(hparams.get(key))}")


def plugin_parameters(c: Checker, plugin: PluginRef, path: KeyPath) -> dict:
    """A plugin factory's hyperparameters and defaults (its signature), checked to be usable as an optimizer's."""
    defaults = c.plugin_parameters(plugin, path + ("name",))
    clash = [k for k in defaults if k in ENTRY_KEYS]
    if clash:
        raise c.fail(path + ("name",), f"plugin {plugin.attr} has a parameter named {clash[0]!r}, which an "
                                       f"optimizer entry keeps for itself ({', '.join(ENTRY_KEYS)}); rename it")
    if "lr" not in defaults:
        raise c.fail(path + ("name",), f"plugin {plugin.attr} takes no `lr`; every optimizer gets its learning "
                                       f"rate (after the schedule) as lr=, so the factory needs an lr parameter")
    return defaults


def _unique_labels(specs: list[OptimizerSpec]) -> list[OptimizerSpec]:
    """Members with the same label get their differing hyperparameters in the label (`momentum[lr=0.4]`)."""
    out = []
    for s in specs:
        twins = [t for t in specs if t.label == s.label]
        if len(twins) == 1:
            out.append(s)
            continue
        differ = [k for k in s.hparams if len({repr(t.hparams[k]) for t in twins}) > 1]
        cells = [f"{k}={_fmt(s.hparams[k])}" for k in differ]
        if len({repr(t.schedule) for t in twins}) > 1:  # the same optimizer with and without a decaying lr
            cells.append(f"schedule={s.schedule[0] if s.schedule else 'default'}")
        label = f"{s.label}[{','.join(cells)}]" if cells else s.label
        out.append(replace(s, label=label))
    seen: dict[str, int] = {}
    final = []
    for s in out:  # still equal (identical members): number them
        seen[s.label] = seen.get(s.label, 0) + 1
        final.append(s if seen[s.label] == 1 else replace(s, label=f"{s.label}#{seen[s.label]}"))
    return final


def _fmt(v: Any) -> str:
    if isinstance(v, tuple):
        return "(" + ",".join(_fmt(x) for x in v) + ")"
    return f"{v:g}" if isinstance(v, float) else str(v)


def schedule_entry(c: Checker, raw: Any, path: KeyPath = ("schedule",)) -> tuple[str, dict]:
    """The config's `schedule:` (the default of every entry) or an entry's own `schedule:`."""
    from ..optim.schedules import SCHEDULES, check_schedule

    if raw is None:
        return "constant", {}
    if isinstance(raw, str):
        raw = {"name": raw}
    if not isinstance(raw, dict) or "name" not in raw:
        raise c.fail(path, f"expected a mapping such as {{name: step, step_size: 10, gamma: 0.5}}, got {show(raw)}")
    name = c.choice(raw["name"], path + ("name",), SCHEDULES.names())
    params = c.params({k: v for k, v in raw.items() if k != "name"}, SCHEDULES.get(name), path, f"schedule {name}")
    for key, problem in check_schedule(name, params):
        raise c.fail(path + (key,), f"{problem}, got {show(params.get(key))}")
    return name, params


def plain(value: Any) -> Any:
    """Tuples -> lists, recursively: what YAML and JSON write back cleanly."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value




def entry_mapping(o: OptimizerSpec) -> dict:
    """An entry as a plain mapping (config.yaml): name, label, hyperparameters and its own schedule if any."""
    out = {"name": o.name, "label": o.label, **plain(o.hparams)}
    if o.schedule is not None:
        out["schedule"] = {"name": o.schedule[0], **plain(o.schedule[1])}
    return out


def optimizer_parameters(name: Any, origin=None) -> dict | None:
    """{hyperparameter: default} of the optimizer `name`, or None when there is no such optimizer (validation
    then says so, with "did you mean")."""
    from ..optim import OPTIMIZERS
    from ..plugins import load_factory, parse_ref, read_signature

    if isinstance(name, str) and name in OPTIMIZERS:
        return signature_defaults(OPTIMIZERS.get(name))
    if not is_plugin(name):
        return None
    ref = parse_ref(name, origin.base_dir if origin else None, "optimizer.name")
    if origin is not None and origin.import_plugins:
        return signature_defaults(load_factory(ref, "optimizer.name"))
    return read_signature(ref, "optimizer.name").defaults
