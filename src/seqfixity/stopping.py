"""Stopping on SIGINT (Ctrl-C) or SIGTERM (``kill``, ``scancel``): the run ends as STOPPED, ICA's fourth batch outcome.

While :func:`stoppable` is in force, the first of these signals marks the run as
stopped and raises :class:`Stopped` in the main thread. Every read checks the
mark at each chunk it reads (:func:`check`, called by the progress callback of
:func:`seqfixity.progress.byte_progress`), so the reading threads give up within
one chunk too, and the command writes what it has: the verdicts reached, the
files not yet judged. A second signal ends the process at once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator

SIGNALS = (signal.SIGINT, signal.SIGTERM)
_stopped = threading.Event()
_by: list[int] = []


class Stopped(BaseException):
    """The user stopped the run with ``signum``; a BaseException, as KeyboardInterrupt is, so that no
    ``except Exception`` on the way turns it into a verdict."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_status(self) -> int:
        """The shell's status for a process ended by the signal: 130 for SIGINT, 143 for SIGTERM."""
        return 128 + self.signum

    @property
    def signal_name(self) -> str:
        """``SIGINT`` or ``SIGTERM``."""
        return signal.Signals(self.signum).name


def check() -> None:
    """Raise :class:`Stopped` when the run has been stopped (in any thread)."""
    if _stopped.is_set():
        raise Stopped(_by[0])


def check_chunk(count: int) -> None:
    """:func:`check`, as the per-chunk callback (``on_bytes``) of a read that has no progress bar."""
    check()


def _on_signal(signum: int, frame: object) -> None:
    if _stopped.is_set():  # the second signal: the user does not want to wait for the report
        os._exit(128 + signum)
    _by.append(signum)
    _stopped.set()
    raise Stopped(signum)


@contextlib.contextmanager
def stoppable() -> Iterator[None]:
    """Turn SIGINT and SIGTERM into :class:`Stopped` while the block runs (from the main thread only).

    A signal the process was started with ignored stays ignored, as the shell means it to be (``cmd &`` in a
    script ignores SIGINT, so that Ctrl-C stops the script and not what it left running).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.signal(number, _on_signal) for number in SIGNALS
                if signal.getsignal(number) is not signal.SIG_IGN}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
