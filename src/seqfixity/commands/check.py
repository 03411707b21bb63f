"""``seqfixity check``: verify files against manifests of any common shape, one verdict per file."""

from __future__ import annotations

import argparse
import io
import sys
from collections import Counter
from collections.abc import Callable

from seqfixity.commands.common import (
    STOPPED_HELP,
    add_settings_options,
    exit_codes_help,
    say,
    settings_from_args,
    stdout_errors,
)
from seqfixity.commands.remote_args import add_remote_options, is_remote, list_or_say, remote_options
from seqfixity.engine.etag import MAX_GUESS_CANDIDATES
from seqfixity.manifests.cache import DigestCache, default_cache_path
from seqfixity.manifests.check import MATCH_MODES, CheckOptions, Place, check_manifests
from seqfixity.manifests.read import INPUT_FORMATS, Manifest, read_manifest
from seqfixity.progress import bars_lifted
from seqfixity.reports.results import BatchResult, FileResult
from seqfixity.settings import Settings
from seqfixity.stopping import Stopped
from seqfixity.verdict import ALL_FAILURE_VERDICTS, USAGE_ERROR_EXIT, Verdict, parse_verdicts

DESCRIPTION = """\
Check files against checksum manifests, like `md5sum -c`, but with one verdict
per file and nothing stopping early. Manifest formats (auto-detected):
GNU md5sum/sha*sum lines (escaped names, CRLF, upper-case hex, '*'), BSD tags
(md5sum --tag), sidecars (x.fastq.gz.md5 beside x.fastq.gz), hashdeep CSV,
BagIt manifest-ALG.txt, rclone md5sum output, ENA/SRA file reports
(fastq_ftp + fastq_md5), and seqfixity's own JSONL and TSV.
"""

EPILOG = """\
verdicts:
  OK              every digest the manifest gives matches
  MISMATCH        content differs
  SIZE_MISMATCH   size differs from the manifest's (hashdeep, JSONL, TSV, ENA)
  MISSING         listed, not found
  MOVED           listed, not found, but its content is under an unlisted name
                  (searched among same-size files when the manifest gives sizes,
                  among all unlisted files under the root with --completeness)
  EXTRA           under the root but not listed (only with --completeness)
  UNREADABLE      not a regular file, read error, or changed while read
  UNVERIFIABLE    nothing comparable (e.g. a non-MD5 ETag, sha512 only)
  MANIFEST_ERROR  a malformed line (named FILE:LINE) or a refused path; always
                  a failure, as with md5sum -c --strict (see --fail-on)
Each failure carries a hint. Lines come out as files are judged, in manifest
order (EXTRA files last); the last line is the batch outcome: SUCCEEDED (nothing
failed), PARTIALLY_SUCCEEDED, or FAILED (something failed and nothing was OK).

quick mode: --quick reuses digests cached by an earlier run when device,
inode, size and mtime_ns all still match; --quick --rehash xxh128 re-reads
content with xxh3 only (about 15 GB/s) and compares it with the cached read.
Every full run fills the cache (--cache FILE; default
$XDG_CACHE_HOME/seqfixity/quick-cache.json). Files changed in the last 2 s
are not cached.

ETag layout: a manifest's multipart ETag (HEX-N) is recomputed at the part
size the manifest gives (JSONL/TSV etag_part_size) or --part-size (unless
it cuts the file into another number of parts than N), else at every likely
part size HEX-N admits (the --etag-preset layout first), all in the same
read. No candidate reproducing it is UNVERIFIABLE, not MISMATCH (the
part size may be what differs; `seqfixity etag guess FILE ETAG` searches
further); an ETag S3 cannot produce for the file's size is UNVERIFIABLE.

examples:
  seqfixity check MD5.txt
  seqfixity check --completeness --report check.json run42/MD5.txt
  seqfixity check --root /data/run42 --strip-prefix /seqcenter/out/ md5sums.txt
  seqfixity check --match basename filereport_read_run_PRJEB1234.tsv
  seqfixity check --fail-on mismatch,size_mismatch,missing,unreadable bag/manifest-md5.txt
  seqfixity check --quick --jobs 2 MD5.txt
  seqfixity check MD5.txt --root s3://my-bucket/run42 --completeness
      the sequencer's manifest against the bucket, read in place (objects not listed are EXTRA)
  seqfixity check MD5.txt --root ica://0a1b2c3d-.../fastq --report check.json

""" + exit_codes_help(meanings={4: "missing (listed, not found; also MOVED)",
                                 64: "manifest error (a malformed line, a refused path, a manifest that cannot "
                                     "be read, a remote --root that cannot be listed)"}) + STOPPED_HELP


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``check`` subcommand."""
    parser = subparsers.add_parser(
        "check", help="verify files against manifests (md5sum -c, hashdeep, BagIt, ENA, ...) with verdicts",
        description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("manifests", nargs="+", metavar="MANIFEST", help="checksum files ('-' reads stdin)")
    parser.add_argument("--manifest-format", choices=INPUT_FORMATS, default="auto",
                        help="format of the manifests (default: auto-detect each)")
    where = parser.add_argument_group("path matching")
    where.add_argument("--root", metavar="DIR",
                       help="resolve manifest paths under DIR (default: each manifest's own folder); or "
                            "s3://BUCKET/PREFIX or ica://PROJECT_ID/PATH: the objects there, read in place "
                            "(sizes from the listing first: a size that differs is SIZE_MISMATCH unread)")
    where.add_argument("--strip-prefix", default="", metavar="PREFIX",
                       help="remove PREFIX from the start of manifest paths, with the '/' after it "
                            "(e.g. /old/server/run42)")
    where.add_argument("--match", choices=MATCH_MODES, default=None,
                       help="path: the manifest path under the root (default); basename: find the file by name "
                            "anywhere under the root (default for ENA/SRA reports)")
    where.add_argument("--allow-outside-root", action="store_true",
                       help="accept absolute paths and paths climbing out of the root with '..' "
                            "(the test is on the name: symbolic links under the root are followed, "
                            "as md5sum follows them); seqfixity's own JSONL and TSV need no flag: their "
                            "paths are where the files were read")
    judge = parser.add_argument_group("what to report")
    judge.add_argument("--completeness", action="store_true",
                       help="also report files under the root that no manifest lists (EXTRA)")
    judge.add_argument("--no-moved", dest="find_moved", action="store_false",
                       help="do not look for missing files' content under unlisted names (MOVED)")
    judge.add_argument("--fail-on", type=_verdict_set, default=None, metavar="LIST",
                       help="verdicts that fail the run, e.g. mismatch,size_mismatch,missing (default: all)")
    judge.add_argument("--ignore-missing", action="store_true",
                       help="missing files do not fail the run, unless no file was verified OK "
                            "(coreutils: 'no file was verified')")
    judge.add_argument("--strict", action="store_true",
                       help="accepted for md5sum compatibility; check is always strict: a malformed "
                            "line is a MANIFEST_ERROR and fails the run (--fail-on without manifest_error "
                            "tolerates such lines, as md5sum -c does without --strict)")
    judge.add_argument("-q", "--quiet", action="store_true", help="do not print OK lines (nor the progress bar)")
    judge.add_argument("--status", action="store_true",
                       help="print no verdicts and no outcome; the exit status tells (a manifest that cannot "
                            "be read, a malformed line and 'no file was verified' still go to stderr)")
    judge.add_argument("--report", metavar="FILE", help="write a JSON report of every file (atomically)")
    judge.add_argument("--max-candidates", type=int, default=MAX_GUESS_CANDIDATES, metavar="N",
                       help="part sizes tried in the same read for a multipart ETag whose part size the manifest "
                            f"does not give (default: {MAX_GUESS_CANDIDATES}, most likely first)")
    speed = parser.add_argument_group("speed")
    speed.add_argument("-j", "--jobs", type=int, default=2, help="files read at once (default: 2)")
    speed.add_argument("--quick", action="store_true",
                       help="reuse cached digests when device, inode, size and mtime are unchanged")
    speed.add_argument("--rehash", choices=("xxh128",), default=None,
                       help="with --quick: re-read cached files with this fast hash only and compare")
    speed.add_argument("--cache", metavar="FILE", help=f"quick-mode cache file (default: {default_cache_path()})")
    speed.add_argument("--no-cache", action="store_true", help="neither read nor update the cache")
    add_settings_options(parser, digests=False)
    add_remote_options(parser)
    parser.set_defaults(run=run)


def _verdict_set(text: str) -> frozenset[Verdict]:
    try:
        return parse_verdicts(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def remote_place(args: argparse.Namespace):
    """The remote --root as the checker's place, or None (said in one line) when it cannot be listed."""
    from seqfixity.remote.check import RemotePlace

    options = remote_options(args, args.jobs)
    listing = list_or_say(args.root, options)
    return None if listing is None else RemotePlace(listing, options)


def run(args: argparse.Namespace) -> int:
    """Read the manifests, check every file, print verdicts and the outcome; return the exit bitmask."""
    if args.rehash and not args.quick:
        say("--rehash needs --quick")
        return USAGE_ERROR_EXIT
    if args.quick and args.no_cache:
        say("--quick needs the cache; drop --no-cache")
        return USAGE_ERROR_EXIT
    if args.manifests.count("-") > 1:
        say("-: standard input can be read only once")
        return USAGE_ERROR_EXIT
    place = None
    if args.root and is_remote(args.root):
        if args.quick:
            say("--quick reuses digests of local files (by inode and mtime); drop it for a remote --root")
            return USAGE_ERROR_EXIT
        place = remote_place(args)
        if place is None:
            return Verdict.MANIFEST_ERROR.bit
    settings = settings_from_args(args)
    cache_path = args.cache or default_cache_path()
    cache = None if args.no_cache or place else DigestCache(cache_path)
    manifests: list[Manifest] = []
    reached: list[FileResult] = []
    out = None if args.status else io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", errors="surrogateescape",
                                                    line_buffering=True)

    def show(result: FileResult) -> None:
        reached.append(result)
        if out is not None and not (args.quiet and result.verdict is Verdict.OK):
            with bars_lifted(), stdout_errors():
                out.write(result.line())

    try:
        batch = _check(args, settings, cache, cache_path, place, manifests, show)
    except Stopped as stopped:  # Ctrl-C or SIGTERM: the verdicts reached, and the files not yet judged
        batch = BatchResult(list(reached), ALL_FAILURE_VERDICTS if args.fail_on is None else args.fail_on)
        batch.stop(stopped, not_judged(manifests, reached))
    if place is not None:
        place.add_links(batch.results)
    try:
        _finish(args, batch, manifests, cache, cache_path, out)
    except Stopped as stopped:  # stopped while the report was written: written again, STOPPED (a next signal exits)
        batch.stop(stopped, batch.not_judged)
        _finish(args, batch, manifests, cache, cache_path, out)
    if out is not None:
        out.detach()
    return batch.exit_code


def _finish(args: argparse.Namespace, batch: BatchResult, manifests: list[Manifest], cache: DigestCache | None,
            cache_path: str, out: io.TextIOWrapper | None) -> None:
    """Save the quick-mode cache (files read in full only, also when stopped), write the report, print the outcome."""
    if cache is not None:
        try:
            cache.save()
        except OSError as err:
            say(f"{cache_path}: cannot save the quick-mode cache: {err.strerror}")
    if args.ignore_missing and Verdict.MISSING in batch.fail_on and batch.results and batch.stopped is None:
        say(f"{', '.join(args.manifests)}: no file was verified")
    if args.report:
        batch.write_report(args.report, command="check", manifests=args.manifests,
                           manifest_formats=[m.format for m in manifests], root=args.root)
    if out is not None:
        with stdout_errors():
            out.write(batch.summary_line() + "\n")
            out.flush()


def _check(args: argparse.Namespace, settings: Settings, cache: DigestCache | None, cache_path: str,
           place: Place | None, manifests: list[Manifest], show: Callable[[FileResult], None]) -> BatchResult:
    """Read the manifests (into ``manifests``, as they are read) and check every file, calling ``show`` per result."""
    for source in args.manifests:
        data = sys.stdin.buffer.read() if source == "-" else None
        manifests.append(read_manifest(source, args.manifest_format, data))
    for manifest in manifests:
        for problem in manifest.problems:
            say(f"{problem.where(manifest.source)}: {problem.message}")
    options = CheckOptions(
        root=args.root, strip_prefix=args.strip_prefix, match=args.match,
        allow_outside_root=args.allow_outside_root, completeness=args.completeness,
        ignore_missing=args.ignore_missing, find_moved=args.find_moved, quick=args.quick, rehash=args.rehash,
        cache=cache, jobs=max(1, args.jobs), settings=settings, progress=not (args.quiet or args.status),
        max_candidates=max(1, args.max_candidates), place=place,
        exclude=frozenset(p for p in (args.report, None if args.no_cache else str(cache_path)) if p),
        **({"fail_on": args.fail_on} if args.fail_on is not None else {}),
    )
    return check_manifests(manifests, options, on_result=show)


def not_judged(manifests: list[Manifest], reached: list[FileResult]) -> list[dict[str, str]]:
    """The manifest rows (entries and malformed lines, as ``{"path", "source"}``) that no result in ``reached``
    stands for, in manifest order."""
    seen = Counter((result.source, result.path) for result in reached)
    left = []
    for manifest in manifests:
        rows = [(p.line, p.where(manifest.source), p.where(manifest.source)) for p in manifest.problems]
        rows += [(e.line, f"{manifest.source}:{e.line}", e.display) for e in manifest.entries]
        for _, source, path in sorted(rows, key=lambda row: row[0]):
            if seen[(source, path)]:
                seen[(source, path)] -= 1
            else:
                left.append({"path": path, "source": source})
    return left
