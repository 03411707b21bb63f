"""``md5sum -c`` semantics over any manifest, telling the whole truth: one verdict per file, nothing stops early.

Each manifest entry is matched to a local path (relative to the manifest's
folder, or ``root``; by path or by base name), every file is read once for the
digests the manifest names (plus xxh128 for the quick-mode cache), and each
entry gets a :class:`~seqfixity.reports.results.FileResult`: OK, MISMATCH,
SIZE_MISMATCH, MISSING, MOVED (its content found under an unlisted name),
EXTRA (``completeness``), UNREADABLE, UNVERIFIABLE or MANIFEST_ERROR.
"""

from __future__ import annotations

import os
import posixpath
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from seqfixity.engine.etag import MAX_GUESS_CANDIDATES, EtagError, ParsedEtag, parse_etag
from seqfixity.engine.etag_match import DIFFER, MATCH, EtagPlan, judge_etag, plan_etag
from seqfixity.manifests.cache import DigestCache
from seqfixity.manifests.digests import DigestSource, etag_name
from seqfixity.manifests.read import Manifest, ManifestEntry
from seqfixity.reports.results import BatchResult, FileResult
from seqfixity.settings import Settings
from seqfixity.verdict import ALL_FAILURE_VERDICTS, Verdict

PREFERENCE = ("md5", "sha256", "sha1", "crc64nvme", "crc32c", "crc32", "xxh128")
MATCH_MODES = ("path", "basename")


@dataclass
class CheckOptions:
    """How to match manifest names to files and which verdicts to look for."""

    root: str | None = None
    strip_prefix: str = ""
    match: str | None = None
    allow_outside_root: bool = False
    completeness: bool = False
    ignore_missing: bool = False
    find_moved: bool = True
    quick: bool = False
    rehash: str | None = None
    cache: DigestCache | None = None
    jobs: int = 2
    settings: Settings = field(default_factory=Settings)
    fail_on: frozenset[Verdict] = ALL_FAILURE_VERDICTS
    exclude: frozenset[str] = frozenset()
    progress: bool = False
    max_candidates: int = MAX_GUESS_CANDIDATES
    place: Place | None = None


class Place(Protocol):
    """Where the files are when not on the local disk (``--root s3://...``: :mod:`seqfixity.remote.check`).

    Its paths are URLs under ``root``; ``files`` lists them all (sorted), ``digest_source`` reads them with
    the interface of :class:`DigestSource` (``stat`` gives the listed size as ``st_size``), and ``hint``
    names where the unlisted ones were found.
    """

    root: str
    hint: str

    def files(self, root: str, unlistable: dict[str, OSError]) -> list[str]:
        """Every file below ``root``, sorted."""

    def digest_source(self, options: CheckOptions) -> DigestSource:
        """What reads the files and remembers what it found."""


@dataclass
class Target:
    """One manifest entry, the local file it stands for, and what must be computed to judge it."""

    manifest: Manifest
    entry: ManifestEntry
    root: str
    local: str | None = None
    result: FileResult | None = None
    wanted: set[str] = field(default_factory=set)
    multipart: ParsedEtag | None = None
    etag: EtagPlan | None = None

    @property
    def source(self) -> str:
        """``MANIFEST:LINE``."""
        return f"{self.manifest.source}:{self.entry.line}"


def _show(path: str) -> str:
    """A path as the user would type it: relative to the current folder when below it, else absolute."""
    here = os.getcwd() + os.sep
    return path[len(here):] if path.startswith(here) else path


def _walk(root: str, unlistable: dict[str, OSError]) -> list[str]:
    """Return the absolute paths of all files below ``root``, sorted; note folders that cannot be listed."""
    found = []
    for folder, subfolders, files in os.walk(root, onerror=lambda err: unlistable.setdefault(err.filename, err)):
        subfolders.sort()
        found.extend(os.path.join(folder, name) for name in sorted(files))
    return found


class _RootIndex:
    """Files below each root, listed once and only when needed, and the folders that could not be listed."""

    def __init__(self, walk: Callable[[str, dict[str, OSError]], list[str]] = _walk) -> None:
        self._walk = walk
        self._files: dict[str, list[str]] = {}
        self._by_name: dict[str, dict[str, list[str]]] = {}
        self.unlistable: dict[str, OSError] = {}

    def files(self, root: str) -> list[str]:
        if root not in self._files:
            self._files[root] = self._walk(root, self.unlistable)
        return self._files[root]

    def named(self, root: str, name: str) -> list[str]:
        if root not in self._by_name:
            index: dict[str, list[str]] = defaultdict(list)
            for path in self.files(root):
                index[os.path.basename(path)].append(path)
            self._by_name[root] = index
        return self._by_name[root].get(name, [])


def _promised(entry: ManifestEntry) -> dict[str, str]:
    """The digests ``entry`` promises; a single-part ETag (a plain MD5) also stands as the MD5."""
    digests = dict(entry.digests)
    if "etag" in digests and "md5" not in digests:
        try:
            etag = parse_etag(digests["etag"])
        except EtagError:
            return digests
        if not etag.multipart:
            digests["md5"] = etag.hex
    return digests


def _wanted_digests(entry: ManifestEntry) -> tuple[set[str], ParsedEtag | None, str]:
    """Return the digests to compute for ``entry`` besides a multipart ETag, that ETag (its part sizes are
    planned once the file's size is known), or why nothing can be computed."""
    digests = dict(entry.digests)
    etag_text = digests.pop("etag", None)
    multipart = None
    why = ""
    if etag_text is not None:
        try:
            etag = parse_etag(etag_text)
        except EtagError:
            why = f"ETag {etag_text} is not MD5-based (SSE-KMS/SSE-C or another store)"
        else:
            if not etag.multipart:
                digests.setdefault("md5", etag.hex)
            else:
                multipart = etag
    comparable = [d for d in PREFERENCE if d in digests]
    wanted = {comparable[0]} if comparable else set()
    if not wanted and multipart is None:
        others = ", ".join(sorted(digests)) or "none"
        why = why or f"no digest seqfixity can compute (manifest has: {others})"
    return wanted, multipart, why


def _plan_etag(target: Target, size: int, options: CheckOptions) -> None:
    """Plan ``target``'s multipart ETag for a file of ``size`` bytes: the manifest's part size, else
    ``--part-size``, else the likely candidates (the ``--etag-preset`` layout first), all read at once."""
    if target.multipart is None:
        return
    settings = options.settings
    exact = target.entry.etag_part_size or settings.part_size or 0
    preferred = []
    try:
        layout = settings.layout(size)
        if layout.multipart:
            preferred.append(layout.part_size)
    except EtagError:
        pass
    target.etag = plan_etag(target.multipart, size, exact, preferred, options.max_candidates)
    target.wanted |= {etag_name(p) for p in target.etag.part_sizes}
    if not target.wanted:
        target.result = _result(target, Verdict.UNVERIFIABLE, f"ETag {target.multipart}: {target.etag.problem}")


def _resolve(target: Target, options: CheckOptions, index: _RootIndex) -> None:
    """Set ``target.local`` (or a MANIFEST_ERROR/UNVERIFIABLE result) from the entry's name."""
    name = target.entry.display
    folder = options.strip_prefix.rstrip("/") + "/"
    if options.strip_prefix and name.startswith(folder):
        name = name[len(folder):]
    elif options.strip_prefix and name.startswith(options.strip_prefix):
        name = name[len(options.strip_prefix):]
    match = options.match or target.manifest.default_match
    if match == "basename":
        base = os.path.basename(name.rstrip("/"))
        candidates = index.named(target.root, base)
        if len(candidates) > 1:
            tail = [c for c in candidates if c.endswith(os.sep + name.lstrip("/"))]
            candidates = tail if len(tail) == 1 else candidates
        if len(candidates) > 1:
            target.result = _result(target, Verdict.UNVERIFIABLE,
                                    f"{len(candidates)} files named {base!r} under {target.root}; use --match path")
            return
        target.local = candidates[0] if candidates else os.path.join(target.root, base)
        return
    local = _under_root(target.root, name)
    outside = os.path.isabs(name) or not local.startswith(target.root.rstrip(os.sep) + os.sep)
    if outside and not (options.allow_outside_root or target.manifest.paths_as_written):
        where = "absolute path" if os.path.isabs(name) else "path climbs out of the root with '..'"
        target.result = _result(target, Verdict.MANIFEST_ERROR,
                                f"{where} refused (use --allow-outside-root, --strip-prefix or --root)")
        return
    target.local = local


def _under_root(root: str, name: str) -> str:
    """``name`` resolved below ``root`` (``..`` folded): a local path, or a URL below a remote root."""
    scheme, sep, rest = root.partition("://")
    if not sep:
        return os.path.abspath(os.path.join(root, name))
    host, _, path = rest.partition("/")
    return f"{scheme}://{host}{posixpath.normpath(posixpath.join('/' + path, name))}"


def _result(target: Target, verdict: Verdict, hint: str = "", actual: dict | None = None) -> FileResult:
    expected = dict(target.entry.digests)
    if target.entry.size is not None:
        expected["size"] = target.entry.size
    actual = dict(actual or {})
    if target.local:
        actual.setdefault("path", _show(target.local))
    return FileResult(path=target.entry.display, verdict=verdict, hint=hint, expected=expected, actual=actual,
                      source=target.source)


def _size_hint(expected: int, found: int) -> str:
    if found < expected:
        return f"expected {expected} bytes, found {found}: likely truncated (interrupted copy or download)"
    return f"expected {expected} bytes, found {found}: larger than listed (still being written, or another file)"


def _judge(target: Target, hasher: DigestSource, owners: dict[str, str]) -> FileResult:
    """Return the verdict on one resolved entry from what the hasher found."""
    path = target.local or ""
    info = hasher.stats.get(path)
    actual: dict = {"size": info.st_size} if info else {}
    if path in hasher.errors:
        kind, reason = hasher.errors[path]
        if kind == "missing":
            return _result(target, Verdict.MISSING, f"not found at {_show(path)}")
        if kind == "rehash":
            return _result(target, Verdict.MISMATCH, reason, actual)
        if kind == "layout":
            return _result(target, Verdict.UNVERIFIABLE, reason, actual)
        return _result(target, Verdict.UNREADABLE, reason, actual)
    if info is None:
        return _result(target, Verdict.MISSING, f"not found at {_show(path)}")
    if target.entry.size is not None and target.entry.size != info.st_size:
        return _result(target, Verdict.SIZE_MISMATCH, _size_hint(target.entry.size, info.st_size), actual)
    found = hasher.digests.get(path, {})
    actual.update({d: v for d, v in found.items() if not d.startswith("etag@")})
    promised = _promised(target.entry)
    compared = [d for d in promised if d in found and d != "etag"]
    wrong = [d for d in compared if found[d] != promised[d]]
    etag_verdict = None
    if target.etag is not None:
        computed = {p: found[etag_name(p)] for p in target.etag.part_sizes if etag_name(p) in found}
        etag_verdict = judge_etag(target.etag, computed)
        if etag_verdict.computed:
            actual.update(etag=etag_verdict.computed, etag_part_size=etag_verdict.part_size)
        if etag_verdict.outcome == DIFFER and not compared:
            wrong.append("etag")
    if wrong == ["md5"] and "xxh128" not in promised and found.get("xxh128") == promised["md5"]:
        return _result(target, Verdict.OK, "the line's 32 hex digits are the file's XXH128 (xxhsum -H128 writes "
                                           "such lines), not its MD5", actual)
    if wrong:
        name = wrong[0]
        value = found.get(name, "")
        other = owners.get(value)
        hint = (f"{etag_verdict.hint} differs: expected {target.multipart}, found {etag_verdict.computed}"
                if name == "etag"
                else f"{name} differs: expected {promised[name]}, found {value}")
        if other and other != target.entry.display:
            hint += f"; content is that of listed {other!r} (swapped or overwritten?)"
        return _result(target, Verdict.MISMATCH, hint, actual)
    if etag_verdict is None or etag_verdict.outcome == MATCH:
        return _result(target, Verdict.OK, "" if etag_verdict is None or compared else etag_verdict.hint + " matches",
                       actual)
    if compared:
        return _result(target, Verdict.OK, f"{etag_verdict.hint}; content verified by {', '.join(compared)}", actual)
    return _result(target, Verdict.UNVERIFIABLE, etag_verdict.hint, actual)


def check_manifests(manifests: Iterable[Manifest], options: CheckOptions,
                    on_result: Callable[[FileResult], None] | None = None) -> BatchResult:
    """Check every entry of ``manifests``; return one result per entry, malformed line and extra file.

    ``on_result`` is called with each result as soon as it is decided, in the
    order of the returned batch (manifest order, then EXTRA files), so a caller
    can stream them as ``md5sum -c`` does.
    """
    manifests = list(manifests)
    place = options.place
    index = _RootIndex(place.files) if place else _RootIndex()
    rows: list[tuple[int, int, FileResult | Target]] = []
    targets: list[Target] = []
    for number, manifest in enumerate(manifests):
        for problem in manifest.problems:
            rows.append((number, problem.line, FileResult(
                path=problem.where(manifest.source), verdict=Verdict.MANIFEST_ERROR, hint=problem.message,
                source=problem.where(manifest.source))))
        root = place.root if place else os.path.abspath(options.root or manifest.folder)
        for entry in manifest.entries:
            target = Target(manifest, entry, root)
            target.wanted, target.multipart, why = _wanted_digests(entry)
            _resolve(target, options, index)
            if target.result is None and not target.wanted and target.multipart is None:
                target.result = _result(target, Verdict.UNVERIFIABLE, why)
            targets.append(target)
            rows.append((number, entry.line, target))
    rows.sort(key=lambda item: (item[0], item[1]))
    hasher = place.digest_source(options) if place else DigestSource(
        options.settings, options.cache, options.quick, options.rehash, options.jobs, options.progress)
    owners = {v: t.entry.display for t in targets for v in _promised(t.entry).values()}
    needs: dict[str, set[str]] = defaultdict(set)
    for target in targets:
        if target.result is None and target.local:
            info = hasher.stat(target.local)
            if info is None or (target.entry.size is not None and target.entry.size != info.st_size):
                target.result = _judge(target, hasher, owners)
                continue
            _plan_etag(target, info.st_size, options)
            if target.result is None:
                needs[target.local] |= target.wanted
                if place is None and _md5_or_xxh128(target):  # read once: the MD5 and the XXH128 it may be
                    needs[target.local].add("xxh128")
    listed = {t.local for t in targets if t.local}
    excluded = listed | {os.path.abspath(m.source) for m in manifests} | {os.path.abspath(p) for p in options.exclude}
    hunt = options.find_moved and not options.ignore_missing
    for target in targets:  # a missing file's ETag can still be looked for among files of its listed size
        if target.result is not None and target.result.verdict is Verdict.MISSING and target.entry.size is not None:
            _plan_etag(target, target.entry.size, options)
    missing = [t for t in targets if t.result is not None and t.result.verdict is Verdict.MISSING and t.wanted]
    # sizes narrow the search for moved content; without them only --completeness reads unlisted files
    searchable = [t for t in missing if t.entry.size is not None or options.completeness] if hunt else []
    unlisted = _unlisted(manifests, targets, index, excluded) if options.completeness or searchable else []
    # moved content is looked for first, so every listed row is final when its file has been read
    moved_to = _find_moved(searchable, unlisted, hasher) if searchable else set()
    batch = BatchResult(fail_on=options.fail_on)

    def emit(result: FileResult) -> None:
        batch.add(result)
        if on_result is not None:
            on_result(result)

    queue = deque(item for _, _, item in rows)
    read: set[str] = set()

    def flush(final: bool) -> None:
        """Emit rows from the front of the queue while they are decided (all of them when ``final``)."""
        while queue:
            item = queue[0]
            if isinstance(item, Target) and item.result is None:
                if not final and item.local not in read:
                    return
                item.result = _judge(item, hasher, owners)
            queue.popleft()
            emit(item.result if isinstance(item, Target) else item)

    for path in hasher.stream(needs):
        read.add(path)
        flush(final=False)
    flush(final=True)
    if options.completeness:
        for path in unlisted:
            if path not in moved_to:
                size = hasher.stat(path).st_size if place else _size(path)
                emit(FileResult(path=_show(path), verdict=Verdict.EXTRA,
                                hint=place.hint if place else "on disk under the root but not listed",
                                actual={"size": size}))
    for folder, error in sorted(index.unlistable.items()):
        emit(FileResult(path=_show(folder), verdict=Verdict.UNREADABLE,
                        hint=f"cannot list folder: {error.strerror}; files in it were not searched"))
    _apply_ignore_missing(batch, options)
    return batch


def _md5_or_xxh128(target: Target) -> bool:
    """Whether ``target``'s digest may be an XXH128 as well as an MD5: an untagged 32-hex digest of a GNU line
    (``xxhsum -H128`` writes the same lines as md5sum). Its file's XXH128 is then computed in the same read, so
    an MD5 that differs can be told from an XXH128 that matches without reading the file again."""
    return target.manifest.format == "gnu" and set(_promised(target.entry)) == {"md5"}


def _size(path: str) -> int | None:
    try:
        return os.stat(path).st_size
    except OSError:
        return None


def _unlisted(manifests: list[Manifest], targets: list[Target], index: _RootIndex, excluded: set[str]) -> list[str]:
    """Files under the roots that no entry names (a BagIt bag's payload only: its ``data/`` folder)."""
    roots: dict[str, str] = {}
    for target in targets:
        roots.setdefault(target.root, "data" if target.manifest.format == "bagit" else "")
    found: list[str] = []
    for root, subfolder in roots.items():
        prefix = os.path.join(root, subfolder) if subfolder else root
        found.extend(p for p in index.files(root) if p.startswith(prefix + os.sep) and p not in excluded)
    return sorted(dict.fromkeys(found))


def _find_moved(missing: list[Target], unlisted: list[str], hasher: DigestSource) -> set[str]:
    """Turn ``missing`` entries whose content lies under an unlisted name into MOVED; return those names."""
    if not unlisted:
        return set()
    sizes = {t.entry.size for t in missing}
    kinds = {name for t in missing for name in t.wanted}
    needs = {p: set(kinds) for p in unlisted
             if None in sizes or (hasher.stat(p) is not None and hasher.stats[p].st_size in sizes)}
    hasher.compute(needs)
    by_digest: dict[str, str] = {}
    for path in needs:
        for value in hasher.digests.get(path, {}).values():
            by_digest.setdefault(value, path)
    moved: set[str] = set()
    for target in missing:
        expected = {*(_promised(target.entry).get(d) for d in target.wanted), str(target.multipart)}
        place = next((by_digest[value] for value in expected if value in by_digest), None)
        if place and place not in moved:
            moved.add(place)
            target.result.verdict = Verdict.MOVED
            target.result.hint = f"content found as {_show(place)} (renamed or moved?)"
            target.result.actual = {"path": _show(place), **hasher.digests[place]}
    return moved


def _apply_ignore_missing(batch: BatchResult, options: CheckOptions) -> None:
    """With ``ignore_missing``, MISSING stops failing the run, unless no file was verified OK (as in coreutils)."""
    if options.ignore_missing and any(r.verdict is Verdict.OK for r in batch.results):
        batch.fail_on = batch.fail_on - {Verdict.MISSING}
