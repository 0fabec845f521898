"""Repetitions and tolerances of a config: `seeds:` (a count from `seed`, or a list) and `tol:`.

    seed: 3        one run per member, with seed 3
    seeds: 5       five runs per member, seeds 3..7 (from `seed`, default 0), all in one stack
    seeds: [0, 3, 7]
    tol: 1e-6      steps_to_tol counts the updates until f − f* first falls to tol (toys with a known minimum)
"""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError
from .checker import Checker, show

MAX_SEEDS = 10_000
DEFAULT_TOL = 1e-6


def check_seeds(c: Checker, data: dict) -> tuple[int, tuple[int, ...]]:
    """(seed, seeds): the base seed and every seed a member runs with (distinct, >= 0; () when not given)."""
    raw = data.get("seeds")
    if isinstance(raw, list) and data.get("seed") is not None and raw[:1] != [data["seed"]]:
        raise c.fail(("seeds",), "give either `seed:` (with `seeds: N` for N seeds from it) or a list of seeds, "
                                 "not both")
    seed = c.integer(data.get("seed", 0), ("seed",), 0)
    if raw is None:
        return seed, ()  # not given: one run with `seed` (Config.all_seeds)
    if isinstance(raw, list):
        if not raw:
            raise c.fail(("seeds",), "expected a non-empty list of seeds such as [0, 3, 7], or a count such as 5")
        seeds = tuple(c.integer(v, ("seeds", i), 0) for i, v in enumerate(raw))
        if len(set(seeds)) < len(seeds):
            twice = next(s for s in seeds if seeds.count(s) > 1)
            raise c.fail(("seeds",), f"seed {twice} is listed twice; each seed once (a repetition is a new seed)")
        if len(seeds) > MAX_SEEDS:
            raise c.fail(("seeds",), f"{len(seeds)} seeds; at most {MAX_SEEDS:,}")
        return seeds[0], seeds
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise c.fail(("seeds",), f"expected a count such as 5 or a list such as [0, 3, 7], got {show(raw)}")
    count = c.integer(raw, ("seeds",), 1)
    if count > MAX_SEEDS:
        raise c.fail(("seeds",), f"must be <= {MAX_SEEDS:,}, got {count}")
    return seed, tuple(range(seed, seed + count))


def check_tol(c: Checker, data: dict) -> float:
    tol = c.number(data.get("tol", DEFAULT_TOL), ("tol",))
    if tol < 0:
        raise c.fail(("tol",), f"must be >= 0 (the tolerance on f − f*), got {tol:g}")
    return tol


def written_repeats(seeds: tuple[int, ...], tol: float, kind: str) -> dict:
    """What a resolved config records of these: the seeds when there are several, tol for toys."""
    return {**({"seeds": list(seeds)} if len(seeds) > 1 else {}), **({"tol": tol} if kind == "objective" else {})}


def reseeded(data: dict, seed: int | None, seeds: int | None) -> dict:
    """The config mapping with the command line's --seed / --seeds applied.

    --seeds N: N seeds from --seed (or the config's seed). --seed alone: the config's count of seeds (if it gives a
    count) from that seed, otherwise that one seed instead of the config's seed or list.
    """
    if seed is not None and seed < 0:
        raise ConfigError(f"--seed: must be >= 0, got {seed}")
    if seeds is not None and not 1 <= seeds <= MAX_SEEDS:
        raise ConfigError(f"--seeds: must be between 1 and {MAX_SEEDS:,}, got {seeds}")
    if seed is None and seeds is None:
        return data
    out: dict[str, Any] = dict(data)
    base = seed if seed is not None else (out.get("seed") if isinstance(out.get("seed"), int) else None)
    if seeds is None:
        if not isinstance(out.get("seeds"), int) or isinstance(out.get("seeds"), bool):
            out.pop("seeds", None)
    else:
        if isinstance(out.get("seeds"), list) and base is None:
            base = out["seeds"][0] if out["seeds"] and isinstance(out["seeds"][0], int) else 0
        out["seeds"] = seeds
    if base is not None:
        out["seed"] = base
    return out
