"""Input files, sample ids, sample sheets, and the batches the workflow hashes them in.

A sample id follows ``sample_id`` (:mod:`seqfixity.inputs.illumina`: Illumina's
names, ICA's rule, or the sheet's), and the ``sample`` column of a two-column
sample sheet wins over it. Files under the inputs that no pattern matches are
counted, so that none is left out without a word. Two files with the same id from
different folders are an error that names both, unless the sample sheet
disambiguates them. Batches pack small samples into one job each (at most
``batch_size`` files and ``batch_bytes`` bytes, with content-defined
boundaries), while a sample of at least ``large_bytes`` gets a job of its own;
every file of a sample is in the same batch, because the reports are per sample.
"""

from __future__ import annotations

import csv
import fnmatch
import functools
import hashlib
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from seqfixity.errors import SettingsError
from seqfixity.inputs.illumina import parse_name, sample_id_for
from seqfixity.inputs.sheets import FASTQ_LIST, TSV, Sheet, read_sheets
from seqfixity.remote import is_remote

# FASTQ in every compression seqfixity knows (ORA is hashed, and checked through orad when one is named), and the
# alignments a run may deliver.
DEFAULT_PATTERNS = ("*.fastq", "*.fq", "*.fastq.gz", "*.fq.gz", "*.fastq.bz2", "*.fq.bz2", "*.fastq.zst", "*.fq.zst",
                    "*.fastq.ora", "*.fq.ora", "*.bam", "*.cram")
ALL_FILES = "all"  # patterns: all takes every file of the delivery (Reports/, SampleSheet.csv, InterOp/), recursively
UNMATCHED_SHOWN = 10
_WILDCARD = re.compile(r"\{\s*[.\w]+\s*(,[^{}]*)?\}")  # what Snakemake reads as a wildcard in a path
_SAFE_SAMPLE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9!\-_.*'()+]*$")


class DiscoveryError(SettingsError):
    """Inputs that cannot be turned into samples: duplicates, missing files, bad sample sheet."""


@dataclass(frozen=True)
class InputFile:
    """One input file: its path (as found), its sample id and its size.

    ``present`` is false for a name that cannot be followed to a file (a dangling
    symbolic link): Snakemake cannot take it as an input, but the job still
    reports it, so it lands in the reports as UNREADABLE instead of stopping the run.
    """

    path: str
    sample: str
    size: int
    present: bool = True
    remote: str = ""  # an s3:// or ica:// object: its listed ETag and size ("ETAG SIZE"), streamed by the job


@dataclass
class Batch:
    """Samples hashed by one job."""

    name: str
    files: list[InputFile] = field(default_factory=list)
    large: bool = False

    @property
    def size(self) -> int:
        """Total bytes of the batch's files."""
        return sum(f.size for f in self.files)

    @property
    def paths(self) -> list[str]:
        """The batch's file paths, in sample order."""
        return [f.path for f in self.files]

    @property
    def present(self) -> list[str]:
        """The paths of the batch's local files that exist (what Snakemake can track as inputs)."""
        return [f.path for f in self.files if f.present and not f.remote]

    @property
    def samples(self) -> list[str]:
        """The batch's sample ids, sorted, without repeats."""
        return sorted({f.sample for f in self.files})


def resolve_patterns(patterns: Sequence[str], recursive: bool) -> tuple[tuple[str, ...], bool]:
    """``patterns`` and ``recursive`` as :func:`find_files` takes them: ``all`` is every file, in every subfolder."""
    if list(patterns) == [ALL_FILES]:
        return ("*",), True
    return tuple(patterns), recursive


def find_files(folders: Iterable[str], patterns: Sequence[str] = DEFAULT_PATTERNS,
               recursive: bool = False) -> list[str]:
    """Return the files in ``folders`` (and below them when ``recursive``) matching ``patterns``, sorted.

    Hidden files and folders (a leading ``.``) are left out: transfer tools keep partial copies there
    (``rsync --partial-dir=.rsync-partial``, ``.S1.fastq.gz.XyZ12``), and so do ``.snakemake`` and ``.git``.
    """
    return walk_inputs(folders, patterns, recursive)[0]


def walk_inputs(folders: Iterable[str], patterns: Sequence[str] = DEFAULT_PATTERNS,
                recursive: bool = False) -> tuple[list[str], list[str]]:
    """Return (the files matching ``patterns``, the files that match none), each sorted; see :func:`find_files`."""
    found, unmatched = [], []
    for folder in folders:
        if os.path.isfile(folder):
            raise DiscoveryError(f"{folder}: is a file, not a folder ('inputs' names folders; name single files "
                                 "in a sample sheet, 'samples')")
        if not os.path.isdir(folder):
            raise DiscoveryError(f"{folder}: input folder does not exist")
        for root, subfolders, names in os.walk(folder, onerror=_cannot_list):
            subfolders[:] = sorted(name for name in subfolders if recursive and not name.startswith("."))
            for name in names:
                if not name.startswith("."):
                    matched = any(fnmatch.fnmatchcase(name, p) for p in patterns)
                    (found if matched else unmatched).append(os.path.join(root, name))
    return sorted(found), sorted(unmatched)


def unmatched_summary(unmatched: Sequence[str]) -> dict[str, object]:
    """summary.json's ``unmatched_files``: how many files under the inputs no pattern matched, and the first."""
    return {"count": len(unmatched), "first": list(unmatched[:UNMATCHED_SHOWN])}


def _cannot_list(error: OSError) -> None:
    """A folder that cannot be listed stops discovery: its files must not be left out of the reports unseen."""
    raise DiscoveryError(f"{error.filename}: cannot list folder: {error.strerror} (make it readable, or name the "
                         "folders to take in 'inputs')")


def file_key(path: str) -> str:
    """How a sample sheet's file is matched to an input file: the absolute path, its folder's links resolved.

    So ``data/x.fq`` (an input folder) and ``/run/data/x.fq`` (a sheet) are
    the same file, while a link to ``x.fq`` under another name stays a file of its own.
    """
    folder, name = os.path.split(os.path.abspath(path))
    return os.path.join(_real_folder(folder), name)


@functools.lru_cache(maxsize=4096)
def _real_folder(folder: str) -> str:
    return os.path.realpath(folder)  # once per folder: thousands of files share one, and lstat is slow on NFS


def read_sample_sheet(path: str, files_must_exist: bool = True) -> dict[str, str]:
    """Read a TSV (or CSV) sample sheet with ``sample`` and ``file`` columns; return {normalised path: sample}.

    A byte-order mark (a CSV saved by Excel) is skipped. File paths are relative to the working directory.
    With ``files_must_exist`` a row whose file does not exist is an error; a digest job, which reads only
    some of the files, passes False: a file of another batch that went away is that batch's concern.
    """
    text = Path(path).read_text(encoding="utf-8-sig")  # read_sheet() has read it already, and told its kind
    dialect = "excel-tab" if "\t" in text.split("\n", 1)[0] else "excel"
    rows = list(csv.DictReader(text.splitlines(), dialect=dialect))
    if not rows or not {"sample", "file"} <= set(rows[0]):
        raise DiscoveryError(f"{path}: a sample sheet needs the columns 'sample' and 'file'")
    mapping: dict[str, str] = {}
    seen: dict[str, str] = {}  # file_key: the file as the sheet wrote it
    for number, row in enumerate(rows, start=2):
        sample, file = (row.get("sample") or "").strip(), (row.get("file") or "").strip()
        if not sample or not file:
            raise DiscoveryError(f"{path}: line {number}: empty sample or file")
        if not _SAFE_SAMPLE.match(sample):
            raise DiscoveryError(f"{path}: line {number}: sample id {sample!r} is not a safe file name")
        if files_must_exist and not os.path.isfile(file):
            raise DiscoveryError(f"{path}: line {number}: {file}: no such file")
        key = file_key(file)
        if key in seen:
            also = f" (also as {seen[key]})" if seen[key] != file else ""
            raise DiscoveryError(f"{path}: line {number}: {file} is listed twice{also}")
        seen[key] = file
        mapping[os.path.normpath(file)] = sample
    return mapping


def sheet_samples(sheet: Mapping[str, str]) -> dict[str, str]:
    """Return {:func:`file_key`: sample} for a sheet read by :func:`read_sample_sheet`."""
    return {file_key(path): sample for path, sample in sheet.items()}


class SampleNamer:
    """The sample id of each file: a two-column sheet's ``sample`` first, then ``rule`` (``sheet``: a
    fastq_list.csv's RGSM for the files it lists, then Illumina's names)."""

    def __init__(self, rule: str = "illumina", sheets: Sequence[Sheet] = (), files_must_exist: bool = True) -> None:
        self.rule = rule
        if rule == "sheet" and not sheets:
            raise DiscoveryError("sample_id: sheet needs a sample sheet ('samples': an Illumina SampleSheet, "
                                 "fastq_list.csv or a TSV with sample and file)")
        self.tsv: dict[str, str] = {}
        for sheet in sheets:
            if sheet.kind == TSV:
                self.tsv.update(read_sample_sheet(sheet.path, files_must_exist))
        self.named = sheet_samples(self.tsv)
        self.listed = {name: row.sample for sheet in sheets if sheet.kind == FASTQ_LIST and rule == "sheet"
                       for row in sheet.rows for name in row.files}

    def sample(self, path: str) -> str:
        """The sample id of ``path``; an index read (I1, I2), which fastq_list.csv never lists, takes the sample
        of the R1 (or R2) of its lane and chunk."""
        named = self.named.get(file_key(path)) or self.listed.get(os.path.basename(path))
        if not named and self.listed:
            parsed = parse_name(path)
            if parsed is not None:
                named = self.listed.get(parsed.name(read="R1")) or self.listed.get(parsed.name(read="R2"))
        return named or sample_id_for(path, "ica" if self.rule == "ica" else "illumina")


def discover(folders: Iterable[str] = (), patterns: Sequence[str] = DEFAULT_PATTERNS,
             sample_sheet: str | Sequence[str] = "", recursive: bool = False, sample_rule: str = "illumina",
             unmatched: list[str] | None = None, remote=None) -> list[InputFile]:
    """Return every input file with its sample id and size, sorted by sample then path.

    Files come from ``folders`` (matching ``patterns``; ``all`` for every file) and
    from a two-column sample sheet, whose sample id wins (a file is matched by
    :func:`file_key`, so relative and absolute paths name the same file, and a
    file found twice is taken once); other ids follow ``sample_rule``. Files under
    the folders that no pattern matches are appended to ``unmatched`` when given.
    Raises :class:`DiscoveryError` when one sample id stands for files in two
    folders, naming both, unless the sheet names both files. ``folders`` may
    name s3:// and ica:// locations, listed with ``remote``
    (:class:`~seqfixity.remote.locations.RemoteOptions`; :mod:`seqfixity.inputs.remote`).
    """
    sheets = read_sheets([sample_sheet] if isinstance(sample_sheet, str) else list(sample_sheet)) \
        if sample_sheet else []
    namer = SampleNamer(sample_rule, sheets)
    named = namer.named
    patterns, recursive = resolve_patterns(patterns, recursive)
    folders = list(folders)
    located = {}
    if any(is_remote(folder) for folder in folders):
        from seqfixity.inputs.remote import find_remote
        from seqfixity.remote.locations import RemoteOptions

        remote_found = find_remote([f for f in folders if is_remote(f)], patterns, recursive, remote or RemoteOptions())
        located = {item.url: item for item in remote_found}
    found, left_out = walk_inputs([f for f in folders if not is_remote(f)], patterns, recursive)
    if unmatched is not None:
        unmatched.extend(left_out)
    paths: dict[str, str] = {}
    for path in found:
        paths.setdefault(file_key(path), path)
    for path in namer.tsv:
        paths.setdefault(file_key(path), path)
    for url in located:
        paths[url] = url
    files = []
    first_seen: dict[str, tuple[str, str]] = {}
    names_seen: dict[tuple[str, str], str] = {}
    for key in sorted(paths):
        path = paths[key]
        problem = _untrackable(path)
        if problem:
            shown = os.fsencode(path).decode("utf-8", "backslashreplace")
            raise DiscoveryError(f"{shown}: {problem}, which Snakemake cannot take as an input file; rename it, "
                                 "or hash it with `seqfixity digest`")
        sample = namer.sample(path)
        other, other_key = first_seen.setdefault(sample, (path, key))
        if os.path.dirname(other_key) != os.path.dirname(key) and not (key in named and other_key in named):
            raise DiscoveryError(f"sample id {sample!r} stands for files in two folders: {other} and {path} "
                                 "(rename one, or name both files' samples in a sample sheet)")
        clash = names_seen.setdefault((sample, os.path.basename(path)), path)
        if clash != path:
            raise DiscoveryError(f"sample {sample!r} has two files named {os.path.basename(path)}: {clash} and "
                                 f"{path}; its checksum file names files by their base name")
        if path in located:
            item = located[path]
            files.append(InputFile(path, sample, item.size, remote=f"{item.etag} {item.size}"))
            continue
        try:
            files.append(InputFile(path, sample, os.stat(path).st_size))
        except OSError:  # a dangling link: the digest job reports it
            files.append(InputFile(path, sample, 0, present=False))
    files.sort(key=lambda f: (f.sample, f.path))
    return files


def _untrackable(path: str) -> str:
    """Why Snakemake cannot track ``path`` as an input (its lock file is UTF-8; ``{word}`` is a wildcard), or ""."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes of the name, kept by os.fsdecode as surrogates
        return "file name is not UTF-8 (convmv -f latin1 -t utf8 --notest renames it)"
    if _WILDCARD.search(path):
        return "a name with a {word} in braces reads as a wildcard"
    return ""


def make_batches(files: Sequence[InputFile], batch_size: int = 1000, batch_bytes: int = 4 << 30,
                 large_bytes: int = 4 << 30) -> list[Batch]:
    """Pack whole samples into batches, in sample order; a sample of ``large_bytes`` or more goes alone.

    Batch boundaries are content-defined: a batch of small samples closes
    after a sample whose id hashes to a boundary (one in ``batch_size``), or
    when it holds ``batch_size`` files, or when the next sample would pass
    ``batch_bytes``. A batch is named after a hash of its first sample. So a
    sample added to (or removed from) a run changes only the batch it falls
    in, and Snakemake re-runs that one job, not every job after it. About
    ``batch_size`` x 0.63 files go in a batch on average.
    """
    if batch_size < 1 or batch_bytes < 1:
        raise DiscoveryError("batch_size and batch_bytes must be positive")
    by_sample: dict[str, list[InputFile]] = {}
    for file in files:
        by_sample.setdefault(file.sample, []).append(file)
    batches: list[Batch] = []
    current: Batch | None = None
    current_bytes = 0
    for sample, sample_files in by_sample.items():
        size = sum(f.size for f in sample_files)
        if size >= large_bytes:
            batches.append(Batch(batch_name(sample), list(sample_files), large=True))
            continue
        if current is not None and (len(current.files) + len(sample_files) > batch_size
                                    or current_bytes + size > batch_bytes):
            current = None
        if current is None:
            current = Batch(batch_name(sample))
            current_bytes = 0
            batches.append(current)
        current.files.extend(sample_files)
        current_bytes += size
        if _hash(sample) % batch_size == 0:
            current = None
    return batches


def batch_name(first_sample: str) -> str:
    """The name of the batch that starts with ``first_sample``: ``b`` and 12 hex digits."""
    return f"b{_hash(first_sample):012x}"[:13]


def _hash(sample: str) -> int:
    return int.from_bytes(hashlib.md5(sample.encode("utf-8", "surrogateescape")).digest()[:6], "big")


def config_list(config: Mapping, key: str, default: Sequence[str] = ()) -> list[str]:
    """Return ``config[key]`` as a list of strings (a single string becomes a one-item list)."""
    value = config.get(key, default)
    if value is None:
        return list(default)
    return [value] if isinstance(value, str) else [str(v) for v in value]


def verify_root(config: Mapping) -> str:
    """Return the local folder to verify against ``verify_against``: ``verify_root``, else the first input."""
    inputs = config_list(config, "inputs")
    root = config.get("verify_root") or (inputs[0] if inputs else "")
    if not config.get("verify_against") or not root:
        raise SettingsError("set verify_against (s3://..., ica://... or an export file) and verify_root "
                            "(or inputs) in config.yaml to verify against a remote")
    return root
