"""Reuse of unchanged files' records in ``seqfixity digest``: a re-run batch reads only what changed.

``seqfixity digest`` rewrites ``records/{sample}.jsonl`` whole for every sample
of its batch. Beside it, ``.seqfixity/reuse/{sample}.json`` is a
:class:`~seqfixity.manifests.cache.DigestCache` (keyed by device, inode, size and
mtime_ns) that names, for each file read in full, its path, the settings that
produced its record, and the SHA-256 of its record line. A later run takes a
record line back, unchanged, when the file's identity, its path and the
settings all match and that exact line is still in the records file; so the
reports are the same bytes as after a fresh read. The cache's racy-clean rule
applies: a file modified less than :data:`~seqfixity.manifests.cache.RACY_SECONDS` before
the run started gets no entry, and is read again next time.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections import defaultdict
from collections.abc import Sequence

from seqfixity.engine.reading import check_regular_file
from seqfixity.errors import InputError
from seqfixity.examine.outputs import records_path, reuse_path
from seqfixity.manifests.cache import DigestCache
from seqfixity.record import FileRecord
from seqfixity.settings import Settings


def settings_key(settings: Settings) -> str:
    """Everything a record depends on besides the file: the seqfixity version and the settings, as one string."""
    from seqfixity import __version__

    return json.dumps([__version__, list(settings.digests), settings.etag_preset, settings.part_size,
                       settings.threshold, settings.validate, settings.naming, settings.ora_decoder])


def record_line(record: FileRecord) -> str:
    """A record as one line of ``records/{sample}.jsonl``."""
    return json.dumps(record.to_dict()) + "\n"


def _line_id(line: str) -> str:
    return hashlib.sha256(line.encode("utf-8", "surrogateescape")).hexdigest()


class RecordReuse:
    """The files of one ``seqfixity digest`` run, seen before any is read, and the records that can stand for them."""

    def __init__(self, outdir: str, settings: Settings, items: Sequence[tuple[str, str]]) -> None:
        """Stat every ``(path, sample)`` now, before any file is read (files that cannot be stat'ed are skipped)."""
        self.outdir, self.key = outdir, settings_key(settings)
        self.started = time.time()
        self.stats: dict[str, os.stat_result] = {}
        for path, _ in items:
            try:
                self.stats[path] = check_regular_file(path)
            except InputError:
                continue
        self.items = list(items)

    def previous(self) -> dict[str, FileRecord]:
        """Return {path: previous record} for the files whose identity, path and settings are unchanged."""
        by_sample: dict[str, list[str]] = defaultdict(list)
        for path, sample in self.items:
            if path in self.stats:
                by_sample[sample].append(path)
        found: dict[str, FileRecord] = {}
        for sample, paths in by_sample.items():
            cache = DigestCache(reuse_path(self.outdir, sample))
            if not cache.entries:
                continue
            try:
                with open(records_path(self.outdir, sample), encoding="utf-8", errors="surrogateescape") as handle:
                    lines = {_line_id(line): line for line in handle}
            except OSError:
                continue
            for path in paths:
                entry = cache.get(self.stats[path]) or {}
                line = lines.get(entry.get("record", ""))
                if line is None or entry.get("path") != path or entry.get("settings") != self.key:
                    continue
                record = FileRecord.from_dict(json.loads(line))
                if record.ok and record_line(record) == line:
                    found[path] = record
        return found

    def remember(self, sample: str, records: Sequence[FileRecord], lines: Sequence[str]) -> None:
        """Replace the sample's reuse entries by those of ``records`` (written as ``lines``) that may be reused."""
        cache = DigestCache(reuse_path(self.outdir, sample), load=False)
        for record, line in zip(records, lines, strict=True):
            info = self.stats.get(record.path)
            if record.ok and info is not None and (record.size, record.mtime_ns) == (info.st_size, info.st_mtime_ns):
                cache.put(info, record.path, {"settings": self.key, "record": _line_id(line)}, self.started)
        cache.save()
