# Input discovery, samples, batches and the settings every rule shares.

import glob
import os
import shlex
import sys
import time

import yaml
from snakemake.exceptions import WorkflowError

SRC = os.path.join(workflow.basedir, "src")
sys.path.insert(0, SRC)

from seqfixity.inputs.discover import DEFAULT_PATTERNS, config_list, discover, make_batches, unmatched_summary  # noqa: E402
from seqfixity.inputs.sheets import TSV, read_sheets  # noqa: E402
from seqfixity.remote.locations import RemoteOptions  # noqa: E402
from seqfixity.errors import SettingsError  # noqa: E402
from seqfixity.settings import Settings, check_config_keys  # noqa: E402
from seqfixity.units import SizeError, parse_size  # noqa: E402

try:
    with open(os.path.join(workflow.basedir, "config", "schema.yaml")) as schema:
        check_config_keys(config, yaml.load(schema, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))["properties"])
    SETTINGS = Settings.from_mapping(config)
    sizes = {}
    for key in ("batch_bytes", "large_bytes"):
        try:
            sizes[key] = parse_size(config[key])
        except SizeError as err:
            raise SettingsError(f"{key}: {err}") from None
    SHEETS = [path for path in config_list(config, "samples") if path]
    UNMATCHED = []
    REMOTE = RemoteOptions(
        endpoint_url=config.get("s3_endpoint_url") or None,
        ica_server=config.get("ica_server") or "",
        api_key_file=config.get("ica_api_key_file") or None,
    )
    FILES = discover(
        config_list(config, "inputs"),
        config_list(config, "patterns", DEFAULT_PATTERNS),
        SHEETS,
        bool(config.get("recursive")),
        SETTINGS.sample_id,
        UNMATCHED,
        REMOTE,
    )
    BATCHES = {
        batch.name: batch
        for batch in make_batches(FILES, int(config["batch_size"]), sizes["batch_bytes"], sizes["large_bytes"])
    }
except SettingsError as err:
    raise WorkflowError(f"seqfixity: {err}") from None
for sheet in read_sheets(SHEETS):  # after discover(), which names a sheet that cannot be read in one line
    if sheet.kind == TSV:
        import pandas as pd

        table = pd.read_csv(sheet.path, sep=None, engine="python", dtype=str, encoding="utf-8-sig")
        validate(table, "../config/samples.schema.yaml")
if not FILES:
    searched = config_list(config, "inputs")
    where = (
        f"nothing in {', '.join(searched)}{' or below' if config.get('recursive') else ''} matches "
        f"{' '.join(config_list(config, 'patterns', DEFAULT_PATTERNS))} (patterns are case-sensitive)"
        if searched
        else "'inputs' names no folder"
    )
    raise WorkflowError(
        f"seqfixity: no input files: {where}; set 'inputs' (folders) and 'patterns', or 'samples' (a sample sheet)"
    )

OUTDIR = config["outdir"]
RUN_STARTED = time.time()
# Run this checkout's seqfixity with the interpreter that runs Snakemake.
SEQFIXITY = f"PYTHONPATH={shlex.quote(SRC)}${{PYTHONPATH:+:$PYTHONPATH}} {shlex.quote(sys.executable)} -m seqfixity"
BATCH_DONE = os.path.join(OUTDIR, ".seqfixity", "batches", "{batch}.json")
PASSED = os.path.join(OUTDIR, ".seqfixity", "passed")
REPORT_NAMES = ("seqfixity.tsv", "seqfixity.json", "seqfixity.xlsx", "seqfixity_mqc.tsv", "summary.json", "report.html")
REPORTS = [os.path.join(OUTDIR, name) for name in REPORT_NAMES]


def report_folder(wildcards, output):
    """The output folder, from a rule's first output file (results/summary.json or a batch's JSON)."""
    path = output[0]
    while os.path.basename(os.path.dirname(path)) in ("batches", ".seqfixity"):
        path = os.path.dirname(path)
    return os.path.dirname(path) or "."


# How digest jobs reach s3:// and ica:// inputs (the key itself comes from $ICA_API_KEY or the key file).
REMOTE_ARGS = shlex.join(
    (["--endpoint-url", REMOTE.endpoint_url] if REMOTE.endpoint_url else [])
    + (["--ica-server", REMOTE.ica_server] if REMOTE.ica_server else [])
    + (["--api-key-file", REMOTE.api_key_file] if REMOTE.api_key_file else [])
)


def batch_files(wildcards):
    """The local input files of one batch that exist (dangling links and remote objects are in batch_missing)."""
    return BATCHES[wildcards.batch].present


def batch_missing(wildcards):
    """The batch's names that are no local file Snakemake can track, quoted for the shell: dangling links (the
    job reports them) and s3:// or ica:// objects (the job streams them)."""
    present = set(BATCHES[wildcards.batch].present)
    return shlex.join(path for path in BATCHES[wildcards.batch].paths if path not in present)


def batch_remote(wildcards):
    """The ETag and size of each remote object of one batch: a parameter, so that an object replaced in the
    bucket or project re-runs its batch (Snakemake cannot see a remote file's time)."""
    return [f"{f.path} {f.remote}" for f in BATCHES[wildcards.batch].files if f.remote]


def batch_samples(wildcards):
    """The sample id of each file of one batch from the sample sheet: a parameter, so that editing the sheet
    re-runs the batch (without a sheet the ids follow from the file names, which are the inputs already)."""
    return [f.sample for f in BATCHES[wildcards.batch].files] if SHEETS else []


def sheet_flags(wildcards):
    """``--samples SHEET`` for each sample sheet of the config, quoted for the shell."""
    return " ".join(f"--samples {shlex.quote(path)}" for path in SHEETS)


UNMATCHED_FILES = unmatched_summary(UNMATCHED)


def batch_threads(wildcards):
    """Two threads for a batch of 128 MiB or more (each thread reads up to 16 files at once, their MD5 streams
    side by side on the multi-lane core; a large file's MD5 on one core, its ETag's parts on the other); one for
    a smaller batch, whose hashing takes less than its start-up, so that two such jobs share the cores."""
    return 2 if BATCHES[wildcards.batch].size >= 128 << 20 else 1


def batch_mem_mb(wildcards, attempt):
    """Memory: buffers, windows and inflated chunks per thread, never the file size; doubled on each retry
    (attempt), so a job killed for memory (OUT_OF_MEMORY on SLURM) is not retried at the same limit."""
    return (1024 if BATCHES[wildcards.batch].size >= 64 << 20 else 512) * attempt


def minutes_to_read(size):
    """Minutes to read ``size`` bytes at a pessimistic 20 MB/s (gzip validation on a slow disk), plus 5."""
    return 5 + size // (20 * 10**6 * 60)


def batch_runtime(wildcards, attempt):
    """The batch's minutes to read, times the attempt: a batch that timed out gets twice the time on its first
    retry, three times on its second (`retries` in the profile), never the same limit again."""
    return minutes_to_read(BATCHES[wildcards.batch].size) * attempt



def verify_runtime(wildcards, attempt):
    """Minutes for verify_report, times the attempt: it reads at most every input (the records settle most)."""
    return minutes_to_read(sum(batch.size for batch in BATCHES.values())) * attempt


def reuse_flag(wildcards, output):
    """``--reuse`` or ``--no-reuse`` (reuse_unchanged), as a function of the output on purpose.

    Snakemake re-runs a job when a plain param changes, but not one derived from the
    output; reuse never changes the records, only whether unchanged files are read
    again, so turning it off takes ``--forcerun digest`` (and turning it on re-runs nothing).
    """
    return "--reuse" if config["reuse_unchanged"] in (True, "true") else "--no-reuse"


def run_started(wildcards, output):
    """When this Snakemake run started: summary.json's throughput counts only the batches run since.

    A function of the output on purpose: Snakemake does not re-run a job when such a param changes.
    """
    return RUN_STARTED


def print_run_end(summary, file):
    """Print the block a run ends with (the outcome, the first failures, where report.html is) from ``summary``."""
    import json

    from seqfixity.reports.ending import outcome_block, terminal_lines

    try:
        with open(summary, encoding="utf-8") as handle:
            lines = outcome_block(json.load(handle), os.path.dirname(summary))
    except (OSError, ValueError, KeyError, TypeError) as err:
        lines = [f"{summary}: cannot read the summary ({err}); the reports are in {OUTDIR}/"]
    print(terminal_lines(lines), file=file)


def print_verify_end(file):
    """Print the verify outcome, its first failures and where verify.json is, once (rules/verify.smk's gate
    fails quietly)."""
    from seqfixity.reports.ending import terminal_lines, verify_end

    if VERIFY_TARGETS:
        lines = verify_end(VERIFY_REPORT, os.path.join(OUTDIR, "summary.json"), config["verify_against"])
        if lines:
            print(terminal_lines(lines), file=file)


def end_run_promptly():
    """Let Snakemake exit as soon as the run is over: cancel its job rate limiter's pending timers.

    Snakemake's scheduler (scheduling/job_scheduler.py, ``_schedule_reevalutation``) starts a non-daemon
    ``threading.Timer`` of ``--max-jobs-per-timespan``'s timespan (1 s by default) after every scheduling pass,
    and the interpreter waits for it at exit: about a second at the end of every run. Once onsuccess or
    onerror runs, nothing is scheduled any more. Only that scheduler's timers are cancelled.
    """
    import threading

    for thread in threading.enumerate():
        code = getattr(getattr(thread, "function", None), "__code__", None)
        if isinstance(thread, threading.Timer) and code is not None and code.co_filename.endswith("job_scheduler.py"):
            thread.cancel()


def forget_earlier_outcome():
    """Remove what the earlier run said of the outputs this run will remake, before any of its jobs starts.

    A digest or aggregate job to run: the reports, summary.json, the pass marker, verify.json and the verify
    marker; a verify_report job only: verify.json and the verify marker. They say SUCCEEDED of what this run is
    replacing: if a job then fails for good, a downstream gate must not find them (Snakemake removes a job's
    outputs only when that job starts, and a marker's job never starts after a failure upstream). Called by
    onstart: after the DAG is known, on the machine that runs Snakemake (locally and with the SLURM executor);
    not in dry runs or --touch.
    """
    if workflow.touch:
        return
    scheduled = {job.rule.name for job in workflow.dag.needrun_jobs()}
    if scheduled & {"digest", "aggregate"}:
        outcome = (*REPORTS, PASSED, VERIFY_REPORT, VERIFIED)
    elif "verify_report" in scheduled:
        outcome = (VERIFY_REPORT, VERIFIED)
    else:
        return
    earlier = [path for path in outcome if os.path.lexists(path)]
    for path in earlier:
        os.unlink(path)
    if earlier:
        print(f"seqfixity: this run remakes the reports in {OUTDIR}/: the earlier reports and pass markers are "
              "removed until it has", file=sys.stderr)


def failed_job_messages():
    """seqfixity's own lines (``seqfixity: ...``) in the SLURM job logs written during this run.

    The SLURM plugin keeps the logs of failed jobs only. Snakemake shows a failed job's logs, but stops at the
    first empty one, and the rule's own log (in outdir) is empty when outdir's disk is full: these lines, in
    the plugin's log folder, hold the reason (nothing is found for a local run).
    """
    settings = getattr(workflow, "executor_settings", None)
    folder = str(getattr(settings, "logdir", None) or os.path.join(".snakemake", "slurm_logs"))
    said = []
    for path in sorted(glob.glob(os.path.join(folder, "**", "*.log"), recursive=True)):
        if os.path.getmtime(path) >= RUN_STARTED:
            with open(path, encoding="utf-8", errors="replace") as log:
                said += [line.rstrip("\n") for line in log if line.startswith("seqfixity: ")]
    return list(dict.fromkeys(said))


def summary_is_current(summary):
    """Whether ``summary`` was aggregated from every batch's current records (a failed job leaves an older one)."""
    done = [BATCH_DONE.format(batch=name) for name in BATCHES]
    if not os.path.exists(summary) or not all(os.path.exists(path) for path in done):
        return False
    return all(os.path.getmtime(path) <= os.path.getmtime(summary) for path in done)
