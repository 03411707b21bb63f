"""``seqfixity verify``: local files against S3 or ICA, without downloading anything."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Iterable
from urllib.parse import urlparse

from seqfixity.commands.common import STOPPED_HELP, add_log_option, exit_codes_help, say, stdout_errors
from seqfixity.engine.etag import MAX_GUESS_CANDIDATES
from seqfixity.errors import InputError
from seqfixity.progress import byte_progress
from seqfixity.remote import RemoteError, RemoteObject
from seqfixity.remote.ica import API_KEY_ENV, DEFAULT_SERVER, EXPORT_SUFFIXES
from seqfixity.remote.verify import MATCH_MODES, VerifyOptions, load_records, local_tree, verify
from seqfixity.reports.results import BatchResult
from seqfixity.stopping import Stopped
from seqfixity.verdict import USAGE_ERROR_EXIT, Verdict, parse_verdicts

EXAMPLES = f"""\
sources (--against):
  s3://BUCKET/PREFIX        list the prefix (a folder) with boto3; credentials, profile and region
                            from the standard AWS environment (AWS_PROFILE, AWS_REGION, ...)
  ica://PROJECT_ID[/PATH]   the ICA API at --ica-server; the key from ${API_KEY_ENV} or --api-key-file
  ica://PROJECT_ID[/PATH] --ica-data-id ID [--ica-data-id ID ...]
                            only these ICA files (GET .../data/{{ID}} each), matched to local files
                            by their path like a listing; other local files are not judged
  FILE.json|.csv|.tsv|.xlsx an ICA project data export, or `icav2 projectdata list/get -o json` output
  [s3://DEST/.../]manifest.json
                            an S3 Inventory report (CSV, gzip or plain; Parquet and ORC with pyarrow):
                            millions of objects without list requests; keys are whole (give the folder
                            with --strip-prefix); data files must have the MD5 the manifest gives

examples:
  seqfixity verify run42/ --against s3://my-bucket/run42 --report verify.json
  seqfixity verify run42/ --against s3://bucket/run42 --endpoint-url http://127.0.0.1:9000
  seqfixity verify run42/ --against ica://0a1b2c3d-.../run42 --api-key-file ~/.ica/api-key
      (or: read -rs ICA_API_KEY; export ICA_API_KEY   keeps the key out of shell history)
  seqfixity verify run42/ --against ica://0a1b2c3d-.../run42 --ica-data-id fil.123 --ica-data-id fil.456
  seqfixity verify run42/ --against project_data.csv --strip-prefix /run42 --fail-on mismatch,size_mismatch
  seqfixity verify run42/ --against s3://inventory-bucket/inv/my-bucket/daily/2026-11-30T01-00Z/manifest.json \
      --strip-prefix run42

How: sizes first; then ONE read per local file computes its MD5, the multipart ETag
(at the exact part size S3 reports, else at every likely part size) and each additional
checksum the object has (CRC64NVME, CRC32C, CRC32, SHA-1, SHA-256; full-object or composite).
Remote names are taken relative to LOCAL_ROOT; a name with '..' is refused, never followed.

verdicts: OK, MISMATCH, SIZE_MISMATCH, MISSING_LOCAL (remote only), MISSING_REMOTE (local only),
UNVERIFIABLE (e.g. the ETag of an SSE-KMS or SSE-C object, unless another checksum decides, or ICA
status not AVAILABLE), UNREADABLE, MANIFEST_ERROR (e.g. an unknown --ica-data-id).
SSE-C: S3 refuses HeadObject without the customer key; such an object is judged by its listed
size (SIZE_MISMATCH if it differs), else UNVERIFIABLE.
"""


EXIT_CODES = exit_codes_help((1, 2, 4, 16, 32, 64, 128), {
    4: "missing on one side (MISSING_LOCAL, MISSING_REMOTE), or nothing to verify at all",
    64: "remote listing error (an entry that cannot be parsed, an unknown --ica-data-id, a remote that cannot "
        "be listed)",
})


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``verify`` subcommand."""
    parser = subparsers.add_parser(
        "verify",
        help="verify local files against S3 or ICA (ETags, sizes, checksums) without downloading",
        description="Compare every file below LOCAL_ROOT with what S3 or ICA holds, and print one verdict "
                    "per file and the outcome (SUCCEEDED, PARTIALLY_SUCCEEDED, FAILED).",
        epilog=EXAMPLES + "\n" + EXIT_CODES + STOPPED_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("local_root", metavar="LOCAL_ROOT", help="the folder holding the local copies")
    parser.add_argument("--against", required=True, metavar="SOURCE", help="s3://..., ica://... or an export file")
    parser.add_argument("--strip-prefix", default=None, metavar="PREFIX",
                        help="remove this folder from remote names before matching (default: the s3:// or "
                             "ica:// path; objects outside it are ignored)")
    parser.add_argument("--match", choices=MATCH_MODES, default="path",
                        help="match remote to local by relative path (default) or by base name")
    parser.add_argument("--endpoint-url", metavar="URL", help="S3 endpoint (MinIO, Ceph, a loopback test server)")
    parser.add_argument("--ica-server", default=os.environ.get("ICA_SERVER", DEFAULT_SERVER), metavar="URL",
                        help=f"ICA server for ica:// sources (default: $ICA_SERVER or {DEFAULT_SERVER})")
    parser.add_argument("--api-key-file", metavar="FILE",
                        help=f"read the ICA API key from this file (default: ${API_KEY_ENV}); there is no "
                             "option for the key itself, so it never lands in shell history")
    parser.add_argument("--ica-data-id", action="append", default=[], metavar="ID",
                        help="with ica://PROJECT_ID: verify only this data item (e.g. fil.123), fetched by id "
                             "and matched to a local file by its path; local files not named are not judged; "
                             "an unknown id is one MANIFEST_ERROR and the other ids are still verified "
                             "(repeatable)")
    parser.add_argument("--retries", type=int, default=5, metavar="N",
                        help="ICA API: retries after HTTP 429, 5xx or a dropped connection (default: 5)")
    parser.add_argument("--retry-backoff", type=float, default=1.0, metavar="SECONDS",
                        help="ICA API: first wait between retries, doubled each time up to 30 s; a "
                             "Retry-After header wins (default: 1)")
    parser.add_argument("--report", metavar="FILE", help="write the JSON report here (atomically)")
    parser.add_argument("--fail-on", default="all", metavar="LIST",
                        help="verdicts that count as failures, e.g. mismatch,size_mismatch (default: all)")
    parser.add_argument("--records", action="append", default=[], metavar="PATH",
                        help="digest-stage records (JSON lines from `seqfixity hash --format jsonl` or the "
                             "workflow's records/ folder): a file whose size and mtime still match is judged "
                             "from them without another read, when they settle every check (repeatable)")
    parser.add_argument("--max-candidates", type=int, default=MAX_GUESS_CANDIDATES, metavar="N",
                        help="part sizes tried per file when the remote does not say its part size "
                             f"(default: {MAX_GUESS_CANDIDATES}; each costs about one MD5)")
    parser.add_argument("-j", "--jobs", type=int, default=2, help="files read at once (default: 2)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only failures and the summary")
    add_log_option(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """List the remote, judge every file, print verdicts and the outcome; return the exit bitmask."""
    logging.basicConfig(format="seqfixity: %(message)s", level=logging.WARNING)
    try:
        fail_on = parse_verdicts(args.fail_on)
    except ValueError as err:
        say(f"--fail-on: {err}")
        return USAGE_ERROR_EXIT
    if not args.against.startswith(("s3://", "ica://")) and not args.against.lower().endswith(EXPORT_SUFFIXES) \
            and not args.against.endswith("manifest.json"):
        say(f"{args.against}: unknown source (expected s3://BUCKET/PREFIX, ica://PROJECT_ID[/PATH] or an ICA "
            f"export {', '.join(EXPORT_SUFFIXES)})")
        return USAGE_ERROR_EXIT
    if args.ica_data_id and not args.against.startswith("ica://"):
        say(f"--ica-data-id: needs --against ica://PROJECT_ID, not {args.against}")
        return USAGE_ERROR_EXIT
    if not os.path.isdir(args.local_root):
        say(f"{args.local_root}: not a folder")
        return USAGE_ERROR_EXIT
    try:
        return _verify(args, fail_on)
    except Stopped as stopped:  # before any file was judged (listing the remote, reading --records)
        batch = BatchResult(fail_on=fail_on)
        batch.stop(stopped, [])
        return _finish(args, batch, strip_prefix=args.strip_prefix or "", match=args.match)


def _verify(args: argparse.Namespace, fail_on: frozenset[Verdict]) -> int:
    """List the remote, judge the files (STOPPED when the user stops it while judging); report; the exit status."""
    try:
        objects, default_prefix = _remote_objects(args)
    except RemoteError as err:
        say(str(err))
        return Verdict.MANIFEST_ERROR.bit
    try:
        records = load_records(args.records)
    except InputError as err:
        say(str(err))
        return Verdict.MANIFEST_ERROR.bit
    options = VerifyOptions(
        strip_prefix=default_prefix if args.strip_prefix is None else args.strip_prefix,
        match=args.match, jobs=max(1, args.jobs), max_candidates=max(1, args.max_candidates), fail_on=fail_on,
        exclude=frozenset([args.report] if args.report else []), records=records,
        remote_only=bool(args.ica_data_id),
    )
    for unnamed in (o for o in objects if not o.name and o.error):
        say(f"{unnamed.source}: {unnamed.error}")
    tree = local_tree(args.local_root, options.exclude)  # listed once: for the bar's total and for verify

    def total() -> int:
        return sum(os.path.getsize(path) for path in tree.files.values() if os.path.isfile(path))

    with byte_progress(total, enabled=not args.quiet, description="verifying") as advance:
        batch, context = verify(args.local_root, objects, options, on_bytes=advance, tree=tree)
    if context["ignored_outside_prefix"]:
        say(f"{context['ignored_outside_prefix']} remote object(s) outside {options.strip_prefix!r} ignored "
            "(their paths do not start with it; give the folder they share with --strip-prefix)")
    if not batch.results and batch.stopped is None:
        say(f"{args.local_root}: nothing to verify: no local files and no remote objects (check LOCAL_ROOT "
            "and that --against names the right bucket, prefix, project or export)")
        return Verdict.MISSING.bit
    try:
        return _finish(args, batch, strip_prefix=options.strip_prefix, match=options.match, **context)
    except Stopped as stopped:  # stopped while the report was written: written again, STOPPED (a next signal exits)
        batch.stop(stopped, batch.not_judged)
        return _finish(args, batch, strip_prefix=options.strip_prefix, match=options.match, **context)


def _finish(args: argparse.Namespace, batch: BatchResult, **context: object) -> int:
    """Write the report, print the verdicts and the outcome; return the exit status."""
    if args.report:
        batch.write_report(args.report, command="verify", local_root=args.local_root, against=args.against,
                           **context)
    with stdout_errors():
        batch.print_lines(sys.stdout, quiet=args.quiet)
    return batch.exit_code


def _remote_objects(args: argparse.Namespace) -> tuple[Iterable[RemoteObject], str]:
    """Return the remote's objects (listed now) and the prefix stripped by default."""
    source = args.against
    from seqfixity.remote.inventory import is_inventory, read_inventory

    if is_inventory(source):
        return read_inventory(source, args.endpoint_url), ""
    if source.startswith("s3://"):
        from seqfixity.remote.s3 import list_s3

        return list(list_s3(source, endpoint_url=args.endpoint_url)), ""
    if source.startswith("ica://"):
        from seqfixity.remote.ica import IcaClient, read_api_key

        parsed = urlparse(source)
        if not parsed.netloc:
            raise RemoteError(f"{source}: expected ica://PROJECT_ID[/PATH]")
        path = parsed.path.rstrip("/")
        client = IcaClient(args.ica_server, read_api_key(args.api_key_file), retries=max(0, args.retries),
                           backoff=max(0.0, args.retry_backoff))
        if args.ica_data_id:
            return list(client.get_files(parsed.netloc, args.ica_data_id)), path
        return list(client.list_data(parsed.netloc, f"{path}/" if path else "")), path
    from seqfixity.remote.ica import read_export

    return read_export(source), ""

