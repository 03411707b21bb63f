#!/usr/bin/env python3
"""Benchmark `seqfixity hash s3://` against its peer over the same S3 server (moto_server on 127.0.0.1).

Two measurements, each the median of --rounds runs, the ratio to the peer's time for the same bytes:

  one    one large object (uploaded in 8 MiB parts): `hash s3://B/KEY` with md5,etag,xxh128 against
         `aws s3 cp s3://B/KEY - | md5sum` (MD5 only); target <= 1.0x; peak memory of both
  many   a prefix of many objects: `hash s3://B/PREFIX` (md5,etag,xxh128) against boto3 `download_fileobj`
         of every object into hashlib's MD5, one after another in one process (a CLI per object would count
         its start-up; `aws s3 cp --recursive` writes files); target <= 0.6x

moto_server is Python and copies the whole object for every ranged GET, so the absolute MB/s are moto's,
not S3's (hence a 256 MiB object, not 1 GiB); both sides pay the same. The server and the clients share
this machine's cores.

    python benchmarks/bench_remote.py                 # a 256 MiB object, 64 x 4 MiB objects
    python benchmarks/bench_remote.py --small         # a few MiB: proves the script works
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
MiB = 1024 * 1024
BUCKET = "bench"
ENV = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}


# boto3's transfer manager into MD5, object after object: what a script without seqfixity does.
PEER_MANY = (
    "import boto3, hashlib, sys\n"
    "s3 = boto3.client(\"s3\", endpoint_url=sys.argv[1])\n"
    "class Md5:\n"
    "    def __init__(self): self.h = hashlib.md5()\n"
    "    def write(self, data): self.h.update(data)\n"
    "for page in s3.get_paginator(\"list_objects_v2\").paginate(Bucket=\"bench\", Prefix=\"many/\"):\n"
    "    for item in page[\"Contents\"]:\n"
    "        sink = Md5()\n"
    "        s3.download_fileobj(\"bench\", item[\"Key\"], sink)\n"
    "        print(sink.h.hexdigest(), item[\"Key\"])\n"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_moto() -> tuple[subprocess.Popen, str]:
    """moto_server on a free loopback port; its endpoint."""
    port = free_port()
    # objects held in memory, not spilled to temporary files: moto's disk reads would be all that is measured
    env = dict(os.environ, MOTO_S3_DEFAULT_KEY_BUFFER_SIZE=str(2 << 30))
    process = subprocess.Popen([shutil.which("moto_server") or "moto_server", "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(endpoint, timeout=1).close()
            return process, endpoint
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit("moto_server did not start") from None
            time.sleep(0.2)


def run(command: str) -> tuple[float, int]:
    """Run a shell line; return its wall time and the peak RSS of its largest process in KiB."""
    env = dict(os.environ, PYTHONPATH=str(SRC), **ENV)
    start = time.perf_counter()
    process = subprocess.Popen(command, shell=True, stdout=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"benchmark command failed: {command}")
    return elapsed, usage.ru_maxrss


def median(command: str, rounds: int) -> tuple[float, int]:
    runs = [run(command) for _ in range(rounds)]
    return statistics.median(r[0] for r in runs), max(r[1] for r in runs)


def upload(endpoint: str, one_size: int, many: int, many_size: int) -> None:
    """Upload the objects from a child process (a fork of a process holding them would count their pages)."""
    subprocess.run([sys.executable, __file__, "--upload-to", endpoint, str(one_size), str(many), str(many_size)],
                   check=True)


def upload_here(endpoint: str, one_size: int, many: int, many_size: int) -> None:
    import boto3
    from boto3.s3.transfer import TransferConfig

    os.environ.update(ENV)
    s3 = boto3.client("s3", endpoint_url=endpoint)
    s3.create_bucket(Bucket=BUCKET)
    config = TransferConfig(multipart_threshold=8 * MiB, multipart_chunksize=8 * MiB)
    s3.upload_fileobj(io.BytesIO(os.urandom(one_size)), BUCKET, "one/big.bin", Config=config)
    for number in range(many):
        s3.upload_fileobj(io.BytesIO(os.urandom(many_size)), BUCKET, f"many/f{number:04d}.bin", Config=config)


def report(name: str, ours: tuple[float, int], peer: tuple[float, int], size: int, target: float) -> bool:
    ratio = ours[0] / peer[0]
    verdict = "ok" if ratio <= target else "SLOWER THAN TARGET"
    print(f"{name}: seqfixity {ours[0]:.2f} s ({size / ours[0] / 1e6:.0f} MB/s, peak {ours[1] // 1024} MiB), "
          f"peer {peer[0]:.2f} s ({size / peer[0] / 1e6:.0f} MB/s, peak {peer[1] // 1024} MiB): "
          f"{ratio:.2f}x (target <= {target}x) {verdict}", flush=True)
    return ratio <= target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--small", action="store_true", help="a few MiB only")
    parser.add_argument("--only", choices=("one", "many"))
    parser.add_argument("--upload-to", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.upload_to:
        upload_here(args.upload_to[0], *map(int, args.upload_to[1:]))
        return 0
    one_size, many, many_size = (24 * MiB, 8, MiB) if args.small else (256 * MiB, 64, 4 * MiB)
    if shutil.which("aws") is None:
        raise SystemExit("the peer needs the AWS CLI: pip install awscli")
    server, endpoint = start_moto()
    try:
        upload(endpoint, one_size, many, many_size)
        seqfixity = f"{sys.executable} -m seqfixity hash -q --endpoint-url {endpoint}"
        aws = f"aws --endpoint-url {endpoint} s3 cp"
        ok = True
        if args.only in (None, "one"):
            ours = median(f"{seqfixity} --digests md5,etag,xxh128 s3://{BUCKET}/one/big.bin", args.rounds)
            peer = median(f"{aws} s3://{BUCKET}/one/big.bin - | md5sum", args.rounds)
            ok &= report("one large object (md5+etag+xxh3 vs md5)", ours, peer, one_size, 1.0)
        if args.only in (None, "many"):
            ours = median(f"{seqfixity} s3://{BUCKET}/many", args.rounds)
            peer = median(f"{sys.executable} -c '{PEER_MANY}' {endpoint}", args.rounds)
            ok &= report(f"a prefix of {many} objects", ours, peer, many * many_size, 0.6)
    finally:
        server.terminate()
        server.wait(10)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
