"""Running a sweep's batches through an executor (executors.py), each finished batch recorded as it arrives.

In this process a batch runs with signals held but for the engine's loop (Ctrl-C stops the loop, even one that came
during the batch's set-up, and the engine keeps what ran: gdlab.signals.open_window); on workers the parent waits
with signals allowed and records with them held, so a record is never cut short. A batch whose worker died twice
comes back as failed members with the reason; an interrupted batch is kept in memory for the files written now, but
not recorded: a resume runs it again from its start.
"""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path
from typing import Callable

from .. import signals
from ..allocator import applied, keep_freed_memory
from ..problems.datasets import files_of
from ..problems.learning import keep_datasets
from .batch import BatchResult, run_batch
from .executors import BatchFailure, Executor, InProcess
from .plan import Batch
from .recorded import failed_result, load_result, record_result

_worker_keeps_datasets = False


def run_in_worker(batch: Batch, target=None, keep_memory: bool = False) -> BatchResult:
    """What a worker process runs: one batch, its dataset kept loaded for the worker's next batches (the data is
    read from disk by each worker once, never pickled with a batch); target: steps to it recorded (tune).

    keep_memory: keep freed memory in the heap as the command line's process does (gdlab.allocator). A Dask worker
    starts with MALLOC_TRIM_THRESHOLD_=65536 (its nanny's default), which hands every freed activation back to the
    kernel and made a batch of DLFS MNIST members about 1.7 times slower than on a local worker."""
    _keep_for_life(keep_memory)
    return run_batch(batch, target=target)


def ready_worker(problems: tuple, keep_memory: bool = False) -> None:
    """A local worker's start-up (LocalPool.prepare), while the parent builds and probes the same problems: each
    dataset problem of `problems` (ProblemPlan) built once and let go, so that its data is read and kept, and the
    memory its rows and members take is touched once and stays in the heap for the first batch. (On this machine
    the first touch of fresh memory costs about as much as the loop of a 5-member DLFS batch.) Nothing is
    downloaded here and nothing raised: the parent builds the same problems and reports what is wrong."""
    _keep_for_life(keep_memory)
    for plan in problems:
        spec = plan.spec
        try:
            if spec.kind == "dataset" and all(os.path.isfile(f) for f in files_of(spec.name, spec.split,
                                                                                   spec.data_dir)):
                plan.build()
        except Exception:  # noqa: BLE001 - reported by the parent, which builds it too
            pass


def _keep_for_life(keep_memory: bool) -> None:
    global _worker_keeps_datasets
    if not _worker_keeps_datasets:
        keep_datasets().__enter__()  # for the worker's lifetime (a Dask worker serves many sweeps): the last
        # DATASETS_KEPT datasets stay loaded, each dropped when its file changes (learning._identity)
        if keep_memory:
            keep_freed_memory()
        _worker_keeps_datasets = True


def execute(todo: list[Batch], totals: dict[int, int], executor: Executor, run_dir: Path | None,
            progress: Callable[[int, int], None] | None = None, target=None,
            prefix: str = "batch") -> tuple[list[BatchResult], bool]:
    """Run `todo` (batches by number, with their total steps) and return (their results, interrupted).

    run_dir: where finished batches are recorded, named `prefix-NNNNNN` (their results then come back
    memory-mapped from the record); None keeps every result in memory.
    """
    results: list[BatchResult] = []
    grand, done = sum(totals[b.number] for b in todo), [0]
    by_number = {b.number: b for b in todo}

    def here(batch: Batch) -> BatchResult:
        report = None if progress is None else (lambda d, t, o=done[0]: progress(o + d, grand))
        with signals.held():  # inside the wait's allowed(): the batch's set-up is never cut short; the engine
            return run_batch(batch, progress=report, target=target)  # opens the window a signal stops its loop in

    fn = here if isinstance(executor, InProcess) else partial(run_in_worker, target=target, keep_memory=applied())
    finished = executor.run(fn, by_number)
    interrupted = False
    try:
        while not signals.pending():  # a signal held back while a batch was recorded: stop here
            with signals.allowed():
                try:
                    number, outcome = next(finished)
                except StopIteration:
                    break
            if isinstance(outcome, BatchFailure):
                result = failed_result(by_number[number], outcome.reason)
            elif outcome.interrupted:
                results.append(outcome)
                interrupted = True
                break
            elif run_dir is not None:
                record_result(run_dir, outcome, prefix)
                result = load_result(run_dir, number, prefix)  # mapped from the record: its memory is given back
            else:
                result = outcome
            results.append(result)
            done[0] += totals[number]
            if progress is not None:
                progress(done[0], grand)
    except KeyboardInterrupt:
        interrupted = True
    interrupted = interrupted or signals.pending()
    if interrupted:
        finished.close()
        executor.close(cancel=True)  # workers stop now; every finished batch is recorded already
    return results, interrupted
