"""``hash s3://`` and ``check --root s3://`` against a real S3 server (moto_server on 127.0.0.1).

Objects are uploaded by boto3's transfer manager at several part sizes (and with additional checksums); the
oracles are hashlib over the original bytes, an ETag computed here with hashlib, the server's own ETags,
xxhash, coreutils md5sum -c on a downloaded copy and hashdeep. Faults (dropped connections, short and
over-long bodies, 5xx, 429, 403, 404, an object replaced mid-read, corrupted bytes) come from a loopback
proxy between seqfixity and moto.
"""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
import threading
import time
from pathlib import Path

import boto3
import pytest
import xxhash
from boto3.s3.transfer import TransferConfig

from conftest import run_cli
from ica_fixtures import s3_etag
from seqfixity.verdict import Verdict
from servers import LoopbackServer, Reply, Request, forward, moto_s3  # noqa: F401 (fixture)

MiB = 1024 * 1024
BUCKET = "seqfixity-remote"
ODD = 5_300_007

# key below run/ -> (size, part size of the upload or None for one PUT, extra upload arguments)
UPLOADS = {
    "r5.bin": (10 * MiB + 7, 5 * MiB, {}),
    "r8.bin": (17 * MiB + 100, 8 * MiB, {}),
    "sub/r16.bin": (16 * MiB + 1, 16 * MiB, {}),
    "odd.bin": (2 * ODD + 5, ODD, {}),
    "small.txt": (1000, None, {}),
    "empty.txt": (0, None, {}),
    "sha.bin": (5 * MiB + 3, 5 * MiB, {"ChecksumAlgorithm": "SHA256"}),
    "crc32c.bin": (6 * MiB + 5, 5 * MiB, {"ChecksumAlgorithm": "CRC32C"}),
}


def data_of(name: str) -> bytes:
    """The bytes uploaded as run/NAME."""
    size = UPLOADS[name][0] if name in UPLOADS else 1000
    return random.Random(name).randbytes(size)


def s3_client(endpoint: str):
    return boto3.client("s3", endpoint_url=endpoint)


@pytest.fixture(scope="module")
def bucket(moto_s3, tmp_path_factory) -> str:  # noqa: F811
    """run/ with every object of UPLOADS (transfer manager), a CRC64NVME PUT, and run0/ beside it."""
    s3 = s3_client(moto_s3)
    s3.create_bucket(Bucket=BUCKET)
    staging = tmp_path_factory.mktemp("upload")
    for name, (_size, part_size, extra) in UPLOADS.items():
        source = staging / "file"
        source.write_bytes(data_of(name))
        config = TransferConfig(multipart_threshold=part_size or 1 << 40, multipart_chunksize=part_size or 8 * MiB,
                                use_threads=False)
        s3.upload_file(str(source), BUCKET, f"run/{name}", Config=config, ExtraArgs=extra)
    s3.put_object(Bucket=BUCKET, Key="run/nvme.txt", Body=data_of("nvme.txt"), ChecksumAlgorithm="CRC64NVME")
    s3.put_object(Bucket=BUCKET, Key="run0/not-in-run.txt", Body=b"beside the folder, not in it")
    return BUCKET


def names() -> list[str]:
    return sorted([*UPLOADS, "nvme.txt"])


def records_of(output: bytes) -> dict[str, dict]:
    return {r["path"]: r for r in map(json.loads, output.decode().splitlines())}


def test_hash_a_prefix_gives_hashlib_md5_the_servers_etags_and_xxh3(moto_s3, bucket):  # noqa: F811
    done = run_cli("hash", f"s3://{bucket}/run", "--endpoint-url", moto_s3, "--format", "jsonl", "-q")
    assert done.returncode == 0, done.stderr.decode()
    records = records_of(done.stdout)
    assert sorted(records) == names()  # run0/ is beside the folder run/, not in it
    s3 = s3_client(moto_s3)
    for name, record in records.items():
        data = data_of(name)
        part_size = UPLOADS.get(name, (0, None))[1]
        server_etag = s3.head_object(Bucket=bucket, Key=f"run/{name}")["ETag"].strip('"')
        assert record["md5"] == hashlib.md5(data).hexdigest(), name
        assert record["xxh128"] == xxhash.xxh3_128(data).hexdigest(), name
        assert record["etag"] == server_etag == s3_etag(data, part_size), name
        assert record["size"] == len(data)
        assert record["etag_part_size"] == (part_size or 0), name
        assert record["etag_parts"] == (-(-len(data) // part_size) if part_size else 0), name
        head = s3.head_object(Bucket=bucket, Key=f"run/{name}", ChecksumMode="ENABLED")
    for name, kind in (("nvme.txt", "CRC64NVME"),):  # (moto shows multipart checksums without -N: not here)
        head = s3.head_object(Bucket=bucket, Key=f"run/{name}", ChecksumMode="ENABLED")  # the object's own
        assert records[name][kind.lower()] == head[f"Checksum{kind}"], name  # full-object checksum, same read


def test_gnu_lines_check_a_downloaded_copy_with_md5sum(moto_s3, bucket, tmp_path):  # noqa: F811
    listing = tmp_path / "run.md5"
    done = run_cli("hash", f"s3://{bucket}/run/", "--endpoint-url", moto_s3, "-o", listing)
    assert done.returncode == 0, done.stderr.decode()
    copy = tmp_path / "copy"
    s3 = s3_client(moto_s3)
    for name in names():
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(bucket, f"run/{name}", str(copy / name))
    checked = subprocess.run(["md5sum", "-c", str(listing)], cwd=copy, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert sorted(line.rsplit(": ", 1)[0] for line in checked.stdout.splitlines()) == names()


def test_a_single_key_is_named_by_its_base_name(moto_s3, bucket):  # noqa: F811
    done = run_cli("hash", f"s3://{bucket}/run/sub/r16.bin", "--endpoint-url", moto_s3)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode() == f"{hashlib.md5(data_of('sub/r16.bin')).hexdigest()}  r16.bin\n"
    nothing = run_cli("hash", f"s3://{bucket}/run/nothing-here", "--endpoint-url", moto_s3)
    assert nothing.returncode == Verdict.MISSING.bit and nothing.stdout == b""
    assert b"no such object, and no objects below it" in nothing.stderr


def test_keys_with_dot_dot_never_name_a_local_path(moto_s3, bucket):  # noqa: F811
    s3 = s3_client(moto_s3)
    s3.put_object(Bucket=bucket, Key="esc/../../etc/passwd", Body=b"not yours")
    s3.put_object(Bucket=bucket, Key="esc/fine.txt", Body=b"fine")
    done = run_cli("hash", f"s3://{bucket}/esc", "--endpoint-url", moto_s3)
    assert done.stdout.decode() == f"{hashlib.md5(b'fine').hexdigest()}  fine.txt\n"
    assert done.returncode == Verdict.MANIFEST_ERROR.bit
    assert "esc/../../etc/passwd: its name is absolute or holds '..'" in done.stderr.decode()


def sequencer_run(folder: Path) -> dict[str, bytes]:
    """What the sequencer wrote: FASTQ-named files, and its MD5 manifest (coreutils md5sum, in the run folder)."""
    files = {f"S{n}_L001_R1_001.fastq.gz": random.Random(n).randbytes(size)
             for n, size in enumerate((9 * MiB + 1, 3 * MiB, 1234, 777, 6 * MiB), 1)}
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    manifest = subprocess.run(["md5sum", *sorted(files)], cwd=folder, check=True, capture_output=True).stdout
    (folder / "MD5.txt").write_bytes(manifest)
    hashdeep = subprocess.run(["hashdeep", "-c", "md5", "-l", *sorted(files)], cwd=folder, check=True,
                              capture_output=True).stdout
    (folder / "hashdeep.txt").write_bytes(hashdeep)
    return files


def test_a_sequencer_manifest_against_the_bucket(moto_s3, bucket, tmp_path):  # noqa: F811
    run = tmp_path / "run42"
    files = sequencer_run(run)
    s3 = s3_client(moto_s3)
    config = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB, use_threads=False)
    for name in files:
        s3.upload_file(str(run / name), bucket, f"run42/{name}", Config=config)
    corrupted = bytearray(files["S2_L001_R1_001.fastq.gz"])
    corrupted[MiB] ^= 0x01  # same size, other content: replaced behind the manifest's back
    s3.put_object(Bucket=bucket, Key="run42/S2_L001_R1_001.fastq.gz", Body=bytes(corrupted))
    s3.delete_object(Bucket=bucket, Key="run42/S3_L001_R1_001.fastq.gz")
    s3.put_object(Bucket=bucket, Key="run42/S9_L001_R1_001.fastq.gz", Body=b"not the sequencer's")
    s3.put_object(Bucket=bucket, Key="run42/S5_L001_R1_001.fastq.gz", Body=files["S5_L001_R1_001.fastq.gz"][:-1])
    report = tmp_path / "check.json"
    done = run_cli("check", run / "MD5.txt", "--root", f"s3://{bucket}/run42", "--endpoint-url", moto_s3,
                   "--completeness", "--report", report)
    verdicts = {f["path"]: f["verdict"] for f in json.loads(report.read_text())["files"]}
    assert verdicts == {
        "S1_L001_R1_001.fastq.gz": "OK", "S2_L001_R1_001.fastq.gz": "MISMATCH",
        "S3_L001_R1_001.fastq.gz": "MISSING", "S4_L001_R1_001.fastq.gz": "OK",
        "S5_L001_R1_001.fastq.gz": "MISMATCH",  # md5sum gives no sizes: the content decides
        f"s3://{bucket}/run42/S9_L001_R1_001.fastq.gz": "EXTRA",
    }
    assert done.returncode == Verdict.MISMATCH.bit | Verdict.MISSING.bit | Verdict.EXTRA.bit
    lines = done.stdout.decode().splitlines()
    assert lines[-1] == "PARTIALLY_SUCCEEDED: 2 OK, 1 EXTRA, 2 MISMATCH, 1 MISSING"
    assert lines[0] == "S1_L001_R1_001.fastq.gz: OK"


def counting_proxy(upstream: str) -> tuple[LoopbackServer, list[str]]:
    """A proxy in front of moto that records the key of every GET."""
    gets: list[str] = []

    def answer(request: Request) -> Reply:
        if request.method == "GET" and "list-type" not in request.query:
            gets.append(request.path)
        return forward(upstream, request)

    return LoopbackServer(answer), gets


def test_a_size_that_differs_is_size_mismatch_without_reading(moto_s3, bucket, tmp_path):  # noqa: F811
    run = tmp_path / "run43"
    files = sequencer_run(run)
    s3 = s3_client(moto_s3)
    for name, data in files.items():
        s3.put_object(Bucket=bucket, Key=f"run43/{name}", Body=data[:-1] if name.startswith("S1") else data)
    proxy, gets = counting_proxy(moto_s3)
    with proxy:
        done = run_cli("check", run / "hashdeep.txt", "--root", f"s3://{bucket}/run43", "--endpoint-url", proxy.url)
    out = done.stdout.decode()
    assert "S1_L001_R1_001.fastq.gz: SIZE_MISMATCH (expected 9437185 bytes, found 9437184" in out
    assert done.returncode == Verdict.SIZE_MISMATCH.bit, out
    read = {path.rsplit("/", 1)[-1] for path in gets}
    assert "S1_L001_R1_001.fastq.gz" not in read
    assert read == set(files) - {"S1_L001_R1_001.fastq.gz"}


class Faults:
    """Each range's first answer is broken, in turn: dropped mid-body, 503, 429 (Retry-After), over-long,
    cut short, the Range ignored; the second goes through."""

    KINDS = ("drop", "503", "429", "overlong", "short", "ignore-range")

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.seen: dict[tuple[str, str], int] = {}
        self.injected: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, request: Request) -> Reply:
        if request.method != "GET" or "list-type" in request.query or "range" not in request.headers:
            return forward(self.upstream, request)
        with self.lock:
            key = (request.path, request.headers["range"])
            attempt = self.seen[key] = self.seen.get(key, 0) + 1
            kind = self.KINDS[len(self.injected) % len(self.KINDS)] if attempt == 1 else None
            if kind:
                self.injected.append(kind)
        if kind == "503":
            return Reply(503, b"<Error><Code>SlowDown</Code></Error>")
        if kind == "429":
            return Reply(429, b"<Error><Code>TooManyRequests</Code></Error>", {"Retry-After": "1"})
        if kind == "ignore-range":
            whole = dict(request.headers)
            whole.pop("range")
            return forward(self.upstream, Request("GET", request.path, request.query, whole, b"", request.path))
        reply = forward(self.upstream, request)
        if kind == "drop":
            reply.cut = len(reply.body) // 2
        elif kind == "short":
            reply.cut = max(0, len(reply.body) - 1)
        elif kind == "overlong":
            reply.body += b"EXTRA BYTES"
        return reply


def test_faults_are_retried_and_every_range_is_hashed_once(moto_s3, bucket):  # noqa: F811
    faults = Faults(moto_s3)
    started = time.monotonic()
    with LoopbackServer(faults) as proxy:
        done = run_cli("hash", f"s3://{bucket}/run", "--endpoint-url", proxy.url, "--format", "jsonl",
                       "--retry-backoff", "0", "--connections", "3", "-q")
    assert done.returncode == 0, done.stderr.decode()
    assert set(faults.injected) == set(Faults.KINDS)
    assert time.monotonic() - started >= 1.0  # the 429's Retry-After: 1 was honoured
    records = records_of(done.stdout)
    for name in names():
        data = data_of(name)
        assert records[name]["md5"] == hashlib.md5(data).hexdigest(), name
        assert records[name]["etag"] == s3_etag(data, UPLOADS.get(name, (0, None))[1]), name
        assert records[name]["xxh128"] == xxhash.xxh3_128(data).hexdigest(), name


def test_403_and_404_are_those_objects_verdicts_and_the_others_go_on(moto_s3, bucket):  # noqa: F811
    def answer(request: Request) -> Reply:
        if request.method == "GET" and request.path.endswith("/run/r5.bin"):
            return Reply(403, b"<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>")
        if request.method == "GET" and request.path.endswith("/run/small.txt"):
            return Reply(404, b"<Error><Code>NoSuchKey</Code></Error>")
        return forward(moto_s3, request)

    with LoopbackServer(answer) as proxy:
        done = run_cli("hash", f"s3://{bucket}/run", "--endpoint-url", proxy.url, "-q")
    assert done.returncode == Verdict.MISSING.bit | Verdict.UNREADABLE.bit
    printed = {line.split("  ", 1)[1] for line in done.stdout.decode().splitlines()}
    assert printed == set(names()) - {"r5.bin", "small.txt"}
    errors = done.stderr.decode()
    assert f"s3://{bucket}/run/r5.bin: access denied (HTTP 403)" in errors
    assert f"s3://{bucket}/run/small.txt: not found (HTTP 404)" in errors


def test_an_object_replaced_while_read_is_unreadable(moto_s3, bucket):  # noqa: F811
    s3 = s3_client(moto_s3)
    s3.put_object(Bucket=bucket, Key="moving/a.bin", Body=data_of("r8.bin"))
    s3.put_object(Bucket=bucket, Key="moving/b.bin", Body=b"quiet")
    replaced = []

    def answer(request: Request) -> Reply:
        if request.method == "GET" and request.path.endswith("/moving/a.bin") and not replaced:
            replaced.append(True)  # a writer replaces the object after it was listed, as it is read
            s3.put_object(Bucket=bucket, Key="moving/a.bin", Body=data_of("r8.bin")[::-1])
        return forward(moto_s3, request)

    with LoopbackServer(answer) as proxy:
        done = run_cli("hash", f"s3://{bucket}/moving", "--endpoint-url", proxy.url, "-q")
    assert done.returncode == Verdict.UNREADABLE.bit
    assert done.stdout.decode() == f"{hashlib.md5(b'quiet').hexdigest()}  b.bin\n"
    assert "moving/a.bin: changed while it was read (HTTP 412" in done.stderr.decode()


@pytest.mark.parametrize("times", [1, 2])
def test_bytes_that_do_not_reproduce_the_etag_are_read_again_then_reported(moto_s3, bucket, times):  # noqa: F811
    corrupted: list[str] = []

    def answer(request: Request) -> Reply:
        reply = forward(moto_s3, request)
        if request.method == "GET" and request.path.endswith("/run/r8.bin") and reply.status == 206:
            with threading.Lock():
                if len(corrupted) < times and request.headers["range"].startswith("bytes=0-"):
                    corrupted.append(request.headers["range"])
                    reply.body = bytes([reply.body[0] ^ 1]) + reply.body[1:]
        return reply

    with LoopbackServer(answer) as proxy:
        done = run_cli("hash", f"s3://{bucket}/run", "--endpoint-url", proxy.url, "-q")
    printed = dict(line.split("  ", 1)[::-1] for line in done.stdout.decode().splitlines())
    assert len(corrupted) == times
    if times == 1:  # the second read reproduces the ETag: its digest stands
        assert done.returncode == 0, done.stderr.decode()
        assert printed["r8.bin"] == hashlib.md5(data_of("r8.bin")).hexdigest()
    else:
        assert done.returncode == Verdict.MISMATCH.bit
        assert "r8.bin" not in printed and len(printed) == len(names()) - 1
        assert "run/r8.bin: the bytes read twice do not reproduce the object's own ETag" in done.stderr.decode()


def upload_in_parts(s3, key: str, parts: list[bytes], **extra) -> None:
    """A multipart upload with the parts given: S3 requires 5 MiB of every part but the last, not one size."""
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key=key, **extra)
    done = []
    for number, body in enumerate(parts, 1):
        answer = s3.upload_part(Bucket=BUCKET, Key=key, UploadId=upload["UploadId"], PartNumber=number, Body=body,
                                **({"ChecksumAlgorithm": extra["ChecksumAlgorithm"]} if extra else {}))
        done.append({"PartNumber": number, "ETag": answer["ETag"],
                     **{k: v for k, v in answer.items() if k.startswith("Checksum") and k != "ChecksumType"}})
    s3.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=upload["UploadId"], MultipartUpload={"Parts": done})


@pytest.mark.parametrize("extra", [{}, {"ChecksumAlgorithm": "CRC32C"}], ids=["etag", "etag+crc32c"])
def test_parts_of_different_sizes_are_no_corruption(moto_s3, bucket, tmp_path, extra):  # noqa: F811
    """Parts of 5, 6 and 7 MiB and a last one of 1 MiB: part 1's length is not the layout, so the ETag cannot
    be reproduced; the object is unconfirmed with the reason (never MISMATCH), hashed once, its MD5 hashlib's."""
    s3 = s3_client(moto_s3)
    rng = random.Random(f"uneven{extra}")
    parts = [rng.randbytes(n) for n in (5 * MiB, 6 * MiB, 7 * MiB, MiB + 3)]  # 4 parts: 4 = ceil(19 MiB / 5 MiB)
    upload_in_parts(s3, f"uneven{len(extra)}/u.bin", parts, **extra)
    data = b"".join(parts)
    etag = s3.head_object(Bucket=BUCKET, Key=f"uneven{len(extra)}/u.bin")["ETag"].strip('"')
    assert etag == hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest() + "-4"
    gets = []

    def answer(request: Request) -> Reply:
        if request.method == "GET" and "partNumber" not in request.query and "list-type" not in request.query:
            gets.append(request.headers.get("range", ""))
        return forward(moto_s3, request)

    with LoopbackServer(answer) as proxy:
        done = run_cli("hash", f"s3://{bucket}/uneven{len(extra)}", "--endpoint-url", proxy.url, "--format", "jsonl")
    (record,) = records_of(done.stdout).values()
    assert record["md5"] == hashlib.md5(data).hexdigest() and record["xxh128"] == xxhash.xxh3_128(data).hexdigest()
    assert done.returncode == Verdict.UNVERIFIABLE.bit, done.stderr.decode()
    assert "parts of different sizes (5242880, 6291456, 7340032, 1048579 bytes)" in done.stderr.decode()
    assert len(gets) == -(-len(data) // (8 * MiB))  # each range once: no second read of a sound object
    local = tmp_path / "copy"
    local.mkdir()
    (local / "u.bin").write_bytes(data)
    done = run_cli("verify", local, "--against", f"s3://{bucket}/uneven{len(extra)}", "--endpoint-url", moto_s3)
    assert done.returncode == Verdict.UNVERIFIABLE.bit and "u.bin: UNVERIFIABLE" in done.stdout.decode()


def test_a_key_with_a_leading_slash_is_refused_not_a_second_object_of_the_plain_name(moto_s3, bucket, tmp_path):  # noqa: F811
    """S3 keys "/lead/a.txt" and "lead/a.txt" are two objects; read as one name they would be two digests for
    one file (and a manifest entry judged against either). The absolute one is refused, as '..' is."""
    s3 = s3_client(moto_s3)
    s3.create_bucket(Bucket="seqfixity-absolute")
    s3.put_object(Bucket="seqfixity-absolute", Key="/lead/a.txt", Body=b"the absolute key")
    s3.put_object(Bucket="seqfixity-absolute", Key="lead/a.txt", Body=b"the plain key")
    s3.put_object(Bucket="seqfixity-absolute", Key="lead//b.txt", Body=b"under an empty folder")
    done = run_cli("hash", "s3://seqfixity-absolute", "--endpoint-url", moto_s3)
    assert done.stdout.decode() == f"{hashlib.md5(b'the plain key').hexdigest()}  lead/a.txt\n"
    assert done.returncode == Verdict.MANIFEST_ERROR.bit
    errors = done.stderr.decode()
    assert "s3://seqfixity-absolute//lead/a.txt: its name is absolute" in errors
    assert "s3://seqfixity-absolute/lead//b.txt: its name is not a clean relative path" in errors
    manifest = tmp_path / "MD5.txt"
    manifest.write_text(f"{hashlib.md5(b'the absolute key').hexdigest()}  lead/a.txt\n")
    done = run_cli("check", manifest, "--root", "s3://seqfixity-absolute", "--endpoint-url", moto_s3,
                   "--completeness")
    out = done.stdout.decode()
    assert "lead/a.txt: MISMATCH" in out, out  # judged against the key lead/a.txt, not /lead/a.txt
    assert "s3://seqfixity-absolute//lead/a.txt: EXTRA" in out, out


def test_allow_outside_root_reads_an_object_beside_the_root(moto_s3, bucket, tmp_path):  # noqa: F811
    """With --allow-outside-root an entry climbing out of s3://B/run names s3://B/run0/..., as it would name
    a file beside a local root: it is looked up and read, not MISSING because the root's listing lacks it."""
    manifest = tmp_path / "MD5.txt"
    beside = hashlib.md5(b"beside the folder, not in it").hexdigest()
    manifest.write_text(f"{beside}  ../run0/not-in-run.txt\n{beside}  ../run0/absent.txt\n"
                        f"{hashlib.md5(data_of('small.txt')).hexdigest()}  small.txt\n")
    done = run_cli("check", manifest, "--root", f"s3://{bucket}/run", "--endpoint-url", moto_s3,
                   "--allow-outside-root", "--completeness")
    out = done.stdout.decode().splitlines()
    assert "../run0/not-in-run.txt: OK" in out and "small.txt: OK" in out, out
    assert any(line.startswith("../run0/absent.txt: MISSING") for line in out), out
    assert not any("not-in-run.txt: EXTRA" in line for line in out)  # not in the root: never EXTRA of it
    assert done.returncode == Verdict.MISSING.bit | Verdict.EXTRA.bit
    refused = run_cli("check", manifest, "--root", f"s3://{bucket}/run", "--endpoint-url", moto_s3)
    assert refused.returncode & Verdict.MANIFEST_ERROR.bit


def test_an_object_gone_or_refused_at_its_head_is_missing_or_unreadable(moto_s3, bucket, tmp_path):  # noqa: F811
    """An object deleted between the listing and its HeadObject is MISSING, as a 404 on its GET is; a 403
    there (HeadObject needs s3:GetObject) is UNREADABLE, as on its GET: never a listing fault."""
    def answer(request: Request) -> Reply:
        if request.method in ("HEAD", "GET") and request.path.endswith("/run/r5.bin"):
            return Reply(404, b"" if request.method == "HEAD" else b"<Error><Code>NoSuchKey</Code></Error>")
        if request.method in ("HEAD", "GET") and request.path.endswith("/run/r8.bin"):
            return Reply(403, b"" if request.method == "HEAD" else b"<Error><Code>AccessDenied</Code></Error>")
        return forward(moto_s3, request)

    manifest = tmp_path / "MD5.txt"
    manifest.write_text("".join(f"{hashlib.md5(data_of(n)).hexdigest()}  {n}\n" for n in ("r5.bin", "r8.bin",
                                                                                         "small.txt")))
    with LoopbackServer(answer) as proxy:
        hashed = run_cli("hash", f"s3://{bucket}/run", "--endpoint-url", proxy.url, "-q")
        checked = run_cli("check", manifest, "--root", f"s3://{bucket}/run", "--endpoint-url", proxy.url)
        local = tmp_path / "copy"
        for name in ("r5.bin", "r8.bin", "small.txt"):
            (local / name).parent.mkdir(exist_ok=True)
            (local / name).write_bytes(data_of(name))
        report = tmp_path / "verify.json"
        run_cli("verify", local, "--against", f"s3://{bucket}/run", "--endpoint-url", proxy.url, "--report", report)
    assert hashed.returncode == Verdict.MISSING.bit | Verdict.UNREADABLE.bit, hashed.stderr.decode()
    printed = {line.split("  ", 1)[1] for line in hashed.stdout.decode().splitlines()}
    assert printed == set(names()) - {"r5.bin", "r8.bin"}
    out = checked.stdout.decode()
    assert "r5.bin: MISSING" in out and "r8.bin: UNREADABLE" in out and "small.txt: OK" in out, out
    assert checked.returncode == Verdict.MISSING.bit | Verdict.UNREADABLE.bit
    verdicts = {f["path"]: f["verdict"] for f in json.loads(report.read_text())["files"]}
    assert (verdicts["r5.bin"], verdicts["r8.bin"], verdicts["small.txt"]) == ("MISSING_REMOTE", "UNREADABLE", "OK")


def test_an_archived_object_says_to_restore_it(moto_s3, bucket):  # noqa: F811
    """GetObject on an object in S3 Glacier Flexible Retrieval or Deep Archive answers 403 InvalidObjectState
    until it is restored (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html): UNREADABLE,
    saying so, not 'access denied'; the other objects go on."""
    def answer(request: Request) -> Reply:
        if request.method == "GET" and request.path.endswith("/run/small.txt"):
            return Reply(403, b"<Error><Code>InvalidObjectState</Code><Message>The operation is not valid for the "
                              b"object's storage class</Message><StorageClass>GLACIER</StorageClass></Error>")
        return forward(moto_s3, request)

    with LoopbackServer(answer) as proxy:
        done = run_cli("hash", f"s3://{bucket}/run", "--endpoint-url", proxy.url, "-q")
    assert done.returncode == Verdict.UNREADABLE.bit
    assert len(done.stdout.decode().splitlines()) == len(names()) - 1
    errors = done.stderr.decode()
    assert f"s3://{bucket}/run/small.txt: archived (HTTP 403 InvalidObjectState)" in errors and "restore" in errors
    assert "access denied" not in errors
