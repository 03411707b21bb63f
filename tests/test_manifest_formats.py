"""Manifest readers line by line, and the hashdeep/BagIt writers judged by the real tools."""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import zlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import run_cli
from seqfixity.manifests.read import (
    bagit_decode,
    detect_format,
    parse_gnu_line,
    rclone_decode,
    read_manifest,
)
from test_check import make_tree

MD5 = "d41d8cd98f00b204e9800998ecf8427e"


@pytest.mark.parametrize("line, name, digests", [
    (f"{MD5}  a b", b"a b", {"md5": MD5}),
    (f"{MD5} *bin", b"bin", {"md5": MD5}),
    (f"{MD5.upper()}  up", b"up", {"md5": MD5}),
    (f"{MD5}   lead", b" lead", {"md5": MD5}),
    (f"\\{MD5}  new\\nline\\\\x", b"new\nline\\x", {"md5": MD5}),
    (f"MD5 (a (1).txt) = {MD5}", b"a (1).txt", {"md5": MD5}),
    (f"\\MD5 (a\\nb) = {MD5}", b"a\nb", {"md5": MD5}),
    (f"SHA256 (x) = {'a' * 64}", b"x", {"sha256": "a" * 64}),
    (f"{'b' * 40}  s", b"s", {"sha1": "b" * 40}),
    (f"{MD5}-12  big", b"big", {"etag": f"{MD5}-12"}),
])
def test_gnu_and_bsd_lines(line, name, digests):
    entry = parse_gnu_line(line.encode())
    assert not isinstance(entry, str), entry
    assert (entry.name, entry.digests) == (name, digests)


@pytest.mark.parametrize("line", ["garbage", f"{MD5}", f"{MD5[:-1]}  x", f"MD5 (x) = {'a' * 64}", f"{MD5}  "])
def test_malformed_gnu_lines(line):
    assert isinstance(parse_gnu_line(line.encode()), str)


def test_rclone_and_bagit_name_decoding():
    assert rclone_decode("new\u240aline\u2409tab".encode()) == b"new\nline\ttab"
    assert rclone_decode("\u201b\u240a".encode()) == "\u240a".encode()
    assert rclone_decode(b"raw\xff") == b"raw\xff"
    assert bagit_decode(b"data/50%25%0Aoff%0d") == b"data/50%\noff\r"
    assert bagit_decode(b"data/100%") == b"data/100%"


@pytest.mark.parametrize("source, data, expected", [
    ("x/MD5.txt", f"{MD5}  a\n".encode(), "gnu"),
    ("x/MD5.txt", f"MD5 (a) = {MD5}\n".encode(), "bsd"),
    ("x/a.fastq.gz.md5", f"{MD5}  a.fastq.gz\n".encode(), "sidecar"),
    ("x/a.fastq.gz.md5", f"{MD5}\n".encode(), "sidecar"),
    ("x/all.md5", f"{MD5}  a\n{MD5}  b\n".encode(), "gnu"),
    ("x/h.txt", b"%%%% HASHDEEP-1.0\n%%%% size,md5,filename\n", "hashdeep"),
    ("bag/manifest-sha256.txt", b"", "bagit"),
    ("x/r.md5", f"{MD5}  a\u240ab\n".encode(), "rclone"),
    ("x/report.tsv", b"run_accession\tfastq_ftp\tfastq_md5\n", "ena"),
    ("x/report.csv", b"run_accession,fastq_ftp,fastq_md5\n", "ena"),
    ("x/s.jsonl", b'{"path": "a", "md5": "x"}\n', "jsonl"),
    ("x/s.tsv", b"path\tsize\tmd5\n", "tsv"),
    ("results/seqfixity.tsv", b"sample\tfile\tpath\tsize\tmd5\n", "tsv"),
])
def test_detect_format(source, data, expected):
    assert detect_format(source, data) == expected


def test_sidecar_names_the_file_beside_it(tmp_path):
    sidecar = tmp_path / "s.fastq.gz.md5"
    sidecar.write_text(f"{MD5}  /elsewhere/s.fastq.gz\n")
    manifest = read_manifest(str(sidecar))
    assert manifest.format == "sidecar" and [e.name for e in manifest.entries] == [b"s.fastq.gz"]


def test_hashdeep_writer_passes_a_hashdeep_audit(tmp_path):
    root = make_tree(tmp_path / "run", ["a b.txt", "ta\tb.txt", os.fsdecode(b"bad\xffname"), "sub/c,comma.bin"])
    manifest = tmp_path / "known.txt"
    done = run_cli("hash", "-q", "-r", ".", "--format", "hashdeep", "--digests", "md5,sha256", "-o", manifest,
                   cwd=root)
    assert done.returncode == 0, done.stderr
    audit = subprocess.run(["hashdeep", "-r", "-l", "-a", "-k", str(manifest), "."], cwd=root, capture_output=True)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    (root / "a b.txt").write_bytes(b"changed")
    audit = subprocess.run(["hashdeep", "-r", "-l", "-a", "-k", str(manifest), "."], cwd=root, capture_output=True)
    assert audit.returncode != 0
    assert run_cli("check", "--no-cache", "--root", root, manifest).returncode == 2  # our reader sees the size


def test_hashdeep_writer_refuses_newlines(tmp_path):
    root = make_tree(tmp_path / "run", ["new\nline"])
    done = run_cli("hash", "-q", "-r", ".", "--format", "hashdeep", cwd=root)
    assert done.returncode == 128 and b"line break" in done.stderr


def test_bagit_writer_matches_bagit_python(tmp_path):
    import bagit  # a test dependency (pyproject's test extra): missing, the test fails rather than skips

    bag_dir = make_tree(tmp_path / "bag", ["a b.txt", "new\nline.txt", "50%off.txt", "sub/x.bin"])
    bagit.make_bag(str(bag_dir), checksums=["md5"])
    theirs = (bag_dir / "manifest-md5.txt").read_bytes()
    done = run_cli("hash", "-q", "-r", "data", "--format", "bagit", cwd=bag_dir)
    assert done.returncode == 0
    assert sorted(done.stdout.splitlines()) == sorted(theirs.splitlines())
    expected = hashlib.md5((bag_dir / "data" / "new\nline.txt").read_bytes()).hexdigest()
    assert f"{expected}  data/new%0Aline.txt".encode() in done.stdout


def test_jsonl_keeps_base64_case_and_lowers_hex(tmp_path):
    manifest = tmp_path / "s.jsonl"
    manifest.write_text('{"path": "a", "md5": "' + MD5.upper() + '", "crc32c": "AbC+dQ==", "size": 3}\n'
                        '{"path": "b"}\nnot json\n')
    parsed = read_manifest(str(manifest))
    assert parsed.entries[0].digests == {"md5": MD5, "crc32c": "AbC+dQ=="} and parsed.entries[0].size == 3
    assert [p.line for p in parsed.problems] == [2, 3]
    assert parsed.problems[0].message.startswith("no digest field")
    assert parsed.problems[1].message.startswith("not a JSON object")


@given(name=st.binary(min_size=1, max_size=40).filter(lambda b: b"\0" not in b))
def test_written_lines_read_back_to_the_same_name(name):
    from seqfixity.manifests.write import bagit_line, bsd_line, gnu_line

    for line in (gnu_line(MD5, name), bsd_line("md5", MD5, name)):
        entry = parse_gnu_line(line.rstrip(b"\n"))
        assert not isinstance(entry, str) and entry.name == name and entry.digests == {"md5": MD5}
    assert bagit_decode(bagit_line(MD5, name)[34:-1]) == name


@pytest.mark.parametrize("size", ["3\u00b2", "x", "", "-1"])
def test_a_size_that_is_not_a_plain_number_is_left_out_not_a_crash(size):
    from seqfixity.manifests.read import read_manifest

    md5 = "0" * 32
    ena = read_manifest("filereport.tsv", "ena",
                        f"run_accession\tfastq_ftp\tfastq_md5\tfastq_bytes\nR1\tftp/a\t{md5}\t{size}\n".encode())
    jsonl = read_manifest("s.jsonl", "jsonl", json.dumps({"path": "a", "md5": md5, "size": size}).encode())
    for manifest in (ena, jsonl):
        assert not manifest.problems and [(e.size, e.digests) for e in manifest.entries] == [(None, {"md5": md5})]


def test_odd_fields_in_our_own_records_are_problems_not_crashes():
    from seqfixity.manifests.read import read_manifest

    md5 = "0" * 32
    tsv = read_manifest("s.tsv", "tsv", f"path\tmd5\tetag_part_size\na\t{md5}\tabc\nb\t{md5}\t8388608\n".encode())
    assert [(p.line, p.message) for p in tsv.problems] == [(2, "etag_part_size 'abc' is not a number of bytes")]
    assert [(e.name, e.etag_part_size, e.line) for e in tsv.entries] == [(b"b", 8388608, 3)]
    rows = [{"path": 5, "md5": md5}, {"path": "a", "md5": 5}, {"path": "a", "md5": md5, "etag_part_size": -1},
            {"path": "c", "md5": md5.upper(), "size": 7, "mtime": 1.5, "reads": None, "naming": []}]
    jsonl = read_manifest("s.jsonl", "jsonl", "".join(json.dumps(r) + "\n" for r in rows).encode())
    assert [p.line for p in jsonl.problems] == [1, 2, 3]
    assert [(e.name, e.digests, e.size, e.line) for e in jsonl.entries] == [(b"c", {"md5": md5}, 7, 4)]


@pytest.mark.parametrize("shape", ["jsonl", "tsv"])
def test_a_crc_written_in_hex_is_the_crc_s3_writes_in_base64(tmp_path, shape):
    """CRC32 (zlib), CRC32C and CRC64NVME (awscrt, the AWS CLI's own) in hex, as rclone hashsum and 7-Zip print
    them: the same values as S3's base64, so an intact file is OK (it was a MISMATCH) and a changed one is not."""
    checksums = pytest.importorskip("awscrt.checksums")
    data = random.Random(5).randbytes(100_000)
    (tmp_path / "f.bin").write_bytes(data)
    values = {"crc32": f"{zlib.crc32(data):08x}", "crc32c": f"{checksums.crc32c(data):08X}",
              "crc64nvme": f"{checksums.crc64nvme(data):016x}"}
    for kind, value in values.items():
        _ok_then_mismatch(tmp_path, data, shape, kind, value)


@pytest.mark.parametrize("kind", ["md5", "sha1", "sha256"])
def test_a_digest_in_base64_is_the_same_digest_as_in_hex(tmp_path, kind):
    """S3's ChecksumSHA256/ChecksumSHA1, GCS's md5Hash and Azure's Content-MD5 are base64 of the digest's bytes
    (hashlib's): an intact file is OK (it was a MISMATCH against the hex), a changed one a MISMATCH."""
    import base64

    data = random.Random(6).randbytes(50_000)
    (tmp_path / "f.bin").write_bytes(data)
    value = base64.b64encode(hashlib.new(kind, data).digest()).decode()
    for shape in ("jsonl", "tsv"):
        _ok_then_mismatch(tmp_path, data, shape, kind, value)


def _ok_then_mismatch(folder: Path, data: bytes, shape: str, kind: str, value: str) -> None:
    """A one-file manifest (JSONL or TSV) giving f.bin's ``kind`` as ``value``: f.bin holding ``data`` is OK, and
    with its last byte changed a MISMATCH (exit 1)."""
    manifest = folder / f"m.{shape}"
    if shape == "jsonl":
        manifest.write_text(json.dumps({"path": "f.bin", kind: value}) + "\n")
    else:
        manifest.write_text(f"path\t{kind}\nf.bin\t{value}\n")
    done = run_cli("check", "--no-cache", manifest)
    assert done.returncode == 0 and b"f.bin: OK" in done.stdout, (shape, kind, done.stdout + done.stderr)
    (folder / "f.bin").write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    assert run_cli("check", "--no-cache", manifest).returncode == 1, (shape, kind)
    (folder / "f.bin").write_bytes(data)


@pytest.mark.parametrize("cache", [False, True])
def test_an_xxhsum_h128_manifest_is_not_a_mismatch_of_intact_files(tmp_path, cache):
    """`xxhsum -H128` writes `HEX  NAME` lines of 32 hex digits, as md5sum does; read as MD5s they made every
    intact file a MISMATCH. An untagged 32-hex digest that is the file's XXH128 (the xxhash library's
    xxh3_128, the reference) is OK with a hint; a changed file is still a MISMATCH."""
    xxhash = pytest.importorskip("xxhash")
    data = random.Random(7).randbytes(300_000)
    (tmp_path / "f.bin").write_bytes(data)
    os.utime(tmp_path / "f.bin", (1_600_000_000, 1_600_000_000))  # old enough for the quick-mode cache
    manifest = tmp_path / "sums.txt"
    manifest.write_text(f"{xxhash.xxh3_128(data).hexdigest()}  f.bin\n")
    caching = ["--cache", str(tmp_path / "c.json")] if cache else ["--no-cache"]
    done = run_cli("check", *caching, manifest)
    assert done.returncode == 0 and b"are the file's XXH128" in done.stdout, done.stdout + done.stderr
    (tmp_path / "f.bin").write_bytes(data[:-1] + b"\0")
    changed = run_cli("check", *caching, manifest)
    assert changed.returncode == 1 and b"f.bin: MISMATCH (md5 differs" in changed.stdout


def test_an_untagged_32_hex_line_is_judged_as_md5_and_xxh128_from_one_read(tmp_path, monkeypatch):
    """One read, every digest: the XXH128 that a 32-hex GNU line may be is computed beside the MD5, never by
    reading the file again (for an intact xxhsum -H128 line and for a changed file alike)."""
    xxhash = pytest.importorskip("xxhash")
    from seqfixity import cli
    from seqfixity.engine import reading

    data = random.Random(8).randbytes(200_000)
    (tmp_path / "f.bin").write_bytes(data)
    opened = []
    real = reading.open_checked
    monkeypatch.setattr(reading, "open_checked", lambda path, before: opened.append(path) or real(path, before))
    for module in ("seqfixity.engine.group", "seqfixity.engine.digest"):
        monkeypatch.setattr(f"{module}.open_checked", reading.open_checked, raising=False)
    for value in (xxhash.xxh3_128(data).hexdigest(), hashlib.md5(b"other").hexdigest()):
        (tmp_path / "sums.txt").write_text(f"{value}  f.bin\n")
        opened.clear()
        assert cli.main(["check", "--no-cache", "-q", str(tmp_path / "sums.txt")]) in (0, 1)
        assert len(opened) == 1, opened
