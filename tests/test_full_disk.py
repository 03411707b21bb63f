"""A full disk: a real tmpfs of 256 KiB, filled to the last byte, mounted by the test in a mount namespace of its
own (``unshare --mount``, so nothing stays mounted), with the outputs on it. Every failed write names the file and
the reason on the terminal, with exit 128 (or the verdict bits when only stderr is on the full disk); nothing
partial is left; and a workflow run whose output folder is on it says "No space left on device" for each job."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, cli_env
from test_fastq import fastq_bytes

pytestmark = pytest.mark.slow
NO_SPACE = "No space left on device"
# Runs "$@" with $FULL a full tmpfs; lists the files then on it (but the filler) into $LISTING, as PATH<TAB>SIZE.
FULL_DISK = r"""
set -u
mount -t tmpfs -o size=256k,mode=1777 seqfixity-full "$FULL" || exit 200
head -c 1048576 /dev/zero > "$FULL/.filler" 2>/dev/null
[ "$(df --output=avail -B1 "$FULL" | tail -n 1 | tr -d ' ')" = 0 ] || exit 201
code=0
"$@" || code=$?
(cd "$FULL" && find . -type f ! -name .filler -printf '%P\t%s\n' | sort) > "$LISTING"
exit $code
"""


def on_full_disk(full: Path, *command: str | os.PathLike[str]) -> tuple[subprocess.CompletedProcess[str], dict]:
    """Run ``command`` with ``full`` a full file system; return the run and {file left on it: size}."""
    full.mkdir(exist_ok=True)
    listing = full.with_name(full.name + ".listing")
    namespace = ["unshare", "--mount"] + ([] if os.geteuid() == 0 else ["--map-root-user"])
    env = dict(cli_env(), FULL=str(full), LISTING=str(listing))
    done = subprocess.run([*namespace, "bash", "-c", FULL_DISK, "full-disk", *map(os.fspath, command)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode not in (200, 201), f"could not make a full tmpfs: {done.stderr}"
    left = dict(line.split("\t") for line in listing.read_text().splitlines())
    return done, {path: int(size) for path, size in left.items()}


def seqfixity(*args: str | os.PathLike[str]) -> list[str]:
    return [sys.executable, "-m", "seqfixity", *map(os.fspath, args)]


def one_line(done: subprocess.CompletedProcess[str], code: int, *words: str) -> None:
    """One line of stderr, holding every one of ``words``."""
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert all(word in done.stderr for word in words), done.stderr


@pytest.fixture
def inputs(tmp_path: Path) -> list[Path]:
    """Three small FASTQs (with a 200 KiB one: its checksum line is small, its record and report are not)."""
    data = tmp_path / "data"
    data.mkdir()
    paths = []
    for number, reads in enumerate((30, 40, 1500)):
        path = data / f"S{number}_L001_R1_001.fastq"
        path.write_bytes(fastq_bytes(reads, seed=number))
        paths.append(path)
    return paths


def test_every_output_on_a_full_disk_is_one_line_naming_it_and_nothing_is_left(tmp_path, inputs):
    full = tmp_path / "full"
    many = [str(p) for p in inputs] * 200  # a listing larger than any buffer: the write fails, not just the flush
    done, left = on_full_disk(full, *seqfixity("hash", *many, "-o", full / "sums.md5"))
    one_line(done, 128, f"seqfixity: {full}/sums.md5: cannot write: {NO_SPACE}; free some space")
    assert left == {}

    done, left = on_full_disk(full, "bash", "-c", 'exec "$@" > "$FULL/sums.md5"', "x", *seqfixity("hash", *many))
    one_line(done, 128, f"seqfixity: standard output ({full}/sums.md5): cannot write: {NO_SPACE}")

    manifest = tmp_path / "sums.md5"
    manifest.write_bytes(subprocess.run(["md5sum", *map(str, inputs)], capture_output=True, check=True).stdout)
    done, left = on_full_disk(full, *seqfixity("check", "--no-cache", "--quiet", "--report", full / "r.json",
                                              manifest))
    one_line(done, 128, f"seqfixity: {full}/r.json: cannot write: {NO_SPACE}")
    assert left == {}

    done, left = on_full_disk(full, *seqfixity("digest", *inputs, "--outdir", full / "out"))
    one_line(done, 128, f"seqfixity: {full}/out/", f": cannot write: {NO_SPACE}")
    assert left == {}

    records = tmp_path / "records"
    made = subprocess.run(seqfixity("digest", *inputs, "--outdir", records), capture_output=True, env=cli_env())
    assert made.returncode == 0, made.stderr
    done, left = on_full_disk(full, *seqfixity("aggregate", *sorted((records / "records").glob("*.jsonl")),
                                              "--outdir", full / "reports"))
    one_line(done, 128, f"seqfixity: {full}/reports/seqfixity.tsv: cannot write: {NO_SPACE}")
    assert left == {}


def test_stderr_on_a_full_disk_keeps_the_exit_status_and_log_keeps_the_message_on_the_terminal(tmp_path, inputs):
    full = tmp_path / "full"
    # The message is lost with stderr, but not the status: 4 (no such file), not 1 from a traceback.
    done, _ = on_full_disk(full, "bash", "-c", 'exec "$@" 2> "$FULL/err"', "x", *seqfixity("hash", tmp_path / "no"))
    assert done.returncode == 4, done.stderr

    # --log on the full disk: the command still succeeds; its messages and the reason reach the terminal.
    inputs[0].write_bytes(fastq_bytes(30, seed=0)[:-5])  # a cut last record: a message worth reading (its verdict)
    done, _ = on_full_disk(full, *seqfixity("digest", *inputs, "--outdir", tmp_path / "out",
                                           "--log", full / "digest.log"))
    assert done.returncode == 0, done.stderr
    assert f"seqfixity: {full}/digest.log: cannot write the log: {NO_SPACE}" in done.stderr
    assert f"seqfixity: {inputs[0]}: " in done.stderr

    # --log that can be written: messages stay in it, and reach the terminal only when the command fails.
    log = tmp_path / "digest.log"
    quiet = subprocess.run(seqfixity("digest", *inputs, "--outdir", tmp_path / "out2", "--log", log),
                           capture_output=True, text=True, env=cli_env())
    assert quiet.returncode == 0 and quiet.stderr == ""
    assert f"seqfixity: {inputs[0]}: " in log.read_text()
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    failed = subprocess.run(seqfixity("digest", *inputs, "--outdir", blocked, "--log", log), capture_output=True,
                            text=True, env=cli_env())
    assert failed.returncode == 128
    assert failed.stderr == log.read_text() and "cannot write: part of its folder path is a file" in failed.stderr


def test_a_workflow_run_with_its_output_folder_on_a_full_disk_says_why_each_job_failed(tmp_path, inputs):
    full = tmp_path / "full"
    (tmp_path / "config.yaml").write_text(f"inputs: [data]\nbatch_size: 2\noutdir: {full}/results\n")
    command = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(tmp_path),
               "--configfile", str(tmp_path / "config.yaml"), "--workflow-profile",
               str(REPO / "workflows" / "profiles" / "local"), "--cores", "2"]
    done, left = on_full_disk(full, *command)
    assert done.returncode != 0
    failed_jobs = set(re.findall(r"Error in rule digest:\n(?:    .*\n)*?    output: \S+/batches/(b[0-9a-f]+)\.json",
                                 done.stderr))
    assert failed_jobs
    said = {line for line in done.stderr.splitlines()
            if line.startswith(f"seqfixity: {full}/results/") and f": cannot write: {NO_SPACE}" in line}
    assert len(said) == len(failed_jobs), done.stderr[-4000:]  # one line per failed job, naming its file
    # Nothing partial: no report, record, checksum or temporary file; at most the (empty) logs.
    assert all(path.startswith("results/logs/") and size == 0 for path, size in left.items()), left
