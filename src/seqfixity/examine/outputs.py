"""Where ``seqfixity digest`` puts each sample's outputs, and the removal of those of samples gone from a run."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable

REUSE_FOLDER = os.path.join(".seqfixity", "reuse")


def checksums_path(outdir: str, sample: str) -> str:
    """The sample's md5sum-format file: ``{outdir}/checksums/{sample}_md5.txt``."""
    return os.path.join(outdir, "checksums", f"{sample}_md5.txt")


def records_path(outdir: str, sample: str) -> str:
    """The sample's JSON-lines records: ``{outdir}/records/{sample}.jsonl``."""
    return os.path.join(outdir, "records", f"{sample}.jsonl")


def reuse_path(outdir: str, sample: str) -> str:
    """The sample's record-reuse cache: ``{outdir}/.seqfixity/reuse/{sample}.json``."""
    return os.path.join(outdir, REUSE_FOLDER, f"{sample}.json")


def remove_stale(outdir: str, current_records: Iterable[str]) -> list[str]:
    """Remove the outputs of every sample in ``outdir`` whose records file is not in ``current_records``.

    A sample removed from (or renamed in) a run would otherwise keep its
    ``_md5.txt``, and ``md5sum -c checksums/*`` would fail on its files. Return the samples removed.
    """
    keep = {os.path.realpath(path) for path in current_records}
    try:
        entries = sorted(os.scandir(os.path.join(outdir, "records")), key=lambda e: e.name)
    except FileNotFoundError:
        return []
    removed = []
    for entry in entries:
        if not entry.name.endswith(".jsonl") or os.path.realpath(entry.path) in keep:
            continue
        sample = entry.name.removesuffix(".jsonl")
        for path in (checksums_path(outdir, sample), reuse_path(outdir, sample), entry.path):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        removed.append(sample)
    return removed
