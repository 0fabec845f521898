"""`python -m gdlab` and the `gdlab` command: the signal policy first, then the command line.

The handlers are installed before typer, rich and NumPy are imported, so a Ctrl-C (or SIGTERM) during start-up is
one message, not a traceback.
"""

import sys

from . import signals


def main() -> None:
    signals.install()
    try:
        from .cli import main as cli_main
    except KeyboardInterrupt as exc:
        sys.stderr.write("interrupted\n")
        sys.exit(signals.exit_code(getattr(exc, "signum", None)))
    cli_main()


if __name__ == "__main__":
    main()
