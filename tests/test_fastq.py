"""FASTQ validation from the bytes of the one read: verdicts, read counts, chunking, gzip members, BGZF."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import random
import subprocess

import pysam
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqfixity.examine.files import examine_file
from seqfixity.fastq.validate import BGZF_EOF, FastqValidator
from seqfixity.fastq.verdicts import CORRUPT, MALFORMED, OK, SKIPPED, TRUNCATED
from seqfixity.settings import Settings

_BASES = bytes.maketrans(bytes(range(256)), b"ACGTN" * 51 + b"A")
_QUALITIES = bytes.maketrans(bytes(range(256)), b"#,:F@+" * 42 + b"FFFF")


def fastq_bytes(reads: int, seed: int = 0, length: int = 50) -> bytes:
    """``reads`` random FASTQ records (deterministic for ``seed``)."""
    rng = random.Random(seed)
    sequences = rng.randbytes(reads * length).translate(_BASES)
    qualities = rng.randbytes(reads * length).translate(_QUALITIES)
    return b"".join(b"@read%d 1:N:0:1\n%s\n+\n%s\n" % (number, sequences[number * length:(number + 1) * length],
                                                         qualities[number * length:(number + 1) * length])
                    for number in range(reads))


def validate(data: bytes, level: str = "fastq", chunk: int = 1 << 20, threaded: bool = False):
    validator = FastqValidator(level, threaded=threaded)
    view = memoryview(data)
    for start in range(0, len(data), chunk):
        validator.update(view[start:start + chunk])
    return validator.result()


def pysam_count(path) -> int:
    with pysam.FastxFile(str(path)) as handle:
        return sum(1 for _ in handle)


@pytest.mark.parametrize("level", ["gzip", "fastq"])
@pytest.mark.parametrize("compress", [False, True])
def test_valid_fastq_counts_reads_like_pysam(tmp_path, level, compress):
    data = fastq_bytes(300, seed=1)
    path = tmp_path / ("a.fastq.gz" if compress else "a.fastq")
    path.write_bytes(gzip.compress(data) if compress else data)
    result = validate(path.read_bytes(), level, chunk=997)
    assert result.verdict == OK and result.error == ""
    assert result.reads == pysam_count(path) == 300


def test_bgzf_and_multi_member_gzip(tmp_path):
    data = fastq_bytes(200, seed=2)
    plain = tmp_path / "p.fastq"
    plain.write_bytes(data)
    pysam.tabix_compress(str(plain), str(tmp_path / "b.fastq.gz"))
    bgzf = (tmp_path / "b.fastq.gz").read_bytes()
    assert validate(bgzf, chunk=4096).reads == 200
    members = gzip.compress(data[:len(data) // 3]) + gzip.compress(data[len(data) // 3:])
    assert validate(members, chunk=1000).reads == 200


@pytest.mark.parametrize("level", ["gzip", "fastq"])
def test_bgzf_without_its_end_of_file_block_is_truncated(tmp_path, level):
    plain = tmp_path / "p.fastq"
    plain.write_bytes(fastq_bytes(3000, seed=2, length=100))  # several 64 KiB blocks
    pysam.tabix_compress(str(plain), str(tmp_path / "b.fastq.gz"))
    bgzf = (tmp_path / "b.fastq.gz").read_bytes()
    assert bgzf.endswith(BGZF_EOF) and validate(bgzf, level).verdict == OK
    result = validate(bgzf[:-len(BGZF_EOF)], level, chunk=4096)
    assert result.verdict == TRUNCATED and "BGZF file ends without its end-of-file block" in result.error
    first_block = bgzf[:int.from_bytes(bgzf[16:18], "little") + 1]  # BSIZE: the block's length less 1
    assert validate(first_block, level).verdict == TRUNCATED
    concatenated = bgzf + bgzf  # as `cat a.gz b.gz`: an end-of-file block in the middle is fine
    assert validate(concatenated, level, chunk=5000).verdict == OK


def test_truncated_gzip_is_truncated():
    compressed = gzip.compress(fastq_bytes(500, seed=3))
    result = validate(compressed[: len(compressed) * 2 // 3])
    assert result.verdict == TRUNCATED and "gzip" in result.error


def test_corrupt_gzip_is_corrupt():
    compressed = bytearray(gzip.compress(fastq_bytes(500, seed=4)))
    compressed[len(compressed) // 2] ^= 0xFF
    assert validate(bytes(compressed)).verdict in (CORRUPT, MALFORMED)
    crc = bytearray(gzip.compress(fastq_bytes(50, seed=4)))
    crc[-6] ^= 0x01  # CRC32 of the member
    assert validate(bytes(crc)).verdict == CORRUPT


@pytest.mark.parametrize(("damage", "message"), [
    (lambda lines: lines.__setitem__(8, b"read3 no at"), "record 3 (line 9): header does not start with '@'"),
    (lambda lines: lines.__setitem__(10, b"-"), "record 3 (line 9): third line does not start with '+'"),
    (lambda lines: lines.__setitem__(11, lines[11][:-1]), "record 3 (line 9): sequence has 50 letters but quality 49"),
])
def test_malformed_records_name_the_record(damage, message):
    lines = fastq_bytes(10, seed=5).split(b"\n")
    damage(lines)
    result = validate(b"\n".join(lines), chunk=33)
    assert result.verdict == MALFORMED
    assert result.error.startswith(message)


def test_partial_last_record_is_truncated_and_missing_final_newline_is_ok():
    data = fastq_bytes(10, seed=6)
    assert validate(data[:-1]).reads == 10
    cut = data[: data.rindex(b"\n+\n")]
    result = validate(cut)
    assert result.verdict == TRUNCATED and "2 of 4 lines" in result.error


def test_empty_input_is_ok_with_no_reads():
    assert validate(b"").reads == 0
    assert validate(gzip.compress(b"")).reads == 0


@settings(max_examples=30, deadline=None)
@given(chunk=st.integers(min_value=1, max_value=5000), threaded=st.booleans())
def test_chunking_does_not_change_the_verdict(chunk, threaded):
    data = fastq_bytes(40, seed=7)
    assert validate(data, chunk=chunk, threaded=threaded).reads == 40
    broken = data.replace(b"\n+\n", b"\nX\n", 1)
    assert validate(broken, chunk=chunk, threaded=threaded).verdict == MALFORMED


def test_examine_file_digests_and_validates_in_one_record(tmp_path):
    data = gzip.compress(fastq_bytes(100, seed=8))
    path = tmp_path / "S1_R1.fastq.gz"
    path.write_bytes(data)
    record = examine_file(str(path), Settings())
    assert record.digests["md5"] == hashlib.md5(data).hexdigest()
    assert (record.reads, record.fastq_verdict, record.sample) == (100, OK, "S1_R1")
    assert examine_file(str(path), Settings(validate="none")).fastq_verdict == SKIPPED
    missing = examine_file(str(tmp_path / "gone.fastq"), Settings())
    assert missing.error_kind == "missing" and missing.fastq_verdict == ""


@pytest.mark.parametrize("compress", [gzip.compress, bz2.compress])
def test_highly_compressible_input_is_decoded_in_bounded_pieces(monkeypatch, compress):
    import seqfixity.fastq.decoders as decoders

    monkeypatch.setattr(decoders, "MAX_PIECE", 1000)
    record = b"@r\n" + b"N" * 300 + b"\n+\n" + b"#" * 300 + b"\n"
    compressed = compress(record * 2000) + compress(record * 5)
    sizes = []
    inflater = decoders.Inflater() if compress is gzip.compress else decoders.Bunzipper()
    for start in range(0, len(compressed), 700):
        sizes += [len(piece) for piece in inflater.feed(memoryview(compressed)[start:start + 700])]
    inflater.finish()
    assert max(sizes) == 1000 and sum(sizes) == len(record) * 2005
    assert validate(compressed, chunk=700).reads == 2005


@pytest.mark.parametrize("ending", [b"\n", b"\r\n"])
@pytest.mark.parametrize("blank", [1, 3, 4, 5, 9])
@pytest.mark.parametrize("level", ["gzip", "fastq"])
def test_blank_lines_at_the_end_are_not_records(tmp_path, ending, blank, level):
    data = fastq_bytes(10, seed=9).replace(b"\n", ending) + ending * blank
    path = tmp_path / "blank.fastq"
    path.write_bytes(data)
    for chunk in (7, 64, 1 << 20):
        for threaded in (False, True):
            result = validate(data, level, chunk=chunk, threaded=threaded)
            assert (result.verdict, result.reads) == (OK, pysam_count(path)) == (OK, 10)


@pytest.mark.parametrize("level", ["gzip", "fastq"])
def test_an_empty_last_read_is_still_a_read(tmp_path, level):
    data = fastq_bytes(3, seed=10) + b"@empty\n\n+\n\n"
    path = tmp_path / "empty-read.fastq"
    path.write_bytes(data)
    for chunk in (5, 1 << 20):
        assert validate(data, level, chunk=chunk).reads == pysam_count(path) == 4
    assert validate(data + b"\n\n", level).reads == 4


@pytest.mark.parametrize("ending", [b"\n", b"\r\n"])
def test_an_empty_last_read_without_its_last_line_end_is_still_whole(tmp_path, ending):
    """An empty read (trimmers write them) whose empty quality line lost only its line end: every byte of the
    read is there, as for a longer read missing its last newline (OK), and pysam counts it too."""
    whole = fastq_bytes(3, seed=12).replace(b"\n", ending) + b"@empty" + ending * 2 + b"+" + ending * 2
    path = tmp_path / "empty-read.fastq"
    path.write_bytes(whole)
    for level in ("fastq", "strict"):
        for chunk in (3, 1 << 20):
            result = validate(whole[:-len(ending)], level, chunk=chunk)
            assert result.verdict == OK and result.reads == pysam_count(path) == 4, (level, chunk, result.error)
    # a read of four letters whose quality line is gone: cut short
    cut = whole[:whole.rindex(b"@empty")] + b"@empty" + ending + b"ACGT" + ending + b"+" + ending
    assert validate(cut).verdict == TRUNCATED


def test_carriage_returns_alone_as_line_ends_are_malformed_not_truncated():
    """Old Mac line ends (CR only): the FASTQ format's lines end with LF (or CRLF); a file with no LF at all is
    one long line, which a cut copy is not."""
    data = fastq_bytes(5, seed=13).replace(b"\n", b"\r")
    for level in ("fastq", "strict"):
        result = validate(data, level)
        assert result.verdict == MALFORMED and "carriage return alone" in result.error, result.error
    crlf_cut = fastq_bytes(5, seed=13).replace(b"\n", b"\r\n")[:-9]  # a CRLF copy cut short stays TRUNCATED
    assert validate(crlf_cut).verdict == TRUNCATED


def test_blank_lines_between_records_are_malformed():
    data = fastq_bytes(10, seed=11)
    middle = data.index(b"@read5")
    for blank in (1, 4, 70):
        broken = data[:middle] + b"\n" * blank + data[middle:]
        for chunk in (3, 1 << 20):
            assert validate(broken, chunk=chunk).verdict == MALFORMED


def test_a_crash_in_the_parsing_thread_is_raised_not_a_hang(monkeypatch):
    import threading

    import seqfixity.fastq.validate as fastq

    def broken(self, data, final=False):
        raise RuntimeError("parser bug")

    monkeypatch.setattr(fastq._RecordChecker, "feed", broken)
    outcome = {}

    def run():
        try:
            validate(fastq_bytes(200, seed=12), chunk=100, threaded=True)
        except RuntimeError as err:
            outcome["raised"] = str(err)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=20)
    assert not worker.is_alive(), "the reader blocked on the queue of a dead parsing thread"
    assert outcome == {"raised": "parser bug"}


@pytest.mark.parametrize("level", ["gzip", "fastq"])
def test_an_empty_gz_file_is_truncated_but_an_empty_fastq_is_ok(tmp_path, level):
    empty_gz = tmp_path / "cut.fastq.gz"
    empty_gz.write_bytes(b"")
    assert subprocess.run(["gzip", "-t", str(empty_gz)], capture_output=True).returncode != 0  # the oracle
    record = examine_file(str(empty_gz), Settings(validate=level))
    assert (record.fastq_verdict, record.reads) == (TRUNCATED, None)
    assert "empty file" in record.fastq_error
    empty = tmp_path / "none.fastq"
    empty.write_bytes(b"")
    record = examine_file(str(empty), Settings(validate=level))
    assert (record.fastq_verdict, record.reads) == (OK, 0)
