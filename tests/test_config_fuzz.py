"""Property-based tests of config loading: whatever a YAML file holds, the outcome is a valid Config or one short
ConfigError that names a key or the file. Any other exception (TypeError, KeyError, RecursionError, ...) is a bug:
at the command line it would be a traceback and exit code 1 instead of one message and exit code 2.

Three sources of input: random YAML documents built from gdlab's real key vocabulary mixed with junk and values of
the wrong types; random mutations of valid configs (drop a key, replace a value, rename a key with a typo, add a
key); and random character edits of a valid YAML text (syntax errors must give a line and a column).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gdlab.config import Config, load_config, validate
from gdlab.config.load import DATA_KEYS, TOP_KEYS, TOY_KEYS
from gdlab.errors import ConfigError
from gdlab.optim import OPTIMIZERS
from gdlab.optim.schedules import SCHEDULES
from gdlab.problems.datasets import DATASETS
from gdlab.problems.models import MODELS
from gdlab.problems.objectives import OBJECTIVES
from gdlab.registry import signature_defaults

MAX_MESSAGE_LINES = 6

# ------------------------------------------------------------------------------------------ the vocabulary


def _vocabulary() -> list[str]:
    words = set(TOP_KEYS) | set(TOY_KEYS) | set(DATA_KEYS) | {"name", "label", "constant"}
    for registry in (OPTIMIZERS, SCHEDULES, OBJECTIVES, DATASETS, MODELS):
        for entry in registry.names():
            words.add(entry)
            words.update(signature_defaults(registry.get(entry)))
    words.update(("relu", "sigmoid", "tanh", "he", "xavier", "zeros", "mse", "half_mse", "mae", "bce",
                  "cross_entropy", "shuffle", "replacement", "train", "test", "float32", "float64"))
    return sorted(words)


VOCAB = _vocabulary()
TOP_KEY_PATH = re.compile(r"(?<![\w.])(%s)(?=[.\[:\s]|$)" % "|".join(map(re.escape, TOP_KEYS)))


def typo(word: str, draw) -> str:
    """One typing mistake: a letter dropped, doubled, swapped with its neighbour or replaced."""
    if len(word) < 2:
        return word + "x"
    i = draw(st.integers(0, len(word) - 2))
    kind = draw(st.sampled_from(["drop", "double", "swap", "replace"]))
    if kind == "drop":
        return word[:i] + word[i + 1:]
    if kind == "double":
        return word[:i] + word[i] + word[i:]
    if kind == "swap" and word[i] != word[i + 1]:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    letter = draw(st.sampled_from("abcdefghijklmnopqrstuvwxyz_"))
    return word[:i] + letter + word[i + 1:] if letter != word[i] else word[:i] + word[i + 1:]


@st.composite
def typos(draw) -> str:
    return typo(draw(st.sampled_from(VOCAB)), draw)


keys = st.one_of(
    st.sampled_from(VOCAB),
    typos(),
    st.text(min_size=1, max_size=12),
    st.integers(-5, 5),
    st.booleans(),
    st.none(),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, -1, 0.0, 0.5, 1.0, 1e-3, 1e300, 20, 2**31]),
    st.text(max_size=16),
    st.sampled_from(VOCAB),
    typos(),
    st.sampled_from(["1e-3", "0x10", "yes", "~", "", " ", "sgd,adam", "a.b:c", "os:getcwd"]),
)
values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=5),
    max_leaves=25,
)

# ------------------------------------------------------------------------------------------ the outcome


def _keys_in(value) -> set[str]:
    out: set[str] = set()
    if isinstance(value, dict):
        for k, v in value.items():
            out.add(str(k))
            out |= _keys_in(v)
    elif isinstance(value, list):
        for v in value:
            out |= _keys_in(v)
    return out


def check_outcome(path: Path, overrides: tuple[str, ...] = ()) -> Config | None:
    """Load `path`: a Config (that survives the trip through config.yaml), or a short ConfigError naming a key or the
    file. Any other exception propagates and fails the test."""
    try:
        cfg = load_config(path, list(overrides))
    except ConfigError as exc:
        message = str(exc)
        assert message.strip(), "empty ConfigError message"
        lines = message.splitlines()
        assert len(lines) <= MAX_MESSAGE_LINES, f"{len(lines)} lines:\n{message}"
        assert "Traceback" not in message, message
        names_the_file = str(path) in message or path.name in message
        assert names_the_file or TOP_KEY_PATH.search(message), f"names neither the file nor a key: {message!r}"
        if "YAML syntax error" in message:
            assert re.search(r"line \d+, column \d+", message), message
        return None
    assert isinstance(cfg, Config)
    # what a run directory's config.yaml holds must be plain YAML and validate to the same config again
    # (gdlab plot and the plots re-read it)
    text = yaml.safe_dump(cfg.resolved, sort_keys=False)
    again = validate(yaml.safe_load(text), name=cfg.name)
    assert again.resolved == cfg.resolved
    return cfg


def write(workdir: Path, text: str) -> Path:
    path = workdir / "fuzz.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def dump(doc) -> str:
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def fuzz(max_examples: int) -> settings:
    """Examples enough to find the common mistakes while the file stays well under 20 s; no example database."""
    return settings(max_examples=max_examples, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])

# ------------------------------------------------------------------------------------------ random documents


@st.composite
def documents(draw):
    """Mostly mappings at the top level with real top keys; sometimes anything at all."""
    if draw(st.integers(0, 9)) == 0:
        return draw(values)
    doc = draw(st.dictionaries(st.one_of(st.sampled_from(TOP_KEYS), keys), values, max_size=6))
    if draw(st.booleans()):  # a plausible skeleton so that validation gets past the first checks
        doc.setdefault("problem", draw(st.one_of(
            st.fixed_dictionaries({"objective": st.sampled_from(OBJECTIVES.names()) | scalars},
                                  optional={k: values for k in TOY_KEYS if k != "objective"}),
            st.fixed_dictionaries({"dataset": st.sampled_from(DATASETS.names()) | scalars},
                                  optional={k: values for k in DATA_KEYS if k != "dataset"}),
            values,
        )))
        doc.setdefault(draw(st.sampled_from(["optimizer", "optimizers"])), draw(st.one_of(
            st.sampled_from(OPTIMIZERS.names()),
            st.fixed_dictionaries({"name": st.sampled_from(OPTIMIZERS.names()) | scalars},
                                  optional={"lr": scalars, "momentum": scalars, "betas": values, "label": scalars,
                                            "nesterov": scalars, "eps": scalars}),
            st.lists(st.fixed_dictionaries({"name": st.sampled_from(OPTIMIZERS.names())},
                                           optional={"lr": scalars, "betas": values}), max_size=3),
            values,
        )))
    return doc


@fuzz(150)
@given(doc=documents())
def test_random_documents_give_a_config_or_one_short_message(workdir, doc):
    check_outcome(write(workdir, dump(doc)))


# ------------------------------------------------------------------------------------------ mutations of valid configs

VALID = [
    {"name": "toy", "problem": {"objective": "bowl2d", "params": {"a": 0.1, "b": 2.0}, "init": [-5.0, -2.0],
                                "noise": 0.0},
     "optimizer": {"name": "momentum", "lr": 0.4, "momentum": 0.5}, "schedule": {"name": "step", "step_size": 5},
     "steps": 20, "log_every": 1, "seed": 0, "dtype": "float64"},
    {"problem": {"objective": "quadratic", "params": {"A": [[1.0, 0.0], [0.0, 10.0]], "b": [0.0, 0.0]}},
     "optimizers": [{"name": "sgd", "lr": 0.05}, {"name": "adam", "lr": 0.3, "betas": [0.9, 0.999], "label": "Adam"},
                    "rmsprop"],
     "schedule": {"name": "cosine", "T_max": 10, "min_factor": 0.1}, "steps": 30},
    {"problem": {"dataset": "xor", "params": {"n": 40, "noise": 0.1, "seed": 1}, "model": "mlp", "hidden": [8, 8],
                 "activation": "tanh", "bias": True, "init": "xavier", "loss": "bce", "batch_size": 10,
                 "sampling": "replacement", "validation": 0.2},
     "optimizer": {"name": "adam", "lr": 0.01}, "epochs": 2, "eval_every": 5, "dtype": "float32"},
    {"problem": {"dataset": "linefit", "model": "linear", "bias": False, "init": {"constant": 1.0}, "loss": "mse",
                 "batch_size": 1},
     "optimizer": {"name": "sgd", "lr": 0.01}, "epochs": 100, "predict": [[4.0]]},
]


def test_the_valid_configs_are_valid(workdir):
    for doc in VALID:
        assert check_outcome(write(workdir, dump(doc))) is not None, doc


def _paths(node, prefix=()) -> list[tuple]:
    """Every key path in a document: mapping keys and list indices."""
    out = []
    if isinstance(node, dict):
        for k, v in node.items():
            out.append(prefix + (k,))
            out += _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.append(prefix + (i,))
            out += _paths(v, prefix + (i,))
    return out


def _node(doc, path):
    node = doc
    for part in path:
        node = node[part]
    return node


def _parent(doc, path):
    return _node(doc, path[:-1])


@st.composite
def mutated(draw):
    """A valid config with 1 to 3 random mutations, and what was done (for the failure report)."""
    import copy

    doc = copy.deepcopy(draw(st.sampled_from(VALID)))
    done = []
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(doc)
        op = draw(st.sampled_from(["drop", "replace", "rename", "add"]))
        path = draw(st.sampled_from(paths)) if paths else ()
        if not path:
            op = "add"
        if op == "drop":
            parent = _parent(doc, path)
            del parent[path[-1]]
        elif op == "replace":
            _parent(doc, path)[path[-1]] = draw(values)
        elif op == "rename":
            parent = _parent(doc, path)
            if isinstance(parent, dict):
                new = typo(str(path[-1]), draw)
                parent[new] = parent.pop(path[-1])
                path = path + (f"-> {new}",)
            else:
                parent[path[-1]] = typo(str(parent[path[-1]]), draw)
        else:
            mappings = [()] + [p for p in paths if isinstance(_node(doc, p), dict)]
            where = draw(st.sampled_from(mappings))
            node = _node(doc, where)
            key = draw(keys)
            node[key] = draw(values)
            path = where + (key,)
        done.append((op, path))
    return doc, done


@fuzz(200)
@given(case=mutated())
def test_mutated_valid_configs_give_a_config_or_one_short_message(workdir, case):
    doc, done = case
    check_outcome(write(workdir, dump(doc)))


@fuzz(100)
@given(base=st.sampled_from(VALID), data=st.data())
def test_a_misspelt_key_gets_a_did_you_mean(workdir, base, data):
    """Rename one key (of four letters or more) with one typing mistake: the message names the misspelt key and
    suggests a name."""
    import copy

    doc = copy.deepcopy(base)
    paths = [p for p in _paths(doc) if isinstance(p[-1], str) and len(p[-1]) >= 4]
    path = data.draw(st.sampled_from(paths))
    parent = _parent(doc, path)
    new = typo(path[-1], data.draw)
    if new in parent or new == path[-1]:
        return
    parent[new] = parent.pop(path[-1])
    try:
        load_config(write(workdir, dump(doc)))
    except ConfigError as exc:
        message = str(exc)
        if "unknown key" in message:
            assert repr(new)[1:-1] in message and "did you mean '" in message, (path, new, message)
        return
    # a typo of a key can only be accepted when the misspelt name is itself a key of the same mapping
    pytest.fail(f"renaming {path} to {new!r} was accepted silently")


@pytest.mark.parametrize("entry, typo_key, meant", [
    ({"name": "adam", "lable": "Adam (lr 0.3)"}, "lable", "label"),
])
def test_a_misspelt_label_in_an_optimizer_is_suggested(workdir, entry, typo_key, meant):
    """`label` is a key of an optimizer entry too: a typo in it gets the same help as one in `lr`."""
    doc = {"problem": {"objective": "bowl2d"}, "optimizers": [{"name": "sgd"}, entry]}
    with pytest.raises(ConfigError) as info:
        load_config(write(workdir, dump(doc)))
    message = str(info.value)
    assert typo_key in message and f"did you mean '{meant}'" in message, message


# ------------------------------------------------------------------------------------------ broken YAML text

BREAKERS = list(":{}[]-#&*!|>'\"%@`,?\t ") + ["\n", "  ", ": ", "- ", "{", "[["]


@fuzz(150)
@given(base=st.sampled_from(VALID), data=st.data())
def test_edited_yaml_text_gives_a_config_or_one_short_message(workdir, base, data):
    text = dump(base)
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(text)))
        if data.draw(st.booleans()):
            text = text[:i] + data.draw(st.sampled_from(BREAKERS)) + text[i:]
        else:
            text = text[:i] + text[i + 1:]
    check_outcome(write(workdir, text))


@fuzz(80)
@given(base=st.sampled_from(VALID[:1]), key=st.sampled_from(["optimizer.lr", "steps", "problem.init", "seed",
                                                               "schedule.gamma", "optimizer.name", "problem.noise",
                                                               "optimizer", "problem", "name", "log_every"]),
       value=values)
def test_random_set_overrides_give_a_config_or_one_short_message(workdir, base, key, value):
    text = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    if text.endswith("..."):  # a bare scalar document
        text = text[:-3].strip()
    check_outcome(write(workdir, dump(base)), (f"{key}={text}",))


# -------------------------------------------------------------------------------------- YAML that is valid but nasty


@pytest.mark.parametrize("text", [
    pytest.param("problem: {objective: bowl2d, init: &x [1.0, *x]}\noptimizer: sgd\n", id="recursive-anchor-list"),
    pytest.param("problem: &p {objective: bowl2d, params: *p}\noptimizer: sgd\n", id="recursive-anchor-mapping"),
    pytest.param("problem: {objective: bowl2d, init: " + "[" * 1200 + "]" * 1200 + "}\noptimizer: sgd\n",
                 id="nested-1200-deep"),
    pytest.param("problem: {objective: ':'}\noptimizer: sgd\n", id="plugin-without-module-name"),
    pytest.param("problem: {objective: '.mine:bowl'}\noptimizer: sgd\n", id="plugin-relative-module"),
])
def test_pathological_yaml_is_one_message(workdir, text):
    """Anchors that contain themselves, absurdly deep nesting and plugin names that are no module name at all are
    still only a bad config."""
    path = write(workdir, text)
    check_outcome(path)
