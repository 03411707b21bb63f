"""ICA's file naming guidelines: safe characters, and sample names of at most 32 characters.

ICA's guideline limits the name a sample goes by to about 32 characters, not counting what a pipeline adds
around it. So the length counted is that of the sample part of the file name: for Illumina's own names
(:mod:`seqfixity.inputs.illumina`) the part before ``_S{n}`` (``Undetermined_S0_L001_R1_001.fastq.gz``
counts ``Undetermined``, 12), for any other name the part before its first ``.``. Reports list each kind of
finding once, with a count and examples (:func:`naming_summary`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from seqfixity.inputs.illumina import ica_sample_id, parse_name

MAX_NAME_LENGTH = 32
SAFE_CHARACTERS = "letters, digits and ! - _ . * ' ( )"
_UNSAFE = re.compile(r"[^A-Za-z0-9!\-_.*'()]")
UNSAFE_KIND = "characters outside ICA's safe set"
LONG_KIND = f"sample names longer than ICA's {MAX_NAME_LENGTH} characters"
COUNTED = ("the length counted is the sample part of the file name: before _S{n} in Illumina's names "
           "({sample}_S{n}_L{lane}_R1_001.fastq.gz), else before the first '.'")
EXAMPLES = 5


def counted_name(file_name: str) -> str:
    """The part of ``file_name`` whose length ICA's guideline limits (see the module's docstring)."""
    parsed = parse_name(file_name)
    return parsed.sample if parsed is not None else ica_sample_id(file_name)


def naming_findings(file_name: str) -> list[str]:
    """Return the ways ``file_name`` (its folder path is ignored, as ICA counts it) breaks ICA's guidelines.

    An empty list means the name is safe.
    """
    name = file_name.rsplit("/", 1)[-1]
    findings = []
    unsafe = sorted(set(_UNSAFE.findall(name)))
    if unsafe:
        shown = " ".join(repr(c) for c in unsafe)
        findings.append(f"{UNSAFE_KIND} ({SAFE_CHARACTERS}): {shown}")
    counted = counted_name(name)
    if len(counted) > MAX_NAME_LENGTH:
        findings.append(f"sample name {counted!r} has {len(counted)} characters, more than ICA's {MAX_NAME_LENGTH}")
    return findings


def finding_kind(finding: str) -> str:
    """The kind of a finding of :func:`naming_findings`: unsafe characters or a long sample name."""
    return UNSAFE_KIND if finding.startswith(UNSAFE_KIND) else LONG_KIND


def naming_summary(files: Iterable[tuple[str, list[str]]]) -> dict[str, Any]:
    """summary.json's ``naming``: each kind of finding once, with how many files and the first examples.

    ``files`` pairs each file name with its findings.
    """
    kinds: dict[str, list[str]] = {}
    for name, findings in files:
        for kind in dict.fromkeys(map(finding_kind, findings)):
            kinds.setdefault(kind, []).append(name)
    return {"counted": COUNTED,
            "findings": [{"kind": kind, "files": len(names), "examples": sorted(names)[:EXAMPLES]}
                         for kind, names in sorted(kinds.items())]}
