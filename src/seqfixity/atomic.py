"""Write a file whole or not at all: a temporary file beside it, then a rename."""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from seqfixity.errors import OutputError


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """Open a temporary file next to ``path`` for binary writing; rename it onto ``path`` on success.

    If the block raises, or the process dies, ``path`` keeps its old content (or
    stays absent) and the temporary file is removed where possible. A symbolic
    link at ``path`` stays a link: the file it points to is the one replaced.
    There is no ``fsync``: the rename guards against killed processes, which is
    what a report needs, and an fsync per file cost the workflow more than the
    hashing of its small files (750 reports per batch).
    """
    target = Path(path)
    try:
        if target.is_symlink():  # write through the link, as `> path` would, rather than replace the link
            target = Path(os.path.realpath(target))
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as err:
        raise output_error(path, err) from None
    handle = os.fdopen(fd, "wb")
    try:
        yield handle
    except BaseException:
        with contextlib.suppress(OSError):  # closing flushes, which fails again on a full disk
            handle.close()
        _remove(temporary)
        raise
    try:
        handle.close()  # flushes: a full disk shows here
        os.chmod(temporary, _mode_for(target))
        os.replace(temporary, target)
    except OSError as err:
        _remove(temporary)
        raise output_error(path, err) from None


def _remove(temporary: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(temporary)


def output_error(path: str | os.PathLike[str], err: OSError) -> OutputError:
    """The one-line error for an output that cannot be written (``path``: the output's name), with what to do."""
    if err.errno in (errno.EEXIST, errno.ENOTDIR):  # mkdir or open below a path that holds a file
        return OutputError(os.fsdecode(path), "part of its folder path is a file, not a folder")
    hint = {errno.ENOSPC: "free some space", errno.EDQUOT: "free some space",
            errno.EACCES: "choose a folder you can write to", errno.EROFS: "choose a folder you can write to",
            errno.EISDIR: "a folder has its name; move it away"}.get(err.errno or 0, "")
    reason = err.strerror or str(err)
    return OutputError(os.fsdecode(path), f"{reason}; {hint}" if hint else reason)


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_write(path) as handle:
        try:
            handle.write(data)
        except OSError as err:
            raise output_error(path, err) from None


def _mode_for(target: Path) -> int:
    """The mode a plain ``open(target, "w")`` would leave: the existing file's, else 0o666 less the umask."""
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        return 0o666 & ~_umask()


@functools.cache
def _umask() -> int:
    """The process umask, read without changing it where Linux allows (other threads may be creating files)."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
