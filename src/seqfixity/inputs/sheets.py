"""Sample sheets, told apart by their content: Illumina's SampleSheet v1 and v2, fastq_list.csv, seqfixity's TSV.

- SampleSheet v1 (bcl2fastq, BCL Convert): a ``[Data]`` section with ``Sample_ID`` (and ``Lane``), ``[Reads]``
  listing one or two read lengths. bcl2fastq names the files after ``Sample_Name`` when the row has one, BCL
  Convert after ``Sample_ID``: files named either way belong to the row.
- SampleSheet v2 (BCL Convert): ``[Header]`` with ``FileFormatVersion,2``, ``[Reads]`` (``Read1Cycles``,
  ``Read2Cycles``, ``Index1Cycles``, ``Index2Cycles``), ``[BCLConvert_Settings]``
  (``CreateFastqForIndexReads``) and ``[BCLConvert_Data]`` with ``Sample_ID``, with or without ``Lane``.
- ``fastq_list.csv`` (BCL Convert and DRAGEN, in ``Reports/``): ``RGID,RGSM,RGLB,Lane,Read1File,Read2File``.
- seqfixity's own sheet: TSV or CSV with the columns ``sample`` and ``file``.

An Illumina sheet says which files the delivery should hold: :mod:`seqfixity.reports.delivery` turns it
into MISSING rows (a sample, lane or read named with no file) and EXTRA rows (a FASTQ no row explains).
A sheet that cannot be read is one line naming the sheet, the line and what is wrong.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from seqfixity.errors import SettingsError

TSV, SHEET_V1, SHEET_V2, FASTQ_LIST = "tsv", "SampleSheet v1", "SampleSheet v2", "fastq_list.csv"
FASTQ_LIST_COLUMNS = ("RGID", "RGSM", "RGLB", "Lane", "Read1File")
SAFE_SAMPLE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9!\-_.*'()+]*$")
UNDETERMINED = "Undetermined"
_SECTION = re.compile(r"^\[([^\]]+)\]")


class SheetError(SettingsError):
    """A sample sheet that cannot be used: one line naming the sheet, the line and what is wrong."""


@dataclass(frozen=True)
class SheetRow:
    """One sample (and lane) a sheet names, with the files it names (fastq_list.csv only)."""

    line: int
    sample: str
    lane: int | None = None
    files: tuple[str, ...] = ()
    # another name its files may carry: a v1 [Data] row's Sample_Name, which bcl2fastq names the files after
    # (BCL Convert names them after Sample_ID)
    alias: str = ""


@dataclass
class Sheet:
    """A sample sheet: its kind, its rows, and the reads each cluster should have (R1, R2, I1, I2) if it says."""

    path: str
    kind: str
    rows: list[SheetRow] = field(default_factory=list)
    reads: tuple[str, ...] = ()

    @property
    def illumina(self) -> bool:
        """Whether the sheet is one of Illumina's (it then says which files should exist)."""
        return self.kind != TSV

    def samples(self) -> list[str]:
        """The sample ids in the order the sheet first names them (BCL Convert numbers them S1, S2, ...)."""
        return list(dict.fromkeys(row.sample for row in self.rows))

    def file_samples(self) -> dict[str, str]:
        """{the sample part of a file name: the sample id it belongs to}: each Sample_ID, and a v1 row's
        Sample_Name where it differs (bcl2fastq names the files ``{Sample_Name}_S{n}_...``)."""
        names = {row.sample: row.sample for row in self.rows}
        for row in self.rows:
            if row.alias:
                names.setdefault(row.alias, row.sample)
        return names

    def lanes(self) -> dict[str, set[int | None]]:
        """{sample: its lanes}; None stands for every lane of the run (a sheet without a Lane column)."""
        lanes: dict[str, set[int | None]] = {}
        for row in self.rows:
            lanes.setdefault(row.sample, set()).add(row.lane)
        return lanes


def read_sheet(path: str) -> Sheet:
    """Read the sheet at ``path``, its kind told by its content; raise :class:`SheetError` (one line) if unusable."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as err:
        raise SheetError(f"{path}: cannot read sample sheet: {err.strerror}") from None
    except UnicodeDecodeError as err:
        raise SheetError(f"{path}: cannot read sample sheet: not UTF-8 text ({err.reason} at byte "
                         f"{err.start})") from None
    lines = text.splitlines()
    first = next((line.strip() for line in lines if line.strip(" ,\t")), "")
    if _SECTION.match(first):
        return _read_illumina_sheet(path, lines)
    header = [cell.strip() for cell in next(csv.reader([first], dialect=_dialect(first)), [])]
    if set(FASTQ_LIST_COLUMNS) <= set(header):
        return _read_fastq_list(path, lines)
    if {"sample", "file"} <= set(header):
        return Sheet(path, TSV)  # its rows: seqfixity.inputs.discover.read_sample_sheet
    raise SheetError(f"{path}: line 1: not a sample sheet seqfixity knows: an Illumina SampleSheet starts with a "
                     "[Header] or [Data] section, fastq_list.csv with RGID,RGSM,RGLB,Lane,Read1File,Read2File, "
                     "seqfixity's own with the columns sample and file")


def _dialect(line: str) -> str:
    return "excel-tab" if "\t" in line else "excel"


def _sections(path: str, lines: list[str]) -> dict[str, tuple[int, list[str]]]:
    """{section name: (line number of its first line after the [Name] line, its lines)}."""
    sections: dict[str, tuple[int, list[str]]] = {}
    current: list[str] | None = None
    for number, line in enumerate(lines, 1):
        match = _SECTION.match(line.strip())
        if match:
            name = match.group(1).strip()
            if name in sections:
                raise SheetError(f"{path}: line {number}: section [{name}] appears twice")
            current = []
            sections[name] = (number + 1, current)
        elif current is not None:
            current.append(line)
    return sections


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in next(csv.reader([line]), [])]


def _settings(lines: list[str]) -> dict[str, str]:
    return {cells[0]: cells[1] if len(cells) > 1 else "" for cells in map(_cells, lines) if cells and cells[0]}


def _read_illumina_sheet(path: str, lines: list[str]) -> Sheet:
    sections = _sections(path, lines)
    version = _settings(sections.get("Header", (0, []))[1]).get("FileFormatVersion", "1")
    data_name = "BCLConvert_Data" if "BCLConvert_Data" in sections or version == "2" else "Data"
    if data_name not in sections:
        found = ", ".join(f"[{name}]" for name in sections) or "none"
        raise SheetError(f"{path}: line 1: an Illumina sample sheet needs a [{data_name}] section (sections found: "
                         f"{found})")
    kind = SHEET_V2 if data_name == "BCLConvert_Data" else SHEET_V1
    start, data = sections[data_name]
    rows = _data_rows(path, data_name, start, data)
    reads = _v2_reads(sections) if kind == SHEET_V2 else _v1_reads(sections)
    return Sheet(path, kind, rows, reads)


def _data_rows(path: str, section: str, start: int, lines: list[str]) -> list[SheetRow]:
    content = [(start + offset, line) for offset, line in enumerate(lines) if line.strip(" ,\t")]
    if not content:
        raise SheetError(f"{path}: line {start}: the [{section}] section is empty (it needs a header with "
                         "Sample_ID and one row per sample)")
    header_line, header_text = content[0]
    header = _cells(header_text)
    if "Sample_ID" not in header:
        raise SheetError(f"{path}: line {header_line}: the [{section}] header has no Sample_ID column "
                         f"({','.join(header)})")
    rows = []
    for number, text in content[1:]:
        cells = dict(zip(header, _cells(text), strict=False))
        sample = cells.get("Sample_ID", "")
        if not sample:
            raise SheetError(f"{path}: line {number}: empty Sample_ID")
        if not SAFE_SAMPLE.match(sample):
            raise SheetError(f"{path}: line {number}: Sample_ID {sample!r} is not a safe file name")
        name = cells.get("Sample_Name", "") if section == "Data" else ""
        alias = name if name != sample and SAFE_SAMPLE.match(name) else ""
        rows.append(SheetRow(number, sample, _lane(path, number, cells.get("Lane", "")), alias=alias))
    return rows


def _lane(path: str, number: int, text: str) -> int | None:
    if not text:
        return None
    if not text.isdigit() or int(text) < 1:
        raise SheetError(f"{path}: line {number}: Lane {text!r} is not a lane number (1, 2, ...)")
    return int(text)


def _v1_reads(sections: dict[str, tuple[int, list[str]]]) -> tuple[str, ...]:
    lengths = [cells[0] for cells in map(_cells, sections.get("Reads", (0, []))[1]) if cells and cells[0]]
    return ("R1", "R2")[:len(lengths)] if lengths else ()


def _v2_reads(sections: dict[str, tuple[int, list[str]]]) -> tuple[str, ...]:
    reads = _settings(sections.get("Reads", (0, []))[1])
    options = {key.lower(): value for key, value in _settings(sections.get("BCLConvert_Settings", (0, []))[1]).items()}
    index_fastqs = options.get("createfastqforindexreads", "0").lower() in ("1", "true")
    wanted = [("Read1Cycles", "R1", True), ("Read2Cycles", "R2", True), ("Index1Cycles", "I1", index_fastqs),
              ("Index2Cycles", "I2", index_fastqs)]
    return tuple(read for key, read, written in wanted if written and reads.get(key, "0") not in ("", "0"))


def _read_fastq_list(path: str, lines: list[str]) -> Sheet:
    first = next(index for index, line in enumerate(lines) if line.strip(" ,\t"))  # blank lines may lead
    header = _cells(lines[first])
    rows, named = [], {}
    for number, text in enumerate(lines[first + 1:], first + 2):
        if not text.strip(" ,\t"):
            continue
        cells = dict(zip(header, _cells(text), strict=False))
        sample = cells.get("RGSM", "")
        if not sample:
            raise SheetError(f"{path}: line {number}: empty RGSM (the sample)")
        files = tuple(os.path.basename(cells[key]) for key in ("Read1File", "Read2File") if cells.get(key))
        if not files:
            raise SheetError(f"{path}: line {number}: no Read1File")
        for name in files:
            if name in named:
                raise SheetError(f"{path}: line {number}: {name} is listed twice (also on line {named[name]})")
            named[name] = number
        rows.append(SheetRow(number, sample, _lane(path, number, cells.get("Lane", "")), files))
    if not rows:
        raise SheetError(f"{path}: line 2: fastq_list.csv lists no files")
    reads = ("R1", "R2") if any(len(row.files) == 2 for row in rows) else ("R1",)
    return Sheet(path, FASTQ_LIST, rows, reads)


def read_sheets(paths: Sequence[str]) -> list[Sheet]:
    """Read every sheet; raise :class:`SheetError` naming both when two of Illumina's disagree on the samples
    (or, where both name lanes, on a sample's lanes)."""
    sheets = [read_sheet(path) for path in paths]
    illumina = [sheet for sheet in sheets if sheet.illumina]
    for index, first in enumerate(illumina):
        for second in illumina[index + 1:]:
            problem = _disagreement(first, second)
            if problem:
                raise SheetError(f"{first.path} and {second.path} disagree: {problem}")
    return sheets


def _disagreement(first: Sheet, second: Sheet) -> str:
    mine, theirs = first.lanes(), second.lanes()
    for sample in sorted(set(mine) ^ set(theirs)):
        if sample != UNDETERMINED:
            where, other = (first, second) if sample in mine else (second, first)
            return f"sample {sample} is in {where.path} but not in {other.path}"
    for sample in sorted(mine):
        if None not in mine[sample] and None not in theirs[sample] and mine[sample] != theirs[sample]:
            return (f"sample {sample} is in lanes {_lanes(mine[sample])} in {first.path} but in lanes "
                    f"{_lanes(theirs[sample])} in {second.path}")
    return ""


def _lanes(lanes: set[int | None]) -> str:
    return ", ".join(str(lane) for lane in sorted(lane for lane in lanes if lane is not None))
