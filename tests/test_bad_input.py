"""Bad command lines and configs: one message naming what is wrong, exit 2, a traceback never, nothing written."""

from __future__ import annotations

import pytest

from .battery import BOWL, gdlab_cli, write_yaml

# ============================================================================================ bad command lines
# Each case: the arguments (with {cfg}, {out}, {nowhere} and {tmp} filled in; `files` are written first), and the
# texts the one message must contain. Every case must exit 2, print no traceback and nothing on stdout, and create
# no run directory (nor anything else).


def _bowl(**changes) -> dict:
    data = {k: (dict(v) if isinstance(v, dict) else v) for k, v in BOWL.items()}
    for key, value in changes.items():
        if "." in key:
            outer, inner = key.split(".")
            data[outer][inner] = value
        else:
            data[key] = value
    return data


LINEFIT = {"problem": {"dataset": "linefit", "model": "linear", "bias": False, "loss": "mse"},
           "optimizer": {"name": "sgd", "lr": 0.01}, "steps": 5}

BAD_COMMAND_LINES = [
    ("unknown-command", ["rnu", "{cfg}"], {}, ["No such command 'rnu'", "'run'"]),
    ("unknown-option", ["run", "{cfg}", "--out", "{out}", "--sed", "3"], {}, ["--sed", "--seed"]),
    ("option-of-another-command", ["run", "{cfg}", "--optimizers", "sgd,adam", "--out", "{out}"], {},
     ["--optimizers"]),
    ("missing-config-argument", ["run", "--out", "{out}"], {}, ["Missing argument", "config"]),
    ("extra-argument", ["run", "{cfg}", "other.yaml", "--out", "{out}"], {},
     ["unexpected extra argument", "other.yaml"]),
    ("seed-not-a-number", ["run", "{cfg}", "--seed", "abc", "--out", "{out}"], {}, ["--seed", "integer"]),
    ("yaml-key-indented-wrongly", ["run", "{tmp}/indent.yaml", "--out", "{out}"],
     {"indent.yaml": "problem:\n  objective: bowl2d\n optimizer: sgd\n"}, ["indent.yaml", "line 3", "indentation"]),
    ("yaml-colon-missing", ["run", "{tmp}/colon.yaml", "--out", "{out}"],
     {"colon.yaml": "problem:\n  objective bowl2d\n  init: [1, 2]\noptimizer: sgd\n"},
     ["colon.yaml", "line 3", "colon missing on the line above"]),
    ("out-is-a-file", ["run", "{cfg}", "--out", "{cfg}"], {}, ["--out", "{cfg}", "is a file"]),
    ("schedule-shorthand-misspelt", ["run", "{tmp}/s.yaml", "--out", "{out}"], {"s.yaml": _bowl(schedule="cosin")},
     ["s.yaml, line ", "schedule", "'cosin'", "did you mean 'cosine'"]),
    ("set-replaces-a-block-of-the-file", ["run", "{cfg}", "--set", "optimizer={{name: adma}}", "--out", "{out}"], {},
     ["(from --set)", "'adma'", "did you mean 'adam'"]),
    ("plot-missing-run-dir", ["plot", "{nowhere}"], {}, ["{nowhere}", "not a gdlab run"]),
    ("plot-bad-kind", ["plot", "{nowhere}", "--kind", "wrong"], {}, ["--kind", "'wrong'", "loss, trajectory, all"]),
    ("plot-negative-smooth", ["plot", "{nowhere}", "--smooth", "-1"], {}, ["--smooth", "-1", ">= 0"]),
    ("optimizers-misspelt", ["compare", "{cfg}", "--optimizers", "sgd,adma", "--out", "{out}"], {},
     ["--optimizers", "'adma'", "did you mean 'adam'"]),
    ("optimizers-only-a-comma", ["compare", "{cfg}", "--optimizers", ",", "--out", "{out}"], {},
     ["--optimizers", "','", "sgd,adam"]),
    ("list-singular", ["list", "objective"], {}, ["'objective'", "did you mean 'objectives'"]),
    ("config-is-a-directory", ["run", "{tmp}", "--out", "{out}"], {}, ["directory", "{tmp}"]),
    ("set-malformed-key", ["run", "{cfg}", "--set", "optimizer..lr=1", "--out", "{out}"], {},
     ["--set", "optimizer..lr"]),
    ("yaml-syntax-error", ["run", "{tmp}/syntax.yaml", "--out", "{out}"],
     {"syntax.yaml": "problem:\n  objective: bowl2d\n  init: [1, 2\noptimizer: sgd\n"},
     ["syntax.yaml", "YAML syntax error", "line 4, column 10"]),
    ("yaml-tab-indent", ["run", "{tmp}/tab.yaml", "--out", "{out}"],
     {"tab.yaml": "problem:\n\tobjective: bowl2d\noptimizer: sgd\n"}, ["tab.yaml", "line 2, column 1", "'\\t'"]),
    ("empty-file", ["run", "{tmp}/empty.yaml", "--out", "{out}"], {"empty.yaml": "\n\n"}, ["empty.yaml", "empty"]),
    ("file-is-a-list", ["run", "{tmp}/list.yaml", "--out", "{out}"], {"list.yaml": "- problem\n- optimizer\n"},
     ["list.yaml", "top level", "list"]),
    ("objective-and-dataset", ["run", "{tmp}/both.yaml", "--out", "{out}"],
     {"both.yaml": _bowl(**{"problem.dataset": "airfoil"})}, ["problem.dataset", "not both"]),
    ("steps-and-epochs", ["run", "{tmp}/se.yaml", "--out", "{out}"], {"se.yaml": _bowl(epochs=2)},
     ["epochs", "steps", "not both"]),
    ("optimizer-and-optimizers", ["compare", "{tmp}/oo.yaml", "--out", "{out}"],
     {"oo.yaml": _bowl(optimizers=[{"name": "adam"}])}, ["optimizers", "not both"]),
    ("unknown-top-key", ["run", "{tmp}/top.yaml", "--out", "{out}"], {"top.yaml": _bowl(seeed=1)},
     ["seeed", "did you mean 'seed'"]),
    ("unknown-problem-key", ["run", "{tmp}/pk.yaml", "--out", "{out}"], {"pk.yaml": _bowl(**{"problem.nosie": 1.0})},
     ["problem.nosie", "did you mean 'noise'"]),
    ("unknown-optimizer-key", ["run", "{tmp}/ok.yaml", "--out", "{out}"],
     {"ok.yaml": _bowl(**{"optimizer.momentun": 0.9})}, ["optimizer.momentun", "did you mean 'momentum'"]),
    ("unknown-schedule-key", ["run", "{tmp}/sk.yaml", "--out", "{out}"],
     {"sk.yaml": _bowl(schedule={"name": "cosine", "t_max": 5})}, ["schedule.t_max", "did you mean 'T_max'"]),
    ("misspelt-optimizer-name-in-a-list", ["compare", "{tmp}/ml2.yaml", "--out", "{out}"],
     {"ml2.yaml": {"problem": BOWL["problem"], "optimizers": [{"name": "sgd"}, {"name": "rmsprob"}]}},
     ["optimizers[1].name", "'rmsprob'", "did you mean 'rmsprop'"]),
    ("init-of-the-wrong-dimension", ["run", "{tmp}/init.yaml", "--out", "{out}"],
     {"init.yaml": _bowl(**{"problem.init": [1.0]})}, ["problem.init", "2 coordinates", "[1.0]"]),
    ("betas-of-one-value", ["run", "{tmp}/betas.yaml", "--out", "{out}"],
     {"betas.yaml": _bowl(optimizer={"name": "adam", "betas": [0.9]})}, ["optimizer.betas", "[0.9]", "2 numbers"]),
    ("duplicate-key", ["run", "{tmp}/dup.yaml", "--out", "{out}"],
     {"dup.yaml": "problem: {objective: bowl2d}\noptimizer: {name: sgd, lr: 0.1}\nsteps: 5\noptimizer: {name: adam}\n"},
     ["dup.yaml", "optimizer"]),
    ("recursive-anchor", ["run", "{tmp}/anchor.yaml", "--out", "{out}"],
     {"anchor.yaml": "problem: {objective: bowl2d, init: &x [1.0, *x]}\noptimizer: sgd\n"}, ["anchor.yaml"]),
    ("predict-with-the-wrong-number-of-features", ["run", "{tmp}/predict.yaml", "--out", "{out}"],
     {"predict.yaml": {**LINEFIT, "predict": [[1.0, 2.0]]}}, ["predict", "[1.0, 2.0]"]),
    ("dataset-parameter-out-of-range", ["run", "{tmp}/n.yaml", "--out", "{out}"],
     {"n.yaml": {**LINEFIT, "problem": {"dataset": "linear_synthetic", "params": {"n": 0}}}},
     ["problem.params.n", "0"]),
    ("validation-leaves-no-training-rows", ["run", "{tmp}/val.yaml", "--out", "{out}"],
     {"val.yaml": {**LINEFIT, "problem": {**LINEFIT["problem"], "validation": 0.9}}}, ["problem.validation", "0.9"]),
]


@pytest.mark.parametrize("case, args, files, needles", BAD_COMMAND_LINES, ids=[c[0] for c in BAD_COMMAND_LINES])
def test_bad_command_line_is_one_message_exit_2_and_nothing_written(tmp_path, case, args, files, needles):
    work = tmp_path / "work"
    cfg = write_yaml(work / "bowl.yaml", BOWL)
    for name, content in files.items():
        write_yaml(work / name, content)
    names = {"cfg": cfg, "out": tmp_path / "runs", "nowhere": tmp_path / "no-such-run", "tmp": work}
    before = sorted(tmp_path.rglob("*"))

    r = gdlab_cli(*[a.format(**names) for a in args])

    message = r.stderr
    assert r.exit_code == 2, f"exit {r.exit_code}: {r.output}{r.exception!r}"
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert "Traceback" not in r.output
    assert r.stdout.strip() == "", r.stdout
    lines = [ln for ln in message.splitlines() if ln.strip()]
    assert 1 <= len(lines) <= 6, message
    for needle in needles:
        assert needle.format(**names) in message, f"{needle!r} not in:\n{message}"
    assert sorted(tmp_path.rglob("*")) == before, "something was written"


def test_the_battery_is_big_enough():
    """The issue asks for at least 15 command-line cases here (25 with test_config.py and test_cli.py)."""
    assert len(BAD_COMMAND_LINES) >= 15




# ============================================================================================ refused up front
# Each case must be refused before anything is built or written, with one message (exit 2): what the issue's
# attacks met as tracebacks, MemoryErrors after minutes, or a run directory left behind.

BIG = "1" + "0" * 300  # 1e300 fits a float; BIG + "0" * 100 does not
LAUGHS = ("a: &a [x, x, x, x, x, x, x, x, x, x]\n"
          + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8))
          + "problem: {objective: bowl2d}\noptimizer: sgd\n")

REFUSED = [
    ("integer-of-300-digits-as-steps", ["run", "{cfg}", "--set", f"steps={BIG}"], {}, ["steps", "too large"]),
    ("integer-of-300-digits-as-lr", ["run", "{cfg}", "--set", f"optimizer.lr={BIG}{'0' * 100}"], {},
     ["optimizer.lr", "finite number"]),
    ("integer-of-300-digits-as-init", ["run", "{cfg}", "--set", f"problem.init=[{BIG}{'0' * 100}, 1]"], {},
     ["problem.init[0]", "finite number"]),
    ("dataset-seed-negative", ["run", "{tmp}/ls.yaml"],
     {"ls.yaml": {**LINEFIT, "problem": {"dataset": "linear_synthetic", "params": {"seed": -5}}}},
     ["problem.params.seed", "-5"]),
    ("moons-of-1e11-rows", ["run", "{tmp}/moons.yaml"],
     {"moons.yaml": {**LINEFIT, "problem": {"dataset": "moons", "params": {"n": 10 ** 11}}}},
     ["needs about", "TB of memory", "data"]),
    ("hidden-of-1e5-squared", ["run", "{tmp}/mlp.yaml"],
     {"mlp.yaml": {**LINEFIT, "problem": {"dataset": "xor", "model": "mlp", "hidden": [100000, 100000]}}},
     ["needs about", "GB of memory", "parameters", "--max-memory"]),
    ("max-memory-exceeded", ["run", "{cfg}", "--max-memory", "1M"], {}, ["needs about", "1.0 MB --max-memory"]),
    ("max-memory-not-a-size", ["run", "{cfg}", "--max-memory", "lots"], {}, ["--max-memory", "'lots'", "8G"]),
    ("sweep-of-a-billion-logged-steps", ["sweep", "{cfg}", "--grid", "optimizer.lr=linspace(0.01,1,100000)", "--set",
                                         "steps=1000000000", "--set", "log_every=1"], {},
     ["sweep of 100,000 members", "histories"]),  # every step logged, as asked (unbounded history)
    ("compare-sweep-counts-entries-and-seeds", ["sweep", "{tmp}/cs.yaml", "--grid", "optimizer.lr=linspace(0.01,1,1000)",
                                                "--seeds", "10", "--max-memory", "100M"],
     {"cs.yaml": {**{k: v for k, v in BOWL.items() if k != "optimizer"},
                  "optimizers": [{"name": "sgd"}, {"name": "adam"}]}}, ["sweep of 20,000 members", "--max-memory"]),
    ("tune-of-a-huge-model", ["tune", "{tmp}/tm.yaml", "--out", "{out}"],
     {"tm.yaml": {"problem": {"dataset": "xor", "model": "mlp", "hidden": [100000, 100000]}, "steps": 5,
                  "optimizers": [{"name": "sgd", "tune": {"lr": [0.1, 0.2]}}]}},
     ["this tuning of", "GB of memory", "parameters"]),
    ("bench-of-a-huge-model", ["bench", "{tmp}/suite.yaml", "--out", "{out}"],
     {"suite.yaml": {"optimizers": [{"name": "sgd", "lr": 0.1}], "problems": [
         {"name": "xor-huge", "problem": {"dataset": "xor", "model": "mlp", "hidden": [100000, 100000]}, "steps": 5,
          "target": "train_loss <= 0.1"}]}},
     ["problem xor-huge (1 optimizer and seed runs)", "GB of memory", "parameters"]),
    ("bench-over-its-max-memory", ["bench", "{tmp}/suite.yaml", "--max-memory", "1M"],
     {"suite.yaml": {"optimizers": [{"name": "sgd", "lr": 0.1}], "tune": True, "problems": [
         {"name": "bowl", "problem": {"objective": "bowl2d"}, "steps": 5}]}},
     ["problem bowl (1 optimizer and seed runs)", "1.0 MB --max-memory"]),
    ("tune-over-its-max-memory", ["tune", "{cfg}", "--max-memory", "1M"], {},
     ["this tuning of", "1.0 MB --max-memory"]),
    ("linspace-of-1e12-values", ["sweep", "{cfg}", "--grid", "optimizer.lr=linspace(0.01,1,1000000000000)"], {},
     ["--grid optimizer.lr", "1,000,000,000,000 values", "10,000,000"]),
    ("linspace-from-nan", ["sweep", "{cfg}", "--grid", "optimizer.lr=linspace(nan,1,5)"], {},
     ["--grid optimizer.lr", "finite start and stop"]),
    ("grid-key-malformed", ["sweep", "{cfg}", "--grid", "optimizer..lr=1,2"], {}, ["--grid 'optimizer..lr'"]),
    ("grid-key-missing-entry", ["sweep", "{cfg}", "--grid", "optimizers[3].lr=1,2"], {},
     ["--grid optimizers[3].lr", "sweep optimizer.lr"]),  # a config of one optimizer has no entry 3
    ("sweep-value-a-list", ["sweep", "{tmp}/sw.yaml"], {"sw.yaml": {**BOWL, "sweep": {"optimizer.lr": [[0.1]]}}},
     ["optimizer.lr", "finite number", "[0.1]"]),
    ("yaml-billion-laughs", ["run", "{tmp}/laughs.yaml"], {"laughs.yaml": LAUGHS},
     ["laughs.yaml", "aliases", "1,000,000 values"]),
    ("set-billion-laughs", ["run", "{cfg}", "--set", "optimizer=[&a [x, x, x, x, x, x, x, x, x, x], " + ", ".join(
        f"&{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]" for i in range(8)) + "]"], {}, ["aliases"]),
]


@pytest.mark.parametrize("case, args, files, needles", REFUSED, ids=[c[0] for c in REFUSED])
def test_refused_up_front(tmp_path, case, args, files, needles):
    test_bad_command_line_is_one_message_exit_2_and_nothing_written(tmp_path, case, args + ["--out", "{out}"],
                                                                     files, needles)


def test_a_sweep_that_does_not_set_log_every_is_estimated_with_its_bounded_history():
    """Issue 12 bounds a sweep's history (about 200 points per member unless log_every is set); the estimate counts
    the same points, so a long sweep is not refused for a history it will never keep."""
    from gdlab import memory
    from gdlab.config import validate
    from gdlab.config.history import MAX_POINTS

    cfg = validate({**BOWL, "steps": 10 ** 9})
    assert memory.log_points(cfg) == 10 ** 9 + 2  # log_every 1, as the config says for a run
    assert memory.log_points(cfg, bounded=True) <= MAX_POINTS + 2
    big = memory.sweep_estimate([cfg], [100_000], bounded=True)
    assert big.histories < 2 * (MAX_POINTS + 2) * 100_000 * 4 + memory.PER_MEMBER_RECORD * 100_000 + 1
