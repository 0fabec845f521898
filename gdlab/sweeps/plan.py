"""A sweep's plan: its members (grid points × the config's optimizer entries) and the stacks that run them.

Pure: nothing is read from disk beyond the config already loaded, nothing is written, no data is loaded, no
optimizer is stepped. The plan is a list of Batch records, each one vectorized stack (see batch.py for running
one, merge.py for putting the results back in grid order).

Members. An axis applies to the entries it names: `optimizer.lr` to every entry of the config (one optimizer, or
each entry of a compare), `optimizers[1].lr` to entry 1 only, `schedule.gamma` to the entries that use the
config's schedule, anything else (`problem.init[0]`, `seed`, ...) to all. Entry m gets the product grid of the axes
that apply to it, so a per-entry axis multiplies its own entry only; members are listed entry by entry, each
entry's grid in product order (last axis fastest).

Stacks. A numeric axis is vectorized when its values can differ between members of one loop: float
hyperparameters and entries of betas, schedule parameters, a toy objective's parameters and start point. Other
axes are structural. Structural axes of the optimizer (its name, a boolean flag, the schedule's name) only make
new groups inside a stack; structural axes of the problem (seed, steps, batch size, dtype, ...) split the members
into one stack per combination of values.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field

import numpy as np

from ..config import Config
from ..config.grid import Axis
from ..config.yamlio import format_path
from ..engine import GroupSpec
from ..errors import ConfigError
from ..problems.spec import ProblemSpec
from .members import Members, expand_members, member_labels_of
from .variants import Variant, Variants, find_variants, first_seen_codes, is_vector_in


@dataclass(frozen=True)
class ProblemPlan:
    """How a stack's problem is built: the spec, plus per-member toy parameters and start points."""

    spec: ProblemSpec
    seed: int | np.ndarray  # one seed, or each member's (R_b,) when seed is a repetition axis (one stack)
    dtype: str
    predict: tuple = ()
    params: dict = field(default_factory=dict)  # toy objective parameters swept per member: {name: (R_b,)}
    init: np.ndarray | None = None  # toys: (R_b, D) start points when a coordinate is swept

    def build(self, download_progress=None):
        """The engine's Problem (datasets are loaded here)."""
        from ..problems.build import build_problem
        from ..problems.objectives import make_objective
        from ..problems.toy import ToyProblem

        if self.spec.kind != "objective" or (not self.params and self.init is None):
            return build_problem(self.spec, seed=self.seed, dtype=self.dtype, predict=self.predict,
                                 download_progress=download_progress)
        objective = make_objective(self.spec.objective, {**self.spec.params, **self.params})
        init = self.init if self.init is not None else np.asarray(self.spec.init, dtype=float)
        return ToyProblem(objective, init, self.spec.noise, self.seed)


@dataclass(frozen=True)
class Batch:
    """One vectorized stack of a sweep: everything `run_batch` needs."""

    number: int  # position in SweepPlan.batches
    members: np.ndarray  # (R_b,) positions in the sweep's member list, ascending (grid order)
    config: Config  # validated config of the stack: problem, steps/epochs, log_every, dtype, seed
    groups: tuple[GroupSpec, ...]  # indices local to the batch (0..R_b-1); each with its own schedule
    problem: ProblemPlan


@dataclass(frozen=True)
class SweepPlan:
    name: str
    axes: tuple[Axis, ...]
    index: np.ndarray  # (n_axes, R) value index of each member on each axis; -1 where the axis does not apply
    entry: np.ndarray  # (R,) the config entry (optimizers[i]) of each member; 0 for a single optimizer
    entries: tuple[str, ...]  # labels of a compare's entries; () for a config with one `optimizer:`
    labels: list[str]  # member names: momentum[lr=0.4,momentum=0.5]
    batches: tuple[Batch, ...]
    written_config: dict  # the sweep directory's config.yaml
    warnings: tuple[str, ...] = ()

    @property
    def size(self) -> int:
        return int(self.entry.size)


def plan_sweep(cfg: Config, axes: list[Axis]) -> SweepPlan:
    """The members of the sweep of `cfg` over `axes` and the batches that run them; ConfigError for a bad grid.

    The config's `seeds:` (or --seeds) is one more axis, `seed`, unless the grid sweeps seed itself.
    """
    cfg, axes = with_seed_axis(cfg, axes)
    members = expand_members(cfg, axes)
    vector = [_vectorizable(a, members, j) for j, a in enumerate(members.axes)]
    while True:  # a candidate found not to be a float in some variant (a plugin's integer) becomes structural
        variants = find_variants(cfg, members, vector)
        demote = [j for j in range(len(axes)) if vector[j] and not all(is_vector_in(v, members, j) for v in variants.signatures)]
        if not demote:
            break
        vector = [v and j not in demote for j, v in enumerate(vector)]
    batches = _batches(cfg, members, vector, variants)
    labels = member_labels_of(members, [v.optimizer_label for v in variants.signatures], variants.of_member)
    written = _written_config(cfg, members)
    return SweepPlan(cfg.name, tuple(members.axes), members.index, members.entry, members.entry_labels, labels,
                     tuple(batches), written, tuple(dict.fromkeys(w for v in variants.signatures for w in v.warnings)))


# ----------------------------------------------------------------------------------------------------- axes


def with_seed_axis(cfg: Config, axes: list[Axis]) -> tuple[Config, list[Axis]]:
    """(config, axes): when the config runs several seeds and no axis sweeps `seed`, a last axis over them; the
    seed axis (given or added) takes the place of the config's `seeds:` (each member runs one seed)."""
    has_axis = any(a.path == ("seed",) for a in axes)
    if len(cfg.all_seeds) > 1 and not has_axis:
        axes = [*axes, Axis(("seed",), tuple(cfg.all_seeds))]
        has_axis = True
    given = cfg.origin.given if cfg.origin is not None else {}
    if has_axis and (cfg.seeds or "seeds" in given):
        origin = None if cfg.origin is None else \
            dataclasses.replace(cfg.origin, given={k: v for k, v in given.items() if k != "seeds"})
        cfg = dataclasses.replace(cfg, seeds=(), origin=origin)
    return cfg, list(axes)


def _vectorizable(axis: Axis, members: Members, j: int) -> bool:
    """Whether axis j could vary inside one loop, from its key alone (checked against each variant later)."""
    if not axis.numeric:
        return False
    kind = members.kinds[j]
    if kind == "optimizer":
        rest = members.rest[j]  # path inside the entry: ("lr",), ("betas", 1), ("schedule", "gamma")
        return (len(rest) == 1 and rest[0] not in ("name", "label", "schedule")) or \
               (len(rest) == 2 and isinstance(rest[1], int)) or (len(rest) == 2 and rest[0] == "schedule"
                                                                   and rest[1] != "name")
    if kind == "schedule":
        return len(axis.path) == 2 and axis.path[1] != "name"
    p = axis.path
    if p == ("seed",):  # repetitions: one random stream per distinct seed inside the stack (problems.seeds)
        return all(isinstance(v, int) for v in axis.values)
    return p[:2] in (("problem", "params"), ("problem", "init")) and len(p) == 3


# -------------------------------------------------------------------------------------------------- batches


def _batches(cfg: Config, members: Members, vector: list[bool], variants: Variants) -> list[Batch]:
    """Members with equal values on every structural problem axis share a stack."""
    problem_axes = [j for j, v in enumerate(vector) if not v and members.kinds[j] == "problem"]
    if problem_axes:  # problem axes apply to every member: no -1 here
        sizes = [len(members.axes[j].values) for j in problem_axes]
        stack_of, firsts = first_seen_codes(np.ravel_multi_index(members.index[problem_axes], sizes))
        stacks = [np.flatnonzero(stack_of == s) for s in range(len(firsts))]
    else:
        stacks = [np.arange(members.size)]
    return [_batch(n, rows, members, vector, variants) for n, rows in enumerate(stacks)]


def _batch(number: int, rows: np.ndarray, members: Members, vector: list[bool], variants: Variants) -> Batch:
    local_variant = variants.of_member[rows]  # (R_b,)
    present = list(dict.fromkeys(local_variant.tolist()))
    config = variants.signatures[present[0]].config
    by_key: dict[tuple, list[int]] = {}
    for v in present:
        by_key.setdefault(_group_key(variants.signatures[v], members, vector), []).append(v)
    groups = []
    for vs in by_key.values():
        local = np.flatnonzero(np.isin(local_variant, vs))  # ascending: a slice when the group is contiguous
        groups.append(_group_spec(local, rows[local], local_variant[local], vs, variants, members, vector))
    return Batch(number, rows, config, tuple(groups), _problem_plan(config, rows, members, vector))


def _group_key(v: Variant, members: Members, vector: list[bool]) -> tuple:
    """Variants with equal keys share an optimizer call: same optimizer, same non-numeric settings, same schedule
    name and non-numeric schedule settings; numbers may differ (they become per-member columns)."""
    o = v.config.optimizers[0]
    fixed = tuple((k, repr(x)) for k, x in o.hparams.items() if not _numbers(x))
    name, params = v.config.member_schedule(o)
    fixed_schedule = tuple((k, repr(x)) for k, x in params.items() if not _number(x))
    return (o.optimizer, fixed, name, fixed_schedule)


def _number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _numbers(x) -> bool:
    return isinstance(x, float) or (isinstance(x, tuple) and bool(x) and all(isinstance(e, float) for e in x))


def _group_spec(local: np.ndarray, rows: np.ndarray, variant_of: np.ndarray, vs: list[int], variants: Variants,
                members: Members, vector: list[bool]) -> GroupSpec:
    """One engine group: hyperparameters and schedule parameters as shared values or (G,) columns."""
    first = variants.signatures[vs[0]].config
    o = first.optimizers[0]
    schedule_name, schedule_params = first.member_schedule(o)

    def column(get, targets) -> object:
        """(G,) values: each variant's own value, replaced by the swept values where an axis targets the key."""
        if len(vs) == 1:
            values = np.full(len(rows), get(variants.signatures[vs[0]].config), dtype=float)
        else:
            values = np.empty(len(rows))
            for v in vs:
                values[variant_of == v] = get(variants.signatures[v].config)
        for j in targets:
            on = members.index[j, rows] >= 0
            values[on] = np.asarray(members.axes[j].values, dtype=float)[members.index[j, rows[on]]]
        return values

    def targets_of(rest: tuple) -> list[int]:
        return [j for j in range(len(members.axes)) if vector[j] and members.kinds[j] == "optimizer"
                and members.rest[j] == rest] + \
               ([j for j in range(len(members.axes)) if vector[j] and members.kinds[j] == "schedule"
                 and members.axes[j].path[1:] == rest[1:]] if rest[:1] == ("schedule",) else [])

    def settle(values: np.ndarray, scalar):
        """The shared value when every member has it (the engine makes the same column either way)."""
        return scalar if np.all(values == scalar) else values

    hp = {}
    for key, value in o.hparams.items():
        if isinstance(value, float):
            hp[key] = settle(column(lambda c, k=key: c.optimizers[0].hparams[k], targets_of((key,))), value)
        elif _numbers(value):
            hp[key] = tuple(settle(column(lambda c, k=key, i=i: c.optimizers[0].hparams[k][i], targets_of((key, i))),
                                   value[i]) for i in range(len(value)))
        else:
            hp[key] = value
    params = {}
    for key, value in schedule_params.items():
        if _number(value):
            got = column(lambda c, k=key: c.member_schedule(c.optimizers[0])[1][k], targets_of(("schedule", key)))
            params[key] = settle(got, value)
        else:
            params[key] = value
    optimizer = o.optimizer
    return GroupSpec(optimizer, local, hp, (schedule_name, params))


def _problem_plan(config: Config, rows: np.ndarray, members: Members, vector: list[bool]) -> ProblemPlan:
    """The stack's problem; swept toy parameters and start coordinates become per-member arrays."""
    spec = config.problem
    params, init, seed = {}, None, config.seed
    for j, axis in enumerate(members.axes):
        if not vector[j] or members.kinds[j] != "problem":
            continue
        if axis.path == ("seed",):
            seed = np.asarray(axis.values, dtype=np.int64)[members.index[j, rows]]  # (R_b,)
            continue
        values = np.asarray(axis.values, dtype=float)[members.index[j, rows]]
        if axis.path[1] == "params":
            params[axis.path[2]] = values
        else:
            if init is None:
                init = np.tile(np.asarray(spec.init, dtype=float), (len(rows), 1))  # (R_b, D)
            if axis.path[2] >= init.shape[1]:
                raise ConfigError(f"--grid {axis.key}: the start point has only {init.shape[1]} coordinates")
            init[:, axis.path[2]] = values
    return ProblemPlan(spec, seed, config.dtype, config.predict, params, init)


def _written_config(cfg: Config, members: Members) -> dict:
    """The sweep directory's config.yaml: the resolved config (one optimizer or the entries) and the grid."""
    data = copy.deepcopy(cfg.resolved)
    data.pop("sweep", None)
    if any(a.path == ("seed",) for a in members.axes):
        data.pop("seeds", None)  # the seed axis holds them
    if not members.entry_labels:
        entry = data.pop("optimizers")[0]
        entry.pop("label", None)
        data = {**{k: v for k, v in data.items() if k != "schedule"}, "optimizer": entry, "schedule": data["schedule"]}
    data["sweep"] = {format_path(a.path): a.as_written for a in members.axes}
    return data
