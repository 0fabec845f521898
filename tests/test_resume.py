"""Resume: a sweep directory refuses to be finished by other code or for another config, naming what differs."""

from __future__ import annotations

import pytest

from gdlab.errors import ConfigError
from gdlab.sweeps.resume import check_same, config_differences, identity


def test_config_differences_name_each_changed_key():
    then = {"optimizer": {"name": "sgd", "lr": 0.1}, "steps": 20, "sweep": {"optimizer.lr": [0.1, 0.2]}}
    now = {"optimizer": {"name": "sgd", "lr": 0.2}, "steps": 20, "sweep": {"optimizer.lr": [0.1, 0.3]}, "seed": 1}
    assert config_differences(then, now) == [("optimizer.lr", 0.1, 0.2), ("sweep.optimizer.lr[1]", 0.2, 0.3),
                                             ("seed", config_differences.__globals__["_MISSING"], 1)]
    assert config_differences(then, then) == []
    assert config_differences({"a": 1}, {"a": 1.0}) == [("a", 1, 1.0)]  # 1 and 1.0 are different settings
    assert config_differences({"a": float("nan")}, {"a": float("nan")}) == []


def test_a_changed_config_or_code_refuses_naming_what_differs(tmp_path):
    config = {"optimizer": {"name": "sgd", "lr": 0.1}, "problem": {"init": (1.0, 2.0)}}
    started = identity(config)
    check_same(started, identity(config), tmp_path)  # the same: nothing raised (tuples compare as JSON lists)
    changed = identity({**config, "steps": 30})
    changed["code"] = "0123456789abcdef"
    with pytest.raises(ConfigError) as info:
        check_same(started, changed, tmp_path)
    text = str(info.value)
    assert "gdlab source code (hash)" in text and "0123456789abcdef now" in text
    assert "config steps: (absent) when it started, 30 now" in text
    assert "version" not in text.replace("source code", "")  # only what differs is named
