"""The failed files of a run, most serious first, each with what to do next (for report.html)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from seqfixity.fastq.verdicts import CORRUPT, MALFORMED, TRUNCATED
from seqfixity.inputs.names import MAX_NAME_LENGTH, SAFE_CHARACTERS

OK = "OK"
SEVERITY = ("MISSING", "UNREADABLE", "INVALID", "PAIR_MISMATCH", "EXTRA", "NAMING")
_STATUS_HINTS = {
    "MISSING": "The file was not there when it was read, or the sample sheet or its mates say it should be: copy "
               "it again from the sender.",
    "EXTRA": "No row of the sample sheet explains this FASTQ: check that the sheet is the run's, or ask the "
             "sender what the file is.",
    "UNREADABLE": "seqfixity could not read it in full: check that it is a regular file you may read (not a "
                  "broken link), that the disk is healthy, and that nothing was writing it; then run again.",
    "PAIR_MISMATCH": "R1, R2 and the index reads of a lane must hold the same reads: this one is cut short or from "
                     "another run. Compare the lane's files' MD5 with the sender's and copy the one that differs "
                     "again.",
    "NAMING": f"Rename the file to ICA's guidelines ({SAFE_CHARACTERS}; sample names of at most "
              f"{MAX_NAME_LENGTH} characters), or set naming: warn to list such names without failing them.",
}
_FASTQ_HINTS = {
    TRUNCATED: "The file ends early: the copy was cut off. Copy it again and compare its MD5 with the sender's.",
    CORRUPT: "The compressed data is damaged. Copy it again; if the copy's MD5 matches the sender's, the damage "
             "is at the source: ask for the file to be written again.",
    MALFORMED: "Not valid FASTQ at the record named: ask the sender whether the file was written completely, "
               "and copy it again if its MD5 differs from theirs.",
}


def failed_rows(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows whose status is not OK: missing and unreadable files first, then invalid FASTQ, pair mismatches
    and naming; within a status by sample and path (the rows' own order)."""
    order = {status: rank for rank, status in enumerate(SEVERITY)}
    return sorted((row for row in rows if row["status"] != OK), key=lambda row: order.get(row["status"], len(order)))


def hint(row: dict[str, Any]) -> str:
    """What to do about one failed row."""
    if row["status"] == "INVALID":
        return _FASTQ_HINTS.get(row.get("fastq_verdict", ""), _FASTQ_HINTS[MALFORMED])
    return _STATUS_HINTS.get(row["status"], "See the problem column.")
