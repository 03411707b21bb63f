#!/usr/bin/env python3
"""Benchmark the Snakemake workflow against md5sum, measured in the same run (issue 4).

1. Many small files plus large ones (default 2,000 x 64 KiB FASTQ + 16 x 256 MiB, 4.4 GB),
   the workflow with 2 cores at ``validate: none`` against serial ``md5sum`` over the same
   files, with the multi-lane MD5 core and with SEQFIXITY_MD5_BACKEND=scalar. Target: ratio
   <= 0.5. Also Snakemake alone (a one-job workflow that touches a file), the fixed cost that
   any Snakemake run pays on this machine.
2. ``validate: fastq`` of one .fastq.gz (default 250 MB) by ``seqfixity digest`` against
   ``md5sum`` of that file. Target: ratio <= 4. Also ``validate: gzip`` and ``none``; then the
   same FASTQ (a part of it: bzip2 is slow to write) as .fastq.bz2 and .fastq.zst made by the
   real bzip2 and zstd, each against md5sum of that same file, beside gzip's figure.
3. A dry run (``snakemake -n``) over 100,000 empty input files. Target: <= 60 s, <= 1,000 jobs.
4. Every report (report.html, the TSV, JSON and XLSX tables, the MultiQC file, summary.json) for 2,000
   files by ``seqfixity aggregate``, against the same command of another revision (``--compare-with``,
   default main) on the same records, best of three each. Target: at most 0.5 s more (issue 14). Also the
   time of each writer in this process.

    python benchmarks/bench_workflow.py --small     # tiny scale, proves the script works
    python benchmarks/bench_workflow.py             # the issue's scale (needs ~2.5 GB in --workdir)
    python benchmarks/bench_workflow.py --only 4    # the reports alone (a few seconds)

Files are generated once under --workdir and reused; page cache is warmed before timing.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO / "src"), os.environ.get("PYTHONPATH")]))}
sys.path.insert(0, str(REPO / "src"))
from seqfixity.examine.files import examine_file  # noqa: E402
from seqfixity.settings import Settings  # noqa: E402

TRASH = Path(os.environ.get("TMPDIR", "/tmp")) / "seqfixity-bench-trash"
SCALES = {
    "full": {"small_files": 2000, "small_size": 64 << 10, "large_files": 16, "large_size": 256 << 20,
             "gz_size": 250 * 10**6, "dry_files": 100_000, "report_files": 2000},
    "small": {"small_files": 100, "small_size": 64 << 10, "large_files": 2, "large_size": 24 << 20,
              "gz_size": 20 * 10**6, "dry_files": 5_000, "report_files": 200},
}


def _generator():
    spec = importlib.util.spec_from_file_location("make_example_data", REPO / "scripts" / "make-example-data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def timed(command: list[str], cwd: Path | None = None, backend: str = "auto"
          ) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Run ``command`` on MD5 backend ``backend``; return (seconds, completed process); raise if it fails."""
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env={**ENV, "SEQFIXITY_MD5_BACKEND": backend}, capture_output=True,
                          text=True)
    seconds = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"{' '.join(command[:4])}... failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return seconds, done


def snakemake(folder: Path, *args: str) -> list[str]:
    """The snakemake command for ``folder`` (its config.yaml), with 2 cores."""
    return [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(folder),
            "--configfile", str(folder / "config.yaml"), "--cores", "2", *args]


def md5sum_seconds(files: list[str]) -> float:
    """Serial md5sum over ``files`` (after a warm-up pass that fills the page cache)."""
    subprocess.run(["md5sum", *files], capture_output=True, check=True)
    return timed(["md5sum", *files])[0]


def many_files(root: Path, scale: dict, make) -> None:
    """Measurement 1: the workflow at validate: none against serial md5sum."""
    folder = root / f"many-{scale['large_files']}"
    data = folder / "data"
    if not (folder / "ready").exists():
        shutil.rmtree(folder, ignore_errors=True)
        reads = max(1, scale["small_size"] // 340)
        for index in range(scale["small_files"]):
            make.write_fastq(data / f"S{index:05d}_R1_001.fastq", 0, seed=index, reads=reads)
        for index in range(scale["large_files"]):
            make.write_fastq(data / f"LARGE{index}_R1_001.fastq", scale["large_size"], seed=10_000 + index)
        (folder / "ready").touch()
    (folder / "config.yaml").write_text("inputs: [data]\nvalidate: none\noutdir: results\n")
    files = sorted(str(p) for p in data.iterdir())
    total = sum(os.path.getsize(p) for p in files)
    floor = noop_workflow_seconds(root)
    baseline = md5sum_seconds(files)
    for backend in ("auto", "scalar"):
        set_aside(folder, "results", ".snakemake")
        seconds, done = timed(snakemake(folder, "--quiet", "rules"), cwd=folder, backend=backend)
        jobs = len(list((folder / "results" / ".seqfixity" / "batches").iterdir()))
        print(f"1. {len(files)} files, {total / 1e6:.0f} MB, validate none, MD5 backend {backend}: workflow "
              f"{seconds:.2f} s ({jobs} digest jobs), md5sum {baseline:.2f} s: ratio {seconds / baseline:.2f}"
              + (" (target <= 0.5)" if backend == "auto" else ""))
    print(f"   Snakemake alone, one no-op job: {floor:.2f} s = {floor / baseline:.2f}x md5sum of these files")


def set_aside(folder: Path, *names: str) -> None:
    """Move an earlier run's outputs into ``TRASH`` (deleted at the end, not now).

    Deleting thousands of files just before a timed run slows the run's own file
    creation by seconds on a file system mounted with ``discard`` (as here):
    the earlier run's clean-up is not part of this run's cost.
    """
    TRASH.mkdir(parents=True, exist_ok=True)
    for name in names:
        if (folder / name).exists():
            (folder / name).rename(TRASH / f"{folder.name}-{name.strip('.')}-{time.time_ns()}")


def noop_workflow_seconds(root: Path) -> float:
    """Wall time of ``snakemake`` running a one-job workflow that only touches a file: its fixed cost here."""
    folder = root / "noop"
    folder.mkdir(exist_ok=True)
    (folder / "Snakefile").write_text('rule done:\n    output: "done"\n    shell: "touch {output}"\n')
    set_aside(folder, "done", ".snakemake")
    command = [sys.executable, "-m", "snakemake", "-s", str(folder / "Snakefile"), "-d", str(folder), "--cores", "2",
               "--quiet", "all"]
    return timed(command, cwd=folder)[0]


def one_gzip(root: Path, scale: dict, make) -> None:
    """Measurement 2: seqfixity digest at each validation level against md5sum of one .fastq.gz."""
    path = root / "one" / "big_R1_001.fastq.gz"
    if not path.exists():
        make.write_fastq(path, scale["gz_size"], seed=99, compress=True)
    baseline = md5sum_seconds([str(path)])
    size = path.stat().st_size
    for level in ("none", "gzip", "fastq"):
        outdir = root / "one" / f"out-{level}"
        seconds, _ = timed([sys.executable, "-m", "seqfixity", "digest", str(path), "--outdir", str(outdir),
                            "--validate", level, "--no-reuse"])  # a re-run would reuse the last record
        start = time.perf_counter()
        record = examine_file(str(path), Settings(validate=level))
        in_process = time.perf_counter() - start
        target = " (target <= 4)" if level == "fastq" else ""
        print(f"2. {size / 1e6:.0f} MB .fastq.gz, validate {level}: seqfixity digest {seconds:.2f} s "
              f"(in-process {in_process:.2f} s, {record.reads} reads, {record.fastq_verdict}), "
              f"md5sum {baseline:.2f} s: "
              f"ratio {seconds / baseline:.2f}, in-process {in_process / baseline:.2f}{target}")
    other_compressions(root, scale, make)


def other_compressions(root: Path, scale: dict, make) -> None:
    """Measurement 2, continued: validate fastq of the same FASTQ as .fastq.gz, .fastq.bz2 and .fastq.zst (made by
    gzip -1, bzip2 and zstd), each against md5sum of that same file: what each decoder costs in the one read."""
    plain = root / "one" / "part_R1_001.fastq"
    if not plain.exists():
        make.write_fastq(plain, scale["gz_size"] // 2, seed=98)
    for suffix, command in ((".gz", ["gzip", "-1", "-n", "-c"]), (".bz2", ["bzip2", "-c"]),
                            (".zst", ["zstd", "-q", "-c"])):
        path = plain.with_name(plain.name + suffix)
        if not path.exists():
            with open(path.with_name(f".{path.name}.tmp"), "wb") as out:
                subprocess.run([*command, str(plain)], stdout=out, check=True)
            os.replace(path.with_name(f".{path.name}.tmp"), path)
        baseline = md5sum_seconds([str(path)])
        start = time.perf_counter()
        record = examine_file(str(path), Settings(validate="fastq"))
        seconds = time.perf_counter() - start
        print(f"2. {plain.stat().st_size / 1e6:.0f} MB FASTQ as {path.stat().st_size / 1e6:.0f} MB {suffix}, "
              f"validate fastq in-process {seconds:.2f} s ({record.reads} reads, {record.fastq_verdict}), "
              f"md5sum {baseline:.3f} s: ratio {seconds / baseline:.1f}")


def dry_run(root: Path, scale: dict) -> None:
    """Measurement 3: snakemake -n over many empty files: DAG time and job count."""
    folder = root / f"dry-{scale['dry_files']}"
    data = folder / "data"
    if not (folder / "ready").exists():
        data.mkdir(parents=True, exist_ok=True)
        for index in range(scale["dry_files"]):
            (data / f"S{index:06d}_R1_001.fastq.gz").touch()
        (folder / "ready").touch()
    (folder / "config.yaml").write_text("inputs: [data]\noutdir: results\n")
    seconds, done = timed(snakemake(folder, "-n"), cwd=folder)
    match = re.search(r"^total\s+(\d+)", done.stdout + done.stderr, re.MULTILINE)
    jobs = int(match.group(1)) if match else -1
    print(f"3. dry run over {scale['dry_files']} empty files: {seconds:.2f} s, {jobs} jobs "
          f"(target <= 60 s and <= 1000 jobs at 100,000 files)")


def report_records(folder: Path, files: int) -> list[str]:
    """Records of ``files`` files in R1/R2 pairs, 250 files per batch file, with a few failures; the batch files."""
    from seqfixity.examine.reuse import record_line
    from seqfixity.record import FileRecord

    batches = sorted(str(path) for path in (folder / "batches").glob("*.json"))
    if batches:
        return batches
    (folder / "records").mkdir(parents=True, exist_ok=True)
    (folder / "batches").mkdir(exist_ok=True)
    now = time.time()
    for start in range(0, files, 250):
        written = []
        for index in range(start, min(start + 250, files)):
            reads = 1000 + index // 2 - (index % 2 and index % 194 == 1)  # now and then R2 has a read fewer
            record = FileRecord(path=f"/data/run42/S{index // 2:05d}_L001_R{index % 2 + 1}_001.fastq.gz",
                                size=10**8 + index * 4099, mtime_ns=0, etag_part_size=8 << 20, etag_parts=12,
                                digests={"md5": f"{index:032x}", "etag": f"{index + 1:032x}-12",
                                         "xxh128": f"{index + 2:032x}"}, reads=reads, fastq_verdict="OK")
            if index % 401 == 3:
                record.fastq_verdict, record.fastq_error = "TRUNCATED", "gzip stream ends inside member 1"
            path = folder / "records" / f"{record.sample}.jsonl"
            path.write_text(record_line(record))
            written.append(str(path))
        done = {"records": written, "files": len(written), "read": len(written), "reused": 0, "bytes": 0,
                "bytes_read": 250 * 10**8, "started": now - 60, "finished": now}
        (folder / "batches" / f"b{start:06d}.json").write_text(json.dumps(done))
    return sorted(str(path) for path in (folder / "batches").glob("*.json"))


def aggregate_seconds(sources: dict[str, Path], batches: list[str], folder: Path) -> dict[str, float]:
    """Best of three wall times of ``seqfixity aggregate`` over ``batches`` from each of ``sources`` (name: its
    ``src``), taken in turns so that a busy moment of the machine falls on each alike."""
    best = dict.fromkeys(sources, float("inf"))
    for _ in range(3):
        for name, src in sources.items():
            outdir = folder / f"out-{name.replace('/', '_')}"
            shutil.rmtree(outdir, ignore_errors=True)
            env = {**os.environ, "PYTHONPATH": str(src)}
            start = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "seqfixity", "aggregate", "--batches", *batches,
                                   "--outdir", str(outdir)], env=env, capture_output=True, text=True)
            best[name] = min(best[name], time.perf_counter() - start)
            if done.returncode:
                raise SystemExit(f"aggregate from {src} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return best


def revision_source(folder: Path, revision: str) -> Path | None:
    """``src/`` of ``revision`` of this repository, unpacked under ``folder``; None when git cannot give it."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", revision, "src"], capture_output=True)
    if archive.returncode:
        print(f"   (no comparison: git archive {revision}: {archive.stderr.decode().strip()})")
        return None
    target = folder / f"src-{revision.replace('/', '_')}"
    shutil.rmtree(target, ignore_errors=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(target, filter="data")
    return target / "src"


def report_writers(batches: list[str]) -> str:
    """Seconds of each report writer of this checkout, in this process, over the records of ``batches``."""
    from seqfixity.reports import html, multiqc, tables, xlsx
    from seqfixity.reports.run_settings import settings_entry

    paths = [path for batch in batches for path in json.loads(Path(batch).read_text())["records"]]
    start = time.perf_counter()
    rows = tables.file_rows(tables.load_records(paths))
    summary = tables.summarise(rows)
    summary["settings"] = settings_entry(Settings(), "warn")
    seconds = {"rows and summary": time.perf_counter() - start}
    table = tables.frame(rows)
    writers = {"TSV": lambda: tables.tsv_bytes(table), "JSON": lambda: json.dumps(list(rows), indent=1),
               "XLSX": lambda: xlsx.xlsx_bytes(rows, list(table.columns), summary),
               "MultiQC": lambda: multiqc.multiqc_bytes(summary),
               "report.html": lambda: html.report_html(rows, summary)}
    for name, write in writers.items():
        start = time.perf_counter()
        write()
        seconds[name] = time.perf_counter() - start
    return ", ".join(f"{name} {value:.2f} s" for name, value in seconds.items())


def reports(root: Path, scale: dict, revision: str) -> None:
    """Measurement 4: every report for ``report_files`` files, this checkout against ``revision``."""
    folder = root / f"reports-{scale['report_files']}"
    batches = report_records(folder, scale["report_files"])
    sources = {"this checkout": REPO / "src"}
    source = revision_source(folder, revision) if revision else None
    if source is not None:
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(source)], check=True)  # as ours: compiled
        sources[revision] = source
    seconds = aggregate_seconds(sources, batches, folder)
    ours = seconds["this checkout"]
    line = f"4. reports for {scale['report_files']} files: seqfixity aggregate {ours:.2f} s"
    if source is not None:
        theirs = seconds[revision]
        line += f", {revision} {theirs:.2f} s: {ours - theirs:+.2f} s (target <= +0.5 s)"
    print(f"{line}\n   in this process: {report_writers(batches)}")


def main() -> int:
    """Run the four measurements and print them."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", action="store_true", help="tiny scale: checks that the script works")
    parser.add_argument("--workdir", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "seqfixity-bench")
    parser.add_argument("--only", choices=("1", "2", "3", "4"), help="run one measurement")
    parser.add_argument("--compare-with", default="main", metavar="REVISION",
                        help="measurement 4: the git revision whose aggregate to compare with (default: main; "
                             "empty: none)")
    parser.add_argument("--large-files", type=int, metavar="N",
                        help="measurement 1 with N large files instead of 16 (how the ratio changes with volume)")
    args = parser.parse_args()
    scale = dict(SCALES["small" if args.small else "full"])
    if args.large_files is not None:
        scale["large_files"] = args.large_files
    root = args.workdir / ("small" if args.small else "full")
    root.mkdir(parents=True, exist_ok=True)
    make = _generator()
    print(f"seqfixity workflow benchmark ({'small' if args.small else 'full'} scale, {os.cpu_count()} CPUs, "
          f"files in {root})")
    if args.only in (None, "1"):
        many_files(root, scale, make)
    if args.only in (None, "2"):
        one_gzip(root, scale, make)
    if args.only in (None, "3"):
        dry_run(root, scale)
    if args.only in (None, "4"):
        reports(root, scale, args.compare_with)
    shutil.rmtree(TRASH, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
