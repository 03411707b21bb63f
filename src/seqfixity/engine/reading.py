"""Reading a file once, safely: whether it can be read, who it is while it is read, reused buffers, and feeding
one chunk to every hasher (MD5 streams together on the multi-lane core, the others one by one)."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from seqfixity.engine.lanes import feed
from seqfixity.errors import FileChangedError, InputError

CHUNK_SIZE = 4 * 1024 * 1024
RING_SIZE = 4
FOLDER_HINT = " (use --recursive to hash the files in it)"

ProgressCallback = Callable[[int], None]


class BufferRing:
    """Buffers owned by one worker and reused for every file it reads."""

    def __init__(self, count: int = RING_SIZE, size: int = CHUNK_SIZE) -> None:
        self.buffers = [bytearray(size) for _ in range(count)]
        self.views = [memoryview(buffer) for buffer in self.buffers]


_worker_state = threading.local()


def worker_ring() -> BufferRing:
    """This thread's ring of :data:`RING_SIZE` buffers of :data:`CHUNK_SIZE` bytes, made once and reused."""
    ring = getattr(_worker_state, "ring", None)
    if ring is None:
        ring = _worker_state.ring = BufferRing()
    return ring


@dataclass(frozen=True)
class FileIdentity:
    """The facts that must not change while a file is read."""

    size: int
    mtime_ns: int
    inode: int
    device: int


def identity(info: os.stat_result) -> FileIdentity:
    """The identity of a file from its stat."""
    return FileIdentity(info.st_size, info.st_mtime_ns, info.st_ino, info.st_dev)


def check_regular_file(path: str, folder_hint: str = FOLDER_HINT) -> os.stat_result:
    """Return ``os.stat(path)``, or raise :class:`InputError` saying why it cannot be hashed.

    ``folder_hint`` follows "is a directory" (a command without ``--recursive`` passes "").
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        if os.path.lexists(path):
            raise InputError(path, "dangling symbolic link (its target does not exist)") from None
        raise InputError(path, "no such file or directory", missing=True) from None
    except OSError as err:
        raise InputError(path, f"cannot stat: {err.strerror}") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(path, f"is a directory{folder_hint}")
    if not stat.S_ISREG(info.st_mode):
        kind = "FIFO" if stat.S_ISFIFO(info.st_mode) else "device or socket"
        raise InputError(path, f"is a {kind}, not a regular file; copy it to a file first")
    return info


def open_checked(path: str, before: FileIdentity):
    """Open ``path`` unbuffered for reading; raise :class:`InputError` when it cannot be opened or is no longer
    the file ``before`` describes."""
    try:
        handle = open(path, "rb", buffering=0)  # noqa: SIM115 - the caller closes it
    except OSError as err:
        raise InputError(path, f"cannot open: {err.strerror}") from None
    if identity(os.fstat(handle.fileno())) != before:
        handle.close()
        raise FileChangedError(path, "changed between stat and open; hash it again when it is quiet")
    return handle


def check_unchanged(path: str, handle, before: FileIdentity, total: int) -> None:
    """Raise :class:`FileChangedError` when the file changed while it was read, or did not give ``before.size``."""
    after = identity(os.fstat(handle.fileno()))
    if after != before or total != before.size:
        raise FileChangedError(
            path, f"changed while being read (size {before.size} -> {after.size}, read {total} bytes); "
            "hash it again once it is no longer being written"
        )


@dataclass
class ReadJob:
    """One file to read once: its path, its identity when it was planned, and every hasher with its cost."""

    path: str
    before: FileIdentity
    hashers: list[tuple[Any, float]]


def split_hashers(hashers: Sequence[Any]) -> tuple[list[Any], list[Any]]:
    """Split hashers into those made of MD5 streams (``lane_pairs``) and the others (``update``)."""
    lane = [h for h in hashers if hasattr(h, "lane_pairs")]
    plain = [h for h in hashers if not hasattr(h, "lane_pairs")]
    return lane, plain


def feed_chunk(lane: Sequence[Any], plain: Sequence[Any], chunk: memoryview) -> None:
    """Feed ``chunk`` to every hasher: the MD5 streams of ``lane`` together, then each of ``plain``."""
    feed([pair for hasher in lane for pair in hasher.lane_pairs(chunk)])
    for hasher in plain:
        hasher.update(chunk)
