"""`check` on manifests that hold S3 ETags: the ETags come from a real S3 server (moto on loopback), uploaded by
boto3's transfer manager at several part sizes, one of them a multipart upload of a single part."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import boto3
import pytest
from boto3.s3.transfer import TransferConfig

from conftest import run_cli
from servers import moto_s3  # noqa: F401 (fixture)

MiB = 1024 * 1024
# name -> (size, multipart threshold, part size) of the upload
UPLOADS = {
    "one_part.bin": (3 * MiB + 7, 1 * MiB, 8 * MiB),         # multipart, but one part: md5(md5(file))-1
    "five.bin": (11 * MiB + 5, 5 * MiB, 5 * MiB),           # -3 at 5 MiB
    "seven.bin": (15 * MiB + 1, 5 * MiB, 7 * MiB),          # -3 at 7 MiB (no preset's size)
    "plain.bin": (1000, 8 * MiB, 8 * MiB),                  # a single PUT: the MD5
}


@pytest.fixture(scope="module")
def server_etags(moto_s3, tmp_path_factory) -> dict[str, str]:  # noqa: F811
    """Upload every file with boto3; return the ETags the server gave them."""
    s3 = boto3.client("s3", endpoint_url=moto_s3)
    s3.create_bucket(Bucket="etags")
    staging = tmp_path_factory.mktemp("upload")
    etags = {}
    for name, (size, threshold, part_size) in UPLOADS.items():
        source = staging / name
        source.write_bytes(random.Random(name).randbytes(size))
        config = TransferConfig(multipart_threshold=threshold, multipart_chunksize=part_size, use_threads=False)
        s3.upload_file(str(source), "etags", name, Config=config)
        etags[name] = s3.head_object(Bucket="etags", Key=name)["ETag"].strip('"')
    return etags


def local_copy(root: Path) -> Path:
    root.mkdir(exist_ok=True)
    for name, (size, *_rest) in UPLOADS.items():
        (root / name).write_bytes(random.Random(name).randbytes(size))
    return root


def verdicts(report: Path) -> dict[str, tuple[str, str]]:
    return {Path(f["path"]).name: (f["verdict"], f["hint"]) for f in json.loads(report.read_text())["files"]}


def test_the_server_gave_the_etags_the_s3_rule_gives(server_etags):
    """The oracle itself: a multipart upload of one part is md5(md5(file))-1 (not the file's MD5)."""
    data = random.Random("one_part.bin").randbytes(UPLOADS["one_part.bin"][0])
    assert server_etags["one_part.bin"] == hashlib.md5(hashlib.md5(data).digest()).hexdigest() + "-1"
    assert server_etags["five.bin"].endswith("-3") and server_etags["seven.bin"].endswith("-3")


@pytest.mark.parametrize("shape", ["jsonl", "tsv"])
def test_true_etags_in_a_manifest_are_ok_and_a_changed_file_is_not(server_etags, tmp_path, shape):
    root = local_copy(tmp_path / "run")
    manifest = tmp_path / f"sums.{shape}"
    if shape == "jsonl":
        manifest.write_text("".join(json.dumps({"path": n, "size": UPLOADS[n][0], "etag": e}) + "\n"
                                    for n, e in server_etags.items()))
    else:
        rows = "".join(f"{n}\t{UPLOADS[n][0]}\t{e}\n" for n, e in server_etags.items())
        manifest.write_text("path\tsize\tetag\n" + rows)
    report = tmp_path / "r.json"
    done = run_cli("check", "--no-cache", "--root", root, "--report", report, manifest)
    assert done.returncode == 0, done.stdout + done.stderr
    found = verdicts(report)
    assert {name: verdict for name, (verdict, _) in found.items()} == dict.fromkeys(UPLOADS, "OK")
    assert "part size 7MiB, inferred" in found["seven.bin"][1]
    # one byte changed: the -1 ETag has only one possible layout, so it is a MISMATCH; for -N without a known
    # part size no candidate reproducing it proves nothing alone (UNVERIFIABLE, a failure all the same)
    for name in ("one_part.bin", "seven.bin"):
        data = bytearray((root / name).read_bytes())
        data[100] ^= 1
        (root / name).write_bytes(bytes(data))
    changed = run_cli("check", "--no-cache", "--root", root, "--report", report, manifest)
    found = verdicts(report)
    assert changed.returncode == 1 | 32
    assert found["one_part.bin"][0] == "MISMATCH" and found["seven.bin"][0] == "UNVERIFIABLE"
    assert "no part size reproduces" in found["seven.bin"][1] and "content differs" in found["seven.bin"][1]


def test_etags_s3_cannot_produce_are_unverifiable_and_never_read_for(tmp_path):
    root = local_copy(tmp_path / "run")
    fake = "0" * 32
    rows = [{"path": "five.bin", "etag": f"{fake}-10001"},        # over 10,000 parts
            {"path": "seven.bin", "etag": f"{fake}-8"},           # 15 MiB in 8 parts: parts under 5 MiB
            {"path": "plain.bin", "etag": f"{fake}-2"}]           # 1000 bytes cannot make two 5 MiB parts
    manifest = tmp_path / "sums.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    report = tmp_path / "r.json"
    done = run_cli("check", "--no-cache", "--root", root, "--report", report, manifest)
    assert done.returncode == 32
    for name, (verdict, hint) in verdicts(report).items():
        assert verdict == "UNVERIFIABLE", name
        assert "S3 takes at most 10,000 parts of 5 MiB to 5 GiB each" in hint and "not from an S3 multipart" in hint


def test_etag_guess_says_an_impossible_etag_is_not_from_s3(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(random.Random(1).randbytes(2 * MiB))
    done = run_cli("etag", "guess", path, "0" * 32 + "-1000")
    assert done.returncode == 32
    assert b"not from an S3 multipart upload" in done.stdout and b"tried" not in done.stdout  # nothing hashed


def test_a_part_size_that_cannot_give_the_etags_part_count_is_not_taken_as_known(server_etags, tmp_path):
    """`--part-size 8MiB` over ETags that boto3 made at 5 and 7 MiB: at 8 MiB the same bytes make 2 parts, not
    the ETags' 3, so the ETag itself says 8 MiB is not the uploader's part size. That is no evidence about the
    content (it was a false MISMATCH): the likely part sizes are tried instead, and a changed file still fails."""
    root = local_copy(tmp_path / "run")
    manifest = tmp_path / "sums.md5"
    manifest.write_text("".join(f"{etag}  {name}\n" for name, etag in server_etags.items()))
    report = tmp_path / "r.json"
    done = run_cli("check", "--no-cache", "--part-size", "8MiB", "--root", root, "--report", report, manifest)
    assert done.returncode == 0, done.stdout + done.stderr
    found = verdicts(report)
    assert {name: verdict for name, (verdict, _) in found.items()} == dict.fromkeys(UPLOADS, "OK")
    assert "part size 7MiB, inferred; part size 8MiB cuts 15728641 bytes into 2 parts, not the ETag's 3" \
        in found["seven.bin"][1]
    data = bytearray((root / "seven.bin").read_bytes())
    data[100] ^= 1
    (root / "seven.bin").write_bytes(bytes(data))
    changed = run_cli("check", "--no-cache", "--part-size", "8MiB", "--root", root, "--report", report, manifest)
    assert changed.returncode == 32 and verdicts(report)["seven.bin"][0] == "UNVERIFIABLE"


def test_a_sidecar_holding_an_etag_is_judged_as_an_etag_and_one_of_another_length_is_refused(server_etags, tmp_path):
    """`x.md5` beside `x` holding the S3 ETag (as people save what the console shows): a HEX-N is an ETag, never
    an MD5 (it was a false MISMATCH for every multipart file); a .md5 sidecar holding 64 hex digits is not an
    MD5 and says so, instead of a MISMATCH against the file's MD5."""
    root = local_copy(tmp_path / "run")
    for name, etag in server_etags.items():
        (root / f"{name}.md5").write_text(f"{etag}  {name}\n")
    sidecars = sorted(str(root / f"{name}.md5") for name in UPLOADS)
    done = run_cli("check", "--no-cache", *sidecars)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count(b": OK") == len(UPLOADS)
    sha256 = hashlib.sha256((root / "plain.bin").read_bytes()).hexdigest()
    (root / "plain.bin.md5").write_text(f"{sha256}  plain.bin\n")
    wrong = run_cli("check", "--no-cache", root / "plain.bin.md5")
    assert wrong.returncode == 64
    assert b"md5 digest has 64 characters, not 32 hex digits (it looks like sha256)" in wrong.stdout


def _manifest_with_md5(tmp_path: Path, root: Path, shape: str, name: str, value: str) -> Path:
    """A manifest of ``shape`` that puts ``value`` where ``name``'s MD5 goes."""
    size = (root / name).stat().st_size
    if shape == "jsonl":
        path = tmp_path / "m.jsonl"
        path.write_text(json.dumps({"path": name, "md5": value}) + "\n")
    elif shape == "tsv":
        path = tmp_path / "m.tsv"
        path.write_text(f"path\tmd5\n{name}\t{value}\n")
    elif shape == "hashdeep":
        path = tmp_path / "m.hashdeep"
        path.write_text(f"%%%% HASHDEEP-1.0\n%%%% size,md5,filename\n{size},{value},{name}\n")
    elif shape == "bagit":
        path = root / "manifest-md5.txt"
        path.write_text(f"{value}  {name}\n")
    else:
        path = root / f"{name}.md5"
        path.write_text(f"{value}  {name}\n")
    return path


@pytest.mark.parametrize("shape", ["jsonl", "tsv", "hashdeep", "bagit", "sidecar"])
def test_a_digest_that_cannot_be_an_md5_is_never_compared_as_one(server_etags, tmp_path, shape):
    """hashlib's SHA-256 where the MD5 goes (64 hex digits) cannot equal any MD5: comparing it said MISMATCH
    about an intact file. It is a MANIFEST_ERROR naming the line; and the S3 ETag in an md5 field is the ETag."""
    root = local_copy(tmp_path / "run")
    sha256 = hashlib.sha256((root / "seven.bin").read_bytes()).hexdigest()
    manifest = _manifest_with_md5(tmp_path, root, shape, "seven.bin", sha256)
    done = run_cli("check", "--no-cache", "--root", root, manifest)
    assert done.returncode == 64, done.stdout + done.stderr
    assert b"md5 digest has 64 characters, not 32 hex digits (it looks like sha256)" in done.stdout
    if shape != "bagit":  # BagIt lines hold hex digits only
        manifest = _manifest_with_md5(tmp_path, root, shape, "seven.bin", server_etags["seven.bin"])
        ok = run_cli("check", "--no-cache", "--root", root, manifest)
        assert ok.returncode == 0 and b"part size 7MiB, inferred" in ok.stdout, ok.stdout + ok.stderr


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".json"])
def test_an_ica_export_is_a_manifest_check_judges_as_verify_does(server_etags, tmp_path, suffix):
    """An ICA project-data export (objectETag, fileSizeInBytes per path) given to check: every file was
    UNVERIFIABLE ('no digest seqfixity can compute') while verify --against the same export said OK."""
    root = local_copy(tmp_path / "run")
    rows = [(f"/run42/{name}", UPLOADS[name][0], etag) for name, etag in server_etags.items()]
    rows.append(("/run42/partial.bin", 5, "0" * 32))
    export = tmp_path / f"project_data{suffix}"
    if suffix == ".json":
        export.write_text(json.dumps({"items": [{"data": {"details": {
            "path": path, "fileSizeInBytes": size, "objectETag": etag,
            "status": "PARTIAL" if path.endswith("partial.bin") else "AVAILABLE"}}} for path, size, etag in rows]}))
    else:
        sep = "," if suffix == ".csv" else "\t"
        export.write_text(sep.join(["Path", "File size in bytes", "Object ETag", "Status"]) + "\n" + "".join(
            sep.join([path, str(size), etag, "PARTIAL" if path.endswith("partial.bin") else "AVAILABLE"]) + "\n"
            for path, size, etag in rows))
    checked = run_cli("check", "--no-cache", "--root", root, "--strip-prefix", "/run42", export)
    assert checked.returncode == 64, checked.stdout + checked.stderr
    assert checked.stdout.count(b": OK") == len(UPLOADS)
    assert b"partial.bin: ICA status PARTIAL, not AVAILABLE" in checked.stdout
    verified = run_cli("verify", root, "--against", export, "--strip-prefix", "/run42")
    assert verified.stdout.count(b": OK") == len(UPLOADS)  # the two commands agree
