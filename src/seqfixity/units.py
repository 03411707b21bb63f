"""Byte sizes in and out: ``8MiB``, ``16MB`` (16 MiB, as uploaders read it), ``15728640``."""

from __future__ import annotations

import re

# K, M, G and T mean powers of 1024 with or without a B or an iB, as the uploaders whose ETags seqfixity
# reproduces read them: aws-cli's multipart_chunksize ("16MB" is 16 MiB), rclone's --s3-chunk-size
# ("64M" is 64 MiB), s3cmd's --multipart-chunk-size-mb, and Nextflow's memory units. So a part size
# copied from one of their settings gives the layout they used, never a decimal one.
_POWERS = {"k": 1, "m": 2, "g": 3, "t": 4}
_UNITS = {"": 1, "b": 1}
for _letter, _power in _POWERS.items():
    for _suffix in ("", "b", "i", "ib"):  # "i": rclone writes its own sizes so (--s3-chunk-size default 5Mi)
        _UNITS[_letter + _suffix] = 1024**_power
SUFFIXES = "B, K, KB, Ki, KiB, M, MB, Mi, MiB, G, GB, Gi, GiB, T, TB, Ti, TiB (any case; all powers of 1024)"
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


class SizeError(ValueError):
    """A byte size that cannot be parsed."""


def parse_size(text: str | int) -> int:
    """Return the number of bytes in ``text`` (``8MiB``, ``16MB``, ``64M``, ``15728640``).

    K, M, G, T (alone, or with B, i or iB) are powers of 1024, as aws-cli, rclone,
    s3cmd and Nextflow read them: ``16MB`` is 16,777,216 bytes. A plain number is
    bytes.
    """
    if isinstance(text, bool):
        raise SizeError(f"not a byte size: {text!r}")
    if isinstance(text, int):
        if text < 0:
            raise SizeError(f"a byte size cannot be negative: {text}")
        return text
    match = _SIZE_RE.match(str(text))
    if not match:
        raise SizeError(f"not a byte size: {text!r} (a number with one of {SUFFIXES}, or bytes: 8MiB, 15728640)")
    number, unit = match.groups()
    factor = _UNITS.get(unit.lower())
    if factor is None:
        raise SizeError(f"unknown unit {unit!r} in {text!r} (use {SUFFIXES}, or a plain number of bytes)")
    value = float(number) * factor
    if value != int(value):
        raise SizeError(f"{text!r} is not a whole number of bytes")
    return int(value)


def format_size(num_bytes: int) -> str:
    """Return ``num_bytes`` in the shortest exact binary unit (``8MiB``), else in bytes."""
    for unit, factor in (("TiB", 1024**4), ("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if num_bytes and num_bytes % factor == 0:
            return f"{num_bytes // factor}{unit}"
    return str(num_bytes)


def human_size(num_bytes: float) -> str:
    """Return an approximate, human-readable size (``1.5 GiB``)."""
    value = float(num_bytes)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"
