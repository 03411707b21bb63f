#!/usr/bin/env python3
"""Benchmark ``seqfixity check`` against ``md5sum -c`` on the same GNU manifest, measured in the same run.

Full scale (for a quiet machine): 2,000 files of 1 MiB plus four of 256 MiB.
Prints wall times and ratios: full check with ``--jobs 2`` vs ``md5sum -c``
(target <= 0.25x), with the multi-lane MD5 core and with SEQFIXITY_MD5_BACKEND=scalar,
and the quick-mode second run vs the full run (target >= 10x faster). Both tools read
from the page cache (a warm-up pass comes first).

    python benchmarks/bench_check.py            # full scale, about 3.5 GB of data
    python benchmarks/bench_check.py --small    # a few MiB, proves the script works
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MiB = 1024 * 1024
OLD = 1_600_000_000


def make_data(folder: Path, small: int, small_size: int, big: int, big_size: int) -> list[str]:
    """Write the files (distinct content, no compression tricks) with old mtimes; return their names."""
    block = os.urandom(MiB)
    names = []
    for index in range(small + big):
        is_big = index >= small
        name = f"big_{index - small:02d}.bin" if is_big else f"sub{index // 500}/small_{index:05d}.bin"
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        size = big_size if is_big else small_size
        with open(path, "wb") as handle:
            handle.write(index.to_bytes(8, "little"))
            written = 8
            while written < size:
                chunk = block[: min(MiB, size - written)]
                handle.write(chunk)
                written += len(chunk)
        os.utime(path, (OLD, OLD))
        names.append(name)
    return names


def timed(command: list[str], cwd: Path, env: dict[str, str], backend: str = "auto") -> float:
    """Run ``command`` on MD5 backend ``backend`` and return its wall time; fail loudly if it fails."""
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env={**env, "SEQFIXITY_MD5_BACKEND": backend}, capture_output=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.decode()[-500:]}")
    return elapsed


def main() -> int:
    """Build the data, time both tools, print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", action="store_true", help="tiny scale (40 x 64 KiB + 2 x 2 MiB)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each command; the median is shown")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--dir", help="where to write the data (default: a temporary folder, removed after)")
    args = parser.parse_args()
    shape = (40, 64 * 1024, 2, 2 * MiB) if args.small else (2000, MiB, 4, 256 * MiB)
    base = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="seqfixity-bench-check-"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO / "src"), os.environ.get("PYTHONPATH")]))}
    try:
        data = base / "data"
        data.mkdir(parents=True, exist_ok=True)
        names = make_data(data, *shape)
        total = sum((data / n).stat().st_size for n in names)
        manifest = subprocess.run(["md5sum", "--", *names], cwd=data, check=True, capture_output=True).stdout
        (data / "MD5.txt").write_bytes(manifest)
        cache = base / "cache.json"
        md5sum = ["md5sum", "-c", "--quiet", "MD5.txt"]
        ours = [sys.executable, "-m", "seqfixity", "check", "--quiet", "--jobs", str(args.jobs), "MD5.txt"]
        full = [*ours, "--cache", str(cache)]
        quick = [*ours, "--quick", "--cache", str(cache)]
        rehash = [*quick, "--rehash", "xxh128"]
        timed(md5sum, data, env)  # warm the page cache
        times: dict[str, list[float]] = {"md5sum -c": [], "check (full)": [], "check (full) [scalar]": [],
                                         "check --quick": [], "check --quick --rehash xxh128": []}
        for _ in range(max(1, args.repeat)):
            times["md5sum -c"].append(timed(md5sum, data, env))
            times["check (full)"].append(timed(full, data, env))
            times["check (full) [scalar]"].append(timed([*ours, "--no-cache"], data, env, "scalar"))
            times["check --quick"].append(timed(quick, data, env))
            times["check --quick --rehash xxh128"].append(timed(rehash, data, env))
        median = {name: statistics.median(values) for name, values in times.items()}
        print(f"{shape[0]} x {shape[1] // 1024} KiB + {shape[2]} x {shape[3] // MiB} MiB = {total / MiB:.0f} MiB, "
              f"--jobs {args.jobs}, median of {max(1, args.repeat)}, warm page cache")
        for name, value in median.items():
            print(f"  {name:32} {value:8.3f} s  {total / MiB / value:9.0f} MiB/s")
        print(f"ratio check (full) / md5sum -c:        {median['check (full)'] / median['md5sum -c']:.2f}x "
              "(target <= 0.25x)")
        print(f"ratio check (full) [scalar] / md5sum -c: "
              f"{median['check (full) [scalar]'] / median['md5sum -c']:.2f}x")
        print(f"speed-up quick vs full:                {median['check (full)'] / median['check --quick']:.1f}x "
              "(target >= 10x)")
        print(f"speed-up quick --rehash xxh128 vs full: "
              f"{median['check (full)'] / median['check --quick --rehash xxh128']:.1f}x")
    finally:
        if not args.dir:
            shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
