"""The words a run ends with: the outcome line, the first few failures, and where report.html is.

``seqfixity aggregate --check`` prints them, and the workflow's ``onerror`` and ``onsuccess`` handlers print
the same block once, as the last thing before Snakemake's own closing lines. Only the standard library is
used here: the check runs without pandas, and the handlers run inside Snakemake.
"""

from __future__ import annotations

import os
from typing import Any

FAILURES_SHOWN = 5
REPORT_NAME = "report.html"
TABLE_NAME = "seqfixity.tsv"


def outcome_head(summary: dict[str, Any]) -> str:
    """``OUTCOME: F of N files failed in S of M samples (counts by status)``: summary.json's line without its first
    failure."""
    files = summary["files"]
    kinds = ", ".join(f"{count} {status}" for status, count in files["by_status"].items() if status != "OK")
    line = (f"{summary['outcome']}: {files['failed']} of {files['total']} files failed"
            f" in {summary['samples']['failed']} of {summary['samples']['total']} samples")
    return f"{line} ({kinds})" if kinds else line


def failure_lines(summary: dict[str, Any]) -> list[str]:
    """Every failure as ``file: STATUS: problem``, sample by sample, as summary.json lists them."""
    return [problem for entry in summary["samples"]["verdicts"].values() for problem in entry["problems"]]


def outcome_block(summary: dict[str, Any], folder: str) -> list[str]:
    """The lines that end a run whose summary.json lies in ``folder``: the outcome, at most
    :data:`FAILURES_SHOWN` failures (and how many more), the files no pattern matched, the notes of summary.json,
    and where the report and the table of every file are."""
    lines = [outcome_head(summary)]
    failures = failure_lines(summary)
    lines += [f"  {failure}" for failure in failures[:FAILURES_SHOWN]]
    table = os.path.join(folder, TABLE_NAME)
    if len(failures) > FAILURES_SHOWN:
        lines.append(f"  ... and {len(failures) - FAILURES_SHOWN} more (every file's status: {table})")
    unmatched = summary.get("unmatched_files") or {}
    if unmatched.get("count"):
        lines.append(unmatched_line(unmatched))
    lines += [f"note: {note}" for note in summary.get("notes") or []]  # names grouped by ICA's rule, and why
    report = os.path.join(folder, REPORT_NAME)
    if os.path.exists(report):
        lines.append(f"report: {report} (every file: {table})")
    return lines


def report_block(report: dict[str, Any], path: str, shown: int = FAILURES_SHOWN) -> list[str]:
    """The lines that end a ``check`` or ``verify`` whose ``--report`` is ``path``: its outcome line, at most
    ``shown`` failed files with their verdicts (and how many more), and where every file's verdict is."""
    listed = report.get("files") if isinstance(report.get("files"), list) else []
    failed = [entry for entry in listed if isinstance(entry, dict) and entry.get("verdict", "OK") != "OK"]
    lines = [report["line"]]
    for entry in failed[:shown]:
        hint = f" ({entry['hint']})" if entry.get("hint") else ""
        lines.append(f"  {entry.get('path', '?')}: {entry['verdict']}{hint}")
    if len(failed) > shown:
        lines.append(f"  ... and {len(failed) - shown} more (every file's verdict: {path})")
    return lines


def verify_end(verify_json: str, summary: str, against: str) -> list[str]:
    """The lines a workflow run with ``verify_against`` ends with: the verify outcome, its first failures and
    where the report is; none when ``verify_json`` is missing or older than ``summary`` (verify runs after the
    reports, so an older one is an earlier run's)."""
    import json

    if not os.path.exists(verify_json):
        return []
    if os.path.exists(summary) and os.path.getmtime(verify_json) < os.path.getmtime(summary):
        return []
    try:
        with open(verify_json, encoding="utf-8") as handle:
            lines = report_block(json.load(handle), verify_json)
    except (OSError, ValueError, KeyError, TypeError) as err:
        lines = [f"cannot read the verify report ({err})"]
    return [f"verify against {against}: {lines[0]}", *lines[1:], f"verify report: {verify_json}"]


def terminal_lines(lines: list[str]) -> str:
    """The lines as the workflow prints them: each after ``seqfixity: ``, a line break in a file name shown as
    ``\\n`` (as ``say`` shows it)."""
    return "\n".join("seqfixity: " + line.replace("\n", "\\n").replace("\r", "\\r") for line in lines)


def unmatched_line(unmatched: dict[str, Any]) -> str:
    """The end-of-run words for the files under the inputs that no pattern matched: how many, the first names."""
    first = ", ".join(unmatched["first"]) + (", ..." if unmatched["count"] > len(unmatched["first"]) else "")
    return (f"{unmatched['count']} files under the inputs match no pattern and were not checked: {first} "
            "(add patterns, or patterns: all to checksum the whole delivery)")
