"""``s3://BUCKET/PREFIX`` and ``ica://PROJECT_ID/PATH`` as lists of objects that can be read, each named by its
path relative to the location.

A location is a folder (``s3://b/run42`` holds ``run42/...``, not ``run420/``) or a single object (named by
its base name). S3 is listed with boto3 (sizes, ETags, exact part sizes, checksums: :mod:`seqfixity.remote.s3`)
and read with ranged ``GetObject`` s; ICA is listed through its API as ``verify`` lists it, and each file is
read through the presigned URL ICA hands out for it (``POST .../data/{dataId}:createDownloadUrl``, or many at
once with ``:createDownloadUrls``), fetched without the API key: the key goes only to the ICA server. A name
that is absolute after the location or holds a ``..`` component is refused: it never names a local path.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlparse

from seqfixity.remote import AVAILABLE, RemoteError, RemoteObject
from seqfixity.remote.fetch import RangeReader, S3Ranges, UrlRanges
from seqfixity.remote.stream import RANGE_SIZE
from seqfixity.remote.verify import safe_relative, strip_prefix

LOG = logging.getLogger("seqfixity.ica")

URL_BATCH = 100
_CLIENTS: dict[tuple[str | None, int], tuple] = {}
_CLIENTS_LOCK = threading.Lock()


@dataclass(frozen=True)
class RemoteOptions:
    """Where the remote is and how it is read: S3 endpoint, ICA server and key, parallel ranges, retries."""

    endpoint_url: str | None = None
    ica_server: str = ""
    api_key_file: str | None = None
    connections: int = 8
    threads: int = 2
    retries: int = 5
    backoff: float = 0.5
    max_candidates: int = 16


@dataclass
class RemoteFile:
    """One object of a location: its name below it, its URL, what the listing said, and how to read it."""

    name: str
    url: str
    remote: RemoteObject
    reader: Callable[[], RangeReader] | None = None
    error: str = ""
    error_kind: str = ""  # "listing": a name refused; "unreadable": listed, but not in a state to be read

    @property
    def size(self) -> int:
        """The listed size in bytes (0 when the listing gave none)."""
        return self.remote.size or 0


@dataclass
class Listing:
    """What a location holds: its folder's URL (without a trailing ``/``) and its files, sorted by name."""

    root: str
    files: list[RemoteFile]
    single: bool = False


def list_location(location: str, options: RemoteOptions, details: bool = True) -> Listing:
    """List ``location`` (a folder, or one object); raise :class:`RemoteError` when it cannot be listed.

    Without ``details`` an S3 folder is listed without a HeadObject per object (names, sizes and ETags
    only: enough to plan the workflow's jobs, not to read)."""
    if location.startswith("s3://"):
        return _list_s3(location, options, details)
    if location.startswith("ica://"):
        return _list_ica(location, options)
    raise RemoteError(f"{location}: not a remote location (expected s3://BUCKET/PREFIX or ica://PROJECT_ID/PATH)")


def _named(remote: RemoteObject, relative: str, url: str, reader: Callable[[], RangeReader] | None) -> RemoteFile:
    """A listed object as a file named ``relative`` below its location, or with the reason it cannot be read."""
    name = safe_relative(relative)
    # A name below the location that starts with '/' (the S3 key "run42//x", or "/x" in a whole bucket) is
    # absolute: read as "x" it would be a second object of that name beside the key "x" itself.
    if name is None or relative.startswith("/"):
        return RemoteFile(relative, url, remote, error="its name is absolute or holds '..' below the location; "
                          "refused, so that it never names a local path", error_kind="listing")
    if name != relative:
        return RemoteFile(relative, url, remote, error=f"its name is not a clean relative path (read as {name!r}); "
                          "refused, so that it never names another local path", error_kind="listing")
    if remote.error:
        return RemoteFile(name, url, remote, error=remote.error, error_kind=remote.error_kind or "listing")
    if remote.status != AVAILABLE:
        return RemoteFile(name, url, remote, error=f"status {remote.status}: only AVAILABLE files can be read "
                          "(unarchive it in ICA first)", error_kind="unreadable")
    return RemoteFile(name, url, remote, reader)


def _list_s3(location: str, options: RemoteOptions, details: bool = True) -> Listing:
    from seqfixity.remote.s3 import describe_key, list_s3, make_client, make_read_client, parse_s3_url

    bucket, prefix = parse_s3_url(location)
    with _CLIENTS_LOCK:  # one pair of clients per endpoint: making one costs more than many requests
        key = (options.endpoint_url, options.connections)
        if key not in _CLIENTS:
            _CLIENTS[key] = (make_client(options.endpoint_url), make_read_client(*key))
        listing_client, read_client = _CLIENTS[key]
    root = f"s3://{bucket}/{prefix}".rstrip("/")

    def reader_for(key: str, etag: str) -> Callable[[], RangeReader]:
        return lambda: S3Ranges(read_client, bucket, key, etag)

    def file_of(remote: RemoteObject, key: str) -> RemoteFile:
        return _named(remote, remote.name, f"s3://{bucket}/{key}", reader_for(key, remote.etag))

    objects = list(list_s3(f"s3://{bucket}/{prefix}", listing_client, heads=details, head_above=RANGE_SIZE))
    if objects or not prefix or location.endswith("/"):
        files = [file_of(o, o.source[len(f"s3://{bucket}/"):]) for o in objects]
        return Listing(root, sorted(files, key=lambda f: f.name))
    key = prefix.rstrip("/")
    single = describe_key(listing_client, bucket, key)
    if single is None:
        return Listing(root, [])
    return Listing(root.rpartition("/")[0], [file_of(single, key)], single=True)


class _IcaUrls:
    """Download URLs of a listing's files, asked for in batches as the reading reaches them."""

    def __init__(self, client, project: str, data_ids: list[str]) -> None:
        self.client, self.project, self.order = client, project, data_ids
        self.position = {data_id: index for index, data_id in enumerate(data_ids)}
        self.cache: dict[str, str] = {}
        self.asked: set[str] = set()
        self.lock = threading.Lock()

    def url_for(self, data_id: str, renew: bool) -> str:
        """The URL to read ``data_id`` from: from the batch it was asked with, or a fresh one when ``renew``."""
        if renew:
            return self.client.download_url(self.project, data_id)
        with self.lock:
            url = self.cache.pop(data_id, None)
            if url is None and data_id not in self.asked:
                start = self.position.get(data_id, 0)
                wanted = [d for d in self.order[start:] if d not in self.asked][:URL_BATCH]
                self.asked.update(wanted)
                if len(wanted) > 1:
                    try:
                        self.cache.update(self.client.download_urls(self.project, wanted))
                    except RemoteError as err:  # the bulk call only saves requests: ask one by one instead
                        LOG.info("%s; asking for each file's download URL on its own", err)
                url = self.cache.pop(data_id, None)
        return url or self.client.download_url(self.project, data_id)


def _list_ica(location: str, options: RemoteOptions) -> Listing:
    from seqfixity.remote.ica import DEFAULT_SERVER, IcaClient, read_api_key

    try:
        import requests
    except ImportError:
        raise RemoteError("ICA needs requests: pip install 'seqfixity[remote]'") from None
    parsed = urlparse(location)
    if not parsed.netloc:
        raise RemoteError(f"{location}: expected ica://PROJECT_ID[/PATH]")
    project, path = parsed.netloc, parsed.path.rstrip("/")
    server = options.ica_server or os.environ.get("ICA_SERVER") or DEFAULT_SERVER
    client = IcaClient(server, read_api_key(options.api_key_file), retries=max(0, options.retries),
                       backoff=max(0.0, options.backoff))
    objects = list(client.list_data(project, f"{path}/" if path else ""))
    single = False
    prefix = path
    if not objects and path and not location.endswith("/"):
        objects = [o for o in client.list_data(project, path) if o.name.rstrip("/") == path]
        single, prefix = bool(objects), path.rpartition("/")[0]
    root = f"ica://{project}{prefix}"
    downloads = requests.Session()  # no API key: this session only talks to the cloud store
    downloads.headers.clear()
    # Only files that will be read: ICA may refuse a batch holding one it cannot hand out (an archived file).
    urls = _IcaUrls(client, project, [o.data_id for o in objects if o.data_id and o.status == AVAILABLE
                                      and not o.error])

    def reader_for(remote: RemoteObject) -> Callable[[], RangeReader]:
        return lambda: UrlRanges(downloads, lambda renew: urls.url_for(remote.data_id, renew), remote.etag,
                                 name=f"ica://{project}{remote.name}")

    files = []
    for remote in objects:
        relative = strip_prefix(remote.name, prefix)
        if relative is None:  # the API's STARTS_WITH is case-insensitive; a folder is not
            continue
        files.append(_named(remote, relative, f"ica://{project}{remote.name}", reader_for(remote)))
    return Listing(root, sorted(files, key=lambda f: f.name), single=single)


def locate_files(urls: list[str], options: RemoteOptions) -> list[RemoteFile]:
    """Each object URL as a file that can be read, named by its base name, in the order given.

    S3 objects are described one by one (HeadObject, in parallel); ICA files by listing each folder once.
    A URL that names nothing is a file with an error (``missing``); raises :class:`RemoteError` when a
    location cannot be listed at all.
    """
    by_folder: dict[str, list[str]] = {}
    for url in urls:
        by_folder.setdefault(url.rpartition("/")[0], []).append(url)
    found: dict[str, RemoteFile] = {}
    if any(url.startswith("s3://") for url in urls):
        from concurrent.futures import ThreadPoolExecutor

        s3_urls = [url for url in urls if url.startswith("s3://")]
        with ThreadPoolExecutor(max_workers=8, thread_name_prefix="seqfixity-head") as pool:
            for url, listing in zip(s3_urls, pool.map(lambda u: _list_s3(u, options), s3_urls), strict=True):
                match = [f for f in listing.files if f.url == url]
                if match:
                    found[url] = match[0]
    for folder, members in by_folder.items():
        if folder.startswith("ica://"):
            listing = _list_ica(folder + "/", options)
            found.update((f.url, f) for f in listing.files if f.url in members)
    return [found.get(url) or RemoteFile(url.rsplit("/", 1)[-1], url, RemoteObject(name=url),
                                         error="no such object (gone since the run was planned?)",
                                         error_kind="missing")
            for url in urls]
