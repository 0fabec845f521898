"""One signal policy for the command line: SIGINT (Ctrl-C) and SIGTERM both mean "stop, and keep what was computed".

    install()     the command line's handlers: either signal raises Interrupted (a KeyboardInterrupt), so every
                  `except KeyboardInterrupt` of the library handles SIGTERM too; exit code 130 or 143
    held()        a section that must finish (creating a run directory, writing results): a signal arriving inside
                  it is remembered, not raised; the third one is obeyed at once (a hung disk), which leaves a
                  directory that `gdlab plot` reports as incomplete
    allowed()     a part of a held section that may be cut short (the loop): signals raise there again
    open_window() / close_window()   allowed() for the engine's loop, opened inside the try that catches the
                  signal (a held-back signal is raised there at once)
    check()       raise the remembered signal now
    pending()     a signal was remembered and has not been raised
    received()    the first signal received since install() (None: none)
    exit_code()   128 + that signal: 130 after Ctrl-C, 143 after SIGTERM

Typical use (runner.py, sweeps/runner.py):

    with signals.held():                       # directory and config.yaml: whole before anything stops us
        run_dir = create_run_dir(...)
        result = run_stack(...)                # the engine opens its window: the loop stops at a signal and
                                               # keeps what ran (one held back during its set-up: at step 0)
        write summaries                        # a Ctrl-C here waits until they are on disk
    if signals.pending(): skip the figures, report "interrupted"

A signal raised where Python cannot pass it on (a finalizer or weakref callback, for instance matplotlib's while a
figure is drawn) would be printed as "Exception ignored" and lost: install() catches it there (sys.unraisablehook)
and keeps it pending, raised at the end of the allowed() block or engine window it fell in, else obeyed by
finished().

Without install() (gdlab imported as a library) Python's own handling applies: Ctrl-C raises KeyboardInterrupt
wherever the program is, held() cannot hold it, and SIGTERM ends the process. This module imports nothing of
gdlab, so every wing may use it.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from contextlib import contextmanager
from typing import Callable, Iterator

HANDLED = (signal.SIGINT, signal.SIGTERM)
OBEY_AT = 3  # the third signal inside a held section is obeyed at once
_HOLD, _RAISE = "hold", "raise"


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM, raised where the program was (a KeyboardInterrupt, so existing handlers apply)."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class _State:
    installed = False
    received: list[int] = []  # every signal since install(), in order
    pending: int | None = None  # remembered inside a held section, not raised yet
    swallowed = False  # the pending one was raised where it could not propagate (a finalizer): raise it again
    deferred = 0  # signals remembered since the last one was raised
    modes: list[str] = []  # innermost last
    notice: Callable[[int], None] | None = None  # told once when a signal is held back
    unraisable: Callable = sys.unraisablehook  # the hook for everything that is not a signal


_state = _State()


def install(notice: Callable[[int], None] | None = None) -> bool:
    """Handle SIGINT and SIGTERM as described above; True when installed (main thread only).

    notice(signum) is called (from the handler) the first time a signal is held back, to tell the user the
    results are being finished. A signal the process inherited as ignored (a background job, nohup) stays ignored.
    """
    if threading.current_thread() is not threading.main_thread():
        return False
    for signum in HANDLED:
        if signal.getsignal(signum) is not signal.SIG_IGN:
            signal.signal(signum, _handle)
    if sys.unraisablehook is not _unraisable:
        _state.unraisable = sys.unraisablehook
        sys.unraisablehook = _unraisable
    _state.installed, _state.notice = True, notice
    return True


def _unraisable(info) -> None:
    """A signal raised inside a finalizer or callback, where the interpreter drops exceptions: kept pending."""
    if isinstance(info.exc_value, Interrupted):
        if _state.pending is None:
            _state.pending = info.exc_value.signum
        _state.swallowed = True
        return
    _state.unraisable(info)


def reset() -> None:
    """Forget received and pending signals and open sections (tests; a new command in the same process)."""
    _state.received, _state.pending, _state.deferred, _state.modes = [], None, 0, []
    _state.swallowed = False


def _handle(signum: int, frame) -> None:
    _state.received.append(signum)
    if _state.modes and _state.modes[-1] == _HOLD:
        _state.deferred += 1
        if _state.deferred < OBEY_AT:
            if _state.pending is None:
                _state.pending = signum
            if _state.deferred == 1 and _state.notice is not None:
                _state.notice(signum)
            return
    _state.pending, _state.deferred = None, 0
    raise Interrupted(signum)


@contextmanager
def held() -> Iterator[None]:
    """Signals arriving inside the block are remembered (see pending(), check()) instead of raised."""
    _state.modes.append(_HOLD)
    try:
        yield
    finally:
        _state.modes.pop()


@contextmanager
def allowed() -> Iterator[None]:
    """Signals raise inside the block again, even within a held section (a remembered one waits for check(); one
    lost in a finalizer inside the block is raised when it ends)."""
    _state.modes.append(_RAISE)
    try:
        yield
    finally:
        _state.modes.pop()
    _raise_swallowed()


def _raise_swallowed() -> None:
    if _state.swallowed:
        _state.swallowed = False
        check()


def open_window() -> None:
    """Start the part a signal may cut short, from inside the `try` that catches it (the engine's loop): signals
    raise from here on, and one held back so far is raised at once. End it with close_window()."""
    _state.modes.append(_RAISE)
    check()


def close_window() -> bool:
    """End open_window(); True (so that `interrupted = close_window()` closes it first thing in the handler).

    At the end of the loop (no exception being handled) a signal lost in a finalizer inside the window is raised
    here, in the engine's try; in the handler it is already answered."""
    if _state.modes and _state.modes[-1] == _RAISE:
        _state.modes.pop()
    if sys.exc_info()[1] is None:
        _raise_swallowed()
    else:
        _state.swallowed, _state.pending = False, None
    return True


def finished() -> None:
    """The command is done and its results are on disk: a signal now ends the process quietly with its exit code
    (no traceback from the interpreter's shutdown)."""
    if not _state.installed:
        return

    def leave(signum, frame):
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001 - a closed pipe: nothing more to say
                pass
        os._exit(exit_code(signum))

    if _state.pending is not None:  # received and never acted on (after the last check): its exit code now
        leave(_state.pending, None)
    for signum in HANDLED:
        if signal.getsignal(signum) is _handle:
            signal.signal(signum, leave)


def check() -> None:
    """Raise the remembered signal, if any, as Interrupted."""
    signum = _state.pending
    if signum is not None:
        _state.pending, _state.deferred = None, 0
        raise Interrupted(signum)


def pending() -> bool:
    return _state.pending is not None


def received() -> int | None:
    return _state.received[0] if _state.received else None


def exit_code(signum: int | None = None) -> int:
    """The exit code of a process stopped by `signum` (default: the first signal received; SIGINT if none)."""
    signum = signum or received() or signal.SIGINT
    return 128 + int(signum)
