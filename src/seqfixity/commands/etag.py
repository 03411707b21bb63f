"""``seqfixity etag``: infer the part size behind an ETag, or list the uploader presets."""

from __future__ import annotations

import argparse

from seqfixity.commands.common import say, size_argument
from seqfixity.engine.etag import MAX_GUESS_CANDIDATES, PRESETS, EtagError, ImpossibleEtag, parse_etag, resolve_layout
from seqfixity.engine.guess import guess_part_size
from seqfixity.errors import InputError
from seqfixity.units import format_size
from seqfixity.verdict import USAGE_ERROR_EXIT, Verdict

GUESS_EPILOG = """\
The ETag of a multipart upload is md5(md5(part 1) + ... + md5(part N)) + "-N".
N fixes a range of possible part sizes (within S3's limits: at most 10,000
parts of 5 MiB to 5 GiB); seqfixity tries the likeliest first, across the
whole range: every uploader preset's rule, powers of two MiB, round MiB and MB
sizes, then the rest, all in one read (each candidate is a lane of the
multi-lane MD5 core).

examples:
  seqfixity etag guess sample.fastq.gz 3b5d5c3712955042212316173ccf37be-12
  seqfixity etag guess --max-candidates 64 sample.fastq.gz 3b5d...-12
  seqfixity etag presets 5GiB

exit status: 0 the ETag was reproduced; 1 no candidate reproduced it;
4 missing file; 16 unreadable file; 32 an ETag S3 cannot produce for this
file's size (not from an S3 multipart upload); 128 usage error (e.g. not an
MD5-based ETag); 130, 143 stopped by SIGINT (Ctrl-C) or SIGTERM (kill).
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``etag`` subcommand group."""
    parser = subparsers.add_parser("etag", help="infer an ETag's part size; list uploader presets",
                                   description="Work with S3/ICA multipart ETags.")
    actions = parser.add_subparsers(dest="etag_action", required=True, metavar="ACTION")
    guess = actions.add_parser(
        "guess", help="find the part size that reproduces an existing ETag",
        description="Find the part size(s) that reproduce an ETag copied from S3 or ICA (objectETag).",
        epilog=GUESS_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    guess.add_argument("file", help="the local copy of the object")
    guess.add_argument("etag", help="the remote ETag, e.g. 3b5d...37be-12 (quotes are fine)")
    guess.add_argument("--max-candidates", type=int, default=MAX_GUESS_CANDIDATES,
                       help=f"part sizes to try in the one read (default: {MAX_GUESS_CANDIDATES}); "
                            "each costs about one MD5 of the file")
    guess.set_defaults(run=run_guess)
    presets = actions.add_parser("presets", help="show each uploader's threshold, part size and source",
                                 description="Show each preset's rule, and its layout for a given size.")
    presets.add_argument("size", nargs="?", type=size_argument,
                         help="also show the part layout for a file of this size (e.g. 5GiB)")
    presets.set_defaults(run=run_presets)


def run_guess(args: argparse.Namespace) -> int:
    """Print the matching part size, or say that none matched and what was tried."""
    try:
        etag = parse_etag(args.etag)
        result = guess_part_size(args.file, etag, limit=max(1, args.max_candidates))
    except InputError as err:
        say(str(err))
        return Verdict.MISSING.bit if err.missing else Verdict.UNREADABLE.bit
    except ImpossibleEtag as err:
        print(f"{args.file}: ETag {args.etag.strip().strip(chr(34))}: {err}")
        return Verdict.UNVERIFIABLE.bit
    except EtagError as err:
        say(f"{args.file}: {err}")
        return USAGE_ERROR_EXIT
    if not etag.multipart:
        if result.found:
            print(f"{args.file}: plain ETag equals the file's MD5 (a single-part upload)")
            return 0
        print(f"{args.file}: no match: ETag {etag} is not the file's MD5 ({result.md5}); "
              "the file differs, or the object was encrypted (SSE-KMS/SSE-C)")
        return 1
    low, high = result.admissible or (0, 0)
    if result.found:
        sizes = ", ".join(f"{format_size(p)} ({p} bytes)" for p in result.matched)
        print(f"{args.file}: ETag {etag} reproduced with part size {sizes}")
        return 0
    tried = ", ".join(format_size(p) for p in result.tried)
    more = result.candidates_in_range - len(result.tried)
    print(f"{args.file}: no candidate reproduced ETag {etag}; {etag.parts} parts means a part size "
          f"from {low} to {high} bytes within S3's limits; tried {tried}"
          + (f" ({more} more in range: raise --max-candidates)" if more > 0 else "")
          + "; the file differs from the uploaded object, or it was uploaded with another part size or with "
            "parts of different sizes")
    return 1


def run_presets(args: argparse.Namespace) -> int:
    """Print one line per preset, with the layout for ``size`` when given."""
    size = args.size
    for preset in PRESETS.values():
        line = (f"{preset.name:11} multipart from {format_size(preset.threshold):>9}, "
                f"parts {format_size(preset.part_size):>6}")
        if size is not None:
            try:
                layout = resolve_layout(size, preset.name)
                line += (f"  -> {layout.parts} parts of {format_size(layout.part_size)}" if layout.multipart
                         else "  -> single part (ETag = MD5)")
            except EtagError as err:
                line += f"  -> {err}"
        print(f"{line}\n            {preset.source}")
    return 0
