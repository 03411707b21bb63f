"""Options and steps that ``hash`` and ``check`` share for s3:// and ica:// locations (read in the cloud)."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from seqfixity.commands.common import say
from seqfixity.engine.etag import MAX_GUESS_CANDIDATES
from seqfixity.remote import is_remote  # noqa: F401 (for the commands)
from seqfixity.settings import Settings
from seqfixity.verdict import USAGE_ERROR_EXIT, Verdict

if TYPE_CHECKING:  # the remote modules are imported only when a remote location is named
    from seqfixity.remote.hashing import RemoteOutcome
    from seqfixity.remote.locations import Listing, RemoteOptions

CONNECTIONS = 8

REMOTE_HELP = """\
remote locations (read in place, nothing written to disk):
  s3://BUCKET/PREFIX     every object below the folder PREFIX (run42 holds run42/..., not run420/), or
                         one object s3://BUCKET/KEY; credentials, profile and region from the standard AWS
                         environment (AWS_PROFILE, AWS_ACCESS_KEY_ID, AWS_REGION, ...); --endpoint-url for
                         MinIO, Ceph or a test server
  ica://PROJECT_ID/PATH  every file below the folder PATH of an ICA project (or one file), listed through
                         ICA's API at --ica-server with the key from $ICA_API_KEY or --api-key-file, each read
                         through the download URL ICA gives for it; the key goes to the ICA server only
  Each object is read once, in parallel ranged GETs (--connections at once, 8 MiB each, memory bounded),
  several objects at a time; a dropped connection, a short or over-long body, HTTP 5xx and 429 are retried
  (Retry-After wins) and resume where they stopped. The bytes are checked against the object's own ETag
  (at its exact part size on S3) and checksums; a read that does not reproduce them is read again, and if
  it still differs the object is reported, never given a digest.
"""


def add_remote_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--endpoint-url``, ``--ica-server``, ``--api-key-file``, ``--connections`` and ``--retries``."""
    group = parser.add_argument_group("remote locations (s3://, ica://)")
    group.add_argument("--endpoint-url", metavar="URL", help="S3 endpoint (MinIO, Ceph, a loopback test server)")
    group.add_argument("--ica-server", default=None, metavar="URL",
                       help="ICA server for ica:// locations (default: $ICA_SERVER or https://ica.illumina.com)")
    group.add_argument("--api-key-file", metavar="FILE",
                       help="read the ICA API key from this file (default: $ICA_API_KEY); there is no option "
                            "for the key itself, so it never lands in shell history")
    group.add_argument("--connections", type=int, default=CONNECTIONS, metavar="N",
                       help=f"ranged GETs in flight at once over all objects (default: {CONNECTIONS}); memory is "
                            "about N + 4 ranges of 8 MiB")
    group.add_argument("--retries", type=int, default=5, metavar="N",
                       help="retries of one range (or one ICA API call) after a dropped connection, a short body, "
                            "HTTP 5xx or 429 (default: 5)")
    group.add_argument("--retry-backoff", type=float, default=0.5, metavar="SECONDS",
                       help="first wait between retries, doubled each time up to 30 s; Retry-After wins "
                            "(default: 0.5)")


def remote_options(args: argparse.Namespace, threads: int) -> RemoteOptions:
    """The :class:`RemoteOptions` of the command line (``threads`` hash, ``--connections`` fetch)."""
    from seqfixity.remote.locations import RemoteOptions

    return RemoteOptions(
        endpoint_url=args.endpoint_url, ica_server=args.ica_server or os.environ.get("ICA_SERVER", ""),
        api_key_file=args.api_key_file, connections=max(1, args.connections), threads=max(1, threads),
        retries=max(0, args.retries), backoff=max(0.0, args.retry_backoff),
        max_candidates=max(1, getattr(args, "max_candidates", MAX_GUESS_CANDIDATES)))


def list_or_say(location: str, options: RemoteOptions) -> Listing | None:
    """List ``location``, or say in one line why it cannot be listed and return None."""
    from seqfixity.remote import RemoteError
    from seqfixity.remote.locations import list_location

    try:
        listing = list_location(location, options)
    except RemoteError as err:
        say(str(err))
        return None
    if not listing.files:
        say(f"{location}: no such object, and no objects below it (check the bucket or project, and the path)")
    return listing


ERROR_BITS = {"missing": Verdict.MISSING.bit, "mismatch": Verdict.MISMATCH.bit, "layout": USAGE_ERROR_EXIT,
              "listing": Verdict.MANIFEST_ERROR.bit}


def hash_listings(listings: list[Listing], settings: Settings, options: RemoteOptions,
                  advance) -> tuple[list[RemoteOutcome], int]:
    """Hash every object of ``listings``; report each failure (and each unconfirmed read) in one line; return
    the outcomes that hold digests and the exit bits."""
    from seqfixity.remote.hashing import UNCONFIRMED, hash_remote

    files = [file for listing in listings for file in listing.files]
    code = 0
    good = []
    for outcome in hash_remote(files, settings, options, on_bytes=advance):
        record = outcome.record
        if not record.ok:
            kind = outcome.file.error_kind or record.error_kind
            say(f"{outcome.file.url}: {record.error}")
            code |= ERROR_BITS.get(kind, Verdict.UNREADABLE.bit)
            continue
        if outcome.confirmed == UNCONFIRMED:
            say(f"{outcome.file.url}: digests not confirmed by the object's own metadata: {outcome.note}")
            code |= Verdict.UNVERIFIABLE.bit
        good.append(outcome)
    return good, code
