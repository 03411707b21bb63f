"""The Snakemake rules in rules/verify.smk, run by real Snakemake in a minimal workflow around them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import REPO, SRC, cli_env, run_cli
from ica_fixtures import make_local, project_data

SNAKEFILE = f"""
import os, sys
from snakemake.exceptions import WorkflowError

configfile: "config.yaml"
OUTDIR = config["outdir"]
SEQFIXITY = f"PYTHONPATH={str(SRC)!r} {{sys.executable!r}} -m seqfixity"
REPORTS = [os.path.join(OUTDIR, "summary.json")]


def verify_runtime(wildcards, attempt):
    return 5 * attempt


rule checksum_stage:
    output:
        REPORTS,
    shell:
        "echo '{{{{}}}}' > {{output}}"


include: {str(REPO / "rules" / "verify.smk")!r}


rule all:
    default_target: True
    input:
        REPORTS,
        VERIFY_TARGETS,


onerror:
    from seqfixity.reports.ending import terminal_lines, verify_end

    print(terminal_lines(verify_end(VERIFY_REPORT, REPORTS[0], config["verify_against"])), file=sys.stderr)
"""


def run_workflow(folder: Path, config: dict) -> subprocess.CompletedProcess[str]:
    (folder / "Snakefile").write_text(SNAKEFILE)
    (folder / "config.yaml").write_text(json.dumps(config))
    return subprocess.run([sys.executable, "-m", "snakemake", "--cores", "1", "--quiet", "rules", "--show-failed-logs"],
                          cwd=folder,
                          env=cli_env(), capture_output=True, text=True, timeout=300)


def test_verify_runs_after_the_checksum_stage_and_gates_the_run(tmp_path):
    make_local(tmp_path / "fastq")
    export = tmp_path / "export.json"
    items = project_data()
    export.write_text(json.dumps({"items": items}))
    config = {"outdir": "results", "inputs": ["fastq"], "verify_against": str(export),
              "verify_args": "--strip-prefix /fastq"}
    records = tmp_path / "results" / "records"
    records.mkdir(parents=True)
    hashed = run_cli("hash", "--format", "jsonl", "--digests", "md5", "-o", records / "S2.jsonl",
                     tmp_path / "fastq" / "S2_R1.fastq.gz")
    assert hashed.returncode == 0
    failed = run_workflow(tmp_path, config)
    assert failed.returncode != 0
    # the outcome once (the gate's log is empty, so --show-failed-logs shows no second copy), then the failures
    assert failed.stderr.count("PARTIALLY_SUCCEEDED") == 1, failed.stderr
    assert f"seqfixity: verify against {export}: PARTIALLY_SUCCEEDED: 3 OK, 1 MISMATCH, 1 MISSING_LOCAL" \
        in failed.stderr
    assert "seqfixity:   S2_R2.fastq.gz: MISMATCH (ETag (MD5) differs" in failed.stderr
    assert "seqfixity: verify report: results/verify.json" in failed.stderr
    report = json.loads((tmp_path / "results" / "verify.json").read_text())
    assert report["outcome"] == "PARTIALLY_SUCCEEDED"              # kept although the run failed
    reused = [f["path"] for f in report["files"] if f["actual"].get("from_records")]
    assert reused == ["S2_R1.fastq.gz"]                            # judged from the checksum stage's record
    assert not (tmp_path / "results" / ".seqfixity" / "verified").exists()

    config["verify_args"] += " --fail-on mismatch"
    (tmp_path / "fastq" / "S2_R2.fastq.gz").unlink()
    passed = run_workflow(tmp_path, config)
    assert passed.returncode == 0, passed.stderr
    assert (tmp_path / "results" / ".seqfixity" / "verified").exists()


def test_no_remote_means_no_verify_target(tmp_path):
    done = run_workflow(tmp_path, {"outdir": "results", "inputs": ["fastq"]})
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "results" / "summary.json").exists()
    assert not (tmp_path / "results" / "verify.json").exists()
