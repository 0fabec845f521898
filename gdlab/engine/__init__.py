"""The lockstep engine: R members advance together, one vectorized step at a time; no files, no screen.

    loop.py     run_stack: steps, divergence, interrupts, what a stack returns (StackResult), MemorySink
    groups.py   members grouped for one optimizer call each: Member, GroupSpec, per-member hyperparameter columns
"""

from .groups import GroupSpec, Member, as_index, build_groups, group_key, groups_of, make_schedule
from .loop import STEP_COLUMNS, MemorySink, Problem, Sink, StackResult, row_norms, run_stack

__all__ = ["GroupSpec", "Member", "MemorySink", "Problem", "STEP_COLUMNS", "Sink", "StackResult", "as_index",
           "build_groups", "group_key", "groups_of", "make_schedule", "row_norms", "run_stack"]
