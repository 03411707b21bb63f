"""Digests of remote objects from one streamed read each, confirmed against the object's own ETag and checksums.

Each object gets the hashers a local file of its size would (:func:`~seqfixity.engine.digest.plan_sized`),
with the ETag at the object's own part layout when the store tells it (S3's ``PartNumber=1``), plus what it
takes to judge the bytes against the object's own metadata (:class:`~seqfixity.remote.verify.RemotePlan`:
its ETag, at the exact part size or at the likely ones, and every additional checksum it carries), all fed
from the same bytes. A read whose bytes do not reproduce the object's own ETag or checksum is read once
more; if it still differs, the object's record is an error (``error_kind`` ``mismatch``) and its digests
are never given. An object whose metadata cannot confirm the read (an SSE-KMS ETag, an ICA multipart ETag
that no likely part size reproduces) keeps its digests, with the reason in ``note``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from seqfixity.engine.digest import FileJob, SinkFactory, failed_record, plan_sized
from seqfixity.engine.etag import ETagHasher, EtagLayout
from seqfixity.engine.reading import FileIdentity, ProgressCallback
from seqfixity.errors import InputError
from seqfixity.record import FileRecord
from seqfixity.remote.fetch import ObjectRead, RetryPolicy
from seqfixity.remote.locations import RemoteFile, RemoteOptions
from seqfixity.remote.stream import MAX_ACTIVE, RemoteJob, read_remote
from seqfixity.remote.verify import RemotePlan
from seqfixity.settings import Settings
from seqfixity.verdict import Verdict

CONFIRMED, UNCONFIRMED = "confirmed", "unconfirmed"


@dataclass
class RemoteOutcome:
    """One object's read: its record (``record.ok``, or the error), its sinks, and what its own metadata said.

    ``confirmed`` is :data:`CONFIRMED` when the object's ETag or a checksum reproduced, :data:`UNCONFIRMED`
    when nothing could (``note`` says why), "" when the record is an error. ``retried`` counts the ranges
    asked again and ``reread`` whether the whole object was read twice.
    """

    file: RemoteFile
    record: FileRecord
    sinks: list[tuple[Any, float]] = field(default_factory=list)
    confirmed: str = ""
    note: str = ""
    reread: bool = False


@dataclass
class _Planned:
    """A prepared read: the engine's job (the record) and the plan that judges it against the object."""

    file: RemoteFile
    job: FileJob
    plan: RemotePlan
    remote_job: RemoteJob


def own_layout(plan: RemotePlan, size: int) -> EtagLayout | None:
    """The object's own part layout when its ETag tells it (exact part size, or a plain MD5), else None."""
    if plan.etag is None:
        return None
    expected = plan.etag.expected
    if not expected.multipart:
        return EtagLayout(size, 0, 0)
    if plan.etag.exact:
        return EtagLayout(size, plan.etag.part_sizes[0], expected.parts)
    return None


def _prepare(file: RemoteFile, settings: Settings, sinks: SinkFactory | None, options: RemoteOptions,
             policy: RetryPolicy, prepared: dict[int, _Planned]) -> RemoteJob:
    """Plan one object's read, now or (an object listed without its metadata) once its GET has answered;
    the plan lands in ``prepared``. Raises :class:`InputError` for an object that cannot be read."""
    if file.error or file.reader is None:
        raise InputError(file.url, file.error or "cannot be read", missing=file.error_kind == "missing")
    read = ObjectRead(file.url, file.size, file.remote.etag, file.reader(), policy)

    def plan() -> list[tuple[Any, float]]:
        if not file.remote.described and read.meta is not None:
            from seqfixity.remote.s3 import apply_head

            apply_head(file.remote, read.meta)
        planned = prepared[id(file)] = _plan(file, settings, sinks, options, read)
        return planned.remote_job.hashers

    if not file.remote.described:
        return RemoteJob(read, [], complete=plan)
    plan()
    return prepared[id(file)].remote_job


def _plan(file: RemoteFile, settings: Settings, sinks: SinkFactory | None, options: RemoteOptions,
          read: ObjectRead) -> _Planned:
    """The hashers of one object's read: the engine's for its size, and those its own metadata asks for."""
    remote = file.remote
    size = file.size
    plan = RemotePlan(remote, size, options.max_candidates)
    before = FileIdentity(size, remote.modified_ns, 0, 0)
    job = plan_sized(file.name, before, settings, sinks, own_layout(plan, size))
    etag_hasher = job.digests.get("etag")
    shared = {etag_hasher.part_size: etag_hasher} if isinstance(etag_hasher, ETagHasher) else {}
    extra = plan.hashers(job.digests.get("md5"), shared)
    return _Planned(file, job, plan, RemoteJob(read, job.hashers + extra))


def _judge(planned: _Planned) -> RemoteOutcome:
    """The record of a complete read, judged against the object's own ETag and checksums."""
    job, plan = planned.job, planned.plan
    record = job.record(job.before)
    verdict, hint, actual = plan.decide(plan.values())
    outcome = RemoteOutcome(planned.file, record, job.sinks)
    if verdict is Verdict.MISMATCH:
        outcome.record = FileRecord(path=record.path, size=record.size, error=(
            f"the bytes read do not reproduce the object's own {hint}: corrupted in the store or on the way; "
            "not given as digests"), error_kind="mismatch")
        return outcome
    for kind, value in plan.full_object_checksums().items():  # the object's own, as S3 shows them
        record.digests.setdefault(kind, value)
    if plan.uneven and "etag" in record.digests and record.etag_parts:  # computed at part 1's length: not its ETag
        del record.digests["etag"]
        record.etag_part_size, record.etag_parts = 0, 0
    inferred = actual.get("part_size_source") == "inferred" and actual.get("etag_part_size")
    if inferred and "etag" in job.settings.digests and plan.etag is not None:
        record.digests["etag"] = actual["etag"]
        record.etag_part_size, record.etag_parts = actual["etag_part_size"], plan.etag.expected.parts
    outcome.confirmed = CONFIRMED if verdict is Verdict.OK else UNCONFIRMED
    outcome.note = hint
    return outcome


def _failed(file: RemoteFile, error: Exception, sinks: list) -> RemoteOutcome:
    record = failed_record(file.name, error)
    if isinstance(error, InputError) and error.path != file.url:
        record.error = f"{error.path}: {record.error}"
    return RemoteOutcome(file, record, sinks)


def hash_remote(files: Sequence[RemoteFile], settings: Settings, options: RemoteOptions | None = None,
                on_bytes: ProgressCallback | None = None, sinks: SinkFactory | None = None,
                policy: RetryPolicy | None = None, max_active: int = MAX_ACTIVE) -> Iterator[RemoteOutcome]:
    """Read every object once (in parallel ranges, several objects at once); yield one outcome each, in order.

    ``sinks(name, size)`` makes extra sinks per object (a FASTQ validator, more ETags), fed the same bytes;
    their results and closing them when the record failed are the caller's; ``max_active`` caps the objects
    open at once. An object that cannot be read
    (403, 404, changed while read, retries exhausted, a refused name) has a record with the error; the
    others go on.
    """
    options = options or RemoteOptions()
    policy = policy or RetryPolicy(retries=options.retries, backoff=options.backoff)

    def prepare(file: RemoteFile) -> RemoteJob:
        return _prepare(file, settings, sinks, options, policy, prepared)

    prepared: dict[int, _Planned] = {}
    reads = read_remote(files, prepare, options.connections, options.threads, on_bytes, max_active=max_active)
    for file, _job, error in reads:
        planned = prepared.pop(id(file), None)
        if error is not None or planned is None:
            yield _failed(file, error or InputError(file.url, "cannot be read"), planned.job.sinks if planned else [])
            continue
        outcome = _judge(planned)
        if outcome.record.error_kind == "mismatch":
            outcome = _read_again(file, settings, sinks, options, policy)
        yield outcome


def _read_again(file: RemoteFile, settings: Settings, sinks: SinkFactory | None, options: RemoteOptions,
                policy: RetryPolicy) -> RemoteOutcome:
    """Read an object whose bytes did not reproduce its own ETag or checksum once more, alone."""
    prepared: dict[int, _Planned] = {}
    (_item, _job, error), = read_remote([file], lambda f: _prepare(f, settings, sinks, options, policy, prepared),
                                        options.connections, options.threads)
    planned = prepared.get(id(file))
    if error is not None or planned is None:
        outcome = _failed(file, error or InputError(file.url, "cannot be read"), planned.job.sinks if planned else [])
    else:
        outcome = _judge(planned)
    outcome.reread = True
    if outcome.record.error_kind == "mismatch":
        outcome.record.error = outcome.record.error.replace("the bytes read", "the bytes read twice")
    return outcome
