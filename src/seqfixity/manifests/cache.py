"""The quick-mode cache: digests of files already read, keyed by device, inode, size and mtime_ns.

A record is reused only while all four still match. Files modified less than
:data:`RACY_SECONDS` before they were read are not cached, because a later
write within the same timestamp tick would go unnoticed (git's "racy clean").
The cache is one JSON file, rewritten atomically.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from seqfixity.atomic import write_bytes_atomic

RACY_SECONDS = 2.0
CACHE_VERSION = 1


def default_cache_path() -> Path:
    """Return ``$XDG_CACHE_HOME/seqfixity/quick-cache.json`` (``~/.cache`` when unset)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "seqfixity" / "quick-cache.json"


def cache_key(info: os.stat_result) -> str:
    """Return the key of a file's identity: ``device:inode:size:mtime_ns``."""
    return f"{info.st_dev}:{info.st_ino}:{info.st_size}:{info.st_mtime_ns}"


class DigestCache:
    """Digests by file identity, loaded from and saved to one JSON file."""

    def __init__(self, path: str | os.PathLike[str], load: bool = True) -> None:
        """Load the cache at ``path``; with ``load=False`` start empty and replace the file on :meth:`save`."""
        self.path = Path(path)
        self.entries: dict[str, dict[str, str]] = {}
        self.dirty = not load
        if not load:
            return
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("version") == CACHE_VERSION and isinstance(data.get("entries"), dict):
                # a damaged or hand-edited cache loses its odd entries, never crashes a check
                self.entries = {key: value for key, value in data["entries"].items()
                                if isinstance(value, dict) and all(isinstance(v, str) for v in value.values())}
        except (OSError, ValueError, AttributeError):
            self.entries = {}

    def get(self, info: os.stat_result) -> dict[str, str] | None:
        """Return the cached digests of the file with stat ``info``, or None."""
        return self.entries.get(cache_key(info))

    def put(self, info: os.stat_result, path: str, digests: dict[str, str], read_at: float | None = None) -> bool:
        """Remember ``digests`` for the file with stat ``info`` (read at ``read_at``); False when too fresh."""
        read_at = time.time() if read_at is None else read_at
        if read_at - info.st_mtime_ns / 1e9 < RACY_SECONDS:
            return False
        key = cache_key(info)
        merged = {**self.entries.get(key, {}), **digests, "path": os.fsdecode(path)}
        if self.entries.get(key) != merged:
            self.entries[key] = merged
            self.dirty = True
        return True

    def save(self) -> None:
        """Write the cache atomically if anything changed."""
        if not self.dirty:
            return
        text = json.dumps({"version": CACHE_VERSION, "entries": self.entries}, ensure_ascii=True)
        write_bytes_atomic(self.path, text.encode("ascii"))
        self.dirty = False
