"""One read per file for everything the workflow needs: digests, FASTQ structure and the naming lint."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from seqfixity.engine.digest import hash_planned
from seqfixity.fastq import formats
from seqfixity.fastq.verdicts import NOT_VALIDATED, SKIPPED
from seqfixity.inputs.names import naming_findings
from seqfixity.record import FileRecord
from seqfixity.remote import is_remote
from seqfixity.settings import Settings
from seqfixity.stopping import check_chunk

if TYPE_CHECKING:
    from seqfixity.remote.locations import RemoteOptions

# From this size the FASTQ structure check (or the line count at level gzip) runs in a thread of its own,
# beside inflation and hashing.
THREADED_MIN_SIZE = 8 << 20
VALIDATING_OPEN = 4


NOT_A_SEQUENCE = ("not a FASTQ, BAM or CRAM name (.fastq or .fq, plain or .gz, .bz2, .zst, .ora; .bam, .cram): "
                  "digests only")
NO_ORA_DECODER = ("DRAGEN ORA has no open decoder: digests only; set ora_decoder to Illumina's orad to check the "
                  "FASTQ inside")


def unvalidated_reason(path: str, settings: Settings) -> str:
    """Why ``path`` gets digests but no check at ``settings.validate`` (its name's format), or "" when checked."""
    promised = formats.name_format(path)
    if promised is None:
        return NOT_A_SEQUENCE
    if promised == ("fastq", formats.ORA) and not settings.ora_decoder:
        return NO_ORA_DECODER
    return ""


def make_checker(path: str, settings: Settings, size: int):
    """The ``read_once`` sink that checks ``path`` at ``settings.validate``, with its cost relative to MD5."""
    kind, promised = formats.name_format(path)
    if kind == "alignment":
        from seqfixity.fastq.alignments import alignment_checker, alignment_cost  # numpy-free, but only when needed

        return alignment_checker(promised, settings.validate), alignment_cost(promised)
    from seqfixity.fastq.validate import FastqValidator, validation_cost  # numpy and isal: only to validate

    ora = settings.ora_command() if promised == formats.ORA else None
    validator = FastqValidator(settings.validate, threaded=size >= THREADED_MIN_SIZE, expected=promised,
                               ora_command=ora)
    return validator, validation_cost(settings.validate, path)


def checker_sinks(settings: Settings):
    """The sink factory for ``settings``: the check of each file's format, or None at ``validate: none``."""
    if settings.validate == "none":
        return None

    def sinks(path: str, size: int) -> list:
        return [] if unvalidated_reason(path, settings) else [make_checker(path, settings, size)]

    return sinks


def finish_record(record: FileRecord, sinks: list, settings: Settings, sample: str) -> FileRecord:
    """Fill in the verdict from the checker that was fed the read, the sample id and the naming lint."""
    reason = unvalidated_reason(record.path, settings) if settings.validate != "none" else ""
    if not record.ok:
        for checker, _ in sinks:
            checker.close()
    elif reason:
        record.fastq_verdict, record.fastq_error = NOT_VALIDATED, reason
    elif not sinks:
        record.fastq_verdict = SKIPPED
    else:
        result = sinks[0][0].result()
        record.reads, record.fastq_verdict, record.fastq_error = result.reads, result.verdict, result.error
    if sample:
        record.sample = sample
    if settings.naming != "off":
        record.naming = naming_findings(record.path)
    return record


def examine_file(path: str, settings: Settings, sample: str = "") -> FileRecord:
    """Hash ``path`` and check it at ``settings.validate`` in the same read; lint its name.

    The check follows the format the name promises (:func:`formats.name_format`): FASTQ (plain, gzip,
    bzip2, zstd; ORA through ``ora_decoder``), BAM or CRAM. A file of any other name, or an ORA file
    without a decoder, gets its digests and the verdict NOT_VALIDATED with the reason. A file that cannot
    be read yields a record whose ``error`` says why (its FASTQ verdict is then empty); the naming findings
    are always filled when ``settings.naming`` is not ``off``.
    """
    return next(examine_files([(path, sample)], settings, jobs=1))


def examine_files(items: Iterable[tuple[str, str]], settings: Settings, jobs: int = 2,
                  remote: RemoteOptions | None = None, ordered: bool = True) -> Iterator[FileRecord]:
    """Examine ``(path, sample)`` pairs with ``jobs`` workers (several files per worker on the multi-lane core);
    yield records in the order given (``ordered=False``: local files as they end, each record naming its
    path). s3:// and ica:// URLs are streamed (``remote`` says how), in order."""
    items = list(items)
    urls = [item for item in items if is_remote(item[0])]
    if urls:
        from seqfixity.examine.remote import examine_remote
        from seqfixity.remote.locations import RemoteOptions

        local = _examine_local([item for item in items if not is_remote(item[0])], settings, jobs)
        streamed = examine_remote(urls, settings, remote or RemoteOptions(threads=jobs))
        for path, _ in items:
            yield next(streamed if is_remote(path) else local)
        return
    yield from _examine_local(items, settings, jobs, ordered)


def _examine_local(items: list[tuple[str, str]], settings: Settings, jobs: int,
                   ordered: bool = True) -> Iterator[FileRecord]:
    sinks = checker_sinks(settings)
    # a validator holds up to a few inflated pieces: four files open per worker keep that bounded
    planned = hash_planned(((path, settings) for path, _ in items), jobs, on_bytes=check_chunk, sinks=sinks,
                           max_open=VALIDATING_OPEN if sinks else None,  # check_chunk: a stopped job stops at a chunk
                           ordered=ordered)
    samples = dict(items)  # a record names its path, in either order
    for record, sinks in planned:
        yield finish_record(record, sinks, settings, samples[record.path])
