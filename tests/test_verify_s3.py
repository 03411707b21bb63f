"""``seqfixity verify`` against a real S3 server (moto_server on 127.0.0.1), objects uploaded by boto3.

The ETags and checksums come from the server's own implementation, the part
sizes from boto3's transfer manager; the local side is judged by the CLI.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import zlib
from pathlib import Path

import boto3
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

from conftest import run_cli
from seqfixity.engine.composite import CompositeChecksum, FullObjectChecksum
from seqfixity.remote import RemoteObject
from seqfixity.remote.verify import VerifyOptions, safe_relative, strip_prefix, verify
from seqfixity.verdict import USAGE_ERROR_EXIT, Verdict
from servers import moto_s3  # noqa: F401 (fixture)

MiB = 1024 * 1024
BUCKET = "seqfixity-verify"
ODD = 5_300_007  # a part size that is not a whole MiB (nor MB)

# name -> (size, multipart threshold, part size, extra upload arguments)
UPLOADS = {
    "r5.bin": (10 * MiB + 7, 5 * MiB, 5 * MiB, {}),
    "r8.bin": (8 * MiB + 100, 8 * MiB, 8 * MiB, {}),
    "sub/r16.bin": (16 * MiB + 1, 16 * MiB, 16 * MiB, {}),
    "odd.bin": (2 * ODD, 5 * MiB, ODD, {}),
    "small.bin": (1 * MiB, 64 * MiB, 8 * MiB, {}),
    "sha.bin": (5 * MiB + 3, 5 * MiB, 5 * MiB, {"ChecksumAlgorithm": "SHA256"}),
    "crc32c.bin": (5 * MiB + 5, 5 * MiB, 5 * MiB, {"ChecksumAlgorithm": "CRC32C"}),
}


def client(endpoint: str, **config):
    """A boto3 S3 client for the loopback server."""
    return boto3.client("s3", endpoint_url=endpoint, config=Config(**config))


@pytest.fixture(scope="module")
def blob() -> bytes:
    """Deterministic random bytes; every object is a prefix of them."""
    return random.Random(6).randbytes(16 * MiB + 1)


@pytest.fixture(scope="module")
def bucket(moto_s3, blob, tmp_path_factory) -> str:  # noqa: F811
    """Upload every object of UPLOADS under run/ with boto3's transfer manager, plus a CRC64NVME PUT."""
    s3 = client(moto_s3)
    s3.create_bucket(Bucket=BUCKET)
    staging = tmp_path_factory.mktemp("upload")
    for name, (size, threshold, part_size, extra) in UPLOADS.items():
        source = staging / name.replace("/", "_")
        source.write_bytes(blob[:size])
        config = TransferConfig(multipart_threshold=threshold, multipart_chunksize=part_size, use_threads=False)
        s3.upload_file(str(source), BUCKET, f"run/{name}", Config=config, ExtraArgs=extra)
        source.unlink()
    s3.put_object(Bucket=BUCKET, Key="run/nvme.txt", Body=blob[:1000], ChecksumAlgorithm="CRC64NVME")
    return BUCKET


def local_copy(root: Path, blob: bytes) -> Path:
    """Write the local copies that match run/ exactly."""
    for name, (size, *_rest) in UPLOADS.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(blob[:size])
    (root / "nvme.txt").write_bytes(blob[:1000])
    return root


def report_of(path: Path) -> dict[str, dict]:
    return {entry["path"]: entry for entry in json.loads(path.read_text())["files"]}


def test_intact_copies_pass_with_the_exact_part_size(moto_s3, bucket, blob, tmp_path):  # noqa: F811
    root = local_copy(tmp_path / "local", blob)
    report = tmp_path / "verify.json"
    done = run_cli("verify", root, "--against", f"s3://{bucket}/run", "--endpoint-url", moto_s3, "--report", report)
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
    assert done.stdout.decode().splitlines()[-1] == f"SUCCEEDED: {len(UPLOADS) + 1} OK"
    files = report_of(report)
    assert json.loads(report.read_text())["outcome"] == "SUCCEEDED"
    s3 = client(moto_s3)
    for name, (size, threshold, part_size, _extra) in UPLOADS.items():
        entry = files[name]
        server_etag = s3.head_object(Bucket=bucket, Key=f"run/{name}")["ETag"].strip('"')
        assert entry["verdict"] == "OK", entry
        assert entry["expected"]["etag"] == server_etag
        if size >= threshold:
            assert "-" in server_etag
            assert entry["actual"]["etag"] == server_etag and entry["actual"]["etag_part_size"] == part_size, name
            assert entry["actual"]["part_size_source"] == "exact"
            assert "md5" not in entry["actual"]  # the parts alone decide: no MD5 stream was run
        else:
            assert server_etag == entry["actual"]["md5"] == hashlib.md5(blob[:size]).hexdigest()
    assert "SHA256" in files["sha.bin"]["hint"] and "CRC32C" in files["crc32c.bin"]["hint"]
    assert "CRC64NVME" in files["nvme.txt"]["hint"]
    assert "CRC32" in files["r5.bin"]["hint"]  # boto3 adds CRC32 to uploads by default


def flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def test_damaged_copies_get_every_verdict(moto_s3, bucket, blob, tmp_path):  # noqa: F811
    root = local_copy(tmp_path / "local", blob)
    flip_byte(root / "r5.bin", 6 * MiB)                      # second part: ETag and CRC32 differ
    flip_byte(root / "crc32c.bin", 10)
    flip_byte(root / "small.bin", 0)                         # single-part: ETag is the MD5
    with open(root / "r8.bin", "r+b") as handle:             # truncated
        handle.truncate(8 * MiB)
    (root / "sub" / "r16.bin").unlink()                      # never downloaded
    (root / "sub" / "extra.fastq.gz").write_bytes(b"not uploaded")
    (root / "odd.bin").unlink()
    os.mkfifo(root / "odd.bin")                              # not a regular file
    report = tmp_path / "verify.json"
    done = run_cli("verify", root, "--against", f"s3://{bucket}/run/", "--endpoint-url", moto_s3,
                   "--report", report, "--quiet")
    verdicts = {path: entry["verdict"] for path, entry in report_of(report).items()}
    assert verdicts == {
        "r5.bin": "MISMATCH", "crc32c.bin": "MISMATCH", "small.bin": "MISMATCH", "r8.bin": "SIZE_MISMATCH",
        "sub/r16.bin": "MISSING_LOCAL", "sub/extra.fastq.gz": "MISSING_REMOTE", "odd.bin": "UNREADABLE",
        "sha.bin": "OK", "nvme.txt": "OK",
    }
    bits = Verdict.MISMATCH.bit | Verdict.SIZE_MISMATCH.bit | Verdict.MISSING.bit | Verdict.UNREADABLE.bit
    assert done.returncode == bits
    out = done.stdout.decode()
    assert "sha.bin" not in out and out.splitlines()[-1].startswith("PARTIALLY_SUCCEEDED: 2 OK")
    entry = report_of(report)["r5.bin"]
    assert "ETag" in entry["hint"] and "CRC32" in entry["hint"]
    assert entry["actual"]["etag_part_size"] == 5 * MiB
    assert json.loads(report.read_text())["outcome"] == "PARTIALLY_SUCCEEDED"
    only_content = run_cli("verify", root, "--against", f"s3://{bucket}/run", "--endpoint-url", moto_s3,
                           "--fail-on", "mismatch", "-q")
    assert only_content.returncode == Verdict.MISMATCH.bit


def test_inferred_part_size_equals_the_upload_part_size(moto_s3, bucket, blob, tmp_path):  # noqa: F811
    """Without HeadObject (an ICA-style listing of size and ETag only) the part size is inferred."""
    s3 = client(moto_s3)
    listing = s3.list_objects_v2(Bucket=bucket, Prefix="run/")["Contents"]
    objects = [RemoteObject(name=item["Key"], size=item["Size"], etag=item["ETag"].strip('"')) for item in listing]
    root = local_copy(tmp_path / "local", blob)
    batch, _context = verify(str(root), objects, VerifyOptions(strip_prefix="run", jobs=1))
    results = {r.path: r for r in batch.results}
    assert {r.verdict for r in batch.results} == {Verdict.OK}
    for name, (size, threshold, part_size, _extra) in UPLOADS.items():
        if size >= threshold:
            assert results[name].actual["part_size_source"] == "inferred"
            assert results[name].actual["etag_part_size"] == part_size, name


def test_kms_etag_is_unverifiable_unless_a_checksum_decides(moto_s3, bucket, blob, tmp_path):  # noqa: F811
    plain = client(moto_s3, request_checksum_calculation="when_required")
    plain.put_object(Bucket=bucket, Key="kms/bare.bin", Body=blob[:2000], ServerSideEncryption="aws:kms")
    plain.put_object(Bucket=bucket, Key="kms/crc.bin", Body=blob[:3000], ServerSideEncryption="aws:kms",
                     ChecksumAlgorithm="CRC32")
    plain.put_object(Bucket=bucket, Key="kms/bad.bin", Body=blob[:4000], ServerSideEncryption="aws:kms",
                     ChecksumAlgorithm="CRC32")
    assert "ChecksumCRC32" not in plain.head_object(Bucket=bucket, Key="kms/bare.bin", ChecksumMode="ENABLED")
    root = tmp_path / "local"
    root.mkdir()
    (root / "bare.bin").write_bytes(blob[:2000])
    (root / "crc.bin").write_bytes(blob[:3000])
    (root / "bad.bin").write_bytes(blob[1:4001])
    report = tmp_path / "verify.json"
    done = run_cli("verify", root, "--against", f"s3://{bucket}/kms", "--endpoint-url", moto_s3, "--report", report)
    files = report_of(report)
    assert {p: e["verdict"] for p, e in files.items()} == {
        "bare.bin": "UNVERIFIABLE", "crc.bin": "OK", "bad.bin": "MISMATCH"}
    assert "SSE-KMS" in files["bare.bin"]["hint"]
    assert done.returncode == Verdict.UNVERIFIABLE.bit | Verdict.MISMATCH.bit


def test_remote_keys_with_dot_dot_never_leave_local_root(moto_s3, bucket, tmp_path):  # noqa: F811
    s3 = client(moto_s3)
    s3.put_object(Bucket=bucket, Key="esc/../../secret.txt", Body=b"secret")
    s3.put_object(Bucket=bucket, Key="esc/ok.txt", Body=b"fine")
    root = tmp_path / "deep" / "local"
    root.mkdir(parents=True)
    (root / "ok.txt").write_bytes(b"fine")
    (tmp_path / "secret.txt").write_bytes(b"secret")   # where ../../ would lead from root
    report = tmp_path / "verify.json"
    done = run_cli("verify", root, "--against", f"s3://{bucket}/esc", "--endpoint-url", moto_s3, "--report", report)
    files = report_of(report)
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=bucket, Prefix="esc/")["Contents"]]
    assert "esc/../../secret.txt" in keys
    assert files["ok.txt"]["verdict"] == "OK"
    assert files["../../secret.txt"]["verdict"] == "MANIFEST_ERROR"
    assert "actual" not in files["../../secret.txt"] or not files["../../secret.txt"]["actual"]
    assert done.returncode == Verdict.MANIFEST_ERROR.bit


def test_listing_errors_are_one_line_and_write_no_report(moto_s3, tmp_path):  # noqa: F811
    report = tmp_path / "verify.json"
    done = run_cli("verify", tmp_path, "--against", "s3://no-such-bucket-here/x", "--endpoint-url", moto_s3,
                   "--report", report)
    assert done.returncode == Verdict.MANIFEST_ERROR.bit
    lines = done.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("seqfixity: s3://no-such-bucket-here/x/: cannot list: NoSuchBucket")
    assert not report.exists()
    bad = run_cli("verify", tmp_path, "--against", "s3:/oops")
    assert bad.returncode == USAGE_ERROR_EXIT and b"s3:/oops: unknown source" in bad.stderr


def test_composite_checksums_match_independent_computation():
    data = random.Random(3).randbytes(3 * 1000 + 17)
    parts = [data[i:i + 1000] for i in range(0, len(data), 1000)]

    def fed(hasher):
        for start in range(0, len(data), 333):
            hasher.update(memoryview(data[start:start + 333]))
        return hasher.result()

    crc_parts = b"".join(zlib.crc32(p).to_bytes(4, "big") for p in parts)
    expected_crc = base64.b64encode(zlib.crc32(crc_parts).to_bytes(4, "big")).decode() + "-4"
    assert fed(CompositeChecksum("crc32", 1000)) == expected_crc
    sha_parts = b"".join(hashlib.sha256(p).digest() for p in parts)
    expected_sha = base64.b64encode(hashlib.sha256(sha_parts).digest()).decode() + "-4"
    assert fed(CompositeChecksum("sha256", 1000)) == expected_sha
    assert fed(FullObjectChecksum("sha1")) == base64.b64encode(hashlib.sha1(data).digest()).decode()


def test_composite_checksum_with_parts_suffix_decides(tmp_path):
    """S3 shows composite checksums as ``base64-N`` with ChecksumType COMPOSITE; both forms are compared."""
    data = random.Random(4).randbytes(6 * MiB)
    (tmp_path / "a.bin").write_bytes(data)
    part = 5 * MiB
    crcs = b"".join(zlib.crc32(data[i:i + part]).to_bytes(4, "big") for i in range(0, len(data), part))
    composite = base64.b64encode(zlib.crc32(crcs).to_bytes(4, "big")).decode()
    good = RemoteObject(name="a.bin", size=len(data), checksums={"crc32": f"{composite}-2"},
                        checksum_type="COMPOSITE", part_size=part, parts=2, etag="")
    batch, _ = verify(str(tmp_path), [good], VerifyOptions(jobs=1))
    assert batch.results[0].verdict is Verdict.OK
    wrong = RemoteObject(name="a.bin", size=len(data), checksums={"crc32": f"{composite}-3"},
                         checksum_type="COMPOSITE", part_size=part, parts=2)
    batch, _ = verify(str(tmp_path), [wrong], VerifyOptions(jobs=1))
    assert batch.results[0].verdict is Verdict.MISMATCH


@pytest.mark.parametrize(("name", "expected"), [
    ("a/b.fastq.gz", "a/b.fastq.gz"), ("/project/a.txt", "project/a.txt"), ("./a//b", "a/b"),
    ("../a", None), ("a/../../b", None), ("a/..", None), ("", None), ("/", None), ("a\0b", None),
])
def test_safe_relative(name, expected):
    assert safe_relative(name) == expected


def test_strip_prefix():
    assert strip_prefix("/run42/a/b.gz", "/run42/") == "a/b.gz"
    assert strip_prefix("run42/a", "run42") == "a"
    assert strip_prefix("/run420/a", "/run42") is None
    assert strip_prefix("/x", "") == "x"


def test_full_object_crc_of_a_multipart_object(tmp_path):
    """S3 may keep a FULL_OBJECT CRC32 (or CRC64NVME) for a multipart upload: no part size is needed."""
    data = random.Random(5).randbytes(6 * MiB)
    (tmp_path / "a.bin").write_bytes(data)
    crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    etag = "0" * 32 + "-2"   # an ETag no part size reproduces: the checksum decides
    full = RemoteObject(name="a.bin", size=len(data), etag=etag, checksums={"crc32": crc}, checksum_type="FULL_OBJECT")
    batch, _ = verify(str(tmp_path), [full], VerifyOptions(jobs=1, max_candidates=2))
    result = batch.results[0]
    assert result.verdict is Verdict.OK and "CRC32 matches" in result.hint and "no part size" in result.hint
    assert result.actual["tried_part_sizes"] and result.actual["part_size_source"] == "inferred"
    bare = RemoteObject(name="a.bin", size=len(data), etag=etag)
    batch, _ = verify(str(tmp_path), [bare], VerifyOptions(jobs=1, max_candidates=2))
    # no candidate reproduces it: the part size may be what differs, so that proves nothing (not a MISMATCH)
    assert batch.results[0].verdict is Verdict.UNVERIFIABLE and "no part size reproduces" in batch.results[0].hint


def test_parts_of_different_sizes_are_unverifiable_not_a_mismatch(moto_s3, blob, tmp_path):  # noqa: F811
    """S3 lets an uploader vary its part sizes; from part 1's length alone the ETag cannot be predicted."""
    s3 = client(moto_s3, request_checksum_calculation="when_required")
    s3.create_bucket(Bucket="uneven")
    upload = s3.create_multipart_upload(Bucket="uneven", Key="run/a.bin")["UploadId"]
    bounds = [(0, 5 * MiB), (5 * MiB, 15 * MiB + 3)]                   # 5 MiB, then 10 MiB + 3
    parts = [{"ETag": s3.upload_part(Bucket="uneven", Key="run/a.bin", UploadId=upload, PartNumber=number,
                                     Body=blob[start:end])["ETag"], "PartNumber": number}
             for number, (start, end) in enumerate(bounds, 1)]
    s3.complete_multipart_upload(Bucket="uneven", Key="run/a.bin", UploadId=upload, MultipartUpload={"Parts": parts})
    root = tmp_path / "local"
    root.mkdir()
    (root / "a.bin").write_bytes(blob[:15 * MiB + 3])
    report = tmp_path / "verify.json"
    done = run_cli("verify", root, "--against", "s3://uneven/run", "--endpoint-url", moto_s3, "--report", report)
    entry = report_of(report)["a.bin"]
    assert entry["expected"]["etag"].endswith("-2") and entry["expected"]["part_size"] == 5 * MiB
    assert entry["verdict"] == "UNVERIFIABLE", entry
    assert "parts of different sizes" in entry["hint"]
    assert done.returncode == Verdict.UNVERIFIABLE.bit


def test_missing_credentials_say_where_they_come_from(tmp_path, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    done = run_cli("verify", tmp_path, "--against", "s3://bucket/run", "--endpoint-url", "http://127.0.0.1:9")
    stderr = done.stderr.decode()
    assert done.returncode == Verdict.MANIFEST_ERROR.bit and stderr.count("\n") == 1
    assert "Unable to locate credentials" in stderr and "AWS_PROFILE" in stderr
