"""Input discovery, sample ids, sample sheets and batching (the workflow's DAG size depends on it)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from seqfixity.inputs.discover import DiscoveryError, InputFile, discover, make_batches


def test_patterns_select_fastq_and_sample_id_is_the_name_up_to_its_first_dot(tmp_path):
    for name in ("A.R1.fastq.gz", "B_R1.fq", "notes.txt", ".hidden.fastq", "C.fastq"):
        (tmp_path / name).write_bytes(b"")
    files = discover([str(tmp_path)])
    assert [(f.sample, f.path.rsplit("/", 1)[1]) for f in files] == [("A", "A.R1.fastq.gz"), ("B_R1", "B_R1.fq"),
                                                                       ("C", "C.fastq")]
    (tmp_path / ".rsync-partial").mkdir()  # rsync --partial-dir: a cut copy of a file still to come
    (tmp_path / ".rsync-partial" / "D.fastq").write_bytes(b"")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "E.fq").write_bytes(b"")
    assert [f.sample for f in discover([str(tmp_path)], recursive=True)] == ["A", "B_R1", "C", "E"]


def test_same_sample_in_one_folder_is_one_sample_but_two_folders_is_an_error(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "S1.R1.fastq").write_bytes(b"")
    (tmp_path / "a" / "S1.R2.fastq").write_bytes(b"")
    assert {f.sample for f in discover([str(tmp_path / "a")])} == {"S1"}
    (tmp_path / "b" / "S1.fq").write_bytes(b"")
    with pytest.raises(DiscoveryError, match=r"a/S1.R1.fastq and .*b/S1.fq"):
        discover([str(tmp_path / "a"), str(tmp_path / "b")])


def test_sample_sheet_names_samples_and_reports_missing_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "S1.fq").write_bytes(b"")
    (tmp_path / "sheet.tsv").write_text("sample\tfile\nP1\tx/S1.fq\n")
    assert [(f.sample, f.path) for f in discover(sample_sheet="sheet.tsv")] == [("P1", "x/S1.fq")]
    (tmp_path / "sheet.tsv").write_text("sample\tfile\nP1\tx/gone.fq\n")
    with pytest.raises(DiscoveryError, match="line 2: x/gone.fq: no such file"):
        discover(sample_sheet="sheet.tsv")
    (tmp_path / "sheet.tsv").write_text("sample\tfile\nP/1\tx/S1.fq\n")
    with pytest.raises(DiscoveryError, match="not a safe file name"):
        discover(sample_sheet="sheet.tsv")


def test_two_thousand_small_files_make_few_jobs_and_large_samples_go_alone():
    files = [InputFile(f"d/S{i:04d}.R{r}.fastq.gz", f"S{i:04d}", 64 << 10) for i in range(1000) for r in (1, 2)]
    files += [InputFile(f"d/BIG{i}.fastq.gz", f"BIG{i}", 256 << 20) for i in range(4)]
    files.sort(key=lambda f: (f.sample, f.path))
    batches = make_batches(files, batch_size=200, batch_bytes=4 << 30, large_bytes=256 << 20)
    assert 4 + 2000 / 200 <= len(batches) <= 4 + 2000 / 60
    assert sum(b.large for b in batches) == 4 and all(len(b.files) == 1 for b in batches if b.large)
    assert all(len(b.files) <= 200 for b in batches)
    where = {}
    for batch in batches:
        for file in batch.files:
            assert where.setdefault(file.sample, batch.name) == batch.name
    assert make_batches(files) == make_batches(files)


def test_batch_bytes_closes_a_batch():
    files = [InputFile(f"S{i}.fq", f"S{i}", 100) for i in range(10)]
    assert [len(b.files) for b in make_batches(files, batch_size=10**9, batch_bytes=350)] == [3, 3, 3, 1]


def test_adding_a_sample_changes_only_the_batch_it_falls_in():
    files = [InputFile(f"d/S{i:05d}.fq", f"S{i:05d}", 1000) for i in range(0, 6000, 2)]
    before = {b.name: b.paths for b in make_batches(files, batch_size=100)}
    added = sorted([*files, InputFile("d/S03001.fq", "S03001", 1000)], key=lambda f: f.sample)
    after = {b.name: b.paths for b in make_batches(added, batch_size=100)}
    changed = [name for name in after if before.get(name) != after[name]]
    assert len(changed) == 1 and "d/S03001.fq" in after[changed[0]]
    assert len(before) == len(after) and 3000 / 100 <= len(before) <= 3000 / 50


def test_a_sheet_names_a_file_by_any_path_to_it_and_the_file_is_taken_once(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "S1.fq").write_bytes(b"")
    (tmp_path / "store" / "S2.fq").write_bytes(b"")
    (tmp_path / "run").symlink_to("store")  # the run folder is a link, as on many storage systems
    (tmp_path / "sheet.tsv").write_text(f"sample\tfile\nP1\t{tmp_path}/store/S1.fq\n")
    got = [(f.sample, f.path) for f in discover(["run"], sample_sheet="sheet.tsv")]
    assert got == [("P1", "run/S1.fq"), ("S2", "run/S2.fq")]
    assert [f.sample for f in discover(["run", f"{tmp_path}/run", "store"])] == ["S1", "S2"]
    (tmp_path / "sheet.tsv").write_text(f"sample\tfile\nP1\tstore/S1.fq\nP2\t{tmp_path}/run/S1.fq\n")
    with pytest.raises(DiscoveryError, match=f"line 3: {tmp_path}/run/S1.fq is listed twice \\(also as store/S1.fq"):
        discover(sample_sheet="sheet.tsv")


def test_a_sheet_id_that_equals_another_folders_file_id_is_an_error_in_either_order(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for named, derived in (("b/x.fq", "a/S1.fq"), ("a/y.fq", "b/S1.fq")):  # the sheet's file sorts last, first
        case = tmp_path / named[0]
        case.mkdir()
        monkeypatch.chdir(case)
        for path in (named, derived):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            Path(path).write_bytes(b"")
        Path("sheet.tsv").write_text(f"sample\tfile\nS1\t{named}\n")
        with pytest.raises(DiscoveryError, match="sample id 'S1' stands for files in two folders"):
            discover(["a", "b"], sample_sheet="sheet.tsv")
        Path("sheet.tsv").write_text(f"sample\tfile\nS1\t{named}\nS1\t{derived}\n")  # both named: one sample
        assert [f.sample for f in discover(["a", "b"], sample_sheet="sheet.tsv")] == ["S1", "S1"]


def test_a_sheet_saved_by_excel_with_a_byte_order_mark_is_read(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "S1.fq").write_bytes(b"")
    (tmp_path / "sheet.csv").write_bytes(b"\xef\xbb\xbfsample,file\r\nP1,S1.fq\r\n")
    assert [(f.sample, f.path) for f in discover(sample_sheet="sheet.csv")] == [("P1", "S1.fq")]


def test_a_dangling_link_is_kept_for_the_job_to_report_and_a_name_snakemake_cannot_hold_is_one_line(tmp_path):
    (tmp_path / "OK.fq").write_bytes(b"")
    (tmp_path / "GONE.fq").symlink_to("nowhere.fq")
    files = discover([str(tmp_path)])
    assert [(f.sample, f.present) for f in files] == [("GONE", False), ("OK", True)]
    batch = make_batches(files)[0]
    assert batch.paths == [f"{tmp_path}/GONE.fq", f"{tmp_path}/OK.fq"] and batch.present == [f"{tmp_path}/OK.fq"]
    with open(os.path.join(os.fsencode(tmp_path), b"caf\xe9.fq"), "wb"):
        pass
    with pytest.raises(DiscoveryError, match=r"/caf\\xe9.fq: file name is not UTF-8 \(convmv"):
        discover([str(tmp_path)])
    os.unlink(os.path.join(os.fsencode(tmp_path), b"caf\xe9.fq"))
    (tmp_path / "S{1}.fq").write_bytes(b"")
    with pytest.raises(DiscoveryError, match=r"/S\{1\}.fq: a name with a \{word\} in braces reads as a wildcard, "
                                             "which Snakemake cannot take as an input file; rename it"):
        discover([str(tmp_path)])
    (tmp_path / "S{1}.fq").rename(tmp_path / "S{ }.fq")
    assert len(discover([str(tmp_path)])) == 3


def test_a_folder_that_cannot_be_listed_or_a_file_as_a_folder_is_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("run").mkdir()
    Path("run/A.fq").write_bytes(b"")
    deep = os.open("run", os.O_RDONLY)
    for _ in range(17):  # nested deeper than PATH_MAX (4096): listing it fails with ENAMETOOLONG, even for root
        os.mkdir("d" * 250, dir_fd=deep)
        parent, deep = deep, os.open("d" * 250, os.O_RDONLY, dir_fd=deep)
        os.close(parent)
    os.close(deep)
    with pytest.raises(DiscoveryError, match="/dddd+: cannot list folder: File name too long"):
        discover(["run"], recursive=True)
    assert [f.path for f in discover(["run"])] == ["run/A.fq"]
    with pytest.raises(DiscoveryError, match=r"run/A.fq: is a file, not a folder \('inputs' names folders"):
        discover(["run/A.fq"])
