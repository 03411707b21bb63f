"""Byte sizes in and out: ``8MiB``, ``16MB``, ``15728640``."""

from __future__ import annotations

import re

_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "m": 1000**2,
    "mb": 1000**2,
    "g": 1000**3,
    "gb": 1000**3,
    "t": 1000**4,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


class SizeError(ValueError):
    """A byte size that cannot be parsed."""


def parse_size(text: str | int) -> int:
    """Return the number of bytes in ``text`` (``8MiB``, ``16MB``, ``15728640``).

    Decimal units (kB, MB, GB) are powers of 1000, binary units (KiB, MiB, GiB)
    powers of 1024, as in IEC 80000-13.
    """
    if isinstance(text, bool):
        raise SizeError(f"not a byte size: {text!r}")
    if isinstance(text, int):
        if text < 0:
            raise SizeError(f"a byte size cannot be negative: {text}")
        return text
    match = _SIZE_RE.match(str(text))
    if not match:
        raise SizeError(f"not a byte size: {text!r} (try 8MiB, 16MB or 15728640)")
    number, unit = match.groups()
    factor = _UNITS.get(unit.lower())
    if factor is None:
        raise SizeError(f"unknown unit {unit!r} in {text!r} (use B, kB, MB, GB, KiB, MiB, GiB)")
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
