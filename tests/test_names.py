"""ICA file-name lint."""

from __future__ import annotations

from seqfixity.inputs.names import naming_findings


def test_safe_names_pass():
    assert naming_findings("run/folder with space/S1_L001_R1_001.fastq.gz") == []
    assert naming_findings("a-b_c.d!e*f'g(h)i.fq") == []


def test_unsafe_characters_are_listed_once_each():
    findings = naming_findings("my sample#1 #2.fastq")
    assert len(findings) == 1
    assert "' '" in findings[0] and "'#'" in findings[0]


def test_length_counts_the_file_name_without_its_folder():
    name = "A" * 27 + ".fastq"  # 33 characters
    assert naming_findings("short/" + name) == ["name has 33 characters, more than ICA's 32"]
    assert naming_findings("a/very/long/folder/path/" + name[1:]) == []
