"""Shared fixtures: run the CLI from this checkout's sources, make random files."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SRC = REPO / "src"


def cli_env() -> dict[str, str]:
    """The environment for running this checkout's ``seqfixity`` as a subprocess."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH", "")]))
    return env


def run_cli(*args: str | os.PathLike[str], cwd: str | os.PathLike[str] | None = None,
            input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run ``python -m seqfixity ARGS`` from this checkout; return the completed process (bytes)."""
    return subprocess.run([sys.executable, "-m", "seqfixity", *map(os.fspath, args)], cwd=cwd, env=cli_env(),
                          input=input, capture_output=True, timeout=600)


def run_cli_on_terminal(*args: str | os.PathLike[str], cwd: str | os.PathLike[str] | None = None
                        ) -> tuple[bytes, bytes]:
    """Run ``python -m seqfixity ARGS`` with stderr on a pseudo-terminal (80 columns); return (stdout, stderr)."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    process = subprocess.Popen([sys.executable, "-m", "seqfixity", *map(os.fspath, args)], cwd=cwd, env=cli_env(),
                               stdout=subprocess.PIPE, stderr=follower)
    os.close(follower)
    output = process.stdout.read()
    process.wait(60)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    return output, seen


@pytest.fixture
def cli():
    """The :func:`run_cli` helper as a fixture."""
    return run_cli


@contextlib.contextmanager
def md5_backend_set(name: str) -> Iterator[str]:
    """Run the block (in-process, and any CLI it starts) on MD5 backend ``name``; restore the choice after."""
    from seqfixity.engine import lanes

    saved = os.environ.get(lanes.BACKEND_ENV)
    os.environ[lanes.BACKEND_ENV] = name
    lanes.backend.cache_clear()
    try:
        yield name
    finally:
        if saved is None:
            os.environ.pop(lanes.BACKEND_ENV, None)
        else:
            os.environ[lanes.BACKEND_ENV] = saved
        lanes.backend.cache_clear()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test that takes ``md5_backend`` runs once per MD5 backend this machine has (scalar always)."""
    from seqfixity.engine import lanes

    if "md5_backend" in metafunc.fixturenames:
        metafunc.parametrize("md5_backend", lanes.available_backends(), indirect=True)
    if "simd_backend" in metafunc.fixturenames:
        metafunc.parametrize("simd_backend", lanes.available_backends()[:-1], indirect=True)


@pytest.fixture
def md5_backend(request) -> Iterator[str]:
    """The MD5 backend this run of the test uses (see :func:`pytest_generate_tests`)."""
    with md5_backend_set(request.param) as name:
        yield name


@pytest.fixture
def simd_backend(request) -> Iterator[str]:
    """Each backend of the compiled core this machine has (not scalar)."""
    with md5_backend_set(request.param) as name:
        yield name


def write_random(path: Path, size: int, seed: int = 0) -> Path:
    """Write ``size`` deterministic pseudo-random bytes to ``path``."""
    import random

    path.write_bytes(random.Random(seed).randbytes(size))
    return path


def report_bytes(folder: Path) -> dict[str, bytes]:
    """Every report of a workflow run; summary.json and report.html without their throughput (a timing, different
    on each run)."""
    import json

    results = folder / "results"
    reports = {str(p.relative_to(results)): p.read_bytes() for p in results.rglob("*")
               if p.is_file() and "logs" not in p.parts and ".seqfixity" not in p.parts}
    summary = json.loads(reports.pop("summary.json"))
    summary.pop("throughput")
    reports["summary.json"] = json.dumps(summary, sort_keys=True).encode()
    reports["report.html"] = without_throughput(reports["report.html"])
    return reports


def without_throughput(page: bytes) -> bytes:
    """report.html without its throughput section (between ``<!-- throughput -->`` markers)."""
    import re

    stripped, count = re.subn(rb"<!-- throughput -->.*?<!-- /throughput -->", b"", page, flags=re.DOTALL)
    assert count == 1, "report.html has no throughput section"
    return stripped
