"""Many files at once: each worker keeps several files open and reads them in turns, one MD5 lane (or more) each.

A round reads the next chunk of every open file into that file's buffer, then feeds the MD5 streams of all of
them (the MD5, the parts of the ETag, the candidate part sizes) to the multi-lane core in one call; xxh3, the
other digests and the sinks ride on the same bytes. A file that ends makes room for the next. Once no file is
left to open, a worker with nothing to read takes over open files from a busier one (between rounds, so a file
is never read by two threads at once), so that both cores keep full lanes to the end. Each file is still read
once, in order, with its identity checked before and after; results come out in the order the items were
given.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from seqfixity.engine import lanes
from seqfixity.engine.reading import (
    FileIdentity,
    ProgressCallback,
    ReadJob,
    check_unchanged,
    feed_chunk,
    open_checked,
    split_hashers,
)
from seqfixity.errors import InputError

GROUP_CHUNK = 1024 * 1024
MAX_GROUP_FILES = 16

Item = TypeVar("Item")
Outcome = tuple[Item, ReadJob | None, FileIdentity | None, Exception | None]


@dataclass
class _Open:
    """One file a worker is reading: its job, handle, buffer and how far it has got."""

    index: int
    item: object
    job: ReadJob
    handle: object
    lane: list
    plain: list
    buffer: bytearray
    view: memoryview
    total: int = 0
    count: int = 0
    error: InputError | None = None


class _Results(Generic[Item]):
    """Outcomes by index, handed out as they become available: in order, or (``ordered=False``) as they end."""

    def __init__(self, count: int, ordered: bool = True) -> None:
        self._ready: dict[int, Outcome] = {}
        self._count = count
        self._ordered = ordered
        self._condition = threading.Condition()
        self.failure: BaseException | None = None
        self.stopped = False

    def put(self, index: int, outcome: Outcome) -> None:
        with self._condition:
            self._ready[index] = outcome
            self._condition.notify_all()

    def fail(self, error: BaseException) -> None:
        with self._condition:
            self.failure = self.failure or error
            self._condition.notify_all()

    def stop(self) -> None:
        """Tell the workers to stop (the caller stopped reading, or was interrupted)."""
        self.stopped = True

    def __iter__(self) -> Iterator[Outcome]:
        for index in range(self._count):
            with self._condition:  # the lock is not held while the caller handles the outcome: workers go on
                while (index not in self._ready if self._ordered else not self._ready) and self.failure is None:
                    self._condition.wait()
                if self.failure is not None:
                    raise self.failure
                outcome = self._ready.pop(index if self._ordered else next(iter(self._ready)))
            yield outcome


def read_grouped(items: Sequence[Item], prepare: Callable[[Item], ReadJob], workers: int,
                 on_bytes: ProgressCallback | None = None, max_open: int | None = None,
                 ordered: bool = True) -> Iterator[Outcome]:
    """Read every item's file once with ``workers`` threads, each reading several files in turns.

    ``prepare(item)`` makes the item's :class:`ReadJob` (raising :class:`InputError` or
    :class:`~seqfixity.engine.etag.EtagError` when it cannot be read); yields ``(item, job, identity, error)``
    in the order of ``items`` (``ordered=False``: as they end), with ``error`` the exception that stopped the
    item, else None. A worker keeps at most ``max_open`` files open (default :data:`MAX_GROUP_FILES`).
    """
    results: _Results = _Results(len(items), ordered)
    per_worker = max(1, min(max_open or MAX_GROUP_FILES, math.ceil(len(items) / workers)))
    shared = _Shared(iter(enumerate(items)), workers)

    def work(number: int) -> None:
        try:
            _Worker(number, per_worker, shared, prepare, results, on_bytes).run()
        except BaseException as err:  # handed to the caller's thread
            results.fail(err)

    threads = [threading.Thread(target=work, args=(n,), name=f"seqfixity-group-{n}", daemon=True)
               for n in range(workers)]
    for thread in threads:
        thread.start()
    try:
        yield from results
    finally:
        results.stop()
        shared.wake()
        for thread in threads:
            thread.join()


class _Shared:
    """What the workers share: the items not yet opened, and the open files handed from a busy worker to an idle one.

    A worker takes over only files another worker handed over: the giver must not take them back before the
    idle worker, woken, gets the lock (it would hand over and take back every round, and the other would idle).
    """

    def __init__(self, queue, workers: int) -> None:
        self._queue = queue
        self._lock = threading.Condition()
        self.exhausted = False
        self.handed: list[tuple[int, _Open]] = []  # (the giver, the file)
        self.waiting = 0
        self.working = workers

    def next_item(self):
        """The next item to open, or None when every item has been taken."""
        with self._lock:
            taken = next(self._queue, None)
            self.exhausted = taken is None
            return taken

    def hand_over(self, giver: int, files: list[_Open]) -> None:
        with self._lock:
            self.handed.extend((giver, opened) for opened in files)
            self._lock.notify_all()

    def take_over(self, taker: int) -> _Open | None:
        """A file another worker handed over, or None."""
        with self._lock:
            for index, (giver, opened) in enumerate(self.handed):
                if giver != taker:
                    del self.handed[index]
                    return opened
            return None

    def _for(self, taker: int) -> bool:
        return any(giver != taker for giver, _ in self.handed)

    def wants(self) -> bool:
        """True when a worker waits with nothing to read and nothing is already waiting to be taken over."""
        return self.exhausted and self.waiting > 0 and not self.handed

    def wait_for_work(self, taker: int, stopped) -> bool:
        """Wait (with nothing to read) until a file is handed over; False when every worker is done."""
        with self._lock:
            self.waiting += 1
            try:
                while not self._for(taker) and not stopped() and self.waiting < self.working:
                    self._lock.wait()
                return self._for(taker)
            finally:
                self.waiting -= 1
                self._lock.notify_all()

    def leave(self) -> list[_Open]:
        """A worker is done; the last one to leave gets the files still handed over (when stopped) to close."""
        with self._lock:
            self.working -= 1
            self._lock.notify_all()
            if self.working:
                return []
            left, self.handed = [opened for _, opened in self.handed], []
            return left

    def wake(self) -> None:
        with self._lock:
            self._lock.notify_all()


class _Worker:
    """Reads up to ``limit`` files at once, with at most the core's width of MD5 streams among them."""

    def __init__(self, number: int, limit: int, shared: _Shared, prepare, results: _Results,
                 on_bytes: ProgressCallback | None) -> None:
        self.number = number
        self.limit, self.shared, self.prepare, self.results, self.on_bytes = limit, shared, prepare, results, on_bytes
        self.width = lanes.width()
        self.spare: list[bytearray] = []
        self.active: list[_Open] = []

    def run(self) -> None:
        stopped = lambda: self.results.stopped  # noqa: E731 - read fresh at every wait
        try:
            while not stopped():
                if not self._admit():
                    if not self.shared.wait_for_work(self.number, stopped):
                        return
                    continue
                self._round()
                if len(self.active) > 1 and self.shared.wants():  # another is idle: give it half the work left
                    by_left = sorted(self.active, key=lambda f: f.job.before.size - f.total, reverse=True)
                    self.active = by_left[0::2]
                    self.shared.hand_over(self.number, by_left[1::2])
        finally:
            for opened in self.active + self.shared.leave():  # left unfinished when stopped
                opened.handle.close()

    def _admit(self) -> bool:
        """Open files until the limit or the lanes are full; False when nothing is left to read."""
        from seqfixity.engine.etag import EtagError

        streams = sum(len(f.lane) for f in self.active)
        while len(self.active) < self.limit and streams < self.width:
            handed = self.shared.take_over(self.number)
            if handed is not None:
                self.active.append(handed)
                streams += len(handed.lane)
                continue
            taken = self.shared.next_item()
            if taken is None:
                break
            index, item = taken
            job = None
            try:
                job = self.prepare(item)
                handle = open_checked(job.path, job.before)
            except (InputError, EtagError) as err:
                self.results.put(index, (item, job, None, err))
                continue
            lane, plain = split_hashers([h for h, _ in job.hashers])
            buffer = self.spare.pop() if self.spare else bytearray(GROUP_CHUNK)
            self.active.append(_Open(index, item, job, handle, lane, plain, buffer, memoryview(buffer)))
            streams += len(lane)
        return bool(self.active)

    def _round(self) -> None:
        """Read the next chunk of every open file, hash all of them, and finish the files that ended."""
        pairs = []
        for opened in self.active:
            try:
                opened.count = opened.handle.readinto(opened.buffer)
            except OSError as err:
                opened.count, opened.error = 0, InputError(opened.job.path, f"read error: {err.strerror}")
            if opened.count:
                chunk = opened.view[:opened.count]
                pairs += [pair for hasher in opened.lane for pair in hasher.lane_pairs(chunk)]
        lanes.feed(pairs)
        still = []
        for opened in self.active:
            if opened.count:
                feed_chunk((), opened.plain, opened.view[:opened.count])
                opened.total += opened.count
                if self.on_bytes:
                    self.on_bytes(opened.count)
                still.append(opened)
            else:
                self._finish(opened)
        self.active = still

    def _finish(self, opened: _Open) -> None:
        job = opened.job
        try:
            if opened.error is not None:
                raise opened.error
            check_unchanged(job.path, opened.handle, job.before, opened.total)
            outcome = (opened.item, job, job.before, None)
        except InputError as err:
            outcome = (opened.item, job, None, err)
        finally:
            opened.handle.close()
            self.spare.append(opened.buffer)
        self.results.put(opened.index, outcome)
