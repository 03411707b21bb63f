"""The one-pass engine: read each file once and feed every requested digest from the same bytes.

Reads go through reusable buffers (``readinto``), allocated once per worker.
For large files the hashers are spread over two lanes: the reading thread
feeds one group, a second thread the other (hashlib and xxhash release the
GIL on large updates), so MD5 plus the multipart ETag run at ``md5sum`` speed.
Many files go through a pool of workers, each with its own buffers.
"""

from __future__ import annotations

import os
import queue
import stat
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from seqfixity.engine.etag import EtagError, ETagHasher
from seqfixity.engine.hashes import DIGEST_KINDS, StreamHasher
from seqfixity.errors import FileChangedError, InputError
from seqfixity.record import FileRecord
from seqfixity.settings import Settings

CHUNK_SIZE = 4 * 1024 * 1024
RING_SIZE = 4
SPLIT_MIN_SIZE = 32 * 1024 * 1024
READ_COST = 0.15

ProgressCallback = Callable[[int], None]


class BufferRing:
    """Buffers owned by one worker and reused for every file it reads."""

    def __init__(self, count: int = RING_SIZE, size: int = CHUNK_SIZE) -> None:
        self.buffers = [bytearray(size) for _ in range(count)]
        self.views = [memoryview(buffer) for buffer in self.buffers]


_worker_state = threading.local()


def _worker_ring() -> BufferRing:
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


FOLDER_HINT = " (use --recursive to hash the files in it)"


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


def _identity(info: os.stat_result) -> FileIdentity:
    return FileIdentity(info.st_size, info.st_mtime_ns, info.st_ino, info.st_dev)


def _split_lanes(hashers: Sequence[tuple[StreamHasher, float]]) -> tuple[list, list]:
    """Split hashers into (reading lane, second lane), balancing their cost."""
    reader, other = [], []
    loads = [READ_COST, 0.0]
    for hasher, cost in sorted(hashers, key=lambda item: -item[1]):
        lane = 0 if loads[0] < loads[1] else 1
        (reader, other)[lane].append(hasher)
        loads[lane] += cost
    return reader, other


def read_once(
    path: str,
    hashers: Sequence[tuple[StreamHasher, float]],
    ring: BufferRing | None = None,
    on_bytes: ProgressCallback | None = None,
) -> FileIdentity:
    """Read ``path`` once, feeding every hasher every byte in order; return the file's identity.

    ``hashers`` pairs each hasher with its cost relative to MD5. Raises
    :class:`InputError` when the file cannot be read and
    :class:`FileChangedError` when it changed during the read.
    """
    before = _identity(check_regular_file(path))
    ring = ring or _worker_ring()
    with _open_unbuffered(path) as handle:
        opened = _identity(os.fstat(handle.fileno()))
        if opened != before:
            raise FileChangedError(path, "changed between stat and open; hash it again when it is quiet")
        heavy = sum(1 for _, cost in hashers if cost >= 0.5)
        try:
            if before.size >= SPLIT_MIN_SIZE and heavy >= 2:
                total = _read_two_lanes(handle, hashers, ring, on_bytes)
            else:
                total = _read_one_lane(handle, [h for h, _ in hashers], ring, on_bytes)
        except OSError as err:
            raise InputError(path, f"read error: {err.strerror}") from None
        after = _identity(os.fstat(handle.fileno()))
    if after != before or total != before.size:
        raise FileChangedError(
            path, f"changed while being read (size {before.size} -> {after.size}, read {total} bytes); "
            "hash it again once it is no longer being written"
        )
    return before


def _open_unbuffered(path: str):
    try:
        return open(path, "rb", buffering=0)  # noqa: SIM115 - the caller closes it with `with`
    except OSError as err:
        raise InputError(path, f"cannot open: {err.strerror}") from None


def _read_one_lane(handle, hashers: list[StreamHasher], ring: BufferRing, on_bytes: ProgressCallback | None) -> int:
    buffer, view = ring.buffers[0], ring.views[0]
    total = 0
    while True:
        count = handle.readinto(buffer)
        if not count:
            return total
        chunk = view[:count]
        for hasher in hashers:
            hasher.update(chunk)
        total += count
        if on_bytes:
            on_bytes(count)


def _read_two_lanes(handle, hashers, ring: BufferRing, on_bytes: ProgressCallback | None) -> int:
    reader_lane, second_lane = _split_lanes(hashers)
    free: queue.SimpleQueue[int] = queue.SimpleQueue()
    ready: queue.SimpleQueue[tuple[int, int] | None] = queue.SimpleQueue()
    for index in range(len(ring.buffers)):
        free.put(index)
    failure: list[BaseException] = []

    def second() -> None:
        try:
            while (item := ready.get()) is not None:
                index, count = item
                chunk = ring.views[index][:count]
                for hasher in second_lane:
                    hasher.update(chunk)
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
            chunk = ring.views[index][:count]
            for hasher in reader_lane:
                hasher.update(chunk)
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
    settings = settings or Settings()
    path = os.fspath(path)
    size = check_regular_file(path).st_size
    wanted = set(settings.digests)
    layout = settings.layout(size) if "etag" in wanted else None
    hashers: dict[str, StreamHasher] = {}
    for name in wanted - {"etag"}:
        hashers[name] = DIGEST_KINDS[name].new()
    if layout is not None and not layout.multipart and "md5" not in hashers:
        hashers["md5"] = DIGEST_KINDS["md5"].new()
    if layout is not None and layout.multipart:
        hashers["etag"] = ETagHasher(layout.part_size)
    weighted = [(h, DIGEST_KINDS[name].cost) for name, h in hashers.items()] + list(sinks)
    identity = read_once(path, weighted, ring, on_bytes)
    if identity.size != size:
        raise FileChangedError(path, "changed size before it was read; hash it again when it is quiet")
    results = {name: hasher.result() if name != "etag" else hasher.hexdigest() for name, hasher in hashers.items()}
    record = FileRecord(path=path, size=identity.size, mtime_ns=identity.mtime_ns)
    if layout is not None:
        if not layout.multipart:
            results["etag"] = results["md5"]
        record.etag_part_size = layout.part_size
        record.etag_parts = layout.parts
    record.digests = {name: results[name] for name in settings.digests}
    return record


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
    return hash_planned(((path, settings) for path in paths), jobs, on_bytes)


def hash_planned(
    plan: Iterable[tuple[str, Settings]],
    jobs: int = 2,
    on_bytes: ProgressCallback | None = None,
) -> Iterator[FileRecord]:
    """Like :func:`hash_files`, with each path's own settings: yield one record per ``(path, settings)``, in order."""

    def one(item: tuple[str, Settings]) -> FileRecord:
        path, settings = item
        try:
            return hash_file(path, settings, on_bytes=on_bytes)
        except (InputError, EtagError) as err:
            return failed_record(path, err)

    plan = list(plan)
    if jobs <= 1 or len(plan) <= 1:
        yield from map(one, plan)
        return
    from concurrent.futures import ThreadPoolExecutor  # imported here to keep start-up short

    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="seqfixity-worker") as pool:
        yield from pool.map(one, plan)
