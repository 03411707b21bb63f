"""What a remote holds: one :class:`RemoteObject` per file in S3 or an ICA project.

The readers in :mod:`seqfixity.remote.s3` and :mod:`seqfixity.remote.ica` turn
listings (S3, ICA exports, the ICA API) into these objects; :mod:`seqfixity.remote.verify`
compares them with local files without downloading anything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from seqfixity.errors import SeqfixityError

AVAILABLE = "AVAILABLE"
SCHEMES = ("s3://", "ica://")


def is_remote(location: str) -> bool:
    """True for an ``s3://`` or ``ica://`` location (read in place by hash, check and the workflow)."""
    return location.startswith(SCHEMES)


class RemoteError(SeqfixityError):
    """A remote listing that cannot be read at all (bad URL, credentials, missing columns, HTTP errors)."""


@dataclass
class RemoteObject:
    """One file as the remote describes it.

    ``name`` is the object's path as listed (an S3 key or an ICA path);
    ``checksums`` maps a lowercase algorithm (``crc32``, ``crc32c``,
    ``crc64nvme``, ``sha1``, ``sha256``) to the value the server returned;
    ``checksum_type`` is ``FULL_OBJECT``, ``COMPOSITE`` or empty when the server
    did not say. ``part_size``/``parts`` are exact when the server reported
    them (S3 ``HeadObject`` with ``PartNumber=1``), else 0. ``etag_is_md5`` is
    false when the ETag is known not to be an MD5 (SSE-KMS, SSE-C), and
    ``etag_note`` then says why and what to do instead. ``error`` describes a
    listing entry that could not be parsed. ``data_id`` is an ICA file's id
    (``fil.…``) and ``link`` its page in ICA
    (``https://SERVER/ica/link/project/PROJECT_ID/data/DATA_ID``), which
    verify and check copy into their results' ``link`` field.
    ``modified_ns`` is when the object was last written (0 when unknown).
    ``described`` is false for an S3 object listed without its HeadObject (checksums and encryption still
    unknown; the reader takes them from its GET). ``part_lengths``, for an S3 multipart object, asks the
    store the length of every part (``HeadObject`` with each ``PartNumber``; None when it will not say):
    S3 lets an upload's parts differ in size, which part 1's length alone does not show.
    """

    name: str
    size: int | None = None
    etag: str = ""
    checksums: dict[str, str] = field(default_factory=dict)
    checksum_type: str = ""
    part_size: int = 0
    parts: int = 0
    etag_is_md5: bool = True
    etag_note: str = ""
    status: str = AVAILABLE
    source: str = ""
    error: str = ""
    data_id: str = ""
    link: str = ""
    modified_ns: int = 0
    described: bool = True
    part_lengths: Callable[[], list[int] | None] | None = field(default=None, repr=False, compare=False)
    error_kind: str = ""  # with error: "missing" (gone since listed), "unreadable" (refused), "" a listing fault
