"""Exception classes: each names the file and what is wrong with it."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class SeqfixityError(Exception):
    """Base class of the errors seqfixity reports to its user."""


class InputError(SeqfixityError):
    """A path that cannot be hashed: missing, not a regular file, unreadable, or changed while read.

    ``missing`` is true when nothing exists at the path, so callers can tell
    MISSING from UNREADABLE.
    """

    def __init__(self, path: str, reason: str, missing: bool = False) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason
        self.missing = missing


class FileChangedError(InputError):
    """The file's size or modification time changed while it was being read."""


class SettingsError(SeqfixityError):
    """A setting or configuration value that cannot be used."""


class OutputError(SeqfixityError):
    """A report or output file that cannot be written (folder not writable, disk full, a folder in its place)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: cannot write: {reason}")
        self.path = path
        self.reason = reason


def did_you_mean(word: object, choices: Iterable[object]) -> str:
    """``"did you mean 'hash'? "`` for the choice closest to a mistyped ``word``, or ``""`` when none is close."""
    close = difflib.get_close_matches(str(word), [str(choice) for choice in choices], n=1, cutoff=0.5)
    return f"did you mean {close[0]!r}? " if close else ""
