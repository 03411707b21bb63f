"""FASTQ structure, checked from the same bytes the digests are computed from.

:class:`FastqValidator` is a sink for :func:`seqfixity.engine.digest.read_once`: it is
fed the file's raw bytes (``update``) and gives its verdict at the end
(``result``). Gzip and BGZF (python-isal), bzip2 (the standard library) and
zstd (zstandard) input, with any number of members, streams or frames, is
decoded as a stream (:mod:`seqfixity.fastq.decoders`); ORA goes through
Illumina's ``orad`` when one is named. The structure check runs on the decoded
bytes, in a thread of its own for big files so that decoding and parsing overlap
with hashing. The content is judged from its first bytes; when the file's name
promises a format (``expected``), content of another format fails, saying what it
is (:mod:`seqfixity.fastq.formats`).

Levels (``Settings.validate``):

``none``   nothing is checked (``fastq_verdict`` is ``SKIPPED``, ``reads`` is None).
``gzip``   gzip members are inflated and their CRCs checked (content that does not
           start with an "@" is MALFORMED, not counted); a missing
           end-of-stream marker is ``TRUNCATED``; reads are counted from the
           newlines (lines / 4).
``fastq``  additionally every record must be four lines: ``@`` header,
           sequence, ``+`` line, quality as long as the sequence (checked
           with numpy, vectorised); a partial last record (also one cut inside
           its quality line at the end of the file) is ``TRUNCATED``, anything
           else ``MALFORMED``.
``strict`` also what the FASTQ format requires beyond its structure (Cock et al.,
           Nucleic Acids Research 38:1767, 2010): sequence lines of letters only,
           quality characters from 33 ('!') to 126 ('~'), and a title repeated on
           the ``+`` line equal to the ``@`` line's.
"""

from __future__ import annotations

import codecs
import queue
import threading
from dataclasses import dataclass

import numpy as np

from seqfixity.fastq import formats
from seqfixity.fastq.decoders import Bunzipper, ExternalDecoder, Inflater, Invalid, Unzstd
from seqfixity.fastq.verdicts import CORRUPT, FAILED_VERDICTS, MALFORMED, OK, TRUNCATED

LEVELS = ("gzip", "fastq", "strict")
# The empty block that ends every BGZF file (SAM/BAM specification, 4.1.2): a file that lacks it stops at a
# block boundary, cut short or left by a writer that did not finish.
BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
# Cost relative to MD5 (per input byte) that read_once uses to balance its two lanes: decoding (per byte read)
# plus parsing (per decoded byte, so times the compression ratio). Inflating gzip costs about three MD5s, so it
# gets a lane of its own; checking plain FASTQ is cheap.
DECODE_COST = {formats.GZIP: 3.0, formats.BZIP2: 40.0, formats.ZSTD: 1.5, formats.ORA: 0.5}
PARSE_COST = {"gzip": 0.1, "fastq": 0.4, "strict": 1.0}
_NEWLINE, _AT, _PLUS, _CR = ord("\n"), ord("@"), ord("+"), ord("\r")
# Blank lines at the end of the input are held back until more data shows they are not the end; a run
# longer than this is checked at once (four blank lines in a row are never valid records).
_MAX_HELD_BLANK = 64
_QUEUE_DEPTH = 4
# What the strict level accepts (Cock et al. 2010): letters in a sequence line, '!' (33) to '~' (126) in a quality
# line; a carriage return only where it ends a line.
_LETTERS = np.zeros(256, dtype=bool)
_LETTERS[np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", dtype=np.uint8)] = True
_QUALITY = np.zeros(256, dtype=bool)
_QUALITY[33:127] = True


@dataclass(frozen=True)
class FastqResult:
    """What the validator found: ``verdict`` (OK, TRUNCATED, CORRUPT, MALFORMED, SKIPPED), reads, why."""

    verdict: str
    reads: int | None = None
    error: str = ""

    @property
    def failed(self) -> bool:
        """True when the verdict is a failure."""
        return self.verdict in FAILED_VERDICTS


_Invalid = Invalid


class _LineCounter:
    """Counts newlines (level ``gzip``); blank lines at the very end are not counted (see :func:`_kept_lines`)."""

    def __init__(self) -> None:
        self.lines = 0
        self.run = 0  # newlines in the run of "\r" and "\n" at the end of what has been fed so far
        self.content = False  # whether anything but "\r" and "\n" came before that run
        self.last = b"\n"

    def feed(self, data: bytes) -> None:
        if not self.content and (text := data.lstrip(b"\r\n")) and text[:1] != b"@":
            # a FASTQ starts with its first record's '@' header: noise or a FASTA inflated from valid gzip has no
            # reads to count (it was OK with a "read count" of its newlines)
            first = text.split(b"\n", 1)[0]
            raise _Invalid(MALFORMED, f"record 1: header does not start with '@': {_show(first)}")
        if data:
            self.lines += int(np.count_nonzero(np.frombuffer(data, dtype=np.uint8) == _NEWLINE))  # 1.5x bytes.count
            stripped = data.rstrip(b"\r\n")
            if stripped:
                self.run, self.content = data.count(b"\n", len(stripped)), True
            else:
                self.run += data.count(b"\n")
            self.last = data[-1:]

    def finish(self) -> int:
        if self.last != b"\n":
            return (self.lines + 1) // 4
        return _kept_lines(self.lines, max(self.run - self.content, 0)) // 4


def _kept_lines(lines: int, blank: int) -> int:
    """Lines that count when the last ``blank`` of ``lines`` are blank: blank lines at the end of a file are
    dropped, as many as keeps whole records (one may be the empty quality line of an empty read)."""
    for dropped in range(min(blank, lines), -1, -1):
        if (lines - dropped) % 4 == 0:
            return lines - dropped
    return lines


def _trailing_blank_lines(array: np.ndarray, newlines: np.ndarray, limit: int) -> int:
    """How many of the lines ending at ``newlines`` are blank ("" or "\r") at the end of ``array`` (at most
    ``limit``; 0 unless ``array`` ends with a newline, or a newline and the "\r" of a blank line to come)."""
    if not len(newlines) or newlines[-1] < len(array) - 1 - (array[-1] == _CR):
        return 0
    count = 0
    index = len(newlines) - 1
    while index >= 0 and count < limit:
        start = int(newlines[index - 1]) + 1 if index else 0
        width = int(newlines[index]) - start
        if width > 1 or (width == 1 and array[start] != _CR):
            break
        count += 1
        index -= 1
    return count


class _RecordChecker:
    """Checks FASTQ records four lines at a time (level ``fastq``), vectorised with numpy.

    Every record must have a header line starting with ``@``, a third line
    starting with ``+``, and a quality line as long as its sequence line.
    """

    def __init__(self) -> None:
        self.records = 0
        self.tail = b""

    def feed(self, data: bytes, final: bool = False) -> None:
        if not data or (self.tail and not final and self._feed_joined(data)):
            return
        buffer = self.tail + data if self.tail else data
        array = np.frombuffer(buffer, dtype=np.uint8)
        self._feed_lines(buffer, array, np.flatnonzero(array == _NEWLINE), final)

    def _feed_lines(self, buffer, array: np.ndarray, newlines: np.ndarray, final: bool) -> None:
        """Check the complete records of ``buffer`` (nothing held before it); hold back the rest as the tail."""
        usable = len(newlines) - (0 if final else _trailing_blank_lines(array, newlines, _MAX_HELD_BLANK))
        complete = usable - usable % 4
        if not complete:
            self.tail = bytes(buffer)
            return
        ends = newlines[:complete]
        self._check(buffer, array, ends)
        self.tail = bytes(buffer[int(ends[-1]) + 1:])

    def _feed_joined(self, data: bytes) -> bool:
        """Check the record the tail began, ended by the first lines of ``data``, then the rest of ``data`` in
        place: a chunk is not copied behind the tail (that copy, a fresh 4 MiB buffer per chunk, cost more
        than the check). False, with nothing done, when ``data`` does not end that record or holds only
        blank lines after it (then which lines are trailing blanks depends on the tail)."""
        end = -1
        for _ in range(4 - self.tail.count(b"\n") % 4):
            end = data.find(b"\n", end + 1)
            if end < 0:
                return False
        rest = memoryview(data)[end + 1:]
        array = np.frombuffer(rest, dtype=np.uint8)
        newlines = np.flatnonzero(array == _NEWLINE)
        if len(newlines) == _trailing_blank_lines(array, newlines, _MAX_HELD_BLANK) < _MAX_HELD_BLANK:
            return False
        joined = self.tail + data[:end + 1]
        joined_array = np.frombuffer(joined, dtype=np.uint8)
        self._check(joined, joined_array, np.flatnonzero(joined_array == _NEWLINE))
        self.tail = b""
        self._feed_lines(rest, array, newlines, final=False)
        return True

    def finish(self) -> int:
        tail = self.tail
        if not tail.strip():
            return self.records
        cut = not tail.endswith(b"\n")  # the file ends inside a line: a copy cut short, or a missing last newline
        if cut:
            tail += b"\n"
        lines = tail.count(b"\n")
        array = np.frombuffer(tail, dtype=np.uint8)
        newlines = np.flatnonzero(array == _NEWLINE)
        kept = _kept_lines(lines, _trailing_blank_lines(array, newlines, lines))
        if kept < lines:
            tail, lines = tail[:int(newlines[kept - 1]) + 1] if kept else b"", kept
        self.tail = b""
        if cut and lines and lines % 4 == 0:
            last = int(newlines[lines - 5]) + 1 if lines > 4 else 0
            self.feed(tail[:last], final=True)
            self._finish_cut_record(tail[last:])
        else:
            partial = tail.split(b"\n")[-(lines % 4) - 1:-1] if lines % 4 else []
            if len(partial) == 3 and partial[0].startswith(b"@") and not partial[1].rstrip(b"\r") \
                    and partial[2].startswith(b"+"):
                # an empty read (as trimmers write them) whose empty quality line lost only its line end
                tail, lines = tail + partial[2][len(partial[2].rstrip(b"\r")):] + b"\n", lines + 1
            self.feed(tail, final=True)
        if lines % 4:
            self._check_partial(tail.split(b"\n")[-(lines % 4) - 1:-1])
            raise _Invalid(TRUNCATED, f"last record incomplete: {lines % 4} of 4 lines after record {self.records}")
        return self.records

    def _check_partial(self, lines: list[bytes]) -> None:
        """The lines of an incomplete last record: MALFORMED when what is there already breaks the format (a
        header without '@', a third line without '+'), since a cut only removes what comes after."""
        where = f"record {self.records + 1} (line {4 * self.records + 1})"
        if any(b"\r" in line.rstrip(b"\r") for line in lines):  # a cut leaves CRLF's "\r" only at a line's end
            raise _Invalid(MALFORMED, f"{where}: lines end with a carriage return alone (CR, old Mac line ends), "
                                      "not LF or CRLF; convert the line ends (e.g. tr '\\r' '\\n')")
        if not lines[0].startswith(b"@"):
            raise _Invalid(MALFORMED, f"{where}: header does not start with '@': {_show(lines[0])}")
        if len(lines) > 2 and not lines[2].startswith(b"+"):
            raise _Invalid(MALFORMED, f"{where}: third line does not start with '+': {_show(lines[2])}")

    def _finish_cut_record(self, record: bytes) -> None:
        """The last record, when the file ends inside its quality line: a quality line shorter than its
        sequence there is the end of a copy cut short (TRUNCATED), not a malformed record."""
        header, sequence, plus, quality = record.split(b"\n")[:4]
        seen, wanted = len(quality.rstrip(b"\r")), len(sequence.rstrip(b"\r"))
        if header.startswith(b"@") and plus.startswith(b"+") and seen < wanted:
            raise _Invalid(TRUNCATED, f"last record cut short: the file ends inside the quality line of record "
                                      f"{self.records + 1} ({seen} of its {wanted} characters)")
        if seen == wanted and sequence.endswith(b"\r") and not quality.endswith(b"\r"):
            # a CRLF file without its last line end: the quality is whole, only its "\r\n" is missing
            record = b"\n".join((header, sequence, plus, quality + b"\r")) + b"\n"
        self.feed(record, final=True)

    def _check(self, buffer: bytes, array: np.ndarray, ends: np.ndarray) -> None:
        starts = np.empty_like(ends)
        starts[0] = 0
        starts[1:] = ends[:-1] + 1
        lengths = ends - starts
        bad = array[starts[0::4]] != _AT
        bad |= array[np.minimum(starts[2::4], len(array) - 1)] != _PLUS
        bad |= lengths[2::4] == 0
        bad |= lengths[1::4] != lengths[3::4]
        if bad.any():
            index = int(np.argmax(bad))
            record = self.records + index + 1
            line = [bytes(buffer[int(starts[4 * index + i]):int(ends[4 * index + i])]) for i in range(4)]
            where = f"record {record} (line {4 * (record - 1) + 1})"
            if not line[0].startswith(b"@"):
                raise _Invalid(MALFORMED, f"{where}: header does not start with '@': {_show(line[0])}")
            if not line[2].startswith(b"+"):
                raise _Invalid(MALFORMED, f"{where}: third line does not start with '+': {_show(line[2])}")
            raise _Invalid(MALFORMED, f"{where}: sequence has {len(line[1])} letters but quality {len(line[3])}")
        self._check_content(buffer, array, starts, ends)
        self.records += len(ends) // 4

    def _check_content(self, buffer: bytes, array: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> None:
        """What the level checks inside well-formed records: nothing at level ``fastq``."""


class _StrictRecordChecker(_RecordChecker):
    """Level ``strict``: letters only in sequences, quality characters 33-126, a repeated '+' title equal to the
    '@' title (Cock et al., Nucleic Acids Research 38:1767, 2010)."""

    def _check_content(self, buffer: bytes, array: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> None:
        for line, allowed, what in ((1, _LETTERS, "sequence"), (3, _QUALITY, "quality")):
            first, last = starts[line::4], ends[line::4]
            cr = array[np.maximum(last - 1, 0)] == _CR
            inside = np.zeros(len(array) + 1, dtype=np.int8)
            np.add.at(inside, first, 1)
            np.add.at(inside, last - cr, -1)
            bad = np.flatnonzero(np.cumsum(inside[:-1], dtype=np.int8).astype(bool) & ~allowed[array])
            if len(bad):
                index = int(np.searchsorted(last, bad[0]))
                record = self.records + index + 1
                code = int(array[bad[0]])
                shown = repr(chr(code)) if 32 <= code < 127 else f"byte {code}"
                if what == "sequence":
                    raise _Invalid(MALFORMED, f"record {record} (line {4 * record - 2}): sequence holds {shown}, "
                                              "not a letter")
                raise _Invalid(MALFORMED, f"record {record} (line {4 * record}): quality holds {shown}, outside "
                                          "'!' to '~' (33-126)")
        titled = np.flatnonzero(ends[2::4] - starts[2::4] - (array[np.maximum(ends[2::4] - 1, 0)] == _CR) > 1)
        for index in titled.tolist():
            plus = bytes(buffer[int(starts[4 * index + 2]) + 1:int(ends[4 * index + 2])]).rstrip(b"\r")
            title = bytes(buffer[int(starts[4 * index]) + 1:int(ends[4 * index])]).rstrip(b"\r")
            if plus != title:
                record = self.records + index + 1
                raise _Invalid(MALFORMED, f"record {record} (line {4 * record - 1}): the '+' line repeats a title "
                                          f"that is not the '@' line's: {_show(plus)}, not {_show(title)}")


def _show(line: bytes) -> str:
    """A line for a message: its first 40 characters when it is text, else what it is in words (never a dump)."""
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(line[:40])  # a character cut at 40 is left out
    except UnicodeDecodeError:
        text = ""
    if not text and line or any(ord(c) < 32 and c not in "\t\r" or ord(c) == 127 for c in text):
        return f"{len(line)} bytes that are not text"
    return repr(text + ("..." if len(line) > 40 else ""))


def validation_cost(level: str, path: str) -> float:
    """The validator's cost relative to MD5 per byte read, judged from the name's compression suffix."""
    return DECODE_COST.get(formats.compression_of(path), 0.0) + PARSE_COST[level]


class FastqValidator:
    """A ``read_once`` sink that validates FASTQ (plain, gzip/BGZF, bzip2, zstd) at ``level`` (:data:`LEVELS`).

    ``expected`` is the compression the file's name promises (:func:`formats.compression_of`): content of
    another kind is a failure that says what it is. With ``expected`` None the content alone decides.
    ``ora_command`` (orad's command line, reading standard input) decodes ORA. With ``threaded`` the
    structure check runs in a thread of its own, fed the decoded bytes through a short queue, so decoding
    and parsing overlap.
    """

    def __init__(self, level: str = "fastq", threaded: bool = False, expected: str | None = None,
                 ora_command: list[str] | None = None) -> None:
        if level not in LEVELS:
            raise ValueError(f"validation level must be one of {', '.join(LEVELS)}, not {level!r}")
        self.level = level
        self.expected = expected
        self._ora_command = ora_command
        self._parser = {"gzip": _LineCounter, "fastq": _RecordChecker, "strict": _StrictRecordChecker}[level]()
        self._decoder = None
        self._started = False
        self._head = b""  # the first bytes, held until there are enough to tell the content's kind
        self._bgzf_tail: bytes | None = None  # the last bytes of a BGZF file, for its end-of-file block
        self._failure: _Invalid | None = None
        self._crash: Exception | None = None
        self._queue: queue.Queue[bytes | None] | None = None
        self._thread: threading.Thread | None = None
        if threaded:
            self._queue = queue.Queue(_QUEUE_DEPTH)
            self._thread = threading.Thread(target=self._parse_loop, name="seqfixity-fastq", daemon=True)
            self._thread.start()

    def update(self, data: memoryview) -> None:
        """Feed the next chunk of the file's raw bytes."""
        if self._failure is not None:
            return
        try:
            if not self._started:
                if len(self._head) + len(data) < formats.SNIFF_BYTES:
                    self._head += bytes(data)
                    return
                if self._head:
                    data = self._head + bytes(data)
                self._start(bytes(data[:formats.SNIFF_BYTES]), final=False)
            self._decode(data)
        except _Invalid as failure:
            self._failure = failure

    def _start(self, head: bytes, final: bool) -> None:
        """Choose the decoder from the first bytes; fail when they are not what the name promises."""
        self._started = True
        self._head = b""
        found = formats.content_format(head)
        if self.expected is not None and self.expected != formats.ORA and found != self.expected:
            if final and not head and self.expected != formats.PLAIN:
                raise _Invalid(TRUNCATED, f"empty file: a {self.expected} file holds at least a header; the copy was "
                                          "cut short")
            if final and formats.cut_inside_magic(head, self.expected):
                raise _Invalid(TRUNCATED, f"the file ends inside the {self.expected} header ({len(head)} bytes): "
                                          "the copy was cut short")
            raise _Invalid(CORRUPT, formats.mismatch_of(self.expected, head))
        if self.expected == formats.PLAIN and formats.not_fastq_text(head):
            raise _Invalid(CORRUPT, f"named as uncompressed but the content is {formats.describe(head)}")
        if self.expected == formats.ORA:
            if not self._ora_command:
                raise ValueError("an ORA file needs ora_command (orad) to be validated")
            self._decoder = ExternalDecoder(self._ora_command, self._parse)
        elif found == formats.GZIP:
            self._decoder = Inflater()
            if len(head) >= 14 and head[3] & 4 and head[10:14] == b"\x06\x00BC":  # FEXTRA: BGZF's BC subfield
                self._bgzf_tail = b""
        elif found == formats.BZIP2:
            self._decoder = Bunzipper()
        elif found == formats.ZSTD:
            self._decoder = Unzstd()

    def _decode(self, data) -> None:
        if self._bgzf_tail is not None:
            self._bgzf_tail = (self._bgzf_tail + bytes(data[-len(BGZF_EOF):]))[-len(BGZF_EOF):]
        if self._decoder is None:
            self._parse(bytes(data))
        else:
            for piece in self._decoder.feed(data):
                self._parse(piece)

    def _parse(self, chunk: bytes) -> None:
        if self._queue is not None:
            self._queue.put(chunk)
        else:
            self._parser.feed(chunk)

    def _parse_loop(self) -> None:
        """Parse queued chunks until None; after a failure or a crash keep draining, so the reader never blocks."""
        while (chunk := self._queue.get()) is not None:
            if self._failure is None and self._crash is None:
                try:
                    self._parser.feed(chunk)
                except _Invalid as failure:
                    self._failure = failure
                except Exception as crash:  # a bug, not a verdict: result() raises it in the caller's thread
                    self._crash = crash

    def result(self) -> FastqResult:
        """Finish and return the verdict (a truncated stream or a partial last record is TRUNCATED)."""
        try:
            if self._failure is None and not self._started:
                head = self._head
                self._start(head, final=True)
                self._decode(head)
            if self._failure is None and self._decoder is not None:
                self._decoder.finish()
        except _Invalid as failure:
            self._failure = self._failure or failure
        self.close()
        if self._crash is not None:
            raise self._crash
        try:
            if self._failure is None:
                if self._bgzf_tail is not None and self._bgzf_tail != BGZF_EOF:
                    raise _Invalid(TRUNCATED, "BGZF file ends without its end-of-file block (truncated at a block "
                                              "boundary, or its writer did not finish)")
                reads = self._parser.finish()
                return FastqResult(OK, reads)
        except _Invalid as failure:
            self._failure = failure
        return FastqResult(self._failure.verdict, None, str(self._failure))

    def close(self) -> None:
        """Stop the parsing thread (and an external decoder) without a verdict (after a read error)."""
        if isinstance(self._decoder, ExternalDecoder):
            self._decoder.close()
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
