"""The generated Nextflow processes write the same reports as the Snakemake workflow, byte for byte.

Nextflow cannot run here, so the test does what Nextflow would: it groups the
files by sample id as main.nf's channel does, stages them into one task folder
per sample, fills in the Nextflow variables of each process's script block from
the generated nextflow.config, and runs the blocks with bash. The Snakemake
workflow runs for real on the same files with the same config.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import REPO, cli_env, run_cli, without_throughput
from seqfixity.settings import Settings
from test_etag import reference_etag
from test_fastq import fastq_bytes
from test_pipeline_defs import config_params, processes, script_block

pytestmark = pytest.mark.slow
PART = 5 << 20  # S3's smallest part size
TABLES = ("seqfixity.tsv", "seqfixity.json", "seqfixity.xlsx", "seqfixity_mqc.tsv")
OVERRIDES = {"inputs": ["data"], "outdir": "results", "report_paths": "name", "part_size": "5MiB",
             "threshold": "5MiB", "digests": ["md5", "etag", "xxh128", "sha256"], "batch_size": 3}
_NEXTFLOW_VARIABLE = re.compile(r"(?<!\\)\$\{([^}]*)\}")


def shq(value: str) -> str:
    """main.nf's ``shq``: the value as one single-quoted shell word."""
    return "'" + value.replace("'", "'\\''") + "'"


def fill(script: str, variables: dict[str, str], params: dict[str, str]) -> str:
    """Evaluate a Groovy GString script block as Nextflow would: ``${...}`` filled in, then ``\\x`` unescaped."""
    def value(match: re.Match[str]) -> str:
        expression = match.group(1)
        quoted = re.fullmatch(r"shq\(params\.(\w+)\)", expression)
        return shq(params[quoted.group(1)]) if quoted else variables[expression]

    return re.sub(r"\\(.)", r"\1", _NEXTFLOW_VARIABLE.sub(value, script))


def nextflow_sample_id(main_nf: str, path: Path, rule: str) -> str:
    """main.nf's ``sampleId`` applied in Python: its two Java regular expressions, read from the generated text."""
    patterns = [re.sub(r"\\(.)", r"\1", text).replace("(?<", "(?P<")
                for text in re.findall(r"name (?:=~|==~) '((?:[^'\\]|\\.)*)'", main_nf)]
    illumina, sequence = (re.compile(pattern) for pattern in patterns)
    if rule != "ica":
        found = illumina.fullmatch(path.name)
        if found:
            return found.group("sample")
        if not sequence.fullmatch(path.name):
            return path.parent.name
    return path.name.split(".", 1)[0]


def stage(task: Path, files: list[Path], folder: str = "") -> list[str]:
    """Link ``files`` into a task folder (under ``folder``), as Nextflow stages inputs; return the staged names."""
    (task / folder).mkdir(parents=True, exist_ok=True)
    for path in files:
        os.symlink(path.resolve(), task / folder / path.name)
    return [os.path.join(folder, path.name) for path in files]


def run_block(task: Path, script: str, bin_folder: Path) -> subprocess.CompletedProcess[str]:
    """Run a filled script block in its task folder with ``bash -ue`` (Nextflow's shell), seqfixity on PATH."""
    (task / ".command.sh").write_text(script)
    env = cli_env()
    env["PATH"] = f"{bin_folder}{os.pathsep}{env['PATH']}"
    return subprocess.run(["bash", "-ue", ".command.sh"], cwd=task, env=env, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def both_runs(tmp_path_factory) -> tuple[Path, Path, dict]:
    """The workflow's results and the emulated Nextflow run's ``out``, over the same data and config."""
    root = tmp_path_factory.mktemp("equivalence")
    data = root / "data"
    data.mkdir()
    for path in sorted((REPO / "example" / "data").glob("*")):
        shutil.copy(path, data / path.name)
    (data / "S3_L001_R1_001.fastq.gz").write_bytes(gzip.compress(fastq_bytes(300, seed=1), mtime=0))
    (data / "S3_L001_R2_001.fastq.gz").write_bytes(gzip.compress(fastq_bytes(299, seed=2), mtime=0))
    (data / "BIG_L001_R1_001.fastq").write_bytes(fastq_bytes(1_000, seed=4, length=100) * 25)
    (data / "BAD_L001_R1_001.fastq.gz").write_bytes(gzip.compress(fastq_bytes(200, seed=5), mtime=0)[:-300])
    (data / "A_SAMPLE_NAME_LONGER_THAN_ICA_LIKES_R1.fq").write_bytes(fastq_bytes(10, seed=6))
    for lane in (1, 2):  # an Illumina sample over two lanes: one task, one report, as in the workflow
        for read, seed in (("R1", 7), ("R2", 8)):
            (data / f"LANES_S4_L00{lane}_{read}_001.fastq.gz").write_bytes(
                gzip.compress(fastq_bytes(40, seed=seed + lane), mtime=0))
    (data / "LANES_S4_L002_I1_001.fastq.gz").write_bytes(gzip.compress(fastq_bytes(40, seed=20), mtime=0))
    assert (data / "BIG_L001_R1_001.fastq").stat().st_size > PART
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config.update(OVERRIDES)
    (root / "config.yaml").write_text(yaml.safe_dump(config))

    workflow = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(root), "--configfile",
         str(root / "config.yaml"), "--cores", "2", "--keep-going"],
        capture_output=True, text=True, env=cli_env(), timeout=600)

    generated = run_cli("pipeline-def", "--config", root / "config.yaml", "-o", root / "pipeline")
    assert generated.returncode == 0, generated.stderr
    main_nf = (root / "pipeline" / "main.nf").read_text()
    params = config_params((root / "pipeline" / "nextflow.config").read_text())
    blocks = processes(main_nf)

    bin_folder = root / "bin"
    bin_folder.mkdir()
    wrapper = bin_folder / "seqfixity"
    wrapper.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> {root / "argv.log"}\n'
                       f'exec {sys.executable} -m seqfixity "$@"\n')
    wrapper.chmod(0o755)

    out = root / "out"
    samples: dict[str, list[Path]] = {}
    for path in sorted(data.iterdir()):  # main.nf: channel.fromPath(...), sampleId(fastq), groupTuple
        samples.setdefault(nextflow_sample_id(main_nf, path, params["sample_id"]), []).append(path)
    records = []
    digest = script_block(blocks["DIGEST"])
    for sample, files in sorted(samples.items()):
        task = root / "work" / f"digest-{sample}"
        reads = stage(task, files)
        done = run_block(task, fill(digest, {"reads": " ".join(reads), "sample": sample}, params), bin_folder)
        assert done.returncode == 0, done.stderr
        for output in (f"checksums/{sample}_md5.txt", f"records/{sample}.jsonl"):  # publishDir 'out'
            (out / output).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(task / output, out / output)
        records.append(task / "records" / f"{sample}.jsonl")

    gather = root / "work" / "aggregate"
    stage(gather, records, "records")
    done = run_block(gather, fill(script_block(blocks["AGGREGATE"]), {}, params), bin_folder)
    assert done.returncode == 0, done.stderr
    for name in (*TABLES, "summary.json", "report.html"):
        shutil.copy(gather / name, out / name)

    check = root / "work" / "check"
    stage(check, [gather / "summary.json"])
    checked = run_block(check, fill(script_block(blocks["CHECK"]), {"summary": "summary.json"}, params), bin_folder)
    facts = {"workflow": workflow, "check": checked, "params": params,
             "argv": (root / "argv.log").read_text().splitlines(), "samples": sorted(samples)}
    return root / "results", out, facts


def test_checksum_files_are_byte_identical(both_runs):
    results, out, facts = both_runs
    assert (results / "summary.json").exists(), facts["workflow"].stderr[-3000:]
    ours = sorted(p.name for p in (out / "checksums").iterdir())
    assert ours == sorted(p.name for p in (results / "checksums").iterdir())
    assert ours == [f"{sample}_md5.txt" for sample in facts["samples"]]
    for name in ours:
        assert (out / "checksums" / name).read_bytes() == (results / "checksums" / name).read_bytes(), name


@pytest.mark.parametrize("name", TABLES)
def test_tables_are_byte_identical(both_runs, name):
    results, out, _facts = both_runs
    assert (out / name).read_bytes() == (results / name).read_bytes()


def test_summaries_match_apart_from_the_workflows_timing(both_runs):
    results, out, _facts = both_runs
    workflow = json.loads((results / "summary.json").read_text())
    ours = json.loads((out / "summary.json").read_text())
    assert "throughput" in workflow and "throughput" not in ours  # timing of Snakemake's batch jobs
    workflow.pop("throughput")
    assert ours == workflow
    assert ours["outcome"] == "PARTIALLY_SUCCEEDED"
    assert ours["samples"]["verdicts"]["BAD_L001_R1_001"]["verdict"] == "INVALID"
    assert ours["samples"]["verdicts"]["S3_L001_R2_001"]["verdict"] == "PAIR_MISMATCH"
    lanes = ours["samples"]["verdicts"]["LANES"]
    assert lanes["files"] == 6 and lanes["reads_by_read"] == {"I1": 40, "R1": 80, "R2": 80}
    assert lanes["verdict"] == "MISSING" and "I1" in lanes["pairs"]  # lane 1 lacks the I1 that lane 2 has
    assert ours["files"]["naming_warnings"] >= 1


def test_report_pages_match_apart_from_the_workflows_timing(both_runs):
    results, out, _facts = both_runs
    ours, theirs = ((folder / "report.html").read_bytes() for folder in (out, results))
    assert b"No timing" in ours and b"digest jobs" in theirs  # only the workflow has its batch jobs' timing
    assert without_throughput(ours) == without_throughput(theirs)


def test_records_match_apart_from_the_staged_path(both_runs):
    results, out, facts = both_runs
    for sample in facts["samples"]:
        theirs = [json.loads(line) for line in (results / "records" / f"{sample}.jsonl").read_text().splitlines()]
        ours = [json.loads(line) for line in (out / "records" / f"{sample}.jsonl").read_text().splitlines()]
        for row in theirs:
            row["path"] = os.path.basename(row["path"])
        assert ours == theirs
    big = json.loads((out / "records" / "BIG_L001_R1_001.jsonl").read_text())
    data = (results.parent / "data" / "BIG_L001_R1_001.fastq").read_bytes()
    assert big["etag"] == reference_etag(data, PART) and big["etag_part_size"] == PART
    assert big["sha256"] == hashlib.sha256(data).hexdigest()


def test_both_runs_fail_when_a_file_failed_and_keep_their_reports(both_runs):
    results, out, facts = both_runs
    assert facts["workflow"].returncode != 0 and (results / "seqfixity.tsv").exists()
    summary = json.loads((out / "summary.json").read_text())
    assert facts["check"].returncode == summary["exit_code"] != 0
    assert "PARTIALLY_SUCCEEDED" in facts["check"].stderr


def test_the_processes_pass_the_workflows_settings_flags(both_runs):
    _results, _out, facts = both_runs
    settings = Settings.from_yaml(Path(facts["workflow"].args[facts["workflow"].args.index("--configfile") + 1]))
    expected = settings.to_cli_args() + ["--validate", settings.validate, "--naming", settings.naming,
                                         "--sample-id", settings.sample_id]
    digests = [line.split() for line in facts["argv"] if line.startswith("digest ")]
    assert len(digests) == len(facts["samples"])
    for argv in digests:
        flags = argv[argv.index("--jobs") + 2:]
        assert dict(zip(flags[::2], flags[1::2], strict=True)) == dict(zip(expected[::2], expected[1::2], strict=True))
    aggregate = next(line.split() for line in facts["argv"] if line.startswith("aggregate records/"))
    flags = aggregate[aggregate.index("--path-style") + 2:]  # the digest's flags: the reports show its settings
    assert dict(zip(flags[::2], flags[1::2], strict=True)) == dict(zip(expected[::2], expected[1::2], strict=True))
