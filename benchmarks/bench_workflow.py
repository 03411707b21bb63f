#!/usr/bin/env python3
"""Benchmark the Snakemake workflow against md5sum, measured in the same run (issue 4).

1. Many small files plus large ones (default 2,000 x 64 KiB FASTQ + 16 x 256 MiB, 4.4 GB),
   the workflow with 2 cores at ``validate: none`` against serial ``md5sum`` over the same
   files, with the multi-lane MD5 core and with SEQFIXITY_MD5_BACKEND=scalar. Target: ratio
   <= 0.5. Also Snakemake alone (a one-job workflow that touches a file), the fixed cost that
   any Snakemake run pays on this machine.
2. ``validate: fastq`` of one .fastq.gz (default 250 MB) by ``seqfixity digest`` against
   ``md5sum`` of that file. Target: ratio <= 4. Also ``validate: gzip`` and ``none``.
3. A dry run (``snakemake -n``) over 100,000 empty input files. Target: <= 60 s, <= 1,000 jobs.

    python benchmarks/bench_workflow.py --small     # tiny scale, proves the script works
    python benchmarks/bench_workflow.py             # the issue's scale (needs ~2.5 GB in --workdir)

Files are generated once under --workdir and reused; page cache is warmed before timing.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shutil
import subprocess
import sys
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
             "gz_size": 250 * 10**6, "dry_files": 100_000},
    "small": {"small_files": 100, "small_size": 64 << 10, "large_files": 2, "large_size": 24 << 20,
              "gz_size": 20 * 10**6, "dry_files": 5_000},
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


def main() -> int:
    """Run the three measurements and print them."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", action="store_true", help="tiny scale: checks that the script works")
    parser.add_argument("--workdir", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "seqfixity-bench")
    parser.add_argument("--only", choices=("1", "2", "3"), help="run one measurement")
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
    shutil.rmtree(TRASH, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
