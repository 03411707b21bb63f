"""``seqfixity aggregate``: one table and one summary over the records of many samples."""

from __future__ import annotations

import argparse
import json
import os

from seqfixity.commands.common import UsageError, add_log_option, add_settings_options, say, settings_from_args
from seqfixity.errors import InputError
from seqfixity.examine.outputs import remove_stale
from seqfixity.reports.ending import outcome_block, report_block, unmatched_line
from seqfixity.settings import NAMING_MODES, SAMPLE_ID_RULES, VALIDATE_LEVELS, Settings

SETTINGS_FLAGS = ("config", "etag_preset", "part_size", "threshold", "digests", "validate")

EXAMPLES = """\
examples:
  seqfixity aggregate results/records/*.jsonl --outdir results --config config/config.yaml
      results/report.html (one page for people), seqfixity.tsv, .json, .xlsx (one row per file),
      seqfixity_mqc.tsv (MultiQC), summary.json; the reports show the settings of config.yaml
  seqfixity aggregate --batches results/.seqfixity/batches/*.json --outdir results --naming strict
      the records listed by `seqfixity digest --done` files, with their timing in summary.json
      (the workflow adds --prune: samples no longer among its batches lose their checksums and records)
  seqfixity aggregate --check results/summary.json
      print the outcome, the first failures and where report.html is; exit non-zero unless SUCCEEDED

settings:
  Give aggregate the settings (or --config) the digest jobs were given: the reports show them as the
  settings that shaped the digests. Without any, the reports say they were not given.

exit status:
  0    the reports were written (even when files failed: see summary.json), or --check found SUCCEEDED
  4, 16, ...  with --check: the verdict bits of the failed files (4 missing, 16 unreadable or invalid)
  128  usage error, or a report that cannot be written
  130, 143  stopped by SIGINT (Ctrl-C) or SIGTERM (kill, scancel), within one chunk of a read; nothing
            partial is written (not a bitmask)
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``aggregate`` subcommand."""
    parser = subparsers.add_parser(
        "aggregate",
        help="aggregate digest records into report.html, TSV/JSON/XLSX tables, summary.json and a MultiQC table",
        description="Read the JSON-lines records of `seqfixity digest` and write, atomically, one row per "
                    "file (sorted, no time stamps), summary.json (per-sample verdicts, clusters and the read "
                    "counts of R1, R2, I1, I2, which must agree per lane; files a sample sheet names that are not "
                    "there; totals, throughput, outcome SUCCEEDED / PARTIALLY_SUCCEEDED / FAILED) and report.html "
                    "(one self-contained page: outcome, failed files first, samples, plots, settings).",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("records", nargs="*", metavar="RECORDS.jsonl", help="record files of seqfixity digest")
    parser.add_argument("--batches", nargs="+", default=[], metavar="DONE.json",
                        help="`seqfixity digest --done` files: their records, and timing for summary.json")
    parser.add_argument("--outdir", metavar="DIR", help="where to write the reports")
    parser.add_argument("--naming", choices=NAMING_MODES, default="warn",
                        help="warn: list naming findings (default); strict: they fail the file; off: ignore")
    parser.add_argument("--sample-id", choices=SAMPLE_ID_RULES, default="illumina",
                        help="the rule the samples were named by (as for digest): under illumina and sheet, names "
                             "that look like Illumina's but break its convention get a note in summary.json")
    parser.add_argument("--samples", action="append", default=[], metavar="SHEET",
                        help="sample sheet (repeatable): with an Illumina SampleSheet (v1, v2) or fastq_list.csv, "
                             "a sample, lane or read it names with no file is MISSING and a FASTQ no row explains "
                             "is EXTRA")
    parser.add_argument("--unmatched-count", type=int, default=0, metavar="N",
                        help="how many files under the inputs no pattern matched (summary.json's unmatched_files)")
    parser.add_argument("--unmatched-file", action="append", default=[], metavar="FILE",
                        help="one of the first of those files (repeatable), for summary.json and the end-of-run "
                             "message")
    parser.add_argument("--path-style", choices=("full", "name"), default="full",
                        help="path column: the path as given (default) or the base name only")
    parser.add_argument("--since", type=float, metavar="EPOCH",
                        help="count in summary.json's throughput only the --batches that started at or after this "
                             "time (seconds since the epoch; the workflow passes the time it started)")
    parser.add_argument("--prune", action="store_true",
                        help="remove DIR's checksums, records and reuse cache of samples not in the --batches "
                             "(gone from the inputs, or renamed): what the workflow does after each run")
    parser.add_argument("--check", metavar="REPORT.json",
                        help="only read this summary.json (or a check/verify --report), print its outcome, the "
                             "first failures and where report.html is, and exit with its exit code (0 only when "
                             "SUCCEEDED)")
    parser.add_argument("--status", action="store_true",
                        help="with --check: print nothing, only the exit status (as md5sum --status); a summary "
                             "that cannot be read is still reported")
    parser.add_argument("--validate", choices=VALIDATE_LEVELS, default=None,
                        help="the validation level the digest jobs used (shown in the reports)")
    add_settings_options(parser)
    add_log_option(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Write the reports, or check a summary."""
    if args.check:
        summary = _read_json(args.check, "the summary", "run the aggregate step first")
        if not isinstance(summary, dict) or not isinstance(summary.get("line"), str) \
                or not isinstance(summary.get("exit_code"), int):
            raise InputError(args.check, "not a summary.json or a check/verify --report (no 'line' and "
                                         "'exit_code'); give the summary.json that aggregate wrote")
        if args.status:
            return summary["exit_code"]
        if isinstance(summary.get("samples"), dict):  # aggregate's summary.json
            for line in outcome_block(summary, os.path.dirname(args.check)):
                say(line)
            return summary["exit_code"]
        for line in report_block(summary, args.check, shown=20):  # a check or verify --report
            say(line)
        return summary["exit_code"]
    from seqfixity.reports.run_settings import settings_entry
    from seqfixity.reports.tables import file_rows, load_records, summarise, write_reports  # xlsxwriter, pygal

    if not args.outdir or not (args.records or args.batches):
        raise UsageError("aggregate needs --outdir and record files (or --batches)")
    if args.prune and args.records:
        raise UsageError("--prune needs --batches (all of a run's batches) and no other record files")
    batches = []
    for path in args.batches:
        batch = _read_json(path, "the batch file", "rerun its digest job, e.g. snakemake --forcerun digest")
        if not isinstance(batch, dict) or not isinstance(batch.get("records"), list):
            raise InputError(path, "not a `seqfixity digest --done` file (no 'records' list)")
        batches.append(batch)
    from seqfixity.inputs.sheets import read_sheets
    from seqfixity.reports.delivery import check_delivery

    sheets = read_sheets(args.samples)  # a sheet that cannot be used stops before any record is read
    paths = list(args.records) + [p for batch in batches for p in batch["records"]]
    records = load_records(paths)
    findings = check_delivery(records, sheets, args.sample_id)
    rows = file_rows(records, naming=args.naming, path_style=args.path_style, findings=findings)
    unmatched = {"count": max(args.unmatched_count, len(args.unmatched_file)), "first": args.unmatched_file}
    summary = summarise(rows, batches, args.since, findings, unmatched)
    summary["settings"] = settings_entry(_digest_settings(args), args.naming)
    write_reports(rows, summary, args.outdir)
    if args.prune:
        removed = remove_stale(args.outdir, paths)
        if removed:
            shown = ", ".join(removed[:5]) + (f" and {len(removed) - 5} more" if len(removed) > 5 else "")
            say(f"removed the per-sample reports of {len(removed)} samples no longer among the inputs: {shown}")
    for note in summary["notes"]:
        say(f"note: {note}")
    for kind in summary["naming"]["findings"]:
        say(f"naming: {kind['files']} files with {kind['kind']}, e.g. {', '.join(kind['examples'][:3])} "
            f"({summary['naming']['counted']})")
    if unmatched["count"]:
        say(unmatched_line(unmatched))
    say(f"{summary['line']}; reports in {args.outdir}")
    return 0


def _digest_settings(args: argparse.Namespace) -> Settings | None:
    """The settings the digest jobs were given, from --config and the settings flags; None when none was given."""
    if all(getattr(args, name) is None for name in SETTINGS_FLAGS):
        return None
    return settings_from_args(args).with_overrides(validate=args.validate)


def _read_json(path: str, what: str, advice: str) -> object:
    """Return the JSON in ``path``; raise :class:`InputError` (one line, with ``advice``) when it cannot."""
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except OSError as err:
        raise InputError(path, f"cannot read {what}: {err.strerror} ({advice})") from None
    except ValueError as err:
        raise InputError(path, f"cannot read {what}: not JSON ({err})") from None
