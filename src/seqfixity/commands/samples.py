"""``seqfixity samples``: the sample each file belongs to, as ``digest`` and the workflow group them."""

from __future__ import annotations

import argparse
import csv
import io
import sys
from collections.abc import Iterable

from seqfixity.atomic import write_bytes_atomic
from seqfixity.commands.common import add_log_option, stdout_errors
from seqfixity.inputs.discover import SampleNamer
from seqfixity.inputs.sheets import read_sheets
from seqfixity.settings import SAMPLE_ID_RULES

COLUMNS = ("sample", "file")

EXAMPLES = """\
examples:
  seqfixity samples run42/*.fastq.gz
      one row per file: the sample whose {sample}_md5.txt and {sample}.jsonl will list it
  seqfixity samples run42/*.fastq.gz --sample-id sheet --samples run42/Reports/fastq_list.csv -o samples.tsv
      the ids of fastq_list.csv's RGSM column; the TSV can be edited and given back as a sample sheet
      (the config's samples:, digest --samples)

output:
  A TSV with the columns sample and file (seqfixity's own sample sheet), sorted by sample, then file; the
  files as given. The generated Nextflow pipeline groups its inputs with it when it is given a sample sheet.

exit status:
  0    the table was written
  128  usage error (bad arguments, or a sample sheet that cannot be used: one line naming the sheet and the
       line), or a table that cannot be written
  130, 143  stopped by SIGINT (Ctrl-C) or SIGTERM (kill, scancel), within one chunk of a read; nothing
            partial is written (not a bitmask)
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``samples`` subcommand."""
    parser = subparsers.add_parser(
        "samples",
        help="print the sample each file belongs to (--sample-id, --samples), as digest and the workflow group them",
        description="Name the sample of each file without reading it, by the rule digest and the workflow use "
                    "(--sample-id: Illumina's names {sample}_S{n}_L{lane}_R1_001.fastq.gz, else the name up to "
                    "its first '.'; ica: always that; sheet: the sample sheet's ids), a TSV sample sheet's "
                    "sample column first.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="+", metavar="FILE", help="files to name the samples of (not read)")
    parser.add_argument("--sample-id", choices=SAMPLE_ID_RULES, default="illumina",
                        help="illumina: Illumina's file names, else ICA's rule (default); ica: the name up to its "
                             "first '.'; sheet: the sample sheet's ids (needs --samples)")
    parser.add_argument("--samples", action="append", default=[], metavar="SHEET",
                        help="sample sheet (repeatable): a TSV with sample and file columns names samples (its files "
                             "must exist); with --sample-id sheet also fastq_list.csv's RGSM")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="write the table to FILE (atomically) instead of standard output")
    add_log_option(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Write the table of samples; return 0."""
    namer = SampleNamer(args.sample_id, read_sheets(args.samples))
    table = sample_table((namer.sample(path), path) for path in args.paths)
    if args.output:
        write_bytes_atomic(args.output, table.encode("utf-8", "surrogateescape"))
    else:
        with stdout_errors():
            sys.stdout.buffer.write(table.encode("utf-8", "surrogateescape"))
    return 0


def sample_table(rows: Iterable[tuple[str, str]]) -> str:
    """The TSV of (sample, file) ``rows``, with its header, sorted by sample then file."""
    text = io.StringIO()
    writer = csv.writer(text, dialect="excel-tab", lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(sorted(rows))
    return text.getvalue()
