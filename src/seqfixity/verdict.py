"""Verdict classes, their exit bits, and the batch outcome.

Exit codes are a bitmask, so a script can tell what went wrong from ``$?``:

====  =================  ==================================================
bit   verdict            meaning
====  =================  ==================================================
1     MISMATCH           content differs from what was expected
2     SIZE_MISMATCH      size differs (likely truncated or still copying)
4     MISSING            expected but not found (also MOVED, MISSING_LOCAL, MISSING_REMOTE)
8     EXTRA              present but not expected
16    UNREADABLE         could not be read in full (also INVALID input)
32    UNVERIFIABLE       nothing comparable (for example a non-MD5 ETag)
64    MANIFEST_ERROR     a manifest line or remote listing could not be parsed
128   usage error        bad command-line arguments or settings
====  =================  ==================================================
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

from seqfixity.errors import did_you_mean

USAGE_ERROR_EXIT = 128


class Verdict(enum.Enum):
    """The verdict on one file; ``bit`` is its exit-code bit (0 for OK)."""

    OK = 0
    MISMATCH = 1
    SIZE_MISMATCH = 2
    MISSING = 4
    MOVED = 4 | 0x100
    MISSING_LOCAL = 4 | 0x200
    MISSING_REMOTE = 4 | 0x400
    EXTRA = 8
    UNREADABLE = 16
    INVALID = 16 | 0x100
    UNVERIFIABLE = 32
    MANIFEST_ERROR = 64

    @property
    def bit(self) -> int:
        """The exit-code bit this verdict sets."""
        return self.value & 0xFF


class Outcome(enum.Enum):
    """The batch outcome, named as ICA names its batch jobs (STOPPED: the user stopped the run)."""

    SUCCEEDED = "SUCCEEDED"
    PARTIALLY_SUCCEEDED = "PARTIALLY_SUCCEEDED"
    FAILED = "FAILED"
    STOPPED = "STOPPED"


ALL_FAILURE_VERDICTS = frozenset(v for v in Verdict if v is not Verdict.OK)


def parse_verdicts(text: str) -> frozenset[Verdict]:
    """Parse a comma-separated list of verdict names (``mismatch,missing``; ``all``; ``none``)."""
    names = [n.strip().upper().replace("-", "_") for n in text.split(",") if n.strip()]
    if names == ["ALL"]:
        return ALL_FAILURE_VERDICTS
    if names in ([], ["NONE"]):
        return frozenset()
    chosen = set()
    for name in names:
        if name not in Verdict.__members__ or name == "OK":
            choices = ", ".join(v.name.lower() for v in ALL_FAILURE_VERDICTS)
            hint = did_you_mean(name.lower(), [v.name.lower() for v in ALL_FAILURE_VERDICTS])
            raise ValueError(f"unknown verdict {name.lower()!r} ({hint}choose from {choices}, all, none)")
        chosen.add(Verdict[name])
    return frozenset(chosen)


def exit_code(verdicts: Iterable[Verdict], fail_on: frozenset[Verdict] = ALL_FAILURE_VERDICTS) -> int:
    """Return the exit-code bitmask of ``verdicts``, counting only those in ``fail_on``."""
    code = 0
    for verdict in verdicts:
        if verdict in fail_on:
            code |= verdict.bit
    return code


def outcome(verdicts: Iterable[Verdict], fail_on: frozenset[Verdict] = ALL_FAILURE_VERDICTS) -> Outcome:
    """SUCCEEDED when nothing failed, FAILED when something failed and nothing was OK, else PARTIALLY_SUCCEEDED.

    A verdict left out of ``fail_on`` (``--fail-on``, ``--ignore-missing``) does
    not fail the run, but neither does it count as a file that passed: a batch
    of mismatches and ignored extras is FAILED, not PARTIALLY_SUCCEEDED.
    """
    passed = failed = 0
    for verdict in verdicts:
        if verdict in fail_on:
            failed += 1
        elif verdict is Verdict.OK:
            passed += 1
    if not failed:
        return Outcome.SUCCEEDED
    return Outcome.FAILED if not passed else Outcome.PARTIALLY_SUCCEEDED
