"""The README's first command: the workflow on the bundled example data, from a copy of the tracked files."""

from __future__ import annotations

import os
import shutil
import subprocess

from conftest import REPO


def test_the_readme_example_runs_and_succeeds(tmp_path):
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for name in filter(None, tracked.decode().split("\0")):
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target)
    env = {**os.environ, "SEQFIXITY_SKIP_INSTALL": "1"}
    done = subprocess.run(["bash", "scripts/run-example.sh", "--quiet"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert "Outcome: SUCCEEDED: 0 of 6 files failed in 0 of 3 samples" in done.stdout
    assert (tmp_path / "results" / "report.html").is_file()
    # the command the README gives to check a sample's checksums, with coreutils
    check = subprocess.run(["md5sum", "-c", "../../results/checksums/EXAMPLE1_md5.txt"],
                           cwd=tmp_path / "example" / "data", capture_output=True, text=True)
    assert check.returncode == 0 and check.stdout.count(": OK") == 2, check.stdout + check.stderr
    etags = (tmp_path / "results" / "seqfixity.tsv").read_text()
    assert etags.count("-3\t") >= 2  # the generated pair is over the threshold: multipart ETags
