"""The ``seqfixity`` command: a thin layer that parses arguments and calls the library."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from seqfixity import __version__
from seqfixity.commands.common import EXIT_CODES_HELP, say, stdout_errors
from seqfixity.errors import SeqfixityError, did_you_mean
from seqfixity.joblog import JobLog
from seqfixity.stopping import Stopped, stoppable
from seqfixity.verdict import USAGE_ERROR_EXIT

# Subcommand -> the module that registers it. Only the module of the subcommand given is imported, so
# `seqfixity hash` starts without loading what check, verify or the workflow need (start-up time counts
# against md5sum on every file).
COMMANDS = {
    "hash": "seqfixity.commands.hash",
    "etag": "seqfixity.commands.etag",
    "check": "seqfixity.commands.check",
    "verify": "seqfixity.commands.verify",
    "digest": "seqfixity.commands.digest",
    "aggregate": "seqfixity.commands.aggregate",
    "samples": "seqfixity.commands.samples",
    "pipeline-def": "seqfixity.commands.pipeline_def",
}


class _Version(argparse.Action):
    """``--version``: the version and the MD5 backend (which compiled path runs, or hashlib)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs) -> None:
        super().__init__(option_strings, dest, nargs=0, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        from seqfixity.engine import lanes

        print(f"seqfixity {__version__}\n{lanes.describe()}")
        parser.exit()


class _Parser(argparse.ArgumentParser):
    """argparse that exits with seqfixity's usage-error code, not 2 (a verdict bit here)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        say(f"{message} (see: {self.prog} --help)")
        raise SystemExit(USAGE_ERROR_EXIT)

    def _check_value(self, action: argparse.Action, value: object) -> None:
        """A value outside the choices (a subcommand, --format, a preset) is refused with the closest choice."""
        if action.choices is None or value in action.choices:
            return
        choices = [str(choice) for choice in action.choices]
        raise argparse.ArgumentError(action, f"invalid choice: {value!r} ({did_you_mean(value, choices)}choose from "
                                             f"{', '.join(choices)})")


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """Return the parser: with only the subcommand ``argv`` starts with, else with every subcommand."""
    parser = _Parser(
        prog="seqfixity",
        description="Prove sequencing data arrived intact: MD5, S3/ICA multipart ETags and fast "
                    "hashes in one read per file; checks against manifests, S3 and ICA.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action=_Version, help="show the version and the MD5 backend in use, and exit")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                       parser_class=_Parser)
    chosen = [COMMANDS[argv[0]]] if argv and argv[0] in COMMANDS else COMMANDS.values()
    for module in chosen:
        importlib.import_module(module).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(argv).parse_args(argv)
    if not getattr(args, "log", None):
        return _run(args)
    log = sys.stderr = JobLog(args.log, sys.stderr)
    code = USAGE_ERROR_EXIT
    try:
        code = _run(args)
    finally:
        sys.stderr = log.terminal
        log.close(failed=code != 0)
    return code


def _run(args: argparse.Namespace) -> int:
    """Run the parsed command; turn what it raises into one line and an exit status.

    SIGINT and SIGTERM stop it (:mod:`seqfixity.stopping`): check, verify and hash end with STOPPED and what they
    reached; any other command stops within one chunk of its reads, writes nothing partial and exits 130 or 143.
    """
    try:
        from seqfixity.engine import lanes

        lanes.backend()  # a forced backend this machine lacks is one line before any work starts
        with stoppable():
            code = args.run(args)
        with stdout_errors():
            sys.stdout.flush()  # a full disk under a redirected stdout shows here, not as an ignored exception
        return code
    except SeqfixityError as err:
        say(str(err))
        return USAGE_ERROR_EXIT
    except Stopped as stopped:
        say(f"stopped by {stopped.signal_name}")
        return stopped.exit_status
    except KeyboardInterrupt:  # Ctrl-C outside the command itself (while writing its last output)
        say("interrupted")
        return 130
    except BrokenPipeError:
        return 141
    except OSError as err:  # one line, not a traceback, for what the commands did not foresee
        say(f"{os.fsdecode(err.filename)}: {err.strerror}" if err.filename else str(err))
        return USAGE_ERROR_EXIT
