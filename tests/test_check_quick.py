"""Quick mode (`--quick`, `--rehash xxh128`) and ETag-aware checks against seqfixity's own JSONL and TSV."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path

import xxhash

from conftest import run_cli, write_random
from test_check import OLD, make_tree, md5sum_manifest, verdicts
from test_etag import reference_etag

MiB = 1024 * 1024


def _rewrite_in_place(path: Path) -> None:
    """Change the content but keep the size and the mtime (what bit rot or a sneaky tool looks like)."""
    data = bytearray(path.read_bytes())
    data[0] ^= 0xFF
    path.write_bytes(bytes(data))
    os.utime(path, (OLD, OLD))


def test_quick_reuses_the_cache_and_rehash_catches_in_place_changes(tmp_path):
    root = make_tree(tmp_path / "run", ["x.bin", "y.bin"])
    manifest = root / "MD5.txt"
    manifest.write_bytes(md5sum_manifest(root))
    cache = tmp_path / "cache.json"
    full = run_cli("check", "--cache", cache, manifest)
    assert full.returncode == 0
    entries = json.loads(cache.read_text())["entries"]
    assert len(entries) == 2 and all({"md5", "xxh128"} <= set(e) for e in entries.values())
    _rewrite_in_place(root / "x.bin")
    quick = run_cli("check", "--quick", "--cache", cache, manifest)
    assert quick.returncode == 0  # the cached digests were used: x.bin was not read
    rehash = run_cli("check", "--quick", "--rehash", "xxh128", "--cache", cache, "--report", tmp_path / "r.json",
                     manifest)
    assert rehash.returncode == 1
    assert verdicts(tmp_path / "r.json") == {"x.bin": "MISMATCH", "y.bin": "OK"}
    assert b"changed in place" in rehash.stdout
    assert run_cli("check", "--cache", cache, manifest).returncode == 1  # full mode reads everything


def test_quick_rereads_files_whose_mtime_changed(tmp_path):
    root = make_tree(tmp_path / "run", ["x.bin"])
    manifest = root / "MD5.txt"
    manifest.write_bytes(md5sum_manifest(root))
    cache = tmp_path / "cache.json"
    assert run_cli("check", "--cache", cache, manifest).returncode == 0
    (root / "x.bin").write_bytes(b"new content")
    assert run_cli("check", "--quick", "--cache", cache, manifest).returncode == 1


def test_fresh_files_are_not_cached(tmp_path):
    root = tmp_path / "run"
    root.mkdir()
    write_random(root / "fresh.bin", 1000)
    manifest = root / "MD5.txt"
    manifest.write_bytes(md5sum_manifest(root))
    cache = tmp_path / "cache.json"
    assert run_cli("check", "--cache", cache, manifest).returncode == 0
    assert not cache.exists() or json.loads(cache.read_text())["entries"] == {}


def test_quick_needs_the_cache_and_rehash_needs_quick(tmp_path):
    assert run_cli("check", "--quick", "--no-cache", tmp_path / "m").returncode == 128
    assert run_cli("check", "--rehash", "xxh128", tmp_path / "m").returncode == 128


def _jsonl(root: Path, *flags: str) -> list[dict]:
    done = run_cli("hash", "-q", "-r", ".", "--format", "jsonl", *flags, cwd=root)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


def test_jsonl_with_multipart_etags(tmp_path):
    root = tmp_path / "run"
    root.mkdir()
    write_random(root / "big.bin", 6 * MiB, 1)
    write_random(root / "small.bin", 1000, 2)
    for path in root.iterdir():
        os.utime(path, (OLD, OLD))
    rows = _jsonl(root, "--part-size", "5MiB", "--threshold", "5MiB")
    big = next(r for r in rows if r["path"].endswith("big.bin"))
    data = (root / "big.bin").read_bytes()
    assert big["etag"] == reference_etag(data, 5 * MiB) and big["md5"] == hashlib.md5(data).hexdigest()
    manifest = root / "sums.jsonl"
    _write_jsonl(manifest, rows)
    assert run_cli("check", "--no-cache", manifest).returncode == 0
    # the MD5 proves the content; an ETag with another part count only earns a hint
    _write_jsonl(manifest, [{**r, "etag": "0" * 32 + "-3"} if r is big else r for r in rows])
    hinted = run_cli("check", "--no-cache", manifest)
    assert hinted.returncode == 0 and b"content verified by md5" in hinted.stdout
    assert b"6291456 bytes in 3 parts needs parts of 2097152 to 3145727 bytes" in hinted.stdout  # not S3's
    # with only the ETag (and its part size), the ETag alone decides
    etag_only = [{k: v for k, v in r.items() if k not in ("md5", "xxh128")} for r in rows]
    _write_jsonl(manifest, etag_only)
    assert run_cli("check", "--no-cache", manifest).returncode == 0
    flipped = bytearray(data)
    flipped[-1] ^= 1
    (root / "big.bin").write_bytes(bytes(flipped))
    assert run_cli("check", "--no-cache", manifest).returncode == 1
    # an ETag that is not MD5-based cannot be checked
    _write_jsonl(manifest, [{"path": "./small.bin", "etag": "not-an-md5-etag"}])
    unverifiable = run_cli("check", "--no-cache", manifest)
    assert unverifiable.returncode == 32 and b"not MD5-based" in unverifiable.stdout


def test_tsv_roundtrip_with_awkward_names(tmp_path):
    root = make_tree(tmp_path / "run", ["a b.txt", "new\nline.txt", "ta\tb.txt", "back\\slash.txt"])
    done = run_cli("hash", "-q", "-r", ".", "--format", "tsv", "-o", tmp_path / "sums.tsv", cwd=root)
    assert done.returncode == 0
    (root / "ta\tb.txt").write_bytes(b"x")
    checked = run_cli("check", "--no-cache", "--root", root, "--report", tmp_path / "r.json", tmp_path / "sums.tsv")
    assert verdicts(tmp_path / "r.json") == {"./a b.txt": "OK", "./new\nline.txt": "OK",
                                             "./ta\tb.txt": "SIZE_MISMATCH", "./back\\slash.txt": "OK"}
    assert checked.returncode == 2


def crc32c_reference(data: bytes) -> str:
    """CRC32C (Castagnoli, reflected 0x82F63B78) bit by bit, base64 of the big-endian value as S3 shows it."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return base64.b64encode((crc ^ 0xFFFFFFFF).to_bytes(4, "big")).decode()


def test_crc32c_reference_is_the_published_check_value():
    assert base64.b64decode(crc32c_reference(b"123456789")) == bytes.fromhex("e3069283")  # RFC 3720 B.4


ORACLES = {"sha256": lambda data: hashlib.sha256(data).hexdigest(), "crc32c": crc32c_reference,
           "xxh128": xxhash.xxh3_128_hexdigest}


def test_non_md5_digests_from_jsonl(tmp_path):
    root = make_tree(tmp_path / "run", ["x.bin", "y.bin"])
    for digest, oracle in ORACLES.items():  # manifests written from hashlib, xxhash and the bitwise CRC32C
        rows = [{"path": f"./{name}", digest: oracle((root / name).read_bytes())} for name in ("x.bin", "y.bin")]
        _write_jsonl(tmp_path / f"{digest}.jsonl", rows)
        done = run_cli("check", "--no-cache", "--root", root, tmp_path / f"{digest}.jsonl")
        assert done.returncode == 0, done.stdout
    (root / "y.bin").write_bytes(b"\0" * (root / "y.bin").stat().st_size)
    for digest in ORACLES:
        done = run_cli("check", "--no-cache", "--root", root, tmp_path / f"{digest}.jsonl")
        assert done.returncode == 1 and f"{digest} differs".encode() in done.stdout, done.stdout


def test_a_damaged_cache_entry_is_ignored_not_a_crash(tmp_path):
    root = make_tree(tmp_path / "run", ["x.bin"])
    manifest = root / "MD5.txt"
    manifest.write_bytes(md5sum_manifest(root))
    info = os.stat(root / "x.bin")
    key = f"{info.st_dev}:{info.st_ino}:{info.st_size}:{info.st_mtime_ns}"
    cache = tmp_path / "cache.json"
    for damaged in ("md5 xxh128", {"md5": 5, "xxh128": None}, ["md5"]):
        cache.write_text(json.dumps({"version": 1, "entries": {key: damaged}}))
        done = run_cli("check", "--quick", "--cache", cache, manifest)
        assert done.returncode == 0 and done.stdout.endswith(b"SUCCEEDED: 1 OK\n"), done.stderr


def test_swapped_content_is_named_for_manifests_of_plain_etags(tmp_path):
    root = make_tree(tmp_path / "run", ["x.bin", "y.bin"])
    rows = [{"path": r["path"], "etag": r["etag"]} for r in _jsonl(root)]  # below the threshold: ETag == MD5
    _write_jsonl(tmp_path / "etags.jsonl", rows)
    x, y = (root / "x.bin").read_bytes(), (root / "y.bin").read_bytes()
    (root / "x.bin").write_bytes(y)
    (root / "y.bin").write_bytes(x)
    done = run_cli("check", "--no-cache", "--root", root, tmp_path / "etags.jsonl")
    assert done.returncode == 1
    assert "./x.bin: MISMATCH (md5 differs" in done.stdout.decode()
    assert b"content is that of listed './y.bin' (swapped or overwritten?)" in done.stdout
