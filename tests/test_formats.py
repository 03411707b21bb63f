"""Name and content must agree; bzip2, zstd, BAM and CRAM are checked from the same read; the strict level.

Oracles: the real gzip, bzip2 and zstd (they made the files, and their -t says whether a file is whole),
pysam for BAM and CRAM record counts, and the FASTQ format as Cock et al. (NAR 2010) define it.
"""

from __future__ import annotations

import gzip
import io
import os
import random
import shutil
import subprocess
import zipfile
from pathlib import Path

import pysam
import pytest

from seqfixity.examine.files import examine_file
from seqfixity.fastq.verdicts import CORRUPT, MALFORMED, NOT_VALIDATED, OK, TRUNCATED
from seqfixity.settings import Settings
from test_fastq import fastq_bytes, validate

LEVELS = ["gzip", "fastq", "strict"]


def tool(command: list[str], data: bytes) -> bytes:
    """``data`` through a real compressor (gzip -n, bzip2, zstd)."""
    return subprocess.run(command, input=data, capture_output=True, check=True).stdout


def check(path, level: str = "fastq"):
    record = examine_file(str(path), Settings(validate=level))
    return record.fastq_verdict, record.fastq_error, record.reads


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize(("content", "words"), [
    (lambda: fastq_bytes(20, seed=1), "plain text (an uncompressed FASTQ)"),
    (lambda: random.Random(2).randbytes(5000), "unknown bytes"),
    (lambda: tool(["bzip2", "-c"], fastq_bytes(20, seed=3)), "bzip2-compressed data"),
    (lambda: tool(["zstd", "-q", "-c"], fastq_bytes(20, seed=4)), "zstd-compressed data"),
    (lambda: b"x", "plain text"),
])
def test_a_gz_name_over_other_content_fails_naming_the_content_in_words(tmp_path, level, content, words):
    path = tmp_path / "S1_R1.fastq.gz"
    path.write_bytes(content())
    assert subprocess.run(["gzip", "-t", str(path)], capture_output=True).returncode != 0  # gzip agrees: not gzip
    verdict, error, reads = check(path, level)
    assert (verdict, reads) == (CORRUPT, None)
    assert f"named as gzip but the content is {words}" in error
    assert all(32 <= ord(c) < 127 for c in error)  # words, never a dump of the bytes


@pytest.mark.parametrize("level", LEVELS)
def test_a_one_byte_gz_is_cut_inside_its_header_and_none_checks_nothing(tmp_path, level):
    path = tmp_path / "cut.fastq.gz"
    path.write_bytes(b"\x1f")
    assert check(path, level)[:2] == (TRUNCATED, "the file ends inside the gzip header (1 bytes): the copy was cut "
                                                 "short")
    assert check(path, "none")[0] == "SKIPPED"


@pytest.mark.parametrize(("suffix", "make"), [
    (".fastq.bz2", ["bzip2", "-c"]), (".fastq.zst", ["zstd", "-q", "-c"]), (".fastq.gz", ["gzip", "-n", "-c"])])
def test_bzip2_and_zstd_are_decoded_and_checked_like_gzip(tmp_path, suffix, make):
    data = fastq_bytes(3000, seed=5, length=100)
    path = tmp_path / f"S1_R1{suffix}"
    path.write_bytes(tool(make, data[:len(data) // 2]) + tool(make, data[len(data) // 2:]))  # two streams/frames
    for level in LEVELS:
        assert check(path, level) == (OK, "", 3000)
    whole = path.read_bytes()
    path.write_bytes(whole[:len(whole) * 3 // 4])
    assert subprocess.run([make[0], "-t", "-q", str(path)], capture_output=True).returncode != 0
    verdict, error, _ = check(path)
    assert verdict == TRUNCATED and "ends inside" in error
    damaged = bytearray(whole)
    damaged[len(damaged) // 3] ^= 0x55
    path.write_bytes(bytes(damaged))
    assert subprocess.run([make[0], "-t", "-q", str(path)], capture_output=True).returncode != 0
    assert check(path)[0] in (CORRUPT, MALFORMED)
    plain = tmp_path / "S2_R1.fastq"
    plain.write_bytes(whole)
    verdict, error, _ = check(plain)
    assert verdict == CORRUPT and error.startswith("named as uncompressed but the content is")


def test_a_fastq_cut_inside_its_last_quality_line_is_truncated_not_malformed():
    data = fastq_bytes(50, seed=6, length=100)
    last_quality = data.rindex(b"\n", 0, len(data) - 1) + 1
    for cut in (last_quality + 1, last_quality + 41, len(data) - 2):
        for chunk in (7, 1 << 20):
            result = validate(data[:cut], chunk=chunk)
            assert result.verdict == TRUNCATED, (cut, result)
            assert f"({cut - last_quality} of its 100 characters)" in result.error
    compressed = gzip.compress(data[:last_quality + 41])  # a whole gzip stream of a cut FASTQ
    assert validate(compressed).verdict == TRUNCATED
    long_quality = data[:-1] + b"FF\n"  # longer than its sequence: malformed, whatever the position
    assert validate(long_quality).verdict == MALFORMED
    short_with_newline = data[:last_quality + 41] + b"\n"  # a short line that ends: not a cut
    assert validate(short_with_newline).verdict == MALFORMED


@pytest.mark.parametrize(("damage", "message"), [
    (lambda r: r.replace(b"\nACGT", b"\nAC1T", 1), "sequence holds '1', not a letter"),
    (lambda r: r.replace(b"\n+\n#", b"\n+\n ", 1), "quality holds ' ', outside '!' to '~' (33-126)"),
    (lambda r: r.replace(b"\n+\n", b"\n+other\n", 1), "the '+' line repeats a title that is not the '@' line's"),
])
def test_strict_adds_what_the_fastq_format_requires_beyond_structure(damage, message):
    record = b"@r1 x\nACGTacgtN\n+\n#,:F@+FFF\n"
    assert validate(record * 3, "strict").verdict == OK  # letters in either case; qualities 33-126
    assert validate(b"@r1 x\nACGT\n+r1 x\nFFFF\n", "strict").verdict == OK  # a repeated title equal to the '@' one
    damaged = damage(record) + record * 2
    assert validate(damaged, "fastq").verdict == OK  # structure alone is fine
    for chunk in (5, 1 << 20):
        result = validate(damaged, "strict", chunk=chunk)
        assert result.verdict == MALFORMED and message in result.error and "record 1" in result.error


def test_strict_takes_crlf_line_ends():
    data = fastq_bytes(30, seed=7).replace(b"\n", b"\r\n")
    assert validate(data, "strict", chunk=11).reads == 30


def alignments(tmp_path, kind: str, reads: int = 2000) -> str:
    path = str(tmp_path / f"x.{kind}")
    header = {"HD": {"VN": "1.6"}}  # unmapped reads: a CRAM without a reference (no look-up anywhere)
    with pysam.AlignmentFile(path, "wb" if kind == "bam" else "wc", header=header) as out:
        rng = random.Random(8)
        for number in range(reads):
            segment = pysam.AlignedSegment()
            segment.query_name, segment.flag = f"r{number}", 4
            segment.query_sequence = "".join(rng.choice("ACGT") for _ in range(60))
            segment.query_qualities = pysam.qualitystring_to_array("F" * 60)
            out.write(segment)
    return path


@pytest.mark.parametrize("kind", ["bam", "cram"])
def test_bam_and_cram_records_are_counted_and_a_cut_copy_is_truncated(tmp_path, kind, monkeypatch):
    monkeypatch.setenv("REF_PATH", str(tmp_path / "no-references"))
    path = alignments(tmp_path, kind)
    expected = int(pysam.view("-c", path).strip())
    assert check(path) == (OK, "", expected) == (OK, "", 2000)
    data = Path(path).read_bytes()
    for cut in (len(data) - 10, len(data) // 2, 30):
        with open(path, "wb") as handle:
            handle.write(data[:cut])
        assert check(path)[0] == TRUNCATED, cut
    with open(path, "wb") as handle:
        handle.write(fastq_bytes(10))
    verdict, error, _ = check(path)
    assert verdict == CORRUPT and "plain text" in error


def test_other_files_and_ora_without_a_decoder_get_digests_and_say_why_not_checked(tmp_path):
    for name in ("SampleSheet.csv", "S1_L001_R1_001.fastq.ora"):
        path = tmp_path / name
        path.write_bytes(os.urandom(100))
        record = examine_file(str(path), Settings())
        md5 = subprocess.run(["md5sum", str(path)], capture_output=True, text=True, check=True).stdout.split()[0]
        assert record.digests["md5"] == md5 and record.fastq_verdict == NOT_VALIDATED
    assert "orad" in record.fastq_error


def test_pzstd_output_is_zstd_though_it_starts_with_a_skippable_frame(tmp_path):
    """pzstd (zstd's parallel tool) starts its files with a skippable frame (RFC 8878, 3.1.2: magic 0x184D2A5?),
    not the zstd frame magic; zstd -t accepts them, so seqfixity must not call them 'unknown bytes'."""
    if not shutil.which("pzstd"):
        pytest.skip("pzstd is not installed")
    data = fastq_bytes(2000, seed=9, length=100)
    path = tmp_path / "S1_R1.fastq.zst"
    path.write_bytes(tool(["pzstd", "-q", "-c"], data))
    assert path.read_bytes()[1:4] == b"\x2a\x4d\x18"  # the oracle's file really starts with a skippable frame
    assert subprocess.run(["zstd", "-t", "-q", str(path)], capture_output=True).returncode == 0
    for level in LEVELS:
        assert check(path, level) == (OK, "", 2000)
    whole = path.read_bytes()
    for cut in (3, 9, len(whole) // 2):  # inside the skippable frame's magic, inside it, inside the data
        path.write_bytes(whole[:cut])
        assert subprocess.run(["zstd", "-t", "-q", str(path)], capture_output=True).returncode != 0
        assert check(path)[0] == TRUNCATED, cut


@pytest.mark.parametrize("line_end", [b"\n", b"\r\n"])
def test_a_cut_anywhere_in_the_last_record_is_truncated_or_a_whole_record_never_malformed(line_end):
    """The FASTQ rules decide each cut of the last record: if every line of it is there in full (only the line
    end is missing), the records are whole (OK, as for a file without its last newline); else the copy ends
    inside the record (TRUNCATED). Never MALFORMED, with LF or CRLF line ends."""
    data = fastq_bytes(3, seed=8, length=20).replace(b"\n", line_end)
    last = data.rindex(b"@")
    for cut in range(last + 1, len(data)):
        whole = data[cut:] in (b"\n", b"\r\n", b"\r")  # only the last line end is missing
        for level in ("fastq", "strict"):
            result = validate(data[:cut], level, chunk=7)
            assert result.verdict == (OK if whole else TRUNCATED), (cut, data[cut - 3:cut], result)


def _zip_of(data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("S1_R1.fastq", data)
    return buffer.getvalue()


@pytest.mark.parametrize("name", ["S1_R1.fastq", "S1_R1.fq"])
@pytest.mark.parametrize(("content", "words"), [
    (lambda: tool(["xz", "-c"], fastq_bytes(20, seed=10)), "xz"),
    (lambda: _zip_of(fastq_bytes(20, seed=11)), "a zip archive"),
    (lambda: random.Random(12).randbytes(5000), "unknown bytes"),
    (lambda: bytes(4096), "unknown bytes"),  # a preallocated copy never written
    (lambda: "@r1\nACGT\n+\nIIII\n".encode("utf-16"), "unknown bytes"),
])
def test_an_uncompressed_name_over_other_content_fails_naming_it_in_words(tmp_path, name, content, words):
    path = tmp_path / name
    path.write_bytes(content())
    for level in LEVELS:
        verdict, error, reads = check(path, level)
        assert (verdict, reads) == (CORRUPT, None), (level, error)
        assert error == f"named as uncompressed but the content is {words}"


@pytest.mark.parametrize(("data", "what"), [
    (b">r1 a FASTA record\nACGT\n", "header does not start with '@'"),
    (b"@r1\nACGT\nIIII\n", "third line does not start with '+'"),
    (b"@r1\nAC\n+\nII\n\x01\x02\x03\x00\n", "header does not start with '@': 4 bytes that are not text"),
])
def test_an_incomplete_last_record_that_already_breaks_the_format_is_malformed_not_truncated(data, what):
    """A cut only removes what follows it: lines that are there and break the FASTQ rules (an '@' header, a
    '+' third line) are MALFORMED, whatever is missing after them; words, never a dump of the bytes."""
    for level in ("fastq", "strict"):
        result = validate(data, level, chunk=3)
        assert result.verdict == MALFORMED and what in result.error, result
        assert all(32 <= ord(c) < 127 for c in result.error)
    assert validate(b"@r1\nAC\n+\n").verdict == TRUNCATED  # three good lines: the quality line was cut off


@pytest.mark.parametrize(("content", "words"), [
    (lambda: random.Random(13).randbytes(50_000), "bytes that are not text"),
    (lambda: b">r1 a FASTA record\nACGTACGT\n" * 200, "'>r1 a FASTA record'"),
])
def test_valid_gzip_of_something_that_is_not_fastq_has_no_read_count_at_level_gzip(tmp_path, content, words):
    """gzip -t passes (the gzip is whole), but what it holds does not start with a FASTQ record's '@': at level
    gzip it was OK with a "read count" of the newlines in noise or in a FASTA."""
    path = tmp_path / "S1_R1.fastq.gz"
    path.write_bytes(tool(["gzip", "-n", "-c"], content()))
    assert subprocess.run(["gzip", "-t", str(path)], capture_output=True).returncode == 0
    for level in LEVELS:
        verdict, error, reads = check(path, level)
        assert (verdict, reads) == (MALFORMED, None), (level, error)
        assert "header does not start with '@'" in error and words in error
