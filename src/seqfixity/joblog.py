"""A workflow job's messages (``--log FILE``): kept in its log file, and shown on the terminal when the job fails
or the log cannot be written.

The workflow's logs live in the output folder. When that folder's disk is full,
a job that sent its stderr there (``2> log``) failed with an empty log and said
nothing anywhere; here every message is also kept in memory, so the one line
naming the file that could not be written and why reaches the terminal (or, on
SLURM, the job's own log, which Snakemake prints for a failed job).
"""

from __future__ import annotations

import io
import os
from typing import TextIO


class JobLog(io.TextIOBase):
    """Stands in for ``sys.stderr``: each message goes to the log file as it comes, and is kept for :meth:`close`."""

    def __init__(self, path: str, terminal: TextIO) -> None:
        super().__init__()
        self.path = path
        self.terminal = terminal
        self.kept: list[str] = []
        self.problem: OSError | None = None
        try:
            self.handle: TextIO | None = open(path, "w", encoding="utf-8", errors="backslashreplace")  # noqa: SIM115
        except OSError as err:
            self.handle, self.problem = None, err
            self._tell_terminal_now()

    def writable(self) -> bool:
        """Always: messages are taken even when the log file cannot hold them."""
        return True

    def write(self, text: str) -> int:
        """Write ``text`` to the log (and straight to the terminal once the log has failed); keep a copy."""
        if self.problem is not None:
            self.terminal.write(text)
            self.terminal.flush()
            return len(text)
        self.kept.append(text)
        try:
            self.handle.write(text)
            self.handle.flush()
        except OSError as err:
            self.problem = err
            self._tell_terminal_now()
        return len(text)

    def close(self, failed: bool = False) -> None:  # type: ignore[override]
        """Close the log; show the kept messages on the terminal when the job ``failed`` (the log may be lost)."""
        if self.handle is not None:
            try:
                self.handle.close()
            except OSError as err:  # the last flush: a full disk shows here when it did not before
                if self.problem is None:
                    self.problem = err
                    self._tell_terminal_now()
            self.handle = None
        if failed and self.kept:
            self.terminal.write("".join(self.kept))
            self.terminal.flush()
        self.kept = []
        super().close()

    def _tell_terminal_now(self) -> None:
        """The log cannot be written: say so, then show what it was to hold; later messages go to the terminal."""
        reason = self.problem.strerror if self.problem is not None else "unknown error"
        self.terminal.write(f"seqfixity: {os.fsdecode(self.path)}: cannot write the log: {reason}; its messages "
                            "follow here\n")
        self.terminal.write("".join(self.kept))
        self.terminal.flush()
        self.kept = []
