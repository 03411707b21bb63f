"""``seqfixity hash``: every digest of every file, in one read each."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator

from seqfixity.atomic import write_bytes_atomic
from seqfixity.commands.common import add_settings_options, expand_paths, say, settings_from_args, stdout_errors
from seqfixity.commands.remote_args import (
    REMOTE_HELP,
    add_remote_options,
    hash_listings,
    is_remote,
    list_or_say,
    remote_options,
)
from seqfixity.engine.digest import hash_files
from seqfixity.inputs.stdin import STDIN, hash_stdin
from seqfixity.manifests.write import MD5_FORMATS, OUTPUT_FORMATS, format_records
from seqfixity.progress import byte_progress
from seqfixity.record import FileRecord
from seqfixity.settings import Settings
from seqfixity.stopping import Stopped
from seqfixity.verdict import USAGE_ERROR_EXIT, Verdict

_ERROR_BITS = {"missing": Verdict.MISSING.bit, "layout": USAGE_ERROR_EXIT}

EXAMPLES = """\
examples:
  seqfixity hash sample_R1.fastq.gz sample_R2.fastq.gz > MD5.txt
      md5sum-compatible lines; check later with: md5sum -c MD5.txt
  seqfixity hash -r run42/ --format tsv -o run42.tsv
      one row per file: size, md5, etag (with part size and count), xxh128
  seqfixity hash big.bam --etag-preset aws-cli --format jsonl
      the ETag the AWS CLI would give this file in S3
  seqfixity hash big.bam --part-size 16MiB --threshold 16MiB --digests md5,etag,sha256
  seqfixity hash s3://my-bucket/run42 > run42.md5
      every object below run42/, read in place; names relative to run42/, so after a download
      `cd run42 && md5sum -c ../run42.md5` checks the copy
  seqfixity hash ica://0a1b2c3d-.../fastq --format jsonl --api-key-file ~/.ica/api-key
  zcat run.fastq.gz | seqfixity hash -
      standard input, as md5sum - reads it ('-' in the output); its multipart ETag uses the
      part size any object gets (a stream whose uploader would grow its parts is refused)
  seqfixity check MD5.txt
      what md5sum -c does (hash -c points there): one verdict per file
"""

EXIT_CODES = """\
exit status (a bitmask; add the numbers; the other files are still hashed):
  0    every file was hashed
  1    a remote object whose bytes, read twice, do not reproduce its own ETag or checksum (no digest given)
  4    no such file (or remote object, or nothing below a remote location)
  16   unreadable (a folder without --recursive, not a regular file, read error, changed while read; a remote
       object refused (403), changed while read, or still failing after --retries)
  32   a remote object's digests are given, but its own metadata cannot confirm them (an SSE-KMS ETag, an ICA
       multipart ETag that no likely part size reproduces): said on stderr
  64   a remote location that cannot be listed, or an object whose name is absolute or holds '..'
  128  usage error (bad arguments or settings, a part layout S3 would refuse) or an output that cannot be written
stopped (Ctrl-C, kill): exit 130 after SIGINT, 143 after SIGTERM, within a second, with
STOPPED: N of M judged on stderr; nothing is written (-o keeps its old content)
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``hash`` subcommand."""
    parser = subparsers.add_parser(
        "hash",
        help="compute MD5, multipart ETag, xxh3-128 (and more) in one read per file",
        description="Read each file once and print its digests. The default output is md5sum's "
                    "format, so `md5sum -c` can check it; ETags follow --etag-preset (default: ica).",
        epilog=EXAMPLES + "\n" + REMOTE_HELP + "\n" + EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="+", metavar="PATH",
                        help="files, or folders with --recursive; s3://BUCKET/PREFIX, ica://PROJECT_ID/PATH; '-' "
                             "reads standard input, as md5sum - does (a file named '-' is ./-)")
    parser.add_argument("-c", "--check", nargs="?", metavar="MANIFEST", action=_PointToCheck,
                        help="not here: `seqfixity check MANIFEST` checks files against a manifest "
                             "(md5sum -c's counterpart, with one verdict per file)")
    parser.add_argument("-r", "--recursive", action="store_true", help="hash every file below each folder")
    parser.add_argument("-j", "--jobs", type=int, default=2, help="files hashed at once (default: 2)")
    parser.add_argument("-f", "--format", choices=OUTPUT_FORMATS, default="gnu",
                        help="gnu: md5sum lines (default); bsd: md5sum --tag lines; "
                             "jsonl: one JSON object per file with every digest; tsv: a table; "
                             "hashdeep: hashdeep CSV with sizes; bagit: a BagIt manifest-md5.txt body")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="write here (atomically: a temporary file, then a rename) instead of stdout")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_settings_options(parser)
    add_remote_options(parser)
    parser.set_defaults(run=run)


class _PointToCheck(argparse.Action):
    """``hash -c FILE``, as ``md5sum -c FILE`` would be typed: a usage error that names ``seqfixity check``."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:  # type: ignore[override]
        parser.error(f"{option_string} is not a hash option: run `seqfixity check {values or 'MANIFEST'}` "
                     "to check files against a manifest")


def run(args: argparse.Namespace) -> int:
    """Hash the paths; print records; report each failure on one line; return the exit bitmask."""
    settings = settings_from_args(args)
    if args.format in MD5_FORMATS and "md5" not in settings.digests:
        settings = settings.with_overrides(digests=("md5", *settings.digests))
    paths = list(expand_paths([p for p in args.paths if not is_remote(p)], args.recursive))
    if paths.count(STDIN) > 1:
        say("-: standard input can be read only once")
        return USAGE_ERROR_EXIT
    listings, code = list_remote(args)
    total = sum(_size_or_zero(p) for p in paths if p != STDIN)
    total += sum(f.size for listing in listings for f in listing.files)
    records = []
    judged = 0
    try:
        with byte_progress(total, enabled=not args.quiet) as advance:
            for record in _hash_in_order(paths, settings, max(1, args.jobs), advance):
                judged += 1
                if record.ok:
                    records.append(record)
                else:
                    say(f"{record.path}: {record.error}")
                    code |= _ERROR_BITS.get(record.error_kind, Verdict.UNREADABLE.bit)
            if listings:
                outcomes, remote_code = hash_listings(listings, settings, remote_options(args, args.jobs), advance)
                records += [outcome.record for outcome in outcomes]
                judged += len(outcomes)
                code |= remote_code
        output = format_records(records, args.format)
        if args.output:
            write_bytes_atomic(args.output, output)
        else:
            with stdout_errors():
                sys.stdout.buffer.write(output)
                sys.stdout.flush()
    except Stopped as stopped:  # Ctrl-C or SIGTERM: no partial output, a line that says how far it got
        where = f"nothing written to {args.output}" if args.output else "nothing printed"
        everything = len(paths) + sum(len(listing.files) for listing in listings)
        say(f"STOPPED: {judged} of {everything} judged ({stopped.signal_name}; {where})")
        return stopped.exit_status
    return code


def list_remote(args: argparse.Namespace) -> tuple[list, int]:
    """List the s3:// and ica:// locations among the paths; return the listings and the exit bits so far."""
    listings, code = [], 0
    for location in (p for p in args.paths if is_remote(p)):
        listing = list_or_say(location, remote_options(args, args.jobs))
        if listing is None:
            code |= Verdict.MANIFEST_ERROR.bit
        elif not listing.files:
            code |= Verdict.MISSING.bit
        else:
            listings.append(listing)
    return listings, code


def _hash_in_order(paths: list[str], settings: Settings, jobs: int,
                   advance: Callable[[int], None] | None) -> Iterator[FileRecord]:
    """One record per path, in order; ``-`` is standard input, read where it stands among the files."""
    before, stdin, after = (paths[:paths.index(STDIN)], True, paths[paths.index(STDIN) + 1:]) if STDIN in paths \
        else (paths, False, [])
    yield from hash_files(before, settings, jobs=jobs, on_bytes=advance)
    if stdin:
        yield hash_stdin(settings, on_bytes=advance)
        yield from hash_files(after, settings, jobs=jobs, on_bytes=advance)


def _size_or_zero(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0
