#!/usr/bin/env python3
"""Benchmark the engine against its peers in the same run: `md5sum`, `xargs -P2 md5sum`, `hashdeep`, `rhash`.

Three measurements, each with the multi-lane core (the backend `auto` picks) and with
SEQFIXITY_MD5_BACKEND=scalar (hashlib), so the gain is visible; the page cache is warmed first, every
command runs --rounds times, the median counts, and each ratio is to serial `md5sum` of the same bytes:

  many   2,000 x 64 KiB + 16 x 256 MiB (4.4 GB): `hash -r --digests md5` (target <= 0.20x) and with the
         default md5,etag,xxh128 (<= 0.25x); the peers hash the same folder
  one    one 1 GiB file: `hash --digests etag` (<= 0.33x) and md5,etag,xxh128 (<= 1.0x); peak memory
  guess  `etag guess` with 16 candidates on a 210 MiB file uploaded with 70 MiB parts (<= 1.3x)

    python benchmarks/bench_hash.py                 # everything (about 6 GB of data)
    python benchmarks/bench_hash.py --only one      # one measurement
    python benchmarks/bench_hash.py --small         # a few MiB: proves the script works
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
MiB = 1024 * 1024
SEQFIXITY = [sys.executable, "-m", "seqfixity"]


def make_file(path: Path, size: int) -> None:
    """Write ``size`` random bytes (in a child process, so this one stays small)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        subprocess.run(["head", "-c", str(size), "/dev/urandom"], stdout=handle, check=True)


def run(command: list[str] | str, backend: str = "auto", cwd: Path | None = None) -> tuple[float, int]:
    """Run ``command`` (a list, or a shell line); return its wall time and peak RSS in KiB."""
    env = dict(os.environ, PYTHONPATH=str(SRC), SEQFIXITY_MD5_BACKEND=backend)
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, env=env, cwd=cwd, shell=isinstance(command, str))
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"benchmark command failed: {command}")
    return elapsed, usage.ru_maxrss


def median(command: list[str] | str, rounds: int, backend: str = "auto", cwd: Path | None = None) -> tuple[float, int]:
    """The median wall time and the highest peak RSS of ``rounds`` runs."""
    runs = [run(command, backend, cwd) for _ in range(rounds)]
    return statistics.median(r[0] for r in runs), max(r[1] for r in runs)


def report(label: str, seconds: float, reference: float, target: str = "") -> None:
    """One line: what, how long, the ratio to the reference."""
    goal = f"  (target {target})" if target else ""
    print(f"  {label:52} {seconds:7.2f} s  {seconds / reference:5.2f}x{goal}")


def warm(folder: Path) -> None:
    """Read every file once so that every command reads from the page cache."""
    subprocess.run(f"find {folder} -type f -print0 | xargs -0 cat > /dev/null", shell=True, check=True)


def many(folder: Path, rounds: int, small: bool) -> None:
    """The many-files set against md5sum, xargs -P2 md5sum, hashdeep and rhash."""
    count, size, big, big_size = (40, 64 * 1024, 2, 4 * MiB) if small else (2000, 64 * 1024, 16, 256 * MiB)
    data = folder / "many"
    block = os.urandom(size)
    for index in range(count):
        path = data / f"small/s{index // 500}/f{index:05d}.fastq"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(index.to_bytes(8, "little") + block[8:])
    for index in range(big):
        make_file(data / f"big/b{index:02d}.fastq", big_size)
    total = count * size + big * big_size
    warm(data)
    files = "find . -type f -print0 | sort -z"
    serial, _ = median(f"{files} | xargs -0 md5sum", rounds, cwd=data)
    print(f"many: {count:,} x {size // 1024} KiB + {big} x {big_size // MiB} MiB = {total / 1e9:.1f} GB, "
          f"{os.cpu_count()} cores, median of {rounds}; serial md5sum {serial:.2f} s ({total / serial / 1e6:.0f} MB/s)")
    report("xargs -P2 md5sum", median(f"{files} | xargs -0 -n 8 -P 2 md5sum", rounds, cwd=data)[0], serial)
    report("hashdeep -c md5 -r", median(["hashdeep", "-c", "md5", "-r", "."], rounds, cwd=data)[0], serial)
    report("rhash --md5 -r", median(["rhash", "--md5", "-r", "."], rounds, cwd=data)[0], serial)
    for digests, target in (("md5", "<= 0.20x"), ("md5,etag,xxh128", "<= 0.25x")):
        command = [*SEQFIXITY, "hash", "-r", "--quiet", "--digests", digests, "-o", str(folder / "out.txt"), "."]
        for backend in ("auto", "scalar"):
            seconds, _ = median(command, rounds, backend, cwd=data)
            report(f"seqfixity hash -r --digests {digests} [{backend}]", seconds, serial,
                   target if backend == "auto" else "")
    shutil.rmtree(data)


def one(folder: Path, rounds: int, small: bool) -> None:
    """One large file: the ETag alone, and MD5 + ETag + xxh3, against md5sum."""
    size = 16 * MiB if small else 1024 * MiB
    path = folder / "one.bin"
    make_file(path, size)
    warm(folder)
    serial, _ = median(["md5sum", str(path)], rounds)
    print(f"one: a {size // MiB} MiB file, median of {rounds}; md5sum {serial:.2f} s ({size / serial / 1e6:.0f} MB/s)")
    for digests, target in (("etag", "<= 0.33x"), ("md5,etag,xxh128", "<= 1.0x")):
        for backend in ("auto", "scalar"):
            command = [*SEQFIXITY, "hash", "--quiet", "--format", "jsonl", "--digests", digests, str(path)]
            seconds, rss = median(command, rounds, backend)
            report(f"seqfixity hash --digests {digests} [{backend}] ({rss // 1024} MiB peak)", seconds, serial,
                   target if backend == "auto" else "")
    path.unlink()


def guess(folder: Path, rounds: int, small: bool) -> None:
    """`etag guess` with 16 candidates, on a file uploaded with 70 MiB parts."""
    part = 7 * MiB if small else 70 * MiB
    path = folder / "guess.bin"
    make_file(path, 3 * part + MiB)
    data = path.read_bytes()
    digests = [hashlib.md5(data[i:i + part]).digest() for i in range(0, len(data), part)]
    etag = f"{hashlib.md5(b''.join(digests)).hexdigest()}-{len(digests)}"
    del data
    warm(folder)
    serial, _ = median(["md5sum", str(path)], rounds)
    print(f"guess: a {path.stat().st_size / MiB:.0f} MiB file, ETag {etag} ({part // MiB} MiB parts), 16 candidates;"
          f" md5sum {serial:.2f} s")
    for backend in ("auto", "scalar"):
        command = [*SEQFIXITY, "etag", "guess", "--max-candidates", "16", str(path), etag]
        report(f"seqfixity etag guess [{backend}]", median(command, rounds, backend)[0], serial,
               "<= 1.3x" if backend == "auto" else "")
    path.unlink()


def main() -> None:
    """Run the measurements asked for."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=("many", "one", "guess"), help="run one measurement")
    parser.add_argument("--rounds", type=int, default=3, help="runs per command; the median counts (default 3)")
    parser.add_argument("--small", action="store_true", help="tiny data: checks that the script works")
    parser.add_argument("--dir", default=None, help="where to put the data (default: a temporary folder)")
    args = parser.parse_args()
    for tool in ("md5sum", "hashdeep", "rhash"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed (bash scripts/install-deps.sh --test installs the peers)")
    version = subprocess.run([*SEQFIXITY, "--version"], capture_output=True, text=True,
                             env=dict(os.environ, PYTHONPATH=str(SRC))).stdout.strip().replace("\n", "; ")
    print(version)
    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        for name, measure in (("many", many), ("one", one), ("guess", guess)):
            if args.only in (None, name):
                measure(Path(folder), max(1, args.rounds), args.small)


if __name__ == "__main__":
    main()
