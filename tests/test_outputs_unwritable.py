"""An output that cannot be written is one line naming it and exit 128, never a traceback or a partial file."""

from __future__ import annotations

import subprocess

from conftest import run_cli
from test_fastq import fastq_bytes


def _one_line(done: subprocess.CompletedProcess[bytes], *words: str) -> str:
    stderr = done.stderr.decode()
    assert done.returncode == 128, stderr
    assert "Traceback" not in stderr and stderr.count("\n") == 1, stderr
    assert all(word in stderr for word in words), stderr
    return stderr


def test_reports_that_cannot_be_written_name_the_report_and_what_to_do(tmp_path):
    fastq = tmp_path / "S1_R1.fastq"
    fastq.write_bytes(fastq_bytes(5, seed=1))
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")

    # An output folder under a file: the report's own path and the reason.
    _one_line(run_cli("hash", fastq, "-o", blocker / "sums.md5"),
              f"{blocker}/sums.md5: cannot write: part of its folder path is a file")
    done = run_cli("digest", fastq, "--outdir", tmp_path / "out")
    assert done.returncode == 0, done.stderr
    _one_line(run_cli("aggregate", tmp_path / "out" / "records" / "S1_R1.jsonl", "--outdir", blocker),
              f"{blocker}/seqfixity.tsv: cannot write: part of its folder path is a file")
    _one_line(run_cli("check", "--report", blocker / "r.json", tmp_path / "out" / "checksums" / "S1_R1_md5.txt"),
              f"{blocker}/r.json: cannot write")

    # A folder where the report goes: said so, with the way out; the old folder is left as it was.
    (tmp_path / "out" / "checksums" / "S1_R1_md5.txt").unlink()
    (tmp_path / "out" / "checksums" / "S1_R1_md5.txt").mkdir()
    _one_line(run_cli("digest", fastq, "--outdir", tmp_path / "out", "--no-reuse"),
              "S1_R1_md5.txt: cannot write: Is a directory; a folder has its name; move it away")
    leftovers = [p.name for p in (tmp_path / "out" / "checksums").iterdir()]
    assert leftovers == ["S1_R1_md5.txt"]  # no temporary file left behind
