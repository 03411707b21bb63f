"""Bytes after the last complete gzip member, bzip2 stream or zstd frame, against the compressors' own tools.

``gzip -t`` decodes the member in full and passes trailing zeros or warns "trailing garbage ignored",
``bzip2 -t`` warns and passes, ``zstd -t`` fails: none of them says the member was cut short. seqfixity
says CORRUPT with what follows the last member, never TRUNCATED (which sends the user to fetch again a
copy that was never short). Members written by the real tools, concatenated, still pass at every chunking.
"""

from __future__ import annotations

import subprocess

import pytest

from test_fastq import fastq_bytes, validate

TOOLS = {"gzip": ["gzip", "-n", "-c"], "bzip2": ["bzip2", "-c"], "zstd": ["zstd", "-q", "-c"]}
UNIT = {"gzip": "member", "bzip2": "stream", "zstd": "frame"}


def compressed(tool: str, data: bytes) -> bytes:
    return subprocess.run(TOOLS[tool], input=data, capture_output=True, check=True).stdout


def tool_test(tool: str, data: bytes, tmp_path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / f"x.{tool}"
    path.write_bytes(data)
    return subprocess.run([tool, "-t", str(path)], capture_output=True, text=True)


@pytest.mark.parametrize("tool", TOOLS)
@pytest.mark.parametrize("tail", [b"\0" * 16, b"junk", b"x" * 70_000], ids=["zeros", "junk", "long"])
@pytest.mark.parametrize("chunk", [1, 3, 4096, 1 << 20])
def test_bytes_after_the_last_member_are_corrupt_not_truncated(tmp_path, tool, tail, chunk):
    data = fastq_bytes(200, seed=3)
    whole = compressed(tool, data)
    said = tool_test(tool, whole + tail, tmp_path)
    assert "trailing" in said.stderr or said.returncode != 0 or tail.strip(b"\0") == b""  # the tool notices or pads
    assert "unexpected end" not in said.stderr.lower()  # and decoded the member in full
    if chunk == 1 and len(tail) > 100:
        return  # 70,000 one-byte calls: the short tails cover one-byte reads
    result = validate(whole + tail, chunk=chunk)
    assert result.verdict == "CORRUPT", result
    assert f"{len(tail):,} bytes after the end of {tool} {UNIT[tool]} 1" in result.error
    assert ("all zero bytes" in result.error) == (not tail.strip(b"\0"))


@pytest.mark.parametrize("tool", TOOLS)
@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 4096])
def test_concatenated_members_pass_at_every_chunking(tool, chunk):
    first, second = fastq_bytes(30, seed=1), fastq_bytes(20, seed=2)
    data = compressed(tool, first) + compressed(tool, second)
    result = validate(data, chunk=chunk)
    assert (result.verdict, result.reads) == ("OK", 50), result


@pytest.mark.parametrize("tool", TOOLS)
@pytest.mark.parametrize("cut", [1, 2, 3])
def test_a_second_member_cut_inside_its_magic_number_is_truncated(tool, cut):
    data = compressed(tool, fastq_bytes(30, seed=1)) + compressed(tool, fastq_bytes(20, seed=2))[:cut]
    assert validate(data, chunk=1).verdict == "TRUNCATED"
