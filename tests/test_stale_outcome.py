"""A re-run that fails never leaves the earlier run's SUCCEEDED behind: once a digest (or aggregate) job of a run is
scheduled, the earlier summary.json, reports and pass markers are gone before any job starts; once a verify report
is, the verify marker. (On SLURM: tests/test_slurm.py.)"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, cli_env
from test_fastq import fastq_bytes
from test_workflow import snakemake

pytestmark = pytest.mark.slow
# A test-only hook: a `seqfixity $SEQFIXITY_TEST_FAIL_COMMAND` process (for digest: the batch holding
# $SEQFIXITY_TEST_FAIL_FILE) notes which of the run's outcome files exist as it starts ($SEQFIXITY_TEST_SEEN, one
# JSON line per start), then exits 1: a job that fails for good.
FAIL_HOOK = """\
import json, os, sys
_command = os.environ.get("SEQFIXITY_TEST_FAIL_COMMAND")
_file = os.environ.get("SEQFIXITY_TEST_FAIL_FILE", "")
if _command and sys.orig_argv[2:4] == ["seqfixity", _command] and any(a.endswith(_file) for a in sys.orig_argv):
    _results = os.environ["SEQFIXITY_TEST_RESULTS"]
    _names = ["summary.json", "seqfixity.tsv", ".seqfixity/passed", "verify.json", ".seqfixity/verified"]
    with open(os.environ["SEQFIXITY_TEST_SEEN"], "a") as _seen:
        _seen.write(json.dumps({n: os.path.exists(os.path.join(_results, n)) for n in _names}) + "\\n")
    sys.exit(1)
"""
OUTCOME_FILES = ("summary.json", "seqfixity.tsv", "seqfixity.xlsx", ".seqfixity/passed")


def write_run(folder: Path) -> None:
    data = folder / "data"
    data.mkdir()
    for number in range(4):
        (data / f"S{number}_L001_R1_001.fastq").write_bytes(fastq_bytes(20, seed=number))
    (folder / "config.yaml").write_text("inputs: [data]\nbatch_size: 2\noutdir: results\n")


def failing_env(folder: Path, command: str, name: str = "") -> dict[str, str]:
    """The environment that makes the ``seqfixity command`` job (for digest: of input ``name``) record what it
    sees and fail."""
    hooks = folder / "hooks"
    hooks.mkdir(exist_ok=True)
    (hooks / "sitecustomize.py").write_text(FAIL_HOOK)
    return {"PYTHONPATH": str(hooks), "SEQFIXITY_TEST_FAIL_COMMAND": command,
            "SEQFIXITY_TEST_FAIL_FILE": f"/{name}" if name else "", "SEQFIXITY_TEST_RESULTS": str(folder / "results"),
            "SEQFIXITY_TEST_SEEN": str(folder / "seen.jsonl")}


def seen(folder: Path) -> list[dict[str, bool]]:
    """What each failing job saw as it started."""
    return [json.loads(line) for line in (folder / "seen.jsonl").read_text().splitlines()]


def run_with(folder: Path, extra_env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The workflow as test_workflow.snakemake runs it, with ``extra_env`` (PYTHONPATH put first)."""
    env = cli_env()
    env.update(extra_env, PYTHONPATH=os.pathsep.join([extra_env["PYTHONPATH"], env["PYTHONPATH"]]))
    command = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(folder),
               "--configfile", str(folder / "config.yaml"), "--cores", "2", "--keep-going", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)


def test_a_forced_rerun_whose_digest_job_fails_leaves_no_success_behind(tmp_path):
    write_run(tmp_path)
    first = snakemake(tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    results = tmp_path / "results"
    assert json.loads((results / "summary.json").read_text())["outcome"] == "SUCCEEDED"
    assert (results / ".seqfixity" / "passed").exists()

    failed = run_with(tmp_path, failing_env(tmp_path, "digest", "S1_L001_R1_001.fastq"), "--forcerun", "digest")
    assert failed.returncode != 0
    assert "Error in rule digest:" in failed.stderr
    # Gone before the failing job started, and still gone after the run: no gate can read the old SUCCEEDED.
    assert seen(tmp_path) and all(not any(state.values()) for state in seen(tmp_path)), seen(tmp_path)
    assert not any((results / name).exists() for name in OUTCOME_FILES)
    assert "this run remakes the reports in results/: the earlier reports and pass markers are removed" \
        in failed.stderr

    # Fixed (the hook off), the same command again: reports and marker are back, SUCCEEDED.
    again = snakemake(tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert json.loads((results / "summary.json").read_text())["outcome"] == "SUCCEEDED"
    assert (results / ".seqfixity" / "passed").exists()


def test_a_run_with_no_digest_job_or_a_dry_run_keeps_the_earlier_outcome(tmp_path):
    write_run(tmp_path)
    assert snakemake(tmp_path).returncode == 0
    results = tmp_path / "results"
    before = {name: (results / name).stat().st_mtime_ns for name in OUTCOME_FILES}
    nothing = snakemake(tmp_path)
    assert nothing.returncode == 0 and "Nothing to be done" in nothing.stdout + nothing.stderr
    dry = snakemake(tmp_path, "-n", "--forcerun", "digest")
    assert dry.returncode == 0, dry.stderr[-3000:]
    assert {name: (results / name).stat().st_mtime_ns for name in OUTCOME_FILES} == before


def test_a_rerun_whose_aggregate_or_verify_fails_leaves_no_pass_or_verify_marker(tmp_path):
    """The same for the jobs after the digests: an aggregate to remake takes the pass marker with the reports, a
    verify report to remake takes the verify marker (an ICA export of the data, ETags = MD5s by hashlib)."""
    write_run(tmp_path)
    data = tmp_path / "data"
    rows = [f"/{p.name},{p.stat().st_size},{hashlib.md5(p.read_bytes()).hexdigest()}" for p in sorted(data.iterdir())]
    (tmp_path / "export.csv").write_text("Path,Size,Object ETag\n" + "\n".join(rows) + "\n")
    with (tmp_path / "config.yaml").open("a") as config:
        config.write("verify_against: export.csv\n")
    first = snakemake(tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    results = tmp_path / "results"
    assert json.loads((results / "verify.json").read_text())["outcome"] == "SUCCEEDED"
    assert (results / ".seqfixity" / "verified").exists() and (results / ".seqfixity" / "passed").exists()

    failed = run_with(tmp_path, failing_env(tmp_path, "verify"), "--forcerun", "verify_report")
    assert failed.returncode != 0 and "Error in rule verify_report:" in failed.stderr
    assert seen(tmp_path)[-1] == {"summary.json": True, "seqfixity.tsv": True, ".seqfixity/passed": True,
                                  "verify.json": False, ".seqfixity/verified": False}
    assert not (results / "verify.json").exists() and not (results / ".seqfixity" / "verified").exists()
    assert (results / ".seqfixity" / "passed").exists()  # not remade, still true

    failed = run_with(tmp_path, failing_env(tmp_path, "aggregate"), "--forcerun", "aggregate")
    assert failed.returncode != 0 and "Error in rule aggregate:" in failed.stderr
    assert not any(seen(tmp_path)[-1].values()), seen(tmp_path)
    assert not any((results / name).exists() for name in (*OUTCOME_FILES, ".seqfixity/verified"))
