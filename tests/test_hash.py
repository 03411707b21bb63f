"""The one-read engine and ``seqfixity hash`` against coreutils md5sum, hashlib and a naive ETag."""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
import xxhash
from hypothesis import given, settings
from hypothesis import strategies as st

import seqfixity
from conftest import cli_env, run_cli, run_cli_on_terminal, write_random
from seqfixity.engine.digest import SPLIT_MIN_SIZE, read_once
from seqfixity.engine.etag import MiB
from seqfixity.engine.reading import BufferRing
from seqfixity.errors import FileChangedError
from seqfixity.settings import Settings
from test_etag import reference_etag

PART = 5 * MiB
THRESHOLD = 6 * MiB
POOL = random.Random(7).randbytes(3 * PART + 2)


def coreutils_md5(*paths: Path) -> dict[str, str]:
    out = subprocess.run(["md5sum", "--", *map(str, paths)], check=True, capture_output=True).stdout
    return {line.split(b"  ", 1)[1].decode(): line.split(b"  ", 1)[0].decode() for line in out.splitlines()}


@settings(max_examples=12, deadline=None)
@given(size=st.sampled_from([0, 1, PART - 1, PART, PART + 1, THRESHOLD - 1, THRESHOLD, THRESHOLD + 1, 3 * PART + 1]))
def test_hash_file_matches_md5sum_hashlib_xxhash_and_reference_etag(tmp_path_factory, size):
    path = tmp_path_factory.mktemp("sizes") / "f.bin"
    data = POOL[:size]
    path.write_bytes(data)
    record = seqfixity.hash_file(path, Settings(part_size=PART, threshold=THRESHOLD,
                                                digests=("md5", "etag", "xxh128", "sha256", "crc32")))
    assert record.digests["md5"] == coreutils_md5(path)[str(path)]
    assert record.digests["sha256"] == hashlib.sha256(data).hexdigest()
    assert record.digests["xxh128"] == xxhash.xxh3_128_hexdigest(data)
    assert record.digests["crc32"] == __import__("base64").b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    expected_etag = hashlib.md5(data).hexdigest() if size < THRESHOLD else reference_etag(data, PART)
    assert record.digests["etag"] == expected_etag
    assert record.etag_parts == (0 if size < THRESHOLD else -(-size // PART))
    assert record.size == size


@pytest.mark.parametrize(("preset", "size", "part_size"), [
    # each tool's documented cutoff and part size, written out here rather than read from PRESETS
    ("ica", 16 * MiB, 8 * MiB),  # ICA: files under 16 MB keep their MD5; 8 MiB parts
    ("aws-cli", 11 * MiB + 17, 8 * MiB),  # s3transfer: multipart_threshold = multipart_chunksize = 8 MiB
    ("boto3", 11 * MiB + 17, 8 * MiB),
    ("s3cmd", 15 * MiB + 1, 15 * MiB),  # multipart_chunk_size_mb = 15, multipart only above one chunk
    ("s3cmd", 15 * MiB, None),
    ("rclone", 7 * MiB, None),  # upload_cutoff 200 MiB: too big to test above it here
    ("aws-go-sdk", 5 * MiB + 1, 5 * MiB),  # upload manager: 5 MiB parts, one PutObject when it fits in one
    ("aws-go-sdk", 5 * MiB, None),
])
def test_every_preset_on_either_side_of_its_threshold(tmp_path, preset, size, part_size):
    data = random.Random(preset).randbytes(size)
    path = tmp_path / "f"
    path.write_bytes(data)
    record = seqfixity.hash_file(path, Settings(etag_preset=preset))
    expected = hashlib.md5(data).hexdigest() if part_size is None else reference_etag(data, part_size)
    assert record.digests["etag"] == expected


def test_two_lane_read_matches_one_lane(tmp_path):
    path = write_random(tmp_path / "big", SPLIT_MIN_SIZE + 3 * MiB + 5, seed=3)
    data = path.read_bytes()
    record = seqfixity.hash_file(path, Settings(part_size=8 * MiB, threshold=8 * MiB))
    assert record.digests["md5"] == hashlib.md5(data).hexdigest()
    assert record.digests["etag"] == reference_etag(data, 8 * MiB)
    assert record.digests["xxh128"] == xxhash.xxh3_128_hexdigest(data)


def test_a_file_that_grows_while_read_gives_no_digest(tmp_path):
    path = write_random(tmp_path / "growing", SPLIT_MIN_SIZE + MiB)

    class Appender:
        def __init__(self):
            self.done = False

        def update(self, chunk):
            if not self.done:
                with open(path, "ab") as handle:
                    handle.write(b"more")
                self.done = True

        def result(self):
            return ""

    with pytest.raises(FileChangedError, match="changed while being read"):
        read_once(str(path), [(Appender(), 0.1), (hashlib.md5(), 1.0), (hashlib.md5(), 1.0)], BufferRing())
    with pytest.raises(FileChangedError):
        read_once(str(path), [(Appender(), 0.1)], BufferRing())


def test_cli_output_is_accepted_by_md5sum_check_even_for_awkward_names(tmp_path):
    names = ["plain.fastq", "with space.fq", "new\nline.fq", "back\\slash.fq", "carriage\rreturn.fq", "tab\tname.fq"]
    for index, name in enumerate(names):
        write_random(tmp_path / name, 1000 + index, seed=index)
    result = run_cli("hash", *names, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == subprocess.run(["md5sum", *names], cwd=tmp_path, capture_output=True).stdout
    (tmp_path / "MD5.txt").write_bytes(result.stdout)
    check = subprocess.run(["md5sum", "-c", "--strict", "MD5.txt"], cwd=tmp_path, capture_output=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_bsd_format_equals_md5sum_tag(tmp_path):
    names = ["a.fq", "b\\c.fq"]
    for name in names:
        write_random(tmp_path / name, 333)
    ours = run_cli("hash", "--format", "bsd", *names, cwd=tmp_path).stdout
    assert ours == subprocess.run(["md5sum", "--tag", *names], cwd=tmp_path, capture_output=True).stdout


def test_jsonl_has_every_field_and_tsv_a_header(tmp_path):
    data = random.Random(1).randbytes(7 * MiB)
    (tmp_path / "s1.fastq.gz").write_bytes(data)
    result = run_cli("hash", "--format", "jsonl", "--part-size", "5MiB", "--threshold", "5MiB",
                     "--digests", "md5,etag,xxh128,sha256", "s1.fastq.gz", cwd=tmp_path)
    row = json.loads(result.stdout)
    assert row["path"] == "s1.fastq.gz" and row["sample"] == "s1" and row["size"] == len(data)
    assert row["mtime"] == pytest.approx(os.stat(tmp_path / "s1.fastq.gz").st_mtime)
    assert row["md5"] == hashlib.md5(data).hexdigest()
    assert row["etag"] == reference_etag(data, 5 * MiB)
    assert (row["etag_part_size"], row["etag_parts"]) == (5 * MiB, 2)
    assert row["xxh128"] == xxhash.xxh3_128_hexdigest(data)
    assert row["sha256"] == hashlib.sha256(data).hexdigest()
    tsv = run_cli("hash", "--format", "tsv", "s1.fastq.gz", cwd=tmp_path).stdout.decode().splitlines()
    header = tsv[0].split("\t")
    assert dict(zip(header, tsv[1].split("\t"), strict=True))["md5"] == hashlib.md5(data).hexdigest()


def test_recursive_jobs_and_output_file(tmp_path):
    tree = tmp_path / "run"
    for index in range(30):
        write_random(tree / f"lane{index % 3}" / f"s{index}.fq", 10_000 + index, seed=index) if (
            tree / f"lane{index % 3}").mkdir(parents=True, exist_ok=True) is None else None
    result = run_cli("hash", "-r", "--jobs", "2", "run", "-o", "out/MD5.txt", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout == b""
    ours = (tmp_path / "out/MD5.txt").read_bytes().splitlines()
    files = sorted(str(p.relative_to(tmp_path)) for p in tree.rglob("*.fq"))
    assert ours == subprocess.run(["md5sum", *files], cwd=tmp_path, capture_output=True).stdout.splitlines()
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["MD5.txt"]


def test_bad_inputs_each_get_one_line_and_the_rest_is_hashed(tmp_path):
    good = write_random(tmp_path / "good.fq", 100)
    (tmp_path / "folder").mkdir()
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    result = run_cli("hash", "missing.fq", "folder", "fifo", "dangling", "/dev/null", "good.fq", cwd=tmp_path)
    errors = result.stderr.decode().splitlines()
    assert errors == [
        "seqfixity: missing.fq: no such file or directory",
        "seqfixity: folder: is a directory (use --recursive to hash the files in it)",
        "seqfixity: fifo: is a FIFO, not a regular file; copy it to a file first",
        "seqfixity: dangling: dangling symbolic link (its target does not exist)",
        "seqfixity: /dev/null: is a device or socket, not a regular file; copy it to a file first",
    ]
    assert result.stdout == subprocess.run(["md5sum", "good.fq"], cwd=tmp_path, capture_output=True).stdout
    assert result.returncode == 4 | 16
    assert good.exists()


def test_unreadable_file_is_reported(tmp_path):
    secret = write_random(tmp_path / "secret.fq", 100)
    secret.chmod(0)
    write_random(tmp_path / "open.fq", 100)
    command = [sys.executable, "-m", "seqfixity", "hash", "secret.fq", "open.fq"]
    if os.geteuid() == 0:  # root reads anything: drop the capabilities that let it
        assert shutil.which("setpriv"), "running as root without setpriv (util-linux): cannot drop the right to read"
        dropped = "-dac_override,-dac_read_search"
        command = ["setpriv", f"--bounding-set={dropped}", f"--inh-caps={dropped}", *command]
    result = subprocess.run(command, cwd=tmp_path, env=cli_env(), capture_output=True)
    assert result.stderr.decode().strip() == "seqfixity: secret.fq: cannot open: Permission denied"
    assert result.returncode == 16
    assert result.stdout.endswith(b"  open.fq\n")


def test_usage_errors_exit_128_and_teach(tmp_path):
    result = run_cli("hash", "--part-size", "eight", "x", cwd=tmp_path)
    assert result.returncode == 128
    assert b"not a byte size: 'eight' (a number with one of B, K, KB, Ki, KiB, M, MB, Mi, MiB" in result.stderr
    too_many = tmp_path / "sparse"
    with open(too_many, "wb") as handle:
        handle.truncate(60 * MiB)
    result = run_cli("hash", "--part-size", "5MiB", "--threshold", "5MiB", "--etag-preset", "ica", "sparse",
                     cwd=tmp_path)
    assert result.returncode == 0
    result = run_cli("hash", "--part-size", "1MiB", "--threshold", "1MiB", "sparse", cwd=tmp_path)
    assert result.returncode == 128
    assert b"sparse: part size 1048576 is under S3's 5 MiB minimum" in result.stderr


def test_help_documents_exit_codes_and_examples():
    text = run_cli("hash", "--help").stdout.decode()
    for needle in ("md5sum -c", "--etag-preset", "16   unreadable", "128  usage error", "examples:"):
        assert needle in text
    assert "0    every file was hashed\n" in text and "content mismatch" not in text  # hash compares nothing


def test_progress_bar_only_on_a_terminal(tmp_path):
    write_random(tmp_path / "f", 2 * MiB)
    assert run_cli("hash", "f", cwd=tmp_path).stderr == b""
    output, seen = run_cli_on_terminal("hash", "f", cwd=tmp_path)
    assert b"hashing" in seen and b"100%" in seen
    # count, total and rate in one unit system, IEC binary (tqdm's own had binary counts and decimal rates)
    final = [line for line in seen.split(b"\r") if b"100%" in line][-1]
    assert re.search(rb"\| 2\.0 MiB of 2\.0 MiB \[[^]]*, \d+\.\d (KiB|MiB|GiB)/s\]", final), final
    assert output.endswith(b"  f\n")


def test_etag_guess_finds_the_part_size_in_one_read(tmp_path):
    data = random.Random(5).randbytes(23 * MiB + 3)
    (tmp_path / "x").write_bytes(data)
    for part_size in (5 * MiB, 8 * MiB, 6_000_000):
        etag = reference_etag(data, part_size)
        result = run_cli("etag", "guess", "x", etag, cwd=tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr
        assert f"({part_size} bytes)".encode() in result.stdout
    result = run_cli("etag", "guess", "x", reference_etag(data, 5_500_001), cwd=tmp_path)
    assert result.returncode == 1
    assert b"no candidate reproduced" in result.stdout and b"tried" in result.stdout
    assert run_cli("etag", "guess", "x", hashlib.md5(data).hexdigest(), cwd=tmp_path).returncode == 0
    assert run_cli("etag", "guess", "x", "0" * 32, cwd=tmp_path).returncode == 1
    assert run_cli("etag", "guess", "x", "nonsense", cwd=tmp_path).returncode == 128


def test_etag_guess_on_a_folder_does_not_suggest_a_recursive_option_it_lacks(tmp_path):
    result = run_cli("etag", "guess", tmp_path, "0" * 32 + "-2")
    assert result.returncode == 16
    assert result.stderr.decode() == f"seqfixity: {tmp_path}: is a directory, not a file\n"


def test_python_api():
    hasher = seqfixity.ETagHasher(5)
    hasher.update(b"0123456789ab")
    assert hasher.hexdigest() == reference_etag(b"0123456789ab", 5)


def test_output_file_mode_follows_the_umask_or_the_file_it_replaces(tmp_path):
    write_random(tmp_path / "x.bin", 100)
    command = [sys.executable, "-m", "seqfixity", "hash", "-o"]
    for umask, mode in ((0o077, 0o600), (0o002, 0o664)):
        out = tmp_path / f"new-{umask:o}.md5"
        subprocess.run([*command, out, tmp_path / "x.bin"], env=cli_env(), umask=umask, check=True)
        assert out.stat().st_mode & 0o777 == mode
    kept = tmp_path / "kept.md5"
    kept.write_bytes(b"old\n")
    kept.chmod(0o640)
    subprocess.run([*command, kept, tmp_path / "x.bin"], env=cli_env(), umask=0o022, check=True)
    assert kept.stat().st_mode & 0o777 == 0o640
    assert kept.read_bytes().endswith(b"  " + bytes(tmp_path / "x.bin") + b"\n")


class _SlowMd5:
    """An MD5 that dawdles, so the reading lane runs ahead and must wait for its buffers to come back."""

    def __init__(self, fail_after: int | None = None):
        self.md5, self.calls, self.fail_after = hashlib.md5(), 0, fail_after

    def update(self, chunk):
        import time

        self.calls += 1
        if self.fail_after is not None and self.calls > self.fail_after:
            raise MemoryError("lane broke")
        time.sleep(0.002)
        self.md5.update(chunk)


def test_two_lanes_never_overwrite_a_buffer_still_in_use_and_pass_on_a_lane_failure(tmp_path, monkeypatch):
    import seqfixity.engine.digest as digest

    monkeypatch.setattr(digest, "SPLIT_MIN_SIZE", 0)
    path = write_random(tmp_path / "f", 3 * MiB + 17, seed=9)
    data = path.read_bytes()
    ring = BufferRing(count=2, size=64 * 1024)  # 49 chunks through two buffers
    slow, fast = _SlowMd5(), hashlib.md5()
    read_once(str(path), [(slow, 1.0), (fast, 1.0)], ring)
    assert slow.md5.hexdigest() == fast.hexdigest() == hashlib.md5(data).hexdigest()
    with pytest.raises(MemoryError, match="lane broke"):  # raised in the reading thread, nothing hangs
        read_once(str(path), [(_SlowMd5(fail_after=3), 1.0), (_SlowMd5(fail_after=3), 1.0)], ring)
    after = hashlib.md5()
    read_once(str(path), [(after, 1.0), (_SlowMd5(), 1.0)], ring)  # the same ring still works
    assert after.hexdigest() == hashlib.md5(data).hexdigest()


def test_hash_files_keeps_the_order_and_reports_each_failure_in_place(tmp_path):
    from seqfixity.engine.digest import hash_files

    paths = [write_random(tmp_path / f"f{i}", 1000 * i + 1, seed=i) for i in range(6)]
    (tmp_path / "folder").mkdir()
    order = [paths[0], tmp_path / "none", paths[1], tmp_path / "folder", *paths[2:]]
    for jobs in (1, 2, 4):
        records = list(hash_files([str(p) for p in order], Settings(digests=("md5",)), jobs=jobs))
        assert [r.path for r in records] == [str(p) for p in order]
        assert [r.error_kind for r in records] == ["", "missing", "", "unreadable", "", "", "", ""]
        assert all(r.digests["md5"] == hashlib.md5(Path(r.path).read_bytes()).hexdigest() for r in records if r.ok)


def test_a_bad_name_with_line_breaks_still_gets_one_stderr_line(tmp_path):
    good = write_random(tmp_path / "good", 10)
    done = run_cli("hash", tmp_path / "no\nsuch", tmp_path / "no\rway", good)
    assert done.returncode == 4
    assert done.stderr.decode().splitlines() == [f"seqfixity: {tmp_path}/no\\nsuch: no such file or directory",
                                                 f"seqfixity: {tmp_path}/no\\rway: no such file or directory"]
    assert done.stdout == subprocess.run(["md5sum", good], capture_output=True).stdout


def test_etag_presets_with_a_bad_size_is_a_usage_error_not_a_traceback():
    done = run_cli("etag", "presets", "5XB")
    assert done.returncode == 128 and b"Traceback" not in done.stderr
    assert b"unknown unit 'XB' in '5XB'" in done.stderr
    shown = run_cli("etag", "presets", "5GiB")
    assert shown.returncode == 0 and b"aws-cli" in shown.stdout and b"-> 640 parts of 8MiB" in shown.stdout


def test_output_through_a_symbolic_link_keeps_the_link(tmp_path):
    x = write_random(tmp_path / "x.bin", 100)
    (tmp_path / "runs").mkdir()
    real = tmp_path / "runs" / "42.md5"
    real.write_bytes(b"old\n")
    link = tmp_path / "current.md5"
    link.symlink_to(real)
    assert run_cli("hash", "-o", link, x).returncode == 0
    assert link.is_symlink() and real.read_bytes() == subprocess.run(["md5sum", x], capture_output=True).stdout


def test_rclones_own_size_suffixes_give_rclones_layout(tmp_path):
    """rclone writes its sizes as `5Mi` and `200Mi` (`rclone help flags`: --s3-chunk-size default 5Mi): Mi is a
    MiB there. `--part-size 6Mi` was refused; it is the ETag of 6 MiB parts, written out by hand with hashlib."""
    data = random.Random(8).randbytes(13 * MiB + 5)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    parts = [hashlib.md5(data[i:i + 6 * MiB]).digest() for i in range(0, len(data), 6 * MiB)]
    expected = f"{hashlib.md5(b''.join(parts)).hexdigest()}-{len(parts)}"
    done = run_cli("hash", path, "--etag-preset", "rclone", "--part-size", "6Mi", "--threshold", "6mi",
                   "--format", "jsonl", "--digests", "etag")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["etag"] == expected
