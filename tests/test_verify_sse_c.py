"""``seqfixity verify`` on SSE-C objects, against a loopback HTTP server answering like S3.

moto (5.x) stores SSE-C uploads but neither refuses ``HeadObject`` without the
customer key nor changes the ETag, so the refusal is served here the way S3
sends it: ``ListObjectsV2`` lists the object with its size and a non-MD5 ETag,
and ``HeadObject`` without the key answers a bare HTTP 400 (a HEAD has no body).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from conftest import run_cli
from seqfixity.verdict import Verdict
from servers import s3_env

BUCKET = "sse-c-bucket"
PLAIN = b"plain object bytes\n" * 50
SECRET = b"customer-key encrypted bytes\n" * 40
# key -> (size listed, ETag listed, HeadObject status without a key)
OBJECTS = {
    "run/sse_c.bin": (len(SECRET), "a3f1c0de9b8e7d6c5b4a39281706f5e4", 400),
    "run/sse_c_short.bin": (len(SECRET) + 1, "0b1c2d3e4f5a69788796a5b4c3d2e1f0", 400),
    "run/plain.bin": (len(PLAIN), hashlib.md5(PLAIN).hexdigest(), 200),
    "run/denied.bin": (len(PLAIN), hashlib.md5(PLAIN).hexdigest(), 403),
}


def list_body(prefix: str) -> bytes:
    contents = "".join(
        f"<Contents><Key>{key}</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified>"
        f"<ETag>&quot;{etag}&quot;</ETag><Size>{size}</Size><StorageClass>STANDARD</StorageClass></Contents>"
        for key, (size, etag, _status) in sorted(OBJECTS.items()) if key.startswith(prefix))
    return (f'<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/'
            f'2006-03-01/"><Name>{BUCKET}</Name><Prefix>{prefix}</Prefix><KeyCount>{contents.count("<Key>")}'
            f"</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>{contents}</ListBucketResult>"
            ).encode()


@pytest.fixture(scope="module")
def s3_like() -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """Serve the listing and the HEAD answers on 127.0.0.1; yield the endpoint and the request log."""
    seen: list[tuple[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            parsed = urlparse(self.path)
            seen.append(("GET", parsed.path))
            query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
            body = list_body(query.get("prefix", ""))
            self.send_response(200)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_HEAD(self) -> None:  # noqa: N802
            key = urlparse(self.path).path.removeprefix(f"/{BUCKET}/")
            seen.append(("HEAD", key))
            size, etag, status = OBJECTS.get(key, (0, "", 200))  # HeadBucket: the bucket exists
            self.send_response(status)
            self.send_header("x-amz-request-id", "0123456789ABCDEF")
            if status == 200:
                self.send_header("ETag", f'"{etag}"')
                self.send_header("Content-Length", str(size))
                self.send_header("Last-Modified", "Thu, 01 Jan 2026 00:00:00 GMT")
            else:
                self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with s3_env():
            yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_sse_c_objects_are_unverifiable_and_sizes_still_judged(s3_like, tmp_path: Path):
    endpoint, seen = s3_like
    root = tmp_path / "local"
    root.mkdir()
    (root / "sse_c.bin").write_bytes(SECRET)
    (root / "sse_c_short.bin").write_bytes(SECRET)          # one byte shorter than the object
    (root / "plain.bin").write_bytes(PLAIN)
    (root / "denied.bin").write_bytes(PLAIN)
    report = tmp_path / "verify.json"
    done = run_cli("verify", root, "--against", f"s3://{BUCKET}/run", "--endpoint-url", endpoint,
                   "--report", report)
    files = {e["path"]: e for e in json.loads(report.read_text())["files"]}
    assert {p: e["verdict"] for p, e in files.items()} == {
        "sse_c.bin": "UNVERIFIABLE", "sse_c_short.bin": "SIZE_MISMATCH", "plain.bin": "OK",
        "denied.bin": "UNREADABLE"}  # a 403 on one object's HeadObject is that object's verdict
    hint = files["sse_c.bin"]["hint"]
    assert "SSE-C" in hint and "not an MD5" in hint and "checksum the uploader stored" in hint
    assert "400" in hint
    assert files["sse_c.bin"]["expected"] == {"size": len(SECRET), "etag": OBJECTS["run/sse_c.bin"][1]}
    assert files["sse_c.bin"]["actual"] == {"size": len(SECRET)}       # nothing to compare: not read
    assert "403" in files["denied.bin"]["hint"]
    assert done.returncode == (Verdict.UNVERIFIABLE.bit | Verdict.SIZE_MISMATCH.bit
                               | Verdict.UNREADABLE.bit), done.stderr.decode()
    assert ("HEAD", "run/sse_c.bin") in seen and ("HEAD", "run/plain.bin") in seen
