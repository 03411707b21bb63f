"""Additional checksums in S3's text form, full-object and composite (``-N``), fed in one read.

S3 shows every additional checksum as base64 of the big-endian digest. A
composite checksum of a multipart object is the checksum of the concatenated
binary checksums of its parts, in base64, followed by ``-N``.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from seqfixity.engine.etag import EtagError
from seqfixity.engine.hashes import DIGEST_KINDS, StreamHasher

S3_CHECKSUMS = ("crc64nvme", "crc32c", "crc32", "sha1", "sha256")
_HEX_KINDS = ("sha1", "sha256")


def binary_digest(kind: str, text: str) -> bytes:
    """Return the raw bytes of a digest that :data:`DIGEST_KINDS` printed as ``text``."""
    return bytes.fromhex(text) if kind in _HEX_KINDS else base64.b64decode(text)


def s3_text(kind: str, text: str) -> str:
    """Return a digest of ``kind`` in S3's form (base64), from its :data:`DIGEST_KINDS` text."""
    return base64.b64encode(binary_digest(kind, text)).decode() if kind in _HEX_KINDS else text


class PartwiseHasher:
    """Hashes a stream part by part: every ``part_size`` bytes get a fresh hasher from ``new_part``.

    The base of S3's composite CRC and SHA checksums: ``part_digests()`` returns each part's binary digest,
    the open part included, without ending the stream.
    """

    def __init__(self, part_size: int, new_part: Callable[[], Any], part_digest: Callable[[Any], bytes]) -> None:
        if part_size <= 0:
            raise EtagError(f"part size must be positive, got {part_size}")
        self.part_size = part_size
        self._new_part = new_part
        self._part_digest = part_digest
        self._digests: list[bytes] = []
        self._part = new_part()
        self._in_part = 0
        self.size = 0

    def update(self, data: bytes | memoryview) -> None:
        """Feed the next bytes of the object."""
        view = data if isinstance(data, memoryview) else memoryview(data).cast("B")
        self.size += len(view)
        while len(view):
            piece = view[:self.part_size - self._in_part]
            self._part.update(piece)
            self._in_part += len(piece)
            view = view[len(piece):]
            if self._in_part == self.part_size:
                self._digests.append(self._part_digest(self._part))
                self._part = self._new_part()
                self._in_part = 0

    def part_digests(self) -> list[bytes]:
        """Return the binary digest of every part so far (an empty object is one empty part)."""
        digests = list(self._digests)
        if self._in_part or not digests:
            digests.append(self._part_digest(self._part))
        return digests


class FullObjectChecksum:
    """A whole-object checksum of ``kind`` in S3's text form."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._hasher: StreamHasher = DIGEST_KINDS[kind].new()
        self.update = self._hasher.update

    def result(self) -> str:
        """Return the base64 checksum, as S3 shows it."""
        return s3_text(self.kind, self._hasher.result())


class CompositeChecksum(PartwiseHasher):
    """A composite checksum of ``kind`` over parts of ``part_size`` bytes: ``base64-N``, like ETagHasher."""

    def __init__(self, kind: str, part_size: int) -> None:
        super().__init__(part_size, DIGEST_KINDS[kind].new, lambda part: binary_digest(kind, part.result()))
        self.kind = kind

    def result(self) -> str:
        """Return ``base64-N`` over the bytes fed so far."""
        parts = self.part_digests()
        combined = DIGEST_KINDS[self.kind].new()
        combined.update(memoryview(b"".join(parts)))
        return f"{s3_text(self.kind, combined.result())}-{len(parts)}"
