"""Illumina's FASTQ file names and the sample ids they give, with ICA's rule as the fallback.

BCL Convert and DRAGEN name their FASTQ files ``{sample}_S{n}_L{lane:03}_{R1|R2|I1|I2}_001.fastq.gz``
(without ``_L{lane}`` when lanes are not split), unassigned reads ``Undetermined_S0_...``; the
compression suffix may be ``.gz``, ``.bz2``, ``.zst`` or ``.ora`` (BCL Convert Software Guide, "FASTQ file
names"). ``sample_id``:

``illumina``  a name that follows that convention belongs to ``{sample}``, all its lanes and reads in one
              sample; any other sequence file falls back to ICA's rule; any other file (a report, a sample
              sheet, InterOp) belongs to the folder it is in, so ``patterns: all`` checks a delivery folder
              by folder;
``ica``       ICA's reference rule exactly: the name up to its first ``.``, one sample per name;
``sheet``     the sample sheet's ids (:mod:`seqfixity.inputs.sheets`), the ``illumina`` rule for the rest.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

# The convention itself; the Nextflow pipeline groups its inputs with the same expression (Java's regular
# expressions read it the same way).
ILLUMINA_NAME = (r"^(?<sample>.+)_S(?<number>[0-9]+)(?:_L(?<lane>[0-9]{3}))?_(?<read>[RI][1-4])_(?<chunk>[0-9]{3})"
                 r"\.(?:fastq|fq)(?:\.(?:gz|bz2|zst|ora))?$")
_ILLUMINA = re.compile(ILLUMINA_NAME.replace("(?<", "(?P<"))
# A name that has the parts of the convention but not their form (A_S1_L1_R1_001, A_L001_R1_001, a browser's
# second download A_S1_L001_R1_001 (1).fastq.gz, a lower-case a_s1_l001_r1_001): it falls back to ICA's rule,
# with a note.
_LOOKS_ILLUMINA = re.compile(r"_(?:S[0-9]+|L[0-9]+)(?:_.*)?_[RI][0-9]+(?:_[0-9]+)?[^/]*?\.(?:fastq|fq)(?:\.\w+)?$",
                             re.IGNORECASE)
RULE = "{sample}_S{n}_L{lane:03}_{R1|R2|I1|I2}_001.fastq[.gz|.bz2|.zst|.ora] (or without _L{lane})"
# A sequence file's name (FASTQ in any compression, BAM, CRAM), as seqfixity.fastq.formats.name_format reads it;
# any other file takes the name of its folder as its sample under the illumina rule.
SEQUENCE_NAME = r"(?i)^.*\.(?:(?:fastq|fq)(?:\.(?:gz|bgz|bgzf|bz2|zst|ora))?|bam|cram)$"
_SEQUENCE = re.compile(SEQUENCE_NAME)


@dataclass(frozen=True)
class IlluminaName:
    """The parts of a file name that follows Illumina's convention."""

    sample: str
    number: int
    lane: int | None
    read: str
    chunk: str
    suffix: str  # ".fastq.gz" and the like, as written

    def name(self, read: str | None = None, lane: int | None = -1) -> str:
        """This name with another ``read`` (R2 for an R1) or ``lane`` (None for lane-less)."""
        lane = self.lane if lane == -1 else lane
        lane_part = f"_L{lane:03d}" if lane is not None else ""
        return f"{self.sample}_S{self.number}{lane_part}_{read or self.read}_{self.chunk}{self.suffix}"


def parse_name(file_name: str) -> IlluminaName | None:
    """Return the parts of ``file_name`` (its folder ignored) when it follows Illumina's convention, else None."""
    base = os.path.basename(file_name)
    match = _ILLUMINA.match(base)
    if not match:
        return None
    suffix = base[match.end("chunk"):]
    lane = match.group("lane")
    return IlluminaName(match.group("sample"), int(match.group("number")), int(lane) if lane else None,
                        match.group("read"), match.group("chunk"), suffix)


def breaks_convention(file_name: str) -> bool:
    """Whether ``file_name`` looks like an Illumina name but does not follow the convention (A_S1_L1_R1_001)."""
    base = os.path.basename(file_name)
    return parse_name(base) is None and bool(_LOOKS_ILLUMINA.search(base))


def ica_sample_id(file_name: str) -> str:
    """ICA's reference rule: the file name up to its first ``.``."""
    return os.path.basename(file_name).split(".", 1)[0]


def folder_sample_id(path: str) -> str:
    """The sample of a file that is not a sequence file: the name of the folder it is in."""
    return os.path.basename(os.path.dirname(os.path.abspath(path))) or "root"


def sample_id_for(path: str, rule: str) -> str:
    """The sample id of ``path`` under ``rule`` (``illumina`` or ``ica``; ``sheet`` uses ``illumina`` for the
    files that no sheet names)."""
    if rule == "ica":
        return ica_sample_id(path)
    parsed = parse_name(path)
    if parsed is not None:
        return parsed.sample
    if not _SEQUENCE.match(os.path.basename(path)):
        return folder_sample_id(path)
    return ica_sample_id(path)
