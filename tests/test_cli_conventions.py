"""md5sum's conventions where a user brings them: ``hash -`` reads standard input as ``md5sum -`` does,
``hash -c FILE`` points to ``seqfixity check``, and a mistyped subcommand or choice suggests the closest one."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import pytest
import xxhash

from conftest import cli_env, run_cli, write_random
from seqfixity.engine.etag import PRESETS, Preset, _doubled_until
from seqfixity.inputs.stdin import hash_stdin
from seqfixity.settings import Settings
from test_workflow import reference_etag

MiB = 1 << 20


def _md5sum(data: bytes, *args: str) -> bytes:
    return subprocess.run(["md5sum", *args, "-"], input=data, capture_output=True, check=True).stdout


@pytest.mark.parametrize("size", [0, 1000, 16 * MiB - 1, 16 * MiB, 30 * MiB + 5])
def test_hash_dash_prints_what_md5sum_dash_prints_from_a_pipe(size):
    data = write_random_bytes(size)
    for fmt, md5sum_args in (("gnu", ()), ("bsd", ("--tag",))):
        process = subprocess.run([sys.executable, "-m", "seqfixity", "hash", "-", "--format", fmt], input=data,
                                 capture_output=True, env=cli_env(), timeout=120)
        assert process.returncode == 0, process.stderr
        assert process.stdout == _md5sum(data, *md5sum_args)


def write_random_bytes(size: int) -> bytes:
    import random

    return random.Random(size).randbytes(size)


def test_hash_dash_from_a_pipe_gives_the_multipart_etag_and_every_digest_of_a_file(tmp_path):
    """Through a pipe (no size known beforehand): ETag at the ica preset's 8 MiB parts from 16 MiB (by hashlib),
    xxh3 by xxhash, SHA-256 by hashlib; between two files, in the order given."""
    data = write_random_bytes(30 * MiB + 5)
    first = write_random(tmp_path / "a.bin", 3000, seed=1)
    producer = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    hashing = subprocess.Popen([sys.executable, "-m", "seqfixity", "hash", first, "-", first, "--format", "jsonl",
                                "--digests", "md5,etag,xxh128,sha256"], stdin=producer.stdout,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cli_env())
    producer.stdout.close()
    producer.stdin.write(data)
    producer.stdin.close()
    out, err = hashing.communicate(timeout=120)
    assert hashing.returncode == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert [row["path"] for row in rows] == [str(first), "-", str(first)]
    stdin = rows[1]
    assert stdin["size"] == len(data)
    assert stdin["md5"] == hashlib.md5(data).hexdigest()
    assert stdin["etag"] == reference_etag(data, 8 * MiB) and stdin["etag"].endswith("-4")
    assert stdin["xxh128"] == xxhash.xxh3_128(data).hexdigest()
    assert stdin["sha256"] == hashlib.sha256(data).hexdigest()


def test_a_stream_in_a_layout_s3_refuses_is_refused_as_a_file_would_be():
    data = write_random_bytes(6 * MiB)
    done = subprocess.run([sys.executable, "-m", "seqfixity", "hash", "-", "--part-size", "1MiB", "--threshold", "1"],
                          input=data, capture_output=True, env=cli_env(), timeout=120)
    assert done.returncode == 128
    assert b"seqfixity: -: part size 1048576 is under S3's 5 MiB minimum" in done.stderr
    assert done.stdout == b""


def test_a_stream_whose_uploader_would_grow_its_parts_is_a_layout_error_never_a_wrong_etag(tmp_path, monkeypatch):
    """An uploader that doubles 5 MiB parts past 2 parts (the ica and aws-cli rule at a small scale): a 12 MiB
    stream would get 10 MiB parts, which a pipe cannot know when it starts; the ETag is refused, not guessed."""
    monkeypatch.setitem(PRESETS, "tiny", Preset("tiny", 5 * MiB, 5 * MiB, _doubled_until, 2, "test"))
    source = tmp_path / "stream"
    source.write_bytes(write_random_bytes(12 * MiB))
    with source.open("rb") as stream:
        record = hash_stdin(Settings(etag_preset="tiny"), stream=stream)
    assert record.error_kind == "layout" and not record.digests
    assert "parts of 10485760 bytes under the tiny preset" in record.error and "--part-size 10485760" in record.error
    source.write_bytes(source.read_bytes()[:8 * MiB])  # 8 MiB fits 2 parts of 5 MiB: the ETag S3 computes
    with source.open("rb") as stream:
        record = hash_stdin(Settings(etag_preset="tiny"), stream=stream)
    assert record.digests["etag"] == reference_etag(source.read_bytes(), 5 * MiB)


def test_hash_c_points_to_check_and_prints_no_digest(tmp_path):
    manifest = tmp_path / "MD5.txt"
    manifest.write_text(f"{hashlib.md5(b'').hexdigest()}  empty\n")
    for args in (("-c", str(manifest)), ("--check", str(manifest)), ("-c",)):
        done = run_cli("hash", *args)
        assert done.returncode == 128
        assert done.stdout == b""
        assert f"run `seqfixity check {args[1] if len(args) > 1 else 'MANIFEST'}`".encode() in done.stderr


@pytest.mark.parametrize(("typed", "meant"), [(["hsah", "x"], "hash"), (["chek", "x"], "check"),
                                              (["verfy"], "verify"), (["pipeline_def"], "pipeline-def"),
                                              (["aggregat"], "aggregate"), (["etag", "gues", "f", "e"], "guess"),
                                              (["hash", "--format", "jsnol", "x"], "jsonl"),
                                              (["hash", "--etag-preset", "awscli", "x"], "aws-cli"),
                                              (["hash", "--digests", "md5,sha265", "x"], "sha256"),
                                              (["check", "--fail-on", "mismtach", "x"], "mismatch")])
def test_a_mistyped_subcommand_or_choice_suggests_the_closest_one(typed, meant):
    done = run_cli(*typed)
    assert done.returncode == 128
    last = done.stderr.decode().splitlines()[-1]
    assert f"did you mean '{meant}'?" in last, last
    assert "Traceback" not in done.stderr.decode()


def test_a_word_close_to_no_subcommand_gets_no_suggestion():
    done = run_cli("zzzz")
    assert done.returncode == 128
    assert "did you mean" not in done.stderr.decode()
    assert "choose from hash, etag, check, verify, digest, aggregate, samples, pipeline-def" in done.stderr.decode()


@pytest.mark.parametrize("command", [["hash"], ["check"], ["verify"], ["digest"], ["aggregate"], ["samples"],
                                     ["pipeline-def"], ["etag", "guess"]])
def test_every_commands_help_lists_the_exit_statuses_of_a_stopped_run(command, tmp_path):
    """Every command stops on SIGINT and SIGTERM with the shell's 130 and 143 (cli.main; a digest job's 143 is
    tested in test_stopped), so every --help that lists exit statuses lists those two as well."""
    shown = run_cli(*command, "--help").stdout
    assert b"exit status" in shown
    assert b"130" in shown and b"143" in shown and b"SIGTERM" in shown, shown[-600:]
    if command == ["digest"]:  # the behaviour itself, for a command whose help did not list it
        big = tmp_path / "big.bin"
        with open(big, "wb") as handle:
            handle.truncate(4 << 30)  # sparse: seconds of MD5, no disk
        process = subprocess.Popen([sys.executable, "-m", "seqfixity", "digest", big, "--outdir", tmp_path / "o",
                                    "--validate", "none"], env=cli_env(), stderr=subprocess.PIPE)
        try:
            process.wait(1.0)
        except subprocess.TimeoutExpired:
            process.terminate()
        assert process.wait(30) == 143
        process.stderr.close()
