"""The workflow with ``inputs: [s3://...]`` (moto_server on 127.0.0.1): digest jobs stream the objects and write
the same reports as for local files, locally and on SLURM; nothing is copied to disk; a replaced object re-runs
its batch only."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import boto3
import pandas as pd
import pytest
from boto3.s3.transfer import TransferConfig

from conftest import REPO, cli_env, report_bytes
from ica_fixtures import s3_etag
from servers import S3_ENV, moto_s3  # noqa: F401 (fixture)
from test_fastq import fastq_bytes
from test_slurm import LOCAL_PROFILE, on_slurm, slurm_env, submitted  # noqa: F401 (slurm_env: the cluster)

pytestmark = pytest.mark.slow
MiB = 1 << 20
BUCKET = "seqfixity-workflow"


def fastqs() -> dict[str, bytes]:
    return {
        "S1_L001_R1_001.fastq.gz": gzip.compress(fastq_bytes(300, seed=1), mtime=0),
        "S1_L001_R2_001.fastq.gz": gzip.compress(fastq_bytes(300, seed=2), mtime=0),
        "S2_L001_R1_001.fastq": fastq_bytes(120, seed=3),
        "deeper/BIG_L001_R1_001.fastq": fastq_bytes(60_000, seed=4, length=100),
    }


@pytest.fixture(scope="module")
def bucket(moto_s3) -> str:  # noqa: F811
    s3 = boto3.client("s3", endpoint_url=moto_s3)
    s3.create_bucket(Bucket=BUCKET)
    config = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB, use_threads=False)
    for name, data in fastqs().items():
        s3.upload_fileobj(io.BytesIO(data), BUCKET, f"run/{name}", Config=config)
    s3.put_object(Bucket=BUCKET, Key="run/notes.txt", Body=b"not a FASTQ: the patterns leave it out")
    return BUCKET


def workdir(tmp_path: Path, endpoint: str, prefix: str) -> Path:
    (tmp_path / "config.yaml").write_text(
        f"inputs: [s3://{BUCKET}/{prefix}]\nrecursive: true\ns3_endpoint_url: {endpoint}\npart_size: 5MiB\n"
        "threshold: 5MiB\nbatch_size: 2\nlarge_bytes: 4MiB\noutdir: results\n")
    return tmp_path


def snakemake(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(folder), "--configfile",
               str(folder / "config.yaml"), "--cores", "2", *args]
    return subprocess.run(command, capture_output=True, text=True, env=cli_env(), timeout=600)


def test_remote_inputs_are_streamed_into_the_same_reports(moto_s3, bucket, tmp_path):  # noqa: F811
    folder = workdir(tmp_path, moto_s3, "run")
    done = snakemake(folder)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = pd.read_csv(folder / "results" / "seqfixity.tsv", sep="\t", keep_default_na=False).set_index("path")
    data = fastqs()
    assert sorted(rows.index) == sorted(f"s3://{BUCKET}/run/{name}" for name in data)
    for name, content in data.items():
        row = rows.loc[f"s3://{BUCKET}/run/{name}"]
        assert row["md5"] == hashlib.md5(content).hexdigest()
        assert row["etag"] == s3_etag(content, 5 * MiB if len(content) >= 5 * MiB else None)
        assert row["fastq_verdict"] == "OK"
    assert rows.loc[f"s3://{BUCKET}/run/S1_L001_R1_001.fastq.gz", "reads"] == 300
    md5_file = (folder / "results" / "checksums" / "S1_L001_R1_001_md5.txt").read_text()
    assert md5_file == f"{hashlib.md5(data['S1_L001_R1_001.fastq.gz']).hexdigest()}  S1_L001_R1_001.fastq.gz\n"
    copies = [p for p in folder.rglob("*") if p.is_file() and "fastq" in p.name and p.suffix in (".gz", ".fastq")]
    assert not copies  # streamed, never staged
    again = snakemake(folder)
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr

    s3 = boto3.client("s3", endpoint_url=moto_s3)
    s3.put_object(Bucket=BUCKET, Key="run/S2_L001_R1_001.fastq", Body=fastq_bytes(121, seed=5))
    rerun = snakemake(folder)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    ran = rerun.stdout + rerun.stderr
    assert ran.count("rule digest:") == 1, ran
    record = json.loads((folder / "results" / "records" / "S2_L001_R1_001.jsonl").read_text())
    assert record["md5"] == hashlib.md5(fastq_bytes(121, seed=5)).hexdigest()
    s3.put_object(Bucket=BUCKET, Key="run/S2_L001_R1_001.fastq", Body=data["S2_L001_R1_001.fastq"])


def test_slurm_run_of_remote_inputs_matches_the_local_run(moto_s3, bucket, slurm_env, tmp_path):  # noqa: F811
    env = {**slurm_env, **S3_ENV}
    folder = workdir(tmp_path, moto_s3, "run")
    local = snakemake(folder, "--profile", str(LOCAL_PROFILE))
    assert local.returncode == 0, local.stderr[-3000:]
    reference = report_bytes(folder)
    shutil.rmtree(folder / "results")
    shutil.rmtree(folder / ".snakemake")
    done = on_slurm(folder, env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert submitted(done)
    assert report_bytes(folder) == reference
