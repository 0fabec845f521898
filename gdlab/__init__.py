"""gdlab: a command-line lab for gradient-descent optimizers."""

from .version import __version__

__all__ = ["__version__", "run_config"]


def __getattr__(name):
    # `from gdlab import run_config` without importing the engine (and NumPy) on `import gdlab`.
    if name == "run_config":
        from .runner import run_config

        return run_config
    raise AttributeError(f"module 'gdlab' has no attribute {name!r}")
