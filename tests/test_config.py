"""Config loading: defaults, overrides, and one clear message for every kind of mistake."""

from __future__ import annotations

import pytest

from gdlab.config import load_config
from gdlab.errors import ConfigError
from gdlab.optim import OPTIMIZERS
from gdlab.config.yamlio import parse_path

from .conftest import bowl_config


def test_minimal_config_gets_defaults_from_the_factories(write_config):
    cfg = load_config(write_config({"problem": {"objective": "bowl2d"}, "optimizer": {"name": "adam"}}, "bowl.yaml"))
    assert cfg.name == "bowl"  # the file name
    assert cfg.problem.init == (-5.0, -2.0)  # the objective's default start
    assert cfg.problem.params == {"a": 0.1, "b": 2.0}
    (adam,) = cfg.optimizers
    assert adam.hparams == {**OPTIMIZERS.defaults("adam"), "betas": (0.9, 0.999)}
    assert cfg.dtype == "float64" and cfg.seed == 0 and cfg.log_every == 1 and cfg.schedule == ("constant", {})


def test_optimizer_given_as_a_bare_name(write_config):
    cfg = load_config(write_config({**bowl_config(), "optimizer": "momentum"}))
    assert cfg.optimizers[0].hparams["momentum"] == 0.9


def test_set_overrides_any_dotted_key_with_yaml_values(write_config):
    path = write_config(bowl_config())
    cfg = load_config(path, ["optimizer.lr=0.6", "problem.init=[1, 2]", "steps=5", "optimizer.name=momentum"])
    assert cfg.optimizers[0].hparams["lr"] == 0.6 and cfg.optimizers[0].name == "momentum"
    assert cfg.problem.init == (1.0, 2.0) and cfg.steps == 5


def test_set_reaches_into_lists(write_config):
    data = bowl_config()
    del data["optimizer"]
    data["optimizers"] = [{"name": "sgd", "lr": 0.1}, {"name": "adam", "lr": 0.1}]
    cfg = load_config(write_config(data), ["optimizers[1].lr=0.3", "optimizers.0.lr=0.2"])
    assert [o.hparams["lr"] for o in cfg.optimizers] == [0.2, 0.3]


def test_duplicate_labels_are_made_unique_by_what_differs(write_config):
    data = bowl_config()
    del data["optimizer"]
    data["optimizers"] = [{"name": "momentum", "lr": 0.4, "momentum": 0.5}, {"name": "momentum", "lr": 0.6, "momentum": 0.5}]
    labels = [o.label for o in load_config(write_config(data)).optimizers]
    assert labels == ["momentum[lr=0.4]", "momentum[lr=0.6]"]


def test_select_optimizers_replaces_the_list(write_config):
    cfg = load_config(write_config(bowl_config()), select_optimizers=["sgd", "adam"])
    assert [o.name for o in cfg.optimizers] == ["sgd", "adam"]
    assert cfg.optimizers[1].hparams["lr"] == OPTIMIZERS.defaults("adam")["lr"]


def test_parse_path_forms():
    assert parse_path("optimizers[1].lr") == ("optimizers", 1, "lr")
    assert parse_path("optimizers.1.betas") == ("optimizers", 1, "betas")
    assert parse_path("problem.init[0]") == ("problem", "init", 0)


def test_resolved_config_round_trips(write_config, tmp_path):
    import yaml

    from gdlab.config import validate

    cfg = load_config(write_config(bowl_config(schedule={"name": "step", "step_size": 5})))
    again = validate(yaml.safe_load(yaml.safe_dump(cfg.resolved)))
    assert again.resolved == cfg.resolved


# ----------------------------------------------------------------------------------------------- bad input
# Each case: a change to a good config, the text the message must contain (the key path, the value, the hint).

def _drop(key):
    return lambda d: {k: v for k, v in d.items() if k != key}


def _problem(**kw):
    return lambda d: {**d, "problem": {**d["problem"], **kw}}


def _opt(**kw):
    return lambda d: {**d, "optimizer": {**d["optimizer"], **kw}}


BAD = [
    ("unknown top key", lambda d: {**d, "stepz": 5}, ["stepz", "did you mean 'steps'"]),
    ("unknown problem key", _problem(inti=[0, 0]), ["problem.inti", "did you mean 'init'"]),
    ("unknown optimizer key", _opt(lrr=0.1), ["optimizer.lrr", "did you mean 'lr'"]),
    ("unknown schedule key", lambda d: {**d, "schedule": {"name": "step", "gama": 0.5}}, ["schedule.gama", "gamma"]),
    ("unknown objective", _problem(objective="bowl"), ["problem.objective", "'bowl'", "bowl2d"]),
    ("unknown optimizer", _opt(name="adma"), ["optimizer.name", "'adma'", "did you mean 'adam'"]),
    ("unknown schedule", lambda d: {**d, "schedule": {"name": "cosin"}}, ["schedule.name", "did you mean 'cosine'"]),
    ("text for a number", _opt(lr="fast"), ["optimizer.lr", "'fast'", "number"]),
    ("lr zero", _opt(lr=0), ["optimizer.lr", "> 0"]),
    ("lr negative", _opt(lr=-0.1), ["optimizer.lr", "-0.1"]),
    ("momentum one", _opt(name="momentum", momentum=1.0), ["optimizer.momentum", "[0, 1)"]),
    ("betas out of range", _opt(name="adam", betas=[0.9, 1.5]), ["optimizer.betas", "1.5"]),
    ("betas one value", _opt(name="adam", betas=[0.9]), ["optimizer.betas", "2 numbers"]),
    ("eps zero", _opt(name="adam", eps=0), ["optimizer.eps", "> 0"]),
    ("nesterov without momentum", _opt(nesterov=True), ["optimizer", "momentum"]),
    ("bool for a number", _opt(lr=True), ["optimizer.lr", "True"]),
    ("steps zero", lambda d: {**d, "steps": 0}, ["steps", ">= 1"]),
    ("steps text", lambda d: {**d, "steps": "many"}, ["steps", "whole number"]),
    ("steps and epochs", lambda d: {**d, "epochs": 2}, ["epochs", "not both"]),
    ("init wrong length", _problem(init=[1, 2, 3]), ["problem.init", "2 coordinates", "3"]),
    ("init text", _problem(init="origin"), ["problem.init", "list of numbers"]),
    ("objective and dataset", _problem(dataset="airfoil"), ["problem.dataset", "not both"]),
    ("optimizer and optimizers", lambda d: {**d, "optimizers": [{"name": "sgd"}]}, ["optimizers", "not both"]),
    ("no optimizer", _drop("optimizer"), ["optimizer", "missing"]),
    ("no problem", _drop("problem"), ["problem", "missing"]),
    ("problem not a mapping", lambda d: {**d, "problem": "bowl2d"}, ["problem", "mapping"]),
    ("optimizers empty", lambda d: {**_drop("optimizer")(d), "optimizers": []}, ["optimizers", "non-empty list"]),
    ("unknown objective param", _problem(params={"c": 1.0}), ["problem.params.c", "accepted: a, b"]),
    ("negative noise", _problem(noise=-1), ["problem.noise", ">= 0"]),
    ("bad dtype", lambda d: {**d, "dtype": "float16"}, ["dtype", "float64, float32"]),
    ("log_every zero", lambda d: {**d, "log_every": 0}, ["log_every", ">= 1"]),
    ("negative seed", lambda d: {**d, "seed": -3}, ["seed", ">= 0"]),
    ("epochs on a toy", lambda d: {**_drop("steps")(d), "epochs": 2}, ["epochs", "toy objectives take steps"]),
    ("rmsprop alpha one", _opt(name="rmsprop", alpha=1.0), ["optimizer.alpha", "[0, 1)"]),
    ("weight decay negative", _opt(weight_decay=-1e-4), ["optimizer.weight_decay", ">= 0"]),
]


@pytest.mark.parametrize("case, change, needles", BAD, ids=[b[0] for b in BAD])
def test_bad_config_names_the_key_and_what_is_accepted(write_config, case, change, needles):
    path = write_config(change(bowl_config()))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    for needle in needles:
        assert needle in message, f"{case}: {needle!r} not in {message!r}"
    assert "Traceback" not in message and len(message.splitlines()) <= 4


def test_message_points_at_the_yaml_line(write_config):
    path = write_config("problem:\n  objective: bowl2d\noptimizer:\n  name: sgd\n  lr: -1\nsteps: 3\n")
    with pytest.raises(ConfigError, match=r"line 5: optimizer.lr"):
        load_config(path)


@pytest.mark.parametrize("text, needles", [
    ("", ["empty"]),
    ("# only a comment\n", ["empty"]),
    ("- a\n- b\n", ["mapping", "list"]),
    ("42\n", ["mapping", "int"]),
    ("problem: {objective: bowl2d\n", ["line 2", "YAML syntax error"]),
    ("problem:\n  objective: bowl2d\n optimizer: sgd\n", ["line 3", "column"]),
])
def test_malformed_files(write_config, text, needles):
    with pytest.raises(ConfigError) as info:
        load_config(write_config(text))
    for needle in needles:
        assert needle in str(info.value), str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")


@pytest.mark.parametrize("override, needles", [
    ("optimizer.lr", ["expected KEY=VALUE"]),
    ("=3", ["expected KEY=VALUE"]),
    ("optimizer.lrr=0.1", ["optimizer.lrr", "did you mean 'lr'"]),
    ("optimizers[3].lr=0.1", ["optimizers"]),
    ("steps.x=1", ["steps"]),
])
def test_bad_overrides(write_config, override, needles):
    with pytest.raises(ConfigError) as info:
        load_config(write_config(bowl_config()), [override])
    for needle in needles:
        assert needle in str(info.value), str(info.value)


def test_override_error_says_it_came_from_set(write_config):
    with pytest.raises(ConfigError, match="--set"):
        load_config(write_config(bowl_config()), ["optimizer.lr=-2"])
