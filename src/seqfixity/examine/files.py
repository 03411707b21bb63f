"""One read per file for everything the workflow needs: digests, FASTQ structure and the naming lint."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor

from seqfixity.engine.digest import check_regular_file, failed_record, hash_file
from seqfixity.engine.etag import EtagError
from seqfixity.errors import InputError
from seqfixity.fastq.verdicts import GZIP_SUFFIXES, OK, SKIPPED, TRUNCATED
from seqfixity.inputs.names import naming_findings
from seqfixity.record import FileRecord
from seqfixity.settings import Settings

# From this size the FASTQ structure check (or the line count at level gzip) runs in a thread of its own,
# beside inflation and hashing.
THREADED_MIN_SIZE = 8 << 20


def examine_file(path: str, settings: Settings, sample: str = "") -> FileRecord:
    """Hash ``path`` and validate it as FASTQ at ``settings.validate`` in the same read; lint its name.

    A file that cannot be read yields a record whose ``error`` says why (its
    FASTQ verdict is then empty); the naming findings are always filled when
    ``settings.naming`` is not ``off``.
    """
    validator = None
    sinks = []
    try:
        if settings.validate != "none":
            from seqfixity.fastq.validate import FastqValidator, validation_cost  # numpy and isal: only to validate

            threaded = check_regular_file(path).st_size >= THREADED_MIN_SIZE
            validator = FastqValidator(settings.validate, threaded=threaded)
            sinks.append((validator, validation_cost(settings.validate, path)))
        record = hash_file(path, settings, sinks=sinks)
    except (InputError, EtagError) as err:
        if validator is not None:
            validator.close()
        record = failed_record(path, err)
    else:
        if validator is None:
            record.fastq_verdict = SKIPPED
        else:
            result = validator.result()
            record.reads, record.fastq_verdict, record.fastq_error = result.reads, result.verdict, result.error
            # A gzip name with no content is a cut-short copy, not an empty FASTQ.
            if record.fastq_verdict == OK and record.size == 0 and path.endswith(GZIP_SUFFIXES):
                record.reads, record.fastq_verdict = None, TRUNCATED
                record.fastq_error = "empty file: a gzip file holds at least a header; the copy was cut short"
    if sample:
        record.sample = sample
    if settings.naming != "off":
        record.naming = naming_findings(path)
    return record


def examine_files(items: Iterable[tuple[str, str]], settings: Settings, jobs: int = 2) -> Iterator[FileRecord]:
    """Examine ``(path, sample)`` pairs with ``jobs`` workers; yield records in the order given."""
    def one(item: tuple[str, str]) -> FileRecord:
        return examine_file(item[0], settings, item[1])

    if jobs <= 1:
        yield from map(one, items)
        return
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="seqfixity-examine") as pool:
        yield from pool.map(one, items)
