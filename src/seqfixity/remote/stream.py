"""Many remote objects read once each, in parallel ranged GETs, their bytes fed in order to the engine's hashers.

Fetching threads (``connections``) take the next range to fetch: the earliest object that still has ranges
to ask for, so one large object gets every connection and a folder of small ones gets one each; a new object
is taken only once every range of those being read has been asked for. Each range lands in a buffer of its
own, from a fixed pool (``buffers`` of ``range_size`` bytes): memory stays bounded whatever the objects'
sizes. Hashing threads (``threads``) feed each object's hashers its ranges in order, as soon as they are
complete: every MD5 stream of every object a thread holds goes to the multi-lane core in one call
(:func:`~seqfixity.engine.reading.feed_chunk` for the others), and a large object's hashers are split over
two threads (MD5 on one, the ETag's parts and the rest on the other), as the local reader does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from seqfixity.engine import lanes
from seqfixity.engine.etag import EtagError
from seqfixity.engine.reading import ProgressCallback, split_hashers
from seqfixity.errors import InputError
from seqfixity.remote.fetch import ObjectRead, fetch_range

RANGE_SIZE = 8 << 20
CONNECTIONS = 8
SPLIT_MIN_SIZE = 32 << 20
MAX_ACTIVE = 32
STOP_SECONDS = 2.0  # how long an interrupted read waits for its threads (they are daemons: the rest dies with it)
GATHER_SECONDS = 0.02  # how long a hashing thread with few streams ready waits for more to share the lanes

Item = TypeVar("Item")


@dataclass
class RemoteJob:
    """One object to read: how to fetch it (``read``) and every hasher with its cost relative to MD5.

    ``complete``, when given, makes the hashers once the first range has come (its answer may say what to
    compute, as a whole-object GET's checksums do); nothing is hashed before."""

    read: ObjectRead
    hashers: list[tuple[Any, float]]
    complete: Callable[[], list[tuple[Any, float]]] | None = None


@dataclass
class _Consumer:
    """Some of one object's hashers, fed its ranges in order by one hashing thread."""

    target: _Object
    lane: list
    plain: list
    weight: float = 0.0
    next: int = 0
    busy: bool = False


@dataclass
class _Object:
    """One object being read: its ranges, those fetched and waiting to be hashed, and how far it has got."""

    index: int
    item: Any
    job: RemoteJob
    ranges: list[tuple[int, int]]
    consumers: list[_Consumer] = field(default_factory=list)
    issued: int = 0
    fetching: int = 0
    ready: dict[int, tuple[int, int]] = field(default_factory=dict)  # range -> (buffer, consumers still to feed)
    error: Exception | None = None
    finished: bool = False


def split_ranges(size: int, range_size: int) -> list[tuple[int, int]]:
    """The byte ranges ``[start, end)`` that cover ``size`` bytes (one empty range for an empty object)."""
    if size == 0:
        return [(0, 0)]
    return [(start, min(size, start + range_size)) for start in range(0, size, range_size)]


def _split_cost(hashers: Sequence[tuple[Any, float]]) -> list[list[Any]]:
    """Two groups of about equal cost (MD5 on its own, in practice), or one when one group is all there is."""
    groups: list[list[Any]] = [[], []]
    loads = [0.0, 0.0]
    for hasher, cost in sorted(hashers, key=lambda item: -item[1]):
        lane = 0 if loads[0] <= loads[1] else 1
        groups[lane].append(hasher)
        loads[lane] += cost
    return [group for group in groups if group]


class RemoteReader(Generic[Item]):
    """Reads ``items`` (each made a :class:`RemoteJob` by ``prepare``); see :func:`read_remote`."""

    def __init__(self, items: Sequence[Item], prepare: Callable[[Item], RemoteJob], connections: int,
                 threads: int, on_bytes: ProgressCallback | None, range_size: int, buffers: int | None,
                 max_active: int = MAX_ACTIVE) -> None:
        self.items, self.prepare, self.on_bytes, self.max_active = list(items), prepare, on_bytes, max(1, max_active)
        self.connections, self.threads, self.range_size = max(1, connections), max(1, threads), range_size
        self.limit = max(buffers or self.connections + 2 * self.threads, self.connections)
        self.pool: list[bytearray] = []  # made as ranges need them, never more than ``limit``
        self.free: list[int] = []
        self.condition = threading.Condition()
        self.next_item = 0
        self.active: list[_Object] = []
        self.by_thread: list[list[_Consumer]] = [[] for _ in range(self.threads)]
        self.outcomes: dict[int, tuple] = {}
        self.stopped = False
        self.failure: BaseException | None = None

    # -- the fetching side ------------------------------------------------------------------------------------

    def _admit(self) -> bool:
        """Take the next item (called with the lock held); False when none is left."""
        while self.next_item < len(self.items) and len(self.active) < self.max_active:
            index = self.next_item
            self.next_item += 1
            item = self.items[index]
            try:
                job = self.prepare(item)
            except (InputError, EtagError) as err:
                self.outcomes[index] = (item, None, err)
                self.condition.notify_all()
                continue
            target = _Object(index, item, job, split_ranges(job.read.size, self.range_size))
            if job.complete is None:
                self._consumers(target, job.hashers)
            self.active.append(target)
            return True
        return False

    def _consumers(self, target: _Object, hashers: list[tuple[Any, float]]) -> None:
        """Give an object's hashers to the hashing threads (lock held): split in two for a large object."""
        size = target.job.read.size
        groups = _split_cost(hashers) if size >= SPLIT_MIN_SIZE and self.threads > 1 else [[h for h, _ in hashers]]
        costs = {id(h): cost for h, cost in hashers}
        for group in groups:
            lane, plain = split_hashers(group)
            consumer = _Consumer(target, lane, plain, sum(costs[id(h)] for h in group) * max(1, size))
            target.consumers.append(consumer)
            thread = min(range(self.threads), key=lambda t: sum(c.weight for c in self.by_thread[t]))
            self.by_thread[thread].append(consumer)

    def _next_range(self) -> tuple[_Object, int, int] | None:
        """The next range to fetch and its buffer, waiting for a buffer; None when nothing is left to fetch."""
        with self.condition:
            while not self.stopped:
                if self.free or len(self.pool) < self.limit:
                    for target in self.active:
                        if target.error is None and target.issued < len(target.ranges):
                            number = target.issued
                            target.issued += 1
                            target.fetching += 1
                            return target, number, self._buffer()
                    if self._admit():
                        continue
                    if self.next_item >= len(self.items) and not any(
                            t.error is None and t.issued < len(t.ranges) for t in self.active):
                        return None
                self.condition.wait()
            return None

    def _buffer(self) -> int:
        """A free buffer's index (lock held), making one while the pool is below its limit."""
        if self.free:
            return self.free.pop()
        self.pool.append(bytearray(self.range_size))
        return len(self.pool) - 1

    def fetch(self) -> None:
        """A fetching thread: ranges until none is left."""
        try:
            while (task := self._next_range()) is not None:
                target, number, buffer = task
                start, end = target.ranges[number]
                error, hashers = None, None
                try:
                    fetch_range(target.job.read, start, end, memoryview(self.pool[buffer])[:end - start])
                    if number == 0 and target.job.complete is not None:
                        hashers = target.job.complete()
                except (InputError, EtagError) as err:
                    error = err
                with self.condition:
                    if hashers is not None and target.error is None:
                        self._consumers(target, hashers)
                        for waiting, (held, _) in list(target.ready.items()):  # came before the hashers existed
                            target.ready[waiting] = (held, len(target.consumers))
                    target.fetching -= 1
                    if error is not None or target.error is not None:
                        self.free.append(buffer)
                        self._fail(target, target.error or error)
                    else:
                        target.ready[number] = (buffer, len(target.consumers))
                    self.condition.notify_all()
        except BaseException as err:  # handed to the caller's thread
            self._crash(err)

    # -- the hashing side -------------------------------------------------------------------------------------

    def hash(self, thread: int) -> None:
        """A hashing thread: feed its consumers' ranges in order until every object is done."""
        try:
            while True:
                with self.condition:
                    taken = []
                    waited = False
                    while not self.stopped:
                        mine = self.by_thread[thread]
                        taken = [c for c in mine if c.target.error is None and c.next in c.target.ready]
                        if taken and not waited and self._worth_waiting(mine, taken):
                            waited = True  # the lanes run about as fast full as with one stream: fill them
                            self.condition.wait(GATHER_SECONDS)
                            continue
                        if taken or self._all_done():
                            break
                        self.condition.wait()
                    if not taken:
                        return
                    for consumer in taken:
                        consumer.busy = True
                views = [(c, memoryview(self.pool[c.target.ready[c.next][0]])[:self._length(c)]) for c in taken]
                lanes.feed([pair for consumer, view in views for hasher in consumer.lane
                            for pair in hasher.lane_pairs(view)])
                for consumer, view in views:
                    for hasher in consumer.plain:
                        hasher.update(view)
                with self.condition:
                    for consumer, view in views:
                        self._advance(consumer, len(view))
                    self.condition.notify_all()
        except BaseException as err:
            self._crash(err)

    def _worth_waiting(self, mine: list[_Consumer], taken: list[_Consumer]) -> bool:
        """True when few MD5 streams are ready and more of this thread's ranges are on their way."""
        streams = sum(len(c.lane) for c in taken)
        coming = sum(1 for c in mine if c not in taken and c.target.fetching and c.target.error is None)
        return streams < min(lanes.width(), 4) and coming > 0

    def _length(self, consumer: _Consumer) -> int:
        start, end = consumer.target.ranges[consumer.next]
        return end - start

    def _advance(self, consumer: _Consumer, count: int) -> None:
        """A consumer has hashed its next range (lock held): free the buffer when no one else needs it."""
        target = consumer.target
        consumer.busy = False
        buffer, left = target.ready[consumer.next]
        if left <= 1:
            del target.ready[consumer.next]
            self.free.append(buffer)
        else:
            target.ready[consumer.next] = (buffer, left - 1)
        consumer.next += 1
        if self.on_bytes and consumer is target.consumers[0] and count:
            self.on_bytes(count)
        if target.error is not None:
            self._fail(target, target.error)
        elif all(c.next == len(target.ranges) for c in target.consumers):
            self._finish(target, None)

    def _fail(self, target: _Object, error: Exception) -> None:
        """Stop one object's read (lock held); its result waits for the threads still busy with it."""
        target.error = error
        hashing = {c.next for c in target.consumers if c.busy}
        for number in [n for n in target.ready if n not in hashing]:
            self.free.append(target.ready.pop(number)[0])
        if target.fetching == 0 and not any(c.busy for c in target.consumers):
            self._finish(target, error)

    def _finish(self, target: _Object, error: Exception | None) -> None:
        if target.finished:
            return
        target.finished = True
        self.active.remove(target)
        for consumer in target.consumers:
            for mine in self.by_thread:
                if consumer in mine:
                    mine.remove(consumer)
        self.outcomes[target.index] = (target.item, target.job, error)
        self.condition.notify_all()

    def _all_done(self) -> bool:
        return self.next_item >= len(self.items) and not self.active

    def _crash(self, err: BaseException) -> None:
        with self.condition:
            self.failure = self.failure or err
            self.stopped = True
            self.condition.notify_all()

    # -- the caller's side ------------------------------------------------------------------------------------

    def __iter__(self) -> Iterator[tuple[Item, RemoteJob | None, Exception | None]]:
        workers = [threading.Thread(target=self.fetch, name=f"seqfixity-fetch-{n}", daemon=True)
                   for n in range(self.connections)]
        workers += [threading.Thread(target=self.hash, args=(n,), name=f"seqfixity-hash-{n}", daemon=True)
                    for n in range(self.threads)]
        for worker in workers:
            worker.start()
        try:
            for index in range(len(self.items)):
                with self.condition:
                    while index not in self.outcomes and self.failure is None:
                        self.condition.wait()
                    if self.failure is not None:
                        raise self.failure
                    outcome = self.outcomes.pop(index)
                yield outcome
        finally:
            with self.condition:
                early = not self._all_done()
                self.stopped = True
                self.condition.notify_all()
            for worker in workers:  # stopped early (interrupted): a range in flight may take its timeout
                worker.join(STOP_SECONDS if early else None)


def read_remote(items: Sequence[Item], prepare: Callable[[Item], RemoteJob], connections: int = CONNECTIONS,
                threads: int = 2, on_bytes: ProgressCallback | None = None, range_size: int = RANGE_SIZE,
                buffers: int | None = None, max_active: int = MAX_ACTIVE,
                ) -> Iterator[tuple[Item, RemoteJob | None, Exception | None]]:
    """Read every item's object once; yield ``(item, job, error)`` in the order given.

    ``prepare(item)`` makes the item's :class:`RemoteJob` (raising :class:`InputError` or
    :class:`~seqfixity.engine.etag.EtagError` when it cannot be read); ``error`` is what stopped the item
    (:class:`~seqfixity.remote.fetch.ObjectError`, :class:`~seqfixity.remote.fetch.ObjectChanged`, ...), else
    None and every hasher has been fed every byte in order. At most ``connections`` ranges are fetched at
    once and ``buffers`` (default: ``connections`` + 2 per hashing thread) of ``range_size`` bytes are held;
    at most ``max_active`` objects are open at once (sinks that buffer, such as FASTQ validators, cost
    memory per open object).
    """
    return iter(RemoteReader(items, prepare, connections, threads, on_bytes, range_size, buffers, max_active))
