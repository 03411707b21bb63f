"""Aggregate reports over many records: TSV, JSON and XLSX tables (pandas), summary.json, MultiQC table.

The tables are deterministic: rows sorted by sample and path, no time stamps
(the XLSX file's zip entries and document properties carry a fixed date), so
two runs over the same files, by Snakemake or by Nextflow, give the same bytes.
Timing and throughput go only into ``summary.json``.
"""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from seqfixity.atomic import write_bytes_atomic
from seqfixity.fastq.verdicts import FAILED_VERDICTS
from seqfixity.record import FileRecord, read_records
from seqfixity.verdict import Verdict, exit_code, outcome

OK = "OK"
STATUS_VERDICT = {
    OK: Verdict.OK,
    "INVALID": Verdict.INVALID,
    "PAIR_MISMATCH": Verdict.INVALID,
    "NAMING": Verdict.INVALID,
    "UNREADABLE": Verdict.UNREADABLE,
    "MISSING": Verdict.MISSING,
}
STATUS_ORDER = ("MISSING", "UNREADABLE", "INVALID", "PAIR_MISMATCH", "NAMING", OK)
COLUMNS = ("sample", "file", "path", "size", "md5", "etag", "etag_part_size", "etag_parts", "xxh128", "reads",
           "fastq_verdict", "status", "problem", "naming")
FIXED_DATE = (2000, 1, 1, 0, 0, 0)
_MATE = re.compile(r"([._])(R?)([12])((?:_\d+)?\.(?:fastq|fq)(?:\.gz)?)$")
_XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # what openpyxl refuses in a cell
_CORE_DATES = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")


def load_records(paths: Iterable[str]) -> list[FileRecord]:
    """Read records from JSON-lines files written by ``seqfixity digest``."""
    hint = " (rerun its digest job, e.g. snakemake --forcerun digest)"
    return [record for path in paths for record in read_records(path, hint)]


def mate_key(path: str) -> tuple[str, str, str] | None:
    """Return (folder, name with the mate number blanked, mate) for ``..._R1_001.fastq.gz``-style names."""
    folder, name = os.path.split(path)
    match = _MATE.search(name)
    if not match:
        return None
    blanked = name[:match.start()] + match.group(1) + match.group(2) + "#" + match.group(4)
    return folder, blanked, match.group(3)


def file_rows(records: Sequence[FileRecord], naming: str = "warn", path_style: str = "full") -> list[dict[str, Any]]:
    """Return one row per record with its ``status`` and ``problem``, sorted by sample then path.

    Status is MISSING or UNREADABLE (not read in full), INVALID (FASTQ verdict),
    PAIR_MISMATCH (R1 and R2 disagree on the read count), NAMING (with
    ``naming: strict``) or OK.
    """
    mismatched = _pair_mismatches(records)
    rows = []
    for record in sorted(records, key=lambda r: (r.sample, r.path)):
        findings = record.naming if naming != "off" else []
        status, problem = OK, ""
        if record.error:
            status = "MISSING" if record.error_kind == "missing" else "UNREADABLE"
            problem = record.error
        elif record.fastq_verdict in FAILED_VERDICTS:
            status, problem = "INVALID", f"{record.fastq_verdict}: {record.fastq_error}"
        elif record.path in mismatched:
            status, problem = "PAIR_MISMATCH", mismatched[record.path]
        elif findings and naming == "strict":
            status, problem = "NAMING", "; ".join(findings)
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
            "naming": "; ".join(findings),
            **{k: v for k, v in sorted(record.digests.items()) if k not in COLUMNS},
        })
    return rows


def _pair_mismatches(records: Sequence[FileRecord]) -> dict[str, str]:
    mates: dict[tuple[str, str], dict[str, FileRecord]] = defaultdict(dict)
    for record in records:
        key = mate_key(record.path)
        if key and record.reads is not None:
            mates[key[:2]][key[2]] = record
    problems = {}
    for pair in mates.values():
        if len(pair) == 2 and pair["1"].reads != pair["2"].reads:
            first, second = pair["1"], pair["2"]
            text = (f"R1 has {first.reads} reads, R2 {second.reads}: "
                    f"{os.path.basename(first.path)} / {os.path.basename(second.path)}")
            problems[first.path] = problems[second.path] = text
    return problems


def summarise(rows: Sequence[dict[str, Any]], batches: Sequence[dict[str, Any]] = (),
              since: float | None = None) -> dict[str, Any]:
    """Return summary.json's content: per-sample verdicts, totals, bytes, throughput, outcome and exit code.

    The throughput counts the ``batches`` (``seqfixity digest --done`` files) that started at or after
    ``since``: a re-run's own jobs, not the span back to the first run whose batches it kept.
    """
    verdicts = [STATUS_VERDICT[row["status"]] for row in rows]
    samples: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = samples.setdefault(row["sample"], {"verdict": OK, "files": 0, "bytes": 0, "reads": 0, "problems": []})
        entry["files"] += 1
        entry["bytes"] += row["size"]
        entry["reads"] += row["reads"] or 0
        if row["status"] != OK:
            entry["problems"].append(f"{row['file']}: {row['status']}: {row['problem']}")
            if STATUS_ORDER.index(row["status"]) < STATUS_ORDER.index(entry["verdict"]):
                entry["verdict"] = row["status"]
    by_status = Counter(row["status"] for row in rows)
    failed = sum(count for status, count in by_status.items() if status != OK)
    result = outcome(verdicts)
    total_bytes = sum(row["size"] for row in rows)
    summary: dict[str, Any] = {
        "outcome": result.value,
        "exit_code": exit_code(verdicts),
        "line": "",
        "files": {"total": len(rows), "ok": len(rows) - failed, "failed": failed,
                  "by_status": dict(sorted(by_status.items())),
                  "naming_warnings": sum(1 for row in rows if row["naming"])},
        "samples": {"total": len(samples), "failed": sum(1 for s in samples.values() if s["verdict"] != OK),
                    "verdicts": samples},
        "bytes": total_bytes,
        "reads": sum(row["reads"] or 0 for row in rows),
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
    """One line: outcome, files and samples failed, and which kinds of failure."""
    files = summary["files"]
    kinds = ", ".join(f"{count} {status}" for status, count in files["by_status"].items() if status != OK)
    line = (f"{summary['outcome']}: {files['failed']} of {files['total']} files failed"
            f" in {summary['samples']['failed']} of {summary['samples']['total']} samples")
    if not kinds:
        return line
    first = next(p for s in summary["samples"]["verdicts"].values() for p in s["problems"])
    return f"{line} ({kinds}); first: {first}"


def frame(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Return the rows as a DataFrame with integer columns that allow blanks."""
    table = pd.DataFrame(list(rows), columns=list(dict.fromkeys([*COLUMNS, *(k for r in rows for k in r)])))
    for column in ("size", "etag_part_size", "etag_parts", "reads"):
        table[column] = table[column].astype("Int64")
    return table


def tsv_bytes(table: pd.DataFrame) -> bytes:
    """The table as TSV (blank cells for missing values)."""
    return table.to_csv(sep="\t", index=False, lineterminator="\n").encode("utf-8", "surrogateescape")


def xlsx_bytes(table: pd.DataFrame) -> bytes:
    """The table as an XLSX workbook with fixed dates inside, so equal tables give equal bytes.

    Control characters that XLSX cannot hold (in file names, say) are shown as ``\\xNN``.
    """
    raw = io.BytesIO()
    shown = table.map(lambda cell: _XLSX_ILLEGAL.sub(_escape, cell) if isinstance(cell, str) else cell)
    # Cells are text as given: no formulas from names that start with "=", no links from "s3://" paths.
    options = {"strings_to_formulas": False, "strings_to_urls": False}
    with pd.ExcelWriter(raw, engine="xlsxwriter", engine_kwargs={"options": options}) as writer:
        shown.to_excel(writer, index=False, sheet_name="seqfixity")
    fixed = io.BytesIO()
    with zipfile.ZipFile(raw) as source, zipfile.ZipFile(fixed, "w", zipfile.ZIP_DEFLATED) as target:
        for item in sorted(source.infolist(), key=lambda i: i.filename):
            data = source.read(item)
            if item.filename == "docProps/core.xml":
                data = _CORE_DATES.sub(rb"\g<1>2000-01-01T00:00:00Z\g<2>", data)
            target.writestr(zipfile.ZipInfo(item.filename, FIXED_DATE), data, zipfile.ZIP_DEFLATED)
    return fixed.getvalue()


def _escape(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


def multiqc_bytes(summary: dict[str, Any]) -> bytes:
    """A MultiQC custom-content table (``*_mqc.tsv``): one row per sample."""
    header = (
        "# id: 'seqfixity'\n# section_name: 'seqfixity: checksums and FASTQ integrity'\n"
        "# description: 'MD5, S3/ICA ETag and FASTQ validation per sample, by seqfixity.'\n"
        "# plot_type: 'table'\n# pconfig:\n#     id: 'seqfixity_table'\n#     namespace: 'seqfixity'\n"
        "Sample\tverdict\tfiles\treads\tbytes\n"
    )
    lines = [f"{name}\t{s['verdict']}\t{s['files']}\t{s['reads']}\t{s['bytes']}\n"
             for name, s in sorted(summary["samples"]["verdicts"].items())]
    return (header + "".join(lines)).encode("utf-8", "surrogateescape")


def write_reports(rows: Sequence[dict[str, Any]], summary: dict[str, Any], outdir: str) -> list[str]:
    """Write seqfixity.tsv/.json/.xlsx, seqfixity_mqc.tsv and summary.json atomically; return their paths."""
    table = frame(rows)
    outputs = {
        "seqfixity.tsv": tsv_bytes(table),
        "seqfixity.json": (json.dumps(list(rows), indent=1) + "\n").encode("utf-8", "surrogateescape"),
        "seqfixity.xlsx": xlsx_bytes(table),
        "seqfixity_mqc.tsv": multiqc_bytes(summary),
        "summary.json": (json.dumps(summary, indent=1) + "\n").encode("utf-8", "surrogateescape"),
    }
    written = []
    for name, data in outputs.items():
        path = os.path.join(outdir, name)
        write_bytes_atomic(path, data)
        written.append(path)
    return written
