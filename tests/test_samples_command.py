"""``seqfixity samples``: the sample of each file, by the rule digest and the workflow use, without reading it.

The oracles are the names the tests write: Illumina's convention ({sample}_S{n}_L{lane}_{read}_001, BCL Convert
Software Guide), ICA's rule (the name up to its first '.'), and the RGSM and sample columns of the sheets written here.
"""

from __future__ import annotations

import csv
import io

from conftest import run_cli
from illumina_delivery import LANES, name


def table(text: bytes) -> list[tuple[str, str]]:
    rows = list(csv.reader(io.StringIO(text.decode()), delimiter="\t"))
    assert rows[0] == ["sample", "file"]
    return [tuple(row) for row in rows[1:]]


def test_illumina_names_group_lanes_and_reads_and_ica_takes_the_name_up_to_its_first_dot(tmp_path):
    files = [name(sample, lane, read) for sample in ("B", "A") for lane in LANES for read in ("R1", "I1")]
    files += ["lib.7.fastq.gz", "Reports/fastq_list.csv"]
    done = run_cli("samples", *files, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    expected = [(f.split("_S", 1)[0], f) for f in files[:-2]] + [("lib", "lib.7.fastq.gz"),
                                                                 ("Reports", "Reports/fastq_list.csv")]
    assert table(done.stdout) == sorted(expected)  # by sample, then file
    ica = run_cli("samples", *files[:-2], "--sample-id", "ica", cwd=tmp_path)
    assert table(ica.stdout) == sorted((f.split(".", 1)[0], f) for f in files[:-2])


def test_the_sheet_rule_takes_fastq_list_rgsm_and_needs_a_sheet(tmp_path):
    (tmp_path / "fastq_list.csv").write_text(
        "RGID,RGSM,RGLB,Lane,Read1File,Read2File\n"
        f"D.1,Donor4,UnknownLibrary,1,/staging/{name('D', 1, 'R1')},/staging/{name('D', 1, 'R2')}\n")
    files = [name("D", 1, "R1"), name("D", 1, "R2"), name("E", 1, "R1")]
    done = run_cli("samples", *files, "--sample-id", "sheet", "--samples", "fastq_list.csv", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert table(done.stdout) == [("Donor4", files[0]), ("Donor4", files[1]), ("E", files[2])]
    illumina = run_cli("samples", *files, "--samples", "fastq_list.csv", cwd=tmp_path)  # RGSM only under sheet
    assert [sample for sample, _ in table(illumina.stdout)] == ["D", "D", "E"]
    alone = run_cli("samples", *files, "--sample-id", "sheet", cwd=tmp_path)
    assert alone.returncode == 128 and alone.stdout == b""
    assert alone.stderr.decode().startswith("seqfixity: sample_id: sheet needs a sample sheet")


def test_the_table_is_a_sample_sheet_that_gives_back_the_same_samples(tmp_path):
    for file in ("x.fq", "y.fq"):
        (tmp_path / file).write_text("@r\nA\n+\nI\n")
    (tmp_path / "mine.tsv").write_text("sample\tfile\npatient7\tx.fq\npatient7\ty.fq\n")
    done = run_cli("samples", "x.fq", "y.fq", "--samples", "mine.tsv", "-o", "out/samples.tsv", cwd=tmp_path)
    assert done.returncode == 0 and done.stdout == b"", done.stderr
    written = (tmp_path / "out" / "samples.tsv").read_bytes()
    assert table(written) == [("patient7", "x.fq"), ("patient7", "y.fq")]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["samples.tsv"]  # no temporary file left
    again = run_cli("samples", "x.fq", "y.fq", "--samples", "out/samples.tsv", cwd=tmp_path)
    assert again.stdout == written


def test_a_sheet_that_cannot_be_used_is_one_line_naming_it_and_its_line(tmp_path):
    (tmp_path / "mine.tsv").write_text("sample\tfile\npatient7\tgone.fq\n")
    done = run_cli("samples", "x.fq", "--samples", "mine.tsv", cwd=tmp_path)
    assert (done.returncode, done.stdout) == (128, b"")
    assert done.stderr == b"seqfixity: mine.tsv: line 2: gone.fq: no such file\n"
    (tmp_path / "odd.csv").write_text("name,path\na,b\n")
    odd = run_cli("samples", "x.fq", "--samples", "odd.csv", cwd=tmp_path)
    assert odd.returncode == 128 and odd.stderr.decode().startswith("seqfixity: odd.csv: line 1: not a sample sheet")
