"""The delivery checks on cases beyond the issue's examples, each against Illumina's own conventions.

- BCL Convert and bcl2fastq split a read into chunks (``--fastq-chunk``-style ``_001``, ``_002``): chunk n of R1
  holds the same clusters as chunk n of R2, so a lane's R2_001 is missing even when its R2_002 is there.
- bcl2fastq names the files of a v1 sheet's row after its ``Sample_Name`` (``{Sample_Name}_S{n}_...``, in
  ``{Sample_Project}/{Sample_ID}/``); BCL Convert after ``Sample_ID``: either names the row's files.
- ``fastq_list.csv`` written with a leading blank line is still a fastq_list.csv.
"""

from __future__ import annotations

import pytest

from seqfixity.inputs.sheets import FASTQ_LIST, read_sheet
from seqfixity.record import FileRecord
from seqfixity.reports.delivery import check_delivery
from test_fastq import fastq_bytes


def record(path: str, clusters: int) -> FileRecord:
    """A checked FASTQ with ``clusters`` records (their count taken from the FASTQ text itself)."""
    reads = fastq_bytes(clusters, seed=clusters).count(b"\n") // 4
    sample = path.rsplit("/", 1)[-1].split("_S", 1)[0]
    return FileRecord(path=path, sample=sample, reads=reads, fastq_verdict="OK", digests={"md5": "0" * 32})


def test_a_missing_chunk_of_a_mate_is_an_orphan_even_when_a_later_chunk_is_there():
    files = [record("/run/A_S1_L001_R1_001.fastq.gz", 100), record("/run/A_S1_L001_R1_002.fastq.gz", 40),
             record("/run/A_S1_L001_R2_002.fastq.gz", 40)]
    found = check_delivery(files)
    assert [m.path for m in found.missing] == ["/run/A_S1_L001_R2_001.fastq.gz"]
    assert not found.mismatched


def test_chunks_are_compared_with_their_own_mates_not_with_each_other():
    files = [record(f"/run/A_S1_L001_{read}_{chunk}.fastq.gz", clusters)
             for chunk, clusters in (("001", 100), ("002", 40)) for read in ("R1", "R2")]
    assert not check_delivery(files).mismatched and not check_delivery(files).missing
    files[-1] = record("/run/A_S1_L001_R2_002.fastq.gz", 39)
    assert list(check_delivery(files).mismatched) == ["/run/A_S1_L001_R2_002.fastq.gz"]


V1_WITH_NAMES = ("[Header]\nIEMFileVersion,4\n\n[Reads]\n151\n151\n\n[Settings]\n\n[Data]\n"
                 "Sample_ID,Sample_Name,Sample_Project,index\nA1,SampleA,P1,ACGT\nB1,SampleB,P1,GGGG\n"
                 "C1,SampleC,P1,TTTT\n")


def test_a_v1_sheets_files_may_carry_the_sample_name_as_bcl2fastq_writes_them(tmp_path):
    (tmp_path / "SampleSheet.csv").write_text(V1_WITH_NAMES)
    sheet = read_sheet(str(tmp_path / "SampleSheet.csv"))
    # bcl2fastq: P1/A1/SampleA_S1_L001_R1_001.fastq.gz; C1 (SampleC) was not delivered, SampleB lacks its R2
    files = [record(f"/run/P1/{sid}/{name}_S{n}_L001_{read}_001.fastq.gz", 10)
             for sid, name, n in (("A1", "SampleA", 1), ("B1", "SampleB", 2)) for read in ("R1", "R2")][:-1]
    found = check_delivery(files, [sheet])
    assert not found.extra
    missing = sorted(m.path.rsplit("/", 1)[-1] for m in found.missing)
    assert missing == ["SampleB_S2_L001_R2_001.fastq.gz", "SampleC_S3_L001_R1_001.fastq.gz",
                       "SampleC_S3_L001_R2_001.fastq.gz"]


def test_a_v1_sheets_files_named_after_sample_id_as_bcl_convert_writes_them(tmp_path):
    (tmp_path / "SampleSheet.csv").write_text(V1_WITH_NAMES)
    sheet = read_sheet(str(tmp_path / "SampleSheet.csv"))
    files = [record(f"/run/P1/{sid}_S{n}_L001_{read}_001.fastq.gz", 10)
             for sid, n in (("A1", 1), ("B1", 2), ("C1", 3)) for read in ("R1", "R2")]
    found = check_delivery(files, [sheet])
    assert not found.extra and not found.missing


@pytest.mark.parametrize("lead", ["\n", "\r\n\r\n", "\ufeff\n"])
def test_a_fastq_list_with_leading_blank_lines_is_read(tmp_path, lead):
    text = lead + ("RGID,RGSM,RGLB,Lane,Read1File,Read2File\n"
                   "A.1,A,UnknownLibrary,1,/out/A_S1_L001_R1_001.fastq.gz,/out/A_S1_L001_R2_001.fastq.gz\n")
    (tmp_path / "fastq_list.csv").write_bytes(text.encode())
    sheet = read_sheet(str(tmp_path / "fastq_list.csv"))
    assert sheet.kind == FASTQ_LIST
    assert [(row.sample, row.lane, row.files, row.line) for row in sheet.rows] == [
        ("A", 1, ("A_S1_L001_R1_001.fastq.gz", "A_S1_L001_R2_001.fastq.gz"), len(lead.splitlines()) + 2)]


NO_LANE_SPLITTING_V2 = ("[Header]\nFileFormatVersion,2\n\n[Reads]\nRead1Cycles,151\nRead2Cycles,151\n\n"
                        "[BCLConvert_Settings]\nNoLaneSplitting,true\n\n[BCLConvert_Data]\nLane,Sample_ID,Index\n"
                        "1,A,ACGTACGT\n2,A,ACGTACGT\n1,B,GGGGCCCC\n2,B,GGGGCCCC\n")


def test_lane_less_files_stand_for_every_lane_the_sheet_names(tmp_path):
    """BCL Convert with NoLaneSplitting (bcl2fastq --no-lane-splitting) writes {sample}_S{n}_R1_001.fastq.gz,
    all lanes in one file, whatever the sheet's Lane column says."""
    (tmp_path / "SampleSheet.csv").write_text(NO_LANE_SPLITTING_V2)
    sheet = read_sheet(str(tmp_path / "SampleSheet.csv"))
    files = [record(f"/run/{sample}_S{n}_{read}_001.fastq.gz", 20) for sample, n in (("A", 1), ("B", 2))
             for read in ("R1", "R2")]
    found = check_delivery(files, [sheet])
    assert not found.extra and not found.missing
    found = check_delivery(files[:2], [sheet])  # B was not delivered: its lane-less files are missing
    assert not found.extra
    assert sorted(m.path for m in found.missing) == ["/run/B_S2_R1_001.fastq.gz", "/run/B_S2_R2_001.fastq.gz"]


def test_sample_id_sheet_gives_index_reads_the_sample_of_their_lanes_r1(tmp_path):
    """fastq_list.csv lists Read1File and Read2File only (BCL Convert, DRAGEN); the I1 and I2 of a lane hold
    the same clusters, so under sample_id: sheet they are the RGSM's too, and its md5 file lists them."""
    from seqfixity.inputs.discover import discover

    names = [f"A_S1_L00{lane}_{read}_{chunk}.fastq.gz" for lane in (1, 2) for read in ("R1", "R2", "I1", "I2")
             for chunk in ("001", "002")]
    for name in names:
        (tmp_path / name).write_bytes(b"")
    rows = ["RGID,RGSM,RGLB,Lane,Read1File,Read2File"] + [
        f"A.{lane}.{chunk},Patient1,L,{lane},/staging/A_S1_L00{lane}_R1_{chunk}.fastq.gz,"
        f"/staging/A_S1_L00{lane}_R2_{chunk}.fastq.gz" for lane in (1, 2) for chunk in ("001", "002")]
    (tmp_path / "fastq_list.csv").write_text("\n".join(rows) + "\n")
    files = discover([str(tmp_path)], sample_sheet=str(tmp_path / "fastq_list.csv"), sample_rule="sheet")
    assert {f.sample for f in files} == {"Patient1"} and len(files) == len(names)


@pytest.mark.parametrize("odd", ["A_S1_L001_R1_001 (1).fastq.gz", "A_S1_L001_R1_001-copy.fastq.gz",
                                 "a_s1_l001_r1_001.fastq.gz"])
def test_names_that_almost_follow_the_convention_get_the_note(odd):
    """A browser's second download, a copy's suffix, a lower-cased name: BCL Convert writes none of these, so
    they fall back to ICA's rule and the summary says so, as for A_S1_L1_R1_001."""
    files = [record("/run/A_S1_L001_R1_001.fastq.gz", 10), record("/run/A_S1_L001_R2_001.fastq.gz", 10),
             record(f"/run/{odd}", 10)]
    notes = check_delivery(files).notes
    assert len(notes) == 1 and odd in notes[0] and "A_S1_L001_R2_001" not in notes[0]
