"""One read per file for everything the workflow needs: digests, FASTQ structure and the naming lint."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from seqfixity.engine.digest import hash_planned
from seqfixity.fastq.verdicts import GZIP_SUFFIXES, OK, SKIPPED, TRUNCATED
from seqfixity.inputs.names import naming_findings
from seqfixity.record import FileRecord
from seqfixity.settings import Settings

# From this size the FASTQ structure check (or the line count at level gzip) runs in a thread of its own,
# beside inflation and hashing.
THREADED_MIN_SIZE = 8 << 20
VALIDATING_OPEN = 4


def _validator_sinks(settings: Settings):
    """The sink factory for ``settings``: a FASTQ validator per file, or None at ``validate: none``."""
    if settings.validate == "none":
        return None
    from seqfixity.fastq.validate import FastqValidator, validation_cost  # numpy and isal: only to validate

    def sinks(path: str, size: int) -> list:
        return [(FastqValidator(settings.validate, threaded=size >= THREADED_MIN_SIZE),
                 validation_cost(settings.validate, path))]

    return sinks


def _finish(record: FileRecord, sinks: list, settings: Settings, sample: str) -> FileRecord:
    """Fill in the FASTQ verdict from the validator that was fed the read, the sample id and the naming lint."""
    if not record.ok:
        for validator, _ in sinks:
            validator.close()
    elif not sinks:
        record.fastq_verdict = SKIPPED
    else:
        result = sinks[0][0].result()
        record.reads, record.fastq_verdict, record.fastq_error = result.reads, result.verdict, result.error
        # A gzip name with no content is a cut-short copy, not an empty FASTQ.
        if record.fastq_verdict == OK and record.size == 0 and record.path.endswith(GZIP_SUFFIXES):
            record.reads, record.fastq_verdict = None, TRUNCATED
            record.fastq_error = "empty file: a gzip file holds at least a header; the copy was cut short"
    if sample:
        record.sample = sample
    if settings.naming != "off":
        record.naming = naming_findings(record.path)
    return record


def examine_file(path: str, settings: Settings, sample: str = "") -> FileRecord:
    """Hash ``path`` and validate it as FASTQ at ``settings.validate`` in the same read; lint its name.

    A file that cannot be read yields a record whose ``error`` says why (its
    FASTQ verdict is then empty); the naming findings are always filled when
    ``settings.naming`` is not ``off``.
    """
    return next(examine_files([(path, sample)], settings, jobs=1))


def examine_files(items: Iterable[tuple[str, str]], settings: Settings, jobs: int = 2) -> Iterator[FileRecord]:
    """Examine ``(path, sample)`` pairs with ``jobs`` workers (several files per worker on the multi-lane core);
    yield records in the order given."""
    items = list(items)
    sinks = _validator_sinks(settings)
    # a validator holds up to a few inflated pieces: four files open per worker keep that bounded
    planned = hash_planned(((path, settings) for path, _ in items), jobs, sinks=sinks,
                           max_open=VALIDATING_OPEN if sinks else None)
    for (_, sample), (record, sinks) in zip(items, planned, strict=True):
        yield _finish(record, sinks, settings, sample)
