"""Illumina's sample sheets and file names: told apart by content, read as BCL Convert writes them, bad ones in
one line. The sheets are written as the BCL Convert Software Guide describes them (v1 [Data], v2
[BCLConvert_Data], Reports/fastq_list.csv)."""

from __future__ import annotations

import pytest

from conftest import run_cli
from illumina_delivery import sheet_v1, sheet_v2
from seqfixity.inputs.discover import discover
from seqfixity.inputs.illumina import breaks_convention, parse_name, sample_id_for
from seqfixity.inputs.sheets import FASTQ_LIST, SHEET_V1, SHEET_V2, TSV, SheetError, read_sheet, read_sheets
from test_fastq import fastq_bytes

FASTQ_LIST_TEXT = ("RGID,RGSM,RGLB,Lane,Read1File,Read2File\n"
                   "A.1,A,UnknownLibrary,1,/out/A_S1_L001_R1_001.fastq.gz,/out/A_S1_L001_R2_001.fastq.gz\n"
                   "B.1,B,UnknownLibrary,1,/out/B_S2_L001_R1_001.fastq.gz,/out/B_S2_L001_R2_001.fastq.gz\n")


def test_illumina_names_are_parsed_and_sample_ids_follow_the_rule():
    parsed = parse_name("run/My_Sample-1_S12_L003_I2_001.fastq.zst")
    assert (parsed.sample, parsed.number, parsed.lane, parsed.read, parsed.suffix) == (
        "My_Sample-1", 12, 3, "I2", ".fastq.zst")
    assert parsed.name(read="R1") == "My_Sample-1_S12_L003_R1_001.fastq.zst"
    assert parse_name("A_S1_R1_001.fastq.gz").lane is None  # no lane splitting
    assert sample_id_for("x/Undetermined_S0_L001_R1_001.fastq.gz", "illumina") == "Undetermined"
    assert sample_id_for("x/A_S1_L001_R1_001.fastq.gz", "ica") == "A_S1_L001_R1_001"
    for broken in ("A_S1_L1_R1_001.fastq.gz", "A_L001_R1_001.fastq.gz", "A_S1_L001_R1_1.fastq.gz"):
        assert parse_name(broken) is None and breaks_convention(broken)
        assert sample_id_for(broken, "illumina") == broken.split(".")[0]  # ICA's rule
    assert not breaks_convention("plain_sample.fastq.gz")
    assert sample_id_for("run/Reports/fastq_list.csv", "illumina") == "Reports"


def test_lanes_and_reads_of_a_sample_are_one_sample(tmp_path):
    for lane in (1, 2):
        for read in ("R1", "R2", "I1"):
            (tmp_path / f"A_S1_L00{lane}_{read}_001.fastq.gz").write_bytes(b"")
    (tmp_path / "A_S1_L1_R1_001.fastq.gz").write_bytes(b"")
    assert sorted({f.sample for f in discover([str(tmp_path)])}) == ["A", "A_S1_L1_R1_001"]
    assert len({f.sample for f in discover([str(tmp_path)], sample_rule="ica")}) == 7


@pytest.mark.parametrize(("text", "kind", "reads"), [
    (sheet_v1(("A", "B")), SHEET_V1, ("R1", "R2")),
    (sheet_v2(True, ("A", "B")), SHEET_V2, ("R1", "R2", "I1")),
    (sheet_v2(False, ("A", "B")), SHEET_V2, ("R1", "R2", "I1")),
    (FASTQ_LIST_TEXT, FASTQ_LIST, ("R1", "R2")),
    ("sample\tfile\nA\tx.fq\n", TSV, ()),
])
def test_sheets_are_told_apart_by_content(tmp_path, text, kind, reads):
    path = tmp_path / "any-name.csv"
    path.write_text(text)
    sheet = read_sheet(str(path))
    assert (sheet.kind, sheet.reads) == (kind, reads)
    if kind != TSV:
        assert sheet.samples() == ["A", "B"]


@pytest.mark.parametrize(("text", "message"), [
    ("[Header]\nFileFormatVersion,2\n[BCLConvert_Data]\nLane,index\n1,ACGT\n",
     "line 4: the [BCLConvert_Data] header has no Sample_ID column"),
    ("[Data]\nLane,Sample_ID\nx,A\n", "line 3: Lane 'x' is not a lane number"),
    ("[Data]\nSample_ID\nA B\n", "line 3: Sample_ID 'A B' is not a safe file name"),
    ("[Header]\nIEMFileVersion,4\n[Reads]\n50\n", "line 1: an Illumina sample sheet needs a [Data] section"),
    ("[Data]\nSample_ID\nA\n[Data]\nSample_ID\n", "line 4: section [Data] appears twice"),
    (FASTQ_LIST_TEXT + "A.2,A,L,2,/out/A_S1_L001_R1_001.fastq.gz,\n",
     "line 4: A_S1_L001_R1_001.fastq.gz is listed twice (also on line 2)"),
    ("id,path\n1,x\n", "line 1: not a sample sheet seqfixity knows"),
])
def test_a_sheet_that_cannot_be_used_is_one_line_naming_it_and_the_line(tmp_path, text, message):
    path = tmp_path / "SampleSheet.csv"
    path.write_text(text)
    with pytest.raises(SheetError) as raised:
        read_sheet(str(path))
    assert str(raised.value) == f"{path}: {message}" or str(raised.value).startswith(f"{path}: {message}")
    done = run_cli("aggregate", tmp_path / "none.jsonl", "--outdir", tmp_path / "out", "--samples", path)
    assert done.returncode == 128 and done.stderr.decode().count("\n") == 1
    assert message in done.stderr.decode()


def test_two_sheets_that_disagree_are_an_error_naming_both(tmp_path):
    (tmp_path / "SampleSheet.csv").write_text(sheet_v2(True, ("A", "B", "C")))
    (tmp_path / "fastq_list.csv").write_text(FASTQ_LIST_TEXT)
    with pytest.raises(SheetError, match=r"SampleSheet.csv and .*fastq_list.csv disagree: sample C is in "
                                         r".*SampleSheet.csv but not in .*fastq_list.csv"):
        read_sheets([str(tmp_path / "SampleSheet.csv"), str(tmp_path / "fastq_list.csv")])
    (tmp_path / "SampleSheet.csv").write_text(sheet_v2(True, ("A", "B")))  # lanes 1 and 2, the list: lane 1
    with pytest.raises(SheetError, match="sample A is in lanes 1, 2 in .* but in lanes 1 in"):
        read_sheets([str(tmp_path / "SampleSheet.csv"), str(tmp_path / "fastq_list.csv")])
    (tmp_path / "SampleSheet.csv").write_text(sheet_v2(False, ("A", "B")))  # no Lane column: any lane
    assert len(read_sheets([str(tmp_path / "SampleSheet.csv"), str(tmp_path / "fastq_list.csv")])) == 2


def test_sample_id_sheet_takes_fastq_lists_sample_and_needs_a_sheet(tmp_path):
    (tmp_path / "A_S1_L001_R1_001.fastq").write_bytes(fastq_bytes(3))
    (tmp_path / "list.csv").write_text(FASTQ_LIST_TEXT.replace(",A,", ",PATIENT_A,").replace(".gz", ""))
    files = discover([str(tmp_path)], sample_sheet=str(tmp_path / "list.csv"), sample_rule="sheet")
    assert [f.sample for f in files] == ["PATIENT_A"]
    done = run_cli("digest", tmp_path / "A_S1_L001_R1_001.fastq", "--outdir", tmp_path / "out", "--sample-id", "sheet")
    assert done.returncode == 128 and b"sample_id: sheet needs a sample sheet" in done.stderr
