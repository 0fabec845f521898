"""The command line: parse, call the library, print. The only place that prints errors and picks exit codes.

Heavy modules (NumPy, the engine, matplotlib) are imported inside the commands so that `gdlab --help` is quick.
common.py holds the app, the options and the error boundary; runs.py, study.py and views.py the commands (importing them
registers them on the app).
"""

from __future__ import annotations

import sys
import warnings

from .. import signals
from . import runs, study, views  # noqa: F401 - registers the commands
from .common import _holding_notice, app

__all__ = ["app", "main"]


def main() -> None:
    from ..threads import limit_blas_threads

    limit_blas_threads()  # before anything imports NumPy: its BLAS reads the thread count once, when it loads
    signals.install(notice=_holding_notice)  # SIGTERM as Ctrl-C; a Ctrl-C while results are written waits
    # stderr carries gdlab's own messages only: NumPy's overflow in a diverging member is a result (summary.json
    # says so), and matplotlib's and a plugin's warnings are nothing the user can act on here
    warnings.filterwarnings("ignore", category=RuntimeWarning)
    warnings.filterwarnings("ignore", module="matplotlib")
    try:
        app()
    finally:
        signals.finished()  # the results are on disk: a late signal exits quietly, with its code


if __name__ == "__main__":
    sys.exit(main())
