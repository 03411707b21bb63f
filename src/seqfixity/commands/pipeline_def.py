"""``seqfixity pipeline-def``: write the Nextflow pipeline and ICA input form, or check any ICA form."""

from __future__ import annotations

import argparse
import os

from seqfixity.commands.common import UsageError, say
from seqfixity.settings import Settings

EXAMPLES = """\
examples:
  seqfixity pipeline-def --config config/config.yaml -o pipeline_defs/seqfixity
      main.nf, nextflow.config and seqfixity.xml for ICA, from the workflow's settings
  seqfixity pipeline-def --config config/config.yaml --name fastq-md5 -o /tmp/fastq-md5
      the same pipeline under another name (fastq-md5.xml, pipeline code fastq-md5)
  seqfixity pipeline-def --check pipeline_defs/seqfixity/seqfixity.xml other-form.xml
      validate ICA input forms; each problem as FILE:LINE: message

config keys read besides the digest settings (etag_preset, part_size, threshold, digests, validate, naming,
which become the form's parameters and their defaults):
  compute_preset                   ICA pod preset size of every process (default standard-small), or
  compute_cpus + compute_memory    cpus/memory directives instead (e.g. 4 and 16GiB); never both
  container_image + container_tag  the image built from the Dockerfile (default seqfixity:VERSION)

exit status:
  0    files written, or every form checked is valid
  1    --check: a form has problems (listed on stderr)
  4    --check: a form cannot be read
  128  usage error (bad arguments or settings)
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``pipeline-def`` subcommand."""
    parser = subparsers.add_parser(
        "pipeline-def",
        help="generate the Nextflow pipeline and ICA XML input form; check ICA forms",
        description="Write main.nf (Nextflow DSL2, for ICA's Nextflow 24.10 and 25.10), nextflow.config and "
                    "NAME.xml (the ICA input form) from the same settings as the Snakemake workflow, so both "
                    "write the same reports. With --check, validate ICA input forms instead.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", metavar="YAML", help="settings file (as config/config.yaml); default: built-in")
    parser.add_argument("--name", default=None, help="pipeline name and code (default: seqfixity)")
    parser.add_argument("-o", "--outdir", metavar="DIR", help="where to write (default: pipeline_defs/NAME)")
    parser.add_argument("--check", nargs="+", metavar="FILE.xml", help="validate these ICA input forms")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Generate the pipeline definition, or check forms; return the exit status."""
    if args.check:
        if args.config or args.name or args.outdir:
            raise UsageError("--check takes only form files (no --config, --name or -o)")
        return check(args.check)
    from seqfixity.pipeline_defs import DEFAULT_NAME, generate

    settings = Settings.from_yaml(args.config) if args.config else Settings()
    name = args.name or DEFAULT_NAME
    for path in generate(settings, args.outdir or os.path.join("pipeline_defs", name), name):
        print(path)
    return 0


def check(paths: list[str]) -> int:
    """Check each form; print its problems as ``seqfixity: FILE:LINE: message``; return the exit status."""
    from seqfixity.pipeline_defs.check import check_form

    code = 0
    for path in paths:
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError as err:
            say(f"{path}: cannot read: {err.strerror}")
            code |= 4
            continue
        problems = check_form(data)
        for problem in problems:
            say(problem.format(path))
        if problems:
            code |= 1
        else:
            print(f"{path}: valid ICA input form")
    return code
