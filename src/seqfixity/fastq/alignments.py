"""BAM and CRAM structure, checked from the same bytes the digests are computed from.

Both checkers are ``read_once`` sinks, like :class:`~seqfixity.fastq.validate.FastqValidator`, and read the
open specifications (https://samtools.github.io/hts-specs/), not a library: pysam cannot be fed a stream of
pushed bytes, and a second read of each file would double the I/O.

BAM (SAM/BAM specification, section 4): BGZF blocks inflated and their CRCs checked, the end-of-file block,
the ``BAM\\1`` header (text and reference list), and every alignment record's length; ``reads`` is the
number of records (all of them: both mates, secondary and supplementary alignments).

CRAM (CRAM specification 3.0 and 3.1): the file definition, every container header and its CRC32, the
containers' lengths, and the end-of-file container; ``reads`` is the sum of the containers' record counts.
The records themselves are not decoded (that needs the reference the file was compressed against), so a
damaged block inside a container is found only by its length, not by its content: say so in the report.
"""

from __future__ import annotations

import struct
import zlib

from seqfixity.fastq.decoders import Inflater, Invalid
from seqfixity.fastq.validate import BGZF_EOF, FastqResult
from seqfixity.fastq.verdicts import CORRUPT, MALFORMED, OK, TRUNCATED

BAM_MAGIC = b"BAM\x01"
CRAM_MAGIC = b"CRAM"
# The end-of-file container of CRAM 3.x (CRAM specification, section 9); older versions are not checked for it.
CRAM_EOF = {3: bytes.fromhex("0f000000ffffffff0fe0454f46000000000100" "05bdd94f0001000606010001000100ee63014b")}
CRAM_FILE_DEFINITION = 26  # "CRAM", major, minor, 20-byte file id
_BAM_FIXED = 32  # the fixed fields of an alignment record after block_size
# Cost relative to MD5 per byte read: inflating BGZF dominates a BAM; a CRAM's containers are skipped over.
COSTS = {"BAM": 3.2, "CRAM": 0.05}


def alignment_cost(fmt: str) -> float:
    """The checker's cost relative to MD5 per byte read."""
    return COSTS[fmt]


def alignment_checker(fmt: str, level: str):
    """A checker for ``fmt`` (BAM or CRAM); every level above none checks the same structure."""
    return BamChecker() if fmt == "BAM" else CramChecker()


class BamChecker:
    """BGZF, the BAM header and every record's length; ``result().reads`` is the record count."""

    def __init__(self) -> None:
        self._inflater = Inflater()
        self._tail = b""  # the last bytes read, for the BGZF end-of-file block
        self._buffer = bytearray()
        self._header_done = False
        self.records = 0
        self._failure: Invalid | None = None
        self._started = False

    def update(self, data) -> None:
        """Feed the next chunk of the file's raw bytes."""
        if self._failure is not None:
            return
        try:
            if not self._started:
                self._started = True
                if bytes(data[:2]) != b"\x1f\x8b":
                    from seqfixity.fastq.formats import describe

                    raise Invalid(CORRUPT, f"named as BAM but the content is {describe(bytes(data[:64]))}, not BGZF")
            self._tail = (self._tail + bytes(data[-len(BGZF_EOF):]))[-len(BGZF_EOF):]
            for piece in self._inflater.feed(data):
                self._buffer += piece
                self._walk()
        except Invalid as failure:
            self._failure = failure

    def _walk(self) -> None:
        buffer, position = self._buffer, 0
        if not self._header_done:
            position = self._header_length(buffer)
            if position is None:
                return
            self._header_done = True
        end = len(buffer)
        while position + 4 <= end:
            (size,) = struct.unpack_from("<i", buffer, position)
            if size < _BAM_FIXED:
                raise Invalid(MALFORMED, f"record {self.records + 1}: block_size {size} is shorter than a record's "
                                         f"{_BAM_FIXED} bytes of fixed fields")
            if position + 4 + size > end:
                break
            position += 4 + size
            self.records += 1
        del buffer[:position]

    @staticmethod
    def _header_length(buffer: bytearray) -> int | None:
        """The length of the BAM header at the start of ``buffer``, or None while it is incomplete."""
        if len(buffer) >= 4 and buffer[:4] != BAM_MAGIC:
            raise Invalid(MALFORMED, "the inflated content does not start with BAM's magic 'BAM\\1': not a BAM file")
        if len(buffer) < 12:
            return None
        (text,) = struct.unpack_from("<i", buffer, 4)
        position = 8 + text
        if text < 0:
            raise Invalid(MALFORMED, f"BAM header: negative header text length {text}")
        if len(buffer) < position + 4:
            return None
        (references,) = struct.unpack_from("<i", buffer, position)
        position += 4
        for _ in range(references):
            if len(buffer) < position + 4:
                return None
            (name,) = struct.unpack_from("<i", buffer, position)
            position += 4 + name + 4
            if len(buffer) < position:
                return None
        return position

    def result(self) -> FastqResult:
        """Finish and return the verdict and the record count."""
        try:
            if self._failure is None:
                if not self._started:
                    raise Invalid(TRUNCATED, "empty file: a BAM file holds at least a header; the copy was cut short")
                self._inflater.finish()
                if self._tail != BGZF_EOF:
                    raise Invalid(TRUNCATED, "BGZF file ends without its end-of-file block (truncated at a block "
                                             "boundary, or its writer did not finish)")
                if not self._header_done:
                    raise Invalid(TRUNCATED, "the file ends inside the BAM header")
                if self._buffer:
                    raise Invalid(TRUNCATED, f"the file ends inside record {self.records + 1}")
                return FastqResult(OK, self.records)
        except Invalid as failure:
            self._failure = failure
        return FastqResult(self._failure.verdict, None, str(self._failure))

    def close(self) -> None:
        """Nothing runs beside the reader: nothing to stop."""


def _itf8(data: bytes, position: int) -> tuple[int, int]:
    """Decode a CRAM ITF8 integer at ``position``; return (value, next position). Raises IndexError if cut."""
    first = data[position]
    extra = 0
    while extra < 4 and first & (0x80 >> extra):
        extra += 1
    end = position + 1 + extra
    if end > len(data):
        raise IndexError("cut")
    rest = int.from_bytes(data[position + 1:end], "big")
    if extra == 4:
        return (first & 0x0F) << 28 | rest >> 4, end
    return (first & (0xFF >> (extra + 1))) << (8 * extra) | rest, end


def _ltf8(data: bytes, position: int) -> tuple[int, int]:
    """Decode a CRAM LTF8 integer at ``position``; return (value, next position). Raises IndexError if cut."""
    first = data[position]
    extra = 0
    while extra < 8 and first & (0x80 >> extra):
        extra += 1
    end = position + 1 + extra
    if end > len(data):
        raise IndexError("cut")
    value = first & (0xFF >> (extra + 1)) if extra < 8 else 0
    return (value << (8 * extra)) | int.from_bytes(data[position + 1:end], "big"), end


class CramChecker:
    """The CRAM file definition, every container header (with its CRC32 from version 3) and the end-of-file
    container; ``result().reads`` is the sum of the containers' record counts."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._skip = 0  # bytes of the current container's blocks still to pass over
        self._tail = b""
        self.major = 0
        self.containers = 0
        self.records = 0
        self._failure: Invalid | None = None

    def update(self, data) -> None:
        """Feed the next chunk of the file's raw bytes."""
        if self._failure is not None:
            return
        self._tail = (self._tail + bytes(data[-len(CRAM_EOF[3]):]))[-len(CRAM_EOF[3]):]
        view = memoryview(data)
        if self._skip:
            passed = min(self._skip, len(view))
            self._skip -= passed
            view = view[passed:]
        if not len(view):
            return
        self._buffer += view
        try:
            self._walk()
        except Invalid as failure:
            self._failure = failure

    def _walk(self) -> None:
        buffer = self._buffer
        if not self.major:
            if len(buffer) < CRAM_FILE_DEFINITION:
                return
            if buffer[:4] != CRAM_MAGIC:
                from seqfixity.fastq.formats import describe

                raise Invalid(CORRUPT, f"named as CRAM but the content is {describe(bytes(buffer[:64]))}")
            self.major = buffer[4]
            del buffer[:CRAM_FILE_DEFINITION]
        while buffer:
            parsed = self._container_header(bytes(buffer[:1024]))
            if parsed is None:
                if len(buffer) > 1024:
                    raise Invalid(MALFORMED, f"container {self.containers + 1}: header longer than 1 KiB")
                return
            header_length, length = parsed
            del buffer[:header_length]
            passed = min(length, len(buffer))
            del buffer[:passed]
            self._skip = length - passed

    def _container_header(self, data: bytes) -> tuple[int, int] | None:
        """Parse one container header; return (its length, the length of the blocks after it), or None if cut."""
        try:
            (length,) = struct.unpack_from("<i", data, 0)
            position = 4
            for _ in range(3):  # reference sequence id, start, span
                _, position = _itf8(data, position)
            records, position = _itf8(data, position)
            if self.major >= 3:
                _, position = _ltf8(data, position)  # record counter
                _, position = _ltf8(data, position)  # bases
            else:
                _, position = _itf8(data, position)
                _, position = _ltf8(data, position)
            _, position = _itf8(data, position)  # number of blocks
            landmarks, position = _itf8(data, position)
            for _ in range(landmarks):
                _, position = _itf8(data, position)
            if self.major >= 3:
                (crc,) = struct.unpack_from("<I", data, position)
                if zlib.crc32(data[:position]) != crc:
                    raise Invalid(CORRUPT, f"container {self.containers + 1}: header CRC32 does not match")
                position += 4
        except (IndexError, struct.error):
            return None
        if length < 0:
            raise Invalid(MALFORMED, f"container {self.containers + 1}: negative length {length}")
        self.containers += 1
        self.records += records
        return position, length

    def result(self) -> FastqResult:
        """Finish and return the verdict and the record count."""
        try:
            if self._failure is None:
                if not self.major:
                    raise Invalid(TRUNCATED, "the file ends inside the CRAM file definition (26 bytes)")
                if self._skip or self._buffer:
                    raise Invalid(TRUNCATED, f"the file ends inside container {self.containers}")
                eof = CRAM_EOF.get(self.major)
                if eof is not None and not self._tail.endswith(eof):
                    raise Invalid(TRUNCATED, "CRAM file ends without its end-of-file container (truncated at a "
                                             "container boundary, or its writer did not finish)")
                return FastqResult(OK, self.records)
        except Invalid as failure:
            self._failure = failure
        return FastqResult(self._failure.verdict, None, str(self._failure))

    def close(self) -> None:
        """Nothing runs beside the reader: nothing to stop."""
