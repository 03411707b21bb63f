"""seqfixity.xlsx: a Summary sheet (outcome, counts, settings), then one row per file, ready to use.

The Files sheet has a bold header that stays in view (frozen) with a filter on every column, widths that
fit the content, and the failing rows first (most serious first, as report.html lists them), filled red.
Every text cell is written as text (``write_string``): a name that starts with ``=`` is no formula, an
``s3://`` path no link, an all-digit MD5 no number. Written with
xlsxwriter directly (pandas' ``to_excel`` took 0.7 s for 2,000 rows); the document's dates and the zip
entries' are fixed, so equal tables give equal bytes. No timing goes in: that is in summary.json and
report.html.
"""

from __future__ import annotations

import datetime
import io
import math
import re
from collections.abc import Sequence
from typing import Any

from seqfixity.reports.ending import outcome_head
from seqfixity.reports.failures import failed_rows
from seqfixity.reports.run_settings import settings_rows

OK = "OK"
FIXED_DATE = datetime.datetime(2000, 1, 1)
FAIL_FILL = "#FFD7D5"
OUTCOME_COLOURS = {"SUCCEEDED": "#1A7F37", "PARTIALLY_SUCCEEDED": "#9A6700", "FAILED": "#CF222E"}
NUMBER_FORMAT = "#,##0"
MAX_WIDTH = 60  # characters; longer cells (paths, problems) are cut off on screen, not in the cell
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # what XLSX cannot hold in a cell


def xlsx_bytes(rows: Sequence[dict[str, Any]], columns: Sequence[str], summary: dict[str, Any]) -> bytes:
    """The workbook: the Summary sheet, then Files with ``columns`` of ``rows``.

    Control characters that XLSX cannot hold (in file names, say) are shown as ``\\xNN``.
    """
    import xlsxwriter

    out = io.BytesIO()
    options = {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
               "strings_to_numbers": False}
    with xlsxwriter.Workbook(out, options) as book:
        book.set_properties({"created": FIXED_DATE, "title": "seqfixity: checksums and FASTQ integrity"})
        _summary_sheet(book, summary)
        failing = failed_rows(rows)  # most serious first, as report.html lists them; then the rest in their order
        _files_sheet(book, [*failing, *(row for row in rows if row.get("status", OK) == OK)], columns)
    return out.getvalue()


def _text(value: str) -> str:
    return _ILLEGAL.sub(lambda match: f"\\x{ord(match.group()):02x}", value)


def _summary_sheet(book: Any, summary: dict[str, Any]) -> None:
    sheet = book.add_worksheet("Summary")
    label = book.add_format({"bold": True, "valign": "top"})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    count = book.add_format({"num_format": NUMBER_FORMAT, "align": "left"})
    heading = book.add_format({"bold": True, "font_size": 12})
    outcome = book.add_format({"bold": True, "font_size": 14, "font_color": "#FFFFFF",
                               "bg_color": OUTCOME_COLOURS.get(summary["outcome"], "#CF222E")})
    sheet.set_column(0, 0, 24)
    sheet.set_column(1, 1, 100)
    files, samples = summary["files"], summary["samples"]
    sheet.write_string(0, 0, "Outcome", label)
    sheet.write_string(0, 1, summary["outcome"], outcome)
    sheet.write_string(1, 0, "Summary", label)
    sheet.write_string(1, 1, _text(outcome_head(summary)), wrap)
    counts: list[tuple[str, int]] = [("files", files["total"]), ("files OK", files["ok"]),
                                     ("files failed", files["failed"])]
    counts += [(f"files {status}", number) for status, number in files["by_status"].items() if status != OK]
    counts += [("samples", samples["total"]), ("samples failed", samples["failed"]), ("bytes", summary["bytes"]),
               ("reads", summary["reads"]), ("naming findings", files.get("naming_warnings", 0)),
               ("files hashed but not validated", files.get("not_validated", 0))]
    if "unmatched_files" in summary:  # {"count": N, "first": [...]}: the files no pattern took, not checked
        unmatched = summary["unmatched_files"]
        counts.append(("files no pattern matched (not checked)",
                       unmatched.get("count", 0) if isinstance(unmatched, dict) else int(unmatched)))
    row = 3
    sheet.write_string(row, 0, "Counts", heading)
    for name, number in counts:
        row += 1
        sheet.write_string(row, 0, name, label)
        sheet.write_number(row, 1, number, count)
    row += 2
    sheet.write_string(row, 0, "Settings", heading)
    for name, value in settings_rows(summary.get("settings")):
        row += 1
        sheet.write_string(row, 0, name, label)
        sheet.write_string(row, 1, _text(value))
    row += 2
    sheet.write_string(row, 0, "Files", label)
    sheet.write_string(row, 1, "one row per file on the next sheet; failing rows first, in red", wrap)
    sheet.activate()


def _files_sheet(book: Any, rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    sheet = book.add_worksheet("Files")
    header = book.add_format({"bold": True, "bottom": 1, "bg_color": "#F2F2F2"})
    plain = {"text": None, "number": book.add_format({"num_format": NUMBER_FORMAT})}
    failing = {"text": book.add_format({"bg_color": FAIL_FILL}),
               "number": book.add_format({"bg_color": FAIL_FILL, "num_format": NUMBER_FORMAT})}
    widths = [len(name) for name in columns]
    for index, name in enumerate(columns):
        sheet.write_string(0, index, name, header)
    for number, row in enumerate(rows, 1):
        formats = plain if row.get("status", OK) == OK else failing
        for index, name in enumerate(columns):
            value = row.get(name)
            if isinstance(value, str):
                text = _text(value)
                sheet.write_string(number, index, text, formats["text"])
                widths[index] = max(widths[index], len(text))
            elif isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value):
                sheet.write_number(number, index, value, formats["number"])
                widths[index] = max(widths[index], len(f"{value:,}"))
            elif formats is failing:
                sheet.write_blank(number, index, None, formats["text"])
    for index, width in enumerate(widths):
        sheet.set_column(index, index, min(width, MAX_WIDTH) + 2)
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(len(rows), 1), max(len(columns) - 1, 0))
