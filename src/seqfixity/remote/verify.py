"""Local files against what a remote holds (S3, ICA): per-file verdicts and the batch outcome.

Nothing is downloaded. Each remote object is matched to a local file by
relative path (or base name); sizes are compared first, then one read of the
local file computes its MD5, the multipart ETag (at the exact part size the
server reported, else at every likely candidate), and each additional
checksum the object carries (full-object or composite), all from the same
bytes. Remote names never resolve outside the local root: a leading ``/`` is
taken relative to it and a name with a ``..`` component is refused.
"""

from __future__ import annotations

import base64
import glob
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from seqfixity.engine.composite import S3_CHECKSUMS, CompositeChecksum, FullObjectChecksum, s3_text
from seqfixity.engine.digest import read_many
from seqfixity.engine.etag import MAX_GUESS_CANDIDATES, EtagError, ETagHasher, parse_etag
from seqfixity.engine.etag_match import DIFFER, MATCH, UNKNOWN, EtagPlan, judge_etag, plan_etag
from seqfixity.engine.hashes import DIGEST_KINDS
from seqfixity.engine.reading import FileIdentity, ReadJob, check_regular_file, identity
from seqfixity.errors import InputError
from seqfixity.record import FileRecord, read_records
from seqfixity.remote import AVAILABLE, RemoteObject
from seqfixity.reports.results import BatchResult, FileResult
from seqfixity.stopping import Stopped
from seqfixity.verdict import ALL_FAILURE_VERDICTS, Verdict

MATCH_MODES = ("path", "basename")
_COMPOSITE_ONLY = ("sha1", "sha256")


@dataclass(frozen=True)
class VerifyOptions:
    """How remote names map to local files, and how hard to look for an unknown part size."""

    strip_prefix: str = ""
    match: str = "path"
    jobs: int = 2
    max_candidates: int = MAX_GUESS_CANDIDATES
    fail_on: frozenset[Verdict] = ALL_FAILURE_VERDICTS
    exclude: frozenset[str] = field(default_factory=frozenset)
    records: Mapping[str, FileRecord] = field(default_factory=dict)
    remote_only: bool = False  # judge only the remote objects given; local files without one are not reported


def load_records(paths: Iterable[str]) -> dict[str, FileRecord]:
    """Read digest-stage records (JSON lines of :class:`FileRecord`), keyed by each file's real path.

    ``paths`` are JSONL files or folders holding them. Raises :class:`InputError`
    for a file that cannot be read or a line that is not a record.
    """
    records: dict[str, FileRecord] = {}
    for path in paths:
        files = [path]
        if os.path.isdir(path):
            files = sorted(glob.glob(os.path.join(path, "**", "*.jsonl"), recursive=True))
        for name in files:
            records.update(_records_in(name))
    return records


def _records_in(name: str) -> dict[str, FileRecord]:
    return {os.path.realpath(r.path): r for r in read_records(name) if r.ok}


def safe_relative(name: str) -> str | None:
    """Return ``name`` as a clean relative path (``/`` separated), or None when it is unsafe.

    A leading ``/`` is dropped (ICA paths start at the project root); empty and
    ``.`` components are dropped; any ``..`` component, a NUL byte, or an empty
    result makes the name unsafe.
    """
    if "\0" in name:
        return None
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if not parts or ".." in parts:
        return None
    return "/".join(parts)


def strip_prefix(name: str, prefix: str) -> str | None:
    """Return ``name`` without the folder ``prefix`` (leading ``/`` ignored on both), or None if outside it."""
    clean_prefix = prefix.strip("/")
    clean_name = name.lstrip("/")
    if not clean_prefix:
        return clean_name
    if clean_name.startswith(clean_prefix + "/"):
        return clean_name[len(clean_prefix) + 1:]
    return None


@dataclass
class LocalTree:
    """The files below a local root, keyed by ``/``-separated relative path, and the folders that could not be
    listed (relative path -> reason)."""

    files: dict[str, str]
    unlisted: dict[str, str]


def local_tree(root: str, exclude: Iterable[str] = ()) -> LocalTree:
    """List ``root`` once: every file below it (but ``exclude``), and every folder that could not be listed."""
    skip = {os.path.abspath(p) for p in exclude}
    tree = LocalTree({}, {})

    def failed(err: OSError) -> None:
        folder = os.path.relpath(err.filename or root, root).replace(os.sep, "/")
        tree.unlisted[folder] = err.strerror or str(err)

    for folder, subfolders, files in os.walk(root, onerror=failed):
        subfolders.sort()
        for name in sorted(files):
            path = os.path.join(folder, name)
            if os.path.abspath(path) not in skip:
                tree.files[os.path.relpath(path, root).replace(os.sep, "/")] = path
    return tree


@dataclass
class _Pair:
    """A remote object, the local file it maps to, and the finished result once judged."""

    key: str
    remote: RemoteObject | None
    local: str | None
    result: FileResult | None = None


def verify(
    local_root: str,
    objects: Iterable[RemoteObject],
    options: VerifyOptions | None = None,
    on_bytes: Callable[[int], None] | None = None,
    tree: LocalTree | None = None,
) -> tuple[BatchResult, dict[str, Any]]:
    """Judge every remote object and every local file below ``local_root``; return the batch and context.

    ``tree`` is ``local_root``'s listing when the caller has made it already (:func:`local_tree`).
    The context says how many remote objects lay outside ``strip_prefix`` (ignored). Stopped by the user
    (:class:`~seqfixity.stopping.Stopped` while judging), the batch is STOPPED: the verdicts reached, and the
    files not yet judged.
    """
    options = options or VerifyOptions()
    tree = tree or local_tree(local_root, options.exclude)
    local, unlisted = dict(tree.files), tree.unlisted
    by_basename: dict[str, list[str]] = {}
    for relative in local:
        by_basename.setdefault(relative.rsplit("/", 1)[-1], []).append(relative)
    pairs: dict[str, _Pair] = {}
    extra = [FileResult(f"{folder}/", Verdict.UNREADABLE, f"cannot list this folder: {reason}; remote objects "
                        "under it are judged by their paths") for folder, reason in sorted(unlisted.items())]
    ignored = 0
    for remote in objects:
        if not remote.name and remote.error:  # an item that names no file (e.g. an unknown ICA data id)
            extra.append(FileResult(remote.source, Verdict.MANIFEST_ERROR, remote.error, source=remote.source))
            continue
        stripped = strip_prefix(remote.name, options.strip_prefix)
        if stripped is None:
            ignored += 1
            continue
        relative = safe_relative(stripped)
        if relative is None:
            extra.append(_listing_error(remote, "remote name is not a safe relative path (empty, '..' or NUL); "
                                                "it is not looked up"))
            continue
        key = relative
        if options.match == "basename":
            key = relative.rsplit("/", 1)[-1]
            candidates = by_basename.get(key, [])
            if len(candidates) > 1:
                extra.append(FileResult(key, Verdict.UNVERIFIABLE, f"{len(candidates)} local files are named {key}: "
                                        f"{', '.join(candidates)}; use --match path", source=remote.source))
                for candidate in candidates:  # named in this result; not also MISSING_REMOTE
                    local.pop(candidate, None)
                continue
            local_key = candidates[0] if candidates else None
        else:
            local_key = relative if relative in local else None
        if key in pairs:
            extra.append(_listing_error(remote, f"another remote object ({pairs[key].remote.source}) "
                                                f"maps to the same local file {key}"))
            continue
        path = local.pop(local_key) if local_key else None
        if path is None and options.match == "path" and _under(relative, unlisted):
            path = os.path.join(local_root, *relative.split("/"))  # not listed, perhaps there: judge() looks
        pairs[key] = _Pair(local_key or key, remote, path)
    for relative, path in ({} if options.remote_only else local).items():
        pairs[relative] = _Pair(relative, None, path)
    listed = list(pairs.values())
    reached: dict[int, FileResult] = {}
    stopped = None
    try:
        _judge_all(listed, options, on_bytes, reached)
    except Stopped as stop:  # the user stopped the run: keep the verdicts reached, list the files not judged
        stopped = stop
    results = [reached[index] for index in sorted(reached)]
    batch = BatchResult(fail_on=options.fail_on)
    for result in sorted(results + extra, key=lambda r: r.path):
        batch.add(result)
    if stopped is not None:
        batch.stop(stopped, [{"path": pair.key, "source": pair.remote.source if pair.remote else ""}
                             for index, pair in enumerate(listed) if index not in reached])
    return batch, {"ignored_outside_prefix": ignored}


def _under(relative: str, folders: Mapping[str, str]) -> bool:
    """True when ``relative`` lies below one of ``folders`` (``.`` is the root itself)."""
    return any(folder == "." or relative.startswith(folder + "/") for folder in folders)


def _listing_error(remote: RemoteObject, hint: str) -> FileResult:
    return FileResult(remote.name, Verdict.MANIFEST_ERROR, hint, source=remote.source)


def _expected(remote: RemoteObject) -> dict[str, Any]:
    expected: dict[str, Any] = {"size": remote.size, "etag": remote.etag or None}
    if remote.checksums:
        expected["checksums"] = dict(remote.checksums)
    if remote.checksum_type:
        expected["checksum_type"] = remote.checksum_type
    if remote.part_size:
        expected.update(part_size=remote.part_size, parts=remote.parts)
    if remote.status != AVAILABLE:
        expected["status"] = remote.status
    return expected


@dataclass
class _Pending:
    """A pair whose local file must be read: what the read computes, and how its result is judged."""

    pair: _Pair
    plan: RemotePlan
    before: FileIdentity
    expected: dict[str, Any]


def _judge_all(pairs: list[_Pair], options: VerifyOptions, on_bytes: Callable[[int], None] | None,
               results: dict[int, FileResult]) -> None:
    """Judge every pair into ``results`` (by index, as each is reached: a stopped run keeps them); the local
    files that must be read are read once each, several at once."""
    pending: list[tuple[int, _Pending]] = []
    for index, pair in enumerate(pairs):
        judged = prejudge(pair.key, pair.remote, pair.local, options)
        if isinstance(judged, FileResult):
            results[index] = judged
        else:
            pending.append((index, judged))

    def prepare(item: tuple[int, _Pending]) -> ReadJob:
        waiting = item[1]
        return ReadJob(waiting.pair.local, waiting.before, waiting.plan.hashers())

    for (index, waiting), _job, _found, error in read_many(pending, prepare, options.jobs, on_bytes):
        results[index] = conclude(waiting, None if error else waiting.plan.values(), error)
    for index, pair in enumerate(pairs):  # an ICA file's page, one click from its row in a report
        if index in results and pair.remote is not None and pair.remote.link:
            results[index].link = pair.remote.link


def prejudge(relative: str, remote: RemoteObject | None, local: str | None,
             options: VerifyOptions) -> FileResult | _Pending:
    """The verdict on one local file against one remote object (either may be None), or what must be read."""
    if remote is None:
        return FileResult(relative, Verdict.MISSING_REMOTE, "local file has no remote object",
                          actual={"size": _size_or_none(local)})
    expected = _expected(remote)
    if remote.error:
        # gone since it was listed, or refused: the object's own verdict, as a 404 or 403 on its read
        verdict = {"missing": Verdict.MISSING_REMOTE, "unreadable": Verdict.UNREADABLE}.get(remote.error_kind,
                                                                                            Verdict.MANIFEST_ERROR)
        return FileResult(relative, verdict, remote.error, expected=expected, source=remote.source)
    if local is None:
        return FileResult(relative, Verdict.MISSING_LOCAL, "remote object has no local file", expected=expected,
                          source=remote.source)
    if remote.status != AVAILABLE:
        return FileResult(relative, Verdict.UNVERIFIABLE, f"remote status {remote.status}: only AVAILABLE files "
                          "are complete and verified", expected=expected, source=remote.source)
    try:
        info = check_regular_file(local)
    except InputError as err:
        verdict = Verdict.MISSING_LOCAL if err.missing else Verdict.UNREADABLE
        return FileResult(relative, verdict, err.reason, expected=expected, source=remote.source)
    size, mtime_ns = info.st_size, info.st_mtime_ns
    if size != remote.size:
        return FileResult(relative, Verdict.SIZE_MISMATCH, f"local {size} bytes, remote {remote.size} bytes",
                          expected=expected, actual={"size": size}, source=remote.source)
    plan = RemotePlan(remote, size, options.max_candidates)
    record = options.records.get(os.path.realpath(local))
    values = plan.from_record(record) if record and (record.size, record.mtime_ns) == (size, mtime_ns) else None
    if values is None and not plan.needs_read:  # e.g. SSE-C or SSE-KMS with no checksum: reading decides nothing
        values = PlanValues(None, {}, {})
    waiting = _Pending(_Pair(relative, remote, local), plan, identity(info), expected)
    return waiting if values is None else conclude(waiting, values, None)


def conclude(waiting: _Pending, values: PlanValues | None, error: Exception | None) -> FileResult:
    """The verdict on a pair from what the read computed, or from why it could not be read."""
    relative, remote = waiting.pair.key, waiting.pair.remote
    if error is not None:
        verdict = Verdict.MISSING_LOCAL if getattr(error, "missing", False) else Verdict.UNREADABLE
        reason = error.reason if isinstance(error, InputError) else str(error)
        return FileResult(relative, verdict, reason, expected=waiting.expected, source=remote.source)
    verdict, hint, actual = waiting.plan.decide(values)
    return FileResult(relative, verdict, hint, expected=waiting.expected,
                      actual={"size": waiting.before.size, **actual}, source=remote.source)


def _size_or_none(path: str | None) -> int | None:
    try:
        return os.stat(path).st_size if path else None
    except OSError:
        return None


@dataclass
class PlanValues:
    """Digests of one local file: from this read, or from the digest stage's records."""

    md5: str | None
    etags: dict[int, str]
    checksums: dict[str, list[str]]
    from_records: bool = False


class RemotePlan:
    """What one read must compute to judge its bytes against ``remote``'s size, ETag and checksums, and the
    judgement: of a local copy (``verify``), or of the object's own bytes as they were read (``hash``)."""

    def __init__(self, remote: RemoteObject, size: int, max_candidates: int) -> None:
        self.remote = remote
        self.notes: list[str] = []
        self.etag: EtagPlan | None = None
        self.forms: dict[str, tuple[bool, bool]] = {}
        # S3 lets an uploader vary its part sizes; part 1's length then does not give the layout.
        self.uneven = bool(remote.part_size and remote.parts and -(-size // remote.part_size) != remote.parts)
        self._plan_etag(size, max_candidates)
        self._plan_checksums()

    def _plan_etag(self, size: int, max_candidates: int) -> None:
        remote = self.remote
        if not remote.etag:
            return
        if not remote.etag_is_md5:
            self.notes.append(remote.etag_note or "ETag is not an MD5 (SSE-KMS or SSE-C encryption)")
            return
        try:
            expected = parse_etag(remote.etag)
        except EtagError:
            self.notes.append(f"ETag {remote.etag!r} is not MD5-based")
            return
        exact = 0
        if expected.multipart and remote.part_size and remote.parts == expected.parts:
            if self.uneven:
                self.notes.append(f"ETag {expected}: parts of different sizes (part 1 has {remote.part_size} bytes, "
                                  f"{remote.parts} parts hold {size}), so it cannot be reproduced")
                return
            exact = remote.part_size
        self.etag = plan_etag(expected, size, exact, limit=max(1, max_candidates))
        if self.etag.problem:
            self.notes.append(f"ETag {expected}: {self.etag.problem}")
            self.etag = None

    def _plan_checksums(self) -> None:
        """Decide, per checksum, whether to compute its full-object form, its composite form, or both."""
        remote = self.remote
        multipart = bool(self.etag and self.etag.expected.multipart) or remote.parts > 0
        for kind, value in remote.checksums.items():
            if kind not in S3_CHECKSUMS:
                continue
            suffixed = _parts_suffix(value) is not None
            kind_type = remote.checksum_type.upper()
            full = not suffixed and kind_type != "COMPOSITE" and (not multipart or kind not in _COMPOSITE_ONLY)
            composite = multipart and (suffixed or kind_type == "COMPOSITE" or (not kind_type and kind != "crc64nvme"))
            if composite and (not remote.part_size or self.uneven):
                composite = False
                if not full:
                    self.notes.append(f"composite {kind} needs the exact part size of every part, which the "
                                      "remote did not give")
            if full or composite:
                self.forms[kind] = (full, composite)

    @property
    def needs_read(self) -> bool:
        """True when the remote gives an ETag or checksum that the local bytes can be compared with."""
        return self.etag is not None or bool(self.forms)

    def hashers(self, md5: Any = None, etags: Mapping[int, ETagHasher] | None = None) -> list[tuple[Any, float]]:
        """Make every hasher the plan needs (MD5, an ETag per part size, each checksum form), with its cost.

        ``md5`` and ``etags`` ({part size: hasher}) are hashers the caller feeds already: they are used, and
        left out of the list returned."""
        given = dict(etags or {})
        # the MD5 only where it decides (a plain ETag): against a multipart ETag the parts alone run on the lanes
        needed = self.etag is None or not self.etag.expected.multipart
        self._md5 = md5 if md5 is not None else DIGEST_KINDS["md5"].new() if needed else None
        self._etags = {p: given.get(p) or ETagHasher(p) for p in (self.etag.part_sizes if self.etag else [])}
        self._checksums: dict[str, list[FullObjectChecksum | CompositeChecksum]] = {}
        for kind, (full, composite) in self.forms.items():
            self._checksums[kind] = ([FullObjectChecksum(kind)] if full else []) + (
                [CompositeChecksum(kind, self.remote.part_size)] if composite else [])
        weighted: list[tuple[Any, float]] = [(self._md5, 1.0)] if md5 is None and self._md5 is not None else []
        weighted += [(h, 1.0) for p, h in self._etags.items() if p not in given]
        return weighted + [(h, DIGEST_KINDS[kind].cost) for kind, forms in self._checksums.items() for h in forms]

    def values(self) -> PlanValues:
        """What the hashers computed, once the file has been read through them."""
        return PlanValues(self._md5.result() if self._md5 else None, {p: h.hexdigest() for p, h in self._etags.items()},
                       {kind: [h.result() for h in forms] for kind, forms in self._checksums.items()})

    def full_object_checksums(self) -> dict[str, str]:
        """The remote's full-object checksums that the read reproduced, in seqfixity's text (CRCs in base64,
        SHAs in hex); composite ones (``-N``) are checked, but are no digest of the whole content."""
        found = {}
        for kind, forms in self._checksums.items():
            for hasher in forms:
                value = hasher.result()
                if isinstance(hasher, FullObjectChecksum) and value == self.remote.checksums.get(kind):
                    found[kind] = base64.b64decode(value).hex() if kind in _COMPOSITE_ONLY else value
        return found

    def from_record(self, record: FileRecord) -> PlanValues | None:
        """Return the values the digest stage already computed, or None when they do not settle every check."""
        digests = record.digests
        md5 = digests.get("md5") or (digests.get("etag") if record.etag_parts == 0 else None)
        etags: dict[int, str] = {}
        expected = self.etag.expected if self.etag else None
        if expected is not None and not expected.multipart and not md5:
            return None
        if expected is not None and expected.multipart:
            known = digests.get("etag")
            if not known or record.etag_parts != expected.parts:
                return None
            if self.etag.exact and record.etag_part_size != self.etag.part_sizes[0]:
                return None
            if not self.etag.exact and known != str(expected):
                return None
            etags = {record.etag_part_size: known}
        checksums: dict[str, list[str]] = {}
        for kind, (_full, composite) in self.forms.items():
            if composite or not digests.get(kind):
                return None
            checksums[kind] = [s3_text(kind, digests[kind])]
        return PlanValues(md5, etags, checksums, from_records=True)

    def decide(self, values: PlanValues) -> tuple[Verdict, str, dict[str, Any]]:
        """Compare the computed values with the remote; return (verdict, hint, actual values).

        A multipart ETag or composite checksum that differs at part 1's length is judged again once the
        store has told every part's length: when they differ (S3 allows it), neither can be reproduced, and
        is left out rather than taken for corruption."""
        verdict, hint, actual = self._decide(values)
        if verdict is Verdict.MISMATCH and self._layout_is_uneven():
            return self._decide(values)
        return verdict, hint, actual

    def _layout_is_uneven(self) -> bool:
        """Whether the object's parts turn out to differ in size (then its ETag and composites are dropped)."""
        remote = self.remote
        layout_used = (self.etag is not None and self.etag.exact) or any(c for _f, c in self.forms.values())
        if self.uneven or not layout_used or remote.part_lengths is None:
            return False
        lengths = remote.part_lengths()
        if not lengths or all(length == lengths[0] for length in lengths[:-1]) and lengths[-1] <= lengths[0]:
            return False
        self.uneven = True
        shown = ", ".join(str(length) for length in lengths[:4]) + (", ..." if len(lengths) > 4 else "")
        self.notes.append(f"ETag {self.remote.etag}: parts of different sizes ({shown} bytes), so it and any "
                          "composite checksum cannot be reproduced")
        self.etag = None
        # A value that could be either form (no -N, no type) may be the composite: no longer judged either.
        self.forms = {kind: (True, False) for kind, (full, composite) in self.forms.items() if full and not composite}
        return True

    def _decide(self, values: PlanValues) -> tuple[Verdict, str, dict[str, Any]]:
        actual: dict[str, Any] = {"md5": values.md5} if values.md5 else {}
        agree: list[str] = []
        differ: list[str] = []
        unknown: list[str] = []
        if self.etag is not None:
            judged = judge_etag(self.etag, values.etags, values.md5)
            if self.etag.expected.multipart:
                actual["part_size_source"] = "exact" if self.etag.exact else "inferred"
                if judged.part_size:
                    actual.update(etag=judged.computed, etag_part_size=judged.part_size)
                    if judged.outcome == MATCH:
                        actual["etag_parts"] = self.etag.expected.parts
                if judged.outcome == UNKNOWN:
                    actual["tried_part_sizes"] = sorted(values.etags)
            else:
                actual["etag"] = values.md5
            {MATCH: agree, DIFFER: differ, UNKNOWN: unknown}[judged.outcome].append(judged.hint)
        computed_checksums: dict[str, str] = {}
        for kind, computed in values.checksums.items():
            if kind not in self.forms:
                continue
            if not self.forms[kind][1]:  # a composite form dropped (or never asked): only the full-object one
                computed = computed[:1]
            hit = next((v for v in computed if _same_checksum(v, self.remote.checksums[kind])), None)
            computed_checksums[kind] = hit or computed[0]
            (agree if hit else differ).append(kind.upper())
        if computed_checksums:
            actual["checksums"] = computed_checksums
        notes = [*unknown, *self.notes]
        if values.from_records:
            actual["from_records"] = True
            notes.append("digests from the digest stage's records; not re-read")
        if differ:
            return Verdict.MISMATCH, "; ".join([_listed(differ, "differs", "differ"), *notes]), actual
        if agree:
            return Verdict.OK, "; ".join([_listed(agree, "matches", "match"), *notes]), actual
        reason = "; ".join(notes) or "the remote has no ETag or checksum to compare"
        return Verdict.UNVERIFIABLE, f"size matches, content unverified: {reason}", actual


def _listed(names: list[str], one: str, several: str) -> str:
    return f"{', '.join(names)} {one if len(names) == 1 else several}"


def _parts_suffix(value: str) -> int | None:
    """Return N of a composite checksum ``base64-N``, or None."""
    head, dash, tail = value.rpartition("-")
    return int(tail) if dash and head and tail.isdigit() else None


def _same_checksum(computed: str, remote: str) -> bool:
    """True when a computed checksum (``b64`` or ``b64-N``) equals the remote's (with or without ``-N``)."""
    if _parts_suffix(remote) is not None:
        return computed == remote
    return computed.rpartition("-")[0] == remote if _parts_suffix(computed) is not None else computed == remote
