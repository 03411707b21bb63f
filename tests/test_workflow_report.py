"""The digest and aggregate commands the workflow's rules call: records, tables, summary, check."""

from __future__ import annotations

import json
import subprocess

import pandas as pd

from conftest import run_cli, without_throughput
from test_fastq import fastq_bytes


def test_digest_then_aggregate_naming_strict_and_check(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "OK_R1.fastq").write_bytes(fastq_bytes(10, seed=1))
    long_name = "A_sample_name_far_longer_than_ICA_likes_S1_L001_R1_001.fastq"  # the sample part: 39 characters
    (data / long_name).write_bytes(fastq_bytes(10, seed=2))
    (data / "bad name.fq").write_bytes(b"@r\nACGT\n+\nFFF\n")
    done = run_cli("digest", *sorted(data.iterdir()), "--outdir", tmp_path / "out", "--done", tmp_path / "done.json")
    assert done.returncode == 0, done.stderr
    assert b"bad name.fq: MALFORMED: record 1 (line 1): sequence has 4 letters but quality 3" in done.stderr
    md5sum = subprocess.run(["md5sum", "OK_R1.fastq"], cwd=data, capture_output=True, check=True).stdout
    assert (tmp_path / "out" / "checksums" / "OK_R1_md5.txt").read_bytes() == md5sum
    record = json.loads((tmp_path / "out" / "records" / "bad name.jsonl").read_text())
    assert record["fastq_verdict"] == "MALFORMED" and "' '" in record["naming"][0]

    for naming, statuses in (("warn", {"OK", "INVALID"}), ("strict", {"OK", "INVALID", "NAMING"})):
        out = tmp_path / naming
        made = run_cli("aggregate", "--batches", tmp_path / "done.json", "--outdir", out, "--naming", naming,
                       "--path-style", "name")
        assert made.returncode == 0, made.stderr
        rows = pd.read_csv(out / "seqfixity.tsv", sep="\t", keep_default_na=False).set_index("file")
        assert set(rows["status"]) == statuses
        assert rows.loc[long_name, "path"] == long_name
        assert "39 characters" in rows.loc[long_name, "naming"]
        summary = json.loads((out / "summary.json").read_text())
        assert summary["throughput"]["jobs"] == 1
        check = run_cli("aggregate", "--check", out / "summary.json")
        assert check.returncode == 16
        assert check.stderr.decode().startswith("seqfixity: PARTIALLY_SUCCEEDED: ")
        assert "seqfixity:   bad name.fq: INVALID: MALFORMED: record 1" in check.stderr.decode()
        assert check.stderr.decode().endswith(f"seqfixity: report: {out / 'report.html'} (every file: "
                                              f"{out / 'seqfixity.tsv'})\n")
        quiet = run_cli("aggregate", "--check", out / "summary.json", "--status")
        assert quiet.returncode == 16 and quiet.stderr == b""

    again = run_cli("aggregate", *sorted((tmp_path / "out" / "records").iterdir()), "--outdir", tmp_path / "again",
                    "--path-style", "name")
    assert again.returncode == 0
    for name in ("seqfixity.tsv", "seqfixity.json", "seqfixity.xlsx", "seqfixity_mqc.tsv"):
        assert (tmp_path / "again" / name).read_bytes() == (tmp_path / "warn" / name).read_bytes(), name
    pages = [without_throughput((tmp_path / run / "report.html").read_bytes()) for run in ("again", "warn")]
    assert pages[0] == pages[1]  # the same page, but for the timing that only --batches brings


def test_aggregate_reports_a_missing_record_file_on_one_line(tmp_path):
    done = run_cli("aggregate", tmp_path / "gone.jsonl", "--outdir", tmp_path / "out")
    assert done.returncode == 128
    assert done.stderr.decode().count("\n") == 1 and "gone.jsonl: cannot read records" in done.stderr.decode()


def test_aggregate_check_and_batches_that_cannot_be_read_are_one_line(tmp_path):
    (tmp_path / "not.json").write_text("{ not json")
    (tmp_path / "other.json").write_text('{"files": 3}')
    for args, words in ((("--check", tmp_path / "gone.json"), "gone.json: cannot read the summary"),
                        (("--check", tmp_path / "not.json"), "not.json: cannot read the summary: not JSON"),
                        (("--check", tmp_path / "other.json"), "other.json: not a summary.json"),
                        (("--batches", tmp_path / "gone.json", "--outdir", tmp_path / "o"),
                         "gone.json: cannot read the batch file")):
        done = run_cli("aggregate", *args)
        assert done.returncode == 128, done.stderr
        stderr = done.stderr.decode()
        assert stderr.count("\n") == 1 and words in stderr and "Traceback" not in stderr


def test_control_characters_in_names_do_not_stop_the_xlsx(tmp_path):
    from seqfixity.record import FileRecord
    from seqfixity.reports.tables import file_rows, summarise, write_reports

    name = "bell\x07and\x1bescape_R1.fastq"
    record = FileRecord(path=name, size=3, mtime_ns=0, sample="bell", digests={"md5": "0" * 32}, reads=1,
                        fastq_verdict="OK")
    rows = file_rows([record])
    write_reports(rows, summarise(rows), str(tmp_path))
    cells = pd.read_excel(tmp_path / "seqfixity.xlsx", sheet_name="Files")
    assert cells.loc[0, "file"] == "bell\\x07and\\x1bescape_R1.fastq"
    assert pd.read_csv(tmp_path / "seqfixity.tsv", sep="\t").loc[0, "file"] == name


def test_names_that_look_like_formulas_or_links_stay_text_in_the_xlsx(tmp_path):
    import openpyxl

    from seqfixity.record import FileRecord
    from seqfixity.reports.tables import file_rows, summarise, write_reports

    names = ["=HYPERLINK(\"http://x\")_R1.fastq", "s3://bucket/run/S1_R1.fastq.gz"]
    records = [FileRecord(path=name, size=3, mtime_ns=0, sample=f"s{i}", digests={"md5": "0" * 32}, reads=1,
                          fastq_verdict="OK") for i, name in enumerate(names)]
    rows = file_rows(records)
    write_reports(rows, summarise(rows), str(tmp_path))
    sheet = openpyxl.load_workbook(tmp_path / "seqfixity.xlsx")["Files"]
    header = [cell.value for cell in sheet[1]]
    cells = [row[header.index("path")] for row in sheet.iter_rows(min_row=2)]
    assert [cell.value for cell in cells] == names
    assert all(cell.data_type == "s" and cell.hyperlink is None for cell in cells)


def test_a_bare_naming_off_in_the_config_file_is_off(tmp_path):
    (tmp_path / "bad name.fq").write_bytes(b"@r\nACGT\n+\nFFFF\n")
    (tmp_path / "config.yaml").write_text("naming: off\n")  # YAML 1.1 reads a bare off as false
    done = run_cli("digest", tmp_path / "bad name.fq", "--outdir", tmp_path / "out",
                   "--config", tmp_path / "config.yaml")
    assert done.returncode == 0, done.stderr
    record = json.loads((tmp_path / "out" / "records" / "bad name.jsonl").read_text())
    assert record["naming"] == [] and record["fastq_verdict"] == "OK"


def test_digest_takes_its_own_files_from_a_sheet_whose_other_files_went_away(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for name, seed in (("a_R1.fastq", 1), ("b_R1.fastq", 2)):
        (data / name).write_bytes(fastq_bytes(5, seed=seed))
    sheet = tmp_path / "samples.tsv"
    sheet.write_text(f"sample\tfile\nPATIENT1\t{data / 'a_R1.fastq'}\nPATIENT2\t{data / 'b_R1.fastq'}\n")
    (data / "b_R1.fastq").unlink()  # another batch's file, gone after the DAG was built
    done = run_cli("digest", data / "a_R1.fastq", "--outdir", tmp_path / "out", "--samples", sheet)
    assert done.returncode == 0, done.stderr
    md5sum = subprocess.run(["md5sum", "a_R1.fastq"], cwd=data, capture_output=True, check=True).stdout
    assert (tmp_path / "out" / "checksums" / "PATIENT1_md5.txt").read_bytes() == md5sum


def test_the_reports_show_the_settings_aggregate_is_given_and_say_when_none_were(tmp_path):
    (tmp_path / "a_R1.fastq").write_bytes(fastq_bytes(5, seed=1))
    assert run_cli("digest", tmp_path / "a_R1.fastq", "--outdir", tmp_path / "out").returncode == 0
    records = tmp_path / "out" / "records" / "a_R1.jsonl"
    given = run_cli("aggregate", records, "--outdir", tmp_path / "given", "--etag-preset", "aws-cli",
                    "--part-size", "5MiB", "--validate", "gzip")
    bare = run_cli("aggregate", records, "--outdir", tmp_path / "bare")
    assert given.returncode == bare.returncode == 0, given.stderr + bare.stderr
    settings = json.loads((tmp_path / "given" / "summary.json").read_text())["settings"]
    assert settings["etag_preset"] == "aws-cli" and settings["part_size"] == 5 * 1024 * 1024
    assert settings["validate"] == "gzip" and settings["threshold"] is None
    page = (tmp_path / "given" / "report.html").read_text()
    assert "<dt>ETag part size</dt><dd>5MiB</dd>" in page and "<dt>validation level</dt><dd>gzip</dd>" in page
    assert "<dt>multipart from</dt><dd>8MiB (the aws-cli preset&#x27;s)</dd>" in page  # s3transfer's 8 MiB
    bare_settings = json.loads((tmp_path / "bare" / "summary.json").read_text())["settings"]
    assert set(bare_settings) == {"seqfixity", "naming"}
    assert "<dt>ETag preset</dt><dd>not given to seqfixity aggregate</dd>" in (tmp_path / "bare" /
                                                                                 "report.html").read_text()
