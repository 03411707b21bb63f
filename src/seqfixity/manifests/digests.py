"""Digests for the checker: read each file once (in a pool), or reuse the quick-mode cache.

A file is read for exactly the digests its manifest entries name, plus xxh128
when a cache is kept. ``--quick`` takes digests from the cache when device,
inode, size and mtime_ns still match; ``--rehash xxh128`` re-reads such files
with xxh3 only and compares that with the cached read.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

from seqfixity.engine.digest import hash_planned
from seqfixity.engine.reading import check_regular_file
from seqfixity.errors import InputError
from seqfixity.manifests.cache import DigestCache
from seqfixity.progress import byte_progress
from seqfixity.record import FileRecord
from seqfixity.settings import Settings

CACHE_DIGEST = "xxh128"
REHASH_PLAN = "rehash"


def _plan_settings(wanted: dict[str, int], base: Settings) -> Settings:
    """Settings that compute exactly ``wanted`` (an etag with a known part size gets that part size)."""
    part_size = wanted.get("etag", 0)
    if part_size > 0:
        return base.with_overrides(digests=tuple(sorted(wanted)), part_size=part_size, threshold=1)
    return base.with_overrides(digests=tuple(sorted(wanted)))


def _cache_name(digest: str, part_size: int, settings: Settings) -> str:
    """The cache's name for a digest: an ETag is named by the layout rule that produced it."""
    if digest != "etag":
        return digest
    if part_size > 0:
        return f"etag@{part_size}"
    return f"etag@{settings.etag_preset}:{settings.part_size or ''}:{settings.threshold or ''}"


class DigestSource:
    """Reads files (or takes their digests from the quick-mode cache) and remembers what it found."""

    def __init__(self, settings: Settings, cache: DigestCache | None = None, quick: bool = False,
                 rehash: str | None = None, jobs: int = 2, progress: bool = False) -> None:
        self.settings, self.cache, self.quick, self.rehash = settings, cache, quick, rehash
        self.jobs, self.progress = max(1, jobs), progress
        self.digests: dict[str, dict[str, str]] = {}
        self.errors: dict[str, tuple[str, str]] = {}
        self.rehashed: dict[str, str] = {}
        self.stats: dict[str, os.stat_result] = {}

    def stat(self, path: str) -> os.stat_result | None:
        """Return the stat of a regular file, or None (remembering why) when it cannot be read."""
        if path not in self.stats and path not in self.errors:
            try:
                self.stats[path] = check_regular_file(path, folder_hint=", not a file")
            except InputError as err:
                self.errors[path] = ("missing" if err.missing else "unreadable", err.reason)
        return self.stats.get(path)

    def compute(self, needs: dict[str, dict[str, int]]) -> None:
        """Compute ``needs`` ({path: {digest: part size}}), one read per file."""
        for _ in self.stream(needs):
            pass

    def stream(self, needs: dict[str, dict[str, int]]) -> Iterator[str]:
        """Compute ``needs`` one read per file; yield each path, in order, once its digests or error are known."""
        plans: dict[str, tuple] = {}
        for path, wanted in needs.items():
            info = self.stat(path)
            if info is None:
                continue
            if self.cache is not None:
                wanted = needs[path] = {**wanted, CACHE_DIGEST: 0}
            cached = self.cache.get(info) if self.cache is not None and self.quick else None
            names = {d: _cache_name(d, p, self.settings) for d, p in wanted.items()}
            if cached and all(n in cached for n in names.values()):
                self.digests[path] = {d: cached[n] for d, n in names.items()}
                if self.rehash:
                    plans[path] = (REHASH_PLAN, (self.rehash, 0))
                    self.rehashed[path] = cached.get(self.rehash, "")
                continue
            plans[path] = tuple(sorted(wanted.items()))
        settings = {plan: _plan_settings(dict(plan[1:] if plan[0] == REHASH_PLAN else plan), self.settings)
                    for plan in set(plans.values())}
        total = sum(self.stats[p].st_size for p in plans)
        read_at = time.time()
        with byte_progress(total, self.progress, "checking") as advance:
            records = (record for record, _ in hash_planned(((p, settings[plan]) for p, plan in plans.items()),
                                                             self.jobs, advance))
            for path in needs:
                if path in plans:
                    record = next(records)
                    self._take(record, plans[path], settings[plans[path]], read_at)
                yield path

    def _take(self, record: FileRecord, plan: tuple, settings: Settings, read_at: float) -> None:
        """Remember what one read found (and cache it), or why it failed."""
        path = record.path
        if not record.ok:
            self.errors[path] = (record.error_kind, record.error)
            self.digests.pop(path, None)
            return
        if plan[0] == REHASH_PLAN:
            if record.digests[self.rehash] != self.rehashed[path]:
                self.errors[path] = ("rehash", f"{self.rehash} differs from the cached read at the "
                                               "same size and mtime: changed in place or bit rot")
            return
        self.digests[path] = dict(record.digests)
        info = self.stats[path]
        if self.cache is not None and (record.size, record.mtime_ns) == (info.st_size, info.st_mtime_ns):
            wanted = dict(plan)
            named = {_cache_name(d, wanted.get(d, 0), settings): v for d, v in record.digests.items()}
            self.cache.put(info, path, named, read_at)
