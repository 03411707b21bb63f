"""ICA file-name lint."""

from __future__ import annotations

from seqfixity.inputs.names import naming_findings, naming_summary


def test_safe_names_pass():
    assert naming_findings("run/folder with space/S1_L001_R1_001.fastq.gz") == []
    assert naming_findings("a-b_c.d!e*f'g(h)i.fq") == []


def test_unsafe_characters_are_listed_once_each():
    findings = naming_findings("my sample#1 #2.fastq")
    assert len(findings) == 1
    assert "' '" in findings[0] and "'#'" in findings[0]


def test_length_counts_the_sample_part_of_the_name_not_its_folder_or_illumina_suffix():
    sample = "A" * 33
    assert naming_findings(f"short/{sample}.fastq") == [f"sample name '{sample}' has 33 characters, more than ICA's 32"]
    assert naming_findings(f"a/very/long/folder/path/{sample[1:]}.fastq") == []
    # Illumina's own names: the length is that of {sample}, before _S{n}_L{lane}_R1_001.fastq.gz
    assert naming_findings("run/Undetermined_S0_L001_R1_001.fastq.gz") == []
    assert naming_findings(f"{sample[1:]}_S12_L004_I2_001.fastq.ora") == []
    assert naming_findings(f"{sample}_S1_R1_001.fastq.gz") == [
        f"sample name '{sample}' has 33 characters, more than ICA's 32"]


def test_findings_are_summarised_once_per_kind_with_a_count_and_examples():
    files = [(f"S{i}_with space_S1_L001_R1_001.fastq.gz", naming_findings(f"S{i}_with space_S1_L001_R1_001.fastq.gz"))
             for i in range(7)] + [("B" * 40 + ".fq", naming_findings("B" * 40 + ".fq")), ("ok.fq", [])]
    summary = naming_summary(files)
    assert "before _S{n}" in summary["counted"]
    kinds = {kind["kind"]: kind for kind in summary["findings"]}
    assert len(kinds) == 2
    unsafe = next(kind for name, kind in kinds.items() if "safe set" in name)
    long = next(kind for name, kind in kinds.items() if "longer" in name)
    assert unsafe["files"] == 7 and len(unsafe["examples"]) == 5 and long["files"] == 1
