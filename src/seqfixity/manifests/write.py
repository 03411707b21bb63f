"""Checksum files out: GNU ``md5sum`` lines, BSD tags, JSON lines, TSV, hashdeep CSV, BagIt manifests.

Readers for these and other formats live in :mod:`seqfixity.manifests.read`.

Names are handled as bytes (``os.fsencode``) so that file names which are not
UTF-8 survive. GNU and BSD lines escape ``\\``, newline and carriage return the
way coreutils 9 does, marking such a line with a leading backslash.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable

from seqfixity.errors import InputError
from seqfixity.record import FileRecord

OUTPUT_FORMATS = ("gnu", "bsd", "jsonl", "tsv", "hashdeep", "bagit")
MD5_FORMATS = ("gnu", "bsd", "hashdeep", "bagit")
HASHDEEP_DIGESTS = ("md5", "sha1", "sha256")
TSV_COLUMNS = (
    "path", "sample", "size", "mtime", "md5", "etag", "etag_part_size", "etag_parts", "xxh128",
)


def escape_name(name: str | bytes) -> tuple[bytes, bool]:
    """Return ``name`` escaped as coreutils does, and whether escaping was needed."""
    raw = os.fsencode(name)
    if not any(c in raw for c in (b"\\", b"\n", b"\r")):
        return raw, False
    escaped = raw.replace(b"\\", b"\\\\").replace(b"\n", b"\\n").replace(b"\r", b"\\r")
    return escaped, True


_UNESCAPES = {b"\\": b"\\", b"n": b"\n", b"r": b"\r"}


def unescape_name(escaped: bytes) -> bytes:
    """Undo :func:`escape_name` (for a line that began with a backslash).

    Raises :class:`ValueError` for any other backslash sequence, or a lone
    backslash at the end, which ``md5sum -c`` rejects as an improperly formatted line.
    """
    out = bytearray()
    index = 0
    while index < len(escaped):
        char = escaped[index:index + 1]
        if char == b"\\":
            following = escaped[index + 1:index + 2]
            if following not in _UNESCAPES:
                shown = "a lone backslash at its end" if not following else \
                    f"the escape \\{following.decode('ascii', 'replace')}"
                raise ValueError(f"escaped name has {shown} (md5sum writes only \\\\, \\n and \\r)")
            out += _UNESCAPES[following]
            index += 2
        else:
            out += char
            index += 1
    return bytes(out)


def gnu_line(digest: str, name: str | bytes) -> bytes:
    """Return one ``md5sum`` output line (``hex  name``), escaped where coreutils would."""
    escaped, needed = escape_name(name)
    return (b"\\" if needed else b"") + digest.encode() + b"  " + escaped + b"\n"


def bsd_line(algorithm: str, digest: str, name: str | bytes) -> bytes:
    """Return one ``md5sum --tag`` line (``MD5 (name) = hex``)."""
    escaped, needed = escape_name(name)
    return (b"\\" if needed else b"") + algorithm.upper().encode() + b" (" + escaped + b") = " + digest.encode() + b"\n"


def bagit_line(digest: str, name: str | bytes) -> bytes:
    """Return one BagIt manifest line, percent-encoding CR and LF (RFC 8493).

    A ``%`` is encoded only where a reader would otherwise decode it (before
    ``0A``, ``0D`` or ``25``): bagit-python, the reference tool, never encodes
    ``%`` and would not find ``50%25off`` for ``50%off``.
    """
    raw = re.sub(rb"%(?=0[aAdD]|25)", b"%25", os.fsencode(name)).replace(b"\r", b"%0D").replace(b"\n", b"%0A")
    return digest.encode() + b"  " + raw + b"\n"


def hashdeep_manifest(records: list[FileRecord], name_of) -> bytes:
    """Return a hashdeep CSV manifest (``%%%% HASHDEEP-1.0``) with size, md5 (and sha1/sha256 if computed).

    hashdeep has no escaping, so a name with a newline cannot be written (raises :class:`InputError`).
    """
    digests = [d for d in HASHDEEP_DIGESTS if all(d in r.digests for r in records)] or ["md5"]
    out = [b"%%%% HASHDEEP-1.0\n", ("%%%% size," + ",".join(digests) + ",filename\n").encode(),
           b"## Invoked from: " + os.fsencode(os.getcwd()) + b"\n", b"## $ seqfixity hash --format hashdeep\n",
           b"## \n"]
    for record in records:
        name = os.fsencode(name_of(record))
        if b"\n" in name or b"\r" in name:
            raise InputError(record.path, "hashdeep manifests cannot hold a name with a line break; use --format gnu")
        values = [str(record.size).encode()] + [record.digests[d].encode() for d in digests]
        out.append(b",".join(values) + b"," + name + b"\n")
    return b"".join(out)


def _tsv_field(value: object) -> str:
    text = "" if value is None else str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def format_records(records: Iterable[FileRecord], output_format: str, name_of=lambda r: r.path) -> bytes:
    """Serialise the successfully hashed ``records`` in ``output_format`` (see :data:`OUTPUT_FORMATS`).

    ``name_of`` chooses the name written for each record (the path by default).
    """
    good = [r for r in records if r.ok]
    if output_format == "gnu":
        return b"".join(gnu_line(r.digests["md5"], name_of(r)) for r in good)
    if output_format == "bsd":
        return b"".join(bsd_line("MD5", r.digests["md5"], name_of(r)) for r in good)
    if output_format == "jsonl":
        lines = [json.dumps({**r.to_dict(), "path": name_of(r)}, sort_keys=False) + "\n" for r in good]
        return "".join(lines).encode("utf-8", "surrogateescape")
    if output_format == "tsv":
        digest_names = sorted({d for r in good for d in r.digests} - set(TSV_COLUMNS))
        columns = list(TSV_COLUMNS) + digest_names
        rows = ["\t".join(columns)]
        for record in good:
            data = {**record.to_dict(), "path": name_of(record)}
            rows.append("\t".join(_tsv_field(data.get(c)) for c in columns))
        return ("\n".join(rows) + "\n").encode("utf-8", "surrogateescape")
    if output_format == "hashdeep":
        return hashdeep_manifest(good, name_of)
    if output_format == "bagit":
        return b"".join(bagit_line(r.digests["md5"], name_of(r)) for r in good)
    raise ValueError(f"unknown output format {output_format!r} (choose from {', '.join(OUTPUT_FORMATS)})")
