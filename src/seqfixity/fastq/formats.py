"""What a file's name says it holds, and what its first bytes say it holds, in words.

A name promises a format: ``.fastq.gz`` gzip (or BGZF), ``.fastq.bz2`` bzip2,
``.fastq.zst`` zstd, ``.fastq.ora`` DRAGEN ORA, ``.fastq`` / ``.fq`` plain FASTQ,
``.bam`` and ``.cram`` alignments. The content is judged from its magic bytes
(gzip RFC 1952, bzip2's ``BZh``, zstd RFC 8878, BAM and CRAM from the SAM/BAM and
CRAM specifications). A name and content that disagree (a ``.fastq.gz`` that a
download client silently decompressed, noise under a ``.gz`` name) are a
failure that says what the content is, in words, never as a dump of its bytes.
"""

from __future__ import annotations

GZIP = "gzip"
BZIP2 = "bzip2"
ZSTD = "zstd"
ORA = "ORA"
PLAIN = "plain"
BAM = "BAM"
CRAM = "CRAM"
# Compression suffixes after .fastq / .fq, and the format each promises.
COMPRESSION_SUFFIXES = {".gz": GZIP, ".bgz": GZIP, ".bgzf": GZIP, ".bz2": BZIP2, ".zst": ZSTD, ".ora": ORA}
FASTQ_SUFFIXES = (".fastq", ".fq")
ALIGNMENT_SUFFIXES = {".bam": BAM, ".cram": CRAM}
GZIP_MAGIC = b"\x1f\x8b"
BZIP2_MAGIC = b"BZh"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
# A zstd skippable frame (RFC 8878, 3.1.2) starts with 0x184D2A50 to 0x184D2A5F (little-endian): pzstd begins
# every file with one, so a zstd file may start with it instead of a frame's magic.
ZSTD_SKIPPABLE_TAIL = b"\x2a\x4d\x18"
CRAM_MAGIC = b"CRAM"
# How many of the first bytes decide the content's kind (the longest magic number is 6 bytes, xz's).
SNIFF_BYTES = 64
_OTHER_MAGIC = ((b"\xfd7zXZ\x00", "xz"), (b"PK\x03\x04", "a zip archive"), (CRAM_MAGIC, "CRAM"),
                (b"BAM\x01", "uncompressed BAM"))
_TEXT = frozenset(range(0x20, 0x7F)) | {0x09, 0x0A, 0x0D}


def name_format(name: str) -> tuple[str, str] | None:
    """Return (kind, format) that ``name`` promises: ("fastq", gzip/bzip2/zstd/ORA/plain) or ("alignment",
    BAM/CRAM); None for any other name (a report, a sample sheet: digests only)."""
    lower = name.lower()
    for suffix, fmt in ALIGNMENT_SUFFIXES.items():
        if lower.endswith(suffix):
            return "alignment", fmt
    for suffix, fmt in COMPRESSION_SUFFIXES.items():
        if lower.endswith(suffix) and lower[:-len(suffix)].endswith(FASTQ_SUFFIXES):
            return "fastq", fmt
    if lower.endswith(FASTQ_SUFFIXES):
        return "fastq", PLAIN
    return None


def compression_of(name: str) -> str:
    """The compression a name promises for its content: gzip, bzip2, zstd, ORA, or plain (also for BAM: gzip)."""
    promised = name_format(name)
    if promised is None:
        lower = name.lower()
        return next((fmt for suffix, fmt in COMPRESSION_SUFFIXES.items() if lower.endswith(suffix)), PLAIN)
    kind, fmt = promised
    if kind == "alignment":
        return GZIP if fmt == BAM else CRAM
    return fmt


def content_format(head: bytes) -> str:
    """Return the compression that the first bytes ``head`` show: gzip, bzip2, zstd, CRAM or plain.

    "plain" means none of the compressed formats seqfixity decodes; :func:`describe` says what it is.
    """
    if head.startswith(GZIP_MAGIC):
        return GZIP
    if head.startswith(BZIP2_MAGIC) and len(head) > 3 and 0x31 <= head[3] <= 0x39:
        return BZIP2
    if head.startswith(ZSTD_MAGIC) or _skippable_zstd(head):
        return ZSTD
    if head.startswith(CRAM_MAGIC):
        return CRAM
    return PLAIN


def _skippable_zstd(head: bytes) -> bool:
    """Whether ``head`` starts with a zstd skippable frame's magic number (0x184D2A5?, little-endian)."""
    return len(head) >= 4 and 0x50 <= head[0] <= 0x5F and head[1:4] == ZSTD_SKIPPABLE_TAIL


def describe(head: bytes) -> str:
    """What the first bytes of a file are, in words (never the bytes themselves)."""
    if not head:
        return "an empty file"
    found = content_format(head)
    if found != PLAIN:
        return f"{found}-compressed data" if found != CRAM else "a CRAM file"
    for magic, words in _OTHER_MAGIC:
        if head.startswith(magic):
            return words
    if all(byte in _TEXT for byte in head):
        return "plain text (an uncompressed FASTQ)" if head.startswith(b"@") else "plain text"
    return "unknown bytes"


def not_fastq_text(head: bytes) -> bool:
    """Whether ``head``, under an uncompressed FASTQ name, is plainly something else: another format's magic
    number (xz, zip, uncompressed BAM), or bytes that are not text and do not start a record with '@'."""
    if any(head.startswith(magic) for magic, _ in _OTHER_MAGIC):
        return True
    return bool(head) and not head.startswith(b"@") and describe(head) == "unknown bytes"


def cut_inside_magic(head: bytes, fmt: str) -> bool:
    """Whether ``head`` is shorter than the magic number of ``fmt`` and its start: a file cut inside its header."""
    magic = {GZIP: GZIP_MAGIC, BZIP2: BZIP2_MAGIC, ZSTD: ZSTD_MAGIC, CRAM: CRAM_MAGIC}.get(fmt, b"")
    if fmt == ZSTD and 0 < len(head) < 4 and 0x50 <= head[0] <= 0x5F and ZSTD_SKIPPABLE_TAIL.startswith(head[1:]):
        return True  # cut inside a skippable frame's magic (pzstd's files start with one)
    return 0 < len(head) <= len(magic) and magic.startswith(head)


def mismatch(name: str, head: bytes) -> str:
    """Why the content ``head`` does not fit the format ``name`` promises, or "" when it fits.

    ``head`` is the file's first :data:`SNIFF_BYTES` bytes (fewer for a shorter file).
    """
    return mismatch_of(compression_of(name), head)


def mismatch_of(promised: str, head: bytes) -> str:
    """Why the content ``head`` is not of the compression ``promised`` (gzip, bzip2, zstd, plain), or ""."""
    if promised == ORA:
        return ""  # ORA's first bytes are not specified in a way seqfixity checks; orad judges them
    found = content_format(head)
    if found == promised:
        return ""
    if promised == PLAIN:
        return f"named as uncompressed but the content is {describe(head)}; rename it with the matching suffix"
    hint = {PLAIN: "; a download client may have decompressed it: compress it again or drop the suffix"}.get(found, "")
    return f"named as {promised} but the content is {describe(head)}{hint}"
