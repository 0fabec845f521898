"""The one lockstep loop: R members advance together, one vectorized step at a time.

Parameters, gradients and optimizer state carry a leading runs axis R. Members are grouped for their optimizer
calls (groups.py); there is no Python loop over members. A member whose loss, gradient or parameters become
non-finite is frozen at its last finite parameters and marked diverged at that step; the others go on.

The engine computes; it does not write files or print. What it records goes to a `Sink` (streamed to disk by the
runner, or kept in memory for sweeps and tests).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

import numpy as np

from .. import signals
from ..errors import PluginError
from ..problems.targets import GoalTracker, Target
from .groups import NARROW, WIDE, Group, GroupSpec, Member, build_groups, current_lr, groups_of, make_schedule


class Problem(Protocol):
    """What the engine needs of a problem (toy objective or model on data); see gdlab.problems."""

    dim: int  # number of parameters P

    def initial_params(self, n_runs: int) -> np.ndarray: ...  # (R, P), the same start for every member

    def total_steps(self, steps: int | None, epochs: float | None) -> int: ...

    def loss_and_grad(self, params: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]: ...  # (R,), (R, P)

    def epoch(self, k: int) -> float: ...

    def evaluate(self, params: np.ndarray) -> dict[str, np.ndarray]: ...  # whole-data metrics, each (R,)

    def final_loss(self, params: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...  # loss (R,), grad (R, P)

    # Optional: step_columns, step_metrics(params, loss) -> {name: (R,)} and optimum f* (toys; problems.toy)


class Sink(Protocol):
    def log(self, step: int, epoch: float, values: dict[str, np.ndarray], rows: np.ndarray) -> None: ...

    def path(self, step: int, params: np.ndarray, rows: np.ndarray) -> None: ...


@dataclass
class StackResult:
    """Per-member outcome of a stack, each array (R,) in member order."""

    status: list[str]  # "completed" | "diverged" | "interrupted"
    steps_run: np.ndarray  # updates applied before the end, the divergence or the interrupt
    diverged_at: np.ndarray  # step at which the loss or parameters became non-finite, -1 when never
    final_loss: np.ndarray  # loss at the final (or last finite) parameters
    best_loss: np.ndarray
    final_params: np.ndarray  # (R, P)
    final_metrics: dict[str, np.ndarray]  # whole-data evaluation at the end (datasets)
    blowup: dict[str, np.ndarray]  # last finite loss, gradient norm and lr where a member diverged (nan otherwise)
    wall_time_s: float
    total_steps: int
    interrupted: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    reached_at: np.ndarray | None = None  # (R,) updates after which the target first held, -1 when never
    reached_time_s: np.ndarray | None = None  # (R,) seconds into the loop when it did, nan when never
    failures: dict[int, str] = field(default_factory=dict)  # member -> why it failed (a plugin raised): "failed"


def run_stack(
    problem: Problem,
    members: list[Member] | list[GroupSpec],
    *,
    steps: int | None,
    epochs: float | None = None,
    schedule: Callable[[int, int], Any] | None = None,
    dtype: str = "float64",
    log_every: int = 1,
    eval_every: int | None = None,
    path_every: int = 0,
    sink: Sink | None = None,
    progress: Callable[[int, int], None] | None = None,
    target: Target | None = None,
) -> StackResult:
    """Run every member for the same number of steps and return their outcome.

    members: Member records (a compare), or GroupSpecs whose indices cover 0..R-1 (a sweep).
    path_every: record the parameters every that many steps (0: never); the start and the end always.
    target: record, per member, after how many updates (and seconds) it first met the target (steps to tolerance).

    A member whose loss or parameters turn non-finite is frozen: its parameters at that moment are set aside and
    its row of the stack computes on, unread (masking every array at every step would cost more than the row).
    A plugin that raises (a PluginError) freezes the members that use it, status "failed"; the others go on.
    """
    schedule = schedule or make_schedule("constant", {})
    total = problem.total_steps(steps, epochs)
    specs = members if members and isinstance(members[0], GroupSpec) else groups_of(members)
    n = sum(len(g.index) for g in specs)
    params = np.ascontiguousarray(problem.initial_params(n), dtype=dtype)  # (R, P)
    groups = build_groups(specs, params, schedule, total)
    fates = _Fates.start(params)
    alive = fates.alive
    for g in groups:
        if g.failure:
            fates.fail(_rows(g, n), g.failure, 0, params)

    def fail(g, exc: PluginError, step: int) -> None:
        g.fail(str(exc))
        fates.fail(_rows(g, n) & alive, g.failure, step, params)

    extra_columns = tuple(getattr(problem, "step_columns", ()))
    want = getattr(sink, "step_columns", STEP_COLUMNS + extra_columns)  # what the sink keeps of every logged step
    wanted_extra = [c for c in extra_columns if c in want]

    def step_values(loss: np.ndarray, grad: np.ndarray, t: int, params: np.ndarray) -> dict[str, np.ndarray]:
        values = {"loss": loss}
        if "grad_norm" in want:
            values["grad_norm"] = row_norms(grad)
        if "lr" in want:
            values["lr"] = current_lr(groups, t, n)
        if wanted_extra:
            values.update((k, v) for k, v in problem.step_metrics(params, loss).items() if k in wanted_extra)
        return values

    goal = GoalTracker(target, problem, n)

    best = np.full(n, np.inf)  # lowest loss seen at the steps (toys) ...
    best_eval = np.full(n, np.inf)  # ... or on the whole training data (datasets: "train_loss")
    progress_every = max(1, total // 200)
    interrupted = False
    done = 0  # updates completed: the step the parameters are at
    last_logged = -1
    previous = None  # (loss, grad, t) of the last step: a member failing now was finite then
    start = time.perf_counter()
    with np.errstate(all="ignore"):  # overflow in a diverging member is a result, not a warning
        try:
            signals.open_window()  # signals stop the loop from here (one held back during set-up: before step 0)
            for k in range(total):
                try:
                    loss, grad = problem.loss_and_grad(params, k)
                except PluginError as exc:  # an objective plugin: every member shares it
                    fates.problem_failed = str(exc)
                    fates.fail(alive.copy(), str(exc), k, params)
                    break
                finite = np.isfinite(loss)  # a non-finite gradient shows in the parameters after the update
                if not finite.all():
                    fates.freeze(alive & ~finite, k, k, params, previous, groups)
                np.fmin(best, loss if alive.all() else np.where(alive, loss, np.inf), out=best)
                goal.check_step(params, loss, alive, k, start)
                if eval_every and k % eval_every == 0:
                    metrics = problem.evaluate(params)
                    _track_best(best_eval, metrics, alive)
                    goal.check(metrics, alive, k, start)
                    if sink is not None:
                        sink.log(k, problem.epoch(k), metrics, alive)
                if sink is not None:
                    if k % log_every == 0:
                        sink.log(k, problem.epoch(k), step_values(loss, grad, k + 1, params), alive)
                        last_logged = k
                    if path_every and k % path_every == 0:
                        sink.path(k, params, alive)
                new = _advance(groups, grad, params, k, fail)
                ok = _finite_rows(new)
                if not ok.all():
                    fates.freeze(alive & ~ok, k + 1, k, params, (loss, grad, k + 1), groups)
                previous = (loss, grad, k + 1)
                params = new
                done = k + 1
                if progress is not None and (k + 1) % progress_every == 0:
                    progress(done, total)
            signals.close_window()
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM (gdlab.signals): keep what ran
            interrupted = signals.close_window()  # True; held mode again before anything else runs
        with signals.held():  # the end point is computed and logged whole, whatever arrives now
            params = fates.restore(params)
            try:
                if fates.problem_failed:
                    raise PluginError(fates.problem_failed)
                final_loss, final_grad = problem.final_loss(params)
                final_metrics = problem.evaluate(params)
            except PluginError as exc:  # the objective fails: the loss of the last step stands for the end
                fates.fail(alive.copy(), str(exc), done, params)
                final_loss = previous[0].copy() if previous is not None else np.full(n, np.nan)
                final_grad, final_metrics = np.zeros_like(params), {}
            if not interrupted:  # the end point counts: the loop checks points before their update
                goal.check_step(params, final_loss, alive, done, start, final_metrics)
            wall = time.perf_counter() - start
            diverged_at = fates.diverged_at
            end_ok = alive & np.isfinite(final_loss)
            final_loss = np.where(end_ok | (diverged_at < 0), final_loss, fates.blowup["last_finite_loss"])
            np.fmin(best, np.where(np.isfinite(final_loss), final_loss, np.inf), out=best)
            if "train_loss" in final_metrics:  # datasets: the best whole-data loss, not the best mini-batch loss
                _track_best(best_eval, final_metrics, alive | (diverged_at < 0))
                best = np.fmin(best_eval, np.where(np.isfinite(final_loss), final_loss, np.inf))
            if sink is not None:
                end_step = done
                if end_step != last_logged:
                    sink.log(end_step, problem.epoch(end_step), step_values(final_loss, final_grad, end_step + 1,
                                                                                 params), alive)
                if final_metrics and eval_every:
                    sink.log(end_step, problem.epoch(end_step), final_metrics, alive)
                if path_every:
                    sink.path(end_step, params, alive)
    if progress is not None and not interrupted:
        progress(done, total)
    status = ["diverged" if d >= 0 else ("interrupted" if interrupted else "completed") for d in diverged_at]
    for i in fates.failures:
        status[i] = "failed"
    failed = np.zeros(n, dtype=bool)
    failed[list(fates.failures)] = True
    steps_run = np.where((diverged_at >= 0) | failed, fates.stopped_at, done)
    best = np.where(np.isfinite(best), best, np.nan)
    return StackResult(status, steps_run, diverged_at, final_loss, best, params, final_metrics, fates.blowup, wall,
                       total, interrupted, reached_at=goal.reached_at, reached_time_s=goal.reached_time_s,
                       failures=dict(fates.failures))


def _advance(groups: list[Group], grad: np.ndarray, params: np.ndarray, k: int, fail) -> np.ndarray:
    """The parameters after update k + 1 of every group; a group whose plugin fails keeps its parameters."""
    if len(groups) == 1:  # a run or a one-optimizer sweep: the update's array is the new params
        g = groups[0]
        try:
            new, g.state = g.update(grad, g.state, params, k + 1)
        except PluginError as exc:
            fail(g, exc, k)
            new = params
        return new
    new = np.empty_like(params)
    for g in groups:
        try:
            new[g.index], g.state = g.update(grad[g.index], g.state, params[g.index], k + 1)
        except PluginError as exc:
            fail(g, exc, k)
            new[g.index] = params[g.index]
    return new


def _rows(g: Group, n: int) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    mask[g.index] = True
    return mask


STEP_COLUMNS = ("loss", "grad_norm", "lr")  # logged at every log_every-th step unless the sink wants fewer


@dataclass
class _Fates:
    """Which members still run, and for the frozen ones: when they stopped, their parameters then, and why."""

    alive: np.ndarray  # (R,) bool
    diverged_at: np.ndarray  # (R,) step, -1 while running
    stopped_at: np.ndarray  # (R,) updates applied before the member froze
    held: np.ndarray  # (R, P) the parameters each frozen member keeps
    blowup: dict[str, np.ndarray]  # last finite loss, gradient norm and lr where a member diverged (nan otherwise)
    failures: dict[int, str] = field(default_factory=dict)  # member -> why its plugin failed
    problem_failed: str | None = None  # why the problem (an objective plugin) failed: no end point to evaluate

    def fail(self, rows: np.ndarray, reason: str, step: int, params: np.ndarray) -> None:
        """Members `rows` stop at `step` (updates applied) because user code failed; they keep `params`."""
        rows = rows & self.alive
        self.held[rows] = params[rows]
        self.stopped_at[rows] = step
        self.alive &= ~rows
        self.failures.update({int(i): reason for i in np.flatnonzero(rows)})

    @classmethod
    def start(cls, params: np.ndarray) -> "_Fates":
        n = params.shape[0]
        return cls(np.ones(n, dtype=bool), np.full(n, -1, dtype=np.int64), np.full(n, -1, dtype=np.int64),
                   np.empty_like(params), {k: np.full(n, np.nan) for k in ("last_finite_loss", "grad_norm", "lr")})

    def freeze(self, bad: np.ndarray, step: int, updates: int, params: np.ndarray, last: tuple | None,
               groups: list[Group]) -> None:
        """Mark `bad` members diverged at `step` with `params`; last: (loss, grad, t) of their last finite step."""
        if not bad.any():
            return
        self.held[bad] = params[bad]  # first: a Ctrl-C between these lines must not restore unset rows
        self.diverged_at[bad] = step
        self.stopped_at[bad] = updates
        self.alive &= ~bad
        if last is not None:
            loss, grad, t = last
            self.blowup["last_finite_loss"][bad] = loss[bad]
            self.blowup["grad_norm"][bad] = row_norms(grad[bad])
            self.blowup["lr"][bad] = current_lr(groups, t, len(bad))[bad]

    def restore(self, params: np.ndarray) -> np.ndarray:
        """`params` with the frozen members' rows put back to what they froze with."""
        frozen = ~self.alive
        if frozen.any():
            params = params.copy()
            params[frozen] = self.held[frozen]
        return params


def _track_best(best: np.ndarray, metrics: dict[str, np.ndarray], alive: np.ndarray) -> None:
    if "train_loss" in metrics:
        v = metrics["train_loss"]
        np.fmin(best, np.where(alive & np.isfinite(v), v, np.inf), out=best)


def _finite_rows(a: np.ndarray) -> np.ndarray:
    """(R,) True where every entry of row r of `a` is finite."""
    if a.shape[1] <= NARROW:
        ok = np.isfinite(a[:, 0])
        for j in range(1, a.shape[1]):
            ok &= np.isfinite(a[:, j])
        return ok
    if a.shape[1] >= WIDE:  # one sum per row: a nan or inf anywhere makes it non-finite (an overflowing sum of
        return np.isfinite(a.sum(axis=1))  # huge finite values too, which is a divergence by any measure)
    return np.isfinite(a).all(axis=1)


def row_norms(g: np.ndarray) -> np.ndarray:
    """Euclidean norm of each row of g (R, P), without overflow in the sum of squares for huge finite rows."""
    if g.shape[1] <= NARROW:
        squares = g[:, 0] * g[:, 0]
        for j in range(1, g.shape[1]):
            squares += g[:, j] * g[:, j]
        norms = np.sqrt(squares)
    elif g.shape[1] >= WIDE:  # a BLAS dot product per row; einsum is 3x slower on long rows, faster on short ones
        norms = np.sqrt(np.matmul(g[:, None, :], g[:, :, None])[:, 0, 0])
    else:
        norms = np.sqrt(np.einsum("rp,rp->r", g, g))
    big = ~np.isfinite(norms)
    if big.any():  # rare: rescale only the rows whose squares overflowed
        rows = g[big]
        scale = np.abs(rows).max(axis=1, keepdims=True)
        norms[big] = scale[:, 0] * np.sqrt(np.einsum("rp,rp->r", rows / scale, rows / scale))
    return norms


class MemorySink:
    """Keeps what the engine logs in memory: {column: [(step, values (R,), rows mask (R,))]} and the paths."""

    def __init__(self) -> None:
        self.logs: dict[str, list[tuple[int, np.ndarray, np.ndarray]]] = {}
        self.paths: list[tuple[int, np.ndarray, np.ndarray]] = []

    def log(self, step: int, epoch: float, values: dict[str, np.ndarray], rows: np.ndarray) -> None:
        for name, v in values.items():
            self.logs.setdefault(name, []).append((step, np.array(v, copy=True), rows.copy()))

    def path(self, step: int, params: np.ndarray, rows: np.ndarray) -> None:
        self.paths.append((step, params.copy(), rows.copy()))

    def column(self, name: str, member: int) -> tuple[np.ndarray, np.ndarray]:
        """(steps, values) logged for one member."""
        rows = [(s, v[member]) for s, v, m in self.logs.get(name, []) if m[member]]
        return np.array([r[0] for r in rows], dtype=int), np.array([r[1] for r in rows])

    def trajectory(self, member: int) -> np.ndarray:
        return np.array([p[member] for _, p, m in self.paths if m[member]])
