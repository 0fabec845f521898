"""Who the members of a sweep are: which config entries each grid axis applies to, the grid of each entry, and
the members' names. (plan.py turns them into stacks.)"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from itertools import repeat

import numpy as np

from ..config import Config
from ..config.grid import Axis
from ..config.yamlio import KeyPath, format_path
from ..errors import ConfigError
from ..registry import did_you_mean

NOT_HYPERPARAMETERS = ("name", "label", "schedule")  # keys of an entry that an axis may sweep besides its numbers


@dataclass(frozen=True)
class Members:
    axes: list[Axis]
    kinds: list[str]  # per axis: "optimizer" (inside an entry), "schedule" (the config's), "problem" (the rest)
    rest: list[KeyPath]  # per axis: the path inside the entry for "optimizer" axes (("lr",), ("betas", 1)), else ()
    targets: list[frozenset]  # per axis: the entries it applies to
    index: np.ndarray  # (n_axes, R) value index of each member on each axis; -1 where the axis does not apply
    entry: np.ndarray  # (R,) entry of each member
    entry_labels: tuple[str, ...]  # labels of a compare's entries; () for a config with one `optimizer:`
    given: dict  # the config as written (overrides applied): what each member's config is built from

    @property
    def size(self) -> int:
        return int(self.entry.size)

    def applying_to_entry(self, m: int) -> list[int]:
        return [j for j, t in enumerate(self.targets) if m in t]

    def entry_data(self, m: int) -> dict:
        """The config as written, with entry m as its one `optimizer:` (a fresh copy)."""
        data = {k: copy.deepcopy(v) for k, v in self.given.items() if k not in ("optimizer", "optimizers", "sweep")}
        entries = self.given["optimizers"] if "optimizers" in self.given else [self.given["optimizer"]]
        e = entries[m]
        data["optimizer"] = {"name": e} if isinstance(e, str) else copy.deepcopy(e)
        return data

    def write_path(self, j: int, m: int) -> KeyPath:
        """Where axis j's value goes in entry m's single-optimizer config."""
        return ("optimizer",) + self.rest[j] if self.kinds[j] == "optimizer" else self.axes[j].path

    def label_key(self, j: int) -> str:
        """`lr` for optimizer.lr and optimizers[1].lr alike: the member's name says which entry it is."""
        return format_path(self.rest[j]) if self.kinds[j] == "optimizer" else self.axes[j].short


def expand_members(cfg: Config, axes: list[Axis]) -> Members:
    """The members of a sweep: entry by entry, the product grid of the axes that apply to the entry."""
    given = cfg.origin.given if cfg.origin is not None else cfg.resolved
    compare = "optimizers" in given
    n_entries = len(cfg.optimizers)
    own_schedule = [o.schedule is not None for o in cfg.optimizers]
    kinds, rest, targets = [], [], []
    for axis in axes:
        kind, inside, applies = _classify(axis, compare, n_entries, own_schedule)
        kinds.append(kind)
        rest.append(inside)
        targets.append(frozenset(applies))
    _check_hyperparameters(cfg, axes, kinds, rest, targets)
    blocks, entry = [], []
    for m in range(n_entries):
        mine = [j for j in range(len(axes)) if m in targets[j]]
        shape = tuple(len(axes[j].values) for j in mine)
        grid = np.indices(shape).reshape(len(mine), -1) if mine else np.zeros((0, 1), dtype=np.int64)
        block = np.full((len(axes), grid.shape[1]), -1, dtype=np.int64)
        block[mine] = grid
        blocks.append(block)
        entry.append(np.full(grid.shape[1], m, dtype=np.int64))
    labels = tuple(o.label for o in cfg.optimizers) if compare else ()
    return Members(list(axes), kinds, rest, targets, np.concatenate(blocks, axis=1), np.concatenate(entry), labels,
                   given)


def _classify(axis: Axis, compare: bool, n_entries: int, own_schedule: list[bool]) -> tuple[str, KeyPath, set]:
    p, key = axis.path, axis.key
    everyone = set(range(n_entries))
    if p[0] == "optimizer":
        if len(p) < 2:
            raise ConfigError(f"--grid {key}: sweep a key inside the optimizer, such as optimizer.lr or optimizer.name")
        if compare and p[1] == "label":
            raise ConfigError(f"--grid {key}: labels name the entries of a compare; they are not swept")
        return "optimizer", tuple(p[1:]), everyone
    if p[0] == "optimizers":
        if not compare:
            raise ConfigError(f"--grid {key}: this config has one optimizer (`optimizer:`); sweep "
                              f"optimizer.{format_path(p[2:]) or 'lr'}")
        if len(p) < 3 or not isinstance(p[1], int):
            raise ConfigError(f"--grid {key}: name a key of one entry, such as optimizers[0].lr")
        if p[1] >= n_entries:
            raise ConfigError(f"--grid {key}: the config lists {n_entries} optimizers (optimizers[0] to "
                              f"optimizers[{n_entries - 1}])")
        return "optimizer", tuple(p[2:]), {p[1]}
    if p[0] == "schedule":
        users = {m for m in everyone if not own_schedule[m]}
        if not users:
            raise ConfigError(f"--grid {key}: every entry has its own schedule; sweep one with "
                              f"optimizers[i].{key}")
        return "schedule", (), users
    if p[0] == "sweep":
        raise ConfigError(f"--grid {key}: the grid cannot sweep itself")
    return "problem", (), everyone


def _check_hyperparameters(cfg: Config, axes: list[Axis], kinds: list[str], rest: list, targets: list) -> None:
    """An axis over a hyperparameter must apply to every entry it targets (unless that entry's name is swept too:
    then each optimizer it becomes is checked on its own)."""
    for j, axis in enumerate(axes):
        if kinds[j] != "optimizer" or rest[j][0] in NOT_HYPERPARAMETERS:
            continue
        key = rest[j][0]
        for m in sorted(targets[j]):
            renamed = any(kinds[i] == "optimizer" and rest[i] == ("name",) and m in targets[i] for i in range(len(axes)))
            o = cfg.optimizers[m]
            if renamed or key in o.hparams:
                continue
            accepted = ", ".join((*NOT_HYPERPARAMETERS, *o.hparams))
            if "optimizers" not in (cfg.origin.given if cfg.origin else {}):  # one optimizer: a misspelt key
                raise ConfigError(f"--grid {axis.key}: optimizer {o.name} has no hyperparameter {key!r}"
                                  f"{did_you_mean(key, list(o.hparams))}\n  accepted: {accepted}")
            having = [f"optimizers[{i}]" for i, other in enumerate(cfg.optimizers) if key in other.hparams]
            hint = f"; sweep it where it applies: {', '.join(f'--grid {h}.{key}=...' for h in having)}" if having else \
                did_you_mean(key, list(o.hparams))
            raise ConfigError(f"--grid {axis.key}: does not apply to {o.label} (optimizers[{m}]): optimizer {o.name} "
                              f"has no hyperparameter {key!r}{hint}")


def member_labels_of(members: Members, prefixes: list[str], variant_of: np.ndarray) -> list[str]:
    """`momentum[lr=0.4,momentum=0.5]` for every member: its variant's prefix (optimizer or entry) and the values
    of the axes that apply to it (a swept optimizer name is the prefix itself)."""
    out: list[str] = [""] * members.size
    texts = [[f"{members.label_key(j)}={_fmt(v)}" for v in a.values] for j, a in enumerate(members.axes)]
    for m in range(len(members.entry_labels) or 1):
        rows = np.flatnonzero(members.entry == m)  # entries are contiguous blocks of the member list
        js = [j for j in members.applying_to_entry(m)
              if not (members.kinds[j] == "optimizer" and members.rest[j] == ("name",))]
        columns = [[texts[j][i] for i in members.index[j, rows].tolist()] for j in js]
        cells_of = zip(*columns) if columns else repeat((), len(rows))
        mine = variant_of[rows]
        if rows.size and (mine == mine[0]).all():  # one prefix for the block: built column-wise, fast
            prefix = prefixes[int(mine[0])]
            block = [f"{prefix}[{','.join(cells)}]" if cells else prefix for cells in cells_of]
        else:
            block = [f"{prefixes[v]}[{','.join(cells)}]" if cells else prefixes[v]
                     for v, cells in zip(mine.tolist(), cells_of)]
        if rows.size:
            out[rows[0]:rows[-1] + 1] = block
    return out


def _fmt(v) -> str:
    return f"{v:.6g}" if isinstance(v, float) else str(v)
