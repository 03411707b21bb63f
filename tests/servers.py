"""Real servers on 127.0.0.1 for the verify tests: moto's S3 server and a small ICA API stand-in."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

S3_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


@contextlib.contextmanager
def s3_env() -> Iterator[None]:
    """Set :data:`S3_ENV` (dummy credentials, region) for the CLI subprocesses; restore the old values after."""
    saved = {name: os.environ.get(name) for name in S3_ENV}
    os.environ.update(S3_ENV)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def moto_s3() -> Iterator[str]:
    """Start ``moto_server`` on a free loopback port; yield its endpoint URL; stop it afterwards.

    The AWS variables the CLI subprocess reads (dummy credentials, region) are
    set for the module and restored afterwards.
    """
    executable = shutil.which("moto_server")
    if executable is None:
        pytest.fail("moto_server is not installed: pip install 'moto[server]' (the test extra)")
    port = free_port()
    process = subprocess.Popen([executable, "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(endpoint, timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"moto_server did not start on {endpoint}")
                time.sleep(0.1)
        with s3_env():
            yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


class _Served:
    """A ThreadingHTTPServer on a free loopback port, served from a thread while in a ``with`` block."""

    def serve(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


class IcaStandIn(_Served):
    """A loopback HTTP server answering like ICA's REST API; ``route`` decides each response.

    ``route(path, query, headers)`` returns ``(status, body dict)`` or ``(status, body, extra headers)``. Every request
    is recorded in ``requests`` as ``(path, query, headers)``.
    """

    def __init__(self, route: Callable[[str, dict, dict], tuple[int, dict]]) -> None:
        self.route = route
        self.requests: list[tuple[str, dict, dict]] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                parsed = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
                headers = {k.lower(): v for k, v in self.headers.items()}
                stand_in.requests.append((parsed.path, query, headers))
                status, body, *extra = stand_in.route(parsed.path, query, headers)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/vnd.illumina.v3+json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (extra[0] if extra else {}).items():
                    self.send_header(name, value)
                if status == 429:
                    self.send_header("Retry-After", "0")
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.serve(Handler)


@dataclass
class Request:
    """One request a :class:`LoopbackServer` received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    target: str = ""  # the path with its query, as sent


class Reply:
    """How a :class:`LoopbackServer` answers: a status, headers and a body, optionally cut off mid-body.

    ``cut`` sends only the first ``cut`` bytes of the body and then drops the connection (the headers still
    announce the whole body), as a network failure mid-transfer does.
    """

    def __init__(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None,
                 cut: int | None = None) -> None:
        self.status, self.body, self.headers, self.cut = status, body, dict(headers or {}), cut

    def send(self, handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(self.status)
        headers = {"Content-Length": str(len(self.body)), **self.headers}
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        if handler.command == "HEAD":
            return
        if self.cut is None:
            handler.wfile.write(self.body)
            return
        handler.wfile.write(self.body[:self.cut])
        handler.wfile.flush()
        handler.close_connection = True
        with contextlib.suppress(OSError):
            handler.connection.shutdown(socket.SHUT_RDWR)


class LoopbackServer(_Served):
    """A threaded HTTP server on 127.0.0.1; ``answer(request)`` returns the :class:`Reply` to each request.

    Every request is kept in ``requests`` (method, path, query, headers, body), so tests can say what reached
    this host and what never did.
    """

    def __init__(self, answer: Callable[[Request], Reply]) -> None:
        self.answer = answer
        self.requests: list[Request] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                parsed = urlparse(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                query = {k: v[0] for k, v in parse_qs(parsed.query, keep_blank_values=True).items()}
                request = Request(self.command, parsed.path, query, {k.lower(): v for k, v in self.headers.items()},
                                  body, self.path)
                server.requests.append(request)
                server.answer(request).send(self)

            do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _serve  # noqa: N815 (http.server's names)

            def log_message(self, *args) -> None:
                pass

        self.serve(Handler)


def forward(upstream: str, request: Request) -> Reply:
    """Send ``request`` on to ``upstream`` (moto_server) and return its answer, whole."""
    import http.client

    host = urlparse(upstream)
    connection = http.client.HTTPConnection(host.hostname, host.port, timeout=60)
    try:
        connection.request(request.method, request.target, body=request.body or None,
                           headers={k: v for k, v in request.headers.items() if k not in ("connection",)})
        response = connection.getresponse()
        body = response.read()
        dropped = ("connection", "transfer-encoding", "server", "date") + (() if request.method == "HEAD" else
                                                                           ("content-length",))
        headers = {k: v for k, v in response.getheaders() if k.lower() not in dropped}
        return Reply(response.status, body, headers)
    finally:
        connection.close()
