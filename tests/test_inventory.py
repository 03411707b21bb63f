"""``verify --against manifest.json``: S3 Inventory reports (CSV gzip or plain, Parquet) as the remote listing.

The reports are written here as S3 Inventory writes them (a manifest.json naming data files with their MD5;
CSV without a header, every field quoted, keys URL-encoded; Parquet with snake_case columns), with ETags
computed here with hashlib; the local copies are judged by the CLI.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import random
from pathlib import Path
from urllib.parse import quote_plus

import boto3
import pyarrow
import pyarrow.parquet
import pytest

from conftest import run_cli
from ica_fixtures import s3_etag
from seqfixity.verdict import Verdict
from servers import moto_s3  # noqa: F401 (fixture)

MiB = 1024 * 1024
SCHEMA = ["Bucket", "Key", "VersionId", "IsLatest", "IsDeleteMarker", "Size", "LastModifiedDate", "ETag",
          "StorageClass", "IsMultipartUploaded", "EncryptionStatus"]


def content(name: str) -> bytes:
    return random.Random(name).randbytes({"run/big.fastq.gz": 9 * MiB + 3}.get(name, 2000))


def rows() -> list[dict]:
    """The source bucket as its inventory lists it: current objects, an old version, a delete marker."""
    def row(key, data, part=None, latest="true", marker="false", encryption="SSE-S3"):
        return {"Bucket": "seq-bucket", "Key": key, "VersionId": "", "IsLatest": latest, "IsDeleteMarker": marker,
                "Size": str(len(data)), "LastModifiedDate": "2026-11-30T01:00:00.000Z", "ETag": s3_etag(data, part),
                "StorageClass": "STANDARD", "IsMultipartUploaded": "true" if part else "false",
                "EncryptionStatus": encryption}

    return [
        row("run/a.fastq.gz", content("run/a.fastq.gz")),
        row("run/big.fastq.gz", content("run/big.fastq.gz"), part=8 * MiB),
        row("run/with space+plus.fastq.gz", content("run/with space+plus.fastq.gz")),
        row("run/changed.fastq.gz", content("run/changed.fastq.gz")),
        row("run/kms.fastq.gz", content("run/kms.fastq.gz"), encryption="SSE-KMS"),
        row("run/old.fastq.gz", b"an older version", latest="false"),
        row("run/deleted.fastq.gz", b"", marker="true"),
        row("other/x.fastq.gz", content("other/x.fastq.gz")),
    ]


def csv_bytes(compress: bool) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    for item in rows():
        writer.writerow([quote_plus(item[c]) if c == "Key" else item[c] for c in SCHEMA])
    data = out.getvalue().encode()
    return gzip.compress(data) if compress else data


def parquet_bytes() -> bytes:
    snake = {"Bucket": "bucket", "Key": "key", "VersionId": "version_id", "IsLatest": "is_latest",
             "IsDeleteMarker": "is_delete_marker", "Size": "size", "LastModifiedDate": "last_modified_date",
             "ETag": "e_tag", "StorageClass": "storage_class", "IsMultipartUploaded": "is_multipart_uploaded",
             "EncryptionStatus": "encryption_status"}
    columns = {snake[c]: [r[c] for r in rows()] for c in SCHEMA}
    columns["size"] = [int(s) for s in columns["size"]]
    for flag in ("is_latest", "is_delete_marker", "is_multipart_uploaded"):
        columns[flag] = [v == "true" for v in columns[flag]]
    sink = io.BytesIO()
    pyarrow.parquet.write_table(pyarrow.table(columns), sink)
    return sink.getvalue()


def write_report(folder: Path, file_format: str, data: bytes, md5: str | None = None) -> Path:
    """destination-prefix/seq-bucket/daily/{data/FILE, 2026-11-30T01-00Z/manifest.json}, as S3 lays them out."""
    suffix = {"CSV": "csv.gz", "Parquet": "parquet"}[file_format]
    key = f"inv/seq-bucket/daily/data/0f1e2d3c.{suffix}"
    (folder / key).parent.mkdir(parents=True)
    (folder / key).write_bytes(data)
    manifest = {"sourceBucket": "seq-bucket", "destinationBucket": "arn:aws:s3:::inventory-bucket",
                "version": "2016-11-30", "creationTimestamp": "1796000000000", "fileFormat": file_format,
                "fileSchema": ", ".join(SCHEMA) if file_format == "CSV" else "message s3.inventory { ... }",
                "files": [{"key": key, "size": len(data), "MD5checksum": md5 or hashlib.md5(data).hexdigest()}]}
    path = folder / "inv/seq-bucket/daily/2026-11-30T01-00Z/manifest.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(manifest))
    return path


def local_copies(root: Path) -> Path:
    for item in rows():
        name = item["Key"].removeprefix("run/")
        if item["Key"].startswith("run/") and item["IsLatest"] == "true" and item["IsDeleteMarker"] == "false":
            data = content(item["Key"])
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(data[::-1] if name == "changed.fastq.gz" else data)
    return root


EXPECTED = {"a.fastq.gz": "OK", "big.fastq.gz": "OK", "with space+plus.fastq.gz": "OK",
            "changed.fastq.gz": "MISMATCH", "kms.fastq.gz": "UNVERIFIABLE"}


@pytest.mark.parametrize(("file_format", "make"), [("CSV", lambda: csv_bytes(True)), ("CSV", lambda: csv_bytes(False)),
                                                   ("Parquet", parquet_bytes)])
def test_an_inventory_report_is_the_listing(tmp_path, file_format, make):
    manifest = write_report(tmp_path / "report", file_format, make())
    root = local_copies(tmp_path / "local")
    report = tmp_path / "verify.json"
    done = run_cli("verify", root, "--against", manifest, "--strip-prefix", "run", "--report", report)
    context = json.loads(report.read_text())
    verdicts = {f["path"]: f["verdict"] for f in context["files"]}
    assert verdicts == EXPECTED, done.stdout.decode() + done.stderr.decode()
    assert context["ignored_outside_prefix"] == 1  # other/x.fastq.gz; the old version and the marker are gone
    assert done.returncode == Verdict.MISMATCH.bit | Verdict.UNVERIFIABLE.bit
    big = next(f for f in context["files"] if f["path"] == "big.fastq.gz")
    assert big["actual"]["etag_part_size"] == 8 * MiB and big["actual"]["part_size_source"] == "inferred"


def test_a_data_file_that_is_not_the_manifests_is_refused(tmp_path):
    manifest = write_report(tmp_path / "report", "CSV", csv_bytes(True), md5="0" * 32)
    done = run_cli("verify", local_copies(tmp_path / "local"), "--against", manifest)
    assert done.returncode == Verdict.MANIFEST_ERROR.bit
    (line,) = done.stderr.decode().splitlines()
    assert "its MD5 is not the manifest's MD5checksum" in line and "0f1e2d3c.csv.gz" in line


def test_an_inventory_in_the_destination_bucket(moto_s3, tmp_path):  # noqa: F811
    folder = tmp_path / "report"
    manifest = write_report(folder, "CSV", csv_bytes(True))
    s3 = boto3.client("s3", endpoint_url=moto_s3)
    s3.create_bucket(Bucket="inventory-bucket")
    for path in folder.rglob("*"):
        if path.is_file():
            s3.upload_file(str(path), "inventory-bucket", str(path.relative_to(folder)))
    report = tmp_path / "verify.json"
    done = run_cli("verify", local_copies(tmp_path / "local"), "--against",
                   f"s3://inventory-bucket/{manifest.relative_to(folder)}", "--endpoint-url", moto_s3,
                   "--strip-prefix", "run", "--report", report)
    assert {f["path"]: f["verdict"] for f in json.loads(report.read_text())["files"]} == EXPECTED, done.stderr


def test_folder_markers_in_the_inventory_are_no_objects(tmp_path, monkeypatch):
    """The S3 console's "Create folder" stores a 0-byte key ending in '/'; S3 Inventory lists it, ListObjectsV2
    does too, and neither is a file (https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-folders.html)."""
    plain = rows()
    local = local_copies(tmp_path / "local")
    marker = dict(plain[0], Key="run/sub/", Size="0", ETag=hashlib.md5(b"").hexdigest(), IsMultipartUploaded="false")
    monkeypatch.setitem(globals(), "rows", lambda: [*plain, marker])
    manifest = write_report(tmp_path / "report", "CSV", csv_bytes(True))
    report = tmp_path / "verify.json"
    done = run_cli("verify", local, "--against", manifest, "--strip-prefix", "run", "--report", report)
    assert {f["path"]: f["verdict"] for f in json.loads(report.read_text())["files"]} == EXPECTED, done.stderr
