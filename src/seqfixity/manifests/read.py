"""Checksum manifests in: GNU and BSD lines, sidecars, hashdeep, BagIt, rclone, ENA/SRA tables, JSONL, TSV.

Every reader turns a manifest into :class:`ManifestEntry` rows (a name as raw
bytes, the digests it promises, the size where known, the line it came from)
and :class:`ManifestProblem` rows for lines it could not use; one bad line never
stops the rest from being read.
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from seqfixity.manifests.write import unescape_name

OWN_FORMATS = ("jsonl", "tsv")  # seqfixity hash --format jsonl|tsv, the workflow's records/*.jsonl and seqfixity.tsv
INPUT_FORMATS = ("auto", "gnu", "bsd", "sidecar", "hashdeep", "bagit", "rclone", "ena", "jsonl", "tsv", "ica")
HEX_ALGORITHMS = {32: "md5", 40: "sha1", 56: "sha224", 64: "sha256", 96: "sha384", 128: "sha512"}
SIDECAR_SUFFIXES = {".md5": "md5", ".sha1": "sha1", ".sha256": "sha256", ".sha512": "sha512"}
ENA_PAIRS = (("fastq_ftp", "fastq_md5", "fastq_bytes"), ("submitted_ftp", "submitted_md5", "submitted_bytes"),
             ("sra_ftp", "sra_md5", "sra_bytes"))
NOT_DIGESTS = {"path", "sample", "size", "mtime", "mtime_ns", "etag_part_size", "etag_parts", "reads",
               "fastq_verdict", "fastq_error", "naming", "error", "error_kind", "file", "status", "problem"}

_HEX = re.compile(rb"^[0-9a-fA-F]+$")
_ETAG = re.compile(rb"^[0-9a-fA-F]{32}-[0-9]+$")
_HEX_TEXT = re.compile(r"^[0-9a-fA-F]+(-[0-9]+)?$")  # hex digests and ETags compare case-blind, base64 CRCs do not
_BSD = re.compile(rb"^(?P<alg>[A-Za-z0-9-]+) ?\((?P<name>.*)\) ?= ?(?P<hex>[0-9a-fA-F]+)$", re.DOTALL)
_BAGIT_NAME = re.compile(r"^(?:tag)?manifest-(?P<alg>[a-z0-9]+)\.txt$")


@dataclass
class ManifestEntry:
    """One file a manifest promises: its name (raw bytes), digests, size if given, and where it was listed."""

    name: bytes
    digests: dict[str, str]
    size: int | None = None
    line: int = 0
    etag_part_size: int = 0

    @property
    def display(self) -> str:
        """The name as text (undecodable bytes kept as surrogates)."""
        return os.fsdecode(self.name)


@dataclass
class ManifestProblem:
    """A manifest line (or the whole manifest, line 0) that could not be used, and why."""

    line: int
    message: str

    def where(self, source: str) -> str:
        """``MANIFEST:LINE``, or just ``MANIFEST`` for a problem with the whole file."""
        return f"{source}:{self.line}" if self.line else source


@dataclass
class Manifest:
    """What a manifest holds: its entries, the lines that failed, its format and its folder."""

    source: str
    format: str
    entries: list[ManifestEntry] = field(default_factory=list)
    problems: list[ManifestProblem] = field(default_factory=list)
    default_match: str = "path"

    def add(self, line: int, parsed: ManifestEntry | str) -> None:
        """Keep what a reader made of ``line``: an entry, or (as text) what is wrong with the line."""
        if isinstance(parsed, str):
            self.problems.append(ManifestProblem(line, parsed))
        else:
            parsed.line = line
            self.entries.append(parsed)

    @property
    def paths_as_written(self) -> bool:
        """True for seqfixity's own records (JSONL, TSV), which name each file by the path it was read at.

        Their paths are taken as they are, absolute or climbing out of the root with ``..`` (a workflow run on
        ``/data/run42`` or ``../run42``); other manifests come from elsewhere, and such paths in them are refused.
        """
        return self.format in OWN_FORMATS

    @property
    def folder(self) -> str:
        """The folder manifest paths are relative to by default (the current one for stdin)."""
        return "." if self.source == "-" else os.path.dirname(self.source) or "."


def _digest_of(hexdigest: bytes) -> tuple[str, str] | None:
    """Return (algorithm, lower-case hex) for a digest token, or None when it is not one."""
    if _ETAG.match(hexdigest):
        return "etag", hexdigest.decode().lower()
    if _HEX.match(hexdigest) and len(hexdigest) in HEX_ALGORITHMS:
        return HEX_ALGORITHMS[len(hexdigest)], hexdigest.decode().lower()
    return None


def _lines(data: bytes) -> list[tuple[int, bytes]]:
    """Split into numbered lines without their LF or CRLF ending."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return [(number, line[:-1] if line.endswith(b"\r") else line) for number, line in enumerate(lines, 1)]


def parse_gnu_line(line: bytes) -> ManifestEntry | str:
    """Parse one ``md5sum`` (or ``md5sum --tag``) line; return an entry or what is wrong with it."""
    escaped = line.startswith(b"\\")
    body = line[1:] if escaped else line
    tag = _BSD.match(body)
    if tag and body[:1].isalpha() and not _HEX.match(body.split(b" ", 1)[0] or b"x"):
        name, token, algorithm = tag["name"], tag["hex"], tag["alg"].decode().lower().replace("-", "")
        found = _digest_of(token)
        if found is None or (found[0] != algorithm and algorithm in HEX_ALGORITHMS.values()):
            return f"{algorithm.upper()} digest of {len(token)} hex digits does not fit the algorithm"
        found = (algorithm, token.decode().lower())
    else:
        match = re.match(rb"^([0-9a-fA-F]+(?:-[0-9]+)?)( [ *]| |\t)(.*)$", body, re.DOTALL)
        if not match:
            return "not a checksum line (expected 'HEX  NAME' or 'MD5 (NAME) = HEX')"
        token, name = match[1], match[3]
        found = _digest_of(token)
        if found is None:
            return f"{len(token)} hex digits is not a known digest length (MD5 has 32)"
    if not name:
        return "no file name after the checksum"
    if escaped:
        try:
            name = unescape_name(name)
        except ValueError as err:
            return str(err)
    return ManifestEntry(name=name, digests={found[0]: found[1]})


def read_gnu(data: bytes, manifest: Manifest, decode_name: Callable[[bytes], bytes] | None = None) -> None:
    """Read GNU/BSD checksum lines (coreutils escaping, CRLF, upper-case hex, ``*`` binary marker)."""
    for number, line in _lines(data):
        if not line.strip() or line.lstrip().startswith(b"#"):
            continue
        parsed = parse_gnu_line(line.lstrip(b" \t"))  # coreutils skips leading blanks
        if decode_name and not isinstance(parsed, str):
            parsed.name = decode_name(parsed.name)
        manifest.add(number, parsed)


_RCLONE_QUOTE = "\u201b"


def rclone_decode(name: bytes) -> bytes:
    """Undo rclone's display encoding: control pictures (U+2400..U+241F, U+2421) back to control bytes."""
    text = name.decode("utf-8", "surrogateescape")
    out, index = [], 0
    while index < len(text):
        char = text[index]
        following = text[index + 1:index + 2]
        if char == _RCLONE_QUOTE and following and (0x2400 <= ord(following) <= 0x2421 or following == _RCLONE_QUOTE):
            out.append(following)
            index += 2
            continue
        if 0x2400 <= ord(char) <= 0x241F:
            char = chr(ord(char) - 0x2400)
        elif ord(char) == 0x2421:
            char = "\x7f"
        out.append(char)
        index += 1
    return "".join(out).encode("utf-8", "surrogateescape")


def read_sidecar(data: bytes, manifest: Manifest) -> None:
    """Read ``x.fastq.gz.md5``: a digest (and perhaps a name) for the file ``x.fastq.gz`` beside it."""
    base = os.path.basename(manifest.source)
    stem, suffix = os.path.splitext(base)
    for number, line in _lines(data):
        if not line.strip():
            continue
        token = line.strip().split(None, 1)[0].lstrip(b"\\")
        found = _digest_of(token)
        if found is None:
            manifest.problems.append(ManifestProblem(number, "sidecar does not start with a hex digest"))
        else:
            algorithm = SIDECAR_SUFFIXES.get(suffix.lower(), found[0])  # its digest is settled by _settle_digests
            manifest.entries.append(ManifestEntry(os.fsencode(stem), {algorithm: found[1]}, line=number))
        return
    manifest.problems.append(ManifestProblem(0, "empty sidecar file"))


def read_hashdeep(data: bytes, manifest: Manifest) -> None:
    """Read hashdeep/md5deep CSV: ``%%%% size,md5,sha256,filename`` header, then one row per file."""
    columns: list[str] = []
    for number, line in _lines(data):
        if line.startswith(b"%%%% HASHDEEP"):
            continue
        if line.startswith(b"%%%% "):
            columns = line[5:].decode("ascii", "replace").strip().split(",")
            continue
        if line.startswith(b"##") or not line.strip():
            continue
        if not columns or columns[-1] != "filename":
            manifest.problems.append(ManifestProblem(number, "hashdeep row before a '%%%% size,...,filename' header"))
            continue
        fields = line.split(b",", len(columns) - 1)
        if len(fields) != len(columns) or not fields[-1]:
            manifest.problems.append(ManifestProblem(number, f"expected {len(columns)} comma-separated fields"))
            continue
        values = dict(zip(columns, fields, strict=True))
        try:
            size = int(values.pop("size")) if "size" in values else None
        except ValueError:
            manifest.problems.append(ManifestProblem(number, "size is not a number"))
            continue
        name = values.pop("filename")
        digests = {key: value.decode().lower() for key, value in values.items()
                   if _HEX_TEXT.match(value.decode("ascii", "replace"))}  # HEX-N: an ETag (see _settled)
        if len(digests) != len(values):
            manifest.problems.append(ManifestProblem(number, "a digest field is not hexadecimal"))
            continue
        manifest.entries.append(ManifestEntry(name, digests, size=size, line=number))


def bagit_decode(name: bytes) -> bytes:
    """Percent-decode a BagIt manifest path (RFC 8493 encodes only CR, LF and ``%``)."""
    return re.sub(rb"%(0[aAdD]|25)", lambda m: bytes([int(m[1], 16)]), name)


def read_bagit(data: bytes, manifest: Manifest) -> None:
    """Read a BagIt ``manifest-ALG.txt``: ``hex  data/path`` with percent-encoded CR, LF and ``%``."""
    match = _BAGIT_NAME.match(os.path.basename(manifest.source))
    algorithm = match["alg"] if match else "md5"
    for number, line in _lines(data):
        if not line.strip():
            continue
        parts = line.split(None, 1)
        if len(parts) != 2 or not _HEX.match(parts[0]):
            manifest.problems.append(ManifestProblem(number, "expected 'CHECKSUM  data/PATH'"))
            continue
        name = bagit_decode(parts[1].lstrip(b" \t"))
        manifest.entries.append(ManifestEntry(name, {algorithm: parts[0].decode().lower()}, line=number))


def _table_rows(data: bytes) -> tuple[list[str], list[tuple[int, list[str]]]]:
    text = data.decode("utf-8", "surrogateescape")
    lines = [(n, line.rstrip("\r")) for n, line in enumerate(text.split("\n"), 1) if line.strip()]
    if not lines:
        return [], []
    delimiter = "\t" if "\t" in lines[0][1] else ","
    header = [column.strip() for column in lines[0][1].split(delimiter)]
    return header, [(n, line.split(delimiter)) for n, line in lines[1:]]


def read_ena(data: bytes, manifest: Manifest) -> None:
    """Read an ENA/SRA file report: ``fastq_ftp`` with ``fastq_md5`` (and ``fastq_bytes``), ``;``-joined."""
    header, rows = _table_rows(data)
    pair = next((p for p in ENA_PAIRS if p[0] in header and p[1] in header), None)
    if pair is None:
        manifest.problems.append(ManifestProblem(1, "no fastq_ftp + fastq_md5 (or submitted_/sra_) columns"))
        return
    for number, cells in rows:
        row = dict(zip(header, cells, strict=False))
        urls = [u for u in row.get(pair[0], "").split(";") if u]
        sums = [s for s in row.get(pair[1], "").split(";") if s]
        sizes = [s for s in row.get(pair[2], "").split(";") if s]
        if len(urls) != len(sums) or (sizes and len(sizes) != len(urls)):
            manifest.problems.append(ManifestProblem(number, f"{len(urls)} files but {len(sums)} checksums"))
            continue
        for index, (url, checksum) in enumerate(zip(urls, sums, strict=True)):
            found = _digest_of(checksum.strip().encode())
            if found is None:
                manifest.problems.append(ManifestProblem(number, f"{checksum!r} is not a hex digest"))
                continue
            size = _whole_number(sizes[index]) if sizes else None
            manifest.entries.append(ManifestEntry(os.fsencode(url.strip()), {found[0]: found[1]}, size, number))


def _whole_number(value: object) -> int | None:
    """``value`` as a number of bytes when it is a non-negative integer or its decimal text, else None."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if value >= 0 else None
    if isinstance(value, str) and value.strip().isdecimal():
        return int(value)
    return None


def _entry_from_mapping(data: object) -> ManifestEntry | str:
    """An entry from one of seqfixity's own records (a JSONL object or a TSV row), or what is wrong with it."""
    if not isinstance(data, dict) or not isinstance(data.get("path"), str) or not data["path"]:
        return "no 'path' field (the file name as text)"
    digests = {key: value.lower() if _HEX_TEXT.match(value) else value for key, value in data.items()
               if key not in NOT_DIGESTS and isinstance(value, str) and value}
    if not digests:
        return "no digest field (md5, etag, xxh128, sha256, ...)"
    part_size = _whole_number(data.get("etag_part_size"))
    if part_size is None and data.get("etag_part_size") not in (None, ""):
        return f"etag_part_size {data['etag_part_size']!r} is not a number of bytes"
    return ManifestEntry(os.fsencode(data["path"]), digests, _whole_number(data.get("size")),
                         etag_part_size=part_size or 0)


def read_jsonl(data: bytes, manifest: Manifest) -> None:
    """Read seqfixity's JSON lines (``seqfixity hash --format jsonl``): one object per file."""
    for number, line in _lines(data):
        if not line.strip():
            continue
        try:
            parsed = _entry_from_mapping(json.loads(line))
        except (ValueError, TypeError) as err:
            parsed = f"not a JSON object: {err}"
        manifest.add(number, parsed)


def _tsv_unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"t": "\t", "n": "\n", "r": "\r"}.get(m[1], m[1]), text)


def read_tsv(data: bytes, manifest: Manifest) -> None:
    """Read seqfixity's TSV (``seqfixity hash --format tsv`` or the workflow's ``seqfixity.tsv``).

    A header row, then one row per file.
    """
    header, rows = _table_rows(data)
    for number, cells in rows:
        if len(cells) != len(header):
            manifest.problems.append(ManifestProblem(number, f"{len(cells)} columns, header has {len(header)}"))
            continue
        row = {key: _tsv_unescape(value) for key, value in zip(header, cells, strict=True) if value != ""}
        manifest.add(number, _entry_from_mapping(row))


def read_rclone(data: bytes, manifest: Manifest) -> None:
    """Read ``rclone md5sum`` output: md5sum lines whose control characters are shown as control pictures."""
    read_gnu(data, manifest, decode_name=rclone_decode)


def read_ica(data: bytes, manifest: Manifest) -> None:
    """Read an ICA project-data export (JSON, CSV, TSV; also ``icav2 projectdata list -o json``): each file's
    ``objectETag`` and ``fileSizeInBytes`` by its path, as ``verify --against EXPORT`` reads it."""
    from seqfixity.remote import AVAILABLE, RemoteError
    from seqfixity.remote.ica import export_objects

    try:
        objects = export_objects(manifest.source, data)
    except RemoteError as err:
        manifest.problems.append(ManifestProblem(0, str(err).removeprefix(f"{manifest.source}: ")))
        return
    for found in objects:
        where = found.source.rpartition(":")[2]
        line = int(where) if where.isdigit() else 0
        if found.error:
            manifest.problems.append(ManifestProblem(line, f"{found.name or 'an item'}: {found.error}"))
        elif found.status != AVAILABLE:
            manifest.problems.append(ManifestProblem(line, f"{found.name}: ICA status {found.status}, not AVAILABLE "
                                                           "(its ETag is not that of a whole file)"))
        elif not found.etag:
            manifest.problems.append(ManifestProblem(line, f"{found.name}: no objectETag"))
        else:
            manifest.entries.append(ManifestEntry(os.fsencode(found.name), {"etag": found.etag.lower()}, found.size,
                                                  line))


READERS: dict[str, Callable[[bytes, Manifest], None]] = {
    "gnu": read_gnu, "bsd": read_gnu, "sidecar": read_sidecar, "hashdeep": read_hashdeep, "bagit": read_bagit,
    "rclone": read_rclone, "ena": read_ena, "jsonl": read_jsonl, "tsv": read_tsv, "ica": read_ica,
}


def _is_ica_export(base: str, data: bytes, first: bytes) -> bool:
    """An ICA project-data export: a .json holding objectETag, or a .csv/.tsv whose header has ICA's ETag column
    (``objectETag``, ``Object ETag``)."""
    suffix = os.path.splitext(base)[1].lower()
    if suffix == ".json":
        return b'"objectETag"' in data
    if suffix in (".csv", ".tsv"):
        labels = {re.sub(r"[^0-9a-z]", "", label.lower()) for label in re.split(r"[,\t]", first.decode("utf-8",
                                                                                                   "replace"))}
        return bool(labels & {"objectetag", "detailsobjectetag", "dataobjectetag", "datadetailsobjectetag"})
    return False


def detect_format(source: str, data: bytes) -> str:
    """Guess a manifest's format from its name and first lines."""
    base = os.path.basename(source)
    first = next((line for _, line in _lines(data) if line.strip()), b"")
    if first.startswith(b"%%%% HASHDEEP"):
        return "hashdeep"
    if _BAGIT_NAME.match(base):
        return "bagit"
    if _is_ica_export(base, data, first):
        return "ica"
    if first.lstrip().startswith(b"{"):
        return "jsonl"
    header = first.decode("utf-8", "replace").replace(",", "\t").split("\t")
    if any(p[0] in header and p[1] in header for p in ENA_PAIRS):
        return "ena"
    if (header[0] == "path" and len(header) > 1) or header[:3] == ["sample", "file", "path"]:
        return "tsv"  # `seqfixity hash --format tsv`, or the workflow's seqfixity.tsv
    entries = [line for _, line in _lines(data) if line.strip() and not line.startswith(b"#")]
    if os.path.splitext(base)[1].lower() in SIDECAR_SUFFIXES and len(entries) == 1:
        parts = entries[0].split(None, 1)
        stem = os.path.splitext(base)[0]
        if len(parts) == 1 or os.path.basename(parts[1].lstrip(b"*")) == os.fsencode(stem):
            return "sidecar"
    text = data.decode("utf-8", "surrogateescape")
    if not any(line.startswith(b"\\") for line in entries) and re.search("[\u2400-\u241f\u2421]", text):
        return "rclone"
    if entries and all(_BSD.match(line.lstrip(b"\\")) for line in entries):
        return "bsd"
    return "gnu"


HEX_LENGTHS = {name: length for length, name in HEX_ALGORITHMS.items()} | {"xxh128": 32}
# CRCs seqfixity computes in S3's form (base64 of the big-endian bytes), and their width in bytes
CRC_BYTES = {"crc32": 4, "crc32c": 4, "crc64nvme": 8}


def _settled(entry: ManifestEntry) -> str:
    """Make ``entry``'s digests what they can be; return why one cannot be its algorithm's, or "".

    An S3 ETag (``HEX-N``) under an MD5's name (a .md5 sidecar, an md5 column) is the ETag: no MD5 has a part
    count. A CRC written in hex (as rclone hashsum, 7-Zip or crc32 print it) is the same value as S3's base64
    of its bytes, which seqfixity computes, and an MD5 or SHA in base64 (S3's ChecksumSHA256, GCS's md5Hash,
    Azure's Content-MD5) the same as its hex: both are converted. A hex digest of another length than its
    algorithm's (64 hex digits as an MD5) is no digest of it: comparing it could only say MISMATCH about a
    file that may well be intact.
    """
    digests = entry.digests
    if "md5" in digests and "etag" not in digests and _ETAG.match(digests["md5"].encode()):
        digests["etag"] = digests.pop("md5")
    for name, width in CRC_BYTES.items():  # a CRC in hex (rclone hashsum, 7-Zip, crc32): S3's base64 of its bytes
        value = digests.get(name, "")
        if len(value) == 2 * width and _HEX.match(value.encode()):
            digests[name] = base64.b64encode(bytes.fromhex(value)).decode()
    for name, value in list(digests.items()):
        length = HEX_LENGTHS.get(name)
        if length and len(value) != length and (raw := _base64_digest(value, length // 2)) is not None:
            digests[name] = value = raw.hex()  # S3's ChecksumSHA256, GCS's and Azure's MD5: base64 of the bytes
        if length and _HEX_TEXT.match(value) and len(value) != length:
            looks = HEX_ALGORITHMS.get(len(value)) or ("an S3 ETag" if _ETAG.match(value.encode()) else "")
            return f"{name} digest has {len(value)} characters, not {length} hex digits" + (
                f" (it looks like {looks})" if looks else "")
    return ""


def _base64_digest(value: str, width: int) -> bytes | None:
    """The ``width`` bytes that ``value`` holds in base64 (padded, as S3, GCS and Azure write it), or None."""
    if len(value) != 4 * -(-width // 3) or not re.fullmatch(r"[A-Za-z0-9+/]+={0,2}", value):
        return None
    try:
        raw = base64.b64decode(value, validate=True)
    except ValueError:
        return None
    return raw if len(raw) == width else None


def _settle_digests(manifest: Manifest) -> None:
    """Move each entry whose digests cannot be their algorithms' (see :func:`_settled`) to the problems."""
    kept = []
    for entry in manifest.entries:
        why = _settled(entry)
        if why:
            manifest.problems.append(ManifestProblem(entry.line, f"{entry.display}: {why}"))
        else:
            kept.append(entry)
    manifest.entries[:] = kept


def read_manifest(source: str, manifest_format: str = "auto", data: bytes | None = None) -> Manifest:
    """Read ``source`` (``-`` for bytes given as ``data``) in ``manifest_format`` (``auto`` to detect it).

    A manifest that cannot be read at all comes back with one problem on line 0.
    """
    if data is None:
        try:
            with open(source, "rb") as handle:
                data = handle.read()
        except OSError as err:
            manifest = Manifest(source, manifest_format)
            manifest.problems.append(ManifestProblem(0, f"cannot read manifest: {err.strerror}"))
            return manifest
    chosen = detect_format(source, data) if manifest_format == "auto" else manifest_format
    manifest = Manifest(source, chosen, default_match="basename" if chosen == "ena" else "path")
    READERS[chosen](data, manifest)
    _settle_digests(manifest)
    if not manifest.entries and not manifest.problems:
        manifest.problems.append(ManifestProblem(0, "no checksum lines found"))
    return manifest
