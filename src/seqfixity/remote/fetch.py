"""One byte range of a remote object, fetched whole and exactly once, whatever the network does.

A range is written into its buffer as the body arrives and handed on only when complete, so a range is
never hashed twice or skipped. A connection dropped mid-body, a body shorter than asked, HTTP 5xx and
429 are retried with backoff (``Retry-After`` wins), resuming from the first byte not yet received; a
response that is not the range asked for (an over-long body, a server that ignored ``Range``, a wrong
``Content-Range``) is discarded whole and asked again. What cannot be retried ends the object's read
with its own verdict: 403 or 404 (:class:`ObjectError`), or an object that changed since it was listed
(:class:`ObjectChanged`: another size, another ETag, or a refused ``If-Match``).

A reader (:class:`RangeReader`) opens one HTTP response per call: :class:`S3Ranges` through boto3,
:class:`UrlRanges` through a presigned URL (ICA's download URLs), renewed once when it has expired.
"""

from __future__ import annotations

import contextlib
import datetime
import email.utils
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from seqfixity.errors import FileChangedError, InputError
from seqfixity.remote import RemoteError

PIECE = 1 << 20
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")


class ObjectError(InputError):
    """An object that cannot be read, for good: its verdict (404 is MISSING, others UNREADABLE)."""

    def __init__(self, name: str, reason: str, status: int | None = None) -> None:
        super().__init__(name, reason, missing=status == 404)
        self.status = status


class ObjectChanged(FileChangedError):
    """An object that is not the one listed any more, or changed while it was read."""


class HttpStatus(Exception):
    """An HTTP response that is not the range's bytes: its status, ``Retry-After`` (seconds) and the server's words."""

    def __init__(self, status: int, retry_after: float | None = None, message: str = "", generation: int = 0) -> None:
        super().__init__(f"HTTP {status}" + (f" {message}" if message else ""))
        self.status = status
        self.retry_after = retry_after
        self.message = message
        self.generation = generation  # which URL the request went to (0: the first; each renewal adds one)


class Transient(Exception):
    """A failure worth another try: a dropped or refused connection, a timeout, a broken body."""


@dataclass
class Response:
    """One open response: its body (``read(n)``, ``close()``), length, ``Content-Range`` and ETag."""

    body: Any
    length: int | None
    content_range: str = ""
    etag: str = ""
    meta: dict[str, Any] = field(default_factory=dict)  # the rest of the answer (S3: checksums, encryption)

    def read(self, count: int) -> bytes:
        """Up to ``count`` bytes of the body (b"" at its end); raises :class:`Transient` when it breaks."""
        try:
            return self.body.read(count)
        except Exception as err:  # urllib3, botocore and http.client each raise their own classes
            raise Transient(f"connection broke in the body: {type(err).__name__}") from None

    def close(self, complete: bool = False) -> None:
        """Give the connection back to the pool when the body was read whole (``complete``), else drop it."""
        raw = getattr(self.body, "_raw_stream", self.body)  # botocore's StreamingBody wraps urllib3's response
        with contextlib.suppress(Exception):  # a connection that is already gone needs no closing
            if complete and hasattr(raw, "release_conn"):
                raw.release_conn()
            else:
                self.body.close()


class RangeReader(Protocol):
    """Opens responses for byte ranges of one object."""

    def open(self, start: int, end: int, whole: bool) -> Response:
        """Open ``bytes=start-(end-1)`` (the whole object, without a ``Range``, when ``whole``).

        Raises :class:`HttpStatus` for a status that is not 200/206, :class:`Transient` for a connection that
        failed."""

    def renew(self) -> bool:
        """Get a fresh URL after a 403 (an expired presigned URL); False when there is none to get."""


@dataclass
class RetryPolicy:
    """How often and how patiently a range is asked again; ``sleep`` is injectable so tests need not wait."""

    retries: int = 5
    backoff: float = 0.5
    max_backoff: float = 30.0
    sleep: Callable[[float], None] = time.sleep

    def wait(self, attempt: int, retry_after: float | None) -> None:
        """Sleep before attempt ``attempt + 1``: ``Retry-After`` when the server gave one, else doubling backoff."""
        delay = retry_after if retry_after is not None else self.backoff * 2 ** attempt
        self.sleep(min(self.max_backoff, delay) + random.uniform(0, self.backoff / 4))


@dataclass
class ObjectRead:
    """What every range of one object shares: its name, size, ETag, reader, and the renewal already spent."""

    name: str
    size: int
    etag: str
    reader: RangeReader
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    retried: int = 0
    meta: dict[str, Any] | None = None  # what the answer of a whole-object GET said besides the bytes
    _renewed: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def renew_once(self) -> bool:
        """Renew the object's URL the first time a 403 asks for it; False after that (the 403 stands)."""
        with self._lock:
            if self._renewed:
                return False
            self._renewed = True
        return self.reader.renew()


def fetch_range(read: ObjectRead, start: int, end: int, view: memoryview) -> None:
    """Fill ``view`` with bytes ``start`` to ``end - 1`` of the object, each received exactly once.

    Raises :class:`ObjectError` (403, 404, another refusal, retries exhausted) or :class:`ObjectChanged`.
    """
    length = end - start
    whole = start == 0 and end == read.size
    got = 0
    attempt = 0
    while True:
        response = None
        complete = False
        try:
            response = read.reader.open(start + got, end, whole and got == 0)
            _check_response(read, response, start + got, end)
            if whole and got == 0:
                read.meta = response.meta
            while got < length:
                piece = response.read(min(PIECE, length - got))
                if not piece:
                    raise Transient(f"the body ended {length - got} bytes short")
                if len(piece) > length - got:
                    raise _Discard("the body is longer than the range asked for")
                view[got:got + len(piece)] = piece
                got += len(piece)
            if response.length is None and response.read(1):
                raise _Discard("the body goes on past the range asked for")
            complete = True
            return
        except _Discard as err:
            problem, retry_after = str(err), None
            got = 0  # nothing of a response that was not the range asked for is kept
        except Transient as err:
            problem, retry_after = str(err), None
        except HttpStatus as err:
            _refusal(read, err)
            problem, retry_after = str(err), err.retry_after
        finally:
            if response is not None:
                response.close(complete)
        if attempt >= read.policy.retries:
            raise ObjectError(read.name, f"read failed {attempt + 1} times at byte {start + got} ({problem}); "
                                         "try again later, or raise --retries")
        read.policy.wait(attempt, retry_after)
        attempt += 1
        read.retried += 1


class _Discard(Transient):
    """A response that is not the range asked for: none of its bytes are kept."""


def _check_response(read: ObjectRead, response: Response, start: int, end: int) -> None:
    """Raise unless ``response`` is exactly bytes ``start`` to ``end - 1`` of the object as listed."""
    if read.etag and response.etag and response.etag.strip('"') != read.etag:
        raise ObjectChanged(read.name, f"changed since it was listed: ETag {read.etag} listed, "
                                       f"{response.etag.strip(chr(34))} when read; read it again once it is quiet")
    expected = end - start
    if response.content_range:
        match = _CONTENT_RANGE.match(response.content_range.strip())
        if not match:
            raise _Discard(f"Content-Range {response.content_range!r} is not a byte range")
        first, last, total = match.groups()
        if total != "*" and int(total) != read.size:
            raise ObjectChanged(read.name, f"changed since it was listed: {read.size} bytes listed, {total} when "
                                           "read; read it again once it is quiet")
        if (int(first), int(last) + 1) != (start, end):
            raise _Discard(f"the server sent bytes {first}-{last}, not {start}-{end - 1}")
    elif not (start == 0 and end == read.size):
        raise _Discard("the server ignored the Range header (no Content-Range)")
    if response.length is not None and response.length != expected:
        raise _Discard(f"the body holds {response.length} bytes, not the {expected} asked for")


def _refusal(read: ObjectRead, err: HttpStatus) -> None:
    """Raise the object's verdict for a status that another try will not change; return for 429 and 5xx."""
    status = err.status
    if status == 429 or status >= 500:
        return
    if status == 403 and (err.generation < getattr(read.reader, "generation", 0) or read.renew_once()):
        return  # an expired download URL: a fresh one is tried once (a request to the old one just goes again)
    if status in (412, 416):
        raise ObjectChanged(read.name, f"changed while it was read (HTTP {status}: the server no longer has the "
                                       "object as listed); read it again once it is quiet")
    if status == 404:
        raise ObjectError(read.name, "not found (HTTP 404): deleted since it was listed, or a wrong key", 404)
    if status == 403 and err.message.startswith("InvalidObjectState"):
        # S3 refuses GetObject on an object archived in S3 Glacier Flexible Retrieval or Deep Archive (or an
        # Intelligent-Tiering archive tier) until it is restored
        # (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html)
        raise ObjectError(read.name, "archived (HTTP 403 InvalidObjectState): its storage class keeps it offline; "
                                     "restore it (aws s3api restore-object) and read it once the restore is done", 403)
    if status == 403:
        raise ObjectError(read.name, "access denied (HTTP 403): the credentials may list this object but not "
                                     "read it (s3:GetObject), or its download URL was refused twice", 403)
    words = f": {err.message}" if err.message else ""
    raise ObjectError(read.name, f"refused (HTTP {status}{words})", status)


# The checksum headers of a GetObject asked with x-amz-checksum-mode (see make_read_client), as HeadObject names them.
CHECKSUM_HEADERS = {f"x-amz-checksum-{kind.lower()}": f"Checksum{kind}"
                    for kind in ("CRC64NVME", "CRC32C", "CRC32", "SHA1", "SHA256")}
CHECKSUM_HEADERS["x-amz-checksum-type"] = "ChecksumType"


def ask_for_checksums(request, **_kwargs) -> None:
    """botocore hook: a GetObject of a whole object asks for its checksums (``x-amz-checksum-mode``) without
    botocore computing them again over the body (seqfixity does, among the read's hashers)."""
    if "Range" not in request.headers:
        request.headers["x-amz-checksum-mode"] = "ENABLED"


class S3Ranges:
    """Byte ranges of one S3 object through boto3 (``GetObject`` with ``Range`` and ``If-Match``)."""

    def __init__(self, client, bucket: str, key: str, etag: str = "", extra: dict[str, str] | None = None) -> None:
        self.client, self.bucket, self.key, self.etag = client, bucket, key, etag
        self.extra = dict(extra or {})

    def open(self, start: int, end: int, whole: bool) -> Response:
        """One ``GetObject`` (botocore's own retries are off: :func:`fetch_range` retries, honouring Retry-After)."""
        arguments: dict[str, Any] = {"Bucket": self.bucket, "Key": self.key, **self.extra}
        if not whole:
            arguments["Range"] = f"bytes={start}-{end - 1}"
        if self.etag:
            arguments["IfMatch"] = f'"{self.etag}"'
        try:
            answer = self.client.get_object(**arguments)
        except Exception as err:
            raise _s3_problem(err) from None
        meta = {k: v for k, v in answer.items() if k != "Body"}
        headers = answer.get("ResponseMetadata", {}).get("HTTPHeaders", {})
        meta.update({name: headers[header] for header, name in CHECKSUM_HEADERS.items() if header in headers})
        return Response(answer["Body"], answer.get("ContentLength"), answer.get("ContentRange") or "",
                        answer.get("ETag") or "", meta)

    def renew(self) -> bool:
        """An S3 request has no URL to renew."""
        return False


def _s3_problem(err: Exception) -> Exception:
    """Turn a botocore error into :class:`HttpStatus` (with Retry-After) or :class:`Transient`."""
    response = getattr(err, "response", None)
    if isinstance(response, dict) and response.get("ResponseMetadata", {}).get("HTTPStatusCode"):
        meta = response["ResponseMetadata"]
        headers = {k.lower(): v for k, v in (meta.get("HTTPHeaders") or {}).items()}
        error = response.get("Error") or {}
        message = f"{error.get('Code', '')} {error.get('Message', '')}".strip()
        return HttpStatus(int(meta["HTTPStatusCode"]), retry_after(headers.get("retry-after")), message)
    return Transient(f"cannot connect: {type(err).__name__}")


class UrlRanges:
    """Byte ranges of one object through a presigned URL, with a session that carries no credentials.

    ``url_for(renew)`` gives the URL (a fresh one when ``renew``); the session must hold no API key: the
    download host is the cloud store, not the API server. ``name`` names the object in errors.
    """

    def __init__(self, session, url_for: Callable[[bool], str], etag: str = "", timeout: float = 60.0,
                 name: str = "") -> None:
        self.session, self.url_for, self.etag, self.timeout, self.name = session, url_for, etag, timeout, name
        self._url: str | None = None
        self.generation = 0
        self._lock = threading.Lock()  # the ranges of one object ask for its URL once

    def _ask(self, renew: bool) -> str:
        """A URL from the API; its refusal becomes the object's (404: gone; 401/403: not allowed)."""
        try:
            return self.url_for(renew)
        except RemoteError as err:
            status = getattr(err, "status", None)
            raise ObjectError(self.name, f"no download URL: {err}", status) from None

    def open(self, start: int, end: int, whole: bool) -> Response:
        """One GET of the presigned URL."""
        with self._lock:
            if self._url is None:
                self._url = self._ask(False)
            url, generation = self._url, self.generation
        headers = {"Accept-Encoding": "identity"}
        if not whole:
            headers["Range"] = f"bytes={start}-{end - 1}"
        if self.etag:
            headers["If-Match"] = f'"{self.etag}"'
        try:
            answer = self.session.get(url, headers=headers, stream=True, timeout=self.timeout)
        except Exception as err:
            raise Transient(f"cannot connect: {type(err).__name__}") from None
        if answer.status_code not in (200, 206):
            status = answer.status_code
            answer.close()
            raise HttpStatus(status, retry_after(answer.headers.get("Retry-After")), generation=generation)
        length = answer.headers.get("Content-Length")
        return Response(answer.raw, int(length) if length and length.isdigit() else None,
                        answer.headers.get("Content-Range", ""), answer.headers.get("ETag", ""))

    def renew(self) -> bool:
        """Ask for a fresh URL (the old one expired); False when the API gives none."""
        try:
            self._url = self._ask(True)
        except ObjectError:
            return False
        self.generation += 1
        return True


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header, or None when it has none that can be read.

    RFC 9110 section 10.2.3 gives it two forms: delay-seconds (``120``) or an HTTP-date
    (``Wed, 21 Oct 2026 07:28:00 GMT``), the time to wait until (a date past is no wait); ``now`` is the
    clock to count from (default: the time now)."""
    if not value or not value.strip():
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:  # an HTTP-date is always GMT
        moment = moment.replace(tzinfo=datetime.UTC)
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))
