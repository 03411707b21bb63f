"""seqfixity_mqc.tsv: a MultiQC custom-content table, one row per sample, that carries its own configuration.

The YAML in its ``#`` header names the section and describes it, gives each column a title, a description
and a number format, shows sizes in one binary unit chosen for the run (the raw bytes are a hidden column)
with as many decimals (up to three) as the smallest non-empty sample needs not to show as 0, and colours
every status: OK green, each failing status red (MultiQC's ``pass`` and ``fail`` colours), so a failure is
as plain in MultiQC's report as a success.
"""

from __future__ import annotations

from typing import Any

import yaml

from seqfixity.reports.failures import SEVERITY

SIZE_UNITS = (("TiB", 1024**4), ("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024), ("B", 1))
READ_ORDER = ("R1", "R2", "R3", "I1", "I2")
DESCRIPTION = ("MD5, S3/ICA multipart ETag and FASTQ validation of every file, by seqfixity. A sample fails when "
               "any of its files is missing, unreadable or invalid FASTQ, or when R1 and R2 disagree on the read "
               "count. Every file is in seqfixity.tsv.")


def size_unit(largest: int) -> tuple[str, int]:
    """The binary unit in which ``largest`` bytes is at least 1 (bytes for 0)."""
    return next((unit, factor) for unit, factor in SIZE_UNITS if largest >= factor or factor == 1)


def size_decimals(sizes: list[int], factor: int, most: int = 3) -> int:
    """Decimals for sizes in a unit of ``factor`` bytes: one, or as many (up to ``most``) as the smallest
    non-empty sample needs not to show as 0 (a 2 MiB sample cut short beside 100 GiB ones is 0.002 GiB)."""
    if factor == 1:
        return 0
    smallest = min((size for size in sizes if size), default=0)
    for decimals in range(1, most + 1):
        if round(smallest / factor, decimals) > 0 or not smallest:
            return decimals
    return most


def _status_rules(failing: tuple[str, ...]) -> dict[str, Any]:
    return {"cond_formatting_rules": {"pass": [{"s_eq": "OK"}], "fail": [{"s_eq": status} for status in failing]},
            "cond_formatting_colours": [{"pass": "#5cb85c"}, {"fail": "#d9534f"}]}


def multiqc_bytes(summary: dict[str, Any]) -> bytes:
    """The custom-content file for ``summary`` (summary.json's content)."""
    samples = summary["samples"]["verdicts"]
    unit, factor = size_unit(max((entry["bytes"] for entry in samples.values()), default=0))
    decimals = size_decimals([entry["bytes"] for entry in samples.values()], factor)
    reads = sorted({read for entry in samples.values() for read in entry.get("reads_by_read") or {}},
                   key=lambda read: (READ_ORDER.index(read) if read in READ_ORDER else len(READ_ORDER), read))
    counted = "clusters" if any("clusters" in entry for entry in samples.values()) else "reads"
    pairs = any("pairs" in entry for entry in samples.values())
    count = {"format": "{:,.0f}", "scale": False, "min": 0}
    headers: dict[str, dict[str, Any]] = {
        "verdict": {"title": "Verdict", "description": "OK, or the worst status of the sample's files: MISSING, "
                    "UNREADABLE, INVALID (FASTQ), PAIR_MISMATCH (a lane's R1/R2/I1/I2 read counts differ), EXTRA "
                    "(no sample sheet row explains it) or NAMING",
                    "scale": False, **_status_rules(SEVERITY)},
        "files": {"title": "Files", "description": "files of the sample", **count},
        counted: {"title": "Clusters" if counted == "clusters" else "Reads",
                  "description": "clusters: the reads of R1" if counted == "clusters" else
                  "reads in the sample's files", **count},
    }
    for read in reads:
        headers[f"reads_{read}"] = {"title": f"{read} reads", "description": f"reads in the {read} files", **count}
    if pairs:
        headers["pairs"] = {"title": "Pair check", "description": "OK when R1, R2 and index reads agree on the read "
                            "count, else the problem", "scale": False,
                            "cond_formatting_rules": {"pass": [{"s_eq": "OK"}], "fail": [{"s_ne": "OK"}]},
                            "cond_formatting_colours": [{"pass": "#5cb85c"}, {"fail": "#d9534f"}]}
    headers["size"] = {"title": f"Size ({unit})", "description": f"bytes of the sample's files, in {unit}",
                       "format": f"{{:,.{decimals}f}}", "suffix": f" {unit}", "min": 0,
                       "scale": "Blues"}
    headers["bytes"] = {"title": "Bytes", "description": "bytes of the sample's files, exactly", "hidden": True,
                        **count}
    config = {
        "id": "seqfixity", "section_name": "seqfixity: checksums and FASTQ integrity", "description": DESCRIPTION,
        "plot_type": "table",
        "pconfig": {"id": "seqfixity_table", "namespace": "seqfixity", "title": "seqfixity: verdict per sample"},
        "headers": headers,
    }
    text = yaml.safe_dump(config, sort_keys=False, allow_unicode=True, width=1000)
    header = "".join(f"# {line}\n" for line in text.splitlines())
    lines = ["\t".join(["Sample", *headers]) + "\n"]
    for name, entry in sorted(samples.items()):
        by_read = entry.get("reads_by_read") or {}
        values: dict[str, Any] = {"verdict": entry["verdict"], "files": entry["files"],
                                  counted: entry.get(counted, entry.get("reads")),
                                  **{f"reads_{read}": by_read.get(read) for read in reads},
                                  "pairs": entry.get("pairs"), "size": entry["bytes"] / factor, "bytes": entry["bytes"]}
        cells = [_cell(values.get(column)) for column in headers]
        lines.append("\t".join([_cell(name), *cells]) + "\n")
    return (header + "".join(lines)).encode("utf-8", "surrogateescape")


def _cell(value: object) -> str:
    """One TSV cell: blank for None, sizes rounded to what the format shows, tabs and line breaks as spaces."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3f}"
    return " ".join(str(value).split("\t")).replace("\n", " ").replace("\r", " ")
