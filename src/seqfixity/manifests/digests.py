"""Digests for the checker: read each file once (several at once on the multi-lane core), or reuse the cache.

A file is read for exactly the digests its manifest entries name, plus xxh128
when a cache is kept. A multipart ETag is asked for as ``etag@PART_SIZE``, one
per candidate part size, all computed in the same read. ``--quick`` takes
digests from the cache when device, inode, size and mtime_ns still match;
``--rehash xxh128`` re-reads such files with xxh3 only and compares that with
the cached read.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

from seqfixity.engine.digest import hash_planned
from seqfixity.engine.etag import ETagHasher
from seqfixity.engine.reading import check_regular_file
from seqfixity.errors import InputError
from seqfixity.manifests.cache import DigestCache
from seqfixity.progress import byte_progress
from seqfixity.record import FileRecord
from seqfixity.settings import Settings

CACHE_DIGEST = "xxh128"
REHASH_PLAN = "rehash"


ETAG_PREFIX = "etag@"


def etag_name(part_size: int) -> str:
    """The name of the ETag at ``part_size`` among a file's digests (and in the cache)."""
    return f"{ETAG_PREFIX}{part_size}"


def _plan_settings(wanted: tuple[str, ...], base: Settings) -> Settings:
    """Settings that compute the plain digests of ``wanted`` (the ETags are sinks of their own)."""
    plain = tuple(sorted(d for d in wanted if not d.startswith(ETAG_PREFIX))) or (CACHE_DIGEST,)
    return base.with_overrides(digests=plain)


def _etag_sinks(plans: dict[str, tuple]):
    """The sink factory that gives each file an ETag hasher per candidate part size its plan names."""
    def sinks(path: str, size: int) -> list:
        names = plans[path][1:] if plans[path][0] == REHASH_PLAN else plans[path]
        return [(ETagHasher(int(name[len(ETAG_PREFIX):])), 1.0) for name in names if name.startswith(ETAG_PREFIX)]

    return sinks


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

    def compute(self, needs: dict[str, set[str]]) -> None:
        """Compute ``needs`` ({path: digest names}, ETags as ``etag@PART_SIZE``), one read per file."""
        for _ in self.stream(needs):
            pass

    def stream(self, needs: dict[str, set[str]]) -> Iterator[str]:
        """Compute ``needs`` one read per file; yield each path, in order, once its digests or error are known."""
        plans: dict[str, tuple] = {}
        for path, wanted in needs.items():
            info = self.stat(path)
            if info is None:
                continue
            if self.cache is not None:
                wanted = needs[path] = {*wanted, CACHE_DIGEST}
            cached = self.cache.get(info) if self.cache is not None and self.quick else None
            if cached and all(name in cached for name in wanted):
                self.digests[path] = {name: cached[name] for name in wanted}
                if self.rehash:
                    plans[path] = (REHASH_PLAN, self.rehash)
                    self.rehashed[path] = cached.get(self.rehash, "")
                continue
            plans[path] = tuple(sorted(wanted))
        settings = {plan: _plan_settings(plan[1:] if plan[0] == REHASH_PLAN else plan, self.settings)
                    for plan in set(plans.values())}
        total = sum(self.stats[p].st_size for p in plans)
        read_at = time.time()
        with byte_progress(total, self.progress, "checking") as advance:
            records = hash_planned(((p, settings[plan]) for p, plan in plans.items()), self.jobs, advance,
                                   _etag_sinks(plans))
            for path in needs:
                if path in plans:
                    record, sinks = next(records)
                    etags = {etag_name(hasher.part_size): hasher.hexdigest() for hasher, _ in sinks}
                    self._take(record, etags, plans[path], read_at)
                yield path

    def _take(self, record: FileRecord, etags: dict[str, str], plan: tuple, read_at: float) -> None:
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
        found = {**{d: v for d, v in record.digests.items() if d in plan}, **etags}
        self.digests[path] = found
        info = self.stats[path]
        if self.cache is not None and (record.size, record.mtime_ns) == (info.st_size, info.st_mtime_ns):
            self.cache.put(info, path, found, read_at)
