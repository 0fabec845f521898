"""Where batches run: this process, local worker processes, or a Dask cluster, behind one small interface.

    with open_executor(workers=2) as ex:                 # or scheduler="tcp://127.0.0.1:8786"
        for key, outcome in ex.run(fn, {key: batch, ...}):
            ...                                          # as each finishes, in any order

`fn` runs in a worker: a module-level function (pickled by reference) of one picklable batch; its result travels
back pickled (arrays, records). `outcome` is fn's result, or a `BatchFailure` when the batch could not be run:
its worker died (SIGKILL, out of memory) or fn raised something other than a GdlabError, once and again on retry.
A GdlabError (a bad config, missing data) would fail every batch the same way: it propagates.

- InProcess: one batch after the other here (`--workers 1`, the default); nothing is pickled.
- LocalPool: N processes of the standard library's ProcessPoolExecutor, started with "spawn" (a fresh interpreter:
  no inherited threads or locks, and the environment gives each worker one BLAS thread before NumPy loads); at most
  N batches in flight, so a dead worker can only have taken those with it. The batch whose worker died is charged
  and retried once; the others in flight are run again uncharged.
- DaskCluster: `distributed.Client(address)` (the optional extra gdlab[dask], imported only here). The scheduler
  moves a dead worker's task to another worker; with `allowed-failures: 1` (README) it gives up after the retry.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Hashable, Iterator, Mapping

from ..errors import ConfigError, GdlabError
from ..threads import blas_threads_for_children

SCHEDULER_ENV = "GDLAB_DASK_SCHEDULER"
DASK_EXTRA = "pip install 'gdlab[dask]'"
CONNECT_TIMEOUT_S = 10


@dataclass(frozen=True)
class BatchFailure:
    """A batch that did not produce a result, and why (shown beside its members)."""

    reason: str


class Executor:
    """Runs batches; `run` yields (key, fn(batch) or BatchFailure) as each finishes. A context manager."""

    workers = 1
    name = "in-process"

    def run(self, fn: Callable, batches: Mapping[Hashable, Any]) -> Iterator[tuple[Hashable, Any]]:
        raise NotImplementedError

    def prepare(self, warm: Callable, *args) -> None:
        """Start the workers now, each running warm(*args) once before its first batch, while this process goes on
        planning (local workers; this process and a long-lived cluster's workers have nothing to start)."""

    def close(self, cancel: bool = False) -> None:
        """Stop the workers; cancel: do not wait for batches still running (Ctrl-C)."""

    def __enter__(self) -> "Executor":
        return self

    def __exit__(self, kind, exc, tb) -> None:
        self.close(cancel=kind is not None)


class InProcess(Executor):
    def run(self, fn, batches):
        for key, batch in batches.items():
            yield key, fn(batch)


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


# ------------------------------------------------------------------------------------------------- local pool

_SLATE: str | None = None  # in a worker: the folder where it notes which batch it runs (file named by its pid)


def _worker_start(slate: str, keep_memory: bool, warm: tuple | None) -> None:
    """Initializer of a local worker: Ctrl-C is the parent's to handle (it stops the workers), memory as the CLI's,
    then `warm` = (fn, args): fn(*args), what the pool was prepared with (LocalPool.prepare)."""
    global _SLATE
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _SLATE = slate
    if keep_memory:
        from ..allocator import keep_freed_memory

        keep_freed_memory()
    if warm is not None:
        warm[0](*warm[1])


def _started() -> None:
    """A task that does nothing: submitting one per worker makes the pool start them all at once."""


def _run_noted(fn: Callable, token: int, batch: Any) -> Any:
    """fn(batch) in a worker, after noting which batch this process runs: if it dies, the parent knows which."""
    with open(os.path.join(_SLATE, str(os.getpid())), "w") as f:
        f.write(str(token))
    return fn(batch)


class _OneThreadProcess(multiprocessing.get_context("spawn").Process):
    """A spawned worker that starts with one BLAS thread, remembered for its exit code."""

    def start(self):
        with blas_threads_for_children():  # inherited by the new interpreter before it imports NumPy
            super().start()
        _STARTED.append(self)


class _SpawnContext(type(multiprocessing.get_context("spawn"))):
    Process = _OneThreadProcess


_STARTED: list = []  # worker processes just started; the pool that started them takes them (for exit codes)


def _death(code: int | None) -> str | None:
    """How a worker ended, when it died rather than being stopped by its pool (SIGTERM) or still running."""
    if code is None or code == 0 or code == -signal.SIGTERM:
        return None
    if code < 0:
        name = signal.Signals(-code).name
        return f"killed by {name}" + (" (out of memory?)" if name == "SIGKILL" else "")
    return f"exited with code {code}"


class LocalPool(Executor):
    """N spawned worker processes of a ProcessPoolExecutor, at most N batches in flight.

    When a worker dies the standard pool breaks and fails every batch in flight. Each worker notes the batch it
    runs in a small file named by its pid, so the dead worker's batch is known: it is charged a death, the others
    are simply run again. Where the culprit cannot be told (it died before noting, or by SIGTERM like the workers
    the pool stops), every batch in flight is charged and retried alone. A batch charged twice fails.
    """

    name = "local processes"

    def __init__(self, workers: int, keep_memory: bool = False):
        self.workers = workers
        self.keep_memory = keep_memory
        self._pool = None
        self._mine: list = []  # this pool's worker processes
        self._slate: str | None = None
        self._warm: tuple | None = None

    def prepare(self, warm, *args):
        """Spawn every worker now: each imports gdlab and runs warm(*args) (reads the sweep's data, touches its
        memory) while the parent builds and probes the same problems; the first batches then start at full speed."""
        self._warm = (warm, args)
        self._start()
        for _ in range(self.workers):  # the pool spawns a process per task submitted while none is idle
            self._pool.submit(_started)
        self._take_started()

    def _take_started(self) -> None:
        self._mine += _STARTED  # the processes the last submits started (a pool is driven from one thread)
        _STARTED.clear()

    def _start(self):
        import tempfile
        from concurrent.futures import ProcessPoolExecutor

        self._slate = self._slate or tempfile.mkdtemp(prefix="gdlab-workers-")
        self._pool = ProcessPoolExecutor(self.workers, mp_context=_SpawnContext(), initializer=_worker_start,
                                         initargs=(self._slate, self.keep_memory, self._warm))

    def run(self, fn, batches):
        from concurrent.futures import FIRST_COMPLETED, wait
        from concurrent.futures.process import BrokenProcessPool

        keys = list(batches)
        todo = deque(range(len(keys)))  # tokens: positions in `keys`
        alone: deque = deque()  # charged without proof (the culprit was unknown): retried one at a time
        charged: dict[int, int] = {}  # token -> deaths and failures charged to it
        running: dict = {}  # future -> token

        def launch(token: int) -> None:
            try:
                future = self._pool.submit(_run_noted, fn, token, batches[keys[token]])
            except BrokenProcessPool:  # a worker died before any batch was given (while it warmed up): start anew
                self._discard_pool()
                self._mine = []
                self._start()
                future = self._pool.submit(_run_noted, fn, token, batches[keys[token]])
            self._take_started()
            running[future] = token

        def charge(token: int, reason: str, retry: deque) -> Iterator[tuple[Hashable, BatchFailure]]:
            charged[token] = charged.get(token, 0) + 1
            if charged[token] > 1:
                yield keys[token], BatchFailure(f"{reason} (twice: it was retried once)")
            else:
                retry.appendleft(token)

        while todo or alone or running:
            if self._pool is None:
                self._start()
            if alone:
                if not running:
                    launch(alone.popleft())
            else:
                while todo and len(running) < self.workers:
                    launch(todo.popleft())
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            culprits: dict[int, str] = {}
            deaths = ""
            if any(isinstance(f.exception(), BrokenProcessPool) for f in done):
                self._discard_pool()  # waits until every future is settled and every worker has exited
                culprits, deaths = self._culprits()
                done = set(running)
            lost = []
            for future in done:
                token = running.pop(future)
                exc = future.exception()
                if exc is None:
                    yield keys[token], future.result()
                elif isinstance(exc, BrokenProcessPool):
                    lost.append(token)
                elif isinstance(exc, GdlabError):
                    raise exc
                else:  # an exception inside fn: once more, then reported
                    yield from charge(token, f"failed with {_describe(exc)}", todo)
            known = [t for t in lost if t in culprits]
            for token in lost:
                if known and token not in known:
                    todo.appendleft(token)  # lost with the dead worker's pool, not its fault: run again
                elif known:
                    yield from charge(token, culprits[token], todo)
                else:
                    yield from charge(token, f"a worker died while it ran ({deaths})", alone)

    def _culprits(self) -> tuple[dict[int, str], str]:
        """{token: how its worker died} for the workers of the broken pool that died, and all deaths in words."""
        found, deaths = {}, []
        for p in self._mine:
            how = _death(p.exitcode)
            if how is None:
                continue
            deaths.append(f"worker process {p.pid} {how}")
            try:
                with open(os.path.join(self._slate, str(p.pid))) as f:
                    found[int(f.read())] = f"its worker process {how}"
            except (OSError, ValueError):
                pass
        self._mine = []
        return found, "; ".join(deaths) or "a worker process stopped"

    def _discard_pool(self) -> None:
        self._warm = None  # the pools started after a death skip the warm-up: it may be what killed the worker
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self._pool = None

    def close(self, cancel: bool = False) -> None:
        if self._pool is not None and cancel:  # Ctrl-C: workers ignore SIGINT; stop them, do not wait
            self._pool.shutdown(wait=False, cancel_futures=True)
            for p in self._mine:
                if p.exitcode is None:
                    p.terminate()
            for p in self._mine:
                p.join()
            self._pool = None
        self._discard_pool()
        self._mine = []
        if self._slate:
            import shutil

            shutil.rmtree(self._slate, ignore_errors=True)
            self._slate = None


# ------------------------------------------------------------------------------------------------- Dask


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise ConfigError(f"--scheduler needs Dask's distributed package, an optional extra: {DASK_EXTRA}") from None
    return distributed


class DaskCluster(Executor):
    """The workers of a Dask distributed cluster, given batches only as they have a free thread for them.

    Dask's scheduler retries a task whose worker died and charges a death to every task the worker held, queued or
    running; handing out no more batches than the live workers have threads keeps a worker's queue to the batch it
    runs, so a death is charged to that batch alone (README: allowed-failures 1 means one retry).
    """

    name = "Dask cluster"
    POLL_S = 0.5  # how often the free threads are counted while waiting (workers come and go)

    def __init__(self, address: str):
        distributed = _import_distributed()
        self.address = address
        try:  # checked before a Client exists: a half-made one blocks for 20 s closing itself, then prints a traceback
            from distributed.comm.addressing import parse_address, parse_host_port
            from distributed.comm.registry import get_backend

            scheme, location = parse_address(address, strict=False)
            get_backend(scheme)  # an unknown scheme (http://...) is a ValueError
            parse_host_port(location)
        except ValueError as exc:
            raise ConfigError(f"--scheduler {address!r}: {exc}; expected tcp://HOST:PORT") from None
        try:
            self.client = distributed.Client(address, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
        except ValueError as exc:
            raise ConfigError(f"--scheduler {address!r}: {exc}; expected tcp://HOST:PORT") from None
        except (OSError, TimeoutError) as exc:
            raise GdlabError(f"cannot reach the Dask scheduler at {address} ({_describe(exc)}); start one with "
                             f"`dask scheduler` (README: Scale out)") from None
        self.workers = max(1, self._threads())
        self._running: dict = {}

    def _threads(self) -> int:
        """Threads of the workers alive now."""
        return sum(self.client.nthreads().values())

    def run(self, fn, batches):
        import queue

        distributed = _import_distributed()
        todo = deque(batches)
        failed_once: set = set()
        running = self._running  # future -> key
        finished: queue.SimpleQueue = queue.SimpleQueue()  # futures, put there by Dask's callback thread
        while todo or running:
            while todo and len(running) < max(1, self._threads()):
                key = todo.popleft()
                future = self.client.submit(fn, batches[key], key=_task_key(key), pure=False)
                running[future] = key
                future.add_done_callback(finished.put)
            try:
                future = finished.get(timeout=self.POLL_S)
            except queue.Empty:  # nothing finished: count the free threads again
                continue
            key = running.pop(future)
            if future.status == "finished":
                result = future.result()
                future.release()
                yield key, result
                continue
            exc = future.exception()
            if isinstance(exc, GdlabError):
                raise exc
            if isinstance(exc, distributed.KilledWorker):  # the scheduler already retried it on another worker
                yield key, BatchFailure("its worker died, and again on retry (Dask: KilledWorker)")
            elif key not in failed_once:  # an exception inside fn: once more, like a death
                failed_once.add(key)
                todo.appendleft(key)
            else:
                yield key, BatchFailure(f"failed with {_describe(exc)} (twice: it was retried once)")

    def close(self, cancel: bool = False) -> None:
        if cancel and self._running:
            self.client.cancel(list(self._running))
        self._running = {}
        self.client.close()


def _task_key(key: Hashable) -> str:
    """A unique task name that shows the batch on Dask's dashboard."""
    import secrets

    return f"gdlab-batch-{key}-{secrets.token_hex(4)}"


# ------------------------------------------------------------------------------------------------- choosing


def open_executor(workers: int | None = None, scheduler: str | None = None, *, keep_memory: bool = False) -> Executor:
    """The executor the command line asks for: --scheduler (or GDLAB_DASK_SCHEDULER), else --workers N, else here.

    An explicit --workers wins over the environment's scheduler; --workers with --scheduler is an error.
    """
    if workers is not None and workers < 1:
        raise ConfigError(f"--workers {workers}: must be >= 1 (1 runs in this process)")
    if scheduler is not None and workers is not None:
        raise ConfigError("--workers and --scheduler: choose one (a Dask cluster brings its own workers)")
    if scheduler is None and workers is None:
        scheduler = os.environ.get(SCHEDULER_ENV) or None
    if scheduler is not None:
        if not scheduler.strip():
            raise ConfigError("--scheduler: empty address; expected tcp://HOST:PORT")
        return DaskCluster(scheduler.strip())
    if workers is None or workers == 1:
        return InProcess()
    return LocalPool(workers, keep_memory=keep_memory)
