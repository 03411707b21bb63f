"""The workflow on a real one-node SLURM cluster, through snakemake-executor-plugin-slurm.

The cluster comes from ``scripts/slurm-local-cluster.sh`` (munged, MariaDB, slurmdbd, slurmctld, slurmd). CI
starts it before pytest; run alone as root, these tests start it themselves and stop it afterwards. They are
skipped, with the reason, only when SLURM cannot start; with ``SEQFIXITY_REQUIRE_SLURM=1`` (CI) they fail instead.
Every Snakemake run is wrapped in ``timeout -k``: a plugin that cannot read job states waits forever.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from conftest import REPO, cli_env, report_bytes
from seqfixity.inputs.discover import DEFAULT_PATTERNS, Batch, discover, make_batches
from test_fastq import fastq_bytes

pytestmark = pytest.mark.slow
CLUSTER_SCRIPT = REPO / "scripts" / "slurm-local-cluster.sh"
SLURM_PROFILE = REPO / "workflows" / "profiles" / "slurm"
LOCAL_PROFILE = REPO / "workflows" / "profiles" / "local"
SUBMITTED = re.compile(r"submitted with SLURM jobid (\d+)")
RUN_TIMEOUT = 420
# A test-only hold point: with SEQFIXITY_TEST_HOLD set, the `seqfixity digest` process of the batch holding the
# named input file writes its SLURM job id next to the hold file and sleeps while the hold file exists, so that a
# test can scancel it mid-run.
HOLD_HOOK = """\
import os, sys, time
_hold = os.environ.get("SEQFIXITY_TEST_HOLD")
_file = os.environ.get("SEQFIXITY_TEST_HOLD_FILE", "")
if _hold and "digest" in sys.orig_argv and any(a.endswith(_file) for a in sys.orig_argv):
    if os.path.exists(_hold):
        with open(_hold + ".started", "a") as _f:
            _f.write(os.environ.get("SLURM_JOB_ID", "?") + "\\n")
    while os.path.exists(_hold):
        time.sleep(0.1)
"""


def cluster_script(command: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    """Run ``bash scripts/slurm-local-cluster.sh COMMAND``."""
    return subprocess.run(["timeout", "-k", "10", str(timeout), "bash", str(CLUSTER_SCRIPT), command],
                          capture_output=True, text=True)


@pytest.fixture(scope="module")
def slurm_env() -> Iterator[dict[str, str]]:
    """A running local cluster (started here when needed); the environment that reaches it."""
    started_here = False
    if cluster_script("status", 60).returncode != 0:
        reason = None
        if os.geteuid() != 0:
            reason = "not root, and the cluster is not running"
        else:
            started = cluster_script("start")
            started_here = True
            if started.returncode != 0:
                reason = (started.stderr.strip().splitlines() or ["no output"])[-1]
        if reason:
            if started_here:
                cluster_script("stop", 120)
            message = (f"SLURM could not start ({reason}); run `sudo bash scripts/slurm-local-cluster.sh start` "
                       "first (Debian: it installs slurmctld, slurmd, slurmdbd, munge, mariadb-server)")
            if os.environ.get("SEQFIXITY_REQUIRE_SLURM") == "1":
                pytest.fail(message)
            pytest.skip(message)
    env = cli_env()
    env["SLURM_CONF"] = cluster_script("env", 30).stdout.strip().split("=", 1)[1]
    yield env
    if started_here:
        cluster_script("stop", 120)


def command_line(workdir: Path, *args: str) -> list[str]:
    """Snakemake on this checkout's Snakefile in ``workdir`` with its config.yaml, under ``timeout -k``."""
    return ["timeout", "-k", "15", str(RUN_TIMEOUT), sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"),
            "-d", str(workdir), "--configfile", str(workdir / "config.yaml"), *args]


def slurm_args(*args: str) -> tuple[str, ...]:
    """The shipped SLURM profile, with the first status check sooner (a one-node test cluster starts jobs at once)."""
    return ("--profile", str(SLURM_PROFILE), "--slurm-init-seconds-before-status-checks", "2", "--latency-wait", "5",
            *args)


def finished(done: subprocess.CompletedProcess[str], workdir: Path,
             env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``done``, unless ``timeout`` killed the run: then cancel its jobs, clear Snakemake's locks and fail."""
    if done.returncode in (124, 137):
        cancel(env, submitted(done))
        shutil.rmtree(workdir / ".snakemake" / "locks", ignore_errors=True)
        pytest.fail(f"snakemake did not finish in {RUN_TIMEOUT} s:\n{done.stderr[-3000:]}")
    return done


def snakemake(workdir: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run the workflow in ``workdir``; return the completed process."""
    done = subprocess.run(command_line(workdir, *args), capture_output=True, text=True, env=env)
    return finished(done, workdir, env)


def on_slurm(workdir: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run the workflow on the cluster with the shipped SLURM profile."""
    return snakemake(workdir, env, *slurm_args(*args))


def submitted(done: subprocess.CompletedProcess[str]) -> list[str]:
    """The SLURM job ids a Snakemake run reports having submitted."""
    return SUBMITTED.findall(done.stderr + done.stdout)


def cancel(env: dict[str, str], jobs: list[str]) -> None:
    """Cancel SLURM jobs a killed run left behind."""
    if jobs:
        subprocess.run(["scancel", *jobs], env=env, capture_output=True, timeout=60)


def sacct(env: dict[str, str], jobs: list[str]) -> dict[str, tuple[str, str]]:
    """The accounting database's view: job id -> (state, comment naming the rule and wildcards)."""
    return {job: (row["State"], row["Comment"]) for job, row in sacct_rows(env, jobs).items()}


def sacct_rows(env: dict[str, str], jobs: list[str],
               columns: tuple[str, ...] = ("State", "Comment")) -> dict[str, dict[str, str]]:
    """The accounting database's view of ``jobs``: job id -> {column: value} (State without 'by <uid>')."""
    out = subprocess.run(["sacct", "-X", "-P", "-n", "-j", ",".join(jobs), "-o", ",".join(("JobID", *columns))],
                         env=env, capture_output=True, text=True, check=True, timeout=60).stdout
    rows = {}
    for line in filter(None, out.splitlines()):
        job, *values = line.split("|")
        rows[job] = dict(zip(columns, values, strict=True))
        if "State" in rows[job]:
            rows[job]["State"] = rows[job]["State"].split()[0]
    return rows


def rule_of(comment: str) -> str:
    """The rule name in the plugin's job comment ``rule_NAME[_wildcards_...]``."""
    return comment.removeprefix("rule_").split("_wildcards_")[0]


def write_inputs(folder: Path, small: int, large: int = 0, batch_size: int = 8) -> None:
    """``small`` one-file samples of a few KiB and ``large`` samples over ``large_bytes`` (1 MiB); config.yaml."""
    data = folder / "data"
    data.mkdir()
    for number in range(small):
        (data / f"S{number:03d}_L001_R1_001.fastq").write_bytes(fastq_bytes(12, seed=number))
    for number in range(large):
        big = data / f"BIG{number}_L001_R1_001.fastq"
        big.write_bytes(fastq_bytes(5_000, seed=100 + number, length=100))
        assert big.stat().st_size > 1 << 20
    (folder / "config.yaml").write_text(f"inputs: [data]\nbatch_size: {batch_size}\nlarge_bytes: 1MiB\n"
                                        "outdir: results\n")


def planned(folder: Path, batch_size: int) -> list[Batch]:
    """The batches the workflow makes of ``folder``'s data (content-defined; see seqfixity.inputs.discover)."""
    return make_batches(discover([str(folder / "data")], DEFAULT_PATTERNS), batch_size, 1 << 30, 1 << 20)


def batch_records(folder: Path) -> dict[str, int]:
    """The batches the run finished: name -> number of files hashed."""
    done = folder / "results" / ".seqfixity" / "batches"
    return {p.stem: json.loads(p.read_text())["files"] for p in done.glob("*.json")}


def local_reference(folder: Path, env: dict[str, str]) -> dict[str, bytes]:
    """Run the workflow locally (the default profile) and return its reports; remove them and the run's metadata."""
    done = snakemake(folder, env, "--profile", str(LOCAL_PROFILE), "--cores", "2")
    assert done.returncode == 0, done.stderr[-3000:]
    assert not submitted(done)
    reports = report_bytes(folder)
    shutil.rmtree(folder / "results")
    shutil.rmtree(folder / ".snakemake")
    return reports


def test_start_is_idempotent_and_status_sees_the_idle_node(slurm_env):
    before = cluster_script("status", 60)
    assert before.returncode == 0, before.stdout + before.stderr
    again = cluster_script("start", 120)
    assert again.returncode == 0, again.stderr
    after = cluster_script("status", 60)
    assert after.stdout.split("\n")[:5] == before.stdout.split("\n")[:5]  # the same daemons, the same PIDs
    assert re.search(r"\bidle\b", after.stdout)


def test_slurm_run_is_batched_accounted_and_identical_to_a_local_run(tmp_path, slurm_env):
    small, large, batch_size = 20, 1, 8
    write_inputs(tmp_path, small, large, batch_size)
    reference = local_reference(tmp_path, slurm_env)

    done = on_slurm(tmp_path, slurm_env)
    assert done.returncode == 0, done.stderr[-3000:]
    jobs = submitted(done)
    accounted = sacct(slurm_env, jobs)
    assert set(accounted) == set(jobs)
    assert {state for state, _ in accounted.values()} == {"COMPLETED"}
    # Batching reaches the scheduler: one SLURM job per batch, each batch of at most batch_size small files.
    batches = batch_records(tmp_path)
    # The aggregate and the check are local rules: they never wait in the queue.
    assert sorted(comment for _, comment in accounted.values()) == sorted(
        f"rule_digest_wildcards_{name}" for name in batches)
    assert sorted(batches) == sorted(batch.name for batch in planned(tmp_path, batch_size))
    assert sum(batches.values()) == small + large and max(batches.values()) <= batch_size
    assert len(jobs) < small + large
    assert report_bytes(tmp_path) == reference


def test_two_thousand_small_files_make_at_most_twenty_slurm_jobs(tmp_path):
    """A dry run with the SLURM profile plans one digest job per 200 files (config's batch_size), not 2,000.

    A dry run submits nothing, so this one needs the executor plugin but no running cluster.
    """
    data = tmp_path / "data"
    data.mkdir()
    for number in range(2000):
        (data / f"S{number:04d}_L001_R1_001.fastq").write_bytes(b"@r\nACGT\n+\nFFFF\n")
    (tmp_path / "config.yaml").write_text("inputs: [data]\nbatch_size: 200\noutdir: results\n")
    done = on_slurm(tmp_path, cli_env(), "--dry-run", "--quiet", "rules")
    assert done.returncode == 0, done.stderr[-3000:]
    counts = dict(re.findall(r"^(digest|aggregate|check)\s+(\d+)\s*$", done.stdout + done.stderr, re.MULTILINE))
    batches = planned(tmp_path, 200)
    assert counts == {"digest": str(len(batches)), "aggregate": "1", "check": "1"}
    # Content-defined batches hold 0.63 x batch_size files on average: between 10 and 20 jobs for 2,000 files.
    assert 2000 / 200 <= len(batches) <= 2000 / 100
    assert max(len(batch.files) for batch in batches) <= 200


def hold_env(env: dict[str, str], folder: Path, name: str) -> tuple[dict[str, str], Path]:
    """The environment that makes the digest of input ``name``'s batch wait on a hold file (created here)."""
    hooks = folder / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(HOLD_HOOK)
    hold = folder / "hold"
    hold.touch()
    held = dict(env, SEQFIXITY_TEST_HOLD=str(hold), SEQFIXITY_TEST_HOLD_FILE=f"/{name}",
                PYTHONPATH=os.pathsep.join([str(hooks), env["PYTHONPATH"]]))
    return held, hold


def run_and_scancel(folder: Path, env: dict[str, str], hold: Path, *args: str,
                    while_held: Callable[[], None] = lambda: None) -> tuple[subprocess.CompletedProcess[str], str]:
    """Run on SLURM; once the held digest job runs, call ``while_held``, ``scancel`` the job, release the hold;
    return the run and the job."""
    started = hold.with_name(hold.name + ".started")
    command = command_line(folder, *slurm_args(*args))
    out, err = folder / "snakemake.out", folder / "snakemake.err"
    with out.open("w") as stdout, err.open("w") as stderr:
        process = subprocess.Popen(command, env=env, stdout=stdout, stderr=stderr, text=True)
    try:
        deadline = time.time() + 180
        while not (started.exists() and started.read_text().strip()) and time.time() < deadline \
                and process.poll() is None:
            time.sleep(0.2)
        assert started.exists(), f"the held digest job never started:\n{err.read_text()[-3000:]}"
        job = started.read_text().split()[0]
        state = subprocess.run(["squeue", "-h", "-j", job, "-o", "%T"], env=env, capture_output=True, text=True)
        assert state.stdout.strip() == "RUNNING"
        while_held()
        subprocess.run(["scancel", job], env=env, check=True, timeout=60)
    except BaseException:
        hold.unlink(missing_ok=True)
        process.terminate()  # timeout passes SIGTERM on to Snakemake, which lets its jobs finish
        process.wait(timeout=RUN_TIMEOUT)
        raise
    hold.unlink()
    process.wait(timeout=RUN_TIMEOUT + 30)
    done = subprocess.CompletedProcess(command, process.returncode, out.read_text(), err.read_text())
    return finished(done, folder, env), job


def test_scancelled_job_is_retried_and_the_run_still_matches_a_local_run(tmp_path, slurm_env):
    write_inputs(tmp_path, small=4, batch_size=2)
    reference = local_reference(tmp_path, slurm_env)
    env, hold = hold_env(slurm_env, tmp_path, "S001_L001_R1_001.fastq")

    done, cancelled = run_and_scancel(tmp_path, env, hold)  # the profile's retries: 2
    assert done.returncode == 0, done.stderr[-3000:]
    accounted = sacct(slurm_env, submitted(done))
    state, comment = accounted.pop(cancelled)
    assert state == "CANCELLED" and rule_of(comment) == "digest"
    assert f"SLURM-job '{cancelled}' failed" in done.stderr
    assert (comment, "COMPLETED") in {(c, s) for s, c in accounted.values()}  # the retry of the same batch
    assert {s for s, _ in accounted.values()} == {"COMPLETED"}
    assert report_bytes(tmp_path) == reference
    # The retry asked SLURM for twice the time and memory of the first attempt (a batch that timed out, or ran
    # out of memory, is not resubmitted at the same limit); the first attempt: 5 minutes, 512 MB for small files.
    limits = sacct_rows(slurm_env, submitted(done), ("Timelimit", "ReqMem", "Comment"))
    retry = next(job for job, row in limits.items() if row["Comment"] == comment and job != cancelled)
    assert (limits[cancelled]["Timelimit"], limits[cancelled]["ReqMem"]) == ("00:05:00", "512M")
    assert (limits[retry]["Timelimit"], limits[retry]["ReqMem"]) == ("00:10:00", "1G")


def test_scancelled_job_without_retries_fails_the_run_and_a_rerun_completes_only_it(tmp_path, slurm_env):
    write_inputs(tmp_path, small=6, batch_size=2)
    batches = {batch.name for batch in planned(tmp_path, 2)}
    assert len(batches) >= 2
    reference = local_reference(tmp_path, slurm_env)
    env, hold = hold_env(slurm_env, tmp_path, "S001_L001_R1_001.fastq")

    failed, cancelled = run_and_scancel(tmp_path, env, hold, "--retries", "0")
    assert failed.returncode != 0
    state, comment = sacct(slurm_env, [cancelled])[cancelled]
    assert state == "CANCELLED" and rule_of(comment) == "digest"
    assert f"SLURM-job '{cancelled}' failed" in failed.stderr
    held = comment.split("_wildcards_")[1]
    # Never counted as OK: no summary, no pass marker, no record of the cancelled batch; keep-going did the rest.
    results = tmp_path / "results"
    assert not (results / "summary.json").exists()
    assert not (results / ".seqfixity" / "passed").exists()
    assert set(batch_records(tmp_path)) == batches - {held}

    rerun = on_slurm(tmp_path, slurm_env)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    accounted = sacct(slurm_env, submitted(rerun))
    assert sorted(comment for _, comment in accounted.values()) == [comment]
    assert report_bytes(tmp_path) == reference


def test_a_forced_rerun_on_slurm_with_a_job_cancelled_for_good_leaves_no_success_behind(tmp_path, slurm_env):
    write_inputs(tmp_path, small=4, batch_size=2)
    first = on_slurm(tmp_path, slurm_env)
    assert first.returncode == 0, first.stderr[-3000:]
    results = tmp_path / "results"
    names = ("summary.json", "seqfixity.tsv", ".seqfixity/passed")
    assert json.loads((results / "summary.json").read_text())["outcome"] == "SUCCEEDED"
    env, hold = hold_env(slurm_env, tmp_path, "S001_L001_R1_001.fastq")

    seen: dict[str, object] = {}

    def look() -> None:
        seen.update({n: (results / n).exists() for n in names})
        job = hold.with_name(hold.name + ".started").read_text().split()[0]
        seen["queue name"] = subprocess.run(["squeue", "-h", "-j", job, "-o", "%j"], env=env, capture_output=True,
                                            text=True, timeout=60).stdout.strip()

    failed, cancelled = run_and_scancel(tmp_path, env, hold, "--forcerun", "digest", "--retries", "0",
                                        while_held=look)
    assert failed.returncode != 0
    assert sacct(slurm_env, [cancelled])[cancelled][0] == "CANCELLED"
    # While the cancelled job still ran, and after the run: no summary, no tables, no pass marker to read as OK.
    assert {n: seen[n] for n in names} == dict.fromkeys(names, False)
    assert not any((results / name).exists() for name in names)
    # The job, in the queue, is recognisably seqfixity's (the profile's job name prefix).
    assert str(seen["queue name"]).startswith("seqfixity_"), seen


def profile_with_account(folder: Path, env: dict[str, str]) -> tuple[Path, str]:
    """A copy of the shipped SLURM profile with slurm_account set as its comment says (the cluster's default)."""
    account = subprocess.run(["sacctmgr", "-nP", "show", "user", subprocess.run(["id", "-un"], capture_output=True,
                              text=True, check=True).stdout.strip(), "format=DefaultAccount"], env=env,
                             capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    assert account
    copy = folder / "profile"
    copy.mkdir()
    text = (SLURM_PROFILE / "config.yaml").read_text()
    assert '  # slurm_account: "lab123"\n' in text
    (copy / "config.yaml").write_text(text.replace('  # slurm_account: "lab123"\n', f'  slurm_account: "{account}"\n'))
    return copy, account


def test_the_shipped_profile_names_its_jobs_takes_the_account_and_waits_less_for_job_states(tmp_path, slurm_env):
    """The profile as shipped (no test overrides), with the account set as it says: no failed account guess,
    jobs named seqfixity_<run ID> in accounting (as in squeue), and at least 20 s less of status-check waiting
    than the same run at the plugin's default first check (40 s), which cost each run about 80 s."""
    write_inputs(tmp_path, small=6, batch_size=2)
    profile, account = profile_with_account(tmp_path, slurm_env)
    walls = {}
    for label, extra in (("default", ("--slurm-init-seconds-before-status-checks", "40")), ("shipped", ())):
        shutil.rmtree(tmp_path / "results", ignore_errors=True)
        started = time.monotonic()
        done = snakemake(tmp_path, slurm_env, "--profile", str(profile), "--forcerun", "digest", *extra)
        walls[label] = time.monotonic() - started
        assert done.returncode == 0, done.stderr[-3000:]
    assert "trying to guess" not in done.stderr and "invalid option" not in done.stderr
    run_id = re.search(r"SLURM run ID: (\S+)", done.stderr)[1]
    assert run_id.startswith("seqfixity_")
    rows = sacct_rows(slurm_env, submitted(done), ("State", "JobName", "Account"))
    assert len(rows) >= 3
    assert {(r["State"], r["JobName"], r["Account"]) for r in rows.values()} == {("COMPLETED", run_id, account)}
    assert walls["default"] - walls["shipped"] >= 20, walls


def test_a_full_output_disk_on_slurm_names_the_file_and_the_reason_on_the_terminal(tmp_path, slurm_env):
    """The output folder on a real full tmpfs the node sees (mounted here, as root): each digest job fails, and its
    one line reaches Snakemake's terminal through the job's SLURM log, though the rule's own log is on that disk."""
    if os.geteuid() != 0:
        message = "mounting a tmpfs that the cluster's node sees needs root"
        if os.environ.get("SEQFIXITY_REQUIRE_SLURM") == "1":
            pytest.fail(message)
        pytest.skip(message)
    write_inputs(tmp_path, small=4, batch_size=2)
    full = tmp_path / "full"
    full.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=1777", "seqfixity-full", str(full)], check=True)
    try:
        subprocess.run(["bash", "-c", 'head -c 1048576 /dev/zero > "$0/.filler"', str(full)], capture_output=True)
        assert shutil.disk_usage(full).free == 0
        (tmp_path / "config.yaml").write_text(f"inputs: [data]\nbatch_size: 2\nlarge_bytes: 1MiB\n"
                                              f"outdir: {full}/results\n")
        done = on_slurm(tmp_path, slurm_env, "--retries", "0")
        assert done.returncode != 0
        failed_jobs = len(set(re.findall(r"SLURM-job '(\d+)' failed", done.stderr)))  # each job's error may repeat
        assert failed_jobs >= 2
        said = {line for line in done.stderr.splitlines()
                if re.match(rf"seqfixity: {re.escape(str(full))}/results/\S+: cannot write: No space left on device",
                            line)}
        assert len(said) == failed_jobs, done.stderr[-4000:]
        left = [p for p in full.rglob("*") if p.is_file() and p.name != ".filler"]
        assert all("logs" in p.parts and p.stat().st_size == 0 for p in left), left
    finally:
        subprocess.run(["umount", str(full)], check=True)
