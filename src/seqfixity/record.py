"""``FileRecord``: the one shape every stage of seqfixity reads and writes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from seqfixity.errors import InputError


def sample_id(file_name: str) -> str:
    """Return the sample id of a file name: the name up to its first ``.`` (ICA's reference rule)."""
    base = file_name.rsplit("/", 1)[-1]
    return base.split(".", 1)[0]


@dataclass
class FileRecord:
    """Everything seqfixity knows about one file after one read.

    ``digests`` maps a digest kind (``md5``, ``etag``, ``xxh128``, ``sha256``,
    ``crc32c``, ``crc64nvme``, ...) to its text form. ``etag_part_size`` and
    ``etag_parts`` describe the layout behind ``digests["etag"]`` (``etag_parts``
    is 0 for a single-part ETag, which equals the MD5). ``error`` is set, and the
    digests are empty, when the file could not be read in full; ``error_kind``
    is then ``missing``, ``unreadable``, ``changed`` (while read) or ``layout``
    (no S3 part layout fits the settings).
    """

    path: str
    size: int = 0
    mtime_ns: int = 0
    sample: str = ""
    digests: dict[str, str] = field(default_factory=dict)
    etag_part_size: int = 0
    etag_parts: int = 0
    reads: int | None = None
    fastq_verdict: str = ""
    fastq_error: str = ""
    naming: list[str] = field(default_factory=list)
    error: str = ""
    error_kind: str = ""

    def __post_init__(self) -> None:
        if not self.sample:
            self.sample = sample_id(self.path)

    @property
    def ok(self) -> bool:
        """True when the file was read in full."""
        return not self.error

    @property
    def mtime(self) -> float:
        """Modification time in seconds since the epoch."""
        return self.mtime_ns / 1e9

    def to_dict(self) -> dict[str, Any]:
        """Return a flat JSON-ready dict: digests become top-level keys (``md5``, ``etag``, ...)."""
        data = asdict(self)
        digests = data.pop("digests")
        data["mtime"] = self.mtime
        data.update(digests)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FileRecord:
        """Rebuild a record from :meth:`to_dict` output (unknown keys become digests)."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        digests = {k: str(v) for k, v in data.items() if k not in known and k != "mtime" and v not in (None, "")}
        values.setdefault("digests", {})
        values["digests"] = {**digests, **values["digests"]}
        if "mtime_ns" not in values and "mtime" in data:
            values["mtime_ns"] = int(float(data["mtime"]) * 1e9)
        return cls(**values)


def read_records(path: str, hint: str = "") -> Iterator[FileRecord]:
    """Yield the records of a JSON-lines file (``seqfixity digest`` records, ``hash --format jsonl``).

    Raises :class:`InputError` naming the file (and the line) when it cannot be
    read or a line is not a record; ``hint`` is appended to the read error.
    """
    number = 0
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as handle:
            for number, line in enumerate(handle, 1):  # noqa: B007 (named in the error below)
                if line.strip():
                    yield FileRecord.from_dict(json.loads(line))
    except OSError as err:
        raise InputError(path, f"cannot read records: {err.strerror}{hint}") from None
    except (ValueError, TypeError) as err:
        raise InputError(path, f"line {number}: not a seqfixity record: {err}") from None
