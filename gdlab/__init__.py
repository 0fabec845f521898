"""gdlab: a command-line lab for gradient-descent optimizers."""

__version__ = "0.1.0"


def __getattr__(name):
    # `from gdlab import run_config` without importing the engine (and NumPy) on `import gdlab`.
    if name == "run_config":
        from .runner import run_config

        return run_config
    raise AttributeError(f"module 'gdlab' has no attribute {name!r}")
