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


class Invalid(Exception):
    """A verdict other than OK, with the reason: raised by the decoders and the record checks."""

    def __init__(self, verdict: str, message: str) -> None:
        super().__init__(message)
        self.verdict = verdict


class Inflater:
    """Inflates a stream of gzip members; knows whether it stopped inside one.

    Each member goes through isal's ``IgzipDecompressor``, which allocates a piece's buffer once and inflates
    into it with the GIL released; ``isal_zlib.decompressobj`` grows its buffer from 16 KiB, taking the GIL
    back at each step, which stalls it behind the threads that hash and check.
    """

    name = "gzip"
    _unit = "member"

    def __init__(self) -> None:
        from isal.igzip_lib import DECOMP_GZIP, IgzipDecompressor, IsalError

        self.members = 0
        self._member = None
        self._new_member = lambda: IgzipDecompressor(flag=DECOMP_GZIP)
        self._errors = (IsalError,)

    def feed(self, data) -> Iterator[bytes]:
        """Yield the decoded bytes of ``data`` in pieces of at most :data:`MAX_PIECE` (bounded memory)."""
        while data:
            if self._member is None:
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
        """Raise TRUNCATED when the stream ended inside a member."""
        if self._member is not None:
            raise Invalid(TRUNCATED, f"{self.name} stream ends inside {self._unit} {self.members + 1} "
                                     f"(truncated: no end-of-{self._unit} marker)")


class Bunzipper(Inflater):
    """Decodes concatenated bzip2 streams (bzip2, pbzip2, lbzip2) with the standard library's ``bz2``."""

    name = "bzip2"
    _unit = "stream"

    def __init__(self) -> None:
        self.members = 0
        self._member = None
        self._new_member = bz2.BZ2Decompressor
        self._errors = (OSError, EOFError)


class Unzstd:
    """Decodes zstd frames (RFC 8878; several frames, as ``zstd`` and ``pzstd`` write them) with zstandard."""

    name = "zstd"

    def __init__(self) -> None:
        import zstandard

        self._zstandard = zstandard
        self._context = zstandard.ZstdDecompressor()
        self._frame = None
        self.frames = 0

    def feed(self, data) -> Iterator[bytes]:
        """Yield the decoded bytes of ``data``, sliced so that each piece stays small."""
        view = memoryview(data)
        for start in range(0, len(view), ZSTD_SLICE):
            pending = view[start:start + ZSTD_SLICE]
            while len(pending):
                if self._frame is None:
                    self._frame = self._context.decompressobj()
                try:
                    piece = self._frame.decompress(pending)
                except self._zstandard.ZstdError as err:
                    raise Invalid(CORRUPT, f"zstd frame {self.frames + 1}: {err}") from None
                if piece:
                    yield piece
                if not self._frame.eof:
                    break
                pending = memoryview(self._frame.unused_data)
                self._frame = None
                self.frames += 1

    def finish(self) -> None:
        """Raise TRUNCATED when the stream ended inside a frame."""
        if self._frame is not None:
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
