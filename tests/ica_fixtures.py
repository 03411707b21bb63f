"""A small ICA project for the verify tests: local files, and the ProjectData ICA would list for them.

ETags are computed here with hashlib, independently of seqfixity's ETag code:
the MD5 below ICA's 16 MB note, else md5(part md5s) + "-N".
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path
from typing import Any

MiB = 1024 * 1024
PROJECT = "b1c2d3e4-0000-4000-8000-0123456789ab"


def s3_etag(data: bytes, part_size: int | None) -> str:
    """The ETag S3 gives ``data`` uploaded in one request (``part_size`` None) or in parts."""
    if part_size is None:
        return hashlib.md5(data).hexdigest()
    parts = [hashlib.md5(data[i:i + part_size]).digest() for i in range(0, len(data), part_size)]
    return f"{hashlib.md5(b''.join(parts)).hexdigest()}-{len(parts)}"


# name -> (size, part size of the upload or None, status)
FILES: dict[str, tuple[int, int | None, str]] = {
    "S1_R1.fastq.gz": (11 * MiB + 5, 5 * MiB, "AVAILABLE"),
    "S1_R2.fastq.gz": (8 * MiB + 1, 8 * MiB, "AVAILABLE"),
    "S2_R1.fastq.gz": (1000, None, "AVAILABLE"),
    "S2_R2.fastq.gz": (2000, None, "AVAILABLE"),
    "S3_R1.fastq.gz": (3000, None, "ARCHIVED"),
    "S3_R2.fastq.gz": (4000, None, "AVAILABLE"),
}

# What verify must say once make_local has corrupted S2_R2, left out S3_R2 and added S9.
EXPECTED = {
    "S1_R1.fastq.gz": "OK", "S1_R2.fastq.gz": "OK", "S2_R1.fastq.gz": "OK", "S2_R2.fastq.gz": "MISMATCH",
    "S3_R1.fastq.gz": "UNVERIFIABLE", "S3_R2.fastq.gz": "MISSING_LOCAL", "S9_R1.fastq.gz": "MISSING_REMOTE",
}
PART_SIZES = {"S1_R1.fastq.gz": 5 * MiB, "S1_R2.fastq.gz": 8 * MiB}


def contents(name: str) -> bytes:
    """The bytes ICA holds for ``name``."""
    size = FILES[name][0]
    return random.Random(name).randbytes(size)


def project_data(folder: str = "/fastq/") -> list[dict[str, Any]]:
    """ProjectData items as ``GET /projects/{id}/data`` returns them, a folder item first."""
    items = [{"projectId": PROJECT, "data": {
        "id": "fol.0001", "urn": f"urn:ilmn:ica:region:x:data:fol.0001#{folder}",
        "details": {"name": folder.strip("/"), "path": folder, "dataType": "FOLDER", "status": "AVAILABLE"}}}]
    for index, (name, (_size, part_size, status)) in enumerate(sorted(FILES.items()), 1):
        data = contents(name)
        items.append({"projectId": PROJECT, "data": {
            "id": f"fil.{index:04d}", "urn": f"urn:ilmn:ica:region:x:data:fil.{index:04d}#{folder}{name}",
            "details": {
                "timeCreated": "2026-11-01T10:00:00Z", "timeModified": "2026-11-01T10:00:00Z",
                "owner": "u", "name": name, "path": f"{folder}{name}", "fileSizeInBytes": len(data),
                "status": status, "format": {"code": "FASTQ"}, "dataType": "FILE",
                "objectETag": s3_etag(data, part_size), "region": {"code": "EU"}, "tags": {},
            }}})
    return items


def make_local(root: Path) -> Path:
    """Write the local copies: S2_R2 corrupted (same size), S3_R2 never downloaded, S9_R1 only local."""
    root.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        if name != "S3_R2.fastq.gz":
            (root / name).write_bytes(contents(name))
    damaged = bytearray(contents("S2_R2.fastq.gz"))
    damaged[100] ^= 1
    (root / "S2_R2.fastq.gz").write_bytes(bytes(damaged))
    (root / "S9_R1.fastq.gz").write_bytes(b"local only")
    return root
