"""``seqfixity verify`` against the ICA REST API, served by a small HTTP server on 127.0.0.1.

The stand-in answers like ICA's OpenAPI (ProjectData items with data.details,
paging by pageToken or pageOffset) and can refuse the key (401), throttle
(429 then 200) or fail (500). The API key must never show in any output.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

from conftest import run_cli
from ica_fixtures import EXPECTED, PART_SIZES, PROJECT, make_local, project_data
from seqfixity.remote import RemoteError
from seqfixity.remote.ica import MEDIA_TYPE, IcaClient
from seqfixity.verdict import Verdict
from servers import IcaStandIn, free_port

KEY = "ica-test-key-0123-SECRET-9f8e7d6c"
DATA_PATH = f"/ica/rest/api/projects/{PROJECT}/data"
PAGE = 3


def unauthorized(headers: dict) -> tuple[int, dict] | None:
    if headers.get("x-api-key") != KEY:
        return 401, {"type": "about:blank", "title": "Unauthorized", "status": 401}
    return None


def listing(query: dict, mode: str = "token") -> dict:
    """One page of the project's data, paged by token or by offset, filtered by filePath."""
    items = project_data()
    prefix = query.get("filePath", "")
    items = [i for i in items if i["data"]["details"]["path"].lower().startswith(prefix.lower())]
    if mode == "token":
        start = int(query.get("pageToken", "p0")[1:]) * PAGE
        token = f"p{start // PAGE + 1}" if start + PAGE < len(items) else None
        return {"items": items[start:start + PAGE], "nextPageToken": token}
    start = int(query.get("pageOffset", 0))
    return {"items": items[start:start + PAGE], "pageOffset": start, "totalItemCount": len(items)}


class Throttled:
    """Serve the listing by token; the first request for each page after the first gets 429."""

    def __init__(self) -> None:
        self.throttled: set[str] = set()

    def __call__(self, path: str, query: dict, headers: dict) -> tuple[int, dict]:
        refused = unauthorized(headers)
        if refused:
            return refused
        if path != DATA_PATH:
            return 404, {"title": "Not Found", "detail": f"no such path; key was {headers.get('x-api-key')}"}
        token = query.get("pageToken")
        if token and token not in self.throttled:
            self.throttled.add(token)
            return 429, {"title": "Too Many Requests"}
        return 200, listing(query)


@pytest.fixture(scope="module")
def local_root(tmp_path_factory) -> Path:
    return make_local(tmp_path_factory.mktemp("ica-api") / "local")


def cli_with_key(*args, key: str | None = KEY, **env_extra):
    saved = os.environ.get("ICA_API_KEY")
    if key is None:
        os.environ.pop("ICA_API_KEY", None)
    else:
        os.environ["ICA_API_KEY"] = key
    try:
        return run_cli(*args)
    finally:
        if saved is None:
            os.environ.pop("ICA_API_KEY", None)
        else:
            os.environ["ICA_API_KEY"] = saved


def assert_key_absent(done, *files: Path) -> None:
    for text in (done.stdout.decode(), done.stderr.decode(), *(f.read_text() for f in files if f.exists())):
        assert KEY not in text
        assert KEY[8:20] not in text


def test_paged_listing_with_429_then_200(local_root, tmp_path):
    report = tmp_path / "report.json"
    with IcaStandIn(Throttled()) as server:
        done = cli_with_key("verify", local_root, "--against", f"ica://{PROJECT}/fastq", "--ica-server", server.url,
                            "--report", report, "--retry-backoff", "0.01")
    found = {e["path"]: e for e in json.loads(report.read_text())["files"]}
    assert {p: e["verdict"] for p, e in found.items()} == EXPECTED
    for name, part_size in PART_SIZES.items():
        assert found[name]["actual"]["etag_part_size"] == part_size
        assert found[name]["source"].startswith("fil.")
    assert done.returncode == Verdict.MISMATCH.bit | Verdict.UNVERIFIABLE.bit | Verdict.MISSING.bit
    pages = [query.get("pageToken") for _path, query, _headers in server.requests]
    assert pages == [None, "p1", "p1", "p2", "p2"]          # each later page: 429, then 200
    for _path, query, headers in server.requests:
        assert headers["x-api-key"] == KEY and headers["accept"] == MEDIA_TYPE
        assert query["filePath"] == "/fastq/" and query["type"] == "FILE"
    assert done.stderr.decode().count("HTTP 429; retrying") == 2
    assert_key_absent(done, report)


def test_offset_paging_and_get_data():
    def route(path: str, query: dict, headers: dict) -> tuple[int, dict]:
        refused = unauthorized(headers)
        if refused:
            return refused
        if path.startswith(DATA_PATH + "/"):
            wanted = path.rsplit("/", 1)[1]
            return 200, next(i for i in project_data() if i["data"]["id"] == wanted)
        return 200, listing(query, mode="offset")

    with IcaStandIn(route) as server:
        client = IcaClient(server.url, KEY)
        objects = list(client.list_data(PROJECT))
        one = client.get_data(PROJECT, "fil.0002")
    assert sorted(o.name for o in objects) == sorted(f"/fastq/{n}" for n in EXPECTED if n != "S9_R1.fastq.gz")
    assert [q.get("pageOffset") for _p, q, _h in server.requests[:3]] == [None, "3", "6"]
    assert one.name == "/fastq/S1_R2.fastq.gz" and one.source == "fil.0002" and one.size == 8 * 1024 * 1024 + 1
    assert KEY not in repr(client)


def test_500_is_retried_with_backoff_then_reported(local_root, tmp_path, caplog):
    with IcaStandIn(lambda path, query, headers: (500, {"title": "Internal Server Error"})) as server:
        done = cli_with_key("verify", local_root, "--against", f"ica://{PROJECT}", "--ica-server", server.url,
                            "--retries", "2", "--retry-backoff", "0.01", "--report", tmp_path / "r.json")
        waits = []
        client = IcaClient(server.url, KEY, retries=3, backoff=0.5, sleep=waits.append)
        with caplog.at_level(logging.WARNING, logger="seqfixity.ica"), pytest.raises(RemoteError) as raised:
            list(client.list_data(PROJECT))
    assert done.returncode == Verdict.MANIFEST_ERROR.bit
    assert len(server.requests) == 3 + 4
    assert "kept failing (HTTP 500) after 3 attempts" in done.stderr.decode()
    assert not (tmp_path / "r.json").exists()
    assert len(waits) == 3 and all(0.5 * 2**i <= w <= 0.5 * 2**i + 0.125 for i, w in enumerate(waits))
    assert_key_absent(done)
    assert KEY not in str(raised.value) and KEY not in caplog.text and "HTTP 500" in caplog.text


def test_flaky_500_then_ok(local_root, tmp_path):
    calls = []

    def route(path: str, query: dict, headers: dict) -> tuple[int, dict]:
        calls.append(path)
        return (503, {}) if len(calls) <= 2 else (200, listing(query))

    with IcaStandIn(route) as server:
        client = IcaClient(server.url, KEY, sleep=lambda seconds: None)
        objects = list(client.list_data(PROJECT))
    assert len(objects) == len(EXPECTED) - 1 and len(calls) == 2 + 3


def test_wrong_key_is_one_clear_error_without_the_key(local_root, tmp_path):
    wrong = "wrong-key-should-not-print-1234"
    with IcaStandIn(Throttled()) as server:
        done = cli_with_key("verify", local_root, "--against", f"ica://{PROJECT}", "--ica-server", server.url,
                            key=wrong)
    assert done.returncode == Verdict.MANIFEST_ERROR.bit
    stderr = done.stderr.decode()
    assert stderr.count("\n") == 1 and "rejected the API key (HTTP 401)" in stderr
    assert wrong not in stderr and wrong not in done.stdout.decode()
    assert len(server.requests) == 1                                  # 401 is not retried


@pytest.mark.parametrize(("status", "words"), [(401, "rejected the API key"), (403, "may not read this project"),
                                               (404, "not found (HTTP 404)")])
def test_client_errors_are_clear_and_not_retried(status, words):
    with IcaStandIn(lambda path, query, headers: (status, {"detail": f"echo {headers.get('x-api-key')}"})) as server:
        client = IcaClient(server.url, KEY, sleep=lambda seconds: pytest.fail("must not retry"))
        with pytest.raises(RemoteError) as raised:
            client.get_data(PROJECT, "fil.9999")
    assert words in str(raised.value) and KEY not in str(raised.value)
    assert raised.value.__context__ is None and KEY not in repr(raised.value)
    assert len(server.requests) == 1


def test_key_file_and_missing_key(local_root, tmp_path):
    key_file = tmp_path / "ica.key"
    key_file.write_text(KEY + "\n")
    report = tmp_path / "r.json"
    with IcaStandIn(Throttled()) as server:
        done = cli_with_key("verify", local_root, "--against", f"ica://{PROJECT}/fastq/", "--ica-server", server.url,
                            "--api-key-file", key_file, "--report", report, "--retry-backoff", "0", key=None)
        missing = cli_with_key("verify", local_root, "--against", f"ica://{PROJECT}", "--ica-server", server.url,
                               key=None)
    assert done.returncode != Verdict.MANIFEST_ERROR.bit and report.exists()
    assert_key_absent(done, report)
    assert missing.returncode == Verdict.MANIFEST_ERROR.bit
    assert "no ICA API key: set ICA_API_KEY or pass --api-key-file FILE" in missing.stderr.decode()


def test_unreachable_server_is_retried_and_reported():
    client = IcaClient(f"http://127.0.0.1:{free_port()}", KEY, retries=1, sleep=lambda seconds: None, timeout=2)
    with pytest.raises(RemoteError, match="kept failing .cannot connect: ConnectionError. after 2 attempts") as raised:
        list(client.list_data(PROJECT))
    assert KEY not in str(raised.value)


def test_a_page_token_that_comes_back_stops_the_listing():
    calls = []

    def route(path: str, query: dict, headers: dict) -> tuple[int, dict]:
        calls.append(query.get("pageToken"))
        if len(calls) > 20:  # a bound for the test only: a client that loops ends up here
            return 200, {"items": []}
        return 200, {"items": project_data()[:2], "nextPageToken": "again"}

    with IcaStandIn(route) as server:
        client = IcaClient(server.url, KEY, sleep=lambda seconds: None)
        with pytest.raises(RemoteError, match="page token came back"):
            list(client.list_data(PROJECT))
    assert calls == [None, "again"]


def test_ids_are_quoted_into_the_url_path():
    with IcaStandIn(lambda path, query, headers: (200, project_data()[0])) as server:
        client = IcaClient(server.url, KEY)
        client.get_data("p/../x", "fil.1?pageSize=1")
    assert server.requests[0][0] == "/ica/rest/api/projects/p%2F..%2Fx/data/fil.1%3FpageSize%3D1"


@pytest.mark.parametrize("body", [[1, 2], "text"])
def test_a_body_that_is_not_a_json_object_is_one_clear_error(body):
    with IcaStandIn(lambda path, query, headers: (200, body)) as server:
        client = IcaClient(server.url, KEY)
        with pytest.raises(RemoteError, match="not a JSON object; check --ica-server"):
            list(client.list_data(PROJECT))


def test_a_redirect_never_carries_the_key_to_another_host():
    with IcaStandIn(lambda path, query, headers: (200, {"items": []})) as elsewhere:
        def route(path: str, query: dict, headers: dict) -> tuple[int, dict, dict]:
            return 302, {}, {"Location": f"{elsewhere.url}{path}"}

        with IcaStandIn(route) as server:
            client = IcaClient(server.url, KEY, sleep=lambda seconds: pytest.fail("must not retry"))
            with pytest.raises(RemoteError, match=r"redirected \(HTTP 302\) to http://127\.0\.0\.1:\d+/ica/rest"):
                list(client.list_data(PROJECT))
    assert len(server.requests) == 1
    assert all(headers.get("x-api-key") != KEY for _path, _query, headers in elsewhere.requests)


def by_id(path: str, query: dict, headers: dict) -> tuple[int, dict]:
    """Answer ``GET .../data/{dataId}`` with that item, or ICA's 404 for an id the project lacks."""
    refused = unauthorized(headers)
    if refused:
        return refused
    wanted = path.rsplit("/", 1)[1]
    item = next((i for i in project_data() if i["data"]["id"] == wanted), None)
    if not path.startswith(DATA_PATH + "/") or item is None:
        return 404, {"title": "Not Found", "status": 404, "detail": f"no data {wanted}"}
    return 200, item["data"]  # GET /data/{dataId} returns a Data object, not a ProjectData item


def test_data_ids_are_fetched_one_by_one_and_an_unknown_id_does_not_stop_the_others(local_root, tmp_path):
    report = tmp_path / "report.json"
    ids = ["fil.0001", "fil.9999", "fil.0004", "fol.0001", "fil.0006", "fil.0001"]
    with IcaStandIn(by_id) as server:
        done = cli_with_key("verify", local_root, "--against", f"ica://{PROJECT}/fastq", "--ica-server", server.url,
                            *(arg for data_id in ids for arg in ("--ica-data-id", data_id)), "--report", report)
    found = {e["path"]: e for e in json.loads(report.read_text())["files"]}
    assert {p: e["verdict"] for p, e in found.items()} == {
        "S1_R1.fastq.gz": "OK", "S2_R2.fastq.gz": "MISMATCH", "S3_R2.fastq.gz": "MISSING_LOCAL",
        "fil.9999": "MANIFEST_ERROR", "fol.0001": "MANIFEST_ERROR"}        # S9_R1 and unnamed files not judged
    assert found["S1_R1.fastq.gz"]["actual"]["etag_part_size"] == PART_SIZES["S1_R1.fastq.gz"]
    assert found["S1_R1.fastq.gz"]["source"] == "fil.0001"
    assert "no such data id" in found["fil.9999"]["hint"] and "HTTP 404" in found["fil.9999"]["hint"]
    assert "a folder, not a file" in found["fol.0001"]["hint"]
    assert [path for path, _query, _headers in server.requests] == [
        f"{DATA_PATH}/{data_id}" for data_id in dict.fromkeys(ids)]          # each id once, no listing
    stderr = done.stderr.decode()
    assert [line for line in stderr.splitlines() if "fil.9999" in line] == [
        f"seqfixity: fil.9999: no such data id in project {PROJECT} (HTTP 404): check the id (ICA file ids look "
        "like fil.…)"]
    assert done.returncode == Verdict.MISMATCH.bit | Verdict.MISSING.bit | Verdict.MANIFEST_ERROR.bit
    assert_key_absent(done, report)


def test_data_ids_need_an_ica_source_and_a_wrong_key_stops_at_once(local_root, tmp_path):
    usage = cli_with_key("verify", local_root, "--against", "s3://bucket/run", "--ica-data-id", "fil.0001")
    assert usage.returncode == 128 and "--ica-data-id: needs --against ica://" in usage.stderr.decode()
    with IcaStandIn(by_id) as server:
        done = cli_with_key("verify", local_root, "--against", f"ica://{PROJECT}", "--ica-server", server.url,
                            "--ica-data-id", "fil.0001", "--ica-data-id", "fil.0002", key="wrong-key-0000")
    assert done.returncode == Verdict.MANIFEST_ERROR.bit and len(server.requests) == 1
    assert "rejected the API key (HTTP 401)" in done.stderr.decode()


def test_help_documents_data_ids():
    done = run_cli("verify", "--help")
    assert b"--ica-data-id ID" in done.stdout and b"fil.123" in done.stdout
