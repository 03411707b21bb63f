"""Infer the part size behind an existing ETag, testing every candidate in one read.

Every candidate part size is an ETag of its own, each part an MD5 stream, all advanced side by side on the
multi-lane core. With enough candidates to fill the lanes, a large file is read as two halves on two
threads: a candidate's parts before its first part boundary past a common point are hashed by the first
thread, the rest by the second, so both cores run full lanes; only the bytes between the candidates'
boundaries nearest that point (less than one part) are read by both. Every candidate's first part starts at
byte 0, so one MD5 stream over the longest first part gives them all (a digest at each part size), and the
point is chosen where both threads then hash about as much.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field

from seqfixity.engine import lanes
from seqfixity.engine.digest import SPLIT_MIN_SIZE, WINDOW_MIN_PARTS, read_once
from seqfixity.engine.etag import (
    MAX_GUESS_CANDIDATES,
    ETagHasher,
    ParsedEtag,
    admissible_part_sizes,
    guess_candidates,
    multipart_etag_from_digests,
)
from seqfixity.engine.hashes import DIGEST_KINDS
from seqfixity.engine.lanes import feed
from seqfixity.engine.reading import CHUNK_SIZE, check_regular_file, check_unchanged, identity, open_checked
from seqfixity.errors import FileChangedError

# A byte of a lone MD5 stream costs about this many lane-widths of the multi-lane core's bytes (AVX-512 here:
# 16 lanes at 4.4 GB/s in all, one hashlib stream at 0.7 GB/s: 0.4 x 16 lanes).
SCALAR_LANE_COST = 0.4
CUT_STEPS = 64  # where the threads meet: the best of this many points across the file


@dataclass
class GuessResult:
    """What a guess found: the part sizes that reproduce the ETag, and which were tried."""

    path: str
    size: int
    etag: ParsedEtag
    matched: list[int] = field(default_factory=list)
    tried: list[int] = field(default_factory=list)
    admissible: tuple[int, int] | None = None
    candidates_in_range: int = 0
    computed: dict[int, str] = field(default_factory=dict)
    md5: str = ""

    @property
    def found(self) -> bool:
        """True when the ETag was reproduced."""
        return bool(self.matched) or (not self.etag.multipart and self.md5 == self.etag.hex)


def guess_part_size(
    path: str | os.PathLike[str],
    etag: ParsedEtag,
    candidates: list[int] | None = None,
    limit: int = MAX_GUESS_CANDIDATES,
) -> GuessResult:
    """Find the part size(s) that reproduce ``etag`` for the file at ``path``, in one read.

    For a plain ETag the file's MD5 is compared. For ``hex-N`` the candidates
    (default: :func:`seqfixity.engine.etag.guess_candidates`) are all hashed from the
    same bytes. Raises :class:`~seqfixity.errors.InputError` for unreadable files
    and :class:`~seqfixity.engine.etag.EtagError` when no part size can give N parts.
    """
    path = os.fspath(path)
    size = check_regular_file(path, folder_hint=", not a file").st_size
    result = GuessResult(path=path, size=size, etag=etag)
    if not etag.multipart:
        md5 = DIGEST_KINDS["md5"].new()
        read_once(path, [(md5, 1.0)])
        result.md5 = md5.result()
        return result
    result.admissible = admissible_part_sizes(size, etag.parts)
    if candidates is None:
        candidates, result.candidates_in_range = guess_candidates(size, etag.parts, limit)
    else:
        low, high = result.admissible
        candidates = [c for c in dict.fromkeys(candidates) if low <= c <= high]
        result.candidates_in_range = len(candidates)
    if len(candidates) >= lanes.width() // 2 >= WINDOW_MIN_PARTS and size >= SPLIT_MIN_SIZE:
        result.computed = _etags_in_halves(path, candidates)
    else:
        hashers = {part_size: ETagHasher(part_size) for part_size in candidates}
        read_once(path, [(h, 1.0) for h in hashers.values()])
        result.computed = {part_size: hasher.hexdigest() for part_size, hasher in hashers.items()}
    result.tried = list(candidates)
    result.matched = [p for p in candidates if result.computed[p] == str(etag)]
    return result


def _etags_in_halves(path: str, part_sizes: list[int]) -> dict[int, str]:
    """The ETag at each part size, the file read as two halves side by side (see the module's docstring)."""
    before = identity(check_regular_file(path))
    size = before.size
    cut = _balanced_cuts(size, part_sizes)
    prefix = _FirstParts(part_sizes)
    first = {p: ETagHasher(p) for p in part_sizes if cut[p] > p}  # parts after the first, up to the cut
    second = {p: ETagHasher(p) for p in part_sizes if cut[p] < size}
    halves = [(0, max(cut.values()), [(h, p, cut[p]) for p, h in first.items()], prefix),
              (min(cut[p] for p in second) if second else size, size,
               [(h, cut[p], size) for p, h in second.items()], None)]
    failures: list[BaseException] = []

    def read(start: int, stop: int, feeders: list, shared: _FirstParts | None) -> None:
        try:
            _read_range(path, before, start, stop, feeders, shared)
        except BaseException as err:  # handed to the calling thread
            failures.append(err)

    helper = threading.Thread(target=read, args=halves[1], name="seqfixity-guess", daemon=True)
    helper.start()
    read(*halves[0])
    helper.join()
    if failures:
        raise failures[0]
    etags = {}
    for p in part_sizes:
        digests = [prefix.digests[p], *(first[p].part_digests() if p in first else []),
                   *(second[p].part_digests() if p in second else [])]
        etags[p] = multipart_etag_from_digests(digests)
    return etags


class _FirstParts:
    """The first part of every candidate, from one MD5 stream: every first part starts at byte 0, so the stream
    over the longest one gives each shorter one's MD5 on the way (a digest at each part size)."""

    def __init__(self, part_sizes: list[int]) -> None:
        self.stream = lanes.Md5Stream()
        self.ends = sorted(set(part_sizes))
        self.digests: dict[int, bytes] = {}

    def next_end(self, offset: int) -> int | None:
        """The next first-part end past ``offset`` (a read must stop there), or None once all are taken."""
        return next((end for end in self.ends if end > offset), None)

    def reached(self, offset: int) -> None:
        """Take the digest of the first part that ends at ``offset``, if one does."""
        if offset in self.ends:
            self.digests[offset] = self.stream.digest()


def _balanced_cuts(size: int, part_sizes: list[int]) -> dict[int, int]:
    """Where the second thread takes over each candidate: a part boundary past a common point, the point chosen
    so that both threads hash about as many bytes (the first thread's shared first parts count as the
    sequential stream they are until the shortest one ends)."""
    scalar = SCALAR_LANE_COST * lanes.width()
    shortest = min(part_sizes)
    best: tuple[float, dict[int, int]] | None = None
    for step in range(1, CUT_STEPS):
        point = size * step // CUT_STEPS
        cut = {p: min(size, max(p, -(-point // p) * p)) for p in part_sizes}
        first = shortest * scalar + sum(cut[p] - p for p in part_sizes)
        second = sum(size - cut[p] for p in part_sizes)
        if best is None or max(first, second) < best[0]:
            best = (max(first, second), cut)
    return best[1]


def _read_range(path: str, before, start: int, stop: int, feeders: list, prefix: _FirstParts | None) -> None:
    """Read bytes ``start`` to ``stop`` of ``path`` once; feed each ``(hasher, low, high)`` the bytes in its range,
    and ``prefix``'s stream the bytes before its longest first part (a read stops at each first part's end)."""
    with open_checked(path, before) as handle:
        handle.seek(start)
        buffer = bytearray(CHUNK_SIZE)
        view = memoryview(buffer)
        offset = start
        while offset < stop:
            end = prefix.next_end(offset) if prefix is not None else None
            count = handle.readinto(view[:min(CHUNK_SIZE, stop - offset, (end or stop) - offset)])
            if not count:
                break
            pairs = [(prefix.stream, view[:count])] if end is not None else []
            for hasher, low, high in feeders:
                lo, hi = max(low, offset) - offset, min(high, offset + count) - offset
                if lo < hi:
                    pairs += hasher.lane_pairs(view[lo:hi])
            feed(pairs)
            offset += count
            if end is not None:
                prefix.reached(offset)
        if offset != stop:
            raise FileChangedError(path, f"changed while being read (ended at {offset} of {stop} bytes)")
        check_unchanged(path, handle, before, before.size)
