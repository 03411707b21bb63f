"""Render ``main.nf`` and ``nextflow.config`` from the templates next to this module."""

from __future__ import annotations

import string
from importlib import resources

from seqfixity.compute import ICA_PRESETS
from seqfixity.inputs.illumina import ILLUMINA_NAME, SEQUENCE_NAME
from seqfixity.pipeline_defs.form import Parameter
from seqfixity.settings import Settings

PRESET_ANNOTATION = "scheduler.illumina.com/presetSize"
INDENT = "    "
DEFAULT_JOBS = 2
# The sample sheets a process stages under sheets/1/, sheets/2/, ... (`stageAs: 'sheets/?/*'`, so that two sheets
# of the same name do not collide), as `--samples SHEET` each: the shell finds them, as Nextflow hands a process one
# path, a list of them or none. Nextflow's own `$` is escaped (`\$`): these are the shell's variables.
SHEET_LINES = [
    "sheet_flags=()",
    "for sheet in sheets/*/*; do",
    f'{INDENT}if [ -e "\\$sheet" ]; then sheet_flags+=(--samples "\\$sheet"); fi',
    "done",
]
SHEET_FLAGS = '"\\${sheet_flags[@]}"'


class _Template(string.Template):
    """``@name`` placeholders: Groovy and shell already use ``$``."""

    delimiter = "@"


def groovy_string(value: str) -> str:
    """Return ``value`` as a single-quoted Groovy string literal (no interpolation)."""
    escaped = value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\r", "\\r")
    return f"'{escaped}'"


def compute_directives(settings: Settings) -> list[str]:
    """The compute directives of every process: ICA's pod preset annotation, or cpus and memory (never both)."""
    preset = settings.ica_preset
    if preset is not None:
        return [f"pod annotation: {groovy_string(PRESET_ANNOTATION)}, value: {groovy_string(preset)}"]
    return [f"cpus {settings.compute_cpus}", f"memory '{settings.compute_memory // (1 << 20)} MB'"]


def jobs(settings: Settings) -> int:
    """Files ``seqfixity digest`` reads at once: the CPUs of the chosen compute."""
    cpus = ICA_PRESETS[settings.ica_preset][0] if settings.ica_preset else settings.compute_cpus
    return cpus or DEFAULT_JOBS


def digest_script(parameters: list[Parameter], settings: Settings) -> list[str]:
    """The shell lines of the per-sample process: ``seqfixity digest`` with the staged sample sheets and one flag
    per parameter.

    A parameter without a default may be left empty in ICA's form; its flag is then left out by the shell
    (``${var:+...}``), so seqfixity uses the preset's value.
    """
    command = f"seqfixity digest ${{reads}} --outdir . {SHEET_FLAGS} --jobs {jobs(settings)}"
    return SHEET_LINES + _with_parameters(command, parameters)


def aggregate_script(parameters: list[Parameter]) -> list[str]:
    """The shell lines of the aggregate process: ``seqfixity aggregate`` with the staged sample sheets (an
    Illumina sheet's MISSING and EXTRA rows) and the digest's flags, so that report.html, the XLSX and
    summary.json show the settings that shaped the digests."""
    command = f"seqfixity aggregate records/*.jsonl --outdir . {SHEET_FLAGS} --path-style name"
    return SHEET_LINES + _with_parameters(command, parameters)


def samples_script(parameters: list[Parameter]) -> list[str]:
    """The shell lines of the process that names the samples when sample sheets are given: ``seqfixity samples``
    over the staged inputs, with the sheets and the sample-id rule, into ``samples.tsv``."""
    rule = next(p for p in parameters if p.code == "sample_id")
    command = f"seqfixity samples ${{inputs}} {SHEET_FLAGS} --output samples.tsv"
    return SHEET_LINES + _with_parameters(command, [rule])


def _with_parameters(command: str, parameters: list[Parameter]) -> list[str]:
    """``command`` and one flag per parameter, an optional parameter's only when it is not empty."""
    optional = [p for p in parameters if p.optional]
    lines = [f"{p.code}=${{shq(params.{p.code})}}" for p in optional]
    flags = [f"{p.flag} ${{shq(params.{p.code})}}" for p in parameters if not p.optional]
    flags += [f'\\${{{p.code}:+{p.flag} "\\${p.code}"}}' for p in optional]
    lines.append(f"{command} \\\\")
    lines += [f"{INDENT}{flag} \\\\" for flag in flags[:-1]] + [f"{INDENT}{flags[-1]}"]
    return lines


def render_main(name: str, parameters: list[Parameter], settings: Settings, version: str) -> str:
    """Return the text of ``main.nf``."""
    return _render("main.nf", {
        "name": name,
        "version": version,
        "container": settings.container,
        "compute": "\n".join(INDENT + line for line in compute_directives(settings)),
        "digest_script": "\n".join(INDENT + line for line in digest_script(parameters, settings)),
        "aggregate_script": "\n".join(INDENT + line for line in aggregate_script(parameters)),
        "samples_script": "\n".join(INDENT + line for line in samples_script(parameters)),
        "illumina_name": groovy_string(ILLUMINA_NAME),
        "sequence_name": groovy_string(SEQUENCE_NAME),
    })


def render_config(name: str, parameters: list[Parameter], version: str) -> str:
    """Return the text of ``nextflow.config``: manifest, params with their defaults, ``docker.enabled``."""
    width = max(len(p.code) for p in parameters)
    lines = [f"{INDENT}{p.code.ljust(width)} = {groovy_string(p.default or '')}" for p in parameters]
    return _render("nextflow.config", {"name": name, "version": version, "params": "\n".join(lines)})


def _render(template: str, values: dict[str, str]) -> str:
    text = resources.files(__package__).joinpath("templates", template).read_text(encoding="utf-8")
    return _Template(text).substitute(values)
