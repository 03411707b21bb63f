"""ETag arithmetic against a naive reference and against s3transfer's own part-size rule."""

from __future__ import annotations

import hashlib
import json
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import run_cli
from seqfixity.engine.etag import (
    PRESETS,
    EtagError,
    ETagHasher,
    ImpossibleEtag,
    MiB,
    admissible_part_sizes,
    guess_candidates,
    parse_etag,
    resolve_layout,
)
from seqfixity.units import SizeError, parse_size

GiB = 1024**3


def reference_etag(data: bytes, part_size: int) -> str:
    """S3's multipart ETag, written out the slow and obvious way."""
    parts = [data[i:i + part_size] for i in range(0, len(data), part_size)] or [b""]
    joined = b"".join(hashlib.md5(p).digest() for p in parts)
    return f"{hashlib.md5(joined).hexdigest()}-{len(parts)}"


@settings(max_examples=60, deadline=None)
@given(data=st.binary(min_size=0, max_size=200), part_size=st.integers(1, 40),
       cuts=st.lists(st.integers(0, 200), max_size=6))
def test_incremental_hasher_matches_reference_whatever_the_chunking(data, part_size, cuts):
    hasher = ETagHasher(part_size)
    start = 0
    for cut in sorted(cuts) + [len(data)]:
        hasher.update(data[start:max(start, cut)])
        start = max(start, cut)
    assert hasher.hexdigest() == reference_etag(data, part_size)


def test_threshold_gives_the_plain_md5_below_and_multipart_at_it():
    data = b"x" * 100
    assert ETagHasher(10, threshold=101).hexdigest() == hashlib.md5(b"").hexdigest()
    below = ETagHasher(10, threshold=101)
    below.update(data)
    assert below.hexdigest() == hashlib.md5(data).hexdigest()
    at = ETagHasher(10, threshold=100)
    at.update(data)
    assert at.hexdigest() == reference_etag(data, 10)
    assert at.parts == 10


def test_one_part_multipart_object_ends_in_minus_one():
    hasher = ETagHasher(64)
    hasher.update(b"abc")
    assert hasher.hexdigest().endswith("-1")
    assert hasher.hexdigest() == reference_etag(b"abc", 64)


@pytest.mark.parametrize("size", [0, 1, 8 * MiB - 1, 8 * MiB, 8 * MiB + 1, 80 * GiB, 5 * 1024 * GiB])
def test_aws_cli_and_boto3_follow_s3transfer_chunksize_adjuster(size):
    from s3transfer.utils import ChunksizeAdjuster

    expected = ChunksizeAdjuster().adjust_chunksize(8 * MiB, size)
    for name in ("aws-cli", "boto3"):
        assert PRESETS[name].part_size_for(size) == expected


@pytest.mark.parametrize(
    ("preset", "size", "part_size", "parts"),
    [
        ("ica", 16 * MiB - 1, 8 * MiB, 0),
        ("ica", 16 * MiB, 8 * MiB, 2),
        ("ica", 64 * GiB, 8 * MiB, 8192),
        ("ica", 64 * GiB + 1, 16 * MiB, 4097),
        ("aws-cli", 100 * GiB, 16 * MiB, 6400),
        ("s3cmd", 15 * MiB, 15 * MiB, 0),
        ("s3cmd", 15 * MiB + 1, 15 * MiB, 2),
        ("rclone", 200 * MiB - 1, 5 * MiB, 0),
        ("rclone", 200 * MiB, 5 * MiB, 40),
        ("rclone", 100 * GiB, 11 * MiB, 9310),
        ("aws-go-sdk", 5 * MiB, 5 * MiB, 0),
        ("aws-go-sdk", 100 * GiB, 100 * GiB // 10000 + 1, 10000),
    ],
)
def test_preset_layouts(preset, size, part_size, parts):
    layout = resolve_layout(size, preset)
    assert (layout.part_size, layout.parts) == (part_size, parts)
    if parts:
        assert layout.parts == math.ceil(size / layout.part_size) <= 10_000


def test_too_many_parts_names_the_fix():
    with pytest.raises(EtagError, match=r"--part-size \d+MiB"):
        resolve_layout(200 * GiB, "s3cmd")
    with pytest.raises(EtagError, match="10000 parts"):
        resolve_layout(100 * GiB, part_size=8 * MiB)


def test_parts_under_five_mib_are_refused_unless_single():
    with pytest.raises(EtagError, match="5 MiB minimum"):
        resolve_layout(20 * MiB, part_size=1 * MiB, threshold=0)
    assert resolve_layout(1 * MiB, part_size=1 * MiB, threshold=0).parts == 1


def test_parse_etag_accepts_quotes_and_case_and_rejects_others():
    assert str(parse_etag('"ABCDEF0123456789abcdef0123456789-12"')) == "abcdef0123456789abcdef0123456789-12"
    assert parse_etag("abcdef0123456789abcdef0123456789").parts == 0
    for bad in ("", "xyz", "abcdef0123456789abcdef0123456789-0", "abcdef0123456789abcdef012345678-2"):
        with pytest.raises(EtagError):
            parse_etag(bad)


def s3_admits(size: int, parts: int, part_size: int) -> bool:
    """S3's rule, written from its documented limits: at most 10,000 parts; every part but the last 5 MiB to
    5 GiB; one part at most 5 GiB; and the part size must cut the file into exactly ``parts`` pieces."""
    if part_size < 1 or parts > 10_000 or math.ceil(size / part_size) != parts:
        return False
    if parts == 1:
        return size <= 5 * GiB
    return 5 * MiB <= part_size <= 5 * GiB


@settings(max_examples=300, deadline=None)
@given(size=st.integers(1, 10**13), parts=st.integers(1, 12_000))
def test_admissible_range_is_exactly_the_part_sizes_s3_admits(size, parts):
    try:
        low, high = admissible_part_sizes(size, parts)
    except EtagError:
        # nothing S3 admits: not the part sizes around size/N, nor the limits themselves
        near = math.ceil(size / parts)
        probes = [p for p in (near - 1, near, near + 1, 5 * MiB, 5 * GiB, size) if p > 0]
        if parts > 1 and size > parts - 1:
            probes.append(math.ceil(size / (parts - 1)) - 1)
        assert not any(s3_admits(size, parts, p) for p in probes)
        return
    if parts == 1:
        assert (low, high) == (size, size) and s3_admits(size, 1, size)
        return
    assert s3_admits(size, parts, low) and not s3_admits(size, parts, low - 1)
    assert s3_admits(size, parts, high) and not s3_admits(size, parts, high + 1)


def test_etags_s3_cannot_produce_are_named_as_such():
    for size, parts in ((100 * MiB, 10_001), (100 * MiB, 50), (6 * GiB, 1), (12 * GiB, 2)):
        with pytest.raises(ImpossibleEtag, match="S3 takes at most 10,000 parts of 5 MiB to 5 GiB"):
            guess_candidates(size, parts)


def test_guess_orders_likely_part_sizes_first_across_the_whole_range():
    # rclone --s3-chunk-size 70M (70 MiB) on a 210 MiB file plus a little: a -4 ETag, range 52.5-70 MiB
    size = 210 * MiB + 1000
    candidates, total = guess_candidates(size, 4)
    assert 70 * MiB in candidates[:4] and 64 * MiB == candidates[0]
    assert total > 16
    # the preset rules come first, whatever the range: aws-cli's 8 MiB for a 1 GiB file in 128 parts
    assert guess_candidates(1 * GiB, 128)[0][0] == 8 * MiB


def test_go_sdk_grows_the_part_size_at_its_own_boundary():
    # feature/s3/manager/upload.go: PartSize = size/MaxUploadParts + 1 once size/PartSize >= MaxUploadParts
    for size in (52_428_800_000 - 1, 52_428_800_000, 52_428_800_000 + 1, 52_428_800_000 + 9_999):
        part = 5 * MiB if size // (5 * MiB) < 10_000 else size // 10_000 + 1
        assert PRESETS["aws-go-sdk"].part_size_for(size) == part, size
        parts = math.ceil(size / part)
        assert part in guess_candidates(size, parts, 4)[0]
    assert PRESETS["aws-go-sdk"].part_size_for(52_428_800_000) == 5_242_881


def test_tied_uploaders_keep_their_threshold_one_part_up():
    # s3cmd uploads in one piece unless the file is larger than one chunk, whatever the chunk size
    assert not resolve_layout(20 * MiB, "s3cmd", part_size=32 * MiB).multipart
    assert not resolve_layout(32 * MiB, "s3cmd", part_size=32 * MiB).multipart
    assert resolve_layout(32 * MiB + 1, "s3cmd", part_size=32 * MiB).parts == 2
    # aws-cli's multipart_threshold is its own setting: a new chunk size leaves the 8 MiB threshold
    assert resolve_layout(20 * MiB, "aws-cli", part_size=32 * MiB).parts == 1


def test_guess_candidates_cover_presets_and_stay_in_range():
    size = 1 * GiB
    candidates, total = guess_candidates(size, 128)
    assert 8 * MiB in candidates
    low, high = admissible_part_sizes(size, 128)
    assert all(low <= c <= high for c in candidates)
    assert total == len(candidates)
    candidates, total = guess_candidates(100 * GiB, 10_000)
    assert 100 * GiB // 10_000 + 1 in candidates[:8]


def test_sizes_mean_what_the_uploaders_mean():
    """aws-cli's multipart_chunksize "16MB" is 16 MiB (its own parser is the oracle); rclone's "64M" is 64 MiB
    (rclone docs: SizeSuffix, "M" = MiB) and s3cmd's --multipart-chunk-size-mb counts MiB."""
    from awscli.customizations.s3.utils import human_readable_to_bytes

    for text in ("5MB", "8MB", "16MB", "64MB", "1GB", "100KB", "16MiB", "1GiB"):
        assert parse_size(text) == human_readable_to_bytes(text), text
    assert parse_size("64M") == 64 * MiB and parse_size("15728640") == 15 * MiB
    with pytest.raises(SizeError) as refused:
        parse_size("16MX")
    for suffix in ("B", "K", "KB", "KiB", "M", "MB", "MiB", "G", "GB", "GiB", "T", "TB", "TiB"):
        assert f" {suffix}," in str(refused.value) or f" {suffix} " in str(refused.value), suffix


def test_a_part_size_copied_from_aws_cli_gives_the_etag_aws_cli_gives(tmp_path):
    data = random.Random(9).randbytes(40 * MiB + 3)
    (tmp_path / "f.bin").write_bytes(data)
    done = run_cli("hash", "--quiet", "--format", "jsonl", "--etag-preset", "aws-cli", "--part-size", "16MB",
                   tmp_path / "f.bin")
    record = json.loads(done.stdout)
    assert record["etag"] == reference_etag(data, 16 * MiB) and record["etag_part_size"] == 16 * MiB
