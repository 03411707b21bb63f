"""Exception classes: each names the file and what is wrong with it."""

from __future__ import annotations


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
