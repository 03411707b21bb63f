"""``seqfixity digest``: hash and validate files in one read each; write per-sample reports."""

from __future__ import annotations

import argparse
import itertools
import json
import os
import time
from collections import Counter, defaultdict

from seqfixity.atomic import write_bytes_atomic
from seqfixity.commands.common import add_log_option, add_settings_options, say, settings_from_args
from seqfixity.commands.remote_args import add_remote_options, is_remote, remote_options
from seqfixity.errors import SettingsError
from seqfixity.examine.outputs import checksums_path, records_path
from seqfixity.examine.reuse import RecordReuse, record_line
from seqfixity.inputs.discover import SampleNamer
from seqfixity.inputs.sheets import read_sheets
from seqfixity.manifests.write import gnu_line
from seqfixity.record import FileRecord
from seqfixity.settings import NAMING_MODES, SAMPLE_ID_RULES, VALIDATE_LEVELS

EXAMPLES = """\
examples:
  seqfixity digest run42/*.fastq.gz --outdir results
      results/checksums/{sample}_md5.txt (check with: cd run42 && md5sum -c ../results/checksums/X_md5.txt)
      results/records/{sample}.jsonl (one JSON record per file: digests, reads, FASTQ verdict, naming)
  seqfixity digest big.fastq.gz --outdir results --validate gzip --config config/config.yaml
  seqfixity aggregate results/records/*.jsonl --outdir results
      the tables and summary.json over every sample

reuse:
  When DIR/records/{sample}.jsonl holds a file's record from an earlier run with the same
  settings, and the file's device, inode, size and mtime are unchanged, that record is
  reused instead of reading the file again (files modified less than 2 s before the earlier
  run are always read again). --no-reuse reads every file (the config's reuse_unchanged: false).

exit status:
  0    the records were written (a FASTQ that is invalid or unreadable is reported in its record)
  128  usage error (bad arguments, settings or sample sheet) or a report that cannot be written
  130, 143  stopped by SIGINT (Ctrl-C) or SIGTERM (kill, scancel), within one chunk of a read; nothing
            partial is written (not a bitmask)
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``digest`` subcommand."""
    parser = subparsers.add_parser(
        "digest",
        help="hash and validate FASTQ files (one read each); write {sample}_md5.txt and {sample}.jsonl",
        description="Read each file once: MD5, multipart ETag and xxh3 from the same bytes as the FASTQ "
                    "check (gzip/BGZF, bzip2 and zstd decoded on a second core; ORA through orad; BAM and CRAM "
                    "structure). Files are grouped by sample id (--sample-id: Illumina's names "
                    "{sample}_S{n}_L{lane}_R1_001.fastq.gz, else the name up to its first '.'; or the sample "
                    "sheet's) into DIR/checksums/{sample}_md5.txt (md5sum format, base names) and "
                    "DIR/records/{sample}.jsonl, each written atomically.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="+", metavar="FILE",
                        help="files to hash and validate; or objects s3://BUCKET/KEY, ica://PROJECT_ID/PATH, "
                             "streamed once each (never copied to disk)")
    parser.add_argument("--outdir", required=True, metavar="DIR", help="folder for checksums/ and records/")
    parser.add_argument("--validate", choices=VALIDATE_LEVELS, default=None,
                        help="none; gzip (decompress, CRCs, count reads); fastq (also record structure; default); "
                             "strict (also sequence letters, quality 33-126, '+' title = '@' title)")
    parser.add_argument("--naming", choices=NAMING_MODES, default=None,
                        help="ICA file-name lint: off, warn (default) or strict")
    parser.add_argument("--sample-id", choices=SAMPLE_ID_RULES, default=None,
                        help="illumina: Illumina's file names, else ICA's rule (default); ica: the name up to its "
                             "first '.'; sheet: the sample sheet's ids")
    parser.add_argument("--ora-decoder", metavar="COMMAND",
                        help="Illumina's orad (with its --ora-reference): ORA files are streamed through "
                             "`COMMAND --raw --stdout -` to the FASTQ check; without it they get digests only")
    parser.add_argument("--samples", action="append", default=[], metavar="SHEET",
                        help="sample sheet (repeatable): a TSV with sample and file columns names samples; with "
                             "--sample-id sheet also fastq_list.csv's RGSM")
    parser.add_argument("--done", metavar="FILE",
                        help="when finished, write this JSON (records written, files read and reused, bytes, "
                             "start and end times)")
    reuse = parser.add_mutually_exclusive_group()
    reuse.add_argument("--reuse", dest="reuse", action="store_true", default=None,
                       help="reuse the records of unchanged files from DIR/records (default, unless the "
                            "--config file says reuse_unchanged: false)")
    reuse.add_argument("--no-reuse", dest="reuse", action="store_false", help="read every file again")
    parser.add_argument("-j", "--jobs", type=int, default=2, help="files read at once (default: 2)")
    add_log_option(parser)
    add_settings_options(parser)
    add_remote_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Examine the files (reusing unchanged files' earlier records), write one checksum and one record file
    per sample; return 0."""
    from seqfixity.engine import lanes
    from seqfixity.examine.files import examine_files  # imports numpy: only for this command, not every start-up

    started = time.time()
    if args.done:  # a workflow job: its log names the MD5 path it ran (never a silent fallback to hashlib)
        say(lanes.describe())
    settings = settings_from_args(args).with_overrides(validate=args.validate, naming=args.naming,
                                                       sample_id=args.sample_id, ora_decoder=args.ora_decoder)
    namer = SampleNamer(settings.sample_id, read_sheets(args.samples), files_must_exist=False)
    items = [(path, namer.sample(path)) for path in args.paths]
    _check_ora_decoder(settings.ora_decoder, args.paths)
    reuse = RecordReuse(args.outdir, settings, items)
    reuse_on = args.reuse if args.reuse is not None else settings.extra.get("reuse_unchanged") not in (False, "false")
    previous = reuse.previous() if reuse_on else {}
    remote = remote_options(args, args.jobs) if any(is_remote(path) for path in args.paths) else None
    unread = Counter(sample for _, sample in items)
    samples = dict(items)  # a sample's reports are counted down by the names the items gave
    fresh = examine_files([item for item in items if item[0] not in previous], settings, jobs=max(1, args.jobs),
                          remote=remote, ordered=False)
    by_sample: dict[str, list[FileRecord]] = defaultdict(list)
    record_files: dict[str, str] = {}
    # as files end: a sample's reports are written once its last file is read, while the others are still read
    reused = ((sample, previous[path]) for path, sample in items if path in previous)
    for sample, record in itertools.chain(reused, ((samples[record.path], record) for record in fresh)):
        by_sample[sample].append(record)
        _report_problems(record)
        unread[sample] -= 1
        if not unread[sample]:
            record_files[sample] = _write_sample(args.outdir, sample, by_sample[sample], reuse)
    if args.done:
        read = [r for rs in by_sample.values() for r in rs if r.path not in previous]
        done = {"records": [record_files[sample] for sample in sorted(record_files)], "files": len(items),
                "read": len(read), "reused": len(items) - len(read),
                "md5_backend": lanes.backend(),
                "bytes": sum(r.size for rs in by_sample.values() for r in rs),
                "bytes_read": sum(r.size for r in read), "started": started, "finished": time.time()}
        write_bytes_atomic(args.done, (json.dumps(done, indent=1) + "\n").encode())
    return 0


def _write_sample(outdir: str, sample: str, records: list[FileRecord], reuse: RecordReuse) -> str:
    """Write the sample's checksum file and record file (and its reuse entries); return the record file's path."""
    records.sort(key=lambda r: (os.path.basename(r.path), r.path))
    md5_lines = [gnu_line(r.digests["md5"], os.path.basename(r.path)) for r in records if r.ok and "md5" in r.digests]
    write_bytes_atomic(checksums_path(outdir, sample), b"".join(md5_lines))
    record_file = records_path(outdir, sample)
    lines = [record_line(r) for r in records]
    write_bytes_atomic(record_file, "".join(lines).encode("utf-8", "surrogateescape"))
    reuse.remember(sample, records, lines)
    return record_file


def _check_ora_decoder(decoder: str, paths: list[str]) -> None:
    """A named ORA decoder that cannot be run is a usage error before any file is read (not a CORRUPT verdict
    on every ORA file)."""
    if decoder and any(path.lower().endswith(".ora") for path in paths):
        import shlex
        import shutil

        program = shlex.split(decoder)[0]
        if shutil.which(program) is None:
            raise SettingsError(f"ora_decoder: {program}: no such program (give the path to Illumina's orad, or "
                                "leave ora_decoder out to hash ORA files without checking them)")


def _report_problems(record: FileRecord) -> None:
    if record.error:
        say(f"{record.path}: {record.error}")
    elif record.fastq_error:
        say(f"{record.path}: {record.fastq_verdict}: {record.fastq_error}")

