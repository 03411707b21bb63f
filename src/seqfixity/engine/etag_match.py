"""A file against an expected ETag: which part sizes to compute, and what the computed ETags say.

Shared by ``check`` (an ETag in a manifest) and ``verify`` (a remote object's). A plain ETag is the MD5. A
``-N`` ETag is recomputed at its exact part size when that is known (the server said it, or the manifest),
else at every likely candidate, all in the same read. Only an exact part size that gives another ETag
proves the content differs (MISMATCH). An ETag that no candidate reproduces proves nothing either way (the
uploader may have used another part size, or parts of different sizes), and one that S3 cannot produce at
all is not a multipart ETag of this file: both are UNVERIFIABLE, with the reason, unless another digest
decides.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from seqfixity.engine.etag import (
    MAX_GUESS_CANDIDATES,
    ImpossibleEtag,
    ParsedEtag,
    admissible_part_sizes,
    guess_candidates,
    parts_for,
)
from seqfixity.units import format_size

MATCH, DIFFER, UNKNOWN = "match", "differ", "unknown"


@dataclass
class EtagPlan:
    """What to compute for an expected ETag: the part sizes (none for a plain ETag), and why if it cannot be."""

    expected: ParsedEtag
    part_sizes: list[int] = field(default_factory=list)
    exact: bool = False
    in_range: int = 0
    problem: str = ""
    note: str = ""


@dataclass(frozen=True)
class EtagJudgement:
    """What the computed ETags say: ``match``, ``differ`` or ``unknown``, why, and the ETag to report."""

    outcome: str
    hint: str
    computed: str = ""
    part_size: int = 0


def plan_etag(expected: ParsedEtag, size: int, exact_part_size: int = 0, preferred: Sequence[int] = (),
              limit: int = MAX_GUESS_CANDIDATES) -> EtagPlan:
    """Plan the read for ``expected`` on a ``size``-byte file: the exact part size, else up to ``limit``
    candidates (the ``preferred`` ones first, when S3 admits them)."""
    if not expected.multipart:
        return EtagPlan(expected, exact=True)
    note = ""
    if exact_part_size:
        count = parts_for(size, exact_part_size)
        if count == expected.parts:
            return EtagPlan(expected, [exact_part_size], exact=True, in_range=1)
        # The same bytes cut at this part size make another number of parts: the ETag itself says it was not
        # made at this part size (or with parts of different sizes), which says nothing about the content.
        note = (f"part size {format_size(exact_part_size)} cuts {size} bytes into {count} parts, not the ETag's "
                f"{expected.parts}, so it is not the uploader's")
    try:
        low, high = admissible_part_sizes(size, expected.parts)
        if expected.parts == 1:  # every part size from the file's size up gives the one ETag: it is known
            return EtagPlan(expected, [low], exact=True, in_range=1, note=note)
        candidates, in_range = guess_candidates(size, expected.parts, max(len(preferred), 10**6))
    except ImpossibleEtag as err:
        return EtagPlan(expected, problem=str(err))
    first = [p for p in preferred if low <= p <= high and p in candidates]
    ordered = list(dict.fromkeys([*first, *candidates]))
    return EtagPlan(expected, ordered[:max(1, limit)], in_range=in_range, note=note)


def judge_etag(plan: EtagPlan, computed: Mapping[int, str], md5: str | None = None) -> EtagJudgement:
    """Judge ``computed`` ({part size: ETag}, or the MD5 for a plain ETag) against ``plan.expected``."""
    expected = plan.expected
    if not expected.multipart:
        if md5 is None:
            return EtagJudgement(UNKNOWN, "the MD5 was not computed")
        return EtagJudgement(MATCH if md5 == expected.hex else DIFFER, "ETag (MD5)", md5)
    if plan.problem:
        return EtagJudgement(UNKNOWN, plan.problem)
    matched = [p for p, value in computed.items() if value == str(expected)]
    if matched:
        how = "exact" if plan.exact and not plan.note else "inferred"
        note = f"; {plan.note}" if plan.note else ""
        return EtagJudgement(MATCH, f"ETag (part size {format_size(matched[0])}, {how}{note})", str(expected),
                             matched[0])
    if plan.exact:
        part_size = plan.part_sizes[0]
        found = computed.get(part_size, "")
        count = int(found.rpartition("-")[2]) if "-" in found else 0
        # a noun phrase, as the MATCH hint is: the callers add "differs"
        hint = (f"ETag of {expected.parts} parts ({count} at the known part size {format_size(part_size)})"
                if count != expected.parts else f"ETag at the known part size {format_size(part_size)}")
        return EtagJudgement(DIFFER, hint, found, part_size)
    more = plan.in_range - len(computed)
    tried = ", ".join(format_size(p) for p in sorted(computed)[:6]) + (", ..." if len(computed) > 6 else "")
    return EtagJudgement(UNKNOWN, (f"{plan.note}; " if plan.note else "")
                         + f"no part size reproduces ETag {expected} (tried {len(computed)}: {tried}"
                         + (f"; {more} more in range, raise --max-candidates" if more > 0 else "")
                         + "): the content differs, or it was uploaded with another part size or with parts of "
                           "different sizes (seqfixity etag guess FILE ETAG --max-candidates N searches further)")
