"""The multi-lane MD5 core against hashlib, on every backend this machine has (scalar always)."""

from __future__ import annotations

import hashlib
import os
import platform
import random
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import REPO, run_cli
from seqfixity.engine import lanes
from seqfixity.engine.etag import ETagHasher

BOUNDARIES = sorted({n + d for n in (0, 55, 56, 64, 119, 120, 128, 183, 184, 192) for d in (-1, 0, 1) if n + d >= 0})


def feed_all(datas: list[bytes], rng: random.Random, max_chunk: int) -> list[lanes.Md5Stream]:
    """Feed every message to its own stream in random chunks, a random subset of streams per call."""
    streams = [lanes.Md5Stream() for _ in datas]
    positions = [0] * len(datas)
    while any(p < len(d) for p, d in zip(positions, datas, strict=True)):
        pairs = []
        for index, data in enumerate(datas):
            if positions[index] < len(data) and rng.random() < 0.7:
                size = rng.randint(0, max_chunk)
                pairs.append((streams[index], memoryview(data)[positions[index]:positions[index] + size]))
                positions[index] += size
        lanes.feed(pairs)
    return streams


def test_every_length_to_300_and_padding_boundaries(md5_backend):
    data = random.Random(1).randbytes(400)
    lengths = [*range(301), *BOUNDARIES]
    streams = [lanes.Md5Stream() for _ in lengths]
    lanes.feed([(stream, data[:n]) for stream, n in zip(streams, lengths, strict=True)])
    for stream, n in zip(streams, lengths, strict=True):
        assert stream.digest() == hashlib.md5(data[:n]).digest(), n


def test_random_chunkings_and_lanes_finishing_at_different_times(md5_backend):
    rng = random.Random(7)
    for _ in range(60):
        # more streams than lanes, of very different lengths: lanes empty and are refilled mid-flight
        datas = [rng.randbytes(rng.choice([0, 1, 63, 64, 65, rng.randint(0, 300), rng.randint(0, 20_000)]))
                 for _ in range(rng.randint(1, 40))]
        for stream, data in zip(feed_all(datas, rng, 3000), datas, strict=True):
            assert stream.digest() == hashlib.md5(data).digest()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(size=st.integers(0, 6 * 1024 * 1024), cuts=st.lists(st.integers(0, 6 * 1024 * 1024), max_size=8))
def test_large_streams_in_any_chunking(md5_backend, size, cuts):
    data = random.Random(size).randbytes(size)
    stream = lanes.Md5Stream()
    start = 0
    for cut in sorted(c for c in cuts if c <= size):
        stream.update(memoryview(data)[start:cut])
        start = cut
    stream.update(data[start:])
    assert stream.hexdigest() == hashlib.md5(data).hexdigest()


def test_one_buffer_shared_by_many_streams(md5_backend):
    """The etag-guess pattern: every candidate stream reads the same bytes, at different offsets."""
    data = random.Random(3).randbytes(5000)
    offsets = list(range(0, 70, 3))
    streams = [lanes.Md5Stream() for _ in offsets]
    view = memoryview(data)
    lanes.feed([(s, view[o:]) for s, o in zip(streams, offsets, strict=True)])
    lanes.feed([(s, view) for s in streams])
    for stream, offset in zip(streams, offsets, strict=True):
        assert stream.digest() == hashlib.md5(data[offset:] + data).digest()


def test_etag_parts_side_by_side_equal_the_naive_reference(md5_backend):
    rng = random.Random(11)
    for _ in range(40):
        data = rng.randbytes(rng.randint(0, 20_000))
        part = rng.randint(1, 3000)
        hasher = ETagHasher(part)
        position = 0
        while position < len(data):  # chunks that span several parts feed them together
            size = rng.randint(1, 9000)
            hasher.update(data[position:position + size])
            position += size
        digests = [hashlib.md5(data[i:i + part]).digest() for i in range(0, len(data), part)]
        digests = digests or [hashlib.md5().digest()]
        assert hasher.hexdigest() == f"{hashlib.md5(b''.join(digests)).hexdigest()}-{len(digests)}"


def test_a_stream_given_twice_in_one_call_is_refused(simd_backend):
    stream = lanes.Md5Stream()
    with pytest.raises(ValueError, match="twice"):
        lanes.feed([(stream, b"a"), (stream, b"b")])


def test_the_core_releases_the_gil(simd_backend):
    data = bytes(256 << 20)
    ticks = 0
    done = threading.Event()

    def count() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1

    streams = [lanes.Md5Stream() for _ in range(lanes.width())]
    counter = threading.Thread(target=count)
    counter.start()
    time.sleep(0.05)
    before = ticks
    started = time.perf_counter()
    lanes.feed([(s, data) for s in streams])
    elapsed = time.perf_counter() - started
    during = ticks - before
    done.set()
    counter.join()
    # with the GIL held during the call the counter would stand still for the whole of it
    assert elapsed > 0.05 and during > 1000, (elapsed, during)


def test_compiled_core_is_built_where_it_can_be():
    """Installed with gcc and the Python headers on x86-64, the core is there: never a silent fallback."""
    if platform.machine() not in ("x86_64", "AMD64") or shutil.which("gcc") is None:
        pytest.skip("the compiled core is built where gcc and an x86-64 CPU are")
    assert lanes.compiled(), "seqfixity.engine._md5lanes is not built: pip install -e . (needs gcc, python3-dev)"
    flags = Path("/proc/cpuinfo").read_text() if os.path.exists("/proc/cpuinfo") else ""
    expected = [name for name, flag in (("avx512", " avx512f"), ("avx2", " avx2")) if flag in flags]
    assert lanes.available_backends() == [*expected, "scalar"]


def test_version_names_the_backend_and_a_missing_one_is_one_clear_error():
    version = run_cli("--version")
    assert version.returncode == 0
    assert f"MD5 backend: {lanes.available_backends()[0]}" in version.stdout.decode()
    env_before = os.environ.get(lanes.BACKEND_ENV)
    try:
        os.environ[lanes.BACKEND_ENV] = "sse9"
        bad = run_cli("hash", "--quiet", sys.executable)
        assert bad.returncode == 128 and bad.stdout == b""
        assert bad.stderr.decode().strip().splitlines() == [
            "seqfixity: SEQFIXITY_MD5_BACKEND=sse9: not a backend (choose from auto, scalar, avx2, avx512)"]
        os.environ[lanes.BACKEND_ENV] = "scalar"
        forced = run_cli("--version")
        assert "MD5 backend: scalar" in forced.stdout.decode()
    finally:
        if env_before is None:
            os.environ.pop(lanes.BACKEND_ENV, None)
        else:
            os.environ[lanes.BACKEND_ENV] = env_before


def test_a_backend_the_cpu_lacks_is_refused(monkeypatch):
    if not lanes.compiled():
        pytest.skip("needs the compiled core")
    monkeypatch.setattr(lanes._md5lanes, "backends", lambda: ["avx2", "c"])
    monkeypatch.setenv(lanes.BACKEND_ENV, "avx512")
    lanes.backend.cache_clear()
    try:
        with pytest.raises(lanes.BackendError, match="this CPU lacks AVX-512; available here: avx2, scalar"):
            lanes.backend()
    finally:
        monkeypatch.undo()
        lanes.backend.cache_clear()


def _reference(data: bytes, part_size: int) -> str:
    parts = [hashlib.md5(data[i:i + part_size]).digest() for i in range(0, len(data), part_size)] or [
        hashlib.md5().digest()]
    return f"{hashlib.md5(b''.join(parts)).hexdigest()}-{len(parts)}"


def test_many_files_read_in_turns_give_hashlibs_digests_in_order(md5_backend, tmp_path):
    """More files than lanes, of sizes that end at different rounds, with failures among them."""
    import xxhash

    from seqfixity.engine.digest import hash_files
    from seqfixity.settings import Settings

    rng = random.Random(21)
    sizes = [0, 1, 63, 64, 65, 1 << 20, (1 << 20) + 1, 3 << 20, (9 << 20) + 7, *(rng.randint(0, 300_000)
                                                                               for _ in range(40))]
    paths = []
    for index, size in enumerate(sizes):
        path = tmp_path / f"f{index:03d}.bin"
        path.write_bytes(rng.randbytes(size))
        paths.append(str(path))
    (tmp_path / "folder").mkdir()
    order = paths[:5] + [str(tmp_path / "gone"), str(tmp_path / "folder")] + paths[5:]
    settings = Settings(digests=("md5", "etag", "xxh128"), part_size=5 << 20, threshold=5 << 20)
    for jobs in (1, 2, 3):
        records = list(hash_files(order, settings, jobs=jobs))
        assert [r.path for r in records] == order
        assert [r.error_kind for r in records][5:7] == ["missing", "unreadable"]
        for record in records:
            if not record.ok:
                continue
            data = Path(record.path).read_bytes()
            assert record.digests["md5"] == hashlib.md5(data).hexdigest(), record.path
            assert record.digests["xxh128"] == xxhash.xxh3_128_hexdigest(data)
            expected = _reference(data, 5 << 20) if len(data) >= 5 << 20 else hashlib.md5(data).hexdigest()
            assert record.digests["etag"] == expected, record.path


def test_a_file_that_changes_among_many_gives_no_digest_and_the_others_do(md5_backend, tmp_path, monkeypatch):
    from seqfixity.engine import reading
    from seqfixity.engine.digest import hash_files
    from seqfixity.settings import Settings

    paths = [str(write(tmp_path / f"f{i}.bin", 200_000 + i)) for i in range(12)]
    real = reading.check_unchanged

    def grow_then_check(path, handle, before, total):  # f3 is appended to just before its last check
        if path.endswith("f3.bin"):
            with open(path, "ab") as out:
                out.write(b"late")
        return real(path, handle, before, total)

    for module in ("seqfixity.engine.group", "seqfixity.engine.digest"):
        monkeypatch.setattr(f"{module}.check_unchanged", grow_then_check, raising=False)
    records = list(hash_files(paths, Settings(digests=("md5",)), jobs=2))
    assert [r.error_kind for r in records].count("changed") == 1 and records[3].error_kind == "changed"
    assert all(r.digests["md5"] == hashlib.md5(Path(r.path).read_bytes()).hexdigest() for r in records if r.ok)


def write(path: Path, size: int) -> Path:
    path.write_bytes(random.Random(size).randbytes(size))
    return path


def test_a_wheel_built_from_the_sources_carries_the_compiled_core(tmp_path):
    """pip builds the core from the C source (nothing downloaded but setuptools), and the installed wheel runs it."""
    if platform.machine() not in ("x86_64", "AMD64") or shutil.which("gcc") is None:
        pytest.skip("the compiled core is built where gcc and an x86-64 CPU are")
    source = tmp_path / "src"
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for name in filter(None, tracked.decode().split("\0")):  # the tracked files only: no in-place .so
        target = source / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", tmp_path / "wheels",
                            source], capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr
    wheel = next((tmp_path / "wheels").glob("seqfixity-*.whl"))
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                                tmp_path / "site", wheel], capture_output=True, text=True, timeout=600)
    assert installed.returncode == 0, installed.stderr
    probe = subprocess.run([sys.executable, "-c", "from seqfixity.engine import lanes; print(lanes.describe())"],
                           env={**os.environ, "PYTHONPATH": str(tmp_path / "site")}, cwd=tmp_path,
                           capture_output=True, text=True, timeout=60)
    assert "compiled core built" in probe.stdout and str(tmp_path / "site") in subprocess.run(
        [sys.executable, "-c", "import seqfixity; print(seqfixity.__file__)"], capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(tmp_path / "site")}, cwd=tmp_path).stdout, probe.stdout + probe.stderr


def test_guess_reads_a_large_file_in_two_halves_and_every_candidate_equals_the_reference(md5_backend, tmp_path):
    from seqfixity.engine.etag import parse_etag
    from seqfixity.engine.guess import guess_part_size

    mib = 1 << 20
    data = random.Random(5).randbytes(41 * mib + 12345)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    truth = 30 * mib  # a -2: the candidates run from 20.5 to 41 MiB, some cut past the middle, some at the end
    result = guess_part_size(path, parse_etag(_reference(data, truth)), limit=24)
    assert result.matched == [truth] and len(result.tried) == 24
    for part_size, etag in result.computed.items():  # candidates whose boundary past the middle is the end too
        assert etag == _reference(data, part_size), part_size


def test_guess_shares_the_first_parts_and_every_candidate_of_several_parts_equals_the_reference(md5_backend,
                                                                                                tmp_path):
    """The candidates' first parts come from one stream with a digest at each part size, block-aligned or not
    (the Go SDK's sizes are not whole MiB): every candidate's ETag, for -3, -4 and -7, equals hashlib's."""
    from seqfixity.engine.etag import parse_etag
    from seqfixity.engine.guess import guess_part_size

    mib = 1 << 20
    data = random.Random(6).randbytes(47 * mib + 777)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    for parts, truth in ((3, 20 * mib), (4, 12 * mib + 1), (7, 7 * mib)):
        low = -(-len(data) // parts)
        odd = [low, low + 1, low + 63, low + 64, low + 65, truth, *(low + k * 4099 for k in range(1, 12))]
        result = guess_part_size(path, parse_etag(_reference(data, truth)), candidates=odd)
        assert truth in result.matched and len(result.tried) >= 16, parts
        for part_size, etag in result.computed.items():
            assert etag == _reference(data, part_size), (parts, part_size)


def test_an_etag_only_read_at_part_offsets_equals_the_naive_reference(md5_backend, tmp_path, monkeypatch):
    """An ETag-only read has its parts read at their offsets, up to a lane each: every layout (a part count
    below and above the lane width, a last part short by one byte or whole) equals hashlib part by part."""
    from seqfixity.engine import digest
    from seqfixity.engine.digest import hash_files
    from seqfixity.settings import Settings

    calls = []
    real = digest.part_digests_at_offsets
    monkeypatch.setattr(digest, "part_digests_at_offsets", lambda *args: calls.append(args) or real(*args))

    part = 5 << 20  # the smallest part S3 allows; as large a part as a window holds no more than 4 of (64 MiB)
    for parts, tail in ((4, 0), (5, 1), (17, part - 1), (40, 12345)):
        path = write(tmp_path / f"f{parts}.bin", (parts - 1) * part + (tail or part))
        for part_size in (part, 17 << 20):
            settings = Settings(digests=("etag",), part_size=part_size, threshold=part)
            for jobs in (1, 2):
                [record] = hash_files([str(path)], settings, jobs=jobs)
                assert record.digests["etag"] == _reference(path.read_bytes(), part_size), (parts, part_size)
                assert record.etag_parts == -(-path.stat().st_size // part_size)
    assert bool(calls) == (md5_backend != "scalar")  # hashlib's MD5 gains nothing from lanes: read in order


def test_parts_read_at_offsets_of_a_file_cut_short_while_read_give_no_digest(simd_backend, tmp_path, monkeypatch):
    from seqfixity.engine import offsets
    from seqfixity.engine.reading import identity
    from seqfixity.errors import FileChangedError

    path = write(tmp_path / "f.bin", 24 << 20)
    real = offsets.open_checked

    def open_then_cut(name, before):  # the file is cut short once it is open: its last parts end early
        handle = real(name, before)
        os.truncate(name, 20 << 20)
        return handle

    monkeypatch.setattr(offsets, "open_checked", open_then_cut)
    with pytest.raises(FileChangedError, match="changed while being read"):
        offsets.part_digests_at_offsets(str(path), identity(path.stat()), 5 << 20)


def test_files_handed_to_an_idle_worker_are_taken_by_it_not_back_by_the_giver():
    from seqfixity.engine.group import _Shared

    shared = _Shared(iter([]), workers=2)
    assert shared.next_item() is None and shared.exhausted
    handed = [object(), object()]
    shared.hand_over(0, handed)
    assert shared.take_over(0) is None                   # the giver cannot take them back
    assert {id(shared.take_over(1)), id(shared.take_over(1))} == {id(f) for f in handed}
    assert shared.take_over(1) is None
