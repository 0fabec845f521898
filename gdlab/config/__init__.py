"""From YAML to validated, frozen records: the config of a run, a compare or a sweep.

    yamlio.py    YAML with the line of every key; `--set key.path=value` overrides
    checker.py   checks that name the key path, the bad value, what is accepted and the YAML line
    load.py      the config schema: Config; load_config, validate (the problem, the budget, predictions)
    optimizers.py  optimizer entries (OptimizerSpec) and schedules, checked against the factories' signatures
    grid.py      sweep grids: `--grid key=values`, linspace/logspace, member names

Names and defaults of optimizers, schedules, objectives, datasets and models are not written here: they are read
from the factories' signatures (gdlab.optim, gdlab.problems).
"""

from ..problems.spec import ProblemSpec
from .load import Config, OptimizerSpec, load_config, member_config, validate

__all__ = ["Config", "OptimizerSpec", "ProblemSpec", "load_config", "member_config", "validate"]
