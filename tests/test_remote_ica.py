"""``hash ica://`` and ``check --root ica://`` against two loopback servers: one plays ICA's API, the other the
cloud store that ICA's download URLs point to, and it drops connections in the middle of bodies.

The oracles are hashlib over the original bytes, ETags computed here with hashlib (ica_fixtures.s3_etag),
xxhash and coreutils md5sum. The API key must reach the API server only: never the download host, never any
output.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import threading
from pathlib import Path

import pytest
import xxhash

from conftest import run_cli
from ica_fixtures import FILES, PART_SIZES, PROJECT, contents, s3_etag
from seqfixity.verdict import Verdict
from servers import LoopbackServer, Reply, Request

KEY = "ica-stream-key-7777-SECRET-abcdef"
API = f"/ica/rest/api/projects/{PROJECT}/data"


class IcaWorld:
    """ICA's API and its cloud store: files under /fastq/, download URLs that expire, bodies that break.

    ``cloud`` holds the bytes ICA has for each name (ETags are computed from them); ``expired`` names files
    whose first download URL is refused with 403, as an expired presigned URL is.
    """

    FAULTS = ("drop", "503", "429", "short", None)

    def __init__(self, cloud: dict[str, bytes], expired: tuple[str, ...] = ()) -> None:
        self.cloud, self.expired = cloud, set(expired)
        self.ids = {f"fil.{n:04d}": name for n, name in enumerate(sorted(cloud), 1)}
        self.issued: dict[str, int] = {}
        self.attempts: dict[tuple[str, str], int] = {}
        self.faults: list[str] = []
        self.lock = threading.Lock()
        self.api = LoopbackServer(self.answer_api)
        self.store = LoopbackServer(self.answer_store)

    def __enter__(self) -> IcaWorld:
        self.api.__enter__()
        self.store.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.store.__exit__(*exc)
        self.api.__exit__(*exc)

    def item(self, data_id: str) -> dict:
        name = self.ids[data_id]
        data = self.cloud[name]
        status = FILES.get(name, (0, None, "AVAILABLE"))[2]
        return {"projectId": PROJECT, "data": {"id": data_id, "details": {
            "name": name, "path": f"/fastq/{name}", "fileSizeInBytes": len(data), "status": status,
            "dataType": "FILE", "objectETag": s3_etag(data, PART_SIZES.get(name)),
            "timeModified": "2026-11-01T10:00:00Z"}}}

    def url(self, data_id: str) -> str:
        with self.lock:
            generation = self.issued[data_id] = self.issued.get(data_id, -1) + 1
        return f"{self.store.url}/bucket/{data_id}?X-Amz-Signature=sig{generation}"

    def answer_api(self, request: Request) -> Reply:
        if request.headers.get("x-api-key") != KEY:
            return Reply(401, b'{"title": "Unauthorized"}')
        if request.method == "GET" and request.path == API:
            prefix = request.query.get("filePath", "")
            items = [self.item(i) for i in self.ids if f"/fastq/{self.ids[i]}".startswith(prefix)]
            return Reply(200, json.dumps({"items": items}).encode())
        if request.method == "POST" and request.path == f"{API}:createDownloadUrls":
            wanted = json.loads(request.body)["dataIds"]
            items = [{"dataId": i, "url": self.url(i)} for i in wanted if i in self.ids]
            return Reply(200, json.dumps({"items": items}).encode())
        if request.method == "POST" and request.path.endswith(":createDownloadUrl"):
            data_id = request.path.rsplit("/", 1)[1].split(":")[0]
            return Reply(200, json.dumps({"url": self.url(data_id)}).encode())
        return Reply(404, b'{"title": "Not Found"}')

    def answer_store(self, request: Request) -> Reply:
        data_id = request.path.rsplit("/", 1)[1]
        name = self.ids[data_id]
        data = self.cloud[name]
        if name in self.expired and request.query.get("X-Amz-Signature") == "sig0":
            return Reply(403, b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>")
        first, _, last = request.headers.get("range", "bytes=0-").removeprefix("bytes=").partition("-")
        start, end = int(first), int(last) + 1 if last else len(data)
        with self.lock:
            attempt = self.attempts[(data_id, str(start))] = self.attempts.get((data_id, str(start)), 0) + 1
            fault = self.FAULTS[len(self.faults) % len(self.FAULTS)] if attempt == 1 else None
            if attempt == 1:
                self.faults.append(fault or "")
        headers = {"ETag": f'"{self.item(data_id)["data"]["details"]["objectETag"]}"'}
        if "range" in request.headers:
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{len(data)}"
        if fault == "503":
            return Reply(503, b"<Error><Code>SlowDown</Code></Error>")
        if fault == "429":
            return Reply(429, b"", {"Retry-After": "0"})
        body = data[start:end]
        cut = {"drop": len(body) // 2, "short": max(0, len(body) - 3)}.get(fault)
        return Reply(206 if "range" in request.headers else 200, body, headers, cut=cut)


def cloud_files() -> dict[str, bytes]:
    return {name: contents(name) for name in FILES}


@pytest.fixture
def key_env(monkeypatch):
    monkeypatch.setenv("ICA_API_KEY", KEY)


def no_key_anywhere(world: IcaWorld, *outputs: bytes) -> None:
    """The key went to the API server on every request, and nowhere else."""
    assert world.api.requests and all(r.headers.get("x-api-key") == KEY for r in world.api.requests)
    assert world.store.requests
    for request in world.store.requests:
        seen = json.dumps([request.target, request.headers]) + request.body.decode("latin-1")
        assert KEY not in seen and "x-api-key" not in request.headers
    for output in outputs:
        assert KEY.encode() not in output


def test_hash_reads_every_file_through_its_download_url(key_env):
    cloud = cloud_files()
    with IcaWorld(cloud, expired=("S1_R2.fastq.gz",)) as world:
        done = run_cli("hash", f"ica://{PROJECT}/fastq", "--ica-server", world.api.url, "--format", "jsonl",
                       "--retry-backoff", "0", "--connections", "3", "-q")
    records = {r["path"]: r for r in map(json.loads, done.stdout.decode().splitlines())}
    readable = {name for name, (_size, _part, status) in FILES.items() if status == "AVAILABLE"}
    assert set(records) == readable
    for name in readable:
        data = cloud[name]
        assert records[name]["md5"] == hashlib.md5(data).hexdigest(), name
        assert records[name]["etag"] == s3_etag(data, PART_SIZES.get(name)), name
        assert records[name]["etag_part_size"] == PART_SIZES.get(name, 0), name
        assert records[name]["xxh128"] == xxhash.xxh3_128(data).hexdigest(), name
    assert {"drop", "503", "429", "short"} <= set(world.faults)
    assert done.returncode == Verdict.UNREADABLE.bit  # S3_R1 is ARCHIVED
    assert f"ica://{PROJECT}/fastq/S3_R1.fastq.gz: status ARCHIVED" in done.stderr.decode()
    no_key_anywhere(world, done.stdout, done.stderr)
    posts = [r.path for r in world.api.requests if r.method == "POST"]
    assert f"{API}:createDownloadUrls" in posts  # in bulk
    renewed = [p for p in posts if p.endswith(":createDownloadUrl")]
    assert len(renewed) == 1 and world.ids[renewed[0].rsplit("/", 1)[1].split(":")[0]] == "S1_R2.fastq.gz"


def test_a_url_refused_twice_is_that_files_verdict(key_env):
    cloud = {"A.fastq.gz": b"@r\nACGT\n+\nIIII\n", "B.fastq.gz": b"@s\nTTTT\n+\nIIII\n"}
    with IcaWorld(cloud) as world:
        world.expired = {"A.fastq.gz"}
        world.answer_store_original = world.answer_store

        def always_expired(request: Request) -> Reply:
            if world.ids[request.path.rsplit("/", 1)[1]] == "A.fastq.gz":
                return Reply(403, b"<Error><Code>AccessDenied</Code></Error>")
            return world.answer_store_original(request)

        world.store.answer = always_expired
        done = run_cli("hash", f"ica://{PROJECT}/fastq", "--ica-server", world.api.url, "--retry-backoff", "0",
                       "-q")
    assert done.returncode == Verdict.UNREADABLE.bit
    assert done.stdout.decode() == f"{hashlib.md5(cloud['B.fastq.gz']).hexdigest()}  B.fastq.gz\n"
    assert "A.fastq.gz: access denied (HTTP 403)" in done.stderr.decode()
    no_key_anywhere(world, done.stdout, done.stderr)


def test_check_a_manifest_against_the_project_with_links(key_env, tmp_path: Path):
    sequencer = tmp_path / "run"
    sequencer.mkdir()
    cloud = cloud_files()
    for name, data in cloud.items():
        (sequencer / name).write_bytes(data)
    manifest = subprocess.run(["md5sum", *sorted(cloud)], cwd=sequencer, capture_output=True, check=True).stdout
    (tmp_path / "MD5.txt").write_bytes(manifest)
    damaged = bytearray(cloud["S2_R2.fastq.gz"])
    damaged[10] ^= 0x20
    cloud["S2_R2.fastq.gz"] = bytes(damaged)  # ICA holds other bytes (its ETag is theirs)
    report = tmp_path / "check.json"
    with IcaWorld(cloud) as world:
        done = run_cli("check", tmp_path / "MD5.txt", "--root", f"ica://{PROJECT}/fastq", "--ica-server",
                       world.api.url, "--retry-backoff", "0", "--report", report)
    files = {f["path"]: f for f in json.loads(report.read_text())["files"]}
    assert {p: f["verdict"] for p, f in files.items()} == {
        "S1_R1.fastq.gz": "OK", "S1_R2.fastq.gz": "OK", "S2_R1.fastq.gz": "OK", "S2_R2.fastq.gz": "MISMATCH",
        "S3_R1.fastq.gz": "UNREADABLE", "S3_R2.fastq.gz": "OK"}
    assert "ARCHIVED" in files["S3_R1.fastq.gz"]["hint"]
    for name, entry in files.items():
        data_id = next(i for i, n in world.ids.items() if n == name)
        assert entry["link"] == f"{world.api.url}/ica/link/project/{PROJECT}/data/{data_id}"
    assert done.returncode == Verdict.MISMATCH.bit | Verdict.UNREADABLE.bit
    no_key_anywhere(world, done.stdout, done.stderr, report.read_bytes())


def test_verify_reports_carry_the_ica_link(key_env, tmp_path: Path):
    local = tmp_path / "local"
    local.mkdir()
    cloud = {"A.fastq.gz": b"@r\nACGT\n+\nIIII\n"}
    (local / "A.fastq.gz").write_bytes(cloud["A.fastq.gz"])
    report = tmp_path / "verify.json"
    with IcaWorld(cloud) as world:
        done = run_cli("verify", local, "--against", f"ica://{PROJECT}/fastq", "--ica-server", world.api.url,
                       "--report", report)
    assert done.returncode == 0, done.stderr.decode()
    (entry,) = json.loads(report.read_text())["files"]
    assert entry["link"] == f"{world.api.url}/ica/link/project/{PROJECT}/data/fil.0001"
    assert not world.store.requests  # verify reads the local copy only


def test_the_key_is_not_taken_from_the_command_line():
    done = run_cli("hash", f"ica://{PROJECT}/fastq", "--ica-server", "http://127.0.0.1:9", "-q")
    assert done.returncode == Verdict.MANIFEST_ERROR.bit
    assert "no ICA API key: set ICA_API_KEY or pass --api-key-file FILE" in done.stderr.decode()
    assert os.environ.get("ICA_API_KEY") != KEY


@pytest.mark.parametrize("refusal", [400, 404, 500])
def test_a_refused_bulk_url_request_falls_back_to_one_url_per_file(key_env, refusal):
    """``:createDownloadUrls`` only saves requests: when ICA refuses it (an old server without it, a batch
    holding an archived file, a server error after the retries), every file is still read through its own
    ``:createDownloadUrl`` (https://ica.illumina.com/ica/api/swagger, ProjectData)."""
    cloud = {f"T{n}_R1.fastq.gz": f"@r{n}\nACGT\n+\nIIII\n".encode() for n in range(1, 5)}
    with IcaWorld(cloud) as world:
        world.FAULTS = (None,)
        answer_api = world.answer_api

        def no_bulk(request: Request) -> Reply:
            if request.path.endswith(":createDownloadUrls") and request.headers.get("x-api-key") == KEY:
                return Reply(refusal, b'{"title": "refused"}')
            return answer_api(request)

        world.api.answer = no_bulk
        done = run_cli("hash", f"ica://{PROJECT}/fastq", "--ica-server", world.api.url, "--retry-backoff", "0",
                       "--retries", "1", "-q")
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode() == "".join(f"{hashlib.md5(cloud[n]).hexdigest()}  {n}\n" for n in sorted(cloud))
    no_key_anywhere(world, done.stdout, done.stderr)
