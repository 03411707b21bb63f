"""`seqfixity check` against manifests written by real tools, over a tree corrupted in known ways."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import REPO, md5_backend_set, run_cli, write_random

NAMES = ["a b.txt", "new\nline.txt", "ta\tb.txt", os.fsdecode(b"bad\xffname.bin"), "back\\slash.txt",
         "sub/deep file.bin", "flip.bin", "trunc.bin", "gone.bin", "renamed.bin"]
OLD = 1_600_000_000  # mtimes far in the past, so the quick-mode cache accepts the files


def make_tree(root: Path, names=NAMES) -> Path:
    """Write small random files (a few KiB) with awkward names below ``root``."""
    for seed, name in enumerate(names):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        write_random(path, 1000 + 517 * seed, seed)
        os.utime(path, (OLD, OLD))
    return root


def corrupt(root: Path) -> None:
    """Flip a byte, truncate, delete, rename, and add a file: one of each."""
    flip = root / "flip.bin"
    data = bytearray(flip.read_bytes())
    data[100] ^= 0xFF
    flip.write_bytes(bytes(data))
    with open(root / "trunc.bin", "r+b") as handle:
        handle.truncate(300)
    (root / "gone.bin").unlink()
    (root / "renamed.bin").rename(root / "sub" / "renamed-elsewhere.bin")
    (root / "extra.txt").write_bytes(b"not listed\n")


def md5sum_manifest(root: Path, *flags: str) -> bytes:
    """The real coreutils md5sum over every file below ``root`` (paths relative to it)."""
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    return subprocess.run(["md5sum", *flags, "--", *files], cwd=root, check=True, capture_output=True).stdout


def verdicts(report: Path) -> dict[str, str]:
    """{path: verdict} from a JSON report."""
    return {f["path"]: f["verdict"] for f in json.loads(report.read_bytes())["files"]}


def check(*args, cwd=None):
    return run_cli("check", "--no-cache", *args, cwd=cwd)


@pytest.mark.parametrize("flags", [(), ("--tag",)], ids=["gnu", "bsd"])
def test_md5sum_manifest_every_verdict(tmp_path, flags):
    root = make_tree(tmp_path / "run")
    manifest = root / "MD5.txt"
    manifest.write_bytes(md5sum_manifest(root, *flags))
    corrupt(root)
    report = tmp_path / "report.json"
    done = check("--completeness", "--report", report, "MD5.txt", cwd=root)
    assert verdicts(report) == {
        "a b.txt": "OK", "new\nline.txt": "OK", "ta\tb.txt": "OK", os.fsdecode(b"bad\xffname.bin"): "OK",
        "back\\slash.txt": "OK", "sub/deep file.bin": "OK", "flip.bin": "MISMATCH", "trunc.bin": "MISMATCH",
        "gone.bin": "MISSING", "renamed.bin": "MOVED", "extra.txt": "EXTRA",
    }
    assert done.returncode == 1 | 4 | 8, done.stderr
    data = json.loads(report.read_bytes())
    assert data["outcome"] == "PARTIALLY_SUCCEEDED" and data["exit_code"] == 13
    moved = next(f for f in data["files"] if f["verdict"] == "MOVED")
    assert "renamed-elsewhere.bin" in moved["hint"]
    lines = done.stdout.decode("utf-8", "surrogateescape").splitlines()
    assert lines[-1] == "PARTIALLY_SUCCEEDED: 6 OK, 1 EXTRA, 2 MISMATCH, 1 MISSING, 1 MOVED"
    assert "\\new\\nline.txt: OK" in lines  # escaped as md5sum -c prints it, one result per line


def test_md5sum_agrees_on_the_same_manifest(tmp_path):
    """Where md5sum -c can tell, it says the same: which files fail."""
    root = make_tree(tmp_path / "run", NAMES[:3] + NAMES[6:9])
    manifest = root / "MD5.txt"
    manifest.write_bytes(md5sum_manifest(root))
    corrupt_simple = root / "flip.bin"
    corrupt_simple.write_bytes(b"changed")
    (root / "gone.bin").unlink()
    oracle = subprocess.run(["md5sum", "-c", "MD5.txt"], cwd=root, capture_output=True)
    ours = check("MD5.txt", cwd=root)
    failed_oracle = {line.rsplit(b": ", 1)[0] for line in oracle.stdout.splitlines() if not line.endswith(b"OK")}
    failed_ours = {line.split(b": ", 1)[0] for line in ours.stdout.splitlines()[:-1] if b": OK" not in line}
    assert failed_oracle == failed_ours == {b"flip.bin", b"gone.bin"}
    assert oracle.returncode == 1 and ours.returncode == 1 | 4


def test_crlf_upper_case_binary_marker_and_comments(tmp_path):
    root = make_tree(tmp_path / "run", ["x.bin", "y.bin"])
    lines = []
    for name in ("x.bin", "y.bin"):
        digest = hashlib.md5((root / name).read_bytes()).hexdigest().upper()
        lines.append(f"{digest} *{name}\r\n".encode())
    (root / "MD5.txt").write_bytes(b"# from the provider\r\n" + b"".join(lines))
    done = check(root / "MD5.txt")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.decode().splitlines()[-1] == "SUCCEEDED: 2 OK"


def test_malformed_line_is_manifest_error_and_the_rest_is_checked(tmp_path):
    root = make_tree(tmp_path / "run", ["x.bin", "y.bin", "z.bin"])
    good = md5sum_manifest(root).splitlines(keepends=True)
    (root / "MD5.txt").write_bytes(good[0] + b"this is not a checksum line\n" + b"abc123  short.bin\n" + good[1]
                                   + good[2])
    (root / "z.bin").write_bytes(b"corrupted")
    report = tmp_path / "r.json"
    done = check("--report", report, root / "MD5.txt")
    assert done.returncode == 64 | 1
    stderr = done.stderr.decode()
    assert f"{root}/MD5.txt:2: not a checksum line" in stderr
    assert f"{root}/MD5.txt:3: 6 hex digits" in stderr
    assert verdicts(report) == {"x.bin": "OK", "y.bin": "OK", "z.bin": "MISMATCH",
                                f"{root}/MD5.txt:2": "MANIFEST_ERROR", f"{root}/MD5.txt:3": "MANIFEST_ERROR"}


def test_hashdeep_manifest_sizes_and_a_broken_newline_row(tmp_path):
    root = make_tree(tmp_path / "run")
    hashdeep = subprocess.run(["hashdeep", "-r", "-l", "."], cwd=root, check=True, capture_output=True).stdout
    manifest = tmp_path / "hashdeep.txt"
    manifest.write_bytes(hashdeep)
    corrupt(root)
    report = tmp_path / "r.json"
    done = check("--completeness", "--root", root, "--report", report, manifest)
    got = verdicts(report)
    # hashdeep writes the newline raw: "./new" is a row of its own, "line.txt,..." a malformed one
    broken = next(p for p, v in got.items() if v == "MANIFEST_ERROR")
    assert broken.startswith(f"{manifest}:")
    assert got["./new"] == "MOVED"
    assert got["./trunc.bin"] == "SIZE_MISMATCH" and got["./flip.bin"] == "MISMATCH"
    assert got["./gone.bin"] == "MISSING" and got["./renamed.bin"] == "MOVED"
    assert got[os.fsdecode(b"./bad\xffname.bin")] == "OK" and got["./ta\tb.txt"] == "OK"
    extras = [p for p, v in got.items() if v == "EXTRA"]
    assert len(extras) == 1 and extras[0].endswith("extra.txt")
    assert done.returncode == 1 | 2 | 4 | 8 | 64
    truncated = json.loads(report.read_bytes())["files"]
    hint = next(f["hint"] for f in truncated if f["path"] == "./trunc.bin")
    assert "truncated" in hint


def test_bagit_manifest_written_by_bagit_python(tmp_path):
    import bagit  # a test dependency (pyproject's test extra): missing, the test fails rather than skips

    bag_dir = make_tree(tmp_path / "bag", [n for n in NAMES if "\udcff" not in n] + ["50%off.txt"])
    bagit.make_bag(str(bag_dir), checksums=["md5"])
    payload = bag_dir / "data"
    corrupt(payload)
    report = tmp_path / "r.json"
    done = check("--completeness", "--report", report, bag_dir / "manifest-md5.txt")
    got = verdicts(report)
    assert got["data/new\nline.txt"] == "OK" and got["data/50%off.txt"] == "OK"
    assert got["data/flip.bin"] == "MISMATCH" and got["data/gone.bin"] == "MISSING"
    assert got["data/renamed.bin"] == "MOVED"
    assert [p for p, v in got.items() if v == "EXTRA"] == [str(payload / "extra.txt")]
    assert done.returncode == 1 | 4 | 8  # bag-info.txt and the tag manifests are not EXTRA
    with pytest.raises(bagit.BagValidationError):  # the oracle agrees that the bag is broken
        bagit.Bag(str(bag_dir)).validate()


def test_rclone_md5sum_output(tmp_path):
    assert shutil.which("rclone"), "Debian's rclone is missing: run scripts/install-deps.sh --test"
    root = make_tree(tmp_path / "run", NAMES[:3] + NAMES[6:8])
    manifest = tmp_path / "rclone.md5"
    subprocess.run(["rclone", "md5sum", str(root), "--output-file", str(manifest)], check=True,
                   capture_output=True, env={**os.environ, "RCLONE_CONFIG": "/dev/null"})
    assert "\u240a".encode() in manifest.read_bytes()  # rclone shows the newline as a control picture
    (root / "flip.bin").write_bytes(b"changed")
    report = tmp_path / "r.json"
    done = check("--root", root, "--report", report, manifest)
    got = verdicts(report)
    assert got == {"a b.txt": "OK", "new\nline.txt": "OK", "ta\tb.txt": "OK", "flip.bin": "MISMATCH",
                   "trunc.bin": "OK"}
    assert done.returncode == 1
    assert json.loads(report.read_bytes())["manifest_formats"] == ["rclone"]


def test_sidecar_files(tmp_path):
    root = make_tree(tmp_path / "run", ["s1.fastq.gz", "s2.fastq.gz", "s3.fastq.gz"])
    for name in ("s1.fastq.gz", "s2.fastq.gz", "s3.fastq.gz"):
        (root / f"{name}.md5").write_bytes(subprocess.run(["md5sum", name], cwd=root, check=True,
                                                          capture_output=True).stdout)
    (root / "s2.fastq.gz").write_bytes(b"other")
    (root / "s3.fastq.gz.md5").write_bytes(hashlib.md5((root / "s3.fastq.gz").read_bytes()).hexdigest().encode())
    done = check(*sorted(root.glob("*.md5")), "--report", tmp_path / "r.json")
    assert verdicts(tmp_path / "r.json") == {"s1.fastq.gz": "OK", "s2.fastq.gz": "MISMATCH", "s3.fastq.gz": "OK"}
    assert done.returncode == 1


def test_ena_file_report_with_sizes_and_basename_matching(tmp_path):
    root = make_tree(tmp_path / "dl", ["SRR1_1.fastq.gz", "SRR1_2.fastq.gz", "SRR2.fastq.gz"])
    def md5(name):
        return hashlib.md5((root / name).read_bytes()).hexdigest()
    def size(name):
        return (root / name).stat().st_size
    url = "ftp.sra.ebi.ac.uk/vol1/fastq/SRR1/"
    report_tsv = tmp_path / "filereport_read_run_PRJEB1.tsv"
    report_tsv.write_text(
        "run_accession\tfastq_ftp\tfastq_md5\tfastq_bytes\n"
        f"SRR1\t{url}SRR1_1.fastq.gz;{url}SRR1_2.fastq.gz\t{md5('SRR1_1.fastq.gz')};{md5('SRR1_2.fastq.gz')}\t"
        f"{size('SRR1_1.fastq.gz')};{size('SRR1_2.fastq.gz') + 1}\n"
        f"SRR2\t{url}SRR2.fastq.gz\t{md5('SRR2.fastq.gz')}\t{size('SRR2.fastq.gz')}\n"
        "SRR3\ta;b\tonly-one\t\n")
    done = check("--root", root, "--report", tmp_path / "r.json", report_tsv)
    got = verdicts(tmp_path / "r.json")
    assert got == {f"{url}SRR1_1.fastq.gz": "OK", f"{url}SRR1_2.fastq.gz": "SIZE_MISMATCH",
                   f"{url}SRR2.fastq.gz": "OK", f"{report_tsv}:4": "MANIFEST_ERROR"}
    assert done.returncode == 2 | 64


def test_ignore_missing(tmp_path):
    root = make_tree(tmp_path / "run", ["x.bin", "y.bin"])
    (root / "MD5.txt").write_bytes(md5sum_manifest(root))
    (root / "x.bin").unlink()
    some = check("--ignore-missing", root / "MD5.txt")
    assert some.returncode == 0, some.stdout
    (root / "y.bin").unlink()
    oracle = subprocess.run(["md5sum", "-c", "--ignore-missing", "MD5.txt"], cwd=root, capture_output=True)
    none = check("--ignore-missing", root / "MD5.txt")
    assert oracle.returncode != 0  # coreutils: "no file was verified"
    assert none.returncode == 4 and b"no file was verified" in none.stderr
    assert none.stdout.decode().splitlines()[-1] == "FAILED: 2 MISSING"


def test_paths_outside_the_root_are_refused(tmp_path):
    root = make_tree(tmp_path / "run", ["x.bin"])
    outside = make_tree(tmp_path / "elsewhere", ["o.bin"])
    digest_o = hashlib.md5((outside / "o.bin").read_bytes()).hexdigest()
    manifest = root / "MD5.txt"
    manifest.write_text(md5sum_manifest(root).decode() + f"{digest_o}  ../elsewhere/o.bin\n"
                        f"{digest_o}  {outside}/o.bin\n")
    refused = check("--report", tmp_path / "r.json", manifest)
    got = verdicts(tmp_path / "r.json")
    assert got == {"x.bin": "OK", "../elsewhere/o.bin": "MANIFEST_ERROR", f"{outside}/o.bin": "MANIFEST_ERROR"}
    assert refused.returncode == 64
    allowed = check("--allow-outside-root", manifest)
    assert allowed.returncode == 0, allowed.stdout


def test_strip_prefix_root_and_basename_matching(tmp_path):
    root = make_tree(tmp_path / "here", ["x.bin", "deep/y.bin"])
    lines = "".join(f"{hashlib.md5((root / n).read_bytes()).hexdigest()}  /seqcenter/out/{n}\n"
                    for n in ("x.bin", "deep/y.bin"))
    manifest = tmp_path / "MD5.txt"
    manifest.write_text(lines)
    assert check("--root", root, manifest).returncode == 64
    assert check("--root", root, "--strip-prefix", "/seqcenter/out/", manifest).returncode == 0
    without_slash = check("--root", root, "--strip-prefix", "/seqcenter/out", manifest)
    assert without_slash.returncode == 0, without_slash.stdout  # a folder, as verify's --strip-prefix /run42
    assert check("--root", root, "--match", "basename", manifest).returncode == 0


def test_fail_on_quiet_and_status(tmp_path):
    root = make_tree(tmp_path / "run", ["x.bin", "y.bin"])
    (root / "MD5.txt").write_bytes(md5sum_manifest(root))
    (root / "new.bin").write_bytes(b"extra")
    assert check("--completeness", root / "MD5.txt").returncode == 8
    ignored = check("--completeness", "--fail-on", "mismatch,size_mismatch,missing,unreadable", root / "MD5.txt")
    assert ignored.returncode == 0 and ignored.stdout.decode().splitlines()[-1].startswith("SUCCEEDED")
    for flag in ("--quiet", "-q"):  # -q as in hash and verify
        quiet = check(flag, "--completeness", root / "MD5.txt")
        assert b": OK" not in quiet.stdout and b"new.bin: EXTRA" in quiet.stdout
    status = check("--status", "--completeness", root / "MD5.txt")
    assert status.stdout == b"" and status.returncode == 8
    assert check("--fail-on", "bogus", root / "MD5.txt").returncode == 128


def test_unreadable_and_unverifiable(tmp_path):
    root = make_tree(tmp_path / "run", ["x.bin"])
    (root / "folder").mkdir()
    sha512 = hashlib.sha512((root / "x.bin").read_bytes()).hexdigest()
    manifest = root / "sums.txt"
    manifest.write_text(f"{'0' * 32}  folder\n{sha512}  x.bin\n")
    done = check("--report", tmp_path / "r.json", manifest)
    assert verdicts(tmp_path / "r.json") == {"folder": "UNREADABLE", "x.bin": "UNVERIFIABLE"}
    assert done.returncode == 16 | 32
    assert done.stdout.decode().splitlines()[-1] == "FAILED: 1 UNREADABLE, 1 UNVERIFIABLE"


def test_missing_manifest_is_a_manifest_error(tmp_path):
    done = check(tmp_path / "nope.md5")
    assert done.returncode == 64 and f"{tmp_path}/nope.md5: cannot read manifest".encode() in done.stderr


def test_help_documents_exit_codes_and_verdicts():
    done = run_cli("check", "--help")
    text = done.stdout.decode()
    for needle in ("64   manifest", "8    extra", "MOVED", "--quick", "--completeness", "hashdeep", "BagIt"):
        assert needle in text


def test_moved_needs_sizes_or_completeness(tmp_path):
    """Without sizes, only --completeness reads unlisted files to find moved content."""
    root = make_tree(tmp_path / "run", ["x.bin", "y.bin"])
    (root / "MD5.txt").write_bytes(md5sum_manifest(root))
    (root / "y.bin").rename(root / "y-renamed.bin")
    plain = check("--report", tmp_path / "plain.json", "MD5.txt", cwd=root)
    assert verdicts(tmp_path / "plain.json") == {"x.bin": "OK", "y.bin": "MISSING"} and plain.returncode == 4
    complete = check("--completeness", "--report", tmp_path / "all.json", "MD5.txt", cwd=root)
    assert verdicts(tmp_path / "all.json") == {"x.bin": "OK", "y.bin": "MOVED"} and complete.returncode == 4
    jsonl = run_cli("hash", "-q", "x.bin", "y-renamed.bin", "--format", "jsonl", cwd=root).stdout
    (root / "sums.jsonl").write_bytes(jsonl.replace(b"y-renamed.bin", b"y.bin"))
    sized = check("--report", tmp_path / "sized.json", "sums.jsonl", cwd=root)
    assert verdicts(tmp_path / "sized.json") == {"x.bin": "OK", "y.bin": "MOVED"} and sized.returncode == 4


def test_manifest_from_stdin(tmp_path):
    root = make_tree(tmp_path / "run", ["x.bin"])
    done = run_cli("check", "--no-cache", "-", cwd=root, input=md5sum_manifest(root))
    assert done.returncode == 0 and done.stdout.decode().splitlines() == ["x.bin: OK", "SUCCEEDED: 1 OK"]


def _naive_etag(data: bytes, part: int) -> str:
    """A multipart ETag written out by hand: MD5 of the parts' binary MD5s, then -N."""
    parts = [hashlib.md5(data[i:i + part]).digest() for i in range(0, len(data), part)]
    return f"{hashlib.md5(b''.join(parts)).hexdigest()}-{len(parts)}"


def test_check_honours_the_etag_layout_options_and_offers_no_digests_flag(tmp_path):
    mib = 1024 * 1024
    data = write_random(tmp_path / "f.bin", 11 * mib, 7).read_bytes()
    manifest = tmp_path / "etags.txt"
    manifest.write_text(f"{_naive_etag(data, 5 * mib)}  f.bin\n")
    # the -3 admits 5 MiB parts: found in the same read, though the ica preset would not cut 11 MiB at all
    inferred = check(manifest)
    assert inferred.returncode == 0 and b"part size 5MiB, inferred" in inferred.stdout, inferred.stdout
    assert check("--part-size", "5MiB", "--threshold", "5MiB", manifest).returncode == 0
    # a part size that cuts the file into another number of parts than the ETag's is not the uploader's: the
    # ETag says so itself, so the likely part sizes are tried instead (the content is the same: OK)
    wrong = check("--part-size", "6MiB", manifest)
    assert wrong.returncode == 0 and b"part size 5MiB, inferred; part size 6MiB cuts" in wrong.stdout, wrong.stdout
    # a part size that gives the ETag's part count is taken as known: another ETag at it is a MISMATCH
    (tmp_path / "f.bin").write_bytes(data[:5] + bytes([data[5] ^ 1]) + data[6:])
    changed = check("--part-size", "5MiB", manifest)
    assert changed.returncode == 1 and b"ETag at the known part size 5MiB differs: expected " in changed.stdout
    (tmp_path / "f.bin").write_bytes(data)
    manifest.write_text(f"{_naive_etag(data, 8 * mib)}  f.bin\n")
    assert check(manifest).returncode == 0
    assert check("--etag-preset", "aws-cli", manifest).returncode == 0
    config = tmp_path / "config.yaml"
    config.write_text("etag_preset: aws-cli\npart_size: 8MiB\n")
    assert check("--config", config, manifest).returncode == 0
    assert b"--digests" not in check("--help").stdout
    assert check("--digests", "md5", manifest).returncode == 128


def test_check_is_always_strict_like_md5sum_strict_and_rejects_bad_escapes(tmp_path):
    make_tree(tmp_path, ["a.txt", "b\\x.txt"])
    good = md5sum_manifest(tmp_path).splitlines(keepends=True)
    digest = hashlib.md5((tmp_path / "b\\x.txt").read_bytes()).hexdigest()
    # md5sum -c refuses an escaped name holding an escape it never writes (\x): an improper line
    manifest = tmp_path / "MD5.txt"
    manifest.write_bytes(good[0] + f"\\{digest}  b\\x.txt\n".encode())
    for strict in ((), ("--strict",)):
        oracle = subprocess.run(["md5sum", "-c", *strict, "MD5.txt"], cwd=tmp_path, capture_output=True)
        assert oracle.returncode == (1 if strict else 0) and b"improperly formatted" in oracle.stderr
        done = check(*strict, "--report", tmp_path / "r.json", manifest)
        assert done.returncode == 64, done.stderr
        assert verdicts(tmp_path / "r.json") == {"a.txt": "OK", f"{manifest}:2": "MANIFEST_ERROR"}
        assert f"{manifest}:2: escaped name has the escape \\x".encode() in done.stderr
    # the same line unescaped (no leading backslash) is a plain name with a backslash in it
    manifest.write_bytes(f"{digest}  b\\x.txt\n".encode())
    assert subprocess.run(["md5sum", "-c", "--strict", "MD5.txt"], cwd=tmp_path).returncode == 0
    assert check("--strict", manifest).returncode == 0
    # tolerated only when asked, as md5sum -c without --strict tolerates it
    manifest.write_bytes(good[0] + b"garbage\n")
    assert check("--fail-on", "mismatch,missing", manifest).returncode == 0


def test_results_stream_in_manifest_order_as_files_are_read(tmp_path):
    from seqfixity.manifests.check import CheckOptions, check_manifests
    from seqfixity.manifests.read import read_manifest

    make_tree(tmp_path, ["a.bin", "b.bin", "c.bin"])
    (tmp_path / "MD5.txt").write_bytes(md5sum_manifest(tmp_path) + b"garbage\n")
    (tmp_path / "c.bin").unlink()
    seen = []

    def on_result(result):
        seen.append((result.path, result.verdict.name))
        if result.path == "a.bin":  # b.bin is read only after a.bin's verdict is out
            (tmp_path / "b.bin").write_bytes(b"changed after a.bin was judged\n")

    # one file at a time (the multi-lane backends read several files together, so b.bin would be read already)
    with md5_backend_set("scalar"):
        batch = check_manifests([read_manifest(str(tmp_path / "MD5.txt"))], CheckOptions(jobs=1), on_result=on_result)
    assert seen == [("a.bin", "OK"), ("b.bin", "MISMATCH"), ("c.bin", "MISSING"),
                    (f"{tmp_path}/MD5.txt:4", "MANIFEST_ERROR")]
    assert [(r.path, r.verdict.name) for r in batch.results] == seen
    lines = check("--jobs", "2", tmp_path / "MD5.txt").stdout.decode().splitlines()
    starts = ["a.bin: OK", "b.bin: MISMATCH (md5 differs", "c.bin: MISSING", f"{tmp_path}/MD5.txt:4: MANIFEST_ERROR",
              "PARTIALLY_SUCCEEDED: 1 OK, 1 MANIFEST_ERROR, 1 MISMATCH, 1 MISSING"]
    assert len(lines) == len(starts) and all(line.startswith(s) for line, s in zip(lines, starts, strict=True))


def test_outcome_counts_only_ok_files_as_passed(tmp_path):
    root = make_tree(tmp_path / "run", ["x.bin", "y.bin"])
    (root / "MD5.txt").write_bytes(md5sum_manifest(root))
    (root / "new.bin").write_bytes(b"extra")
    for name in ("x.bin", "y.bin"):
        (root / name).write_bytes(b"all changed\n")
    done = check("--completeness", "--fail-on", "mismatch", root / "MD5.txt")
    assert done.returncode == 1
    assert done.stdout.decode().splitlines()[-1] == "FAILED: 1 EXTRA, 2 MISMATCH"  # nothing was OK
    (root / "y.bin").unlink()
    done = check("--fail-on", "mismatch", root / "MD5.txt")
    assert done.returncode == 1 and done.stdout.decode().splitlines()[-1] == "FAILED: 1 MISMATCH, 1 MISSING"


def test_ignore_missing_needs_one_file_verified_ok_like_coreutils(tmp_path):
    root = make_tree(tmp_path / "run", ["x.bin", "y.bin"])
    (root / "MD5.txt").write_bytes(md5sum_manifest(root))
    (root / "x.bin").unlink()
    (root / "y.bin").write_bytes(b"changed\n")
    oracle = subprocess.run(["md5sum", "-c", "--ignore-missing", "MD5.txt"], cwd=root, capture_output=True)
    assert oracle.returncode == 1 and b"no file was verified" in oracle.stderr  # a mismatch verifies nothing
    done = check("--ignore-missing", root / "MD5.txt")
    assert done.returncode == 1 | 4 and b"no file was verified" in done.stderr
    assert done.stdout.decode().splitlines()[-1] == "FAILED: 1 MISMATCH, 1 MISSING"


def test_ok_lines_are_byte_for_byte_those_of_md5sum_check(tmp_path):
    names = ["a b.txt", "new\nline.txt", "back\\slash.txt", "both\\and\nnew.txt", os.fsdecode(b"bad\xffname.bin")]
    root = make_tree(tmp_path / "run", names)
    (root / "MD5.txt").write_bytes(md5sum_manifest(root))
    oracle = subprocess.run(["md5sum", "-c", "MD5.txt"], cwd=root, capture_output=True, check=True)
    ours = check("MD5.txt", cwd=root)
    assert ours.returncode == 0
    assert ours.stdout.splitlines(keepends=True)[:-1] == oracle.stdout.splitlines(keepends=True)


def test_leading_blanks_before_the_digest_are_skipped_as_md5sum_does(tmp_path):
    make_tree(tmp_path, ["a.txt"])
    line = md5sum_manifest(tmp_path)
    (tmp_path / "MD5.txt").write_bytes(b"\t" + line + b" \t " + line)
    assert subprocess.run(["md5sum", "-c", "--strict", "MD5.txt"], cwd=tmp_path).returncode == 0
    done = check(tmp_path / "MD5.txt")
    assert done.returncode == 0 and done.stdout.endswith(b"SUCCEEDED: 2 OK\n")


def test_an_empty_batch_is_failed_and_does_not_exit_zero():
    from seqfixity.reports.results import BatchResult

    empty = BatchResult()
    assert empty.outcome.value == "FAILED" and empty.exit_code == 64
    assert empty.to_dict()["exit_code"] == 64 and empty.summary_line() == "FAILED: no files"


def test_a_listed_folder_is_unreadable_without_advice_check_cannot_follow(tmp_path):
    (tmp_path / "folder").mkdir()
    (tmp_path / "MD5.txt").write_text(f"{'0' * 32}  folder\n")
    done = check(tmp_path / "MD5.txt")
    assert done.returncode == 16
    assert done.stdout.decode().splitlines()[0] == "folder: UNREADABLE (is a directory, not a file)"


def test_a_folder_that_cannot_be_listed_is_reported_not_silently_skipped(tmp_path, monkeypatch):
    from seqfixity.manifests.check import CheckOptions, check_manifests
    from seqfixity.manifests.read import read_manifest

    make_tree(tmp_path, ["a.bin", "locked/hidden.bin", "open/extra.bin"])
    (tmp_path / "MD5.txt").write_bytes(md5sum_manifest(tmp_path).splitlines(keepends=True)[0])
    real_scandir = os.scandir

    def scandir(path="."):  # root can read any folder, so a refusal is simulated where os.walk lists
        if os.fspath(path) == str(tmp_path / "locked"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    batch = check_manifests([read_manifest(str(tmp_path / "MD5.txt"))], CheckOptions(completeness=True))
    assert [(r.path, r.verdict.name) for r in batch.results] == [
        ("a.bin", "OK"), (f"{tmp_path}/open/extra.bin", "EXTRA"), (f"{tmp_path}/locked", "UNREADABLE")]
    assert batch.results[-1].hint == "cannot list folder: Permission denied; files in it were not searched"
    assert batch.exit_code == 8 | 16


def test_the_workflow_table_is_detected_as_seqfixity_tsv(tmp_path):
    """results/seqfixity.tsv (sample, file, path, ...) written by the real digest and aggregate is a manifest."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "S1_R1.fastq").write_bytes(b"@r1\nACGT\n+\nIIII\n")
    (data / "S2_R1.fastq").write_bytes(b"@r2\nGGCA\n+\nIIII\n")
    fastqs = ["data/S1_R1.fastq", "data/S2_R1.fastq"]
    assert run_cli("digest", *fastqs, "--outdir", "results", "--no-reuse", cwd=tmp_path).returncode == 0
    assert run_cli("aggregate", *sorted((tmp_path / "results" / "records").glob("*.jsonl")), "--outdir", "results",
                   cwd=tmp_path).returncode == 0
    (data / "S2_R1.fastq").write_bytes(b"@r2\nGGCA\n+\nIIIJ\n")
    report = tmp_path / "check.json"
    done = check("--root", tmp_path, "--report", report, tmp_path / "results" / "seqfixity.tsv")
    assert done.returncode == 1, done.stdout + done.stderr
    assert verdicts(report) == {"data/S1_R1.fastq": "OK", "data/S2_R1.fastq": "MISMATCH"}
    body = json.loads(report.read_bytes())
    assert body["manifest_formats"] == ["tsv"]
    assert all(set(f["expected"]) <= {"md5", "etag", "xxh128", "size"} for f in body["files"]), body["files"]


@pytest.mark.parametrize("command, sources", [
    ("verify", ["remote/verify.py", "commands/verify.py"]),
    ("check", ["manifests/check.py", "commands/check.py", "reports/results.py"]),
])
def test_each_command_lists_exactly_the_exit_bits_it_can_set(command, sources):
    """The bits in --help are those of the verdicts the command's code can give (read from the code itself),
    and 128 for usage errors: verify never gives EXTRA, so its help must not promise bit 8."""
    import re

    from seqfixity.verdict import Verdict

    code = "".join((REPO / "src" / "seqfixity" / name).read_text() for name in sources)
    can_set = {Verdict[name].bit for name in re.findall(r"Verdict\.([A-Z_]+)", code) if Verdict[name].bit} | {128}
    helped = run_cli(command, "--help").stdout.decode()
    block = helped[helped.index("exit status"):]
    listed = {int(bit) for bit in re.findall(r"^  (\d+) ", block, re.MULTILINE)} - {0}
    assert listed == can_set, (command, sorted(listed), sorted(can_set))
