"""Input files in S3 or ICA: the workflow's ``inputs`` may name ``s3://BUCKET/PREFIX`` and ``ica://PROJECT_ID/PATH``.

Each location is listed once (names, sizes and ETags: no HeadObject per object, which the digest job does for
the objects it reads), and its objects are taken as a folder's files are: base names matching ``patterns``,
hidden names left out, subfolders only when ``recursive``. The digest jobs stream them (nothing is staged to
disk); an object's ETag and size are part of its job's parameters, so a replaced object re-runs its job.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from seqfixity.inputs.discover import DiscoveryError
from seqfixity.remote import RemoteError


@dataclass(frozen=True)
class RemoteInput:
    """One object found below an input location: its URL, listed size and ETag."""

    url: str
    size: int
    etag: str


def find_remote(locations: Iterable[str], patterns: Sequence[str], recursive: bool, options) -> list[RemoteInput]:
    """The objects below ``locations`` whose base names match ``patterns``, sorted by URL.

    ``options`` is a :class:`~seqfixity.remote.locations.RemoteOptions`. Raises :class:`DiscoveryError` when a
    location cannot be listed, holds nothing, or holds an object whose name would leave the folder.
    """
    from seqfixity.remote.locations import list_location

    found = []
    for location in locations:
        try:
            listing = list_location(location, options, details=False)
        except RemoteError as err:
            raise DiscoveryError(f"input {location}: {err}") from None
        for file in listing.files:
            if file.error_kind == "listing":
                raise DiscoveryError(f"input {location}: {file.url}: {file.error}")
            parts = file.name.split("/")
            if any(part.startswith(".") for part in parts) or (len(parts) > 1 and not recursive):
                continue
            if any(fnmatch.fnmatchcase(parts[-1], pattern) for pattern in patterns):
                found.append(RemoteInput(file.url, file.size, file.remote.etag))
        if not listing.files:
            raise DiscoveryError(f"input {location}: no such object, and no objects below it")
    return sorted(found, key=lambda item: item.url)
