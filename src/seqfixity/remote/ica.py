"""What an ICA project holds: from an exported listing (JSON, CSV, XLSX) or from the ICA REST API.

ICA keeps, per file, ``details.objectETag`` (the MD5 below 16 MB, a multipart
``hex-N`` above), ``details.fileSizeInBytes``, ``details.path`` and
``details.status``; only ``AVAILABLE`` files are complete. Export columns are
found by name: the API's field names (``objectETag``, ``details.objectETag``)
and human labels (``Object ETag``, ``File size in bytes``) are both accepted.

The API key comes from the ``ICA_API_KEY`` environment variable or a key file,
never from the command line, and never appears in any message this module makes.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import random
import re
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from seqfixity.remote import AVAILABLE, RemoteError, RemoteObject
from seqfixity.remote.fetch import retry_after

LOG = logging.getLogger("seqfixity.ica")
DEFAULT_SERVER = "https://ica.illumina.com"
MEDIA_TYPE = "application/vnd.illumina.v3+json"
API_KEY_ENV = "ICA_API_KEY"
EXPORT_SUFFIXES = (".json", ".csv", ".tsv", ".xlsx")

# Each field: its ICA name first (as the API and `icav2 -o json` spell it), then human labels.
COLUMNS: dict[str, tuple[str, ...]] = {
    "path": ("path", "Path", "File path", "Full path", "Data path"),
    "name": ("name", "Name", "File name", "Filename", "Data name"),
    "size": ("fileSizeInBytes", "File size in bytes", "Size in bytes", "Size (bytes)", "File size", "Size"),
    "etag": ("objectETag", "Object ETag", "ETag"),
    "status": ("status", "Status", "Data status", "File status"),
    "type": ("dataType", "Data type", "Type"),
    "id": ("id", "Data id", "File id", "ID"),
}


def _key(label: str) -> str:
    """Normalise a column label: drop ``data.``/``details.`` prefixes, case, spaces and punctuation."""
    label = re.sub(r"^(data\.)?(details\.)?", "", label.strip(), flags=re.IGNORECASE)
    return re.sub(r"[^0-9a-z]", "", label.lower())


_ALIASES = {field: [_key(label) for label in labels] for field, labels in COLUMNS.items()}


def find_columns(header: Iterable[str]) -> dict[str, int]:
    """Map each known field to the index of its column in ``header`` (first alias that is present wins)."""
    positions = {_key(str(label)): index for index, label in reversed(list(enumerate(header))) if label is not None}
    found = {}
    for field, aliases in _ALIASES.items():
        for alias in aliases:
            if alias in positions:
                found[field] = positions[alias]
                break
    return found


def _missing(found: Mapping[str, Any]) -> list[str]:
    """Name the required fields absent from ``found`` (``path`` or ``name``, size, ETag)."""
    missing = []
    if "path" not in found and "name" not in found:
        missing.append("path (or name)")
    for field in ("size", "etag"):
        if field not in found:
            missing.append(f"{COLUMNS[field][0]} ({COLUMNS[field][1]})")
    return missing


def _size(value: Any) -> int:
    """Return a byte count from an export cell; raise ValueError for anything else (e.g. ``1.2 GB``)."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    text = str(value).strip().replace(",", "")
    if not text.isdigit():
        raise ValueError(value)
    return int(text)


def object_from_details(details: Mapping[str, Any], source: str) -> RemoteObject:
    """Build a :class:`RemoteObject` from an ICA ``details``-shaped mapping (field names as in the API)."""
    path = str(details.get("path") or details.get("name") or "")
    found = RemoteObject(name=path, etag=str(details.get("objectETag") or "").strip().strip('"'),
                         status=str(details.get("status") or AVAILABLE).upper(), source=source)
    found.modified_ns = _time_ns(details.get("timeModified"))
    raw_size = details.get("fileSizeInBytes")
    if not path:
        found.error = "no path or name"
    elif raw_size in (None, ""):
        found.error = "no fileSizeInBytes"
    else:
        try:
            found.size = _size(raw_size)
        except ValueError:
            found.error = f"fileSizeInBytes {raw_size!r} is not a byte count"
    return found


def _time_ns(value: Any) -> int:
    """Nanoseconds since the epoch from an ICA time (``2026-11-01T10:00:00Z``), 0 when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return 0
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return 0
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1_000_000) * 1000


def _is_folder(details: Mapping[str, Any]) -> bool:
    kind = details.get("dataType") or details.get("type")
    if kind:
        return str(kind).upper() == "FOLDER"
    return str(details.get("path") or "").endswith("/")  # an export without a type column: ICA's folder paths end in /


def _details_of(item: Mapping[str, Any]) -> tuple[Mapping[str, Any], str]:
    """Return ``(details, data id)`` of a ProjectData item, a Data object or a flat details mapping."""
    data = item.get("data", item) if isinstance(item.get("data"), Mapping) else item
    details = data.get("details", data) if isinstance(data.get("details"), Mapping) else data
    return details, str(data.get("id") or "")


def objects_from_items(items: Iterable[Mapping[str, Any]], origin: str) -> Iterator[RemoteObject]:
    """Yield a :class:`RemoteObject` for every file among ICA items (folders skipped)."""
    for index, item in enumerate(items, 1):
        if not isinstance(item, Mapping):
            yield RemoteObject(name=f"{origin}#{index}", source=origin, error="item is not a JSON object")
            continue
        details, data_id = _details_of(item)
        if _is_folder(details):
            continue
        found = object_from_details(details, data_id or f"{origin}#{index}")
        found.data_id = data_id
        yield found


def read_export(path: str | os.PathLike[str]) -> list[RemoteObject]:
    """Read an ICA project-data export (JSON, CSV, TSV or XLSX) into remote objects.

    Raises :class:`RemoteError` when the file cannot be read or lacks a required
    column, naming each missing column.
    """
    path = os.fspath(path)
    suffix = Path(path).suffix.lower()
    try:
        if suffix == ".xlsx":
            return _objects_from_rows(path, _xlsx_rows(path))
        if suffix in (".json", ".csv", ".tsv"):
            return export_objects(path, Path(path).read_bytes())
    except OSError as err:
        raise RemoteError(f"{path}: cannot read ICA export: {err.strerror}") from None
    raise RemoteError(f"{path}: unknown export format (expected {', '.join(EXPORT_SUFFIXES)})")


def export_objects(path: str, data: bytes) -> list[RemoteObject]:
    """The remote objects of an ICA export in JSON, CSV or TSV (told by ``path``'s suffix) already read as
    ``data``: what :func:`read_export` reads, for ``check`` given the export as a manifest."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise RemoteError(f"{path}: not UTF-8 text (it holds byte 0x{err.object[err.start]:02x}); "
                          "save it as CSV UTF-8, or export it from ICA again") from None
    if Path(path).suffix.lower() == ".json":
        return _read_json(path, text)
    delimiter = "\t" if Path(path).suffix.lower() == ".tsv" else ","
    return _objects_from_rows(path, list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)))


def _read_json(path: str, text: str) -> list[RemoteObject]:
    try:
        data = json.loads(text)
    except ValueError as err:
        raise RemoteError(f"{path}: not valid JSON: {err}") from None
    items = data.get("items", [data]) if isinstance(data, Mapping) else data
    if not isinstance(items, list):
        raise RemoteError(f"{path}: expected a list of project data, an object with 'items', or one data object")
    objects = list(objects_from_items(items, path))
    if objects and all(o.error for o in objects):
        first = _details_of(items[0])[0] if isinstance(items[0], Mapping) else {}
        present = {field for field, labels in COLUMNS.items() if first.get(labels[0]) not in (None, "")}
        missing = _missing(present) or [objects[0].error]
        raise RemoteError(f"{path}: no usable item; missing field(s): {', '.join(missing)}")
    return objects


def _xlsx_rows(path: str) -> list[list[Any]]:
    try:
        from openpyxl import load_workbook
    except ImportError:
        raise RemoteError("reading XLSX exports needs openpyxl: pip install 'seqfixity[remote]'") from None
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as err:  # openpyxl raises zipfile, KeyError and its own errors for damaged files
        raise RemoteError(f"{path}: not a readable XLSX workbook: {err}") from None
    try:
        return [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()


def _objects_from_rows(path: str, rows: list[list[Any]]) -> list[RemoteObject]:
    rows = [row for row in rows if any(cell not in (None, "") for cell in row)]
    if not rows:
        raise RemoteError(f"{path}: the export is empty")
    header = ["" if cell is None else str(cell) for cell in rows[0]]
    columns = find_columns(header)
    missing = _missing(columns)
    if missing:
        raise RemoteError(f"{path}: missing column(s): {', '.join(missing)}; found: {', '.join(header)}")
    objects = []
    for line, row in enumerate(rows[1:], 2):
        cell = {field: row[index] if index < len(row) else None for field, index in columns.items()}
        details = {"path": cell.get("path") or cell.get("name"), "fileSizeInBytes": cell["size"],
                   "objectETag": cell["etag"], "status": cell.get("status"), "dataType": cell.get("type")}
        if _is_folder(details):
            continue
        objects.append(object_from_details(details, f"{path}:{line}"))
    return objects


def read_api_key(key_file: str | None = None) -> str:
    """Return the ICA API key from ``key_file`` or ``$ICA_API_KEY``; raise :class:`RemoteError` if there is none."""
    if key_file:
        try:
            key = Path(key_file).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as err:
            raise RemoteError(f"{key_file}: cannot read the ICA API key file: "
                              f"{getattr(err, 'strerror', None) or 'not text'}") from None
        if not key:
            raise RemoteError(f"{key_file}: the ICA API key file is empty")
        return key
    key = os.environ.get(API_KEY_ENV, "").strip()
    if not key:
        raise RemoteError(f"no ICA API key: set {API_KEY_ENV} or pass --api-key-file FILE")
    return key


@dataclass
class IcaClient:
    """A small ICA REST API client: paged project data listings with retries on 429 and 5xx.

    ``api_key`` is sent as ``X-API-Key`` and is scrubbed from every error this
    client raises or logs. ``sleep`` is injectable so tests need not wait.
    """

    server: str
    api_key: str
    retries: int = 5
    backoff: float = 1.0
    max_backoff: float = 30.0
    timeout: float = 60.0
    page_size: int = 1000
    sleep: Any = time.sleep

    def __post_init__(self) -> None:
        try:
            import requests
        except ImportError:
            raise RemoteError("the ICA API needs requests: pip install 'seqfixity[remote]'") from None
        self._requests = requests
        self._session = requests.Session()
        self._session.headers.update({"X-API-Key": self.api_key, "Accept": MEDIA_TYPE})
        self.server = self.server.rstrip("/")

    def __repr__(self) -> str:
        return f"IcaClient(server={self.server!r}, api_key=<hidden>)"

    def _scrub(self, text: str) -> str:
        return text.replace(self.api_key, "<hidden>") if self.api_key else text

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """GET ``{server}/ica/rest/api{path}`` as JSON, retrying 429, 5xx and connection failures.

        Raises :class:`RemoteError` with one clear sentence for 401, 403, 404,
        other client errors, exhausted retries and bodies that are not JSON.
        """
        return self.request("GET", path, params)

    def post(self, path: str, body: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """POST ``body`` (JSON) to ``{server}/ica/rest/api{path}``, retried and reported as :meth:`get` is."""
        return self.request("POST", path, body=body)

    def request(self, method: str, path: str, params: Mapping[str, Any] | None = None,
                body: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Send one API request (see :meth:`get`); ``body`` goes as JSON in ICA's media type."""
        url = f"{self.server}/ica/rest/api{path}"
        data = None if body is None else json.dumps(body).encode()
        headers = {} if body is None else {"Content-Type": MEDIA_TYPE}
        for attempt in range(self.retries + 1):
            try:
                # No redirects: requests would send the X-API-Key header on to whatever host they name.
                response = self._session.request(method, url, params=params, data=data, headers=headers,
                                                 timeout=self.timeout, allow_redirects=False)
            except self._requests.RequestException as err:
                problem = f"cannot connect: {type(err).__name__}"
                status, wait = None, None
            else:
                status = response.status_code
                if 300 <= status < 400:
                    location = response.headers.get("Location", "elsewhere")
                    raise RemoteError(self._scrub(f"{url}: the ICA API redirected (HTTP {status}) to {location}; "
                                                  "the key was not sent there: if you trust that server, give it "
                                                  "as --ica-server"))
                if status < 400:
                    try:
                        answer = response.json()
                    except ValueError:
                        answer = None
                    if not isinstance(answer, dict):
                        raise RemoteError(f"{url}: the ICA API answered {status} with a body that is not a JSON "
                                          "object; check --ica-server (it should be the ICA host, e.g. "
                                          f"{DEFAULT_SERVER})")
                    return answer
                if status in (401, 403, 404):
                    raise IcaHttpError(self._scrub(_client_error(status, url)), status)
                if status != 429 and status < 500:
                    raise RemoteError(self._scrub(f"{url}: the ICA API refused the request (HTTP {status})"))
                problem = f"HTTP {status}"
                wait = retry_after(response.headers.get("Retry-After"))
            if attempt == self.retries:
                raise RemoteError(self._scrub(f"{url}: the ICA API kept failing ({problem}) after "
                                              f"{self.retries + 1} attempts"))
            delay = min(self.max_backoff, wait if wait is not None else self.backoff * 2**attempt)
            delay += random.uniform(0, self.backoff / 4)
            LOG.warning("%s: %s; retrying in %.1f s", self._scrub(url), problem, delay)
            self.sleep(delay)
        raise AssertionError("unreachable")

    def link(self, project_id: str, data_id: str) -> str:
        """The page of one file in ICA's web interface (``/ica/link/project/{projectId}/data/{dataId}``)."""
        return f"{self.server}/ica/link/project/{quote(project_id, safe='')}/data/{quote(data_id, safe='')}"

    def download_url(self, project_id: str, data_id: str) -> str:
        """A presigned URL of one file's bytes (``POST .../data/{dataId}:createDownloadUrl``).

        The URL's host is the cloud store, not ICA: fetch it without the API key."""
        answer = self.post(f"/projects/{quote(project_id, safe='')}/data/{quote(data_id, safe='')}"
                           ":createDownloadUrl")
        url = answer.get("url")
        if not isinstance(url, str) or not url:
            raise RemoteError(f"ica project {project_id}: createDownloadUrl for {data_id} gave no url")
        return url

    def download_urls(self, project_id: str, data_ids: Iterable[str]) -> dict[str, str]:
        """Presigned URLs of many files in one request (``POST .../data:createDownloadUrls``): {data id: url}.

        Ids the answer leaves out are absent from the mapping (ask for them one by one)."""
        ids = list(dict.fromkeys(data_ids))
        if not ids:
            return {}
        answer = self.post(f"/projects/{quote(project_id, safe='')}/data:createDownloadUrls", {"dataIds": ids})
        urls = {}
        for item in answer.get("items") or []:
            if isinstance(item, Mapping) and isinstance(item.get("url"), str) and item.get("dataId"):
                urls[str(item["dataId"])] = item["url"]
        return urls

    def list_data(self, project_id: str, path_prefix: str = "") -> Iterator[RemoteObject]:
        """Yield every file of the project (under ``path_prefix`` when given), following the pages."""
        params: dict[str, Any] = {"pageSize": self.page_size, "type": "FILE"}
        if path_prefix:
            params.update(filePath=path_prefix, filePathMatchMode="STARTS_WITH_CASE_INSENSITIVE")
        offset = 0
        tokens: set[str] = set()
        while True:
            page = self.get(f"/projects/{quote(project_id, safe='')}/data", params)
            items = page.get("items") or []
            for found in objects_from_items(items, f"ica project {project_id}"):
                if found.data_id:
                    found.link = self.link(project_id, found.data_id)
                yield found
            token = page.get("nextPageToken")
            offset += len(items)
            total = page.get("totalItemCount")
            if token:
                if token in tokens:
                    raise RemoteError(f"ica project {project_id}: the ICA API's page token came back after "
                                      f"{offset} items; stopped instead of listing the same page forever "
                                      "(try again later, or verify against an export of the project data)")
                tokens.add(token)
                params = {**params, "pageToken": token}
                params.pop("pageOffset", None)
            elif items and (page.get("remainingRecords") or (isinstance(total, int) and offset < total)):
                params = {**params, "pageOffset": offset}
            else:
                return

    def get_data(self, project_id: str, data_id: str) -> RemoteObject:
        """Return one file of the project by its data id (``fil.…``).

        A folder comes back as an object with an empty name and an ``error`` saying so.
        """
        item = self.get(f"/projects/{quote(project_id, safe='')}/data/{quote(data_id, safe='')}")
        details, found_id = _details_of(item)
        if _is_folder(details):
            return RemoteObject(name="", source=data_id, error="a folder, not a file: "
                                f"verify a folder with ica://{project_id}/PATH")
        found = object_from_details(details, found_id or data_id)
        found.data_id = found_id or data_id
        found.link = self.link(project_id, found.data_id)
        return found

    def get_files(self, project_id: str, data_ids: Iterable[str]) -> Iterator[RemoteObject]:
        """Yield each data id's file (each id once, in the order given), fetched with :meth:`get_data`.

        An id the project does not hold (HTTP 404) becomes an object with an
        empty name, the id as ``source`` and an ``error``, so the other ids are still
        verified; any other refusal (401, 403, retries exhausted) raises
        :class:`RemoteError`, as it would for every id.
        """
        for data_id in dict.fromkeys(data_ids):
            try:
                yield self.get_data(project_id, data_id)
            except IcaHttpError as err:
                if err.status != 404:
                    raise
                yield RemoteObject(name="", source=data_id, error=f"no such data id in project {project_id} "
                                   "(HTTP 404): check the id (ICA file ids look like fil.…)")


class IcaHttpError(RemoteError):
    """The ICA API refused a request for good (HTTP 401, 403 or 404); ``status`` says which."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def _client_error(status: int, url: str) -> str:
    return {
        401: f"{url}: the ICA API rejected the API key (HTTP 401): check {API_KEY_ENV} or the key file",
        403: f"{url}: the API key may not read this project (HTTP 403): ask for access to the project",
        404: f"{url}: not found (HTTP 404): check the server, the project id and the data id",
    }[status]

