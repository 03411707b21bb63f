"""Additional checksums in S3's text form, full-object and composite (``-N``), fed in one read.

S3 shows every additional checksum as base64 of the big-endian digest. A
composite checksum of a multipart object is the checksum of the concatenated
binary checksums of its parts, in base64, followed by ``-N``.
"""

from __future__ import annotations

import base64

from seqfixity.hashes import DIGEST_KINDS, StreamHasher

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


class CompositeChecksum:
    """A composite checksum of ``kind`` over parts of ``part_size`` bytes: ``base64-N``, like ETagHasher."""

    def __init__(self, kind: str, part_size: int) -> None:
        if part_size <= 0:
            raise ValueError(f"part size must be positive, got {part_size}")
        self.kind = kind
        self.part_size = part_size
        self._parts: list[bytes] = []
        self._part: StreamHasher = DIGEST_KINDS[kind].new()
        self._in_part = 0

    def update(self, data: memoryview) -> None:
        """Feed the next bytes of the object."""
        view = memoryview(data)
        while len(view):
            piece = view[:self.part_size - self._in_part]
            self._part.update(piece)
            self._in_part += len(piece)
            view = view[len(piece):]
            if self._in_part == self.part_size:
                self._close_part()

    def _close_part(self) -> None:
        self._parts.append(binary_digest(self.kind, self._part.result()))
        self._part = DIGEST_KINDS[self.kind].new()
        self._in_part = 0

    def result(self) -> str:
        """Return ``base64-N`` over the bytes fed so far (call once, at the end)."""
        if self._in_part or not self._parts:
            self._close_part()
        combined = DIGEST_KINDS[self.kind].new()
        combined.update(memoryview(b"".join(self._parts)))
        return f"{s3_text(self.kind, combined.result())}-{len(self._parts)}"
