"""A plan's batches (a tune's trials, a bench problem's reruns) run with each finished batch recorded in a run
directory as it completes, and on a resume only the batches without a record run: what `gdlab tune --resume` and
`gdlab bench --resume` rest on. The records are a sweep's (recorded.py, outputs/batch_records.py), each plan's named
by its own prefix; how the plan was cut into batches is recorded the first time (`<prefix>.pieces.json`), so that a
resume cuts the same way whatever executor it runs on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from ..outputs.batch_records import read_plan, write_plan
from .batch import BatchResult
from .cutting import choose_pieces, cut
from .execute import execute
from .plan import SweepPlan
from .recorded import load_result, recorded_numbers


def run_recorded(plan: SweepPlan, executor, run_dir: Path, prefix: str,
                 progress: Callable[[int, int], None] | None = None,
                 target=None) -> tuple[list[BatchResult], int, bool]:
    """Every batch of `plan`: those recorded in run_dir under `prefix` read back (memory-mapped), the others run on
    `executor` and recorded as each finishes. Returns (results in batch order, number of batches, interrupted).
    target: steps to it recorded per member (tune, bench)."""
    from .runner import _work

    problems = [b.problem.build() for b in plan.batches]
    totals = [p.total_steps(b.config.steps, b.config.epochs) for p, b in zip(problems, plan.batches)]
    written = read_plan(run_dir, f"{prefix}.pieces.json")
    if written is None:
        work = [_work(p, b) for p, b in zip(problems, plan.batches)]
        pieces = choose_pieces(plan, totals, work, executor.workers)
        write_plan(run_dir, {"pieces": pieces}, f"{prefix}.pieces.json")
    else:
        pieces = [tuple(p) for p in written["pieces"]]
    batches = cut(plan, pieces)
    totals_of = {b.number: totals[stack] for b, (stack, _, _) in zip(batches.batches, pieces)}
    done = recorded_numbers(run_dir, prefix)
    kept = [load_result(run_dir, number, prefix) for number in sorted(done)]
    todo = [b for b in batches.batches if b.number not in done]
    results, interrupted = [], False
    if todo:
        results, interrupted = execute(todo, totals_of, executor, run_dir, progress, target, prefix)
    finished = sorted(kept + results, key=lambda r: r.number)
    return finished, len(batches.batches), interrupted
