"""ETag arithmetic against a naive reference and against s3transfer's own part-size rule."""

from __future__ import annotations

import hashlib
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqfixity.engine.etag import (
    PRESETS,
    EtagError,
    ETagHasher,
    MiB,
    admissible_part_sizes,
    guess_candidates,
    parse_etag,
    resolve_layout,
)

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


@settings(max_examples=200, deadline=None)
@given(size=st.integers(1, 10**12), parts=st.integers(1, 10_000))
def test_admissible_range_is_exactly_the_part_sizes_giving_n_parts(size, parts):
    if parts > size:
        with pytest.raises(EtagError):
            admissible_part_sizes(size, parts)
        return
    try:
        low, high = admissible_part_sizes(size, parts)
    except EtagError:
        # no P gives exactly N parts: check that the neighbours of size/N agree
        guess = math.ceil(size / parts)
        assert all(math.ceil(size / p) != parts for p in (guess - 1, guess, guess + 1) if p > 0)
        return
    assert math.ceil(size / low) == parts
    assert low == 1 or math.ceil(size / (low - 1)) != parts
    if parts > 1:
        assert math.ceil(size / high) == parts
        assert math.ceil(size / (high + 1)) != parts


def test_guess_candidates_cover_presets_and_stay_in_range():
    size = 1 * GiB
    candidates, total = guess_candidates(size, 128)
    assert 8 * MiB in candidates
    low, high = admissible_part_sizes(size, 128)
    assert all(low <= c <= high for c in candidates)
    assert total == len(candidates)
    candidates, total = guess_candidates(100 * GiB, 10_000)
    assert 100 * GiB // 10_000 + 1 in candidates
