"""The parallel ranged reader on its own: objects of every size in random order, served by a flaky in-memory
store, give hashlib's digests; the buffers held never exceed the pool; a failing object does not stop the rest."""

from __future__ import annotations

import hashlib
import io
import random
import threading

import pytest
import xxhash

from seqfixity.engine.etag import ETagHasher
from seqfixity.engine.hashes import DIGEST_KINDS
from seqfixity.remote.fetch import HttpStatus, ObjectError, ObjectRead, Response, RetryPolicy, Transient, fetch_range
from seqfixity.remote.stream import RemoteJob, RemoteReader, split_ranges

KiB = 1024


class Flaky:
    """An in-memory object whose responses break at random: dropped bodies, 503s, wrong ranges, long bodies."""

    def __init__(self, data: bytes, rng: random.Random, fail: float) -> None:
        self.data, self.rng, self.fail = data, rng, fail
        self.lock = threading.Lock()

    def open(self, start: int, end: int, whole: bool) -> Response:
        with self.lock:
            roll = self.rng.random()
            kind = self.rng.choice(["drop", "503", "shifted", "long", "connect"]) if roll < self.fail else None
        if kind == "503":
            raise HttpStatus(503)
        if kind == "connect":
            raise Transient("cannot connect: refused")
        body = self.data[start:end]
        content_range = "" if whole else f"bytes {start}-{end - 1}/{len(self.data)}"
        if kind == "shifted" and end > start + 1:
            content_range = f"bytes {start + 1}-{end - 1}/{len(self.data)}"
            body = body[1:]
        if kind == "long":
            body += b"more"
        stream = io.BytesIO(body[:len(body) // 2] if kind == "drop" else body)
        return Response(_Breaking(stream, kind == "drop"), len(body), content_range)

    def renew(self) -> bool:
        return False


class _Breaking:
    def __init__(self, stream: io.BytesIO, breaks: bool) -> None:
        self.stream, self.breaks = stream, breaks

    def read(self, count: int) -> bytes:
        piece = self.stream.read(count)
        if not piece and self.breaks:
            raise ConnectionResetError("peer went away")
        return piece

    def close(self) -> None:
        pass


def no_wait(seconds: float) -> None:
    pass


@pytest.mark.parametrize("threads", [1, 2])
def test_random_objects_through_a_flaky_store_give_hashlib_digests(threads, md5_backend):
    rng = random.Random(threads)
    sizes = [0, 1, 7, 64 * KiB, 64 * KiB + 1, 300 * KiB, 1000 * KiB + 3] + [rng.randrange(1, 900 * KiB)
                                                                          for _ in range(20)]
    rng.shuffle(sizes)
    blobs = [rng.randbytes(size) for size in sizes]
    held: list[int] = []
    policy = RetryPolicy(retries=50, backoff=0, sleep=no_wait)

    def prepare(index: int) -> RemoteJob:
        md5, etag, xxh = DIGEST_KINDS["md5"].new(), ETagHasher(100 * KiB), DIGEST_KINDS["xxh128"].new()
        hashers[index] = (md5, etag, xxh)
        read = ObjectRead(f"obj{index}", len(blobs[index]), "", Flaky(blobs[index], rng, 0.3), policy)
        return RemoteJob(read, [(md5, 1.0), (etag, 1.0), (xxh, 0.06)])

    hashers: dict[int, tuple] = {}
    reader = RemoteReader(list(range(len(blobs))), prepare, connections=4, threads=threads, on_bytes=None,
                          range_size=64 * KiB, buffers=5)
    original_next = reader._next_range

    def watched():
        task = original_next()
        held.append(len(reader.pool) - len(reader.free))
        return task

    reader._next_range = watched
    seen = []
    for index, _job, error in reader:
        assert error is None, error
        md5, etag, xxh = hashers[index]
        data = blobs[index]
        assert md5.result() == hashlib.md5(data).hexdigest()
        parts = [hashlib.md5(data[i:i + 100 * KiB]).digest() for i in range(0, max(1, len(data)), 100 * KiB)]
        assert etag.hexdigest() == f"{hashlib.md5(b''.join(parts)).hexdigest()}-{len(parts)}"
        assert xxh.result() == xxhash.xxh3_128(data).hexdigest()
        seen.append(index)
    assert seen == list(range(len(blobs)))  # in the order given
    assert len(reader.pool) <= 5 and max(held) <= 5  # memory: the pool, whatever the objects' sizes
    assert sorted(reader.free) == list(range(len(reader.pool)))  # and every buffer came back


def test_a_failing_object_is_its_own_outcome_and_the_others_go_on():
    data = random.Random(1).randbytes(200 * KiB)

    class Gone(Flaky):
        def open(self, start, end, whole):
            raise HttpStatus(404)

    readers = [Flaky(data, random.Random(2), 0), Gone(data, random.Random(3), 0), Flaky(data, random.Random(4), 0)]
    md5s = [DIGEST_KINDS["md5"].new() for _ in readers]

    def prepare(index: int) -> RemoteJob:
        return RemoteJob(ObjectRead(f"obj{index}", len(data), "", readers[index]), [(md5s[index], 1.0)])

    outcomes = list(RemoteReader([0, 1, 2], prepare, 2, 2, None, 16 * KiB, 3))
    assert [type(error).__name__ if error else None for _, _, error in outcomes] == [None, "ObjectError", None]
    assert outcomes[1][2].missing
    assert md5s[0].result() == md5s[2].result() == hashlib.md5(data).hexdigest()


def test_retries_run_out_with_the_byte_where_they_stopped():
    data = b"x" * 1000

    class Always503(Flaky):
        def open(self, start, end, whole):
            raise HttpStatus(503, retry_after=7)

    waits = []
    read = ObjectRead("obj", len(data), "", Always503(data, random.Random(1), 0), RetryPolicy(3, 0.1, 30, waits.append))
    with pytest.raises(ObjectError, match=r"read failed 4 times at byte 0 \(HTTP 503\)"):
        fetch_range(read, 0, 1000, memoryview(bytearray(1000)))
    assert [round(w) for w in waits] == [7, 7, 7]  # Retry-After wins over the backoff


def test_ranges_cover_the_object_once():
    assert split_ranges(0, 10) == [(0, 0)]
    assert split_ranges(25, 10) == [(0, 10), (10, 20), (20, 25)]
    assert split_ranges(20, 10) == [(0, 10), (10, 20)]


@pytest.mark.parametrize("form", ["seconds", "http-date"])
def test_retry_after_in_either_form_of_rfc_9110_is_waited_for(form):
    """``Retry-After`` is delay-seconds or an HTTP-date (RFC 9110, section 10.2.3); both set the wait, through a
    real download host (a loopback server answering 429 once) and the URL reader ICA's downloads use."""
    import email.utils
    import time

    import requests

    from seqfixity.remote.fetch import UrlRanges
    from servers import LoopbackServer, Reply

    data = random.Random(7).randbytes(3000)
    answers: list[int] = []

    def answer(request):
        if not answers:
            answers.append(429)
            later = email.utils.formatdate(time.time() + 120, usegmt=True)
            return Reply(429, b"slow down", {"Retry-After": "120" if form == "seconds" else later})
        answers.append(200)
        return Reply(200, data, {"ETag": f'"{hashlib.md5(data).hexdigest()}"'})

    waits: list[float] = []
    with LoopbackServer(answer) as host:
        reader = UrlRanges(requests.Session(), lambda renew: f"{host.url}/object", name="object")
        read = ObjectRead("object", len(data), hashlib.md5(data).hexdigest(), reader,
                          RetryPolicy(retries=2, backoff=0.0, max_backoff=600.0, sleep=waits.append))
        view = memoryview(bytearray(len(data)))
        fetch_range(read, 0, len(data), view)
    assert bytes(view) == data and answers == [429, 200]
    assert len(waits) == 1 and 100 <= waits[0] <= 120, waits  # the server's wait, not the backoff's 0


def test_retry_after_forms():
    from seqfixity.remote.fetch import retry_after

    now = 1_800_000_000.0
    assert retry_after("7") == 7.0 and retry_after("") is None and retry_after("soon") is None
    assert retry_after("Fri, 15 Jan 2027 08:00:30 GMT", now=1_800_000_000.0) == 30.0  # 1800000000 is 08:00:00
    assert retry_after("Fri, 15 Jan 2027 07:00:00 GMT", now=now) == 0.0  # a date past: no wait
