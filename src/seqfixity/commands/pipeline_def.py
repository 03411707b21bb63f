"""``seqfixity pipeline-def``: write the Nextflow pipeline and ICA input form, or check a form or a pipeline."""

from __future__ import annotations

import argparse
import glob
import os
from dataclasses import dataclass

from seqfixity.commands.common import UsageError, say
from seqfixity.settings import Settings

EXAMPLES = """\
examples:
  seqfixity pipeline-def --config config/config.yaml -o pipeline_defs/seqfixity
      main.nf, nextflow.config and seqfixity.xml for ICA, from the workflow's settings
  seqfixity pipeline-def --config config/config.yaml --name fastq-md5 -o /tmp/fastq-md5
      the same pipeline under another name (fastq-md5.xml, pipeline code fastq-md5)
  seqfixity pipeline-def --check my-form.xml other-form.xml
      judge ICA input forms as ICA does; each finding as FILE:LINE: message
  seqfixity pipeline-def --check pipeline_defs/seqfixity/main.nf pipeline_defs/seqfixity/seqfixity.xml
  seqfixity pipeline-def --check pipeline_defs/seqfixity
      also judge the pipeline with its form (main.nf, nextflow.config beside it, and the form, or a folder
      holding them): form codes against params, a container and compute per process, results under out

what --check reports:
  errors     what ICA cannot load or a run cannot use: not well-formed XML, elements outside the form's
             namespace, a parameter without exactly one type, repeated codes, a default that does not fit
             its type or options; a form parameter that main.nf never reads, a process without a container
  warnings   what ICA loads but a pipeline cannot use well (FILE:LINE: warning: ...): codes that are not
             plain identifiers, the legacy BlueBee namespace, a data input nothing reads, a process
             without compute settings
  accepted   what public forms that run on ICA do: an empty or missing pipeline code, no version, empty
             labels and descriptions, an empty <pd:value/> (no default), the unprefixed namespace form

config keys read besides the digest settings (etag_preset, part_size, threshold, digests, validate, naming,
sample_id: illumina, ica or sheet, which become the form's parameters and their defaults; the form also has
the inputs in, the FASTQ files, and samples, optional sample sheets):
  compute_preset                   ICA pod preset size of every process (default standard-small), or
  compute_cpus + compute_memory    cpus/memory directives instead (e.g. 4 and 16GiB); never both
  container_image + container_tag  the image built from the Dockerfile, as a full reference ICA can pull
                                   (registry/namespace/name; tag default: the seqfixity version); a name
                                   without a registry is written as given, with a warning

exit status:
  0    files written, or everything checked is valid (warnings allowed, unless --strict)
  1    --check: errors found (or warnings, with --strict); each on stderr
  4    --check: a file cannot be read, or a folder lacks main.nf or a form
  128  usage error (bad arguments or settings)
  130, 143  stopped by SIGINT (Ctrl-C) or SIGTERM (kill, scancel), within one chunk of a read; nothing
            partial is written (not a bitmask)
"""


@dataclass(frozen=True)
class _Target:
    """One form to check, and the pipeline it goes with (None: the form alone)."""

    form: str
    main_nf: str | None = None
    config: str | None = None


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``pipeline-def`` subcommand."""
    parser = subparsers.add_parser(
        "pipeline-def",
        help="generate the Nextflow pipeline and ICA XML input form; check ICA forms and pipelines",
        description="Write main.nf (Nextflow DSL2, for ICA's Nextflow 24.10 and 25.10), nextflow.config and "
                    "NAME.xml (the ICA input form) from the same settings as the Snakemake workflow, so both "
                    "write the same reports. With --check, judge ICA input forms, or a pipeline with its form, "
                    "instead.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", metavar="YAML",
                        help="settings file (as config/config.yaml; a key config/schema.yaml does not list is an "
                             "error); default: built-in")
    parser.add_argument("--name", default=None, help="pipeline name and code (default: seqfixity)")
    parser.add_argument("-o", "--outdir", metavar="DIR", help="where to write (default: pipeline_defs/NAME)")
    parser.add_argument("--check", nargs="+", metavar="PATH",
                        help="judge these ICA input forms (FORM.xml), or a pipeline with its form (main.nf "
                             "FORM.xml, or a folder holding both); nothing is written")
    parser.add_argument("--strict", action="store_true", help="with --check: warnings fail too (exit 1)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Generate the pipeline definition, or check forms and pipelines; return the exit status."""
    if args.check:
        if args.config or args.name or args.outdir:
            raise UsageError("--check takes only forms, main.nf and folders (no --config, --name or -o)")
        return check(args.check, strict=args.strict)
    if args.strict:
        raise UsageError("--strict goes with --check")
    from seqfixity.compute import missing_registry_warning
    from seqfixity.pipeline_defs import DEFAULT_NAME, generate

    settings = Settings.from_yaml(args.config) if args.config else Settings()
    name = args.name or DEFAULT_NAME
    for path in generate(settings, args.outdir or os.path.join("pipeline_defs", name), name):
        print(path)
    warning = missing_registry_warning(settings.container_image)
    if warning:
        say(f"warning: {warning}")
    return 0


def check(paths: list[str], strict: bool = False) -> int:
    """Check each form (with its pipeline, if given); print findings as ``seqfixity: FILE:LINE: ...``.

    Returns the exit status: 1 for errors (or warnings when ``strict``), 4 for what cannot be read.
    """
    targets, code = _targets(paths)
    texts: dict[str, str | None] = {}
    for target in targets:
        code |= _check_target(target, strict, texts)
    return code


def _targets(paths: list[str]) -> tuple[list[_Target], int]:
    """The forms to check and their pipelines, from ``--check`` arguments; and 4 if a folder lacks a file."""
    folders = [path for path in paths if os.path.isdir(path)]
    scripts = [path for path in paths if path.endswith(".nf") and path not in folders]
    forms = [path for path in paths if path not in folders and path not in scripts]
    if len(scripts) > 1:
        raise UsageError("--check takes one main.nf with its form (or folders, each holding main.nf and a form)")
    if scripts and not forms:
        raise UsageError(f"{scripts[0]}: give its input form too: --check {scripts[0]} FORM.xml")
    targets = [_pipeline_target(form, scripts[0]) if scripts else _Target(form) for form in forms]
    code = 0
    for folder in folders:
        main_nf = os.path.join(folder, "main.nf")
        folder_forms = sorted(glob.glob(os.path.join(glob.escape(folder), "*.xml")))
        if not os.path.isfile(main_nf):
            say(f"{folder}: no main.nf in this folder (give main.nf and the form, or only the form)")
            code |= 4
        elif not folder_forms:
            say(f"{folder}: no input form (*.xml) in this folder")
            code |= 4
        targets += [_pipeline_target(form, main_nf) for form in folder_forms]
    return targets, code


def _pipeline_target(form: str, main_nf: str) -> _Target:
    config = os.path.join(os.path.dirname(main_nf), "nextflow.config")
    return _Target(form, main_nf, config if os.path.isfile(config) else None)


def _read(path: str, texts: dict[str, str | None]) -> str | None:
    """The text of ``path`` (cached), or None after saying why it cannot be read."""
    if path not in texts:
        try:
            with open(path, "rb") as handle:
                texts[path] = handle.read().decode("utf-8", errors="replace")
        except OSError as err:
            say(f"{path}: cannot read: {err.strerror}")
            texts[path] = None
    return texts[path]


def _check_target(target: _Target, strict: bool, texts: dict[str, str | None]) -> int:
    from seqfixity.pipeline_defs.check import check_form
    from seqfixity.pipeline_defs.nextflow_check import Finding, SourceFile, check_pipeline

    try:
        with open(target.form, "rb") as handle:
            data = handle.read()
    except OSError as err:
        say(f"{target.form}: cannot read: {err.strerror}")
        return 4
    findings = [Finding(target.form, problem) for problem in check_form(data)]
    unreadable = False
    if target.main_nf is not None:
        main_text = _read(target.main_nf, texts)
        config_text = _read(target.config, texts) if target.config else None
        unreadable = main_text is None or (target.config is not None and config_text is None)
        if not unreadable:
            config = SourceFile(target.config, config_text) if target.config and config_text is not None else None
            found = check_pipeline(SourceFile(target.main_nf, main_text), config,
                                   SourceFile(target.form, data.decode("utf-8", errors="replace")), form_data=data)
            findings += sorted(found, key=lambda f: (f.path != target.form, f.path, f.problem.line))
    for finding in findings:
        say(finding.problem.format(finding.path))
    errors = sum(not finding.problem.warning for finding in findings)
    warnings = len(findings) - errors
    if errors or (strict and warnings) or unreadable:
        return (1 if errors or (strict and warnings) else 0) | (4 if unreadable else 0)
    what = f"{target.main_nf} with {target.form}: valid ICA pipeline" if target.main_nf else \
        f"{target.form}: valid ICA input form"
    print(what + (f" ({warnings} warning{'s' if warnings > 1 else ''})" if warnings else ""))
    return 0
