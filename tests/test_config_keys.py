"""Every command that reads ``--config`` refuses a key it does not know, as the workflow does: one line naming the
file, the key and the key it probably meant, exit 128, and nothing computed or written with a default instead."""

from __future__ import annotations

import hashlib

import pytest
import yaml

from conftest import REPO, run_cli, write_random
from seqfixity.settings import CONFIG_KEYS

MiB = 1 << 20


def test_the_known_keys_are_exactly_those_config_schema_yaml_documents():
    schema = yaml.safe_load((REPO / "config" / "schema.yaml").read_text())
    assert set(schema["properties"]) == set(CONFIG_KEYS), (
        "config/schema.yaml and seqfixity.settings.CONFIG_KEYS must list the same keys (a key only in the schema is "
        f"refused by every --config): {sorted(set(schema['properties']) ^ set(CONFIG_KEYS))}")
    shipped = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    assert set(shipped) <= set(CONFIG_KEYS)


def _refused(done, config, key: str, meant: str) -> None:
    stderr = done.stderr.decode()
    assert done.returncode == 128, stderr
    assert stderr.count("\n") == 1 and "Traceback" not in stderr, stderr
    assert f"{config}: unknown config key '{key}' (did you mean '{meant}'?" in stderr, stderr


@pytest.mark.parametrize(("key", "meant"), [("part_sise", "part_size"), ("treshold", "threshold"),
                                            ("etag-preset", "etag_preset"), ("Validate", "validate"),
                                            ("container_tags", "container_tag")])
def test_hash_check_digest_and_pipeline_def_refuse_a_misspelt_key(tmp_path, key, meant):
    data = write_random(tmp_path / "x.bin", 20 * MiB, seed=3)
    config = tmp_path / "t.yaml"
    config.write_text(f"{key}: 16MiB\n" if "size" in key or "shold" in key else f"{key}: x\n")
    manifest = tmp_path / "x.md5"
    manifest.write_text(f"{hashlib.md5(data.read_bytes()).hexdigest()}  x.bin\n")

    out = tmp_path / "out"
    _refused(run_cli("hash", "--config", config, data, "-o", out / "sums.md5"), config, key, meant)
    _refused(run_cli("check", "--config", config, "--no-cache", manifest), config, key, meant)
    _refused(run_cli("digest", "--config", config, data, "--outdir", out), config, key, meant)
    _refused(run_cli("pipeline-def", "--config", config, "-o", out / "pipeline"), config, key, meant)
    assert not out.exists()  # nothing written with the defaults the misspelt key left in place


def test_a_config_with_only_known_keys_still_sets_the_etag_layout(tmp_path):
    """The key, spelt right, reaches the ETag: 16 MiB parts (an ETag of 2 parts for 20 MiB, by hashlib)."""
    data = write_random(tmp_path / "x.bin", 20 * MiB, seed=3).read_bytes()
    config = tmp_path / "t.yaml"
    config.write_text("part_size: 16MiB\nthreshold: 8MiB\ninputs: [elsewhere]\nbatch_size: 3\n")  # workflow keys too
    done = run_cli("hash", "--config", config, tmp_path / "x.bin", "--format", "jsonl")
    assert done.returncode == 0, done.stderr
    parts = [hashlib.md5(data[i:i + 16 * MiB]).digest() for i in range(0, len(data), 16 * MiB)]
    assert f'"etag": "{hashlib.md5(b"".join(parts)).hexdigest()}-2"' in done.stdout.decode()


@pytest.mark.parametrize("command", ["hash", "check", "digest", "pipeline-def"])
def test_a_bad_size_in_the_config_names_its_key(tmp_path, command):
    config = tmp_path / "t.yaml"
    config.write_text("part_size: 16MiB\nthreshold: 1x\n")
    target = write_random(tmp_path / "f.bin", 10, 1)
    args = {"hash": [target], "check": [tmp_path / "m.md5"], "digest": ["--outdir", tmp_path / "o", target],
            "pipeline-def": ["-o", tmp_path / "p"]}[command]
    (tmp_path / "m.md5").write_text(f"{hashlib.md5(target.read_bytes()).hexdigest()}  f.bin\n")
    done = run_cli(command, "--config", config, *args)
    assert done.returncode == 128
    assert done.stderr.decode().splitlines() == [
        f"seqfixity: {config}: threshold: unknown unit 'x' in '1x' (use B, K, KB, Ki, KiB, M, MB, Mi, MiB, G, GB, Gi, "
        "GiB, T, TB, Ti, TiB (any case; all powers of 1024), or a plain number of bytes)"]
