"""The reports people read, on cases beyond issue 14's run: files no pattern matched, samples whose reads no
decoder counted. Read back as a person's tools read them: openpyxl for the XLSX, an HTML parser for
report.html, MultiQC's own run for its table."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

from seqfixity.record import FileRecord
from seqfixity.reports.tables import file_rows, summarise, write_reports

UNMATCHED = ["/run/P/notes.txt", "/run/P/A_S1_L001_R1_001.fastq.gz.md5", "/run/P/M_S7_L001_R1_001.FASTQ.GZ"]


class _Text(HTMLParser):
    """The visible text of a page, one string (script and style left out)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._skip += tag in ("script", "style")

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("script", "style")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.parts).split())


def reports(tmp_path: Path, records: list[FileRecord], unmatched: list[str]) -> Path:
    from seqfixity.inputs.discover import unmatched_summary
    from seqfixity.reports.delivery import check_delivery

    findings = check_delivery(records)
    rows = file_rows(records, findings=findings)
    write_reports(rows, summarise(rows, findings=findings, unmatched=unmatched_summary(unmatched)), str(tmp_path))
    return tmp_path


def pair(sample: str, number: int, suffix: str = ".fastq.gz", reads: int | None = 25) -> list[FileRecord]:
    verdict = "OK" if reads is not None else "NOT_VALIDATED"
    return [FileRecord(path=f"/run/P/{sample}_S{number}_L001_{read}_001{suffix}", sample=sample, size=1000, mtime_ns=0,
                       digests={"md5": "0" * 32}, reads=reads, fastq_verdict=verdict) for read in ("R1", "R2")]


def page_text(folder: Path) -> str:
    parser = _Text()
    parser.feed((folder / "report.html").read_text())
    return parser.text


@pytest.mark.parametrize("unmatched", [[], UNMATCHED], ids=["none", "three"])
def test_files_no_pattern_matched_are_counted_as_many_as_there_are(tmp_path, unmatched):
    import openpyxl

    folder = reports(tmp_path, pair("A", 1), unmatched)
    book = openpyxl.load_workbook(folder / "seqfixity.xlsx")
    counts = {row[0].value: row[1].value for row in book["Summary"].iter_rows(min_col=1, max_col=2) if row[0].value}
    assert counts["files no pattern matched (not checked)"] == len(unmatched)
    text = page_text(folder)
    if unmatched:
        assert f"Files no pattern matched, not checked ({len(unmatched)}): {', '.join(UNMATCHED)}." in text
    else:
        assert "None: every file was read in full and passed its checks." in text
        assert "Files no pattern matched" not in text and "count, first" not in text
        assert "no pattern matched (not checked) 0 files" in text  # the totals say so: nothing was left out


def test_a_sample_whose_reads_no_decoder_counted_has_no_cluster_count_not_zero(tmp_path):
    folder = reports(tmp_path, pair("A", 1) + pair("W", 2, ".fastq.ora", reads=None), [])
    summary = json.loads((folder / "summary.json").read_text())
    verdicts = summary["samples"]["verdicts"]
    assert verdicts["A"]["clusters"] == 25 and verdicts["W"]["clusters"] is None
    assert summary["reads"] == 25
    table = {line.split("\t")[0]: line.split("\t") for line in (folder / "seqfixity_mqc.tsv").read_text().splitlines()
             if not line.startswith("#")}
    assert table["W"][table["Sample"].index("clusters")] == ""  # MultiQC shows an empty cell, not 0


def test_ora_files_without_a_decoder_are_said_to_be_unvalidated_not_passed(tmp_path):
    """ORA has no open decoder: without orad the files get digests only, and the page a person signs off must
    not say that every file passed its checks."""
    import openpyxl

    from conftest import run_cli
    from illumina_delivery import compress, fastq

    data = tmp_path / "run"
    data.mkdir()
    names = [f"W_S1_L001_{read}_001.fastq.ora" for read in ("R1", "R2")]
    for name in names:
        compress(fastq("W", 1, name[10:12]), "ora", data / name)
    out = tmp_path / "out"
    done = run_cli("digest", *(data / name for name in names), "--outdir", out)
    assert done.returncode == 0, done.stderr
    done = run_cli("aggregate", *sorted((out / "records").iterdir()), "--outdir", out)
    assert done.returncode == 0, done.stderr
    text = page_text(out)
    assert "every file was read in full and passed its checks" not in text
    assert f"Files hashed but not validated (2): {', '.join(names)};" in text
    book = openpyxl.load_workbook(out / "seqfixity.xlsx")
    counts = {row[0].value: row[1].value for row in book["Summary"].iter_rows(min_col=1, max_col=2) if row[0].value}
    assert counts["files hashed but not validated"] == 2


def test_the_xlsx_lists_the_failing_files_first_most_serious_first(tmp_path):
    """Issue 14: failures were sorted among the successes. Read back with openpyxl: every failing row comes
    before every OK row, MISSING before INVALID before PAIR_MISMATCH, whatever the samples' names."""
    import openpyxl

    records = pair("A", 1) + pair("M", 2) + pair("Z", 3)
    records[1].reads = 24  # A's R2 is one read short of its R1: PAIR_MISMATCH
    records[2].fastq_verdict, records[2].fastq_error = "TRUNCATED", "cut"  # M's R1: INVALID
    del records[5]  # Z's R2 is not there: MISSING (an orphan mate)
    folder = reports(tmp_path, records, [])
    sheet = openpyxl.load_workbook(folder / "seqfixity.xlsx")["Files"]
    header = [cell.value for cell in sheet[1]]
    statuses = [row[header.index("status")] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert statuses == ["MISSING", "INVALID", "PAIR_MISMATCH", "OK", "OK", "OK"]


def test_multiqc_never_shows_a_non_empty_sample_as_zero_bytes(tmp_path):
    """Sizes are in one unit (the largest sample's): a sample cut down to a few KiB beside MiB ones showed as
    '0.0 MiB' in MultiQC's own report. Read from the page MultiQC renders."""
    import re
    import subprocess
    import sys

    records = pair("BIG", 1) + pair("CUT", 2)
    for record in records[:2]:
        record.size = 300 << 20  # 300 MiB each
    for record in records[2:]:
        record.size = 1500  # 1.5 KB each: 0.003 MiB for the sample
    folder = reports(tmp_path / "results", records, [])
    done = subprocess.run([sys.executable, "-m", "multiqc", str(folder), "-o", str(tmp_path / "mqc"),
                           "--no-version-check", "--force"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    page = (tmp_path / "mqc" / "multiqc_report.html").read_text()
    shown = [re.sub(r"<[^>]+>", " ", cell).split() for cell in
             re.findall(r'<td[^>]*class="[^"]*seqfixity-size[^"]*"[^>]*>(.*?)</td>', page, re.S)]
    assert len(shown) == 2, shown
    values = sorted(float(words[0].replace(",", "")) for words in shown)
    assert values[0] > 0 and all(words[-1] == "MiB" for words in shown), shown


def test_a_name_that_breaks_illuminas_convention_is_noted_on_the_page_and_at_the_end(tmp_path):
    """A_S1_L1_R1_001 (a one-digit lane) is not a BCL Convert name: grouped by ICA's rule, with a note that a
    person sees on report.html and in the lines the run ends with, not only in summary.json."""
    from seqfixity.reports.ending import outcome_block

    odd = FileRecord(path="/run/P/A_S1_L1_R1_001.fastq.gz", sample="A_S1_L1_R1_001", size=10, mtime_ns=0,
                     digests={"md5": "0" * 32}, reads=5, fastq_verdict="OK")
    folder = reports(tmp_path, pair("B", 2) + [odd], [])
    summary = json.loads((folder / "summary.json").read_text())
    assert len(summary["notes"]) == 1 and "A_S1_L1_R1_001.fastq.gz" in summary["notes"][0]
    assert f"Note: {summary['notes'][0]}" in page_text(folder)
    assert [line for line in outcome_block(summary, str(folder)) if "A_S1_L1_R1_001" in line] == [
        f"note: {summary['notes'][0]}"]
