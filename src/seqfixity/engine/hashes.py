"""The registry of digest kinds, and the stream hashers behind them.

Every kind is fed from the same buffers by the engine in :mod:`seqfixity.engine.digest`;
``cost`` (relative to MD5 on one core) lets the engine spread the work over two
threads. ``etag`` is listed here so it can be asked for by name, but its value
depends on the file's size and part layout, so the engine builds it itself.

MD5 streams (``md5``, and the parts of an ETag) are :class:`LaneHasher` s: instead of
being updated one by one, they hand the engine (stream, bytes) pairs, which it feeds to
the multi-lane core together (:mod:`seqfixity.engine.lanes`).
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import xxhash

from seqfixity.engine.lanes import Md5Stream, feed


class StreamHasher(Protocol):
    """Anything fed the file's bytes in order: ``update`` each chunk, then ``result``."""

    def update(self, data: memoryview) -> None:
        """Feed the next chunk."""

    def result(self) -> str:
        """Return the digest in its text form."""


class LaneHasher(Protocol):
    """A hasher made of MD5 streams: ``lane_pairs`` takes the next chunk and returns what to :func:`feed`."""

    def lane_pairs(self, data: memoryview) -> list[tuple[Md5Stream, memoryview]]:
        """Take the next chunk; return the (stream, bytes) pairs that hash it."""


class Md5Hasher:
    """The MD5 of the whole stream, as md5sum prints it, on the multi-lane core."""

    def __init__(self) -> None:
        self._stream = Md5Stream()

    def lane_pairs(self, data: memoryview) -> list[tuple[Md5Stream, memoryview]]:
        """Take the next chunk; its one pair."""
        return [(self._stream, data)]

    def update(self, data: memoryview) -> None:
        """Feed the next chunk (alone)."""
        feed([(self._stream, data)])

    def result(self) -> str:
        """The MD5 in hex."""
        return self._stream.hexdigest()


class _HashlibHasher:
    def __init__(self, hasher) -> None:
        self._hasher = hasher
        self.update = hasher.update

    def result(self) -> str:
        return self._hasher.hexdigest()


class _CrcHasher:
    """A CRC in S3's form: the big-endian checksum, base64-encoded."""

    def __init__(self, function: Callable[[memoryview, int], int], width: int) -> None:
        self._function = function
        self._width = width
        self._value = 0

    def update(self, data: memoryview) -> None:
        self._value = self._function(data, self._value)

    def result(self) -> str:
        return base64.b64encode(self._value.to_bytes(self._width, "big")).decode()


def _crc32c(data: memoryview, previous: int) -> int:
    from awscrt import checksums

    return checksums.crc32c(data, previous)


def _crc64nvme(data: memoryview, previous: int) -> int:
    from awscrt import checksums

    return checksums.crc64nvme(data, previous)


@dataclass(frozen=True)
class DigestKind:
    """One kind of digest: its name, how to start one, and its cost relative to MD5."""

    name: str
    new: Callable[[], StreamHasher]
    cost: float
    description: str


DIGEST_KINDS: dict[str, DigestKind] = {
    kind.name: kind
    for kind in (
        DigestKind("md5", Md5Hasher, 1.0, "MD5, as md5sum prints it"),
        DigestKind("etag", Md5Hasher, 1.0,
                   "S3/ICA ETag: the MD5 below the threshold, else MD5 of the part MD5s plus -N"),
        DigestKind("xxh128", lambda: _HashlibHasher(xxhash.xxh3_128()), 0.06,
                   "xxh3-128, a fast non-cryptographic hash"),
        DigestKind("sha256", lambda: _HashlibHasher(hashlib.sha256()), 1.2, "SHA-256"),
        DigestKind("sha1", lambda: _HashlibHasher(hashlib.sha1(usedforsecurity=False)), 0.8, "SHA-1"),
        DigestKind("crc32", lambda: _CrcHasher(zlib.crc32, 4), 0.1, "CRC32 as S3 shows it (base64, big-endian)"),
        DigestKind("crc32c", lambda: _CrcHasher(_crc32c, 4), 0.05, "CRC32C as S3 shows it (base64, big-endian)"),
        DigestKind("crc64nvme", lambda: _CrcHasher(_crc64nvme, 8), 0.05,
                   "CRC64NVME as S3 shows it (base64, big-endian)"),
    )
}
