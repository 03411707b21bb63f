"""Standard input as one more file (``seqfixity hash -``, as ``md5sum -``): every digest from one read of it.

A pipe has no size until it ends, and a multipart ETag's layout depends on the
size, so the ETag is computed at the part size the settings give any object
(``--part-size``, else the preset's); a stream that ends so large that its
uploader would have grown the parts gets a ``layout`` error naming the way out,
never an ETag of the wrong layout. Redirected files (``< file``) are read the
same way, from where standard input stands.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import BinaryIO

from seqfixity.engine.digest import CHUNK_SIZE, failed_record
from seqfixity.engine.etag import PRESETS, EtagError, ETagHasher
from seqfixity.engine.hashes import DIGEST_KINDS, StreamHasher
from seqfixity.errors import InputError
from seqfixity.record import FileRecord
from seqfixity.settings import Settings

STDIN = "-"


def hash_stdin(settings: Settings, on_bytes: Callable[[int], None] | None = None,
               stream: BinaryIO | None = None) -> FileRecord:
    """Read standard input (or ``stream``) to its end once; return its record, path ``-``, or a failed record."""
    try:
        return _hash_stream(stream or sys.stdin.buffer, settings, on_bytes)
    except (InputError, EtagError) as err:
        return failed_record(STDIN, err)


def _hash_stream(stream: BinaryIO, settings: Settings, on_bytes: Callable[[int], None] | None) -> FileRecord:
    wanted = set(settings.digests)
    hashers: dict[str, StreamHasher] = {name: DIGEST_KINDS[name].new() for name in wanted - {"etag"}}
    part_size = settings.part_size or PRESETS[settings.etag_preset].part_size
    etag = ETagHasher(part_size) if "etag" in wanted else None
    if etag is not None and "md5" not in hashers:
        hashers["md5"] = DIGEST_KINDS["md5"].new()  # the ETag of a stream below the threshold
    feed = [*hashers.values(), *([etag] if etag is not None else [])]
    buffer = bytearray(CHUNK_SIZE)
    view = memoryview(buffer)
    total = 0
    with open(stream.fileno(), "rb", buffering=0, closefd=False) as raw:
        while True:
            try:
                count = raw.readinto(buffer)
            except OSError as err:
                raise InputError(STDIN, f"read error: {err.strerror}") from None
            if not count:
                break
            chunk = view[:count]
            for hasher in feed:
                hasher.update(chunk)
            total += count
            if on_bytes:
                on_bytes(count)
    results = {name: hasher.result() for name, hasher in hashers.items()}
    record = FileRecord(path=STDIN, size=total)
    if etag is not None:
        layout = settings.layout(total)
        if layout.multipart and layout.part_size != part_size:
            raise EtagError(f"{total} bytes get parts of {layout.part_size} bytes under the "
                            f"{settings.etag_preset} preset, a size known only once a stream has ended; hash the "
                            f"file itself, or give --part-size {layout.part_size}")
        results["etag"] = etag.hexdigest() if layout.multipart else results["md5"]
        record.etag_part_size, record.etag_parts = layout.part_size, layout.parts
    record.digests = {name: results[name] for name in settings.digests}
    return record
