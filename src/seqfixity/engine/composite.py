"""Additional checksums in S3's text form, full-object and composite (``-N``), fed in one read.

S3 shows every additional checksum as base64 of the big-endian digest. A
composite checksum of a multipart object is the checksum of the concatenated
binary checksums of its parts, in base64, followed by ``-N``.
"""

from __future__ import annotations

import base64

from seqfixity.engine.etag import PartwiseHasher
from seqfixity.engine.hashes import DIGEST_KINDS, StreamHasher

S3_CHECKSUMS = ("crc64nvme", "crc32c", "crc32", "sha1", "sha256")
_HEX_KINDS = ("sha1", "sha256")


def binary_digest(kind: str, text: str) -> bytes:
    """Return the raw bytes of a digest that :data:`DIGEST_KINDS` printed as ``text``."""
    return bytes.fromhex(text) if kind in _HEX_KINDS else base64.b64decode(text)


def s3_text(kind: str, text: str) -> str:
    """Return a digest of ``kind`` in S3's form (base64), from its :data:`DIGEST_KINDS` text."""
    return base64.b64encode(binary_digest(kind, text)).decode() if kind in _HEX_KINDS else text


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
