"""Models on a runs axis: forward and hand-written backward for R members at once.

The parameters of R members are ONE flat array `params (R, P)`; each layer's weights (R, fan_in, fan_out) and
bias (R, fan_out) are zero-copy views of column slices, in the order of `model.layout` (W1, b1, W2, b2, ...;
single-layer models call them W, b). Gradients come back as one (R, P) array in the same layout.

All members see the same batch X (B, F). Every layer is a batched matmul over the runs axis, one BLAS call per
member: member r's numbers are then bit-for-bit what a single-member run computes (the lockstep invariant).
The alternative for the first layer, one product X @ [W1_1 ... W1_R] of shape (F, R·H), lets BLAS pick
different kernels for different R (and gemv for R·H = 1), which changes the last bits of member r's numbers.
Measured (2 cores, float32): on 784-100-100-100-100-10 with R = 5, B = 128 the products alone take the same time
(about 0.6 ms each way) and a whole loss_and_grad is slower with it (5.4 vs 2.7 ms: the transposes and copies);
it wins only for tiny layers with thousands of members (linear model, F = 5, B = 10: 0.13 vs 0.24 ms at
R = 1000, 1.6 vs 2.3 ms at R = 10000). So it is an opt-in, `dataclasses.replace(model, shared_gemm=True)`,
for sweeps that trade the bit-for-bit invariant for speed.

Computation stays in the params' dtype: X is cast to it (float32 params never meet float64 data).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from ..errors import ConfigError
from ..registry import Registry, did_you_mean

MODELS = Registry("model")
MODEL_TASKS = {
    "linear": ("regression",),
    "logistic": ("binary",),
    "softmax": ("multiclass",),
    "mlp": ("regression", "binary", "multiclass"),
}
INIT_NAMES = ("he", "xavier", "zeros")


# ---------------------------------------------------------------------------------------------- activations


def _relu(z: np.ndarray) -> np.ndarray:
    return np.maximum(z, 0, out=z)


def _sigmoid(z: np.ndarray) -> np.ndarray:  # ½(1 + tanh(z/2)): stable for any z, in place
    z *= 0.5
    np.tanh(z, out=z)
    z *= 0.5
    z += 0.5
    return z


def _tanh(z: np.ndarray) -> np.ndarray:
    return np.tanh(z, out=z)


class Activation(NamedTuple):
    apply: Any  # z -> a, in place
    grad_from_output: Any  # a -> da/dz (elementwise), from the activation's output


ACTIVATIONS = {
    "relu": Activation(_relu, lambda a: a > 0),
    "sigmoid": Activation(_sigmoid, lambda a: a * (1 - a)),
    "tanh": Activation(_tanh, lambda a: 1 - a * a),
}


# ------------------------------------------------------------------------------------------------ init


def parse_init(init: Any, key: str = "problem.init") -> tuple[str, float]:
    """A checked init spec as (kind, value): he | xavier | zeros (value 0), ("normal", std), ("constant", v)."""
    if isinstance(init, str):
        if init in INIT_NAMES:
            return init, 0.0
        raise ConfigError(f"{key}: unknown init {init!r}{did_you_mean(init, INIT_NAMES)}\n{_INIT_HELP}")
    if isinstance(init, (int, float)) and not isinstance(init, bool):
        if math.isfinite(init) and init >= 0:
            return "normal", float(init)
    if isinstance(init, dict) and set(init) == {"constant"}:
        v = init["constant"]
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
            return "constant", float(v)
    raise ConfigError(f"{key}: bad init {init!r}\n{_INIT_HELP}")


_INIT_HELP = "  accepted: he | xavier | zeros | a number >= 0 (std of a zero-mean normal) | {constant: <number>}"


def init_weights(kind: str, value: float, fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    """One weight matrix (fan_in, fan_out) in float64.

    he: N(0, 2/fan_in) (DLFS, for ReLU); xavier: N(0, 1/fan_in) (DLFS's 'xavier', sqrt(1/n), not Glorot's
    2/(fan_in + fan_out)); normal: N(0, value²); zeros; constant: every weight = value.
    """
    if kind in ("he", "xavier", "normal"):
        std = {"he": math.sqrt(2.0 / fan_in), "xavier": math.sqrt(1.0 / fan_in), "normal": value}[kind]
        return std * rng.standard_normal((fan_in, fan_out))
    return np.full((fan_in, fan_out), value if kind == "constant" else 0.0)


# ------------------------------------------------------------------------------------------------ model


def _is_positive_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1


class Layer(NamedTuple):
    fan_in: int
    fan_out: int
    w: slice  # columns of the flat params holding W (fan_in · fan_out of them)
    b: slice | None  # columns holding b, None without bias


@dataclass(frozen=True, eq=False)
class Model:
    """A stack of dense layers: sizes (F, H1, ..., K), `activation` between layers, linear output (logits)."""

    name: str
    sizes: tuple[int, ...]  # (F, H1, ..., Hn, K)
    activation: str | None = "relu"  # between layers (None for single-layer models)
    bias: bool = True
    init_spec: Any = "he"
    shared_gemm: bool = False  # first layer as one (F, R·H) product: faster for tiny layers, not bit-exact
    layers: tuple[Layer, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if len(self.sizes) < 2 or not all(_is_positive_int(s) for s in self.sizes):
            raise ConfigError(f"{self.name}: layer sizes must be positive integers, got {list(self.sizes)}")
        if not isinstance(self.bias, bool):
            raise ConfigError(f"problem.bias: expected true or false, got {self.bias!r}")
        if len(self.sizes) > 2 and self.activation not in ACTIVATIONS:
            raise ConfigError(
                f"problem.activation: unknown activation {self.activation!r}"
                f"{did_you_mean(self.activation, list(ACTIVATIONS))}\n  accepted: {', '.join(ACTIVATIONS)}"
            )
        parse_init(self.init_spec)
        layers, offset = [], 0
        for fan_in, fan_out in zip(self.sizes[:-1], self.sizes[1:]):
            w = slice(offset, offset + fan_in * fan_out)
            offset = w.stop
            b = slice(offset, offset + fan_out) if self.bias else None
            offset = b.stop if b else offset
            layers.append(Layer(fan_in, fan_out, w, b))
        object.__setattr__(self, "layers", tuple(layers))

    @property
    def n_params(self) -> int:
        """P, the length of one member's flat parameter vector."""
        last = self.layers[-1]
        return (last.b or last.w).stop

    @property
    def layout(self) -> list[tuple[str, tuple[int, ...]]]:
        """Names and per-member shapes of the views, in flat order: [("W1", (784, 100)), ("b1", (100,)), ...]."""
        out = []
        for i, layer in enumerate(self.layers, 1):
            suffix = str(i) if len(self.layers) > 1 else ""
            out.append((f"W{suffix}", (layer.fan_in, layer.fan_out)))
            if layer.b is not None:
                out.append((f"b{suffix}", (layer.fan_out,)))
        return out

    def views(self, params: np.ndarray) -> dict[str, np.ndarray]:
        """{name: view}: W (R, fan_in, fan_out), b (R, fan_out); zero-copy views of `params (R, P)`."""
        names = iter(name for name, _ in self.layout)
        out = {}
        for W, b in self._views(params):
            out[next(names)] = W
            if b is not None:
                out[next(names)] = b
        return out

    def _views(self, a: np.ndarray) -> list[tuple[np.ndarray, np.ndarray | None]]:
        R = a.shape[0]
        return [
            (a[:, L.w].reshape(R, L.fan_in, L.fan_out), None if L.b is None else a[:, L.b]) for L in self.layers
        ]

    def init(self, R: int, rng: np.random.Generator, dtype=np.float64) -> np.ndarray:
        """(R, P) initial parameters, THE SAME for every member (one draw, copied R times); biases are zero."""
        kind, value = parse_init(self.init_spec)
        theta = np.zeros(self.n_params)  # (P,) float64, drawn layer by layer
        for L in self.layers:
            theta[L.w] = init_weights(kind, value, L.fan_in, L.fan_out, rng).reshape(-1)
        return np.broadcast_to(theta.astype(dtype), (R, self.n_params)).copy()

    def forward(self, params: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, tuple]:
        """out (R, B, K) for the shared batch X (B, F), and the cache for `backward`."""
        X = np.asarray(X, dtype=params.dtype)  # (B, F), no copy when the dtype already matches
        act = ACTIVATIONS[self.activation].apply if len(self.layers) > 1 else None
        hidden = []  # post-activation outputs of the hidden layers, each (R, B, H)
        h = None
        last = len(self.layers) - 1
        for i, (W, b) in enumerate(self._views(params)):
            z = self._first_forward(X, W) if i == 0 else np.matmul(h, W)  # (R, B, fan_out)
            if b is not None:
                z += b[:, None, :]
            if i < last:
                hidden.append(act(z))
            h = z
        return h, (X, hidden)

    def backward(self, params: np.ndarray, cache: tuple, dout: np.ndarray) -> np.ndarray:
        """grads (R, P) of the loss whose gradient with respect to `out` is `dout` (R, B, K)."""
        X, hidden = cache
        grad_act = ACTIVATIONS[self.activation].grad_from_output if len(self.layers) > 1 else None
        grads = np.empty(params.shape, dtype=params.dtype)  # (R, P), every column written below
        pviews, gviews = self._views(params), self._views(grads)
        d = dout  # (R, B, fan_out): d loss / d z of the current layer
        for i in range(len(self.layers) - 1, -1, -1):
            gW, gb = gviews[i]
            if gb is not None:
                np.sum(d, axis=1, out=gb)  # (R, fan_out)
            if i == 0:
                self._first_grad(X, d, gW)  # (R, F, H)
                break
            a = hidden[i - 1]  # (R, B, fan_in), this layer's input
            np.matmul(a.transpose(0, 2, 1), d, out=gW)  # (R, fan_in, fan_out)
            d = np.matmul(d, pviews[i][0].transpose(0, 2, 1))  # (R, B, fan_in)
            d *= grad_act(a)
        return grads

    def loss_and_grad(self, params: np.ndarray, X: np.ndarray, y: np.ndarray, loss) -> tuple[np.ndarray, np.ndarray]:
        """(loss (R,), grads (R, P)) on the batch (X, y) for a `gdlab.losses.Loss`."""
        out, cache = self.forward(params, X)
        value, dout = loss.value_and_grad(out, y)
        return value, self.backward(params, cache, dout)

    # The first layer sees X (B, F), shared by every member.
    def _first_forward(self, X: np.ndarray, W: np.ndarray) -> np.ndarray:
        if not self.shared_gemm:
            return np.matmul(X, W)  # (B, F) @ (R, F, H) -> (R, B, H), one product per member
        R, F, H = W.shape
        Z = X @ W.transpose(1, 0, 2).reshape(F, R * H)  # (B, R·H): one product for all members
        return Z.reshape(-1, R, H).transpose(1, 0, 2).copy()  # (R, B, H)

    def _first_grad(self, X: np.ndarray, d: np.ndarray, out: np.ndarray) -> None:
        if not self.shared_gemm:
            np.matmul(X.T, d, out=out)  # (F, B) @ (R, B, H) -> (R, F, H)
            return
        R, B, H = d.shape
        G = X.T @ d.transpose(1, 0, 2).reshape(B, R * H)  # (F, R·H)
        out[...] = G.reshape(-1, R, H).transpose(1, 0, 2)


# ------------------------------------------------------------------------------------------------ factories
# A factory's signature holds exactly the model's config options (MODELS.defaults(name) lists them); it returns a
# ModelSpec, which `build(n_features, n_outputs)` sizes for a dataset. `build_model` does both for a Dataset.


@dataclass(frozen=True)
class ModelSpec:
    """A model's options, not yet sized: `spec.build(n_features, n_outputs) -> Model`."""

    name: str
    hidden: tuple[int, ...] = ()
    activation: str | None = None
    bias: bool = True
    init: Any = "he"

    def __post_init__(self) -> None:
        if not all(_is_positive_int(h) for h in self.hidden):
            raise ConfigError(f"problem.hidden: expected a list of positive integers, got {list(self.hidden)}")
        self.build(1, 1)  # checks the other options now, before any data is loaded

    def build(self, n_features: int, n_outputs: int) -> Model:
        return Model(self.name, (n_features, *self.hidden, n_outputs), self.activation, self.bias, self.init)


@MODELS.register("linear", "regression: ŷ = X·W + b, K = 1 (d2l's linear regression)")
def linear(bias: bool = True, init: Any = 0.01) -> ModelSpec:
    return ModelSpec("linear", (), None, bias, init)


@MODELS.register("logistic", "binary: logit = X·W + b, K = 1 (loss bce)")
def logistic(bias: bool = True, init: Any = 0.01) -> ModelSpec:
    return ModelSpec("logistic", (), None, bias, init)


@MODELS.register("softmax", "multiclass: logits = X·W + b, K = n_classes (multinomial logistic regression)")
def softmax(bias: bool = True, init: Any = 0.01) -> ModelSpec:
    return ModelSpec("softmax", (), None, bias, init)


@MODELS.register("mlp", "any task: dense layers `hidden` with `activation` (relu | sigmoid | tanh), linear output")
def mlp(hidden: tuple[int, ...] = (100,), activation: str = "relu", bias: bool = True, init: Any = "he") -> ModelSpec:
    if isinstance(hidden, (str, bytes)) or not hasattr(hidden, "__iter__"):
        raise ConfigError(f"problem.hidden: expected a list of layer widths, got {hidden!r}")
    return ModelSpec("mlp", tuple(hidden), activation, bias, init)


def build_model(name: str, dataset, **options: Any) -> Model:
    """Model `name` with `options`, sized for `dataset` (a gdlab.datasets.Dataset): F = n_features, K = n_outputs.

    ConfigError when the model does not fit the dataset's task, or an option is unknown or bad.
    """
    factory = MODELS.get(name, "problem.model")
    if dataset.task not in MODEL_TASKS[name]:
        fits = [m for m, tasks in MODEL_TASKS.items() if dataset.task in tasks]
        raise ConfigError(
            f"problem.model: model {name!r} does not fit dataset {dataset.name!r} ({dataset.task})\n"
            f"  accepted for {dataset.task}: {', '.join(fits)}"
        )
    known = list(MODELS.defaults(name))
    for key in options:
        if key not in known:
            raise ConfigError(
                f"problem.{key}: not an option of model {name!r}{did_you_mean(key, known)}\n"
                f"  accepted: {', '.join(known)}"
            )
    return factory(**options).build(dataset.n_features, dataset.n_outputs)
