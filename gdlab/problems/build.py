"""From a problem spec to what the engine runs and its loss landscape (stability warnings: stability.py).

A problem is a toy objective (toy.py) or a model trained on a dataset (learning.py). Both expose the same small
interface (see engine.Problem): the start point for R members, the loss and gradient at step k, the epoch of step k,
whole-data evaluation and the final loss.
"""

from __future__ import annotations

from ..plugins import is_loaded
from .landscape import Landscape
from .spec import ProblemSpec
from .toy import toy_landscape, toy_problem


def build_problem(spec: ProblemSpec, *, seed, dtype: str = "float64", predict: tuple = (),
                  params: dict | None = None, download_progress=None):
    """The problem `spec` describes, with its random generators seeded from `seed`.

    seed: an int (one seed for every member) or the seed of every member, (R,): repetitions in one stack, one
    random stream per distinct seed (see problems.seeds).

    params: the toy objective's parameters instead of spec.params (per-member arrays in a sweep).
    predict: inputs the model will be asked to predict (their widths are checked against the data).
    download_progress: (filename, bytes done, bytes total) callback for datasets fetched on first use.
    """
    if spec.kind == "objective":
        return toy_problem(spec, seed, params)
    from .learning import (
        data_problem,  # models and datasets only when the config asks for them
    )

    return data_problem(spec, seed=seed, dtype=dtype, predict=predict, progress=download_progress)


def landscape(spec: ProblemSpec) -> Landscape | None:
    """The loss surface of a problem with one or two parameters (None otherwise).

    An objective plugin is evaluated only if this process imported it already (a run of the config): drawing a
    figure never imports user code (`gdlab plot` of a directory someone else made).
    """
    if spec.kind == "objective":
        if spec.plugin is not None and not is_loaded(spec.plugin):
            return None
        return toy_landscape(spec)
    from .learning import model_landscape

    return model_landscape(spec)
