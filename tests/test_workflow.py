"""The Snakemake workflow, run for real as a subprocess in temporary folders."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from conftest import REPO, cli_env, report_bytes
from test_fastq import fastq_bytes

pytestmark = pytest.mark.slow
PART = 5 << 20
CONFIG = f"""\
inputs: [data]
part_size: {PART}
threshold: {PART}
large_bytes: 1MiB
batch_size: 2
outdir: results
"""


def snakemake(workdir: Path, *args: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    """Run this checkout's Snakefile in ``workdir`` with its config.yaml; return the completed process."""
    command = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(workdir),
               "--configfile", str(workdir / "config.yaml"), "--cores", "2", "--keep-going", *args]
    return subprocess.run(command, capture_output=True, text=True, env=cli_env(), timeout=timeout)


def reference_etag(data: bytes, part_size: int) -> str:
    """The multipart ETag S3 computes: MD5 of the parts' binary MD5s, then -N."""
    if len(data) < part_size:
        return hashlib.md5(data).hexdigest()
    parts = [hashlib.md5(data[i:i + part_size]).digest() for i in range(0, len(data), part_size)]
    return f"{hashlib.md5(b''.join(parts)).hexdigest()}-{len(parts)}"


@pytest.fixture
def run_folder(tmp_path: Path) -> Path:
    """data/ with a gzip R1/R2 pair, a plain FASTQ and a 6 MiB FASTQ (two ETag parts); config.yaml."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "S1_L001_R1_001.fastq.gz").write_bytes(gzip.compress(fastq_bytes(300, seed=1), mtime=0))
    (data / "S1_L001_R2_001.fastq.gz").write_bytes(gzip.compress(fastq_bytes(300, seed=2), mtime=0))
    (data / "S2_L001_R1_001.fastq").write_bytes(fastq_bytes(120, seed=3))
    (data / "BIG_L001_R1_001.fastq").write_bytes(fastq_bytes(28_000, seed=4, length=100))
    assert (data / "BIG_L001_R1_001.fastq").stat().st_size > PART
    (tmp_path / "config.yaml").write_text(CONFIG)
    return tmp_path


def table(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / "results" / "seqfixity.tsv", sep="\t", keep_default_na=False).set_index("file")


def test_reports_match_md5sum_and_reference_etag_and_rerun_is_a_no_op(run_folder):
    done = snakemake(run_folder)
    assert done.returncode == 0, done.stderr
    rows = table(run_folder)
    data = run_folder / "data"
    assert sorted(rows.index) == sorted(p.name for p in data.iterdir())
    md5sum = subprocess.run(["md5sum", *sorted(p.name for p in data.iterdir())], cwd=data, capture_output=True,
                            text=True, check=True).stdout
    for line in md5sum.splitlines():
        digest, name = line.split("  ", 1)
        assert rows.loc[name, "md5"] == digest
        assert rows.loc[name, "etag"] == reference_etag((data / name).read_bytes(), PART)
    assert rows.loc["BIG_L001_R1_001.fastq", "etag"].endswith("-2")
    assert rows.loc["S1_L001_R1_001.fastq.gz", "reads"] == 300
    assert set(rows["status"]) == {"OK"}
    for sample in ("S1_L001_R1_001", "BIG_L001_R1_001"):
        check = subprocess.run(["md5sum", "-c", str(run_folder / f"results/checksums/{sample}_md5.txt")],
                               cwd=data, capture_output=True, text=True)
        assert check.returncode == 0 and ": OK" in check.stdout
    summary = json.loads((run_folder / "results" / "summary.json").read_text())
    assert summary["outcome"] == "SUCCEEDED" and summary["files"]["total"] == 4
    assert summary["samples"]["verdicts"]["S1_L001_R2_001"]["reads"] == 300
    xlsx = pd.read_excel(run_folder / "results" / "seqfixity.xlsx", sheet_name="Files").set_index("file")
    assert list(xlsx["md5"].sort_index()) == list(rows["md5"].sort_index())
    assert (run_folder / "results" / "seqfixity_mqc.tsv").read_text().startswith("# id: seqfixity\n")
    # every digest job names the MD5 path it ran: the compiled core's fastest, never a silent hashlib
    from seqfixity.engine import lanes

    for log in (run_folder / "results" / "logs" / "digest").iterdir():
        assert f"MD5 backend: {lanes.available_backends()[0]}," in log.read_text(), log

    again = snakemake(run_folder)
    assert again.returncode == 0 and "Nothing to be done" in again.stderr

    records = {p.name: p.stat().st_mtime_ns for p in (run_folder / "results" / "records").iterdir()}
    time.sleep(0.05)
    os.utime(data / "BIG_L001_R1_001.fastq")
    touched = snakemake(run_folder)
    assert touched.returncode == 0, touched.stderr
    assert "digest           1" in touched.stderr.replace("\t", " ")
    after = {p.name: p.stat().st_mtime_ns for p in (run_folder / "results" / "records").iterdir()}
    changed = sorted(name for name in records if records[name] != after[name])
    assert changed == ["BIG_L001_R1_001.jsonl"]
    throughput = json.loads((run_folder / "results" / "summary.json").read_text())["throughput"]
    big = (data / "BIG_L001_R1_001.fastq").stat().st_size
    assert throughput["jobs"] == 1 and throughput["bytes_read"] == big  # this run's job, not the first run's too

    # A sample taken out of the run takes its per-sample reports with it: md5sum -c over all of them passes.
    (data / "S2_L001_R1_001.fastq").unlink()
    removed = snakemake(run_folder)
    assert removed.returncode == 0, removed.stderr
    results = run_folder / "results"
    assert sorted(p.name for p in (results / "records").iterdir()) == [
        "BIG_L001_R1_001.jsonl", "S1_L001_R1_001.jsonl", "S1_L001_R2_001.jsonl"]
    assert "S2_L001_R1_001" not in table(run_folder)["sample"].tolist()
    every = sorted(str(p) for p in (results / "checksums").iterdir())
    check = subprocess.run(["md5sum", "-c", *every], cwd=data, capture_output=True, text=True)
    assert check.returncode == 0 and check.stdout.count(": OK") == 3, check.stdout + check.stderr


def test_invalid_fastq_gets_its_verdict_and_fails_the_run_keeping_reports(run_folder):
    data = run_folder / "data"
    whole = gzip.compress(fastq_bytes(400, seed=9), mtime=0)
    (data / "TRUNC_R1.fastq.gz").write_bytes(whole[: len(whole) // 2])
    (data / "MALF_R1.fastq").write_bytes(fastq_bytes(20, seed=10).replace(b"\n+\n", b"\n-\n", 1))
    (data / "S2_L001_R2_001.fastq").write_bytes(fastq_bytes(119, seed=11))  # mate of S2 R1 with one read fewer
    done = snakemake(run_folder)
    assert done.returncode != 0
    # the pair's fault is reported once, on the file whose count differs (the one with fewer reads)
    assert "PARTIALLY_SUCCEEDED: 3 of 7 files failed in 3 of 7 samples (2 INVALID, 1 PAIR_MISMATCH)" in done.stderr
    rows = table(run_folder)
    assert rows.loc["TRUNC_R1.fastq.gz", "fastq_verdict"] == "TRUNCATED"
    assert rows.loc["MALF_R1.fastq", "fastq_verdict"] == "MALFORMED"
    assert "record 1 (line 1): third line" in rows.loc["MALF_R1.fastq", "problem"]
    assert rows.loc["S2_L001_R2_001.fastq", "status"] == "PAIR_MISMATCH"
    assert rows.loc["S2_L001_R2_001.fastq", "problem"].startswith("R2 has 119 reads, R1 120")
    assert set(rows.loc[["S1_L001_R1_001.fastq.gz", "S1_L001_R2_001.fastq.gz", "BIG_L001_R1_001.fastq",
                         "S2_L001_R1_001.fastq"], "status"]) == {"OK"}
    summary = json.loads((run_folder / "results" / "summary.json").read_text())
    assert summary["outcome"] == "PARTIALLY_SUCCEEDED" and summary["exit_code"] == 16


def test_kill_during_run_then_rerun_gives_the_same_bytes(run_folder):
    big = run_folder / "data" / "HUGE_R1.fastq.gz"
    big.write_bytes(gzip.compress(fastq_bytes(60_000, seed=12, length=100), compresslevel=1, mtime=0))
    assert snakemake(run_folder).returncode == 0
    reference = report_bytes(run_folder)
    shutil.rmtree(run_folder / "results")
    command = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(run_folder),
               "--configfile", str(run_folder / "config.yaml"), "--cores", "1"]
    process = subprocess.Popen(command, env=cli_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    deadline = time.time() + 60
    logs = run_folder / "results" / "logs" / "digest"
    while time.time() < deadline and not (logs.is_dir() and len(list(logs.iterdir())) >= 2):
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert not (run_folder / "results" / "summary.json").exists()
    for report in (run_folder / "results").rglob("*"):
        assert not report.name.endswith(".tmp") or report.parent.name != "results"
    assert snakemake(run_folder, "--unlock").returncode == 0  # a kill -9 leaves Snakemake's lock behind
    rerun = snakemake(run_folder, "--rerun-incomplete")
    assert rerun.returncode == 0, rerun.stderr
    assert report_bytes(run_folder) == reference


def test_duplicate_sample_ids_from_two_folders_name_both(run_folder):
    other = run_folder / "other"
    other.mkdir()
    (other / "S2_L001_R1_001.fq").write_bytes(fastq_bytes(5))
    (run_folder / "config.yaml").write_text(CONFIG.replace("inputs: [data]", "inputs: [data, other]"))
    done = snakemake(run_folder, "-n")
    assert done.returncode != 0
    message = done.stdout + done.stderr
    assert "sample id 'S2_L001_R1_001' stands for files in two folders: data/S2_L001_R1_001.fastq and " \
           "other/S2_L001_R1_001.fq" in message
    sheet = run_folder / "samples.tsv"
    sheet.write_text("sample\tfile\nS2_other\tother/S2_L001_R1_001.fq\n")
    (run_folder / "config.yaml").write_text(CONFIG.replace("inputs: [data]", "inputs: [data, other]")
                                            + "samples: samples.tsv\n")
    done = snakemake(run_folder)
    assert done.returncode == 0, done.stderr
    assert (run_folder / "results" / "checksums" / "S2_other_md5.txt").read_text().endswith("  S2_L001_R1_001.fq\n")


def test_sample_sheet_by_absolute_path_and_its_edits_and_a_dangling_link_reach_the_reports(run_folder):
    data = run_folder / "data"
    (data / "GONE_R1.fastq").symlink_to("nowhere.fastq")  # a copy that never arrived
    sheet = run_folder / "samples.tsv"
    sheet.write_text(f"sample\tfile\nP1\t{data}/S2_L001_R1_001.fastq\n")
    (run_folder / "config.yaml").write_text(CONFIG + "samples: samples.tsv\n")
    done = snakemake(run_folder)
    assert done.returncode != 0
    assert "1 of 5 files failed in 1 of 5 samples (1 UNREADABLE)\nseqfixity:   GONE_R1.fastq: UNREADABLE: dangling " \
           "symbolic link" in done.stderr
    assert "seqfixity: report: results/report.html (every file: results/seqfixity.tsv)" in done.stderr
    rows = table(run_folder)
    assert len(rows) == 5 and rows.loc["S2_L001_R1_001.fastq", "sample"] == "P1"
    assert set(rows.drop("GONE_R1.fastq")["status"]) == {"OK"}

    sheet.write_text(f"sample\tfile\nP2\t{data}/S2_L001_R1_001.fastq\n")
    again = snakemake(run_folder)
    assert "digest           1" in again.stderr.replace("\t", " ")
    assert table(run_folder).loc["S2_L001_R1_001.fastq", "sample"] == "P2"
    check = subprocess.run(["md5sum", "-c", run_folder / "results/checksums/P2_md5.txt"], cwd=data,
                           capture_output=True)
    assert check.returncode == 0

    (run_folder / "results" / "checksums" / "P3_md5.txt").mkdir()  # the digest job cannot write its report
    sheet.write_text(f"sample\tfile\nP3\t{data}/S2_L001_R1_001.fastq\n")
    failed = snakemake(run_folder)
    assert "seqfixity: a job failed before the reports were written (see its log above, or results/logs/); " \
           "fix it and run the same command again" in failed.stderr
    assert "seqfixity: report:" not in failed.stderr
    assert not (run_folder / "results" / "summary.json").exists()  # the earlier run's, removed before the jobs

    (run_folder / "config.yaml").write_text(CONFIG + "samples: gone.tsv\n")
    missing = snakemake(run_folder, "-n")
    assert missing.returncode != 0
    message = missing.stdout + missing.stderr
    assert "seqfixity: gone.tsv: cannot read sample sheet: No such file or directory" in message
    assert "FileNotFoundError" not in message


def test_a_misspelt_config_key_or_a_bad_size_is_one_line_and_one_folder_may_be_a_string(run_folder):
    for extra, expected in (("partsize: 16MiB", "seqfixity: unknown config key 'partsize' (did you mean 'part_size'?"),
                            ("batch_bytes: 1XB", "seqfixity: batch_bytes: unknown unit 'XB' in '1XB'"),
                            ("patterns: ['*.FQ.GZ']", "seqfixity: no input files: nothing in data matches *.FQ.GZ "
                                                      "(patterns are case-sensitive)")):
        (run_folder / "config.yaml").write_text(f"{CONFIG}{extra}\n")
        done = snakemake(run_folder, "-n")
        assert done.returncode != 0
        assert expected in done.stdout + done.stderr
    (run_folder / "config.yaml").write_text(CONFIG.replace("inputs: [data]\n", "naming: off\n"))  # YAML: false
    one_folder = snakemake(run_folder, "-n", "--config", "inputs=data", "patterns=*.fastq")  # strings, not lists
    assert one_folder.returncode == 0, one_folder.stdout + one_folder.stderr
    assert "digest           2" in one_folder.stdout.replace("\t", " ")


def test_lint_is_clean(run_folder):
    lint = snakemake(run_folder, "--lint")
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert "Congratulations" in lint.stdout + lint.stderr
