"""The reports people read, from a real workflow run with planted failures: report.html in headless Chromium
(offline), the real MultiQC on results/, the XLSX read back with openpyxl, and the block the run ends with."""

from __future__ import annotations

import gzip
import io
import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from browser import Browser
from conftest import REPO, cli_env
from test_fastq import fastq_bytes

pytestmark = pytest.mark.slow
CONFIG = "inputs: [data]\npart_size: 5MiB\nthreshold: 5MiB\nbatch_size: 3\noutdir: results\n"
FAILING_STATUSES = {"MISSING", "UNREADABLE", "INVALID", "PAIR_MISMATCH", "EXTRA", "NAMING"}


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess[str], dict[str, str]]:
    """A workflow run over good files and three planted failures; (folder, Snakemake, failing file -> why)."""
    root = tmp_path_factory.mktemp("people")
    data = root / "data"
    data.mkdir()
    (data / "S1_L001_R1_001.fastq.gz").write_bytes(gzip.compress(fastq_bytes(300, seed=1), mtime=0))
    (data / "S1_L001_R2_001.fastq.gz").write_bytes(gzip.compress(fastq_bytes(300, seed=2), mtime=0))
    (data / "S2_L001_R1_001.fastq").write_bytes(fastq_bytes(120, seed=3))
    (data / "S2_L001_R2_001.fastq").write_bytes(fastq_bytes(119, seed=4))  # one read fewer than its mate
    whole = gzip.compress(fastq_bytes(400, seed=5), mtime=0)
    (data / "TRUNC_R1.fastq.gz").write_bytes(whole[: len(whole) // 2])
    (data / "GONE_R1.fastq").symlink_to("nowhere.fastq")
    # a pair that disagrees is one fault, on the file whose count differs (the one with fewer reads)
    failing = {"S2_L001_R2_001.fastq": "pair", "TRUNC_R1.fastq.gz": "cut", "GONE_R1.fastq": "link"}
    (root / "config.yaml").write_text(CONFIG)
    done = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(root), "--configfile",
         str(root / "config.yaml"), "--workflow-profile", str(REPO / "workflows" / "profiles" / "local"),
         "--cores", "2"],
        capture_output=True, text=True, env=cli_env(), timeout=600)
    assert (root / "results" / "report.html").exists(), done.stderr[-3000:]
    return root, done, failing


def sample_of(name: str) -> str:
    """The sample id of a file name: up to its first '.' (ICA's rule, as the README states it)."""
    return name.split(".", 1)[0]


def test_report_html_opens_offline_with_failures_first_and_no_request_or_error(run):
    root, _done, failing = run
    page = root / "results" / "report.html"
    with Browser() as browser:
        browser.open(page)
        first = browser.evaluate("(function(){var row=document.querySelector('#failures .chunk tr');"
                                 "return [row.cells[0].firstChild.textContent, row.cells[2].textContent]})()")
        failure_rows = browser.evaluate("document.querySelectorAll('#failures .chunk tr').length")
        outcome = browser.evaluate("document.querySelector('header h1').textContent")
        sample_rows = browser.evaluate("document.querySelectorAll('#samples .chunk tr').length")
        table_link = browser.evaluate("!!document.querySelector('a[href=\"seqfixity.tsv\"]')")
        shown_when_failed_only = browser.evaluate(
            "(function(){var box=document.getElementById('only-failed');box.checked=true;"
            "box.dispatchEvent(new Event('change'));"
            "return Array.prototype.filter.call(document.querySelectorAll('#samples .chunk tr'),"
            "function(row){return !row.hidden}).length})()")
        png = browser.screenshot()
        requests, errors = browser.requests(), browser.errors()
    assert first[0] in failing and first[1] in FAILING_STATUSES
    assert failure_rows == len(failing)
    assert outcome == "PARTIALLY_SUCCEEDED"
    names = [path.name for path in (root / "data").iterdir()]
    assert sample_rows == len({sample_of(name) for name in names})
    assert shown_when_failed_only == len({sample_of(name) for name in failing})
    assert table_link
    assert requests == [page.resolve().as_uri()]  # the page itself, nothing else
    assert errors == []
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    colours = image.getcolors(1 << 24)
    assert image.width >= 800 and image.height >= 800
    assert len(colours) > 50 and max(count for count, _ in colours) < 0.95 * image.width * image.height  # not blank


def test_the_browser_checks_see_a_request_and_a_refused_script(tmp_path):
    """The instruments of the test above: a page that loads an image and runs a script its policy forbids."""
    page = tmp_path / "bad.html"
    page.write_text("<!DOCTYPE html><meta http-equiv=\"Content-Security-Policy\" content=\"script-src 'none'\">"
                    "<img src=\"http://127.0.0.1:9/x.png\"><script>document.title='ran'</script>")
    with Browser() as browser:
        browser.open(page)
        requests, errors = browser.requests(), browser.errors()
    assert "http://127.0.0.1:9/x.png" in requests
    assert any("Content Security Policy" in error for error in errors), errors


def test_a_report_of_10000_files_opens_in_a_second(tmp_path):
    from seqfixity.record import FileRecord
    from seqfixity.reports.tables import file_rows, summarise, write_reports

    records = [FileRecord(path=f"/data/S{index // 2:05d}_L001_R{index % 2 + 1}_001.fastq.gz", size=10**9 + index,
                          mtime_ns=0, digests={"md5": f"{index:032x}"}, reads=1000 + index // 2 - (index == 7),
                          fastq_verdict="TRUNCATED" if index % 997 == 0 else "OK", fastq_error="cut")
               for index in range(10_000)]
    rows = file_rows(records)
    write_reports(rows, summarise(rows), str(tmp_path))
    page = tmp_path / "report.html"
    assert page.stat().st_size < 2_000_000
    small = tmp_path / "small.html"
    small.write_text("<!DOCTYPE html><title>warm-up</title>")
    with Browser() as browser:
        browser.open(small)  # a browser already running, as a person's is
        browser.events.clear()
        browser.open(page)
        loaded = browser.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
        samples = browser.evaluate("document.querySelectorAll('#samples .chunk tr').length")
    assert samples == len({sample_of(record.path.rsplit("/", 1)[1]) for record in records})
    # about 0.4 s on a quiet 2-core machine; the bound leaves room for a machine shared with other work
    # (a timed assertion is a guard against a page that lays out 10,000 rows at once, not a benchmark)
    assert loaded < 3000, f"report.html of 10,000 files took {loaded:.0f} ms to load"


class _Cells(HTMLParser):
    """The text of every <th> and the text of the MultiQC table's seqfixity cells with their badge colour."""

    def __init__(self) -> None:
        super().__init__()
        self.heads: list[str] = []
        self.verdicts: list[tuple[str, str]] = []  # (colour, text)
        self._in_head = self._in_verdict = False
        self._colour = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "th":
            self._in_head = True
            self.heads.append("")
        elif tag == "td" and "seqfixity-verdict" in (found.get("class") or "").split():
            self._in_verdict, self._colour = True, ""
        elif tag == "span" and self._in_verdict and "badge" in (found.get("class") or ""):
            match = re.search(r"background-color:\s*([^;\"]+)", found.get("style") or "")
            self._colour = match.group(1).strip() if match else ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "th":
            self._in_head = False
        elif tag == "td":
            self._in_verdict = False

    def handle_data(self, data: str) -> None:
        if self._in_head:
            self.heads[-1] += data.strip()
        elif self._in_verdict and data.strip():
            self.verdicts.append((self._colour, data.strip()))


def test_multiqc_shows_the_failing_samples_in_its_failure_colour(run, tmp_path):
    import multiqc.config

    root, _done, failing = run
    done = subprocess.run([sys.executable, "-m", "multiqc", str(root / "results"), "-o", str(tmp_path / "mqc"),
                           "--no-version-check", "--force"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    page = (tmp_path / "mqc" / "multiqc_report.html").read_text()
    assert 'id="seqfixity">seqfixity: checksums and FASTQ integrity</h2>' in page
    colours = {name: colour for entry in multiqc.config.table_cond_formatting_colours
               for name, colour in entry.items()}  # MultiQC's own pass and fail colours
    cells = _Cells()
    cells.feed(page)
    failing_samples = {sample_of(name) for name in failing}
    names = [path.name for path in (root / "data").iterdir()]
    assert len(cells.verdicts) == len({sample_of(name) for name in names})
    for colour, status in cells.verdicts:
        assert colour == (colours["pass"] if status == "OK" else colours["fail"]), (status, colour)
    assert sum(1 for _colour, status in cells.verdicts if status != "OK") == len(failing_samples)
    assert {"Verdict", "Files", "Clusters"} <= set(cells.heads)  # summary.json has clusters (issue 13)
    assert any(re.fullmatch(r"Size \((B|KiB|MiB|GiB|TiB)\)", head) for head in cells.heads), cells.heads
    assert "the worst status of the sample" in page  # the column's description, as a tooltip


def test_xlsx_has_a_summary_then_a_frozen_filtered_table_with_failing_rows_red_and_md5s_as_text(run):
    import openpyxl

    root, _done, failing = run
    book = openpyxl.load_workbook(root / "results" / "seqfixity.xlsx")
    assert book.sheetnames == ["Summary", "Files"]
    summary = {row[0].value: row[1].value for row in book["Summary"].iter_rows(min_col=1, max_col=2) if row[0].value}
    assert summary["Outcome"] == "PARTIALLY_SUCCEEDED"
    assert summary["files"] == 6 and summary["files failed"] == len(failing)
    assert summary["ETag part size"] == "5MiB" and summary["multipart from"] == "5MiB"  # config.yaml's
    sheet = book["Files"]
    assert sheet.freeze_panes == "A2"
    header = [cell.value for cell in sheet[1]]
    assert all(cell.font.bold for cell in sheet[1])
    last = openpyxl.utils.get_column_letter(len(header))
    assert sheet.auto_filter.ref == f"A1:{last}{sheet.max_row}"
    assert sheet.column_dimensions["A"].width > 8 and sheet.column_dimensions[
        openpyxl.utils.get_column_letter(header.index("md5") + 1)].width >= 32
    md5sum = dict(reversed(line.split("  ", 1)) for line in subprocess.run(
        ["md5sum", *sorted(name for name in (p.name for p in (root / "data").iterdir()) if name not in failing
                           or failing[name] != "link")],
        cwd=root / "data", capture_output=True, text=True, check=True).stdout.splitlines())
    seen = set()
    for row in sheet.iter_rows(min_row=2):
        cells = dict(zip(header, row, strict=True))
        name = cells["file"].value
        seen.add(name)
        fills = {cell.fill.fgColor.rgb for cell in row}
        if name in failing:
            assert fills == {"FFFFD7D5"}, (name, fills)
        else:
            assert fills == {"00000000"}, (name, fills)  # no fill
        if name in md5sum:
            assert cells["md5"].data_type == "s" and cells["md5"].value == md5sum[name]
    assert seen == {path.name for path in (root / "data").iterdir()}


def test_the_run_ends_once_with_the_outcome_the_failures_and_where_the_report_is(run):
    _root, done, failing = run
    assert done.returncode != 0
    lines = done.stderr.splitlines()
    outcome = [index for index, line in enumerate(lines) if "PARTIALLY_SUCCEEDED" in line]
    assert len(outcome) == 1, outcome  # printed once (not in the gate's log as well)
    start = outcome[0]
    assert lines[start].startswith(f"seqfixity: PARTIALLY_SUCCEEDED: {len(failing)} of 6 files failed")
    shown = lines[start + 1:start + 1 + len(failing)]
    assert sorted(line.split(": ")[1].strip() for line in shown) == sorted(failing)
    report = lines.index("seqfixity: report: results/report.html (every file: results/seqfixity.tsv)", start)
    # between the failures and the report: summary.json's notes only (S1_L001_R1_001 lacks Illumina's _S{n})
    assert all(line.startswith("seqfixity: note: ") for line in lines[start + 1 + len(failing):report])
    assert any("Exiting because a job execution failed" in line for line in lines[:start])
    assert "Logfile results/logs/check.log: empty file" in done.stderr


def test_report_html_shows_illumina_fields_when_summary_json_has_them():
    """summary.json's per-sample fields of Illumina deliveries (clusters, reads per read, the pair check) and
    unmatched_files become columns and a count; without them the page shows the reads, as before."""
    from seqfixity.reports.html import report_html

    summary = json.loads(json.dumps({
        "outcome": "PARTIALLY_SUCCEEDED", "exit_code": 16, "line": "PARTIALLY_SUCCEEDED: 1 of 4 files failed",
        "files": {"total": 4, "ok": 3, "failed": 1, "by_status": {"OK": 3, "PAIR_MISMATCH": 1}, "naming_warnings": 0},
        "samples": {"total": 1, "failed": 1, "verdicts": {"P1": {
            "verdict": "PAIR_MISMATCH", "files": 4, "bytes": 4096, "reads": 10, "clusters": 10,
            "reads_by_read": {"I1": 10, "R2": 9, "R1": 10, "I2": 10}, "pairs": "R2 has 9 reads, R1 10",
            "problems": ["P1_S1_L001_R2_001.fastq.gz: PAIR_MISMATCH: R2 has 9 reads, R1 10"]}}},
        "bytes": 4096, "reads": 10, "unmatched_files": ["Undetermined_S0_L001_R1_001.fastq.gz"],
    }))
    heads = _Cells()
    heads.feed(report_html([], summary).decode())
    assert heads.heads[len(heads.heads) - heads.heads[::-1].index("sample") - 1:] == [
        "sample", "verdict", "pair check", "files", "clusters", "R1 reads", "R2 reads", "I1 reads", "I2 reads",
        "size", "bytes"]
    page = report_html([], summary).decode()
    assert "Undetermined_S0_L001_R1_001.fastq.gz" in page and "R2 has 9 reads, R1 10" in page
    for entry in summary["samples"]["verdicts"].values():
        for key in ("clusters", "reads_by_read", "pairs"):
            entry.pop(key)
    summary.pop("unmatched_files")
    plain = _Cells()
    plain.feed(report_html([], summary).decode())
    assert plain.heads[len(plain.heads) - plain.heads[::-1].index("sample") - 1:] == [
        "sample", "verdict", "files", "reads", "size", "bytes"]
