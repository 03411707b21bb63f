"""A BCL Convert-style delivery made for the tests: samples over two lanes with R1, R2 and I1, Undetermined,
Reports/fastq_list.csv, SampleSheet v1 and v2, and FASTQ compressed by the real gzip, bzip2 and zstd, plus
a .fastq.ora stand-in (ORA has no open encoder: its bytes are a marker and gzip, which the stand-in orad
of :func:`write_fake_orad` decodes).

File names follow the BCL Convert Software Guide: {sample}_S{n}_L{lane:03}_{R1|R2|I1}_001.fastq.gz.
"""

from __future__ import annotations

import gzip
import subprocess
import sys
import zlib
from pathlib import Path

from test_fastq import fastq_bytes

LANES = (1, 2)
READS = ("R1", "R2", "I1")
# sample: (S number, compression of its files)
SAMPLES = {"A": (1, "gz"), "B": (2, "gz"), "C": (3, "bz2"), "D": (4, "zst"), "E": (5, "ora")}
CLUSTERS = 60
ORA_MARKER = b"ORA stand-in\n"


def fastq(sample: str, lane: int, read: str, clusters: int = CLUSTERS) -> bytes:
    """The FASTQ of one read of one lane: index reads are 8 letters, the others 50."""
    seed = zlib.crc32(f"{sample} {lane} {read}".encode())
    return fastq_bytes(clusters, seed=seed, length=8 if read.startswith("I") else 50)


def compress(data: bytes, kind: str, path: Path) -> None:
    """Write ``data`` to ``path`` compressed by the real tool (gzip, bzip2, zstd), or as the ORA stand-in."""
    if kind == "ora":
        path.write_bytes(ORA_MARKER + gzip.compress(data, mtime=0))
        return
    command = {"gz": ["gzip", "-n", "-c"], "bz2": ["bzip2", "-c"], "zst": ["zstd", "-q", "-c"]}[kind]
    path.write_bytes(subprocess.run(command, input=data, capture_output=True, check=True).stdout)


def name(sample: str, lane: int, read: str) -> str:
    """The BCL Convert name of one file of the delivery."""
    number, kind = SAMPLES.get(sample, (0, "gz"))
    return f"{sample}_S{number}_L{lane:03d}_{read}_001.fastq.{kind}"


def make_delivery(root: Path) -> Path:
    """Write the delivery under ``root/run``; return that folder."""
    run = root / "run"
    (run / "Reports").mkdir(parents=True)
    for sample in [*SAMPLES, "Undetermined"]:
        kind = SAMPLES.get(sample, (0, "gz"))[1]
        for lane in LANES:
            for read in READS:
                compress(fastq(sample, lane, read), kind, run / name(sample, lane, read))
    rows = ["RGID,RGSM,RGLB,Lane,Read1File,Read2File"]
    for sample in SAMPLES:
        for lane in LANES:
            rows.append(f"{sample}.{lane},{sample},UnknownLibrary,{lane},/staging/out/{name(sample, lane, 'R1')},"
                        f"/staging/out/{name(sample, lane, 'R2')}")
    (run / "Reports" / "fastq_list.csv").write_text("\n".join(rows) + "\n")
    (run / "Reports" / "Demultiplex_Stats.csv").write_text("Lane,SampleID\n1,A\n")
    (run / "SampleSheet.csv").write_text(sheet_v2(lanes=True))
    (run / "RunInfo.xml").write_text("<RunInfo/>\n")
    return run


def sheet_v2(lanes: bool = True, samples: tuple[str, ...] = tuple(SAMPLES)) -> str:
    """A SampleSheet v2 for the delivery (BCL Convert: [BCLConvert_Data], index FASTQs asked for)."""
    head = ("[Header]\nFileFormatVersion,2\nRunName,test\n\n[Reads]\nRead1Cycles,50\nRead2Cycles,50\n"
            "Index1Cycles,8\n\n[BCLConvert_Settings]\nCreateFastqForIndexReads,1\n\n[BCLConvert_Data]\n")
    if lanes:
        rows = "".join(f"{lane},{sample},ACGTACGT\n" for sample in samples for lane in LANES)
        return head + "Lane,Sample_ID,index\n" + rows
    return head + "Sample_ID,index\n" + "".join(f"{sample},ACGTACGT\n" for sample in samples)


def sheet_v1(samples: tuple[str, ...] = tuple(SAMPLES)) -> str:
    """A SampleSheet v1 ([Data], with Lane) for the delivery."""
    rows = "".join(f"{lane},{sample},{sample},ACGTACGT\n" for sample in samples for lane in LANES)
    return ("[Header]\nIEMFileVersion,4\n\n[Reads]\n50\n50\n\n[Settings]\n\n[Data]\n"
            "Lane,Sample_ID,Sample_Name,index\n" + rows)


def write_fake_orad(folder: Path) -> Path:
    """A stand-in for Illumina's orad: ``orad --raw --stdout -`` decodes the ORA stand-in on standard input."""
    script = folder / "orad"
    script.write_text(f"""#!{sys.executable}
import gzip, sys
assert sys.argv[-3:] == ["--raw", "--stdout", "-"], sys.argv
data = sys.stdin.buffer.read()
if not data.startswith({ORA_MARKER!r}):
    sys.exit("orad: not an ORA file")
sys.stdout.buffer.write(gzip.decompress(data[len({ORA_MARKER!r}):]))
""")
    script.chmod(0o755)
    return script
