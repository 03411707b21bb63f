"""The generated Nextflow processes write the same reports as the Snakemake workflow, byte for byte.

Nextflow cannot run here, so the test does what Nextflow would: it groups the
files by sample id as main.nf's channel does (with sample sheets: by the table
of the SAMPLES task), stages them into one task folder per sample (and the
sheets under sheets/1/, sheets/2/, ...), fills in the Nextflow variables of each
process's script block from the generated nextflow.config, and runs the blocks
with bash. The Snakemake workflow runs for real on the same files with the same
config and sheets: the example data, a BCL Convert delivery against its
SampleSheet v2 (sample_id: sheet, a sample and a lane named with no files), and
against a fastq_list.csv whose RGSM is not the files' sample.
"""

from __future__ import annotations

import csv
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
from illumina_delivery import LANES, READS, compress, fastq, name, sheet_v2
from illumina_delivery import SAMPLES as DELIVERY_SAMPLES
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


def stage_sheets(task: Path, sheets: list[Path]) -> None:
    """Link the sample sheets into a task folder as ``stageAs: 'sheets/?/*'`` does: sheets/1/NAME, sheets/2/NAME."""
    for index, sheet in enumerate(sheets, 1):
        stage(task, [sheet], f"sheets/{index}")


def run_both(root: Path, settings: dict, sheets: list[Path] = ()) -> tuple[Path, Path, dict]:
    """Run the workflow on ``root/data`` with ``settings`` (and ``samples``: the ``sheets``), then main.nf's process
    scripts on the same files as Nextflow would; return the workflow's results, the pipeline's ``out`` and facts."""
    data = root / "data"
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config.update(OVERRIDES, **settings)
    if sheets:
        config["samples"] = [str(sheet.relative_to(root)) for sheet in sheets]
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
    inputs = sorted(data.iterdir())
    samples: dict[str, list[Path]] = {}
    if sheets:  # main.nf: SAMPLES over every input, splitCsv, join by file name, groupTuple
        task = root / "work" / "samples"
        names = stage(task, inputs)
        stage_sheets(task, sheets)
        done = run_block(task, fill(script_block(blocks["SAMPLES"]), {"inputs": " ".join(names)}, params),
                         bin_folder)
        assert done.returncode == 0, done.stderr
        with (task / "samples.tsv").open(newline="") as table:
            rows = list(csv.DictReader(table, delimiter="\t"))
        by_name = {path.name: path for path in inputs}
        assert sorted(row["file"] for row in rows) == sorted(by_name)  # failOnMismatch, failOnDuplicate
        for row in rows:
            samples.setdefault(row["sample"], []).append(by_name[row["file"]])
    else:  # main.nf: channel.fromPath(...), sampleId(fastq), groupTuple
        for path in inputs:
            samples.setdefault(nextflow_sample_id(main_nf, path, params["sample_id"]), []).append(path)
    records = []
    digest = script_block(blocks["DIGEST"])
    for sample, files in sorted(samples.items()):
        task = root / "work" / f"digest-{sample}"
        reads = stage(task, sorted(files))
        stage_sheets(task, sheets)
        done = run_block(task, fill(digest, {"reads": " ".join(reads), "sample": sample}, params), bin_folder)
        assert done.returncode == 0, done.stderr
        for output in (f"checksums/{sample}_md5.txt", f"records/{sample}.jsonl"):  # publishDir 'out'
            (out / output).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(task / output, out / output)
        records.append(task / "records" / f"{sample}.jsonl")

    gather = root / "work" / "aggregate"
    stage(gather, records, "records")
    stage_sheets(gather, sheets)
    done = run_block(gather, fill(script_block(blocks["AGGREGATE"]), {}, params), bin_folder)
    assert done.returncode == 0, done.stderr
    for report in (*TABLES, "summary.json", "report.html"):
        shutil.copy(gather / report, out / report)

    check = root / "work" / "check"
    stage(check, [gather / "summary.json"])
    checked = run_block(check, fill(script_block(blocks["CHECK"]), {"summary": "summary.json"}, params), bin_folder)
    facts = {"workflow": workflow, "check": checked, "params": params, "sheets": [sheet.name for sheet in sheets],
             "argv": (root / "argv.log").read_text().splitlines(), "samples": sorted(samples)}
    return root / "results", out, facts


@pytest.fixture(scope="module")
def example_runs(tmp_path_factory) -> tuple[Path, Path, dict]:
    """The example data with planted faults, no sample sheet: main.nf groups the files itself."""
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
    return run_both(root, {})


def write_delivery(data: Path, reads: tuple[str, ...] = READS) -> None:
    """BCL Convert's FASTQ of every sample (gzip, bzip2, zstd, the ORA stand-in) and Undetermined, flat in ``data``,
    with two faults: a sample no sheet names (X) and an orphan R1 (lane 2 of B without its R2)."""
    data.mkdir()
    for sample in [*DELIVERY_SAMPLES, "Undetermined"]:
        kind = DELIVERY_SAMPLES.get(sample, (0, "gz"))[1]
        for lane in LANES:
            for read in reads:
                compress(fastq(sample, lane, read), kind, data / name(sample, lane, read))
    compress(fastq("X", 1, "R1"), "gz", data / "X_S9_L001_R1_001.fastq.gz")
    (data / name("B", 2, "R2")).unlink()


@pytest.fixture(scope="module")
def samplesheet_runs(tmp_path_factory) -> tuple[Path, Path, dict]:
    """sample_id: sheet against a SampleSheet v2 that names sample F (no file at all) and lane 2 of C (its files
    deleted): the sheet's MISSING rows, X's EXTRA row."""
    root = tmp_path_factory.mktemp("samplesheet")
    write_delivery(root / "data")
    for read in READS:
        (root / "data" / name("C", 2, read)).unlink()
    sheet = root / "SampleSheet.csv"
    sheet.write_text(sheet_v2(lanes=True, samples=(*DELIVERY_SAMPLES, "F")))
    return run_both(root, {"sample_id": "sheet"}, [sheet])


@pytest.fixture(scope="module")
def fastq_list_runs(tmp_path_factory) -> tuple[Path, Path, dict]:
    """sample_id: sheet against a DRAGEN-style fastq_list.csv (R1 and R2): D's files belong to the sheet's RGSM
    Donor4, not to the D of their names, and a row names lane 3 of A, whose files are not there."""
    root = tmp_path_factory.mktemp("fastq_list")
    write_delivery(root / "data", reads=("R1", "R2"))
    rows = ["RGID,RGSM,RGLB,Lane,Read1File,Read2File"]
    for sample, lane in [*((s, lane) for s in DELIVERY_SAMPLES for lane in LANES), ("A", 3)]:
        rows.append(f"{sample}.{lane},{'Donor4' if sample == 'D' else sample},UnknownLibrary,{lane},"
                    f"/staging/out/{name(sample, lane, 'R1')},/staging/out/{name(sample, lane, 'R2')}")
    (root / "Reports").mkdir()
    sheet = root / "Reports" / "fastq_list.csv"
    sheet.write_text("\n".join(rows) + "\n")
    return run_both(root, {"sample_id": "sheet"}, [sheet])


RUNS = ("example_runs", "samplesheet_runs", "fastq_list_runs")


@pytest.fixture(params=RUNS)
def both_runs(request) -> tuple[Path, Path, dict]:
    """Each pair of runs in turn: the workflow's results, the emulated Nextflow run's out, facts."""
    return request.getfixturevalue(request.param)


def test_checksum_files_are_byte_identical(both_runs):
    results, out, facts = both_runs
    assert (results / "summary.json").exists(), facts["workflow"].stderr[-3000:]
    ours = sorted(p.name for p in (out / "checksums").iterdir())
    assert ours == sorted(p.name for p in (results / "checksums").iterdir())
    assert ours == [f"{sample}_md5.txt" for sample in facts["samples"]]
    for checksums in ours:
        assert (out / "checksums" / checksums).read_bytes() == (results / "checksums" / checksums).read_bytes(), \
            checksums


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
    sheets = [f"--samples sheets/{index}/{sheet}" for index, sheet in enumerate(facts["sheets"], 1)]
    digests = [line for line in facts["argv"] if line.startswith("digest ")]
    assert len(digests) == len(facts["samples"])
    for line in digests:
        head, argv = line.split(" --jobs ", 1)
        assert head.endswith(" ".join(["--outdir .", *sheets]))  # the sample sheets, as the workflow's digest
        flags = argv.split()[1:]
        assert dict(zip(flags[::2], flags[1::2], strict=True)) == dict(zip(expected[::2], expected[1::2], strict=True))
    aggregate = next(line for line in facts["argv"] if line.startswith("aggregate records/"))
    head, argv = aggregate.split(" --path-style name ", 1)  # the digest's flags: the reports show its settings
    assert head.endswith(" ".join(["--outdir .", *sheets]))
    flags = argv.split()
    assert dict(zip(flags[::2], flags[1::2], strict=True)) == dict(zip(expected[::2], expected[1::2], strict=True))
    named = [line for line in facts["argv"] if line.startswith("samples ")]
    assert len(named) == (1 if sheets else 0)  # the SAMPLES task runs only when sheets are given
    if named:
        assert named[0].endswith(" ".join([*sheets, "--output samples.tsv --sample-id", settings.sample_id]))


def test_the_example_faults_are_found_alike(example_runs):
    results, out, _facts = example_runs
    ours = json.loads((out / "summary.json").read_text())
    assert ours["outcome"] == "PARTIALLY_SUCCEEDED"
    assert ours["samples"]["verdicts"]["BAD_L001_R1_001"]["verdict"] == "INVALID"
    assert ours["samples"]["verdicts"]["S3_L001_R2_001"]["verdict"] == "PAIR_MISMATCH"
    lanes = ours["samples"]["verdicts"]["LANES"]
    assert lanes["files"] == 6 and lanes["reads_by_read"] == {"I1": 40, "R1": 80, "R2": 80}
    assert lanes["verdict"] == "MISSING" and "I1" in lanes["pairs"]  # lane 1 lacks the I1 that lane 2 has
    assert ours["files"]["naming_warnings"] >= 1
    big = json.loads((out / "records" / "BIG_L001_R1_001.jsonl").read_text())
    data = (results.parent / "data" / "BIG_L001_R1_001.fastq").read_bytes()
    assert big["etag"] == reference_etag(data, PART) and big["etag_part_size"] == PART
    assert big["sha256"] == hashlib.sha256(data).hexdigest()


def problem_rows(out: Path) -> dict[str, tuple[str, str, str]]:
    """{file: (sample, status, problem)} of the rows of out/seqfixity.tsv that are not OK."""
    with (out / "seqfixity.tsv").open(newline="") as table:
        return {row["file"]: (row["sample"], row["status"], row["problem"])
                for row in csv.DictReader(table, delimiter="\t") if row["status"] != "OK"}


def md5sum_check(out: Path, data: Path) -> subprocess.CompletedProcess[str]:
    """coreutils ``md5sum -c`` on every published {sample}_md5.txt, from the data folder."""
    every = sorted(str(path) for path in (out / "checksums").iterdir())
    return subprocess.run(["md5sum", "-c", *every], cwd=data, capture_output=True, text=True)


def test_a_samplesheet_naming_absent_files_gives_the_workflows_missing_and_extra_rows(samplesheet_runs):
    results, out, facts = samplesheet_runs
    assert facts["samples"] == sorted([*DELIVERY_SAMPLES, "Undetermined", "X"])
    lines = (results.parent / "SampleSheet.csv").read_text().splitlines()

    def named(sample: str, lane: int) -> str:
        row = lines.index(f"{lane},{sample},ACGTACGT") + 1
        return f"named by SampleSheet.csv line {row} (sample {sample}, lane {lane})"

    # BCL Convert numbers the samples in sheet order: F, the sixth, would be F_S6_...
    absent = {**{f"F_S6_L{lane:03d}_{read}_001.fastq.gz": ("F", lane) for lane in LANES for read in READS},
              **{name("C", 2, read): ("C", 2) for read in READS}}
    expected = {file: (sample, "MISSING", named(sample, lane)) for file, (sample, lane) in absent.items()}
    found = problem_rows(out)
    assert {file: found.get(file, ("", "", ""))[:2] for file in expected} == {f: e[:2] for f, e in expected.items()}
    assert all(found[file][2].startswith(expected[file][2]) for file in expected)
    assert found.pop("X_S9_L001_R1_001.fastq.gz")[1] == "EXTRA"  # a sample the sheet does not name
    assert found.pop(name("B", 2, "R2"))[1] == "MISSING"  # the orphan R1's mate
    assert set(found) == set(expected)  # each fault once, nothing else
    check = md5sum_check(out, results.parent / "data")
    assert check.returncode == 0 and check.stdout.count(": OK") == len(list((results.parent / "data").iterdir()))


def test_a_fastq_list_names_the_samples_and_its_absent_files_alike(fastq_list_runs):
    results, out, facts = fastq_list_runs
    assert "Donor4" in facts["samples"] and "D" not in facts["samples"]  # the sheet's RGSM, not the file names' D
    listed = sorted(line.split("  ", 1)[1] for line in (out / "checksums" / "Donor4_md5.txt").read_text().splitlines())
    assert listed == sorted(name("D", lane, read) for lane in LANES for read in ("R1", "R2"))
    line = (results.parent / "Reports" / "fastq_list.csv").read_text().splitlines().index(
        f"A.3,A,UnknownLibrary,3,/staging/out/{name('A', 3, 'R1')},/staging/out/{name('A', 3, 'R2')}") + 1
    found = problem_rows(out)
    for read in ("R1", "R2"):
        sample, status, problem = found.pop(name("A", 3, read))
        assert (sample, status) == ("A", "MISSING") and f"named by fastq_list.csv line {line} (sample A)" in problem
    assert found.pop("X_S9_L001_R1_001.fastq.gz")[1] == "EXTRA"
    assert found.pop(name("B", 2, "R2"))[1] == "MISSING"
    assert found == {}
    check = md5sum_check(out, results.parent / "data")
    assert check.returncode == 0 and check.stdout.count(": OK") == len(list((results.parent / "data").iterdir()))


def test_a_tsv_sheet_names_files_by_their_base_name_and_a_row_for_no_given_file_stops_samples(tmp_path):
    """The pipeline's SAMPLES task takes seqfixity's own TSV too: its files by the names Nextflow stages them
    under; a row naming any other path is one line naming the sheet and its line, before any file is read."""
    generated = run_cli("pipeline-def", "-o", tmp_path / "pipeline")
    assert generated.returncode == 0, generated.stderr
    block = script_block(processes((tmp_path / "pipeline" / "main.nf").read_text())["SAMPLES"])
    params = {**config_params((tmp_path / "pipeline" / "nextflow.config").read_text()), "sample_id": "sheet"}
    data = tmp_path / "data"
    data.mkdir()
    files = [data / "lib1.fastq.gz", data / "lib2.fastq.gz", data / "B_S2_L001_R1_001.fastq.gz"]
    for path in files:
        path.write_bytes(gzip.compress(fastq_bytes(5, seed=len(path.name)), mtime=0))
    bin_folder = tmp_path / "bin"
    bin_folder.mkdir()
    (bin_folder / "seqfixity").write_text(f'#!/bin/sh\nexec {sys.executable} -m seqfixity "$@"\n')
    (bin_folder / "seqfixity").chmod(0o755)
    for case, rows in (("good", "patient7\tlib1.fastq.gz\npatient7\tlib2.fastq.gz\n"),
                       ("folder", "patient7\tlib1.fastq.gz\npatient7\tdata/lib2.fastq.gz\n")):
        sheet = tmp_path / case / "samples.tsv"
        sheet.parent.mkdir()
        sheet.write_text("sample\tfile\n" + rows)
        task = tmp_path / case / "task"
        names = stage(task, files)
        stage_sheets(task, [sheet])
        done = run_block(task, fill(block, {"inputs": " ".join(names)}, params), bin_folder)
        if case == "good":
            assert done.returncode == 0, done.stderr
            assert (task / "samples.tsv").read_text() == ("sample\tfile\nB\tB_S2_L001_R1_001.fastq.gz\n"
                                                          "patient7\tlib1.fastq.gz\npatient7\tlib2.fastq.gz\n")
        else:
            assert done.returncode == 128 and not (task / "samples.tsv").exists()
            assert done.stderr == "seqfixity: sheets/1/samples.tsv: line 3: data/lib2.fastq.gz: no such file\n"
