"""Infer the part size behind an existing ETag, testing every candidate in one read.

Every candidate part size is an ETag of its own, each part an MD5 stream, all advanced side by side on the
multi-lane core. With enough candidates to fill the lanes, a large file is read as two halves on two
threads: a candidate's parts before its first part boundary past the middle are hashed by the first
thread, the rest by the second, so both cores run full lanes; only the bytes between the candidates'
boundaries nearest the middle (less than one part) are read by both.
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
    middle = before.size // 2
    cut = {p: min(before.size, -(-middle // p) * p) for p in part_sizes}  # each one's first boundary past the middle
    first = {p: ETagHasher(p) for p in part_sizes}
    second = {p: ETagHasher(p) for p in part_sizes if cut[p] < before.size}
    halves = [(0, max(cut.values()), [(h, 0, cut[p]) for p, h in first.items()]),
              (min(cut[p] for p in second) if second else before.size, before.size,
               [(h, cut[p], before.size) for p, h in second.items()])]
    failures: list[BaseException] = []

    def read(start: int, stop: int, feeders: list) -> None:
        try:
            _read_range(path, before, start, stop, feeders)
        except BaseException as err:  # handed to the calling thread
            failures.append(err)

    helper = threading.Thread(target=read, args=halves[1], name="seqfixity-guess", daemon=True)
    helper.start()
    read(*halves[0])
    helper.join()
    if failures:
        raise failures[0]
    etags = {}
    for p, hasher in first.items():
        digests = hasher.part_digests() + (second[p].part_digests() if p in second else [])
        etags[p] = multipart_etag_from_digests(digests)
    return etags


def _read_range(path: str, before, start: int, stop: int, feeders: list) -> None:
    """Read bytes ``start`` to ``stop`` of ``path`` once; feed each ``(hasher, low, high)`` the bytes in its range."""
    with open_checked(path, before) as handle:
        handle.seek(start)
        buffer = bytearray(CHUNK_SIZE)
        view = memoryview(buffer)
        offset = start
        while offset < stop:
            count = handle.readinto(view[:min(CHUNK_SIZE, stop - offset)])
            if not count:
                break
            pairs = []
            for hasher, low, high in feeders:
                lo, hi = max(low, offset) - offset, min(high, offset + count) - offset
                if lo < hi:
                    pairs += hasher.lane_pairs(view[lo:hi])
            feed(pairs)
            offset += count
        if offset != stop:
            raise FileChangedError(path, f"changed while being read (ended at {offset} of {stop} bytes)")
        check_unchanged(path, handle, before, before.size)
