"""A delivery as a whole: reads that must agree, files that should be there, files no sheet explains.

Per sample, lane and chunk (an Illumina name's ``{sample}_S{n}_L{lane}`` and its ``_{chunk}``; for other
names, the name with its mate number blanked), R1, R2, I1 and I2 hold one record per cluster, so their read
counts must agree. A read that the run has elsewhere (or the sheet names) and a lane lacks is a MISSING file
named after its siblings: an orphan mate (R1 without its R2, or the reverse) or a missing index read. With
Illumina's sheets (:mod:`seqfixity.inputs.sheets`), a sample or lane the sheet names with no file is MISSING,
and a FASTQ that no row explains is EXTRA. Each fault is reported once, on the file it concerns.
"""

from __future__ import annotations

import os
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from seqfixity.fastq.formats import name_format
from seqfixity.inputs.illumina import RULE, breaks_convention, parse_name
from seqfixity.inputs.sheets import FASTQ_LIST, UNDETERMINED, Sheet
from seqfixity.record import FileRecord

_MATE = re.compile(r"([._])(R?)([12])((?:_\d+)?\.(?:fastq|fq)(?:\.(?:gz|bz2|zst|ora))?)$")
READ_ORDER = ("R1", "R2", "R3", "R4", "I1", "I2")
NOTE_EXAMPLES = 5


def mate_key(path: str) -> tuple[str, str, str] | None:
    """Return (folder, name with the mate number blanked, mate) for ``..._R1_001.fastq.gz``-style names."""
    folder, name = os.path.split(path)
    match = _MATE.search(name)
    if not match:
        return None
    blanked = name[:match.start()] + match.group(1) + match.group(2) + "#" + match.group(4)
    return folder, blanked, match.group(3)


def read_of(path: str) -> tuple[tuple, str] | None:
    """(the group of files that share clusters, the read: R1, R2, I1, ...) for a FASTQ name, or None."""
    parsed = parse_name(path)
    if parsed is not None:
        # a chunk (_001, _002: BCL Convert's --fastq-chunk...) holds its own clusters: R1_002 pairs with R2_002
        return (("illumina", os.path.dirname(path), parsed.sample, parsed.number, parsed.lane, parsed.chunk),
                parsed.read)
    mate = mate_key(path)
    if mate is not None:
        return ("mate", *mate[:2]), f"R{mate[2]}"
    return None


@dataclass
class DeliveryFindings:
    """What :func:`check_delivery` found, by file path and by sample."""

    mismatched: dict[str, str] = field(default_factory=dict)  # path: why its read count disagrees
    missing: list[FileRecord] = field(default_factory=list)  # files that should be there, as MISSING records
    extra: dict[str, str] = field(default_factory=dict)  # path: why no sheet row explains it
    pairs: dict[str, list[str]] = field(default_factory=dict)  # sample: the read problems of its lanes
    notes: list[str] = field(default_factory=list)


def check_delivery(records: Sequence[FileRecord], sheets: Sequence[Sheet] = (),
                   rule: str = "illumina") -> DeliveryFindings:
    """Compare the reads of each lane's files, find the files the run or the sheets expect, and those no sheet
    explains; note names that look like Illumina's but break the convention (under the ``illumina`` and
    ``sheet`` rules, which then fall back to ICA's)."""
    found = DeliveryFindings()
    illumina = [sheet for sheet in sheets if sheet.illumina]
    groups: dict[tuple, dict[str, FileRecord]] = defaultdict(dict)
    for record in records:
        key = read_of(record.path)
        if key is not None:
            groups[key[0]][key[1]] = record
    present = {os.path.basename(record.path) for record in records}
    for sheet in illumina:
        _explain(sheet, records, found)
    # a lane that no sheet row explains is reported once, as EXTRA: its missing mates would repeat the fault
    explained = {key: reads for key, reads in groups.items()
                 if key[0] == "illumina" and not all(record.path in found.extra for record in reads.values())}
    run_reads = {read for reads in explained.values() for read in reads}
    run_reads |= {read for sheet in illumina if sheet.kind != FASTQ_LIST for read in sheet.reads}
    for key, reads in sorted(groups.items()):
        _compare_counts(key, reads, found)
        if key in explained:
            _expect_reads(key, reads, run_reads, found)
    present |= {os.path.basename(record.path) for record in found.missing}
    for sheet in illumina:
        _expect_sheet(sheet, records, run_reads, present, found)
    if rule != "ica":
        odd = sorted(os.path.basename(r.path) for r in records if breaks_convention(r.path))
        if odd:
            names = "1 file name looks like Illumina's but does" if len(odd) == 1 else \
                f"{len(odd)} file names look like Illumina's but do"
            found.notes.append(f"{names} not follow {RULE}: grouped by "
                               f"ICA's rule (the name up to its first '.'): {', '.join(odd[:NOTE_EXAMPLES])}"
                               + (", ..." if len(odd) > NOTE_EXAMPLES else ""))
    return found


def _where(key: tuple) -> str:
    if key[0] == "illumina":
        lane = f"lane {key[4]} of " if key[4] is not None else ""
        chunk = f"chunk {key[5]} of " if key[5] != "001" else ""
        return f"{chunk}{lane}{key[2]}"
    return key[2].replace("#", "?")


def _compare_counts(key: tuple, reads: dict[str, FileRecord], found: DeliveryFindings) -> None:
    counted = {read: record for read, record in reads.items() if record.ok and record.reads is not None}
    counts = Counter(record.reads for record in counted.values())
    if len(counts) < 2:
        return
    reference = max(counts, key=lambda count: (counts[count], count))  # the most common; a tie: the most reads
    agree = sorted((read for read, record in counted.items() if record.reads == reference), key=_read_order)
    for read in sorted(counted, key=_read_order):
        record = counted[read]
        if record.reads != reference:
            text = (f"{read} has {record.reads} reads, {' and '.join(agree)} {reference} ({_where(key)}): "
                    f"{os.path.basename(record.path)}")
            found.mismatched[record.path] = text
            found.pairs.setdefault(record.sample, []).append(text)


def _read_order(read: str) -> int:
    return READ_ORDER.index(read) if read in READ_ORDER else len(READ_ORDER)


def _expect_reads(key: tuple, reads: dict[str, FileRecord], run_reads: set[str], found: DeliveryFindings) -> None:
    sibling = reads[min(reads, key=_read_order)]
    parsed = parse_name(sibling.path)
    for read in sorted(run_reads - set(reads), key=_read_order):
        name = parsed.name(read=read)
        if read.startswith("R"):
            why = f"orphan mate: {os.path.basename(sibling.path)} has no {read} ({name} is not there)"
        else:
            why = f"index read missing: {name} is not there, while other lanes of the run have {read}"
        _add_missing(found, os.path.join(os.path.dirname(sibling.path), name), sibling.sample, why)


def _add_missing(found: DeliveryFindings, path: str, sample: str, why: str) -> None:
    found.missing.append(FileRecord(path=path, sample=sample, error=why, error_kind="missing"))
    found.pairs.setdefault(sample, []).append(why)


def _expect_sheet(sheet: Sheet, records: Sequence[FileRecord], run_reads: set[str], present: set[str],
                  found: DeliveryFindings) -> None:
    fastqs = _fastqs(records)
    sheet_name = os.path.basename(sheet.path)
    if sheet.kind == FASTQ_LIST:
        folder = _common_folder(fastqs)
        for row in sheet.rows:
            for name in row.files:
                if name not in present:
                    parsed = parse_name(name)
                    _add_missing(found, os.path.join(folder, name), parsed.sample if parsed else row.sample,
                                 f"named by {sheet_name} line {row.line} (sample {row.sample}) but not there")
        return
    lanes, owners = sheet.lanes(), sheet.file_samples()
    by_sample: dict[str, list[tuple[FileRecord, object]]] = defaultdict(list)
    for record in fastqs:
        parsed = parse_name(record.path)
        if parsed is not None and parsed.sample in owners:
            by_sample[owners[parsed.sample]].append((record, parsed))
    # files named after Sample_Name (bcl2fastq) rather than Sample_ID: a missing sample's are expected so too
    by_alias = any(parsed.sample != owner for owner, pairs in by_sample.items() for _, parsed in pairs)
    file_name = {row.sample: row.alias for row in sheet.rows if row.alias and by_alias}
    run_lanes = sorted({parsed.lane for pairs in by_sample.values() for _, parsed in pairs},
                       key=lambda lane: -1 if lane is None else lane) or [None]
    suffix = Counter(parsed.suffix for pairs in by_sample.values() for _, parsed in pairs).most_common(1)
    reads = sorted(run_reads or {"R1"}, key=_read_order)
    for number, sample in enumerate(sheet.samples(), 1):
        have = by_sample.get(sample, [])
        lanes_have = {parsed.lane for _, parsed in have}
        wanted = sorted({lane for lane in lanes[sample] if lane is not None} if None not in lanes[sample]
                        else set(run_lanes), key=lambda lane: -1 if lane is None else lane)
        if None in lanes_have or (not have and run_lanes == [None]):
            # lane-less files (NoLaneSplitting) merge the sheet's lanes: one set of reads stands for them all
            wanted = [None]
        folder = os.path.dirname(have[0][0].path) if have else _common_folder(fastqs)
        s_number = have[0][1].number if have else number
        ending = have[0][1].suffix if have else (suffix[0][0] if suffix else ".fastq.gz")
        for lane in wanted:
            if lane in lanes_have:
                continue
            row = next(r for r in sheet.rows if r.sample == sample and (lane is None or r.lane in (lane, None)))
            lane_words = f", lane {lane}" if lane is not None else ""
            for read in reads:
                lane_part = f"_L{lane:03d}" if lane is not None else ""
                prefix = have[0][1].sample if have else file_name.get(sample, sample)
                name = f"{prefix}_S{s_number}{lane_part}_{read}_001{ending}"
                if name not in present:
                    present.add(name)
                    _add_missing(found, os.path.join(folder, name), have[0][0].sample if have else prefix,
                                 f"named by {sheet_name} line {row.line} (sample {sample}{lane_words}) but not there")


def _fastqs(records: Sequence[FileRecord]) -> list[FileRecord]:
    return [record for record in records if (name_format(record.path) or ("",))[0] == "fastq"]


def _explain(sheet: Sheet, records: Sequence[FileRecord], found: DeliveryFindings) -> None:
    """Mark EXTRA each FASTQ that no row of ``sheet`` explains (Undetermined is always explained)."""
    sheet_name = os.path.basename(sheet.path)
    listed = {name for row in sheet.rows for name in row.files}
    lanes, owners = sheet.lanes(), sheet.file_samples()
    for record in _fastqs(records):
        parsed = parse_name(record.path)
        if parsed is not None and parsed.sample == UNDETERMINED:
            continue
        if sheet.kind == FASTQ_LIST:
            if os.path.basename(record.path) not in listed and (parsed is None or parsed.name(read="R1") not in listed):
                found.extra.setdefault(record.path, f"no row of {sheet_name} lists it")
        elif parsed is None:
            found.extra.setdefault(record.path, f"no row of {sheet_name} explains it (its name is not Illumina's)")
        elif parsed.sample not in owners:
            found.extra.setdefault(record.path, f"no row of {sheet_name} names sample {parsed.sample}")
        elif parsed.lane is not None and not ({parsed.lane, None} & lanes[owners[parsed.sample]]):
            # a lane-less name (NoLaneSplitting, bcl2fastq --no-lane-splitting) holds every lane of its sample
            found.extra.setdefault(record.path, f"no row of {sheet_name} names sample {parsed.sample} in lane "
                                                f"{parsed.lane}")


def _common_folder(records: Sequence[FileRecord]) -> str:
    folders = Counter(os.path.dirname(record.path) for record in records)
    return folders.most_common(1)[0][0] if folders else ""
