"""A BCL Convert delivery through the real workflow: samples as Illumina names them, every file accounted for.

The oracles are independent of seqfixity: coreutils md5sum (-c) on every {sample}_md5.txt, the FASTQ each file
was made from (read counts), the real gzip/bzip2/zstd (how the files were compressed, and `bzip2 -t` for the
cut copy), and ICA's reference pipeline (`md5sum FILE > ${name up to its first '.'}_md5.txt`) for sample_id: ica.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml

from illumina_delivery import (
    CLUSTERS,
    LANES,
    READS,
    SAMPLES,
    compress,
    fastq,
    make_delivery,
    name,
    sheet_v1,
    sheet_v2,
    write_fake_orad,
)
from test_workflow import snakemake

pytestmark = pytest.mark.slow
BASE = {"inputs": ["run"], "outdir": "results", "recursive": True, "batch_size": 4}


def configure(root: Path, **settings) -> None:
    (root / "config.yaml").write_text(yaml.safe_dump({**BASE, **settings}))


def rows(root: Path) -> pd.DataFrame:
    return pd.read_csv(root / "results" / "seqfixity.tsv", sep="\t", keep_default_na=False).set_index("file")


def summary(root: Path) -> dict:
    return json.loads((root / "results" / "summary.json").read_text())


def md5sum_check(root: Path, folder: Path) -> subprocess.CompletedProcess[str]:
    every = sorted(str(p) for p in (root / "results" / "checksums").iterdir())
    return subprocess.run(["md5sum", "-c", *every], cwd=folder, capture_output=True, text=True)


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    """The whole delivery, checked against both of its sheets."""
    root = tmp_path_factory.mktemp("clean")
    make_delivery(root)
    configure(root, samples=["run/SampleSheet.csv", "run/Reports/fastq_list.csv"])
    done = snakemake(root)
    assert done.returncode == 0, done.stderr[-3000:]
    (root / "said.txt").write_text(done.stdout + done.stderr)
    return root


def test_a_sample_is_its_lanes_and_reads_in_one_md5_file_that_md5sum_accepts(clean):
    checksums = sorted(p.name for p in (clean / "results" / "checksums").iterdir())
    assert checksums == sorted(f"{sample}_md5.txt" for sample in [*SAMPLES, "Undetermined"])
    a = (clean / "results" / "checksums" / "A_md5.txt").read_text().splitlines()
    assert sorted(line.split("  ", 1)[1] for line in a) == sorted(name("A", lane, read) for lane in LANES
                                                                   for read in READS)
    check = md5sum_check(clean, clean / "run")
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count(": OK") == (len(SAMPLES) + 1) * len(LANES) * len(READS)


def test_reads_are_clusters_with_the_per_read_counts_beside_them(clean):
    result = summary(clean)
    assert result["outcome"] == "SUCCEEDED", result["line"]
    for sample in ("A", "C", "D"):  # gzip, bzip2, zstd: each validated from the same read
        entry = result["samples"]["verdicts"][sample]
        assert entry["reads"] == entry["clusters"] == CLUSTERS * len(LANES)
        assert entry["reads_by_read"] == {read: CLUSTERS * len(LANES) for read in READS}
        assert entry["pairs"] == "OK" and entry["files"] == 6 and entry["verdict"] == "OK"
    table = rows(clean)
    assert int(table.loc[name("C", 1, "R1"), "reads"]) == int(table.loc[name("D", 2, "I1"), "reads"]) == CLUSTERS
    ora = table.loc[name("E", 1, "R1")]
    assert (ora["fastq_verdict"], ora["status"]) == ("NOT_VALIDATED", "OK") and "orad" in ora["problem"]
    assert result["files"]["not_validated"] == len(LANES) * len(READS)


def test_files_no_pattern_matches_are_counted_and_named(clean):
    unmatched = summary(clean)["unmatched_files"]
    expected = ["run/Reports/Demultiplex_Stats.csv", "run/Reports/fastq_list.csv", "run/RunInfo.xml",
                "run/SampleSheet.csv"]
    assert unmatched == {"count": 4, "first": expected}
    said = (clean / "said.txt").read_text()  # the end-of-run message names them too
    assert f"seqfixity: 4 files under the inputs match no pattern and were not checked: {', '.join(expected)}" in said


def test_naming_lint_does_not_trip_on_illumina_names(clean):
    result = summary(clean)
    assert result["naming"]["findings"] == [] and "before _S{n}" in result["naming"]["counted"]
    assert result["notes"] == []


@pytest.fixture(scope="module")
def faulty(tmp_path_factory) -> Path:
    """The delivery with five faults planted; checked against its SampleSheet v2."""
    root = tmp_path_factory.mktemp("faulty")
    run = make_delivery(root)
    (run / name("B", 2, "R2")).unlink()  # an orphan R1
    (run / name("C", 1, "I1")).unlink()  # a lane without its index read
    short = fastq("A", 2, "R2", CLUSTERS - 1)  # one read short
    compress(short, "gz", run / name("A", 2, "R2"))
    bz2 = run / name("C", 2, "R2")
    bz2.write_bytes(bz2.read_bytes()[:-40])  # a cut copy
    assert subprocess.run(["bzip2", "-t", str(bz2)], capture_output=True).returncode != 0  # the oracle agrees
    compress(fastq("X", 1, "R1"), "gz", run / "X_S9_L001_R1_001.fastq.gz")  # a sample the sheet does not name
    configure(root, samples="run/SampleSheet.csv")
    done = snakemake(root)
    assert done.returncode != 0
    return root


def test_each_planted_fault_appears_exactly_once_where_expected(faulty):
    table = rows(faulty)
    failed = table[table["status"] != "OK"]
    assert sorted(zip(failed.index, failed["status"], strict=True)) == sorted([
        (name("B", 2, "R2"), "MISSING"),
        (name("C", 1, "I1"), "MISSING"),
        (name("A", 2, "R2"), "PAIR_MISMATCH"),
        (name("C", 2, "R2"), "INVALID"),
        ("X_S9_L001_R1_001.fastq.gz", "EXTRA"),
    ])
    assert "orphan mate" in failed.loc[name("B", 2, "R2"), "problem"]
    assert name("B", 2, "R1") in failed.loc[name("B", 2, "R2"), "problem"]
    assert "index read missing" in failed.loc[name("C", 1, "I1"), "problem"]
    assert failed.loc[name("A", 2, "R2"), "problem"].startswith(f"R2 has {CLUSTERS - 1} reads, R1 and I1 {CLUSTERS}")
    assert failed.loc[name("C", 2, "R2"), "problem"].startswith("TRUNCATED: bzip2 stream ends inside")
    assert "SampleSheet.csv" in failed.loc["X_S9_L001_R1_001.fastq.gz", "problem"]
    result = summary(faulty)
    problems = [p for s in result["samples"]["verdicts"].values() for p in s["problems"]]
    assert len(problems) == 5
    assert result["samples"]["verdicts"]["A"]["pairs"].startswith("R2 has 59 reads")
    assert result["samples"]["verdicts"]["A"]["reads_by_read"] == {"I1": 120, "R1": 120, "R2": 119}
    assert result["exit_code"] == 4 | 8 | 16


def test_md5sum_accepts_every_checksum_file_of_a_faulty_delivery_too(faulty):
    check = md5sum_check(faulty, faulty / "run")
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.parametrize("sheet", [sheet_v1(), sheet_v2(lanes=False)], ids=["v1", "v2-without-lanes"])
def test_sample_sheets_name_a_missing_sample_and_lane(tmp_path, sheet):
    run = make_delivery(tmp_path)
    for lane in LANES:
        for read in READS:
            (run / name("D", lane, read)).unlink()  # sample D never arrived
    for read in READS:
        (run / name("B", 1, read)).unlink()  # nor lane 1 of B
    (run / "SampleSheet.csv").write_text(sheet)
    configure(tmp_path, samples="run/SampleSheet.csv")
    assert snakemake(tmp_path).returncode != 0
    missing = rows(tmp_path).query("status == 'MISSING'")
    expected = {name("B", 1, read) for read in READS} | {name("D", lane, read).replace(".zst", ".gz")
                                                          for lane in LANES for read in READS}
    assert set(missing.index) == expected
    assert all("named by SampleSheet.csv line" in problem for problem in missing["problem"])


def test_sample_id_ica_reproduces_icas_reference_reports_byte_for_byte(tmp_path):
    run = make_delivery(tmp_path)
    configure(tmp_path, sample_id="ica")
    done = snakemake(tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    checksums = tmp_path / "results" / "checksums"
    files = sorted(p for p in run.iterdir() if p.is_file() and ".fastq." in p.name)
    assert sorted(p.name for p in checksums.iterdir()) == sorted(f"{p.name.split('.', 1)[0]}_md5.txt" for p in files)
    for path in files:  # ICA's pipeline: md5sum FILE > ${id}_md5.txt, id = name.takeWhile { it != '.' }
        reference = subprocess.run(["md5sum", path.name], cwd=run, capture_output=True, check=True).stdout
        assert (checksums / f"{path.name.split('.', 1)[0]}_md5.txt").read_bytes() == reference
        records = (tmp_path / "results" / "records" / f"{path.name.split('.', 1)[0]}.jsonl").read_text().splitlines()
        assert [json.loads(line)["path"] for line in records] == [f"run/{path.name}"]


def test_an_ora_decoder_streams_the_fastq_to_the_same_check(tmp_path):
    run = make_delivery(tmp_path)
    orad = write_fake_orad(tmp_path)
    configure(tmp_path, patterns=["*.fastq.ora"], ora_decoder=f"{orad} --ora-reference /refs/oradata")
    done = snakemake(tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    table = rows(tmp_path)
    assert set(table["fastq_verdict"]) == {"OK"} and set(table["reads"]) == {CLUSTERS}
    broken = run / name("E", 1, "R2")
    broken.write_bytes(b"not ORA at all")
    configure(tmp_path, patterns=["*.fastq.ora"], ora_decoder=str(orad))
    assert snakemake(tmp_path).returncode != 0
    assert rows(tmp_path).loc[broken.name, "problem"] == "CORRUPT: orad exited with status 1: orad: not an ORA file"


def test_patterns_all_checksums_the_whole_delivery_folder_by_folder(tmp_path):
    run = make_delivery(tmp_path)
    configure(tmp_path, patterns="all", validate="none")
    done = snakemake(tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    result = summary(tmp_path)
    assert result["unmatched_files"]["count"] == 0
    reports = (tmp_path / "results" / "checksums" / "Reports_md5.txt").read_text()
    assert "  fastq_list.csv\n" in reports and "  Demultiplex_Stats.csv\n" in reports
    assert "  SampleSheet.csv\n" in (tmp_path / "results" / "checksums" / "run_md5.txt").read_text()
    for folder in (run, run / "Reports"):
        listing = (tmp_path / "results" / "checksums" / f"{folder.name}_md5.txt")
        check = subprocess.run(["md5sum", "-c", str(listing)], cwd=folder, capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
    assert result["files"]["total"] == sum(len(files) for _, _, files in os.walk(run))
