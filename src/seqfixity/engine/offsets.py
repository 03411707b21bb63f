"""The parts of one file's multipart ETag read at their offsets, many parts in flight at once.

The parts of an ETag are independent MD5 streams. Where they are too large to sit several to a window
(:data:`seqfixity.engine.digest.WINDOW_SIZE`), an ETag-only read (``--digests etag``, ``verify`` against a
multipart object) would be one sequential MD5 stream. Here each of ``workers`` threads takes every
``workers``-th part and keeps up to one part per lane of the multi-lane core open, reading each at its own
offset (``os.preadv``) one chunk per round into a buffer of its own and feeding all of them in one call.
Every byte is still read once; memory is lanes x chunk per worker, whatever the part size.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

from seqfixity.engine import lanes
from seqfixity.engine.reading import FileIdentity, check_unchanged, open_checked
from seqfixity.errors import FileChangedError

OFFSET_CHUNK = 1024 * 1024
OFFSET_MIN_PARTS = 4  # fewer parts than this: the parts would not fill lanes; read the file in order


class _Part:
    """One part being read: where it is, where it ends, its stream and its buffer."""

    __slots__ = ("index", "position", "end", "stream", "view")

    def __init__(self, index: int, start: int, end: int, view: memoryview) -> None:
        self.index, self.position, self.end = index, start, end
        self.stream = lanes.Md5Stream()
        self.view = view  # OFFSET_CHUNK bytes, handed on to the next part when this one ends


def part_digests_at_offsets(path: str, before: FileIdentity, part_size: int, workers: int = 2,
                            on_bytes: Callable[[int], None] | None = None) -> list[bytes]:
    """Return the MD5 of every ``part_size`` part of ``path`` (``before`` is the file's identity when planned).

    Raises :class:`~seqfixity.errors.InputError` when the file cannot be opened and
    :class:`~seqfixity.errors.FileChangedError` when it changed while it was read.
    """
    size = before.size
    count = max(1, -(-size // part_size))
    digests: list[bytes] = [b""] * count
    failure: list[BaseException] = []
    read = [0] * workers
    with open_checked(path, before) as handle:
        fd = handle.fileno()

        def work(worker: int) -> None:
            try:
                read[worker] = _read_parts(path, fd, size, part_size, range(worker, count, workers), digests,
                                           on_bytes)
            except BaseException as err:  # handed to the calling thread
                failure.append(err)

        threads = [threading.Thread(target=work, args=(n,), name=f"seqfixity-parts-{n}", daemon=True)
                   for n in range(1, workers)]
        for thread in threads:
            thread.start()
        work(0)
        for thread in threads:
            thread.join()
        if failure:
            raise failure[0]
        check_unchanged(path, handle, before, sum(read))
    return digests


def _read_parts(path: str, fd: int, size: int, part_size: int, indexes: range, digests: list[bytes],
                on_bytes: Callable[[int], None] | None) -> int:
    """Read the parts ``indexes`` of the file, ``lanes.width()`` at a time; store their MD5s; return the bytes
    read."""
    waiting = iter(indexes)
    open_parts: list[_Part] = []
    spare: list[memoryview] = []
    total = 0

    def refill() -> None:
        while len(open_parts) < lanes.width() and (index := next(waiting, None)) is not None:
            view = spare.pop() if spare else memoryview(bytearray(OFFSET_CHUNK))
            open_parts.append(_Part(index, index * part_size, min(size, (index + 1) * part_size), view))

    refill()
    while open_parts:
        pairs = []
        for part in open_parts:
            want = min(len(part.view), part.end - part.position)
            got = os.preadv(fd, [part.view[:want]], part.position)
            if got < want:
                raise FileChangedError(path, f"changed while being read (ended at {part.position + got} bytes, "
                                             f"not {size}); hash it again once it is no longer being written")
            pairs.append((part.stream, part.view[:got]))
            part.position += got
            total += got
        lanes.feed(pairs)
        if on_bytes:
            on_bytes(sum(len(view) for _, view in pairs))
        for part in [p for p in open_parts if p.position == p.end]:
            digests[part.index] = part.stream.digest()
            open_parts.remove(part)
            spare.append(part.view)
        refill()
    return total
