"""Aggregate reports over many records: the rows and summary.json, the TSV and JSON tables; the XLSX
workbook (``xlsx``), the MultiQC table (``multiqc``) and report.html (``html``) are written from them.

The tables are deterministic: rows sorted by sample and path, no time stamps
(the XLSX file's zip entries and document properties carry a fixed date), so
two runs over the same files, by Snakemake or by Nextflow, give the same bytes.
Timing and throughput go only into ``summary.json`` and report.html's throughput section.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from seqfixity.atomic import write_bytes_atomic
from seqfixity.fastq.formats import name_format
from seqfixity.fastq.verdicts import FAILED_VERDICTS, NOT_VALIDATED
from seqfixity.inputs.names import naming_summary
from seqfixity.record import FileRecord, read_records
from seqfixity.reports.delivery import DeliveryFindings, read_of
from seqfixity.reports.ending import failure_lines, outcome_head
from seqfixity.reports.failures import SEVERITY
from seqfixity.reports.html import report_html
from seqfixity.reports.multiqc import multiqc_bytes
from seqfixity.reports.xlsx import xlsx_bytes
from seqfixity.verdict import Verdict, exit_code, outcome

OK = "OK"
STATUS_VERDICT = {
    OK: Verdict.OK,
    "INVALID": Verdict.INVALID,
    "PAIR_MISMATCH": Verdict.INVALID,
    "NAMING": Verdict.INVALID,
    "UNREADABLE": Verdict.UNREADABLE,
    "MISSING": Verdict.MISSING,
    "EXTRA": Verdict.EXTRA,
}
STATUS_ORDER = (*SEVERITY, OK)
COLUMNS = ("sample", "file", "path", "size", "md5", "etag", "etag_part_size", "etag_parts", "xxh128", "reads",
           "fastq_verdict", "status", "problem", "naming")


def load_records(paths: Iterable[str]) -> list[FileRecord]:
    """Read records from JSON-lines files written by ``seqfixity digest``."""
    hint = " (rerun its digest job, e.g. snakemake --forcerun digest)"
    return [record for path in paths for record in read_records(path, hint)]


def file_rows(records: Sequence[FileRecord], naming: str = "warn", path_style: str = "full",
              findings: DeliveryFindings | None = None) -> list[dict[str, Any]]:
    """Return one row per record, and per file the delivery should hold, with its ``status`` and ``problem``,
    sorted by sample then path.

    Status is MISSING or UNREADABLE (not read in full, or expected and not there), INVALID (FASTQ verdict),
    PAIR_MISMATCH (a lane's reads disagree on the read count: the file that differs), EXTRA (a FASTQ that
    no sample sheet row explains), NAMING (with ``naming: strict``) or OK. ``findings`` come from
    :func:`seqfixity.reports.delivery.check_delivery`.
    """
    findings = findings or DeliveryFindings()
    mismatched = findings.mismatched
    rows = []
    for record in sorted([*records, *findings.missing], key=lambda r: (r.sample, r.path)):
        naming_found = record.naming if naming != "off" else []
        status, problem = OK, ""
        if record.error:
            status = "MISSING" if record.error_kind == "missing" else "UNREADABLE"
            problem = record.error
        elif record.fastq_verdict in FAILED_VERDICTS:
            status, problem = "INVALID", f"{record.fastq_verdict}: {record.fastq_error}"
        elif record.path in mismatched:
            status, problem = "PAIR_MISMATCH", mismatched[record.path]
        elif record.path in findings.extra:
            status, problem = "EXTRA", findings.extra[record.path]
        elif naming_found and naming == "strict":
            status, problem = "NAMING", "; ".join(naming_found)
        elif record.fastq_verdict == NOT_VALIDATED:
            problem = f"{NOT_VALIDATED}: {record.fastq_error}"
        rows.append({
            "sample": record.sample,
            "file": os.path.basename(record.path),
            "path": record.path if path_style == "full" else os.path.basename(record.path),
            "size": record.size,
            "md5": record.digests.get("md5", ""),
            "etag": record.digests.get("etag", ""),
            "etag_part_size": record.etag_part_size or None,
            "etag_parts": record.etag_parts,
            "xxh128": record.digests.get("xxh128", ""),
            "reads": record.reads,
            "fastq_verdict": record.fastq_verdict,
            "status": status,
            "problem": problem,
            "naming": "; ".join(naming_found),
            **{k: v for k, v in sorted(record.digests.items()) if k not in COLUMNS},
        })
    return rows


def read_kind(file_name: str) -> str:
    """Which read a file holds, for a sample's ``reads_by_read``: R1, R2, I1, I2 from its name; "records" for BAM
    and CRAM; R1 for a FASTQ whose name does not say (a single-read sample)."""
    known = read_of(file_name)
    if known is not None:
        return known[1]
    return "records" if (name_format(file_name) or ("",))[0] == "alignment" else "R1"


def summarise(rows: Sequence[dict[str, Any]], batches: Sequence[dict[str, Any]] = (),
              since: float | None = None, findings: DeliveryFindings | None = None,
              unmatched: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return summary.json's content: per-sample verdicts, totals, bytes, throughput, outcome and exit code.

    A sample's ``reads`` are its clusters (``clusters``, the same number: the reads of its R1 files, or of
    all its files when none is an R1; None when no file of it was counted, as ORA without a decoder), beside
    ``reads_by_read`` (R1, R2, I1, ...) and ``pairs`` (OK, or what disagrees). The throughput counts the
    ``batches`` (``seqfixity digest --done`` files) that started at or after ``since``: a re-run's own jobs,
    not the span back to the first run whose batches it kept.
    ``unmatched`` is :func:`seqfixity.inputs.discover.unmatched_summary` of the files no pattern took.
    """
    findings = findings or DeliveryFindings()
    verdicts = [STATUS_VERDICT[row["status"]] for row in rows]
    samples: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = samples.setdefault(row["sample"], {"verdict": OK, "files": 0, "bytes": 0, "reads": 0, "clusters": 0,
                                                   "reads_by_read": {}, "pairs": OK, "problems": []})
        entry["files"] += 1
        entry["bytes"] += row["size"] or 0
        if row["reads"] is not None:
            kind = read_kind(row["file"])
            entry["reads_by_read"][kind] = entry["reads_by_read"].get(kind, 0) + row["reads"]
        if row["status"] != OK:
            entry["problems"].append(f"{row['file']}: {row['status']}: {row['problem']}")
            if STATUS_ORDER.index(row["status"]) < STATUS_ORDER.index(entry["verdict"]):
                entry["verdict"] = row["status"]
    for name, entry in samples.items():
        by_read = entry["reads_by_read"] = dict(sorted(entry["reads_by_read"].items()))
        # no file of the sample counted (ORA without a decoder, validate: none, all missing): unknown, not 0
        entry["reads"] = entry["clusters"] = by_read.get("R1", sum(by_read.values())) if by_read else None
        if findings.pairs.get(name):
            entry["pairs"] = "; ".join(findings.pairs[name])
    by_status = Counter(row["status"] for row in rows)
    failed = sum(count for status, count in by_status.items() if status != OK)
    result = outcome(verdicts)
    total_bytes = sum(row["size"] or 0 for row in rows)
    summary: dict[str, Any] = {
        "outcome": result.value,
        "exit_code": exit_code(verdicts),
        "line": "",
        "files": {"total": len(rows), "ok": len(rows) - failed, "failed": failed,
                  "by_status": dict(sorted(by_status.items())),
                  "naming_warnings": sum(1 for row in rows if row["naming"]),
                  "not_validated": sum(1 for row in rows if row["fastq_verdict"] == NOT_VALIDATED)},
        "samples": {"total": len(samples), "failed": sum(1 for s in samples.values() if s["verdict"] != OK),
                    "verdicts": samples},
        "bytes": total_bytes,
        "reads": sum(entry["clusters"] or 0 for entry in samples.values()),
        "naming": naming_summary((row["file"], [f for f in row["naming"].split("; ") if f]) for row in rows),
        "notes": list(findings.notes),
        "unmatched_files": unmatched or {"count": 0, "first": []},
    }
    if batches:
        timed = [b for b in batches if since is None or b["started"] >= since]
        started = min((b["started"] for b in timed), default=0.0)
        finished = max((b["finished"] for b in timed), default=0.0)
        busy = sum(b["finished"] - b["started"] for b in timed)
        read = sum(b.get("bytes_read", 0) for b in timed)
        wall = max(finished - started, 1e-9)
        summary["throughput"] = {"jobs": len(timed), "wall_seconds": round(finished - started, 3),
                                 "job_seconds": round(busy, 3), "bytes_read": read,
                                 "mb_per_second": round(read / wall / 1e6, 1)}
    summary["line"] = summary_line(summary)
    return summary


def summary_line(summary: dict[str, Any]) -> str:
    """One line: outcome, files and samples failed, which kinds of failure, and the first failure."""
    head = outcome_head(summary)
    if not summary["files"]["failed"]:
        return head
    return f"{head}; first: {failure_lines(summary)[0]}"


def columns_of(rows: Sequence[dict[str, Any]]) -> list[str]:
    """The table's columns: :data:`COLUMNS`, then any other key of the rows (extra digests), in first-seen order."""
    return list(dict.fromkeys([*COLUMNS, *(k for r in rows for k in r)]))


def tsv_bytes(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> bytes:
    """The rows as TSV under a header of ``columns``: blank cells for missing values, fields quoted only where
    they hold a tab, a quote or a line break (the csv module's minimal quoting, as spreadsheets read it)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter="\t", lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([row.get(column) for column in columns] for row in rows)
    return out.getvalue().encode("utf-8", "surrogateescape")


def write_reports(rows: Sequence[dict[str, Any]], summary: dict[str, Any], outdir: str) -> list[str]:
    """Write seqfixity.tsv/.json/.xlsx, seqfixity_mqc.tsv, summary.json and report.html atomically; return their
    paths."""
    columns = columns_of(rows)
    outputs = {
        "seqfixity.tsv": tsv_bytes(rows, columns),
        "seqfixity.json": (json.dumps(list(rows), indent=1) + "\n").encode("utf-8", "surrogateescape"),
        "seqfixity.xlsx": xlsx_bytes(rows, columns, summary),
        "seqfixity_mqc.tsv": multiqc_bytes(summary),
        "summary.json": (json.dumps(summary, indent=1) + "\n").encode("utf-8", "surrogateescape"),
        "report.html": report_html(rows, summary),
    }
    written = []
    for name, data in outputs.items():
        path = os.path.join(outdir, name)
        write_bytes_atomic(path, data)
        written.append(path)
    return written
