"""S3 lets an uploader make parts of different sizes (each of 5 MiB or more but the last). Part 1's length then does
not give the layout: an ETag recomputed at it differs from an intact copy's, which was a false MISMATCH in
``verify`` (and exit 1 in ``hash s3://``). The oracle is the server (moto on loopback) and hashlib: the object's
ETag is the MD5 of its parts' MD5s at the boundaries it was uploaded with."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import boto3
import pytest

from conftest import run_cli
from servers import moto_s3  # noqa: F401 (fixture)

MiB = 1024 * 1024
BUCKET = "seqfixity-uneven"
LAYOUTS = {"uneven.bin": [6 * MiB, 5 * MiB, 6 * MiB], "even.bin": [6 * MiB, 6 * MiB, 5 * MiB]}


@pytest.fixture(scope="module")
def uploaded(moto_s3, tmp_path_factory) -> tuple[str, Path]:  # noqa: F811
    """Upload each file part by part with the layout of LAYOUTS; return the endpoint and a local copy."""
    s3 = boto3.client("s3", endpoint_url=moto_s3)
    s3.create_bucket(Bucket=BUCKET)
    root = tmp_path_factory.mktemp("local")
    for name, sizes in LAYOUTS.items():
        data = random.Random(name).randbytes(sum(sizes))
        (root / name).write_bytes(data)
        upload = s3.create_multipart_upload(Bucket=BUCKET, Key=name)["UploadId"]
        parts, offset, digests = [], 0, []
        for number, size in enumerate(sizes, 1):
            piece = data[offset:offset + size]
            offset += size
            digests.append(hashlib.md5(piece).digest())
            answer = s3.upload_part(Bucket=BUCKET, Key=name, UploadId=upload, PartNumber=number, Body=piece)
            parts.append({"ETag": answer["ETag"], "PartNumber": number})
        s3.complete_multipart_upload(Bucket=BUCKET, Key=name, UploadId=upload, MultipartUpload={"Parts": parts})
        etag = s3.head_object(Bucket=BUCKET, Key=name)["ETag"].strip('"')
        assert etag == f"{hashlib.md5(b''.join(digests)).hexdigest()}-3"  # the oracle: intact, at its own layout
    return moto_s3, root


def test_an_intact_copy_of_an_object_with_parts_of_different_sizes_is_never_a_mismatch(uploaded, tmp_path):
    endpoint, root = uploaded
    done = run_cli("verify", root, "--against", f"s3://{BUCKET}", "--endpoint-url", endpoint)
    assert done.returncode == 32, done.stdout + done.stderr
    assert b"even.bin: OK" in done.stdout
    assert (b"uneven.bin: UNVERIFIABLE (size matches, content unverified: ETag " in done.stdout
            and b"parts of different sizes (6291456, 5242880, 6291456 bytes)" in done.stdout)
    hashed = run_cli("hash", f"s3://{BUCKET}/uneven.bin", "--endpoint-url", endpoint)
    assert hashed.returncode == 32 and b"parts of different sizes" in hashed.stderr  # not 1: its bytes are its own
    listed = run_cli("hash", "-f", "jsonl", f"s3://{BUCKET}/uneven.bin", "--endpoint-url", endpoint)
    [record] = [json.loads(line) for line in listed.stdout.splitlines()]
    assert record["md5"] == hashlib.md5((root / "uneven.bin").read_bytes()).hexdigest()
    assert "etag" not in record and not record.get("etag_parts")  # no ETag made up at part 1's length


def test_a_changed_copy_of_an_object_with_even_parts_is_still_a_mismatch(uploaded, tmp_path):
    endpoint, root = uploaded
    for name in LAYOUTS:
        data = bytearray((root / name).read_bytes())
        data[7 * MiB] ^= 1
        (tmp_path / name).write_bytes(bytes(data))
    done = run_cli("verify", tmp_path, "--against", f"s3://{BUCKET}", "--endpoint-url", endpoint)
    assert done.returncode == 1 | 32, done.stdout + done.stderr
    assert b"\neven.bin: MISMATCH (ETag at the known part size 6MiB differs" in b"\n" + done.stdout  # "differs" once
    assert b"uneven.bin: UNVERIFIABLE" in done.stdout
