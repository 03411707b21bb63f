"""The workflow's one read per file for objects in S3 or ICA: digests, FASTQ structure and the naming lint from
the bytes streamed once (:func:`~seqfixity.remote.hashing.hash_remote`), never a local copy."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence

from seqfixity.examine.files import VALIDATING_OPEN, checker_sinks, finish_record
from seqfixity.record import FileRecord
from seqfixity.remote.hashing import UNCONFIRMED, hash_remote
from seqfixity.remote.locations import RemoteOptions, locate_files
from seqfixity.remote.stream import MAX_ACTIVE
from seqfixity.settings import Settings


def examine_remote(items: Sequence[tuple[str, str]], settings: Settings,
                   options: RemoteOptions) -> Iterator[FileRecord]:
    """Examine ``(URL, sample)`` pairs; yield records (``path`` the URL) in the order given.

    Raises :class:`~seqfixity.remote.RemoteError` when a location cannot be listed; an object that cannot be
    read has a record with the error. A read its object's metadata cannot confirm says so on stderr.
    """
    files = locate_files([url for url, _ in items], options)
    sinks = checker_sinks(settings)
    # a validator holds a few inflated pieces: as many open objects per thread as the local reader keeps files
    outcomes = hash_remote(files, settings, options, sinks=sinks,
                           max_active=VALIDATING_OPEN * options.threads if sinks else MAX_ACTIVE)
    for (url, sample), outcome in zip(items, outcomes, strict=True):
        record = outcome.record
        record.path = url
        if outcome.confirmed == UNCONFIRMED:
            print(f"seqfixity: {url}: digests not confirmed by the object's own metadata: {outcome.note}",
                  file=sys.stderr, flush=True)
        yield finish_record(record, outcome.sinks, settings, sample)
