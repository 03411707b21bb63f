"""Stream decoders for the FASTQ check: gzip/BGZF (isal), bzip2 (the standard library), zstd (zstandard), ORA (orad).

Each decoder is fed the file's raw bytes as they are read (``feed`` yields the
decoded bytes in pieces of at most :data:`MAX_PIECE`, so memory stays bounded
whatever the compression ratio) and says at the end (``finish``) whether the
stream stopped inside a member, stream or frame: a copy cut short. Every format
may hold several members (``cat a.gz b.gz``, pbzip2's streams, zstd frames).
A decoder raises :class:`Invalid` with the verdict (CORRUPT, TRUNCATED) and why.
"""

from __future__ import annotations

import bz2
import contextlib
import os
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator

from seqfixity.fastq.verdicts import CORRUPT, TRUNCATED

# Decoded bytes handed on at once: bounds memory whatever the compression ratio. 4 MiB pieces are reused
# by malloc; 32 MiB pieces were mapped afresh each time and page faults cost a third of the inflate time.
MAX_PIECE = 4 << 20
# zstandard's decompressobj returns all the output of one call: its input is fed in slices of this size, so one
# call's output stays near MAX_PIECE for FASTQ (ratio below 10) instead of growing with the 4 MiB read chunk.
ZSTD_SLICE = 256 << 10
# A zstd frame starts 28 B5 2F FD; a skippable frame 5? 2A 4D 18 (RFC 8878, 3.1.1 and 3.1.2).
ZSTD_MAGICS = (b"\x28\xb5\x2f\xfd", *(bytes([0x50 + low, 0x2A, 0x4D, 0x18]) for low in range(16)))


class Invalid(Exception):
    """A verdict other than OK, with the reason: raised by the decoders and the record checks."""

    def __init__(self, verdict: str, message: str) -> None:
        super().__init__(message)
        self.verdict = verdict


class Trailing:
    """Bytes after the last complete member that do not start another one: counted to the end, then reported.

    ``gzip -t`` passes trailing zeros and warns "trailing garbage ignored" for other bytes, ``bzip2 -t`` warns
    and passes, ``zstd -t`` fails; all three decode the members before them in full. Such bytes are not part
    of what the compressor wrote (a copy padded or overwritten past its end), so the file is CORRUPT, said as
    it is: never as a member cut short, which sends the user to fetch a copy that was never missing a byte.
    """

    def __init__(self, head: bytes) -> None:
        self.bytes = 0
        self.zeros = True
        self.head = b""
        self.add(head)

    def add(self, data) -> None:
        """Count ``data`` (more trailing bytes)."""
        data = bytes(data)
        self.bytes += len(data)
        self.zeros = self.zeros and not data.strip(b"\0")
        self.head = (self.head + data[:16])[:16]

    def invalid(self, name: str, unit: str, members: int) -> Invalid:
        """The verdict: CORRUPT, with how many bytes follow member ``members`` and what they are."""
        what = "all zero bytes (padding)" if self.zeros else f"not another {unit} (they start {self.head[:8].hex()})"
        before = f"the {unit} before them decodes" if members == 1 else f"the {members} {unit}s before them decode"
        return Invalid(CORRUPT, f"{self.bytes:,} bytes after the end of {name} {unit} {members}: {what}; {before} "
                                "in full, but the file is not what the compressor wrote")


def _starts_member(data, magics: tuple[bytes, ...]) -> bool | None:
    """Whether ``data`` starts one of ``magics``; None while too few bytes say (a stream cut inside the magic)."""
    head = bytes(data[:max(len(magic) for magic in magics)])
    if any(head.startswith(magic) for magic in magics):
        return True
    if any(magic.startswith(head) for magic in magics):
        return None
    return False


class Inflater:
    """Inflates a stream of gzip members; knows whether it stopped inside one.

    Each member goes through isal's ``IgzipDecompressor``, which allocates a piece's buffer once and inflates
    into it with the GIL released; ``isal_zlib.decompressobj`` grows its buffer from 16 KiB, taking the GIL
    back at each step, which stalls it behind the threads that hash and check.
    """

    name = "gzip"
    _unit = "member"
    _magics = (b"\x1f\x8b",)

    def __init__(self) -> None:
        from isal.igzip_lib import DECOMP_GZIP, IgzipDecompressor, IsalError

        self.members = 0
        self._member = None
        self._new_member = lambda: IgzipDecompressor(flag=DECOMP_GZIP)
        self._errors = (IsalError,)
        self._trailing: Trailing | None = None
        self._held = b""  # the first bytes after a member, too few yet to tell another member from trailing data

    def feed(self, data) -> Iterator[bytes]:
        """Yield the decoded bytes of ``data`` in pieces of at most :data:`MAX_PIECE` (bounded memory)."""
        if self._trailing is not None:
            self._trailing.add(data)
            return
        if self._held:
            data, self._held = self._held + bytes(data), b""
        while data:
            if self._member is None:
                if self.members:
                    starts = _starts_member(data, self._magics)
                    if starts is None:
                        self._held = bytes(data)
                        return
                    if not starts:
                        self._trailing = Trailing(data)
                        return
                self._member = self._new_member()
            member = self._member
            try:
                piece = member.decompress(data, MAX_PIECE)
                while not member.needs_input and not member.eof:  # more output waits inside the decoder
                    yield piece
                    piece = member.decompress(b"", MAX_PIECE)
            except self._errors as err:
                raise Invalid(CORRUPT, f"{self.name} {self._unit} {self.members + 1}: {err}") from None
            if piece:
                yield piece
            if not member.eof:
                return
            data = member.unused_data
            self._member = None
            self.members += 1

    def finish(self) -> None:
        """Raise TRUNCATED when the stream ended inside a member, CORRUPT when bytes that start no member follow
        the last one."""
        if self._trailing is not None:
            raise self._trailing.invalid(self.name, self._unit, self.members)
        if self._member is not None or self._held:
            raise Invalid(TRUNCATED, f"{self.name} stream ends inside {self._unit} {self.members + 1} "
                                     f"(truncated: no end-of-{self._unit} marker)")


class Bunzipper(Inflater):
    """Decodes concatenated bzip2 streams (bzip2, pbzip2, lbzip2) with the standard library's ``bz2``."""

    name = "bzip2"
    _unit = "stream"
    _magics = (b"BZh",)

    def __init__(self) -> None:
        self.members = 0
        self._member = None
        self._new_member = bz2.BZ2Decompressor
        self._errors = (OSError, EOFError)
        self._trailing = None
        self._held = b""


class Unzstd:
    """Decodes zstd frames (RFC 8878; several frames, as ``zstd`` and ``pzstd`` write them) with zstandard."""

    name = "zstd"

    def __init__(self) -> None:
        import zstandard

        self._zstandard = zstandard
        self._context = zstandard.ZstdDecompressor()
        self._frame = None
        self.frames = 0
        self._trailing: Trailing | None = None
        self._held = b""

    def feed(self, data) -> Iterator[bytes]:
        """Yield the decoded bytes of ``data``, sliced so that each piece stays small."""
        if self._trailing is not None:
            self._trailing.add(data)
            return
        view = memoryview(self._held + bytes(data)) if self._held else memoryview(data)
        self._held = b""
        position = 0
        while position < len(view):
            if self._frame is None:
                if self.frames:
                    starts = _starts_member(view[position:], ZSTD_MAGICS)
                    if starts is None:  # fewer bytes than a magic number: the next read says
                        self._held = bytes(view[position:])
                        return
                    if not starts:
                        self._trailing = Trailing(view[position:])
                        return
                self._frame = self._context.decompressobj()
            pending = view[position:position + ZSTD_SLICE]
            try:
                piece = self._frame.decompress(pending)
            except self._zstandard.ZstdError as err:
                raise Invalid(CORRUPT, f"zstd frame {self.frames + 1}: {err}") from None
            if piece:
                yield piece
            if self._frame.eof:
                position += len(pending) - len(self._frame.unused_data)
                self._frame = None
                self.frames += 1
            else:
                position += len(pending)

    def finish(self) -> None:
        """Raise TRUNCATED when the stream ended inside a frame, CORRUPT when bytes that start no frame follow the
        last one."""
        if self._trailing is not None:
            raise self._trailing.invalid(self.name, "frame", self.frames)
        if self._frame is not None or self._held:
            raise Invalid(TRUNCATED, f"zstd stream ends inside frame {self.frames + 1} (truncated: the frame is "
                                     "not complete)")


class ExternalDecoder:
    """Streams the raw bytes through a decoder program (Illumina's ``orad``) and hands on its output.

    ``command`` reads the compressed file on standard input and writes FASTQ on standard output; its
    output is read by a thread of its own and passed to ``consume`` (the record check), so the file is
    still read once. A non-zero exit status is CORRUPT, with the last line the program wrote on stderr.
    """

    def __init__(self, command: list[str], consume: Callable[[bytes], None]) -> None:
        self.command = command
        self.name = os.path.basename(command[0])
        self._errors = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close(), after the decoder exits
        try:
            self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                             stderr=self._errors)
        except OSError as err:
            self._errors.close()
            raise Invalid(CORRUPT, f"cannot run the decoder {command[0]}: {err.strerror}") from None
        self._failure: BaseException | None = None
        self._reader = threading.Thread(target=self._read, args=(consume,), name="seqfixity-decoder", daemon=True)
        self._reader.start()

    def _read(self, consume: Callable[[bytes], None]) -> None:
        try:
            while piece := self._process.stdout.read(MAX_PIECE):
                if self._failure is None:
                    consume(piece)
        except BaseException as err:  # a verdict or a bug: handed to the caller at finish()
            self._failure = err
            self._process.stdout.read()  # keep draining, so the decoder never blocks on a full pipe

    def feed(self, data) -> Iterator[bytes]:
        """Write ``data`` to the decoder; its output reaches ``consume`` from the reading thread."""
        with contextlib.suppress(BrokenPipeError):  # the decoder stopped early: its exit status says why
            self._process.stdin.write(data)
        return iter(())

    def finish(self) -> None:
        """Close the decoder's input, wait for it; raise its failure (or the record check's) if any."""
        self._stop()
        self._errors.seek(0)
        lines = self._errors.read().decode("utf-8", "replace").strip().splitlines()
        self._errors.close()
        if self._failure is not None:
            raise self._failure
        if self._process.returncode:
            said = f": {lines[-1][:200]}" if lines else ""
            raise Invalid(CORRUPT, f"{self.name} exited with status {self._process.returncode}{said}")

    def _stop(self) -> None:
        if self._process.stdin and not self._process.stdin.closed:
            with contextlib.suppress(BrokenPipeError):
                self._process.stdin.close()
        self._reader.join()
        self._process.wait()

    def close(self) -> None:
        """Stop feeding the decoder and wait for it and its reading thread (after a read error: no verdict)."""
        self._stop()
        self._errors.close()
