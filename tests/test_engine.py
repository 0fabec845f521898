"""The lockstep engine: members in a stack behave exactly as alone; divergence freezes one member only."""

from __future__ import annotations

import numpy as np
import pytest

from gdlab.engine import MemorySink, Member, make_schedule, run_stack
from gdlab.problems.objectives import make_objective
from gdlab.optim import OPTIMIZERS
from gdlab.problems.toy import ToyProblem


def member(name: str, label: str | None = None, **hp) -> Member:
    return Member(label or name, name, {**OPTIMIZERS.defaults(name), **hp})


def toy(objective="rosenbrock", init=(-1.5, 2.0), noise=0.0, seed=0, **params) -> ToyProblem:
    return ToyProblem(make_objective(objective, params), init, noise, np.random.default_rng(seed))


MIXED = [
    member("sgd", lr=1e-3),
    member("adam", "adam a", lr=0.02),
    member("momentum", lr=5e-4, momentum=0.8),
    member("adam", "adam b", lr=0.05, betas=(0.8, 0.99)),  # same optimizer, not contiguous: an index group
    member("nesterov", lr=5e-4),
    member("adagrad", lr=0.3),
    member("rmsprop", lr=0.01, centered=True, momentum=0.5),
    member("adadelta", rho=0.95),
    member("adamw", lr=0.03, amsgrad=True),
    member("nadam", lr=0.02),
    member("radam", lr=0.03),
    member("adamax", lr=0.05),
    member("sgd", "sgd wd", lr=1e-3, weight_decay=0.1, momentum=0.5, dampening=0.3),
]


def run(problem_factory, members, steps=150, **kw):
    sink = MemorySink()
    result = run_stack(problem_factory(), members, steps=steps, sink=sink, path_every=1, **kw)
    return result, sink


@pytest.mark.parametrize("noise", [0.0, 0.5])
def test_a_member_in_a_stack_gives_bit_for_bit_what_it_gives_alone(noise):
    stacked, sink = run(lambda: toy(noise=noise, seed=3), MIXED, schedule=make_schedule("cosine", {}))
    for i, m in enumerate(MIXED):
        alone, alone_sink = run(lambda: toy(noise=noise, seed=3), [m], schedule=make_schedule("cosine", {}))
        assert np.array_equal(stacked.final_params[i], alone.final_params[0]), m.label
        assert np.array_equal(sink.trajectory(i), alone_sink.trajectory(0)), m.label
        assert np.array_equal(sink.column("loss", i)[1], alone_sink.column("loss", 0)[1]), m.label


def test_d2l_end_points_through_the_engine():
    members = [member("sgd", "gd 0.4", lr=0.4), member("sgd", "gd 0.6", lr=0.6),
               member("momentum", "mom 0.4", lr=0.4, momentum=0.5), member("momentum", "mom 0.6", lr=0.6, momentum=0.5)]
    result, sink = run(lambda: toy("bowl2d", (-5.0, -2.0)), members, steps=20)
    expected = [(-0.943467, -0.000073), (-0.387814, -1673.365109), (-0.062843, 0.001202), (0.007188, 0.002553)]
    np.testing.assert_allclose(np.round(result.final_params, 6), expected, rtol=0, atol=1e-12)
    assert sink.trajectory(0).shape == (21, 2)  # the start and one row per update
    np.testing.assert_array_equal(sink.trajectory(0)[0], [-5.0, -2.0])


def test_divergence_freezes_only_the_diverging_member():
    """d2l's gradient descent at lr 0.6 grows |x2| by 1.4 a step: 2·x2² overflows near step 1050."""
    members = [member("sgd", "gd 0.4", lr=0.4), member("sgd", "gd 0.6", lr=0.6)]
    result, sink = run(lambda: toy("bowl2d", (-5.0, -2.0)), members, steps=3000)
    assert result.status == ["completed", "diverged"]
    at = result.diverged_at[1]
    expected = np.log(np.sqrt(np.finfo(float).max / 2) / 2) / np.log(1.4)  # 2·(2·1.4^k)² = max float
    assert abs(at - expected) <= 2 and 1040 <= at <= 1060
    assert result.steps_run.tolist() == [3000, at]
    assert np.isfinite(result.final_params).all() and np.isfinite(result.final_loss).all()
    steps, losses = sink.column("loss", 1)
    assert steps.max() < at and np.isfinite(losses).all()  # metrics up to the blow-up are kept, all finite
    assert result.blowup["last_finite_loss"][1] == losses[-1]
    assert result.blowup["lr"][1] == 0.6 and np.isnan(result.blowup["lr"][0])
    assert result.final_loss[0] < 1e-30  # the other member went on to the end
    # the frozen member keeps the parameters it had after its last update, bit for bit
    alone, _ = run(lambda: toy("bowl2d", (-5.0, -2.0)), members[1:], steps=int(result.steps_run[1]))
    assert np.array_equal(result.final_params[1], alone.final_params[0])


def test_interrupt_stops_cleanly_with_the_steps_run():
    calls = []

    def progress(done, total):
        calls.append(done)
        if done == 40:  # Ctrl-C once, as a user would (the progress callback comes every 5 of 1000 steps)
            raise KeyboardInterrupt

    result, sink = run(lambda: toy("bowl2d", (-5.0, -2.0)), [member("sgd", lr=0.1)], steps=1000, progress=progress)
    assert result.interrupted and result.status == ["interrupted"]
    assert result.steps_run[0] == 40
    assert sink.column("loss", 0)[0][-1] == 40  # the loss at the point reached is logged
    assert len(sink.trajectory(0)) == 41


def test_log_every_thins_metrics_but_keeps_the_last_step():
    result, sink = run(lambda: toy("bowl2d", (-5.0, -2.0)), [member("sgd", lr=0.1)], steps=25, log_every=10)
    assert sink.column("loss", 0)[0].tolist() == [0, 10, 20, 25]


def test_schedule_scales_the_logged_learning_rate():
    sched = make_schedule("step", {"step_size": 5, "gamma": 0.5})
    result, sink = run(lambda: toy("bowl2d", (-5.0, -2.0)), [member("sgd", lr=0.4)], steps=12, schedule=sched)
    steps, lr = sink.column("lr", 0)
    np.testing.assert_allclose(lr[:12], [0.4] * 5 + [0.2] * 5 + [0.1] * 2)


def test_best_loss_is_the_lowest_seen_and_final_the_last():
    result, sink = run(lambda: toy("bowl2d", (-5.0, -2.0)), [member("adam", lr=0.4)], steps=20)
    losses = sink.column("loss", 0)[1]
    assert result.best_loss[0] == losses.min() and result.final_loss[0] == losses[-1]
    assert result.best_loss[0] < result.final_loss[0]  # Adam overshoots on this bowl


def test_float32_runs_stay_float32():
    result, _ = run(lambda: toy("bowl2d", (-5.0, -2.0)), MIXED[:4], steps=5, dtype="float32")
    assert result.final_params.dtype == np.float32
