"""gdlab: a command-line lab for gradient-descent optimizers.

What a notebook or a plugin needs is here, imported on first use (`import gdlab` stays light):

    run_config, load_run                  run a config (in memory with out=None), read a run directory back
    Optimizer, lr_at, hp, ema, ones, exact_map   an optimizer plugin's contract and helpers (gdlab.optim.base)
    Objective                              what an objective plugin's factory returns
"""

from .version import __version__

_LAZY = {
    "run_config": ("runner", "run_config"),
    "load_run": ("outputs.results", "load_run"),
    "Optimizer": ("optim.base", "Optimizer"),
    "lr_at": ("optim.base", "lr_at"),
    "hp": ("optim.base", "hp"),
    "ema": ("optim.base", "ema"),
    "ones": ("optim.base", "ones"),
    "exact_map": ("optim.base", "exact_map"),
    "Objective": ("problems.objectives", "Objective"),
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name):
    # `from gdlab import run_config` without importing the engine (and NumPy) on `import gdlab`.
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(f".{module}", __name__), attr)
    raise AttributeError(f"module 'gdlab' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
