"""Options and helpers that several subcommands share."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterable, Iterator

from seqfixity.atomic import output_error
from seqfixity.engine.etag import PRESETS
from seqfixity.engine.hashes import DIGEST_KINDS
from seqfixity.errors import SettingsError, did_you_mean
from seqfixity.settings import Settings, parse_digest_list
from seqfixity.units import SizeError, parse_size

EXIT_BITS = {
    1: "content mismatch",
    2: "size mismatch",
    4: "missing (no such file, or expected and not found)",
    8: "extra (present but not expected)",
    16: "unreadable (not a regular file, read error, changed while read)",
    32: "unverifiable (nothing comparable, e.g. a non-MD5 ETag)",
    64: "manifest or listing error",
    128: "usage error (bad arguments or settings) or an output that cannot be written",
}


def exit_codes_help(bits: Iterable[int] = EXIT_BITS, meanings: dict[int, str] | None = None) -> str:
    """The ``exit status`` block of a command's --help: exactly the ``bits`` it can set, with their meaning
    (``meanings`` says it in the command's own words where they differ)."""
    meanings = {**EXIT_BITS, **(meanings or {})}
    lines = [f"  {bit:<4} {meanings[bit]}" for bit in sorted(bits)]
    return "exit status (a bitmask; add the numbers):\n  0    every file was judged OK\n" + "\n".join(lines) + "\n"


EXIT_CODES_HELP = exit_codes_help() + "each command's --help lists the bits it sets.\n"


STOPPED_HELP = """\
stopped (Ctrl-C, kill, scancel): exit 130 after SIGINT, 143 after SIGTERM (not a
bitmask). The run stops within a second; its last line is STOPPED: N of M judged;
--report is written with outcome STOPPED, the verdicts reached and the files not
yet judged ("not_judged"); nothing partial is left. A second signal ends it at once.
"""


def say(message: str) -> None:
    """Print ``seqfixity: message`` on stderr, on one line (a line break in a file name is shown as ``\\n``).

    A stderr that cannot be written (a file on a full disk) does not turn the message into a traceback and
    the exit status into 1: the message is lost, the status stays (``--log`` keeps messages where they can
    be read).
    """
    message = message.replace("\n", "\\n").replace("\r", "\\r")
    with contextlib.suppress(OSError):
        print(f"seqfixity: {message}", file=sys.stderr, flush=True)


def add_log_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--log FILE``: messages go there, and to stderr as well when the command fails or FILE cannot be
    written (what the workflow's rules use instead of ``2> FILE``, which hid everything on a full disk)."""
    parser.add_argument("--log", metavar="FILE",
                        help="write messages to FILE; they also go to stderr when the command fails or FILE "
                             "cannot be written (e.g. a full disk)")


def stdout_name() -> str:
    """``standard output``, with the file it goes to when the system says (``/proc/self/fd/1``)."""
    try:
        target = os.readlink("/proc/self/fd/1")
    except OSError:
        return "standard output"
    return f"standard output ({target})" if target.startswith("/") else "standard output"


@contextlib.contextmanager
def stdout_errors() -> Iterator[None]:
    """Turn a failed write to stdout (no file name in the error: a full disk, a quota) into an
    :class:`OutputError` that names it; a closed pipe stays a :class:`BrokenPipeError`."""
    try:
        yield
    except BrokenPipeError:
        raise
    except OSError as err:
        if err.filename is not None:
            raise
        raise output_error(stdout_name(), err) from None


def size_argument(text: str) -> int:
    """argparse type for byte sizes such as ``8MiB``, ``16MB`` (also 16 MiB), ``15728640``."""
    try:
        return parse_size(text)
    except SizeError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def digest_argument(text: str) -> tuple[str, ...]:
    """argparse type for ``md5,etag,xxh128``."""
    names = parse_digest_list(text)
    unknown = [n for n in names if n not in DIGEST_KINDS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown digest {unknown[0]!r} ({did_you_mean(unknown[0], DIGEST_KINDS)}"
                                         f"choose from {', '.join(DIGEST_KINDS)})")
    return names


def add_settings_options(parser: argparse.ArgumentParser, digests: bool = True) -> None:
    """Add ``--config``, ``--etag-preset``, ``--part-size``, ``--threshold`` and (when ``digests``) ``--digests``.

    Commands that choose their digests themselves (``check`` computes what each
    manifest names) pass ``digests=False`` so they do not offer a flag they ignore.
    """
    group = parser.add_argument_group("digests and ETag layout" if digests else "ETag layout")
    group.add_argument("--config", metavar="YAML",
                       help="read settings from this file (as config/config.yaml); flags override it; a key "
                            "config/schema.yaml does not list is an error")
    group.add_argument("--etag-preset", choices=list(PRESETS), default=None,
                       help="uploader whose multipart rule to follow (default: ica, or the config's)")
    group.add_argument("--part-size", type=size_argument, metavar="SIZE",
                       help="multipart part size, e.g. 8MiB, 16M, 5Mi, 15728640 (overrides the preset); K, M, G "
                            "with or without B, i or iB mean powers of 1024, as in aws-cli, rclone and s3cmd "
                            "(16MB = 16MiB)")
    group.add_argument("--threshold", type=size_argument, metavar="SIZE",
                       help="files at least this big get a multipart ETag (overrides the preset)")
    if digests:
        group.add_argument("--digests", type=digest_argument, metavar="LIST",
                           help=f"comma-separated digests to compute: {', '.join(DIGEST_KINDS)} "
                                "(default: md5,etag,xxh128)")


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Build :class:`Settings` from ``--config`` plus the flags given on the command line."""
    base = Settings.from_yaml(args.config) if getattr(args, "config", None) else Settings()
    return base.with_overrides(
        etag_preset=args.etag_preset, part_size=args.part_size, threshold=args.threshold,
        digests=getattr(args, "digests", None),
    )


def expand_paths(paths: Iterable[str], recursive: bool) -> Iterator[str]:
    """Yield ``paths``, replacing each directory by the files below it when ``recursive``.

    Files inside a directory come in sorted order. Anything that is not a
    directory is passed through for the engine to judge (and report).
    """
    for path in paths:
        if recursive and os.path.isdir(path):
            for folder, subfolders, files in os.walk(path, onerror=_report_walk_error):
                subfolders.sort()
                for name in sorted(files):
                    yield os.path.join(folder, name)
        else:
            yield path


def _report_walk_error(error: OSError) -> None:
    say(f"{error.filename}: cannot list folder: {error.strerror}")


class UsageError(SettingsError):
    """Arguments that do not fit together."""
