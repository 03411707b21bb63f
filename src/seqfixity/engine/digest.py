"""The one-pass engine: read each file once and feed every requested digest from the same bytes.

One file (:func:`read_once`): reads go through reusable buffers (``readinto``). When a multipart ETag's parts
are small enough that several fit in a 64 MiB window, the file is read in windows and the window's parts
run side by side on the multi-lane core. For large files the hashers are spread over two threads: the
reading thread feeds one group, a second thread the other (the core, hashlib and xxhash release the GIL),
so MD5 runs on one core while the ETag's parts, xxh3 and the reading share the other.

Many files (:func:`hash_planned`): with a SIMD backend, each worker keeps several files open and advances
all their MD5 streams together (:mod:`seqfixity.engine.group`); otherwise a pool of workers reads one file
each.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from seqfixity.engine import lanes
from seqfixity.engine.etag import EtagError, ETagHasher, EtagLayout
from seqfixity.engine.hashes import DIGEST_KINDS, StreamHasher
from seqfixity.engine.offsets import OFFSET_MIN_PARTS, part_digests_at_offsets
from seqfixity.engine.reading import (
    CHUNK_SIZE,
    BufferRing,
    FileIdentity,
    ProgressCallback,
    ReadJob,
    check_regular_file,
    check_unchanged,
    feed_chunk,
    identity,
    open_checked,
    split_hashers,
    worker_ring,
)
from seqfixity.errors import FileChangedError, InputError
from seqfixity.record import FileRecord
from seqfixity.settings import Settings

SPLIT_MIN_SIZE = 32 * 1024 * 1024
READ_COST = 0.15
# A window holds this many bytes; an ETag whose parts fit at least WINDOW_MIN_PARTS to a window has them
# hashed side by side, so its cost falls to about that of reading.
WINDOW_SIZE = 64 * 1024 * 1024
WINDOW_MIN_PARTS = 4
SPLIT_MIN_COST = 1.1  # an MD5 and the reading: reading the next chunk while the last is hashed pays

Weighted = Sequence[tuple[object, float]]
Item = TypeVar("Item")
SinkFactory = Callable[[str, int], list[tuple[StreamHasher, float]]]


def _window(hashers: Weighted, size: int) -> int:
    """The chunk size of one read: a window when an ETag's parts can run side by side in it, else CHUNK_SIZE.

    The window is a power of two no larger than the file needs (a 20 MiB file gets a 32 MiB window)."""
    if lanes.width() < WINDOW_MIN_PARTS or size <= CHUNK_SIZE:
        return CHUNK_SIZE
    window = CHUNK_SIZE
    while window < min(size, WINDOW_SIZE):
        window *= 2
    parts = [h.part_size for h, _ in hashers if isinstance(h, ETagHasher)]
    return window if any(window // p >= WINDOW_MIN_PARTS for p in parts) else CHUNK_SIZE


def _cost(hasher: object, cost: float, window: int) -> float:
    """A hasher's cost relative to one MD5 stream: an ETag whose parts run side by side costs a fraction."""
    if isinstance(hasher, ETagHasher) and window // hasher.part_size >= WINDOW_MIN_PARTS:
        return min(cost, 2.0 / min(window // hasher.part_size, lanes.width()))
    return cost


def _split_lanes(hashers: Weighted) -> tuple[list, list]:
    """Split hashers into (reading thread, second thread), balancing their cost."""
    reader, other = [], []
    loads = [READ_COST, 0.0]
    for hasher, cost in sorted(hashers, key=lambda item: -item[1]):
        lane = 0 if loads[0] < loads[1] else 1
        (reader, other)[lane].append(hasher)
        loads[lane] += cost
    return reader, other


def read_once(
    path: str,
    hashers: Weighted,
    ring: BufferRing | None = None,
    on_bytes: ProgressCallback | None = None,
) -> FileIdentity:
    """Read ``path`` once, feeding every hasher every byte in order; return the file's identity.

    ``hashers`` pairs each hasher with its cost relative to MD5. Raises
    :class:`InputError` when the file cannot be read and
    :class:`FileChangedError` when it changed during the read.
    """
    before = identity(check_regular_file(path))
    etag = _etag_at_offsets(hashers, before.size)
    if etag is not None:  # an ETag-only read: its parts side by side on both cores, each read at its offset
        workers = 2 if before.size >= SPLIT_MIN_SIZE else 1
        etag.take_part_digests(before.size, part_digests_at_offsets(path, before, etag.part_size, workers, on_bytes))
        return before
    window = len(ring.buffers[0]) if ring is not None else _window(hashers, before.size)
    weighted = [(h, _cost(h, cost, window)) for h, cost in hashers]
    # two threads when there is enough hashing to share, or a window of ETag parts to hash while the next is read
    two = before.size >= SPLIT_MIN_SIZE and (
        window > CHUNK_SIZE or READ_COST + sum(cost for _, cost in weighted) >= SPLIT_MIN_COST)
    with open_checked(path, before) as handle:
        try:
            if ring is None:  # a window is this read's own: kept per worker it would hold 128 MiB between files
                ring = worker_ring() if window == CHUNK_SIZE else BufferRing(2 if two else 1, window)
            if two:
                total = _read_two_lanes(handle, weighted, ring, on_bytes)
            else:
                total = _read_one_lane(handle, [h for h, _ in weighted], ring, on_bytes)
        except OSError as err:
            raise InputError(path, f"read error: {err.strerror}") from None
        check_unchanged(path, handle, before, total)
    return before


def _etag_at_offsets(hashers: Weighted, size: int) -> ETagHasher | None:
    """The ETag of an ETag-only read whose parts fill lanes when read at their offsets, else None."""
    if lanes.width() < OFFSET_MIN_PARTS or len(hashers) != 1 or not isinstance(hashers[0][0], ETagHasher):
        return None
    etag = hashers[0][0]
    fresh = not etag.size and size >= max(etag.threshold, 1)
    return etag if fresh and size // etag.part_size >= OFFSET_MIN_PARTS else None


def _read_one_lane(handle, hashers: list, ring: BufferRing, on_bytes: ProgressCallback | None) -> int:
    lane, plain = split_hashers(hashers)
    buffer, view = ring.buffers[0], ring.views[0]
    total = 0
    while True:
        count = handle.readinto(buffer)
        if not count:
            return total
        feed_chunk(lane, plain, view[:count])
        total += count
        if on_bytes:
            on_bytes(count)


def _read_two_lanes(handle, hashers: Weighted, ring: BufferRing, on_bytes: ProgressCallback | None) -> int:
    reader_lane, second_lane = (split_hashers(group) for group in _split_lanes(hashers))
    free: queue.SimpleQueue[int] = queue.SimpleQueue()
    ready: queue.SimpleQueue[tuple[int, int] | None] = queue.SimpleQueue()
    for index in range(len(ring.buffers)):
        free.put(index)
    failure: list[BaseException] = []

    def second() -> None:
        try:
            while (item := ready.get()) is not None:
                index, count = item
                feed_chunk(*second_lane, ring.views[index][:count])
                free.put(index)
        except BaseException as err:  # handed to the reading thread
            failure.append(err)
            free.put(-1)

    thread = threading.Thread(target=second, name="seqfixity-lane", daemon=True)
    thread.start()
    total = 0
    try:
        while True:
            index = free.get()
            if index < 0:
                break
            count = handle.readinto(ring.buffers[index])
            if not count:
                break
            feed_chunk(*reader_lane, ring.views[index][:count])
            ready.put((index, count))
            total += count
            if on_bytes:
                on_bytes(count)
    finally:
        ready.put(None)
        thread.join()
    if failure:
        raise failure[0]
    return total


@dataclass
class FileJob(ReadJob):
    """A read that makes a :class:`FileRecord`: the digests ``settings`` ask for, plus the caller's sinks."""

    settings: Settings = field(default_factory=Settings)
    layout: EtagLayout | None = None
    digests: dict[str, object] = field(default_factory=dict)
    sinks: list[tuple[StreamHasher, float]] = field(default_factory=list)

    def record(self, found: FileIdentity) -> FileRecord:
        """The record of the read: every digest the settings ask for (below the threshold the ETag is the MD5)."""
        if found.size != self.before.size:
            raise FileChangedError(self.path, "changed size before it was read; hash it again when it is quiet")
        results = {name: h.hexdigest() if name == "etag" else h.result() for name, h in self.digests.items()}
        record = FileRecord(path=self.path, size=found.size, mtime_ns=found.mtime_ns)
        if self.layout is not None:
            if not self.layout.multipart:
                results["etag"] = results["md5"]
            record.etag_part_size = self.layout.part_size
            record.etag_parts = self.layout.parts
        record.digests = {name: results[name] for name in self.settings.digests}
        return record


def plan_file(path: str, settings: Settings, sinks: SinkFactory | None = None) -> FileJob:
    """Decide what one read of ``path`` computes under ``settings``, plus the sinks ``sinks(path, size)`` makes.

    Raises :class:`InputError` when the file cannot be hashed and :class:`EtagError` when its layout breaks
    S3's limits.
    """
    return plan_sized(path, identity(check_regular_file(path)), settings, sinks)


def plan_sized(name: str, before: FileIdentity, settings: Settings, sinks: SinkFactory | None = None,
               layout: EtagLayout | None = None) -> FileJob:
    """Decide what one read of ``before.size`` bytes named ``name`` computes: the hashers and the record.

    The planner of :func:`plan_file`, for anything whose size is known without a stat (a remote object).
    ``layout`` replaces the settings' ETag layout when the object's own is known (S3's part size);
    raises :class:`EtagError` when the settings' layout breaks S3's limits.
    """
    size = before.size
    wanted = set(settings.digests)
    if "etag" not in wanted:
        layout = None
    elif layout is None:
        layout = settings.layout(size)
    digests: dict[str, object] = {name: DIGEST_KINDS[name].new() for name in wanted - {"etag"}}
    if layout is not None and not layout.multipart and "md5" not in digests:
        digests["md5"] = DIGEST_KINDS["md5"].new()
    if layout is not None and layout.multipart:
        digests["etag"] = ETagHasher(layout.part_size)
    extra = sinks(name, size) if sinks else []
    weighted = [(h, DIGEST_KINDS[kind].cost) for kind, h in digests.items()] + list(extra)
    return FileJob(name, before, weighted, settings, layout, digests, extra)


def hash_file(
    path: str | os.PathLike[str],
    settings: Settings | None = None,
    ring: BufferRing | None = None,
    on_bytes: ProgressCallback | None = None,
    sinks: Sequence[tuple[StreamHasher, float]] = (),
) -> FileRecord:
    """Read ``path`` once and return its :class:`FileRecord` with every digest in ``settings``.

    ``sinks`` (each with its cost relative to MD5) are fed the same bytes in the
    same read, for checks such as FASTQ validation; the caller reads their
    results. Below the ETag threshold the ETag is the MD5 (computed once). Raises
    :class:`InputError` (or :class:`FileChangedError`) when the file cannot be
    hashed, and :class:`EtagError` when its layout breaks S3's limits.
    """
    job = plan_file(os.fspath(path), settings or Settings())
    return job.record(read_once(job.path, job.hashers + list(sinks), ring, on_bytes))


def failed_record(path: str, error: Exception) -> FileRecord:
    """Return a record for a file that could not be hashed, holding the error and its kind."""
    if isinstance(error, FileChangedError):
        kind = "changed"
    elif isinstance(error, InputError):
        kind = "missing" if error.missing else "unreadable"
    else:
        kind = "layout"
    reason = error.reason if isinstance(error, InputError) else str(error)
    return FileRecord(path=path, error=reason, error_kind=kind)


def hash_files(
    paths: Iterable[str],
    settings: Settings | None = None,
    jobs: int = 2,
    on_bytes: ProgressCallback | None = None,
) -> Iterator[FileRecord]:
    """Hash ``paths`` with ``jobs`` workers; yield one record per path, in the order given.

    A file that cannot be hashed yields a record whose ``error`` says why and
    whose ``error_kind`` says what kind of failure it was; the other files are
    still hashed.
    """
    settings = settings or Settings()
    return (record for record, _ in hash_planned(((path, settings) for path in paths), jobs, on_bytes))


def hash_planned(
    plan: Iterable[tuple[str, Settings]],
    jobs: int = 2,
    on_bytes: ProgressCallback | None = None,
    sinks: SinkFactory | None = None,
    max_open: int | None = None,
    ordered: bool = True,
) -> Iterator[tuple[FileRecord, list[tuple[StreamHasher, float]]]]:
    """Like :func:`hash_files`, with each path's own settings: yield ``(record, sinks)`` per ``(path, settings)``,
    in order (``ordered=False``: as files end, where many are read at once). ``sinks(path, size)`` makes the
    extra sinks of each file; their results are the caller's, and so is closing them when the record failed.
    ``max_open`` caps the files a worker reads at once (sinks that buffer, such as a FASTQ validator's inflated
    pieces, cost memory per open file)."""
    def prepare(item: tuple[str, Settings]) -> FileJob:
        return plan_file(item[0], item[1], sinks)

    for (path, _), job, found, error in read_many(list(plan), prepare, jobs, on_bytes, max_open, ordered):
        try:
            if error is None:
                yield job.record(found), job.sinks
                continue
        except InputError as err:
            error = err
        yield failed_record(path, error), job.sinks if job else []


def read_many(items: Sequence[Item], prepare: Callable[[Item], ReadJob], jobs: int = 2,
              on_bytes: ProgressCallback | None = None, max_open: int | None = None, ordered: bool = True,
              ) -> Iterator[tuple[Item, ReadJob | None, FileIdentity | None, Exception | None]]:
    """Read each item's file once (``prepare(item)`` says what to compute); yield ``(item, job, identity,
    error)`` in the order given (``ordered=False``: as they end, when many files share the lanes), ``error``
    being what stopped the item (:class:`InputError`, :class:`EtagError`).

    With a SIMD backend and at least two files per worker, each of ``jobs`` workers reads several files in
    turns (at most ``max_open``) and runs their MD5 streams side by side (:mod:`seqfixity.engine.group`);
    otherwise each worker reads one file at a time, with two threads for a large one (:func:`read_once`).
    """
    jobs = max(1, jobs)
    if lanes.width() > 1 and len(items) >= 2 * jobs:
        from seqfixity.engine.group import read_grouped  # only where many files share the lanes

        yield from read_grouped(items, prepare, jobs, on_bytes, max_open, ordered)
        return

    def one(item: Item) -> tuple[Item, ReadJob | None, FileIdentity | None, Exception | None]:
        job = None
        try:
            job = prepare(item)
            return item, job, read_once(job.path, job.hashers, on_bytes=on_bytes), None
        except (InputError, EtagError) as err:
            return item, job, None, err

    if jobs == 1 or len(items) <= 1:
        yield from map(one, items)
        return
    from concurrent.futures import ThreadPoolExecutor  # imported here to keep start-up short

    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="seqfixity-worker") as pool:
        yield from pool.map(one, items)
