"""seqfixity's own tables are checkable as the README says (``seqfixity check --root . results/seqfixity.tsv``),
whether the workflow was given absolute input folders (the usual case on a cluster) or folders outside the one it
ran in (``../run42``); other manifests still have such paths refused."""

from __future__ import annotations

import hashlib
import re
import subprocess
from pathlib import Path

import pytest

from conftest import run_cli
from test_fastq import fastq_bytes
from test_workflow import snakemake

pytestmark = pytest.mark.slow


def _verdicts(done: subprocess.CompletedProcess[bytes]) -> dict[str, str]:
    """``path: VERDICT (hint)`` lines (the last line is the outcome) as {path: verdict}."""
    lines = done.stdout.decode().splitlines()[:-1]
    return {match[1]: match[2] for match in (re.match(r"^(.*?): ([A-Z_]+)(?: \(.*\))?$", line) for line in lines)}


def _data(folder: Path) -> dict[str, bytes]:
    folder.mkdir(parents=True)
    files = {"S1_L001_R1_001.fastq": fastq_bytes(40, seed=1), "S1_L001_R2_001.fastq": fastq_bytes(40, seed=2),
             "S2_L001_R1_001.fastq": fastq_bytes(25, seed=3)}
    for name, content in files.items():
        (folder / name).write_bytes(content)
    return files


@pytest.mark.parametrize("where", ["absolute", "climbing"])
def test_the_workflow_tables_check_ok_from_where_it_ran_and_a_changed_file_is_the_one_mismatch(tmp_path, where):
    run = tmp_path / "run"
    run.mkdir()
    data = tmp_path / "elsewhere" / "run42"
    files = _data(data)
    inputs = str(data) if where == "absolute" else "../elsewhere/run42"
    (run / "config.yaml").write_text(f"inputs: ['{inputs}']\noutdir: results\n")
    done = snakemake(run)
    assert done.returncode == 0, done.stderr[-3000:]

    manifests = ["results/seqfixity.tsv", *sorted(str(p.relative_to(run)) for p in (run / "results" / "records")
                                                    .glob("*.jsonl"))]
    for manifest in manifests:
        checked = run_cli("check", "--no-cache", "--root", ".", manifest, cwd=run)
        assert checked.returncode == 0, checked.stdout.decode() + checked.stderr.decode()
        assert set(_verdicts(checked).values()) == {"OK"}
        assert checked.stdout.decode().splitlines()[-1].startswith("SUCCEEDED")
    whole = run_cli("check", "--no-cache", "--root", ".", "results/seqfixity.tsv", cwd=run)
    assert {Path(p).name for p in _verdicts(whole)} == set(files)

    # One byte changed in one file (its MD5 by hashlib differs): that file alone is a MISMATCH.
    changed = bytearray(files["S2_L001_R1_001.fastq"])
    changed[5] ^= 0x01
    (data / "S2_L001_R1_001.fastq").write_bytes(bytes(changed))
    assert hashlib.md5(changed).hexdigest() != hashlib.md5(files["S2_L001_R1_001.fastq"]).hexdigest()
    again = run_cli("check", "--no-cache", "--root", ".", "results/seqfixity.tsv", cwd=run)
    assert again.returncode == 1, again.stdout.decode()
    verdicts = {Path(p).name: v for p, v in _verdicts(again).items()}
    assert verdicts == {"S1_L001_R1_001.fastq": "OK", "S1_L001_R2_001.fastq": "OK", "S2_L001_R1_001.fastq": "MISMATCH"}


def test_hash_tables_with_absolute_paths_check_ok_but_md5sum_lines_with_them_are_still_refused(tmp_path):
    files = _data(tmp_path / "data")
    paths = [str(tmp_path / "data" / name) for name in files]
    for fmt in ("tsv", "jsonl"):
        table = tmp_path / "elsewhere" / f"sums.{fmt}"
        made = run_cli("hash", *paths, "--format", fmt, "-o", table)
        assert made.returncode == 0, made.stderr
        checked = run_cli("check", "--no-cache", table)
        assert checked.returncode == 0, checked.stdout.decode()
        assert _verdicts(checked) == dict.fromkeys(paths, "OK")
    # A manifest from elsewhere (GNU lines, as md5sum writes them) keeps the rule: absolute paths refused.
    gnu = tmp_path / "elsewhere" / "MD5.txt"
    gnu.write_text("".join(f"{hashlib.md5(c).hexdigest()}  {tmp_path / 'data' / n}\n" for n, c in files.items()))
    refused = run_cli("check", "--no-cache", gnu)
    assert refused.returncode == 64
    assert set(_verdicts(refused).values()) == {"MANIFEST_ERROR"}
