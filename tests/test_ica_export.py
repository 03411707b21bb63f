"""``seqfixity verify`` against ICA project data exports: JSON (icav2 shapes), CSV and XLSX."""

from __future__ import annotations

import csv
import hashlib
import json
import os
from pathlib import Path

import pytest
from openpyxl import Workbook

from conftest import run_cli, run_cli_on_terminal
from ica_fixtures import EXPECTED, PART_SIZES, make_local, project_data
from seqfixity.remote import RemoteError
from seqfixity.remote.ica import read_export
from seqfixity.verdict import USAGE_ERROR_EXIT, Verdict

FAILURE_BITS = Verdict.MISMATCH.bit | Verdict.UNVERIFIABLE.bit | Verdict.MISSING.bit


def verdicts_of(report: Path) -> dict[str, dict]:
    return {entry["path"]: entry for entry in json.loads(report.read_text())["files"]}


def details_rows() -> list[dict]:
    return [item["data"]["details"] for item in project_data()]


def write_csv(path: Path, header: list[str], fields: list[str], delimiter: str = ",") -> Path:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(header)
        for row in details_rows():
            writer.writerow([row.get(field, "") for field in fields])
    return path


def write_xlsx(path: Path, header: list[str], fields: list[str]) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in details_rows():
        sheet.append([row.get(field) for field in fields])
    book.save(path)
    return path


FIELDS = ["name", "path", "fileSizeInBytes", "status", "dataType", "objectETag"]
LABELS = ["File name", "File path", "File size in bytes", "Status", "Data type", "Object ETag"]


def exports(folder: Path) -> dict[str, Path]:
    """Every export shape the verifier accepts, for the same project."""
    items = project_data()
    folder.mkdir()
    shapes = {
        "list.json": {"items": items, "totalItemCount": len(items), "nextPageToken": None},
        "data-array.json": [item["data"] for item in items],
        "details-array.json": [item["data"]["details"] for item in items],
    }
    out = {}
    for name, body in shapes.items():
        out[name] = folder / name
        out[name].write_text(json.dumps(body, indent=1))
    out["labels.csv"] = write_csv(folder / "labels.csv", LABELS, FIELDS)
    out["fields.tsv"] = write_csv(folder / "fields.tsv", ["details." + f for f in FIELDS], FIELDS, "\t")
    out["fields.xlsx"] = write_xlsx(folder / "fields.xlsx", FIELDS, FIELDS)
    out["labels.xlsx"] = write_xlsx(folder / "labels.xlsx", LABELS, FIELDS)
    return out


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> tuple[Path, dict[str, Path]]:
    base = tmp_path_factory.mktemp("ica")
    return make_local(base / "local"), exports(base / "exports")


@pytest.mark.parametrize("shape", ["list.json", "data-array.json", "details-array.json", "labels.csv",
                                   "fields.tsv", "fields.xlsx", "labels.xlsx"])
def test_every_export_shape_gives_every_verdict(project, shape, tmp_path):
    root, files = project
    report = tmp_path / "report.json"
    done = run_cli("verify", root, "--against", files[shape], "--strip-prefix", "/fastq", "--report", report)
    found = verdicts_of(report)
    assert {path: entry["verdict"] for path, entry in found.items()} == EXPECTED
    assert done.returncode == FAILURE_BITS
    for name, part_size in PART_SIZES.items():
        assert found[name]["actual"]["etag_part_size"] == part_size
        assert found[name]["actual"]["part_size_source"] == "inferred"
    assert "ARCHIVED" in found["S3_R1.fastq.gz"]["hint"]
    assert json.loads(report.read_text())["outcome"] == "PARTIALLY_SUCCEEDED"


def test_progress_bar_on_a_terminal_counts_every_local_byte(project):
    root, files = project
    _, seen = run_cli_on_terminal("verify", root, "--against", files["list.json"], "--strip-prefix", "/fastq")
    total = sum(path.stat().st_size for path in root.rglob("*") if path.is_file())
    assert b"verifying" in seen and b"100%" in seen
    shown = f" of {total / 1024:.1f} KiB" if total < 1024**2 else f" of {total / 1024**2:.1f} MiB"
    assert shown.encode() in seen, (shown, seen[-300:])


def test_icav2_projectdata_get_single_object(project, tmp_path):
    root, _files = project
    item = project_data()[1]["data"]
    export = tmp_path / "one.json"
    export.write_text(json.dumps(item))
    objects = read_export(export)
    assert [o.name for o in objects] == [item["details"]["path"]]
    assert objects[0].source == item["id"]


def test_missing_columns_are_named(project, tmp_path):
    root, _files = project
    export = write_csv(tmp_path / "no-etag.csv", ["File name", "Size", "Status"], ["name", "fileSizeInBytes", "status"])
    done = run_cli("verify", root, "--against", export, "--report", tmp_path / "r.json")
    assert done.returncode == Verdict.MANIFEST_ERROR.bit
    message = done.stderr.decode()
    assert message.count("\n") == 1
    assert "missing column(s): objectETag (Object ETag)" in message and "found: File name, Size, Status" in message
    assert not (tmp_path / "r.json").exists()
    export = write_xlsx(tmp_path / "bare.xlsx", ["etag"], ["objectETag"])
    with pytest.raises(RemoteError, match=r"path \(or name\), fileSizeInBytes \(File size in bytes\)"):
        read_export(export)
    (tmp_path / "empty.json").write_text(json.dumps({"items": [{"data": {"details": {"status": "AVAILABLE"}}}]}))
    with pytest.raises(RemoteError, match="missing field"):
        read_export(tmp_path / "empty.json")


def test_a_folder_row_without_a_type_column_is_known_by_its_closing_slash(project, tmp_path):
    root, _files = project
    export = write_csv(tmp_path / "bare.csv", ["Path", "Size", "Object ETag"],
                       ["path", "fileSizeInBytes", "objectETag"])
    assert export.read_text().splitlines()[1].startswith("/fastq/,")  # ICA names folders with a closing '/'
    report = tmp_path / "r.json"
    run_cli("verify", root, "--against", export, "--strip-prefix", "/fastq", "--report", report)
    found = {path: entry["verdict"] for path, entry in verdicts_of(report).items()}
    assert "MANIFEST_ERROR" not in found.values(), found
    assert found["S2_R2.fastq.gz"] == "MISMATCH" and found["S1_R1.fastq.gz"] == "OK"


def test_bad_rows_are_listing_errors_and_other_rows_are_still_verified(project, tmp_path):
    root, _files = project
    rows = details_rows()[1:3]
    rows[0] = {**rows[0], "fileSizeInBytes": "1.2 GB"}
    export = tmp_path / "bad.json"
    export.write_text(json.dumps(rows))
    report = tmp_path / "r.json"
    done = run_cli("verify", root, "--against", export, "--strip-prefix", "fastq", "--report", report,
                   "--fail-on", "manifest_error,mismatch")
    found = verdicts_of(report)
    assert found["S1_R1.fastq.gz"]["verdict"] == "MANIFEST_ERROR"
    assert "'1.2 GB' is not a byte count" in found["S1_R1.fastq.gz"]["hint"]
    assert found["S1_R2.fastq.gz"]["verdict"] == "OK"
    assert done.returncode == Verdict.MANIFEST_ERROR.bit


def test_remote_paths_never_leave_local_root(tmp_path):
    root = tmp_path / "a" / "local"
    root.mkdir(parents=True)
    (tmp_path / "a" / "secret.txt").write_bytes(b"x")
    rows = [
        {"path": "/../secret.txt", "fileSizeInBytes": 1, "objectETag": "9dd4e461268c8034f5c8564e155c67a6"},
        {"path": "/fastq/../../secret.txt", "fileSizeInBytes": 1, "objectETag": "9dd4e461268c8034f5c8564e155c67a6"},
        {"path": "/etc/hostname", "fileSizeInBytes": 1, "objectETag": "9dd4e461268c8034f5c8564e155c67a6"},
    ]
    export = tmp_path / "evil.json"
    export.write_text(json.dumps(rows))
    report = tmp_path / "r.json"
    run_cli("verify", root, "--against", export, "--report", report)
    found = verdicts_of(report)
    assert found["/../secret.txt"]["verdict"] == "MANIFEST_ERROR"
    assert found["/fastq/../../secret.txt"]["verdict"] == "MANIFEST_ERROR"
    assert found["etc/hostname"]["verdict"] == "MISSING_LOCAL"   # looked up below root, not in /etc


def test_match_by_basename(project, tmp_path):
    root, files = project
    report = tmp_path / "r.json"
    run_cli("verify", root, "--against", files["list.json"], "--match", "basename", "--report", report)
    assert {p: e["verdict"] for p, e in verdicts_of(report).items()} == EXPECTED


def test_prefix_and_empty_runs_are_reported(project, tmp_path):
    root, files = project
    done = run_cli("verify", root, "--against", files["list.json"], "--strip-prefix", "/elsewhere")
    assert b"6 remote object(s) outside '/elsewhere' ignored" in done.stderr
    assert b"with --strip-prefix" in done.stderr
    assert done.stdout.decode().splitlines()[-1] == "FAILED: 6 MISSING_REMOTE"
    empty = tmp_path / "empty"
    empty.mkdir()
    (tmp_path / "none.json").write_text(json.dumps({"items": []}))
    done = run_cli("verify", empty, "--against", tmp_path / "none.json")
    assert done.returncode == Verdict.MISSING.bit and b"nothing to verify" in done.stderr
    assert b"--against names the right" in done.stderr


def test_unknown_source_and_missing_root_are_usage_errors(project, tmp_path):
    root, files = project
    assert run_cli("verify", root, "--against", tmp_path / "x.txt").returncode == USAGE_ERROR_EXIT
    assert run_cli("verify", tmp_path / "nope", "--against", files["list.json"]).returncode == USAGE_ERROR_EXIT
    done = run_cli("verify", root, "--against", tmp_path / "absent.csv")
    assert done.returncode == Verdict.MANIFEST_ERROR.bit and b"absent.csv: cannot read ICA export" in done.stderr


def test_records_from_the_digest_stage_spare_the_second_read(tmp_path):
    root = make_local(tmp_path / "local")
    export = tmp_path / "export.json"
    export.write_text(json.dumps({"items": project_data()}))
    records = tmp_path / "records.jsonl"
    hashed = run_cli("hash", "--format", "jsonl", "--etag-preset", "aws-cli", "--digests", "md5,etag", "-o", records,
                     *sorted(root.iterdir()))
    assert hashed.returncode == 0, hashed.stderr
    report = tmp_path / "r.json"
    run_cli("verify", root, "--against", export, "--strip-prefix", "/fastq", "--records", records, "--report", report)
    found = verdicts_of(report)
    assert {p: e["verdict"] for p, e in found.items()} == EXPECTED
    reused = {p for p, e in found.items() if e["actual"].get("from_records")}
    # S1_R1 was uploaded in 5 MiB parts, the records hold its 8 MiB-part ETag: it is read again.
    assert reused == {"S1_R2.fastq.gz", "S2_R1.fastq.gz", "S2_R2.fastq.gz"}
    assert found["S1_R2.fastq.gz"]["actual"]["etag_part_size"] == PART_SIZES["S1_R2.fastq.gz"]

    lines = [json.loads(line) for line in records.read_text().splitlines()]
    for line in lines:
        if line["path"].endswith("S2_R1.fastq.gz"):
            line["md5"] = "0" * 32          # a record that lies: proves the file was not read again
    records.write_text("".join(json.dumps(line) + "\n" for line in lines))
    changed = root / "S1_R2.fastq.gz"
    data = bytearray(changed.read_bytes())
    data[5] ^= 1
    changed.write_bytes(bytes(data))      # new mtime: its record no longer counts
    run_cli("verify", root, "--against", export, "--strip-prefix", "/fastq", "--records", records, "--report", report)
    found = verdicts_of(report)
    assert found["S2_R1.fastq.gz"]["verdict"] == "MISMATCH" and found["S2_R1.fastq.gz"]["actual"]["from_records"]
    # an export gives no part size: a changed file's ETag is reproduced by no candidate, which proves nothing
    # about the bytes on its own (another part size would do the same), so it is UNVERIFIABLE, never OK
    changed_entry = found["S1_R2.fastq.gz"]
    assert changed_entry["verdict"] == "UNVERIFIABLE" and "from_records" not in changed_entry["actual"]
    assert "no part size reproduces" in changed_entry["hint"] and "content differs" in changed_entry["hint"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n")
    done = run_cli("verify", root, "--against", export, "--records", bad)
    assert done.returncode == Verdict.MANIFEST_ERROR.bit and b"bad.jsonl: line 1: not a seqfixity record" in done.stderr


def test_a_folder_that_cannot_be_listed_is_unreadable_not_missing(tmp_path, monkeypatch):
    """Tests run as root, which lists any folder: the refusal is simulated where os.walk meets it."""
    from seqfixity.remote import RemoteObject
    from seqfixity.remote.verify import VerifyOptions, verify

    root = tmp_path / "local"
    (root / "locked").mkdir(parents=True)
    (root / "locked" / "a.txt").write_bytes(b"abc")
    (root / "b.txt").write_bytes(b"xyz")
    real_scandir = os.scandir

    def scandir(path="."):
        if os.fspath(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    objects = [RemoteObject(name="locked/a.txt", size=3, etag=hashlib.md5(b"abc").hexdigest()),
               RemoteObject(name="locked/gone.txt", size=3, etag=hashlib.md5(b"abc").hexdigest()),
               RemoteObject(name="b.txt", size=3, etag=hashlib.md5(b"xyz").hexdigest())]
    batch, _ = verify(str(root), objects, VerifyOptions(jobs=1))
    verdicts = {r.path: (r.verdict.name, r.hint) for r in batch.results}
    assert verdicts["locked/"][0] == "UNREADABLE"
    assert "cannot list this folder: Permission denied" in verdicts["locked/"][1]
    assert verdicts["locked/a.txt"][0] == "OK"             # stat and open still work for this user
    assert verdicts["locked/gone.txt"][0] == "MISSING_LOCAL"
    assert verdicts["b.txt"][0] == "OK"


def test_an_export_that_is_not_utf8_is_one_clear_error(tmp_path):
    export = tmp_path / "windows.csv"
    export.write_bytes("Path,File size in bytes,Object ETag\n/r/café.fastq.gz,3,x\n".encode("cp1252"))
    done = run_cli("verify", tmp_path, "--against", export)
    stderr = done.stderr.decode()
    assert done.returncode == Verdict.MANIFEST_ERROR.bit and stderr.count("\n") == 1
    assert "windows.csv: not UTF-8 text (it holds byte 0xe9)" in stderr and "save it as CSV UTF-8" in stderr


def test_an_ambiguous_base_name_is_unverifiable_and_its_files_are_not_missing_remote(tmp_path):
    from seqfixity.remote import RemoteObject
    from seqfixity.remote.verify import VerifyOptions, verify

    for folder in ("d1", "d2"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "a.fq").write_bytes(b"abc")
    remote = RemoteObject(name="/x/a.fq", size=3, etag=hashlib.md5(b"abc").hexdigest())
    batch, _ = verify(str(tmp_path), [remote], VerifyOptions(jobs=1, match="basename"))
    assert [(r.path, r.verdict.name) for r in batch.results] == [("a.fq", "UNVERIFIABLE")]
    assert "d1/a.fq, d2/a.fq" in batch.results[0].hint
