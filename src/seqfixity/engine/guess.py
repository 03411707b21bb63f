"""Infer the part size behind an existing ETag, testing every candidate in one read."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from seqfixity.engine.digest import read_once
from seqfixity.engine.etag import MAX_GUESS_CANDIDATES, ETagHasher, ParsedEtag, admissible_part_sizes, guess_candidates
from seqfixity.engine.hashes import DIGEST_KINDS
from seqfixity.engine.reading import check_regular_file


@dataclass
class GuessResult:
    """What a guess found: the part sizes that reproduce the ETag, and which were tried."""

    path: str
    size: int
    etag: ParsedEtag
    matched: list[int] = field(default_factory=list)
    tried: list[int] = field(default_factory=list)
    admissible: tuple[int, int] | None = None
    candidates_in_range: int = 0
    computed: dict[int, str] = field(default_factory=dict)
    md5: str = ""

    @property
    def found(self) -> bool:
        """True when the ETag was reproduced."""
        return bool(self.matched) or (not self.etag.multipart and self.md5 == self.etag.hex)


def guess_part_size(
    path: str | os.PathLike[str],
    etag: ParsedEtag,
    candidates: list[int] | None = None,
    limit: int = MAX_GUESS_CANDIDATES,
) -> GuessResult:
    """Find the part size(s) that reproduce ``etag`` for the file at ``path``, in one read.

    For a plain ETag the file's MD5 is compared. For ``hex-N`` the candidates
    (default: :func:`seqfixity.engine.etag.guess_candidates`) are all hashed from the
    same bytes. Raises :class:`~seqfixity.errors.InputError` for unreadable files
    and :class:`~seqfixity.engine.etag.EtagError` when no part size can give N parts.
    """
    path = os.fspath(path)
    size = check_regular_file(path, folder_hint=", not a file").st_size
    result = GuessResult(path=path, size=size, etag=etag)
    if not etag.multipart:
        md5 = DIGEST_KINDS["md5"].new()
        read_once(path, [(md5, 1.0)])
        result.md5 = md5.result()
        return result
    result.admissible = admissible_part_sizes(size, etag.parts)
    if candidates is None:
        candidates, result.candidates_in_range = guess_candidates(size, etag.parts, limit)
    else:
        low, high = result.admissible
        candidates = [c for c in dict.fromkeys(candidates) if low <= c <= high]
        result.candidates_in_range = len(candidates)
    hashers = {part_size: ETagHasher(part_size) for part_size in candidates}
    read_once(path, [(h, 1.0) for h in hashers.values()])
    result.tried = list(candidates)
    for part_size, hasher in hashers.items():
        result.computed[part_size] = hasher.hexdigest()
        if hasher.hexdigest() == str(etag):
            result.matched.append(part_size)
    return result
