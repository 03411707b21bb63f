"""FASTQ structure, checked from the same bytes the digests are computed from.

:class:`FastqValidator` is a sink for :func:`seqfixity.engine.digest.read_once`: it is
fed the file's raw bytes (``update``) and gives its verdict at the end
(``result``). Gzip and BGZF input (any number of gzip members) is inflated as a
stream with python-isal; the structure check runs on
the inflated bytes, in a thread of its own for big files so that inflating and
parsing overlap with hashing. Whether the input is compressed is judged from its
first bytes, not its name.

Levels (``Settings.validate``):

``none``   nothing is checked (``fastq_verdict`` is ``SKIPPED``, ``reads`` is None).
``gzip``   gzip members are inflated and their CRCs checked; a missing
           end-of-stream marker is ``TRUNCATED``; reads are counted from the
           newlines (lines / 4).
``fastq``  additionally every record must be four lines: ``@`` header,
           sequence, ``+`` line, quality as long as the sequence (checked
           with numpy, vectorised); a partial last record is ``TRUNCATED``,
           anything else ``MALFORMED``.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from isal.igzip_lib import DECOMP_GZIP, IgzipDecompressor
from isal.igzip_lib import IsalError as _InflateError

from seqfixity.fastq.verdicts import CORRUPT, FAILED_VERDICTS, GZIP_SUFFIXES, MALFORMED, OK, TRUNCATED

GZIP_MAGIC = b"\x1f\x8b"
# The empty block that ends every BGZF file (SAM/BAM specification, 4.1.2): a file that lacks it stops at a
# block boundary, cut short or left by a writer that did not finish.
BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
# Cost relative to MD5 (per input byte) that read_once uses to balance its two lanes: inflating
# gzip costs about three MD5s, so it gets a lane of its own; checking plain FASTQ is cheap.
COST = {("gzip", True): 3.0, ("fastq", True): 3.5, ("gzip", False): 0.1, ("fastq", False): 0.4}
_NEWLINE, _AT, _PLUS, _CR = ord("\n"), ord("@"), ord("+"), ord("\r")
# Blank lines at the end of the input are held back until more data shows they are not the end; a run
# longer than this is checked at once (four blank lines in a row are never valid records).
_MAX_HELD_BLANK = 64
_QUEUE_DEPTH = 4
# Inflated bytes handed on at once: bounds memory whatever the compression ratio. 4 MiB pieces are reused
# by malloc; 32 MiB pieces were mapped afresh each time and page faults cost a third of the inflate time.
MAX_PIECE = 4 << 20


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


class _Invalid(Exception):
    def __init__(self, verdict: str, message: str) -> None:
        super().__init__(message)
        self.verdict = verdict


class _LineCounter:
    """Counts newlines (level ``gzip``); blank lines at the very end are not counted (see :func:`_kept_lines`)."""

    def __init__(self) -> None:
        self.lines = 0
        self.run = 0  # newlines in the run of "\r" and "\n" at the end of what has been fed so far
        self.content = False  # whether anything but "\r" and "\n" came before that run
        self.last = b"\n"

    def feed(self, data: bytes) -> None:
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
        if not tail.endswith(b"\n"):
            tail += b"\n"
        lines = tail.count(b"\n")
        array = np.frombuffer(tail, dtype=np.uint8)
        newlines = np.flatnonzero(array == _NEWLINE)
        kept = _kept_lines(lines, _trailing_blank_lines(array, newlines, lines))
        if kept < lines:
            tail, lines = tail[:int(newlines[kept - 1]) + 1] if kept else b"", kept
        self.tail = b""
        self.feed(tail, final=True)
        if lines % 4:
            raise _Invalid(TRUNCATED, f"last record incomplete: {lines % 4} of 4 lines after record {self.records}")
        return self.records

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
        self.records += len(ends) // 4


def _show(line: bytes) -> str:
    text = line[:40].decode("utf-8", "replace")
    return repr(text + ("..." if len(line) > 40 else ""))


class _Inflater:
    """Inflates a stream of gzip members; knows whether it stopped inside one.

    Each member goes through isal's ``IgzipDecompressor``, which allocates a piece's buffer once and inflates
    into it with the GIL released; ``isal_zlib.decompressobj`` grows its buffer from 16 KiB, taking the GIL
    back at each step, which stalls it behind the threads that hash and check.
    """

    def __init__(self) -> None:
        self.members = 0
        self._member = None

    def feed(self, data) -> Iterator[bytes]:
        """Yield the inflated bytes of ``data`` in pieces of at most :data:`MAX_PIECE` (bounded memory)."""
        while data:
            if self._member is None:
                self._member = IgzipDecompressor(flag=DECOMP_GZIP)
            member = self._member
            try:
                piece = member.decompress(data, MAX_PIECE)
                while not member.needs_input and not member.eof:  # more output waits inside the inflater
                    yield piece
                    piece = member.decompress(b"", MAX_PIECE)
            except _InflateError as err:
                raise _Invalid(CORRUPT, f"gzip member {self.members + 1}: {err}") from None
            if piece:
                yield piece
            if not member.eof:
                return
            data = member.unused_data
            self._member = None
            self.members += 1

    def finish(self) -> None:
        if self._member is not None:
            raise _Invalid(TRUNCATED, f"gzip stream ends inside member {self.members + 1} "
                                      "(truncated: no end-of-member marker)")


def validation_cost(level: str, path: str) -> float:
    """The validator's cost relative to MD5, judged from the name (``.gz``); the content decides the rest."""
    return COST[(level, path.endswith(GZIP_SUFFIXES))]


class FastqValidator:
    """A ``read_once`` sink that validates FASTQ (plain, gzip or BGZF) at ``level`` ``gzip`` or ``fastq``.

    With ``threaded`` the structure check runs in a thread of its own, fed the
    inflated bytes through a short queue, so inflating and parsing overlap.
    """

    def __init__(self, level: str = "fastq", threaded: bool = False) -> None:
        if level not in ("gzip", "fastq"):
            raise ValueError(f"validation level must be gzip or fastq, not {level!r}")
        self.level = level
        self._parser = _RecordChecker() if level == "fastq" else _LineCounter()
        self._inflater: _Inflater | None = None
        self._started = False
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
        if not self._started:
            self._started = True
            if bytes(data[:2]) == GZIP_MAGIC:
                self._inflater = _Inflater()
                if len(data) >= 14 and data[3] & 4 and bytes(data[10:14]) == b"\x06\x00BC":  # FEXTRA: BGZF's BC
                    self._bgzf_tail = b""
        if self._bgzf_tail is not None:
            self._bgzf_tail = (self._bgzf_tail + bytes(data[-len(BGZF_EOF):]))[-len(BGZF_EOF):]
        try:
            if self._inflater is None:
                self._parse(bytes(data))
            else:
                for piece in self._inflater.feed(data):
                    self._parse(piece)
        except _Invalid as failure:
            self._failure = failure

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
        """Finish and return the verdict (a truncated gzip or a partial last record is TRUNCATED)."""
        self.close()
        if self._crash is not None:
            raise self._crash
        try:
            if self._failure is None:
                if self._inflater is not None:
                    self._inflater.finish()
                if self._bgzf_tail is not None and self._bgzf_tail != BGZF_EOF:
                    raise _Invalid(TRUNCATED, "BGZF file ends without its end-of-file block (truncated at a block "
                                              "boundary, or its writer did not finish)")
                reads = self._parser.finish()
                return FastqResult(OK, reads)
        except _Invalid as failure:
            self._failure = failure
        return FastqResult(self._failure.verdict, None, str(self._failure))

    def close(self) -> None:
        """Stop the parsing thread without a verdict (after a read error)."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
