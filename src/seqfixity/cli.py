"""The ``seqfixity`` command: a thin layer that parses arguments and calls the library."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from seqfixity import __version__
from seqfixity.commands import aggregate as aggregate_command
from seqfixity.commands import check as check_command
from seqfixity.commands import digest as digest_command
from seqfixity.commands import etag as etag_command
from seqfixity.commands import hash as hash_command
from seqfixity.commands import pipeline_def as pipeline_def_command
from seqfixity.commands import verify as verify_command
from seqfixity.commands.common import EXIT_CODES_HELP, say
from seqfixity.errors import SeqfixityError
from seqfixity.verdict import USAGE_ERROR_EXIT

COMMANDS = (hash_command, etag_command, check_command, verify_command, digest_command, aggregate_command,
            pipeline_def_command)


class _Parser(argparse.ArgumentParser):
    """argparse that exits with seqfixity's usage-error code, not 2 (a verdict bit here)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        say(f"{message} (see: {self.prog} --help)")
        raise SystemExit(USAGE_ERROR_EXIT)


def build_parser() -> argparse.ArgumentParser:
    """Return the parser with every subcommand registered."""
    parser = _Parser(
        prog="seqfixity",
        description="Prove sequencing data arrived intact: MD5, S3/ICA multipart ETags and fast "
                    "hashes in one read per file; checks against manifests, S3 and ICA.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"seqfixity {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                       parser_class=_Parser)
    for command in COMMANDS:
        command.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except SeqfixityError as err:
        say(str(err))
        return USAGE_ERROR_EXIT
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    except BrokenPipeError:
        return 141
