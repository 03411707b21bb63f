#!/usr/bin/env python3
"""Benchmark: `seqfixity hash` and `etag guess` against coreutils `md5sum`, measured in the same run.

Makes a file (1 GiB by default) of random bytes, warms the page cache, then
times each command several times and prints the best wall time of each and its
ratio to `md5sum`. Peak memory (max RSS) is printed for two file sizes to
show it does not grow with the file.

    python benchmarks/bench_hash.py              # 1 GiB, 3 rounds
    python benchmarks/bench_hash.py --size 256MiB --rounds 1
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
sys.path.insert(0, str(SRC))

from seqfixity.units import human_size, parse_size  # noqa: E402


def make_file(path: Path, size: int) -> None:
    """Write ``size`` random bytes (in a child process, so this one stays small for the RSS figures)."""
    with open(path, "wb") as handle:
        subprocess.run(["head", "-c", str(size), "/dev/urandom"], stdout=handle, check=True)


def timed(command: list[str]) -> tuple[float, int]:
    """Run ``command``; return its wall time and its peak RSS in KiB."""
    env = dict(os.environ, PYTHONPATH=str(SRC))
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"benchmark command failed: {' '.join(command)}")
    return elapsed, usage.ru_maxrss


def best(command: list[str], rounds: int) -> tuple[float, int]:
    """Return the best wall time and the highest peak RSS over ``rounds`` runs."""
    runs = [timed(command) for _ in range(rounds)]
    return min(r[0] for r in runs), max(r[1] for r in runs)


def multipart_etag(path: Path, part_size: int) -> str:
    """The 8 MiB-part ETag of ``path``, computed independently with hashlib."""
    digests = []
    with open(path, "rb") as handle:
        while chunk := handle.read(part_size):
            digests.append(hashlib.md5(chunk).digest())
    return f"{hashlib.md5(b''.join(digests)).hexdigest()}-{len(digests)}"


def main() -> None:
    """Run the benchmark and print one line per measurement."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="1GiB", help="file size (default 1GiB)")
    parser.add_argument("--rounds", type=int, default=3, help="runs per command; the best counts (default 3)")
    parser.add_argument("--dir", default=None, help="where to put the file (default: a temporary folder)")
    args = parser.parse_args()
    size = parse_size(args.size)
    seqfixity = [sys.executable, "-m", "seqfixity"]
    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        path = Path(folder) / "bench.bin"
        make_file(path, size)
        small = Path(folder) / "small.bin"
        make_file(small, max(size // 4, 1))
        etag = multipart_etag(path, 8 * 1024 * 1024)
        subprocess.run(["cat", str(path), str(small)], stdout=subprocess.DEVNULL, check=True)  # warm the cache
        md5sum, _ = best(["md5sum", str(path)], args.rounds)
        hashed, rss_big = best([*seqfixity, "hash", "--quiet", "--digests", "md5,etag,xxh128", str(path)],
                               args.rounds)
        guessed, _ = best([*seqfixity, "etag", "guess", str(path), etag], args.rounds)
        _, rss_small = best([*seqfixity, "hash", "--quiet", str(small)], 1)
    rate = size / md5sum / 1e6
    print(f"file: {human_size(size)}, {os.cpu_count()} cores, best of {args.rounds}; "
          f"md5sum {md5sum:.2f} s ({rate:.0f} MB/s)")
    print(f"seqfixity hash (md5+etag+xxh128): {hashed:.2f} s = {hashed / md5sum:.2f}x md5sum (target <= 1.05x)")
    print(f"seqfixity etag guess (8 MiB parts): {guessed:.2f} s = {guessed / md5sum:.2f}x md5sum (target <= 1.3x)")
    print(f"peak memory: {rss_big / 1024:.0f} MiB for {human_size(size)}, "
          f"{rss_small / 1024:.0f} MiB for {human_size(max(size // 4, 1))}")


if __name__ == "__main__":
    main()
