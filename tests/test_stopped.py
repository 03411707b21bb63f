"""STOPPED, ICA's fourth batch outcome: real SIGINT and SIGTERM sent to real ``check``, ``verify`` and ``hash -o``
processes while they read. Each stops within a second with exit 130 or 143, ends with ``STOPPED: N of M judged``,
writes --report with the verdicts reached (true, by hashlib) and the files not yet judged, and leaves nothing
partial."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import cli_env, write_random

pytestmark = pytest.mark.slow
BIG = 2 << 30  # sparse: no disk used, but each takes seconds of MD5 to read


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, list[str], list[str]]:
    """data/ with three small random files (listed first) and three 2 GiB sparse files."""
    data = tmp_path / "data"
    data.mkdir()
    small = [f"small{n}.bin" for n in range(3)]
    for number, name in enumerate(small):
        write_random(data / name, 100_000 + number, seed=number)
    big = [f"big{n}.bin" for n in range(3)]
    for name in big:
        with open(data / name, "wb") as handle:
            handle.truncate(BIG)
    return data, small, big


def md5_of(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def read_so_far(pid: int) -> int:
    """Bytes the process has read (all its threads), from /proc/PID/io."""
    with open(f"/proc/{pid}/io") as io:
        return next(int(line.split()[1]) for line in io if line.startswith("rchar:"))


def stop_while_reading(command: list[str], signum: int, cwd: Path) -> tuple[subprocess.CompletedProcess, float]:
    """Start ``command``; once it has read the small files and 64 MiB of the big ones, send ``signum``; return the
    finished process and the seconds from the signal to its exit."""
    process = subprocess.Popen(command, cwd=cwd, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while read_so_far(process.pid) < 64 << 20:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the command never started reading"
        time.sleep(0.01)
    sent = time.monotonic()
    process.send_signal(signum)
    try:
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    took = time.monotonic() - sent
    return subprocess.CompletedProcess(command, process.returncode, out.decode(), err.decode()), took


def seqfixity(*args: str | os.PathLike[str]) -> list[str]:
    return [sys.executable, "-m", "seqfixity", *map(os.fspath, args)]


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_check_stopped_writes_the_verdicts_reached_and_the_files_not_judged(tmp_path, tree, signum, status):
    data, small, big = tree
    manifest = data / "MD5.txt"
    lines = [f"{md5_of(data / name)}  {name}\n" for name in small] + [f"{'0' * 32}  {name}\n" for name in big]
    manifest.write_text("".join(lines))
    report = tmp_path / "report.json"
    report.write_text("an older report\n")

    done, took = stop_while_reading(seqfixity("check", "--no-cache", "--jobs", "2", "--report", report, manifest),
                                    signum, tmp_path)
    assert done.returncode == status, done.stderr
    assert took < 1.0, f"{took:.2f} s from the signal to the exit"
    name = signal.Signals(signum).name
    expected_line = f"STOPPED: 3 of 6 judged ({name}; 3 OK)"
    assert done.stdout.splitlines() == [f"{n}: OK" for n in small] + [expected_line]
    written = json.loads(report.read_text())  # whole JSON: the older report replaced at once
    assert (written["outcome"], written["line"], written["exit_code"]) == ("STOPPED", expected_line, status)
    assert written["stopped_by"] == name and written["counts"] == {"OK": 3}
    assert [(f["path"], f["verdict"], f["expected"]["md5"]) for f in written["files"]] == \
        [(n, "OK", md5_of(data / n)) for n in small]
    assert written["not_judged"] == [{"path": n, "source": f"{manifest}:{line}"} for line, n in enumerate(big, 4)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "report.json"]  # no temporary file left


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_verify_stopped_writes_the_verdicts_reached_and_the_files_not_judged(tmp_path, tree, signum, status):
    data, small, big = tree
    export = tmp_path / "export.csv"
    with export.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Path", "Size", "Object ETag"])
        writer.writerows([f"/{n}", (data / n).stat().st_size, md5_of(data / n)] for n in small)
        writer.writerows([f"/{n}", BIG, "0" * 32] for n in big)
    report = tmp_path / "verify.json"

    done, took = stop_while_reading(seqfixity("verify", data, "--against", export, "--jobs", "2",
                                              "--report", report), signum, tmp_path)
    assert done.returncode == status, done.stderr
    assert took < 1.0, f"{took:.2f} s from the signal to the exit"
    name = signal.Signals(signum).name
    written = json.loads(report.read_text())
    assert written["outcome"] == "STOPPED" and written["exit_code"] == status and written["stopped_by"] == name
    verdicts = {f["path"]: f["verdict"] for f in written["files"]}
    assert {n: verdicts[n] for n in small} == dict.fromkeys(small, "OK")
    assert set(verdicts) <= set(small) | set(big)
    judged_big = [n for n in big if n in verdicts]
    assert all(verdicts[n] == "MISMATCH" for n in judged_big)  # a big file judged at all was read in full
    assert sorted(entry["path"] for entry in written["not_judged"]) == sorted(set(big) - set(judged_big))
    assert len(written["not_judged"]) >= 2  # two were being read (--jobs 2) when the signal came
    line = f"STOPPED: {len(verdicts)} of 6 judged ({name}; "
    assert written["line"].startswith(line) and done.stdout.splitlines()[-1] == written["line"]


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_hash_o_stopped_writes_nothing_and_says_how_far_it_got(tmp_path, tree, signum, status):
    data, small, big = tree
    out = tmp_path / "sums" / "MD5.txt"
    out.parent.mkdir()
    out.write_text("the older sums\n")
    done, took = stop_while_reading(seqfixity("hash", *(data / n for n in small + big), "-o", out), signum, tmp_path)
    assert done.returncode == status, done.stderr
    assert took < 1.0, f"{took:.2f} s from the signal to the exit"
    last = done.stderr.splitlines()[-1]
    assert last.startswith("seqfixity: STOPPED: ") and f" of 6 judged ({signal.Signals(signum).name}; " in last
    assert f"nothing written to {out})" in last
    assert out.read_text() == "the older sums\n" and [p.name for p in out.parent.iterdir()] == ["MD5.txt"]
    assert done.stdout == ""


def test_a_digest_job_stopped_by_sigterm_stops_within_a_second_and_leaves_no_partial_report(tmp_path, tree):
    """What scancel or Snakemake sends a workflow job: it stops at its next chunk, and its earlier reports stand."""
    data, small, big = tree
    out = tmp_path / "results"
    first = subprocess.run(seqfixity("digest", *(data / n for n in small), "--outdir", out, "--validate", "none"),
                           env=cli_env(), capture_output=True)
    assert first.returncode == 0, first.stderr
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    done, took = stop_while_reading(seqfixity("digest", *(data / n for n in small + big), "--outdir", out,
                                              "--validate", "none", "--no-reuse", "--done", tmp_path / "done.json"),
                                    signal.SIGTERM, tmp_path)
    assert done.returncode == 143, done.stderr
    assert took < 1.0, f"{took:.2f} s from the signal to the exit"
    assert done.stderr.splitlines()[-1] == "seqfixity: stopped by SIGTERM"
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before  # no temporary or partial file
    assert not (tmp_path / "done.json").exists()
