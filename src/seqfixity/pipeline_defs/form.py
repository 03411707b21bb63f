"""What the ICA input form asks for: the data inputs (the files, optional sample sheets) and one parameter per
setting the processes read.

The same list drives the XML form, the ``params`` of ``nextflow.config`` and the
flags that ``main.nf`` passes to ``seqfixity digest``, so the three cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from seqfixity.engine.etag import PRESETS
from seqfixity.settings import NAMING_MODES, SAMPLE_ID_RULES, VALIDATE_LEVELS, Settings
from seqfixity.units import format_size

PARAMETER_KINDS = ("string", "integer", "boolean", "options", "float")


@dataclass(frozen=True)
class DataInput:
    """A ``pd:dataInput``: files ICA stages for the run, arriving as ``params.<code>``."""

    code: str
    label: str
    description: str
    format: str = "FASTQ"
    type: str = "FILE"
    required: bool = True
    multi_value: bool = True


@dataclass(frozen=True)
class Parameter:
    """A ``pd:parameter``: one setting, its type, its default (None: none) and its ``seqfixity digest`` flag.

    An ``optional`` parameter may be left empty (``minValues="0"``); its flag is then left out.
    """

    code: str
    label: str
    description: str
    kind: str
    default: str | None
    options: tuple[str, ...] = ()
    flag: str = ""
    optional: bool = False


def data_inputs() -> list[DataInput]:
    """The form's data inputs: the FASTQ files to check, and the sample sheets they may be checked against."""
    return [
        DataInput(
            code="in",
            label="FASTQ files",
            description="FASTQ files (plain, gzip/BGZF, bzip2, zstd; ORA hashed only), BAM or CRAM to checksum and "
                        "validate. Files form samples as the sample-id setting says (Illumina's names: a sample's "
                        "lanes and reads together), one task per sample.",
        ),
        DataInput(
            code="samples",
            label="Sample sheets",
            description="Optional: the run's SampleSheet.csv (v1 or v2), Reports/fastq_list.csv, or a TSV with the "
                        "columns sample and file (files by their name). A sample, lane or read an Illumina sheet "
                        "names with no file is MISSING, a FASTQ no row explains is EXTRA; needed by sample-id "
                        "sheet.",
            format="CSV,TSV",
            required=False,
        ),
    ]


def parameters(settings: Settings) -> list[Parameter]:
    """The form's parameters, with the defaults of ``settings``."""
    return [
        Parameter("etag_preset", "ETag preset",
                  "Uploader whose multipart rule (threshold and part size) the S3/ICA ETag follows.",
                  "options", settings.etag_preset, tuple(PRESETS), "--etag-preset"),
        Parameter("part_size", "ETag part size",
                  "Multipart part size, e.g. 8MiB, 16MB or bytes; overrides the preset. Empty: the preset's.",
                  "string", _size(settings.part_size), (), "--part-size", optional=True),
        Parameter("threshold", "ETag multipart threshold",
                  "Files at least this big get a multipart ETag, e.g. 16MiB; overrides the preset. "
                  "Empty: the preset's.",
                  "string", _size(settings.threshold), (), "--threshold", optional=True),
        Parameter("digests", "Digests",
                  "Comma-separated digests to compute in the same read: md5, etag, xxh128, sha256, sha1, "
                  "crc32, crc32c, crc64nvme.",
                  "string", ",".join(settings.digests), (), "--digests"),
        Parameter("validate", "FASTQ validation",
                  "none: digests only; gzip: decompress, check CRCs, count reads; fastq: also every record; "
                  "strict: also sequence letters, quality characters, the '+' title.",
                  "options", settings.validate, VALIDATE_LEVELS, "--validate"),
        Parameter("sample_id", "Sample ids",
                  "illumina: Illumina's file names ({sample}_S{n}_L{lane}_R1_001.fastq.gz: a sample's lanes and "
                  "reads in one report), else the name up to its first '.'; ica: always the name up to its "
                  "first '.' (one report per file); sheet: the sample sheets' ids (fastq_list.csv's RGSM, a "
                  "TSV's sample), Illumina's names for the rest (needs a sample sheet).",
                  "options", settings.sample_id, SAMPLE_ID_RULES, "--sample-id"),
        Parameter("naming", "File-name check",
                  "ICA file-name guidelines: off, warn (list findings) or strict (findings fail the file).",
                  "options", settings.naming, NAMING_MODES, "--naming"),
    ]


def _size(value: int | None) -> str | None:
    return None if value is None else format_size(value)
