#!/usr/bin/env python3
"""Write a deterministic FASTQ (plain or gzip) of at least a given size.

The default writes example/generated/EXAMPLE3_S3_L001_R1_001.fastq, 20 MiB: over
ICA's 16 MB threshold, so the example run shows a multipart ETag. The same seed
and size always give the same bytes (the gzip header carries no time stamp).

    python scripts/make-example-data.py                       # the example file
    python scripts/make-example-data.py --size 250MiB --gzip --output /tmp/big.fastq.gz
"""

from __future__ import annotations

import argparse
import gzip
import os
import random
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPO / "example" / "generated" / "EXAMPLE3_S3_L001_R1_001.fastq"
READ_LENGTH = 150
BATCH_RECORDS = 10_000
_BASES = bytes.maketrans(bytes(range(256)), b"ACGT" * 64)
_QUALITIES = bytes.maketrans(bytes(range(256)), bytes(b"#,:FFFFF"[i % 8] for i in range(256)))


def records(seed: int, block: int = BATCH_RECORDS):
    """Yield blocks of ``block`` FASTQ records, deterministic for ``seed``."""
    rng = random.Random(seed)
    number = 0
    while True:
        sequences = rng.randbytes(READ_LENGTH * block).translate(_BASES)
        qualities = rng.randbytes(READ_LENGTH * block).translate(_QUALITIES)
        lines = []
        for index in range(block):
            number += 1
            start = index * READ_LENGTH
            lines.append(b"@EXAMPLE:1:FC:1:1:%d:%d 1:N:0:ACGT\n%s\n+\n%s\n" % (
                number, seed, sequences[start:start + READ_LENGTH], qualities[start:start + READ_LENGTH]))
        yield b"".join(lines)


def write_fastq(path: Path, size: int, seed: int = 3, compress: bool = False, reads: int = 0) -> Path:
    """Write ``reads`` records, or (``reads`` 0) whole blocks until the file holds at least ``size`` bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "wb") as raw:
        sink = gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1, mtime=0, filename="") if compress else raw
        for block in records(seed, reads or BATCH_RECORDS):
            sink.write(block)
            if reads or raw.tell() >= size:
                break
        if compress:
            sink.close()
    os.replace(temporary, path)
    return path


def parse_size(text: str) -> int:
    """Parse 20MiB, 250MB or a byte count."""
    units = {"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "kb": 10**3, "mb": 10**6, "gb": 10**9, "": 1}
    lowered = text.strip().lower()
    for suffix in sorted(units, key=len, reverse=True):
        if lowered.endswith(suffix):
            return int(float(lowered[: len(lowered) - len(suffix)] or 0) * units[suffix])
    raise ValueError(text)


def main(argv: list[str] | None = None) -> int:
    """Write the file; print its path."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--size", type=parse_size, default=20 << 20, help="at least this many bytes (20MiB)")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--reads", type=int, default=0, help="exactly this many reads (instead of --size)")
    parser.add_argument("--gzip", action="store_true", help="gzip-compress (level 1, no time stamp)")
    parser.add_argument("--force", action="store_true", help="write even if the file exists")
    args = parser.parse_args(argv)
    if args.output.exists() and not args.force:
        print(args.output)
        return 0
    print(write_fastq(args.output, args.size, args.seed, args.gzip, args.reads))
    return 0


if __name__ == "__main__":
    sys.exit(main())
