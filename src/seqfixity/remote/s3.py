"""What an S3 prefix holds: sizes, ETags, exact part sizes and additional checksums, without downloading.

``ListObjectsV2`` gives each key's size and ETag. For every object one
``HeadObject`` with ``ChecksumMode=ENABLED`` adds its additional checksum
(CRC64NVME, CRC32C, CRC32, SHA-1, SHA-256) and its encryption; for a multipart
ETag (``hex-N``) a second ``HeadObject`` with ``PartNumber=1`` gives the first
part's length and ``PartsCount``: the exact part size, so nothing is guessed.
S3 refuses ``HeadObject`` on an SSE-C object without the customer's key (a
bare HTTP 400); such an object keeps its listed size and ETag and is marked as
having a non-MD5 ETag, so it is judged by size and reported UNVERIFIABLE.
Credentials, profile and region come from the standard AWS environment.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

from seqfixity.remote import RemoteError, RemoteObject

CHECKSUM_FIELDS = {
    "ChecksumCRC64NVME": "crc64nvme",
    "ChecksumCRC32C": "crc32c",
    "ChecksumCRC32": "crc32",
    "ChecksumSHA1": "sha1",
    "ChecksumSHA256": "sha256",
}
HEAD_WORKERS = 8
SSE_C_NOTE = ("an SSE-C object (encrypted with a customer-provided key), whose ETag is not an MD5; verify its "
              "content with a checksum the uploader stored, or a manifest written before the upload")


def parse_s3_url(url: str) -> tuple[str, str]:
    """Split ``s3://bucket/prefix`` into ``(bucket, prefix)``; a non-empty prefix ends with ``/``."""
    parsed = urlparse(url)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise RemoteError(f"{url}: not an S3 URL (expected s3://bucket/prefix)")
    prefix = parsed.path.lstrip("/")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return parsed.netloc, prefix


def make_client(endpoint_url: str | None = None):
    """Return a boto3 S3 client from the standard AWS environment, at ``endpoint_url`` when given."""
    try:
        import boto3
        from botocore.config import Config
    except ImportError:
        raise RemoteError("S3 needs boto3: pip install 'seqfixity[remote]'") from None
    config = Config(retries={"max_attempts": 5, "mode": "standard"})
    return boto3.session.Session().client("s3", endpoint_url=endpoint_url, config=config)


def list_s3(url: str, client=None, endpoint_url: str | None = None, heads: bool = True,
            head_above: int = -1) -> Iterator[RemoteObject]:
    """Yield one :class:`RemoteObject` per object under ``url`` (folder markers skipped), keys in order.

    Each object's ``name`` is its key relative to the URL's prefix (a folder:
    ``s3://b/run42`` lists ``run42/...``); ``source`` is its full ``s3://`` URL.

    Raises :class:`RemoteError` when the bucket cannot be listed (missing,
    denied, no credentials, endpoint unreachable). Without ``heads`` only the listing is read: sizes and
    ETags, no checksums or part sizes. With ``head_above``, an object with a plain ETag and at most that many
    bytes is not described (``described`` false): a reader that GETs it whole learns the same from the GET's
    answer (:func:`apply_head`), one request instead of two.
    """
    bucket, prefix = parse_s3_url(url)
    client = client or make_client(endpoint_url)
    listed = []
    try:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            listed.extend(item for item in page.get("Contents", []) if not item["Key"].endswith("/"))
    except Exception as err:  # botocore raises many unrelated classes; all mean "cannot list"
        advice = ""
        if type(err).__name__ in ("NoCredentialsError", "PartialCredentialsError"):
            advice = " (set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
        raise RemoteError(f"s3://{bucket}/{prefix}: cannot list: {describe_error(err)}{advice}") from None
    if not heads:
        yield from (_listed_object(bucket, prefix, item) for item in listed)
        return
    def described(item: dict) -> RemoteObject:
        if "-" not in item.get("ETag", "") and int(item["Size"]) <= head_above:
            found = _listed_object(bucket, prefix, item)
            found.described = False
            return found
        return _describe_object(client, bucket, prefix, item)

    with ThreadPoolExecutor(max_workers=HEAD_WORKERS, thread_name_prefix="seqfixity-head") as pool:
        yield from pool.map(described, listed)


def describe_key(client, bucket: str, key: str) -> RemoteObject | None:
    """One object by its key, as :func:`list_s3` describes it but named by its base name; None when S3 has no
    such key. Raises :class:`RemoteError` when S3 refuses to say."""
    try:
        head = client.head_object(Bucket=bucket, Key=key)
    except Exception as err:
        if _http_status(err) == 404:
            return None
        raise RemoteError(f"s3://{bucket}/{key}: cannot read its metadata: {describe_error(err)}") from None
    folder = key.rpartition("/")[0]
    item = {"Key": key, "Size": head["ContentLength"], "ETag": head.get("ETag", ""),
            "LastModified": head.get("LastModified")}
    return _describe_object(client, bucket, f"{folder}/" if folder else "", item)


def make_read_client(endpoint_url: str | None = None, connections: int = 8):
    """A boto3 S3 client for ranged reads: a connection per reading thread, and botocore's own retries off
    (:mod:`seqfixity.remote.fetch` retries each range, honouring Retry-After, and resumes a broken body)."""
    try:
        import boto3
        from botocore.config import Config
    except ImportError:
        raise RemoteError("S3 needs boto3: pip install 'seqfixity[remote]'") from None
    from seqfixity.remote.fetch import ask_for_checksums

    config = Config(retries={"max_attempts": 1, "mode": "standard"}, max_pool_connections=connections + 2,
                    connect_timeout=20, read_timeout=60, response_checksum_validation="when_required")
    client = boto3.session.Session().client("s3", endpoint_url=endpoint_url, config=config)
    client.meta.events.register("before-sign.s3.GetObject", ask_for_checksums)
    return client


def _listed_object(bucket: str, prefix: str, item: dict) -> RemoteObject:
    """An object as ListObjectsV2 describes it: name below ``prefix``, size, ETag, time."""
    key = item["Key"]
    return RemoteObject(name=key[len(prefix):], size=int(item["Size"]), etag=item.get("ETag", "").strip('"'),
                        source=f"s3://{bucket}/{key}", modified_ns=_time_ns(item.get("LastModified")))


def _describe_object(client, bucket: str, prefix: str, item: dict) -> RemoteObject:
    key = item["Key"]
    found = _listed_object(bucket, prefix, item)
    try:
        apply_head(found, client.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED"))
        if "-" in found.etag:
            first = client.head_object(Bucket=bucket, Key=key, PartNumber=1)
            if first.get("PartsCount"):
                found.part_size = int(first["ContentLength"])
                found.parts = int(first["PartsCount"])
                found.part_lengths = _part_lengths(client, bucket, key, found.parts, found.part_size)
    except Exception as err:  # the object vanished or cannot be read: judged per file, not fatal
        if _http_status(err) == 400 and not found.checksums:
            # S3 answers HeadObject on an SSE-C object without its key with a bare 400 (HEAD has no body);
            # the listing still gave the size and ETag, so the size is judged and the ETag is not taken for an MD5.
            found.etag_is_md5 = False
            found.etag_note = f"HeadObject refused without a customer key ({describe_error(err)}): {SSE_C_NOTE}"
        elif _http_status(err) == 404:  # deleted between the listing and its HeadObject: as a GET's 404
            found.error = "not found (HTTP 404) when its metadata was read: deleted since it was listed"
            found.error_kind = "missing"
        else:
            found.error = f"cannot read object metadata: {describe_error(err)}"
            found.error_kind = "unreadable" if _http_status(err) else ""
    return found


def _part_lengths(client, bucket: str, key: str, parts: int, first: int) -> Callable[[], list[int] | None]:
    """Ask, once and only when called, the length of every part of a multipart object (``HeadObject`` with
    ``PartNumber``, https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html); None when S3 refuses.

    S3 requires every part but the last to be at least 5 MiB, not the same size
    (https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html), so part 1's length may not be the
    layout; a read is judged by this only when its ETag does not reproduce at part 1's length."""
    known: list[list[int] | None] = []
    lock = threading.Lock()

    def length(number: int) -> int:
        return int(client.head_object(Bucket=bucket, Key=key, PartNumber=number)["ContentLength"])

    def ask() -> list[int] | None:
        with lock:
            if not known:
                try:
                    with ThreadPoolExecutor(max_workers=HEAD_WORKERS, thread_name_prefix="seqfixity-part") as pool:
                        known.append([first, *pool.map(length, range(2, parts + 1))])
                except Exception:  # the object vanished or S3 refuses: the layout stays unknown
                    known.append(None)
            return known[0]

    return ask


def _time_ns(moment) -> int:
    """Nanoseconds since the epoch from a listing's ``LastModified`` (a datetime), 0 when absent."""
    return int(moment.timestamp() * 1_000_000) * 1000 if hasattr(moment, "timestamp") else 0


def apply_head(found: RemoteObject, head: dict) -> None:
    """Take an object's checksums and encryption from a HeadObject answer (or a whole GetObject's, asked with
    ``ChecksumMode=ENABLED``)."""
    found.checksums = {kind: head[name] for name, kind in CHECKSUM_FIELDS.items() if head.get(name)}
    found.checksum_type = head.get("ChecksumType", "") or ""
    if str(head.get("ServerSideEncryption", "")).startswith("aws:kms"):
        found.etag_is_md5, found.etag_note = False, "the ETag of an SSE-KMS object is not an MD5"
    elif head.get("SSECustomerAlgorithm"):
        found.etag_is_md5, found.etag_note = False, SSE_C_NOTE
    found.described = True


def _http_status(err: Exception) -> int | None:
    """Return the HTTP status of a botocore error, or None."""
    response = getattr(err, "response", None)
    if isinstance(response, dict):
        return response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return None


def describe_error(err: Exception) -> str:
    """Return a short reason for a botocore error (its code and message), or the exception text."""
    response = getattr(err, "response", None)
    if isinstance(response, dict) and "Error" in response:
        error = response["Error"]
        return f"{error.get('Code', '')} {error.get('Message', '')}".strip()
    return str(err) or type(err).__name__
