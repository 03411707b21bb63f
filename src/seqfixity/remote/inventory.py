"""An S3 Inventory report as a listing: millions of objects without millions of list requests.

S3 Inventory delivers, per run, a ``manifest.json`` (``sourceBucket``, ``destinationBucket``, ``fileFormat``,
``fileSchema`` and ``files``: each data file's ``key``, ``size`` and ``MD5checksum``) and the data files
it names, below ``DESTINATION_PREFIX/SOURCE_BUCKET/CONFIG_ID/`` in the destination bucket
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/storage-inventory-location.html). CSV data files
are gzip-compressed, without a header, their columns in ``fileSchema`` order, and each key URL-encoded
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/storage-inventory.html); Parquet and ORC files
name their columns (``key``, ``size``, ``e_tag``, ...) and are read with pyarrow when it is installed.

The report is read from ``s3://DESTINATION/.../manifest.json`` (data files fetched by their keys) or from
a local copy of it (data files found by their key below one of the manifest's parent folders, or beside
it). Every data file must have the MD5 the manifest gives; older versions, delete markers and folder markers
(keys ending in ``/``) are left out;
an SSE-KMS or SSE-C object's ETag is not taken for an MD5.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

from seqfixity.remote import RemoteError, RemoteObject

NOT_MD5 = {"SSE-KMS": "the ETag of an SSE-KMS object is not an MD5", "DSSE-KMS": "the ETag of a DSSE-KMS object "
           "is not an MD5", "SSE-C": "the ETag of an SSE-C object is not an MD5"}


def _camel(column: str) -> str:
    """``e_tag`` / ``ETag`` / ``IsLatest`` -> one spelling (lower case, no underscores)."""
    return re.sub(r"[^0-9a-z]", "", column.lower())


def is_inventory(source: str) -> bool:
    """True when ``source`` is an S3 Inventory ``manifest.json`` (by name on S3; by content on disk)."""
    if not source.endswith("manifest.json"):
        return False
    if source.startswith("s3://"):
        return True
    try:
        manifest = json.loads(Path(source).read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return False
    return isinstance(manifest, Mapping) and "fileSchema" in manifest and "files" in manifest


def read_inventory(source: str, endpoint_url: str | None = None) -> list[RemoteObject]:
    """Every current object of the inventory report ``source`` (a ``manifest.json``), named by its key.

    Raises :class:`RemoteError` naming the file and what is wrong: a manifest or data file that cannot be
    read, a data file whose MD5 is not the manifest's, a schema without ``Key`` or ``Size``.
    """
    fetch = _s3_fetcher(source, endpoint_url) if source.startswith("s3://") else _local_fetcher(source)
    try:
        manifest = json.loads(fetch(None))
    except (ValueError, UnicodeDecodeError) as err:
        raise RemoteError(f"{source}: not an S3 Inventory manifest.json: {err}") from None
    if not isinstance(manifest, Mapping) or not isinstance(manifest.get("files"), list):
        raise RemoteError(f"{source}: not an S3 Inventory manifest.json (no 'files' list)")
    file_format = str(manifest.get("fileFormat", "CSV")).upper()
    bucket = str(manifest.get("sourceBucket", ""))
    objects: list[RemoteObject] = []
    for entry in manifest["files"]:
        key = str(entry.get("key", ""))
        data = fetch(key)
        expected = str(entry.get("MD5checksum", "")).lower()
        if expected and hashlib.md5(data, usedforsecurity=False).hexdigest() != expected:
            raise RemoteError(f"{source}: inventory file {key}: its MD5 is not the manifest's MD5checksum "
                              f"{expected}: a damaged or partial copy; fetch it again")
        rows = _csv_rows(data, manifest, key) if file_format == "CSV" else _columnar_rows(data, file_format, key)
        objects.extend(_objects(rows, bucket, f"{source}: {key}"))
    return objects


def _csv_rows(data: bytes, manifest: Mapping[str, Any], key: str) -> Iterator[dict[str, str]]:
    columns = [_camel(c) for c in str(manifest.get("fileSchema", "")).split(",")]
    if "key" not in columns or "size" not in columns:
        raise RemoteError(f"inventory {key}: fileSchema {manifest.get('fileSchema')!r} lacks Key or Size "
                          "(add Size and ETag to the inventory configuration's optional fields)")
    text = (gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data).decode("utf-8")
    for row in csv.reader(io.StringIO(text)):
        if row:
            values = dict(zip(columns, row, strict=False))
            values["key"] = unquote_plus(values.get("key", ""))  # CSV inventories URL-encode keys
            yield values


def _columnar_rows(data: bytes, file_format: str, key: str) -> Iterator[dict[str, str]]:
    try:
        import pyarrow
        if file_format == "PARQUET":
            import pyarrow.parquet as reader
        elif file_format == "ORC":
            import pyarrow.orc as reader
        else:
            raise RemoteError(f"inventory {key}: unknown fileFormat {file_format} (CSV, Parquet or ORC)")
    except ImportError:
        raise RemoteError(f"inventory {key}: {file_format} inventories need pyarrow: pip install pyarrow "
                          "(or configure the inventory as CSV)") from None
    table = reader.read_table(pyarrow.BufferReader(data))
    names = [_camel(name) for name in table.column_names]
    for row in table.to_pylist():
        yield {name: "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
               for name, value in zip(names, row.values(), strict=True)}


def _objects(rows: Iterator[dict[str, str]], bucket: str, origin: str) -> Iterator[RemoteObject]:
    for line, row in enumerate(rows, 1):
        if row.get("islatest", "true").lower() == "false" or row.get("isdeletemarker", "").lower() == "true":
            continue
        key = row.get("key", "")
        if key.endswith("/"):  # a folder marker (the S3 console's "Create folder"), skipped as a listing skips it
            continue
        found = RemoteObject(name=key, etag=row.get("etag", "").strip('"'), source=f"s3://{bucket}/{key}")
        size = row.get("size", "")
        if not key:
            found.error, found.source = "inventory row without a key", f"{origin}:{line}"
        elif not size.isdigit():
            found.error = f"inventory row {line}: size {size!r} is not a byte count"
        else:
            found.size = int(size)
        encryption = row.get("encryptionstatus", "").upper()
        if encryption in NOT_MD5:
            found.etag_is_md5, found.etag_note = False, NOT_MD5[encryption]
        yield found


def _local_fetcher(source: str) -> Callable[[str | None], bytes]:
    """Read the manifest (key None) or a data file: by its key below a parent of the manifest's folder, or
    beside the manifest, or in ``data/`` beside its folder."""
    folder = Path(source).resolve().parent

    def fetch(key: str | None) -> bytes:
        if key is None:
            candidates = [Path(source)]
        else:
            name = key.rsplit("/", 1)[-1]
            candidates = [ancestor / key for ancestor in (folder, *folder.parents)]
            candidates += [folder / name, folder.parent / "data" / name]
        for candidate in candidates:
            if candidate.is_file():
                try:
                    return candidate.read_bytes()
                except OSError as err:
                    raise RemoteError(f"{candidate}: cannot read: {err.strerror}") from None
        shown = source if key is None else f"{key} (looked below {folder} and its parents)"
        raise RemoteError(f"{shown}: inventory file not found; copy the whole inventory folder "
                          "(aws s3 sync s3://DESTINATION/PREFIX/ .)")

    return fetch


def _s3_fetcher(source: str, endpoint_url: str | None) -> Callable[[str | None], bytes]:
    """Read the manifest (key None) or a data file (by key) from the destination bucket."""
    from seqfixity.remote.s3 import describe_error, make_client

    bucket, _, manifest_key = source[len("s3://"):].partition("/")
    client = make_client(endpoint_url)

    def fetch(key: str | None) -> bytes:
        wanted = manifest_key if key is None else key
        try:
            return client.get_object(Bucket=bucket, Key=wanted)["Body"].read()
        except Exception as err:  # botocore's many classes: each means this file cannot be read
            raise RemoteError(f"s3://{bucket}/{wanted}: cannot read the inventory: {describe_error(err)}") from None

    return fetch

