"""Judge a Nextflow pipeline for ICA together with its input form: ``main.nf`` (+ ``nextflow.config``) + form.

What ICA's help on Nextflow pipelines (https://help.ica.illumina.com/project/p-flow/f-pipelines/pi-nextflow)
and on the XML input form (.../pi-inputform) make a pipeline depend on:

- every data input and parameter of the form arrives as ``params.<code>``: a parameter that neither file
  mentions is an error (the setting reaches nothing), a data input a warning (ICA still stages its files,
  which keng404's ``input_files`` and ``project_dir`` inputs rely on); a param that neither the form nor a
  default sets is null on ICA: an error when a process reads it, a warning when only the workflow does
  (which may test for it); one that a process reads with a default but that the form leaves out is a
  warning (ICA users cannot change it);
- every process runs in a container (x86-64, public or uploaded to ICA's Docker repository): none is an error;
- compute is ICA's pod preset annotation (``scheduler.illumina.com/presetSize``, one of ICA's compute
  types) or ``cpus``/``memory``, never both in one process (ICA's words); an unknown preset is an error,
  neither is a warning (ICA then uses standard-small, 2 CPUs and 8 GB);
- ICA keeps what the pipeline publishes under ``out``: a ``publishDir`` elsewhere is an error, a
  pipeline that publishes nothing under ``out`` a warning.

Directives count where Nextflow reads them: the process itself, and the ``process`` scope of
``nextflow.config`` (and of the configs it includes) with its ``withLabel:``/``withName:`` selectors.
Local modules that main.nf includes (and that they include) are read too: their params and processes
count as main.nf's.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from xml.parsers import expat

from seqfixity.compute import ICA_PRESETS
from seqfixity.pipeline_defs.check import Problem, form_codes
from seqfixity.pipeline_defs.nextflow import PRESET_ANNOTATION
from seqfixity.pipeline_defs.nextflow_source import Source, Statement, named_argument, string_literals

PUBLISH_ROOT = "out"
DEFAULT_OUTPUT_DIR = "results"  # Nextflow's outputDir when the config does not set it
_PLACEHOLDER = "<value>"  # a path part only known when the task runs
_INCLUDE = re.compile(r"\binclude\s*\{[^}]*\}\s*from\s*['\"]([^'\"]+)['\"]")
_LABELS = ("input", "output", "when", "script", "shell", "exec", "stub")


@dataclass(frozen=True)
class SourceFile:
    """A file of the pipeline: the path to show in messages and its text."""

    path: str
    text: str


@dataclass(frozen=True)
class Finding:
    """A problem and the file it is in."""

    path: str
    problem: Problem


@dataclass
class Directives:
    """The directives that reach one process, from the process and the config's process scope."""

    container: list[str] = field(default_factory=list)
    presets: list[str | None] = field(default_factory=list)
    resources: list[str] = field(default_factory=list)
    publish: list[tuple[str | None, int, str]] = field(default_factory=list)

    def add(self, statement: Statement, path: str, config: bool) -> None:
        """Take one directive statement (``name value`` in a process, ``name = value`` in a config)."""
        rest = statement.rest.strip()
        if config and not rest.startswith("="):
            return
        rest = rest.removeprefix("=").strip()  # old scripts also write `cpus = 4` in a process
        name = statement.word.rsplit(".", 1)[-1]
        if name == "container":
            self.container.append(rest)
        elif name == "pod" and PRESET_ANNOTATION in rest:
            value = named_argument(rest, "value")
            self.presets.append(None if value is None or "$" in value else value)
        elif name in ("cpus", "memory"):
            self.resources.append(name)
        elif name == "publishDir":
            self.publish.append((_publish_path(rest), statement.line, path))


@dataclass(frozen=True)
class _Process:
    name: str
    line: int
    start: int
    end: int
    labels: tuple[str, ...]
    directives: Directives
    path: str = ""


def included_modules(main_nf: SourceFile) -> list[SourceFile]:
    """The local files ``main_nf`` includes (``include { X } from './modules/x'``), and theirs, each once.

    A path is found as Nextflow finds it: the file, the file with ``.nf``, or the folder's ``main.nf``
    (https://www.nextflow.io/docs/latest/module.html#module-inclusion); plugin and unreadable ones are skipped.
    """
    found: dict[str, SourceFile] = {}
    pending = [main_nf]
    while pending:
        source = pending.pop()
        folder = os.path.dirname(source.path)
        for target in _INCLUDE.findall(Source(source.text).code):
            if target.startswith("plugin/"):
                continue
            base = os.path.normpath(os.path.join(folder, target))
            for candidate in (base, f"{base}.nf", os.path.join(base, "main.nf")):
                if os.path.isfile(candidate):
                    key = os.path.realpath(candidate)
                    if key not in found and key != os.path.realpath(main_nf.path):
                        try:
                            with open(candidate, encoding="utf-8") as handle:
                                found[key] = SourceFile(candidate, handle.read())
                        except (OSError, UnicodeDecodeError):
                            break
                        pending.append(found[key])
                    break
    return list(found.values())


def included_configs(config: SourceFile, main_nf: SourceFile) -> list[SourceFile]:
    """The config files ``config`` includes at its top level (``includeConfig 'conf/base.config'``), and
    theirs, each once: as Nextflow reads them, relative to the including file, ``$projectDir`` (and
    ``$baseDir``) being main.nf's folder (https://www.nextflow.io/docs/latest/config.html#config-includes).
    Includes inside ``profiles`` (not active unless chosen), remote and unreadable ones are left out."""
    project = os.path.dirname(main_nf.path) or "."
    found: dict[str, SourceFile] = {os.path.realpath(config.path): config}
    pending = [config]
    while pending:
        current = pending.pop(0)
        source = Source(current.text)
        for statement in source.statements(0, len(source.text)):
            if statement.word != "includeConfig":
                continue
            literals = string_literals(statement.rest)
            if len(literals) != 1:
                continue
            target = re.sub(r"\$\{?(?:projectDir|baseDir)\}?", lambda _m: project, literals[0])
            if "://" in target or "$" in target:
                continue
            path = os.path.normpath(os.path.join(os.path.dirname(current.path), target))
            if os.path.realpath(path) in found or not os.path.isfile(path):
                continue
            try:
                with open(path, encoding="utf-8") as handle:
                    included = SourceFile(path, handle.read())
            except (OSError, UnicodeDecodeError):
                continue
            found[os.path.realpath(path)] = included
            pending.append(included)
    return list(found.values())[1:]


def check_pipeline(main_nf: SourceFile, config: SourceFile | None, form: SourceFile,
                   modules: list[SourceFile] | None = None, form_data: bytes | None = None) -> list[Finding]:
    """Every problem of the pipeline with its form (the form's own faults are :func:`check.check_form`'s).

    ``modules`` are the files main.nf includes (default: :func:`included_modules`, read from disk): their
    params and processes count as main.nf's do. ``form_data`` is the form's bytes as read (in whatever
    encoding its XML declaration names), parsed instead of ``form.text``."""
    script = Source(main_nf.text)
    configs = [(item, Source(item.text)) for item in ([config, *included_configs(config, main_nf)] if config else [])]
    findings: list[Finding] = []
    try:
        codes = form_codes(form.text.encode() if form_data is None else form_data)
    except expat.ExpatError:
        return findings  # check_form reports it
    modules = included_modules(main_nf) if modules is None else modules
    module_sources = [(module, Source(module.text)) for module in modules]
    defaults = _declared_params(script)
    for _module, source in module_sources:
        defaults = {**_declared_params(source), **defaults}
    for _item, settings in configs:
        defaults.update(_declared_params(settings))
    mentioned = {name for name, _line in script.params()}
    for _module, source in module_sources:
        mentioned |= {name for name, _line in source.params()}
    for _item, settings in configs:
        mentioned |= {name for name, _line in settings.params()}
    in_form = {code.code for code in codes}
    for code in codes:
        if code.code in mentioned:
            continue
        files = main_nf.path + (f" or {config.path}" if config else "")
        if code.data_input:  # its files are still staged, as keng404's input_files and project_dir rely on
            findings.append(Finding(form.path, Problem(
                code.line, f"data input {code.code!r} is not a param of {files}: ICA stages its files, but nothing "
                           f"reads params.{code.code}", warning=True)))
        else:
            findings.append(Finding(form.path, Problem(
                code.line, f"parameter {code.code!r} is not a param of {files}: ICA sets params.{code.code} and "
                           "nothing reads it")))
    processes = _processes(script, main_nf.path, configs)
    findings += _read_param_findings(script, processes, in_form, defaults, main_nf.path)
    for module, source in module_sources:
        own = _processes(source, module.path, configs)
        findings += _read_param_findings(source, own, in_form, defaults, module.path)
        processes += own
    outputs = _workflow_outputs(script, configs, defaults, main_nf.path)
    findings += outputs[1]
    findings += _process_findings(processes, main_nf.path, defaults, published=outputs[0])
    return findings


def _workflow_outputs(script: Source, configs: list[tuple[SourceFile, Source]], defaults: dict[str, str | None],
                      path: str) -> tuple[bool, list[Finding]]:
    """Whether workflow outputs (a top-level ``output { }`` block) publish under ``out``, and the findings.

    Nextflow's workflow outputs (https://www.nextflow.io/docs/latest/workflow.html#workflow-outputs) publish
    below ``outputDir``, the config option, ``results`` by default
    (https://www.nextflow.io/docs/latest/reference/config.html#outputdir); ICA keeps only ``out``.
    """
    block = next((b for b in script.blocks() if b.head == "output"), None)
    if block is None:
        return False, []
    target, line, where = DEFAULT_OUTPUT_DIR, block.line, path
    for item, settings in configs:
        for statement in settings.statements(0, len(settings.text)):
            if statement.word == "outputDir" and statement.rest.lstrip().startswith("="):
                value = statement.rest.lstrip()[1:].strip()
                param = re.fullmatch(r"params\.(\w+)", value)
                target = f"params.{param.group(1)}" if param else _literal(value)
                line, where = statement.line, item.path
    resolved = _resolve(target, defaults)
    if resolved is None or _under_out(resolved):
        return resolved is not None, []
    shown = f"outputDir {resolved!r}" + (" (Nextflow's default)" if where == path else "")
    return False, [Finding(where, Problem(line, f"workflow outputs go to {shown}: ICA keeps only what is published "
                                                f"under {PUBLISH_ROOT!r} (set outputDir = '{PUBLISH_ROOT}' in "
                                                "nextflow.config)"))]


def _read_param_findings(script: Source, processes: list[_Process], in_form: set[str],
                         defaults: dict[str, str | None], path: str) -> list[Finding]:
    """Params main.nf reads that the form does not set: null on ICA without a default, fixed with one.

    A process that reads a null param puts ``null`` into its command: an error. Workflow code often tests
    whether a param is set, so a null param read only there is a warning.
    """
    in_process = {(name, line) for process in processes for name, line in script.params(process.start, process.end)}
    reads: dict[str, list[tuple[int, bool]]] = {}
    for name, line in script.params():
        reads.setdefault(name, []).append((line, (name, line) in in_process))
    findings = []
    for name, occurrences in reads.items():
        if name in in_form:
            continue
        line, by_process = next(((line, True) for line, inside in occurrences if inside), (occurrences[0][0], False))
        reader = "a process" if by_process else "the workflow"
        if name not in defaults:
            findings.append(Finding(path, Problem(
                line, f"params.{name} is read by {reader} but neither the form nor a default sets it: it is null on "
                      f"ICA (add a parameter or data input {name!r} to the form, or a default to nextflow.config)",
                warning=not by_process)))
        elif by_process:
            findings.append(Finding(path, Problem(
                line, f"params.{name} is read by a process but is not in the form: ICA users cannot change it "
                      "from its default", warning=True)))
    return findings


def _process_findings(processes: list[_Process], main_path: str, defaults: dict[str, str | None],
                      published: bool = False) -> list[Finding]:
    findings = []
    for process in processes:
        found = process.directives
        where = f"process {process.name}"
        path = process.path or main_path
        if not found.container:
            findings.append(Finding(path, Problem(
                process.line, f"{where} has no container: ICA runs every task in one (set container in the process "
                              "or in the process scope of nextflow.config)")))
        for preset in found.presets:
            if preset is None or preset in ICA_PRESETS:
                continue
            fpga2 = preset.startswith("fpga2-")
            findings.append(Finding(path, Problem(
                process.line, f"{where}: pod preset {preset!r} is not one of ICA's compute types "
                              f"({', '.join(ICA_PRESETS)})" + ("; fpga2 sizes exist only on some accounts"
                                                              if fpga2 else ""), warning=fpga2)))
        if found.presets and found.resources:
            findings.append(Finding(path, Problem(
                process.line, f"{where} sets both ICA's pod preset annotation and {'/'.join(found.resources)}: "
                              "ICA says to use one or the other in a process")))
        elif not found.presets and not found.resources:
            findings.append(Finding(path, Problem(
                process.line, f"{where} sets neither ICA's pod preset annotation ({PRESET_ANNOTATION}) nor "
                              "cpus/memory: ICA runs it on standard-small (2 CPUs, 8 GB)", warning=True)))
        for target, line, where_set in found.publish:
            resolved = _resolve(target, defaults)
            if resolved is None:
                continue
            if _under_out(resolved):
                published = True
            else:
                findings.append(Finding(where_set, Problem(
                    line, f"{where} publishes to {resolved!r}: ICA keeps only what is published under "
                          f"{PUBLISH_ROOT!r} (publishDir '{PUBLISH_ROOT}' or '{PUBLISH_ROOT}/...')")))
    if processes and not published:
        findings.append(Finding(processes[0].path or main_path, Problem(
            processes[0].line, f"no process publishes under {PUBLISH_ROOT!r}: ICA keeps only what is published "
                               "there, so the run would leave no results", warning=True)))
    return findings


def _processes(script: Source, path: str, configs: list[tuple[SourceFile, Source]]) -> list[_Process]:
    """Each ``process NAME`` of main.nf with the directives that reach it."""
    found = []
    for block in script.blocks():
        words = block.head.split()
        if len(words) != 2 or words[0] != "process":
            continue
        directives = Directives()
        labels = []
        for statement in _directive_statements(script, block.body_start, block.end):
            directives.add(statement, path, config=False)
            if statement.word == "label":
                labels += string_literals(statement.rest)[:1]
        found.append(_Process(words[1], block.line, block.body_start, block.end, tuple(labels), directives, path))
    for item, settings in configs:
        for process in found:
            for statement in _config_directives(settings, process.name, process.labels):
                process.directives.add(statement, item.path, config=True)
    return found


def _directive_statements(script: Source, start: int, end: int) -> list[Statement]:
    """A process's directives: its statements before the first ``input:``, ``output:``, ``script:``... label."""
    found = []
    for statement in script.statements(start, end):
        if statement.word in _LABELS and statement.rest.lstrip().startswith(":"):
            break
        found.append(statement)
    return found


def _config_directives(settings: Source, name: str, labels: tuple[str, ...]) -> list[Statement]:
    """The ``process`` scope assignments of a config that apply to the process ``name`` with ``labels``."""
    found = [statement for statement in settings.statements(0, len(settings.text))
             if statement.word.startswith("process.") and statement.word.count(".") == 1]
    for block in settings.blocks():
        if block.head != "process":
            continue
        found += settings.statements(block.body_start, block.end)
        for selector in settings.blocks(block.body_start, block.end):
            match = re.fullmatch(r"(withName|withLabel)\s*:\s*(.+)", selector.head)
            if not match:
                continue
            targets = (name,) if match.group(1) == "withName" else labels
            if any(_selects(match.group(2), target) for target in targets):
                found += settings.statements(selector.body_start, selector.end)
    return found


def _selects(selector: str, target: str) -> bool:
    """Whether a ``withName:``/``withLabel:`` selector (a name, a quoted regex, ``!`` to negate) picks ``target``.

    A process is also known by its fully qualified name, the workflows that call it first
    (``NFCORE_RNASEQ:RNASEQ:FASTQC``; https://www.nextflow.io/docs/latest/config.html#process-selectors), which
    this check does not trace: a selector of that form (``.*:FASTQC``) is taken by its last part."""
    selector = selector.strip()
    negate = selector.startswith("!")
    selector = selector.lstrip("!").strip().strip("'\"")
    candidates = [selector] + ([selector.rsplit(":", 1)[1]] if ":" in selector.replace("(?:", "") else [])
    matched = False
    for pattern in candidates:
        try:
            matched = matched or re.fullmatch(pattern, target) is not None
        except re.error:
            matched = matched or pattern == target
    return matched != negate


def _declared_params(source: Source) -> dict[str, str | None]:
    """Params given a default: ``params.NAME = value`` at the top, or ``NAME = value`` in a ``params`` block.

    The value is the default's string literal, None when it is not one (a number, null, an expression).
    """
    found: dict[str, str | None] = {}
    for statement in source.statements(0, len(source.text)):
        if statement.word.startswith("params.") and statement.rest.lstrip().startswith("="):
            found[statement.word.split(".", 1)[1]] = _literal(statement.rest.lstrip()[1:])
    for block in source.blocks():
        if block.head == "params":
            for statement in source.statements(block.body_start, block.end):
                value = re.match(r"\s*(?::\s*[\w<>, ]+)?=(.*)", statement.rest)
                if value:
                    found[statement.word] = _literal(value.group(1))
    return found


def _literal(text: str) -> str | None:
    text = text.strip()
    strings = string_literals(text)
    return strings[0] if len(strings) == 1 and text[1:-1] == strings[0] else None


def _publish_path(arguments: str) -> str | None:
    """The path a ``publishDir`` names: a string, ``params.NAME``, or None when it is an expression we cannot read."""
    named = named_argument(arguments, "path")
    if named is not None:
        return named
    closure = re.search(r"\bpath\s*:\s*\{\s*('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")\s*\}", arguments)
    if closure:  # path: { "out/${task.process}" }, a closure Nextflow calls per task
        return closure.group(1)[1:-1]
    named_param = re.search(r"\bpath\s*:\s*(params\.\w+)", arguments)
    if named_param:
        return named_param.group(1)
    first = re.match(r"\[?\s*('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|params\.\w+)", arguments)
    if not first:
        return None
    token = first.group(1)
    return token if token.startswith("params.") else token[1:-1]


def _resolve(target: str | None, defaults: dict[str, str | None]) -> str | None:
    """A publish path with ``params.NAME`` (alone or as ``${params.NAME}``) replaced by its default; None: unknown."""
    if target is None:
        return None
    if target.startswith("params."):
        return defaults.get(target.split(".", 1)[1])

    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        default = defaults.get(name)
        if default is None:
            raise LookupError(name)
        return default

    try:
        resolved = re.sub(r"\$\{\s*params\.(\w+)\s*\}|\$params\.(\w+)", value, target)
    except LookupError:
        return None
    if "$" not in resolved:
        return resolved
    # A task's own value (``out/${sample}``) after whole literal folders: those folders decide, so keep them
    # and a placeholder; before any whole folder it is unknown.
    folders = resolved[:resolved.index("$")].rpartition("/")[0]
    return f"{folders}/{_PLACEHOLDER}" if folders.strip("./") else None


def _under_out(path: str) -> bool:
    """Whether ``path`` stays under ``out`` once ``.`` and ``..`` are applied (``out/../x`` does not)."""
    if path.startswith("/"):
        return False
    parts: list[str] = []
    for part in path.split("/"):
        if part == "..":
            if not parts:
                return False
            parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    return bool(parts) and parts[0] == PUBLISH_ROOT
