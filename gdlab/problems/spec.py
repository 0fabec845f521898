"""What a problem is, as a config describes it: the record the config builds and the problem builders read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ProblemSpec:
    kind: str  # "objective" | "dataset"
    name: str  # the objective or dataset name
    params: dict
    init: Any  # toys: start point (tuple); datasets: he | xavier | zeros | std | {constant: v}
    noise: float = 0.0
    model: str | None = None
    hidden: tuple = ()
    activation: str = "relu"
    bias: bool = True
    loss: str | None = None
    batch_size: int | None = None
    sampling: str = "shuffle"
    data_dir: str | None = None
    split: str = "train"
    validation: float | dict = 0.0  # a random fraction, or {first: a} / {last: a} (batching.held_out)
    plugin: Any = None  # an objective plugin's PluginRef (name then holds its resolved spec)

    @property
    def objective(self) -> Any:
        """What gdlab.problems.objectives.make_objective takes: the plugin reference, or the registered name."""
        return self.plugin if self.plugin is not None else self.name
