"""A re-run digest job reads only the files that changed; the others keep their earlier records, byte for byte."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conftest import report_bytes, run_cli
from test_fastq import fastq_bytes
from test_workflow import reference_etag, snakemake

PART = 5 << 20
CONFIG = f"""\
inputs: [data]
part_size: {PART}
batch_size: 100
large_bytes: 8MiB
outdir: results
"""
SMALL = ["A_R1.fastq", "A_R2.fastq", "B_R1.fastq.gz", "C_R1.fq", "D_R1.fastq", "E_R1.fastq.gz"]
OLD = time.time() - 3600
TOUCHED = "C_R1.fq"  # over 1 MB: Snakemake re-runs a job for a touched input of that size (it compares the
                     # checksums of smaller ones, so touching those re-runs nothing)


def _write(path: Path, seed: int) -> None:
    data = fastq_bytes(9000 if path.name == TOUCHED else 100, seed=seed)
    path.write_bytes(gzip.compress(data, mtime=0) if path.name.endswith(".gz") else data)


@pytest.fixture
def run_folder(tmp_path: Path) -> Path:
    """data/ with six small FASTQs (one batch; one of 1.1 MB), last modified an hour ago; config.yaml."""
    data = tmp_path / "data"
    data.mkdir()
    for seed, name in enumerate(SMALL):
        _write(data / name, seed)
        os.utime(data / name, (OLD, OLD))
    (tmp_path / "config.yaml").write_text(CONFIG)
    return tmp_path


def counts(folder: Path) -> tuple[int, int]:
    """(files read, files reused) of the one digest job, from its --done JSON."""
    batches = list((folder / "results" / ".seqfixity" / "batches").iterdir())
    assert len(batches) == 1
    done = json.loads(batches[0].read_text())
    assert done["files"] == len(SMALL) and done["read"] + done["reused"] == done["files"]
    return done["read"], done["reused"]


def run(folder: Path, *args: str) -> tuple[int, int]:
    """Run the workflow, check it succeeded and its reports agree with md5sum; return (read, reused)."""
    done = snakemake(folder, *args)
    assert done.returncode == 0, done.stderr
    assert_reports_match_md5sum(folder)
    return counts(folder)


def assert_reports_match_md5sum(folder: Path) -> None:
    data = folder / "data"
    for name in SMALL:
        md5sum = subprocess.run(["md5sum", name], cwd=data, capture_output=True, check=True).stdout
        sample = name.split(".", 1)[0]
        assert (folder / "results" / "checksums" / f"{sample}_md5.txt").read_bytes() == md5sum
        record = json.loads((folder / "results" / "records" / f"{sample}.jsonl").read_text())
        assert record["md5"] == md5sum.split()[0].decode()
        assert record["size"] == (data / name).stat().st_size


def settle() -> None:
    """Wait 2 s after a change: a file read sooner after its last change is read again by the next run."""
    time.sleep(2.1)


def freshreport_bytes(folder: Path) -> dict[str, bytes]:
    """The reports of a run from scratch over the same files (in a copy of the run folder)."""
    copy = folder.parent / "fresh"
    shutil.copytree(folder, copy, ignore=shutil.ignore_patterns("results", ".snakemake"), copy_function=os.link)
    done = snakemake(copy)
    assert done.returncode == 0, done.stderr
    return report_bytes(copy)


@pytest.mark.slow
def test_touching_or_changing_one_small_file_rereads_only_it(run_folder):
    data = run_folder / "data"
    assert run(run_folder) == (len(SMALL), 0)

    os.utime(data / TOUCHED)  # Snakemake re-runs the batch's job
    settle()
    assert run(run_folder) == (1, len(SMALL) - 1)

    before = (data / "D_R1.fastq").read_bytes()
    changed = before.replace(b"A", b"C", 1)
    assert changed != before and len(changed) == len(before)
    (data / "D_R1.fastq").write_bytes(changed)  # same size, new content and mtime
    mate = data / "A_R2.fastq"  # replaced as rsync -t does: same size and mtime, a new inode
    replacement = data / "A_R2.fastq.new"
    replacement.write_bytes(mate.read_bytes().replace(b"G", b"T", 1))
    mtime = mate.stat().st_mtime_ns
    os.utime(replacement, ns=(mtime, mtime))
    replacement.rename(mate)
    settle()
    assert run(run_folder) == (2, len(SMALL) - 2)

    assert run(run_folder, "--forcerun", "digest") == (0, len(SMALL))
    assert report_bytes(run_folder) == freshreport_bytes(run_folder)


@pytest.mark.slow
def test_changed_settings_or_reuse_off_reread_every_file(run_folder):
    assert run(run_folder) == (len(SMALL), 0)
    reference = report_bytes(run_folder)

    off = snakemake(run_folder, "--config", "reuse_unchanged=false")
    assert off.returncode == 0 and "Nothing to be done" in off.stderr  # reuse is no reason to re-run
    assert run(run_folder, "--forcerun", "digest", "--config", "reuse_unchanged=false") == (len(SMALL), 0)
    assert report_bytes(run_folder) == reference

    assert run(run_folder, "--config", f"part_size={2 * PART}") == (len(SMALL), 0)
    record = json.loads((run_folder / "results" / "records" / "A_R1.jsonl").read_text())
    assert record["etag"] == reference_etag((run_folder / "data" / "A_R1.fastq").read_bytes(), 2 * PART)
    assert record["etag_part_size"] == 2 * PART  # the file is under the threshold: its ETag is its MD5 either way

    assert run(run_folder, "--config", "validate=gzip") == (len(SMALL), 0)
    assert run(run_folder, "--config", "validate=gzip", "--forcerun", "digest") == (0, len(SMALL))


def test_digest_reuses_nothing_modified_less_than_2_s_before_it_read(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for seed, name in enumerate(SMALL[:3]):
        _write(data / name, seed)
    os.utime(data / SMALL[0], (OLD, OLD))
    paths = sorted(str(p) for p in data.iterdir())

    def digest(*args: str) -> dict:
        for path in paths[1:]:
            os.utime(path)  # modified just now: read, and read again by the next run
        done = run_cli("digest", *paths, "--outdir", tmp_path / "out", "--done", tmp_path / "done.json", *args)
        assert done.returncode == 0, done.stderr
        return json.loads((tmp_path / "done.json").read_text())

    assert digest()["read"] == 3
    again = digest()
    fresh_bytes = sum(os.path.getsize(p) for p in paths[1:])
    assert (again["read"], again["reused"], again["bytes_read"]) == (2, 1, fresh_bytes)
    assert digest("--no-reuse")["read"] == 3
    (tmp_path / "off.yaml").write_text("reuse_unchanged: false\n")
    assert digest("--config", str(tmp_path / "off.yaml"))["read"] == 3
    assert digest("--config", str(tmp_path / "off.yaml"), "--reuse")["read"] == 2
    assert digest("--naming", "off")["read"] == 3
    assert (tmp_path / "out" / ".seqfixity" / "reuse" / "A_R1.json").is_file()
