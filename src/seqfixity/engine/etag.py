"""Multipart ETag arithmetic: layouts, presets, parsing ``hex-N``, part-size inference.

An object uploaded in one request has the MD5 of its bytes as ETag. An object
uploaded in parts has ``hex(md5(md5(part1) + md5(part2) + ...)) + "-N"``, where
``N`` is the number of parts. Which layout an uploader chose depends on its
threshold and part size; the presets below record the rules of common uploaders.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from seqfixity.engine.lanes import Md5Stream, feed

MiB = 1024**2
GiB = 1024**3
MB = 1000**2
S3_MAX_PARTS = 10_000
S3_MIN_PART_SIZE = 5 * MiB
S3_MAX_PART_SIZE = 5 * GiB
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html (multipart upload limits)
S3_LIMITS = "S3 takes at most 10,000 parts of 5 MiB to 5 GiB each (only the last part may be smaller)"
DEFAULT_PRESET = "ica"
MAX_GUESS_CANDIDATES = 16

_ETAG_RE = re.compile(r"^(?P<hex>[0-9a-fA-F]{32})(?:-(?P<parts>\d+))?$")


class EtagError(ValueError):
    """A part layout that no S3-compatible store accepts, or an ETag that cannot be parsed."""


class ImpossibleEtag(EtagError):
    """A ``hex-N`` ETag that S3's multipart upload cannot have produced for a file of this size."""


def md5_hasher():
    """Return a new MD5 object that FIPS-mode hosts allow (not used for security)."""
    return hashlib.md5(usedforsecurity=False)


@dataclass(frozen=True)
class EtagLayout:
    """How a file of ``size`` bytes is cut into parts: ``parts == 0`` means a single-part upload."""

    size: int
    part_size: int
    parts: int

    @property
    def multipart(self) -> bool:
        """True when the ETag has the ``-N`` multipart form."""
        return self.parts > 0


@dataclass(frozen=True)
class ParsedEtag:
    """An ETag split into its hex digest and its part count (0 for a plain MD5)."""

    hex: str
    parts: int

    @property
    def multipart(self) -> bool:
        """True for a ``hex-N`` ETag."""
        return self.parts > 0

    def __str__(self) -> str:
        return f"{self.hex}-{self.parts}" if self.parts else self.hex


def parse_etag(text: str) -> ParsedEtag:
    """Parse ``"hex"`` or ``"hex-N"`` (quotes as S3 returns them are removed)."""
    match = _ETAG_RE.match(text.strip().strip('"').strip())
    if not match:
        raise EtagError(f"not an MD5-based ETag: {text!r} (expected 32 hex digits, optionally -N)")
    parts = int(match["parts"]) if match["parts"] else 0
    if match["parts"] is not None and parts < 1:
        raise EtagError(f"ETag {text!r} has a part count of 0")
    return ParsedEtag(match["hex"].lower(), parts)


def parts_for(size: int, part_size: int) -> int:
    """Return how many parts of ``part_size`` bytes hold ``size`` bytes (at least 1)."""
    return max(1, math.ceil(size / part_size))


def _doubled_until(size: int, part_size: int, max_parts: int) -> int:
    while parts_for(size, part_size) > max_parts:
        part_size *= 2
    return part_size


def _grown_to_mib(size: int, part_size: int, max_parts: int) -> int:
    if parts_for(size, part_size) <= max_parts:
        return part_size
    return math.ceil(math.ceil(size / max_parts) / MiB) * MiB


def _go_sdk(size: int, part_size: int, max_parts: int) -> int:
    # feature/s3/manager/upload.go, initSize: "if u.totalSize/u.cfg.PartSize >= int64(u.cfg.MaxUploadParts)
    # { u.cfg.PartSize = (u.totalSize / int64(u.cfg.MaxUploadParts)) + 1 }" (integer division)
    if size // part_size < max_parts:
        return part_size
    return size // max_parts + 1


def _fixed(size: int, part_size: int, max_parts: int) -> int:
    return part_size


@dataclass(frozen=True)
class Preset:
    """An uploader's multipart rule: multipart from ``threshold`` bytes, parts grown by ``grow``.

    ``tied`` uploaders go multipart only above one part (``threshold`` is the part size + 1), whatever part
    size they are given.
    """

    name: str
    threshold: int
    part_size: int
    grow: Callable[[int, int, int], int]
    max_parts: int
    source: str
    tied: bool = False

    def threshold_for(self, part_size: int | None) -> int:
        """The threshold when the part size is ``part_size`` (None: the preset's own)."""
        if self.tied and part_size is not None:
            return part_size + 1
        return self.threshold

    def part_size_for(self, size: int) -> int:
        """Return the part size this uploader uses for a file of ``size`` bytes."""
        return self.grow(size, self.part_size, self.max_parts)


PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset("ica", 16 * MiB, 8 * MiB, _doubled_until, 8192,
               "empirical (umccr): ICA's MD5 note says files under 16 MB keep their MD5; "
               "8 MiB parts, doubled while more than 8192 parts; unconfirmed by Illumina"),
        Preset("aws-cli", 8 * MiB, 8 * MiB, _doubled_until, S3_MAX_PARTS,
               "s3transfer defaults: multipart_threshold and multipart_chunksize 8 MiB"),
        Preset("boto3", 8 * MiB, 8 * MiB, _doubled_until, S3_MAX_PARTS,
               "boto3 upload_file uses s3transfer with the same defaults as the AWS CLI"),
        Preset("s3cmd", 15 * MiB + 1, 15 * MiB, _fixed, S3_MAX_PARTS,
               "s3cmd multipart_chunk_size_mb = 15 (MiB), multipart only above one chunk, so the threshold "
               "follows --part-size", tied=True),
        Preset("rclone", 200 * MiB, 5 * MiB, _grown_to_mib, S3_MAX_PARTS,
               "rclone s3 upload_cutoff 200 MiB, chunk_size 5 MiB, grown to fit 10,000 parts"),
        Preset("aws-go-sdk", 5 * MiB + 1, 5 * MiB, _go_sdk, S3_MAX_PARTS,
               "AWS SDK for Go upload manager: 5 MiB parts, size/10000+1 once size/part size reaches 10,000; "
               "one piece up to one part, so the threshold follows --part-size", tied=True),
    )
}


def resolve_layout(
    size: int,
    preset: str = DEFAULT_PRESET,
    part_size: int | None = None,
    threshold: int | None = None,
    check_limits: bool = True,
) -> EtagLayout:
    """Return the part layout for ``size`` bytes under ``preset``, overridden by ``part_size``/``threshold``.

    An explicit ``part_size`` is used as given (it is not grown); ``threshold``
    defaults to the preset's (for an uploader that goes multipart only above one
    part, one byte more than the part size). Layouts outside S3's limits raise
    :class:`EtagError` unless ``check_limits`` is false.
    """
    try:
        rule = PRESETS[preset]
    except KeyError:
        raise EtagError(f"unknown ETag preset {preset!r} (choose from {', '.join(PRESETS)})") from None
    limit = rule.threshold_for(part_size) if threshold is None else threshold
    chosen = rule.part_size_for(size) if part_size is None else part_size
    if chosen <= 0:
        raise EtagError(f"part size must be positive, got {chosen}")
    if size < limit:
        return EtagLayout(size, chosen, 0)
    layout = EtagLayout(size, chosen, parts_for(size, chosen))
    if check_limits:
        check_s3_limits(layout)
    return layout


def check_s3_limits(layout: EtagLayout) -> None:
    """Raise :class:`EtagError`, naming the fix, when S3 would refuse ``layout``."""
    if layout.parts > S3_MAX_PARTS:
        smallest = math.ceil(layout.size / S3_MAX_PARTS)
        raise EtagError(
            f"{layout.parts} parts of {layout.part_size} bytes exceed S3's {S3_MAX_PARTS} parts; "
            f"use --part-size {math.ceil(smallest / MiB)}MiB or larger, or a preset that grows parts"
        )
    if layout.parts > 1 and layout.part_size < S3_MIN_PART_SIZE:
        raise EtagError(
            f"part size {layout.part_size} is under S3's 5 MiB minimum for all but the last part; "
            "use --part-size 5MiB or larger"
        )
    if layout.part_size > S3_MAX_PART_SIZE and layout.parts != 1:
        raise EtagError(f"part size {layout.part_size} is over S3's 5 GiB maximum; use --part-size 5GiB or smaller")


class ETagHasher:
    """Incremental multipart ETag, hashlib-style: ``ETagHasher(part_size).update(data)``.

    Each part is an MD5 stream of its own (:class:`~seqfixity.engine.lanes.Md5Stream`), so when a chunk spans
    several parts, :meth:`lane_pairs` hands them to :func:`~seqfixity.engine.lanes.feed` side by side. With the
    default ``threshold=0`` the result always has the ``-N`` form; with a threshold, objects smaller than it
    get their plain MD5, as uploaders do.
    """

    def __init__(self, part_size: int, threshold: int = 0) -> None:
        if part_size <= 0:
            raise EtagError(f"part size must be positive, got {part_size}")
        self.part_size = part_size
        self.threshold = threshold or 0
        self.size = 0
        self._digests: list[bytes] = []
        self._closing: list[Md5Stream] = []  # parts whose last bytes are in the pairs handed out last
        self._part = Md5Stream()
        self._in_part = 0
        self._whole = Md5Stream() if self.threshold > 0 else None

    def lane_pairs(self, data: bytes | memoryview) -> list[tuple[Md5Stream, memoryview]]:
        """Take the next bytes of the object; return the (stream, bytes) pairs the caller must :func:`feed`."""
        self._settle()
        view = data if isinstance(data, memoryview) and data.format == "B" else memoryview(data).cast("B")
        pairs = [(self._whole, view)] if self._whole is not None and self.size < self.threshold else []
        self.size += len(view)
        while len(view):
            piece = view[:self.part_size - self._in_part]
            pairs.append((self._part, piece))
            self._in_part += len(piece)
            view = view[len(piece):]
            if self._in_part == self.part_size:
                self._closing.append(self._part)
                self._part = Md5Stream()
                self._in_part = 0
        return pairs

    def update(self, data: bytes | memoryview) -> None:
        """Feed the next bytes of the object."""
        feed(self.lane_pairs(data))

    def _settle(self) -> None:
        self._digests.extend(stream.digest() for stream in self._closing)
        self._closing.clear()

    def take_part_digests(self, size: int, digests: list[bytes]) -> None:
        """Take the MD5s of all the parts of a ``size``-byte object, computed elsewhere (read at their offsets by
        :mod:`seqfixity.engine.offsets`), as if its bytes had been fed here."""
        if self.size or size < self.threshold or len(digests) != max(1, -(-size // self.part_size)):
            raise EtagError(f"{len(digests)} part digests do not make the ETag of {size} bytes in {self.part_size}-"
                            f"byte parts after {self.size} bytes fed")
        self.size = size
        self._digests = list(digests)
        self._in_part = 0

    def part_digests(self) -> list[bytes]:
        """Return the binary MD5 of every part so far (an empty object is one empty part)."""
        self._settle()
        digests = list(self._digests)
        if self._in_part or not digests:
            digests.append(self._part.digest())
        return digests

    @property
    def parts(self) -> int:
        """The part count so far (0 while the object stays below the threshold)."""
        return 0 if self.size < self.threshold else len(self.part_digests())

    def hexdigest(self) -> str:
        """Return the ETag of the bytes fed so far."""
        if self.size < self.threshold and self._whole is not None:
            return self._whole.hexdigest()
        return multipart_etag_from_digests(self.part_digests())


def multipart_etag_from_digests(part_digests: list[bytes]) -> str:
    """Return the ``hex-N`` ETag from the binary MD5 of each part."""
    combined = md5_hasher()
    combined.update(b"".join(part_digests))
    return f"{combined.hexdigest()}-{len(part_digests)}"


def admissible_part_sizes(size: int, parts: int) -> tuple[int, int]:
    """Return the inclusive range of part sizes P with ``ceil(size / P) == parts`` that S3 accepts.

    Raises :class:`ImpossibleEtag`, naming S3's limits, when no such part size exists: such a ``-parts``
    ETag is not from an S3 multipart upload of ``size`` bytes.
    """
    if parts < 1:
        raise EtagError("a multipart ETag has at least one part")
    if parts == 1:  # one part of the whole file (any part size from the size up gives the same ETag)
        if size > S3_MAX_PART_SIZE:
            raise ImpossibleEtag(f"one part of {size} bytes is over 5 GiB: {S3_LIMITS}, so a -1 ETag is not from "
                                 "an S3 multipart upload of this file")
        return max(size, 1), max(size, 1)
    if parts > S3_MAX_PARTS:
        raise ImpossibleEtag(f"{parts} parts: {S3_LIMITS}, so this ETag is not from an S3 multipart upload")
    low, high = math.ceil(size / parts), math.ceil(size / (parts - 1)) - 1 if size > parts - 1 else 0
    if high < low or high < S3_MIN_PART_SIZE or low > S3_MAX_PART_SIZE:
        need = f"parts of {low} to {high} bytes" if high >= low else "parts of no whole size"
        raise ImpossibleEtag(f"{size} bytes in {parts} parts needs {need}: {S3_LIMITS}, so this ETag is not from "
                             "an S3 multipart upload of this file")
    return max(low, S3_MIN_PART_SIZE), min(high, S3_MAX_PART_SIZE)


def _roundness(value: int, unit: int) -> int:
    """How round ``value`` is in ``unit`` s: 100, 50, 25, 10, 5, 2 or 1 (the largest that divides the count)."""
    count = value // unit
    return next(step for step in (100, 50, 25, 10, 5, 2, 1) if count % step == 0)


def _likelihood(part_size: int, preset_sizes: set[int], size: int, parts: int) -> int:
    """How likely an uploader is to have used ``part_size`` (higher first), for ordering guesses."""
    if part_size in preset_sizes:
        return 100
    if part_size % MiB == 0 and (part_size // MiB) & (part_size // MiB - 1) == 0:
        return 90  # a power of two MiB: 8, 16, 32, 64, 128 MiB ...
    if part_size % MiB == 0 and _roundness(part_size, MiB) >= 5:
        return 60 + _roundness(part_size, MiB) // 5  # 5, 10, 25, 50, 100 MiB ...
    if part_size % MB == 0 and _roundness(part_size, MB) >= 5:
        return 50 + _roundness(part_size, MB) // 5  # 5, 10, 50, 100 MB ...
    if part_size in (math.ceil(size / parts), size // parts + 1):
        return 45  # a file cut into exactly `parts` pieces
    if part_size % MiB == 0:
        return 30 + _roundness(part_size, MiB)  # even MiB before odd
    return 20 + _roundness(part_size, MB)


def guess_candidates(size: int, parts: int, limit: int = MAX_GUESS_CANDIDATES) -> tuple[list[int], int]:
    """Return the part sizes worth hashing to reproduce a ``-parts`` ETag of a ``size``-byte file.

    Candidates are every preset's rule for this size, whole MiB and whole MB multiples across the whole
    range S3 admits, and the sizes that cut the file into exactly ``parts`` pieces, ordered by how likely
    uploaders are to use them: presets' rules, powers of two MiB, round MiB (100, 50, 25, 10, 5 MiB
    multiples), round MB, then the rest. Returns the first ``limit`` candidates and how many admissible
    candidates there were in all; raises :class:`ImpossibleEtag` for an ETag S3 cannot produce.
    """
    low, high = admissible_part_sizes(size, parts)
    if parts == 1:
        return [low], 1
    presets = {preset.part_size_for(size) for preset in PRESETS.values()}
    found = {p for p in presets if low <= p <= high}
    for unit in (MiB, MB):
        found.update(range(math.ceil(low / unit) * unit, high + 1, unit))
    found.update(p for p in (math.ceil(size / parts), size // parts + 1) if low <= p <= high)
    ordered = sorted(found, key=lambda p: (-_likelihood(p, presets, size, parts), p))
    return ordered[:limit], len(ordered)
