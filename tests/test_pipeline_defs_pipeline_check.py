"""``seqfixity pipeline-def --check main.nf FORM.xml``: a pipeline judged with its form, at the right lines."""

from __future__ import annotations

import shutil

import pytest

from conftest import REPO, run_cli
from seqfixity.pipeline_defs import render
from seqfixity.settings import Settings

FILES = {name: data.decode() for name, data in render(Settings()).items()}
MAIN, CONFIG, FORM = FILES["main.nf"], FILES["nextflow.config"], FILES["seqfixity.xml"]
CONTAINER = "    container 'seqfixity:0.1.0'\n"
PRESET = "    pod annotation: 'scheduler.illumina.com/presetSize', value: 'standard-small'\n"


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """The 1-based line of the nth occurrence of ``needle``."""
    position = -1
    for _ in range(nth):
        position = text.index(needle, position + 1)
    return text.count("\n", 0, position) + 1


def replace_nth(text: str, old: str, new: str, nth: int = 1) -> str:
    """``text`` with the nth occurrence of ``old`` replaced by ``new``."""
    position = -1
    for _ in range(nth):
        position = text.index(old, position + 1)
    return text[:position] + new + text[position + len(old):]


def write_pipeline(folder, main: str = MAIN, config: str | None = CONFIG, form: str = FORM):
    """Write main.nf, nextflow.config (unless None) and seqfixity.xml into ``folder``; return their paths."""
    folder.mkdir(exist_ok=True)
    (folder / "main.nf").write_text(main)
    if config is not None:
        (folder / "nextflow.config").write_text(config)
    (folder / "seqfixity.xml").write_text(form)
    return folder / "main.nf", folder / "nextflow.config", folder / "seqfixity.xml"


def check(*paths, strict: bool = False):
    done = run_cli("pipeline-def", *(["--strict"] if strict else []), "--check", *paths)
    return done.returncode, done.stdout.decode(), done.stderr.decode().splitlines()


def test_the_generated_and_committed_pairs_pass_even_strictly(tmp_path):
    main, _config, form = write_pipeline(tmp_path / "generated")
    assert check(main, form, strict=True) == (0, f"{main} with {form}: valid ICA pipeline\n", [])
    committed = REPO / "pipeline_defs" / "seqfixity"
    code, out, err = check(committed / "main.nf", committed / "seqfixity.xml", strict=True)
    assert (code, err) == (0, []) and out.endswith("valid ICA pipeline\n")
    folder = check(committed, strict=True)
    assert folder == (0, f"{committed / 'main.nf'} with {committed / 'seqfixity.xml'}: valid ICA pipeline\n", [])


def test_a_hand_broken_pair_fails_at_the_right_lines(tmp_path):
    main_text = replace_nth(MAIN, CONTAINER, "", 2)  # DIGEST (after SAMPLES) loses its container
    form_text = FORM.replace('code="naming"', 'code="nameing"')  # a form code no param reads
    main, _config, form = write_pipeline(tmp_path, main_text, CONFIG, form_text)
    code, out, err = check(main, form)
    assert code == 1 and out == ""
    form_line = line_of(form_text, 'code="nameing"')
    assert err == [
        f"seqfixity: {form}:{form_line}: parameter 'nameing' is not a param of {main} "
        f"or {tmp_path / 'nextflow.config'}: ICA sets params.nameing and nothing reads it",
        f"seqfixity: {main}:{line_of(main_text, 'process DIGEST {')}: process DIGEST has no container: ICA runs "
        "every task in one (set container in the process or in the process scope of nextflow.config)",
        f"seqfixity: {main}:{line_of(main_text, 'params.naming')}: warning: params.naming is read by a process but "
        "is not in the form: ICA users cannot change it from its default",
    ]
    assert check(tmp_path)[0] == 1  # the folder holding them: the same verdict


# (name, main.nf, nextflow.config, form, (file, marker in that file, nth) the finding is at, words, warning)
BROKEN = [
    ("a param with no default and not in the form",
     replace_nth(MAIN, "params.naming)}", "params.naming_mode)}", 2), CONFIG, FORM,  # the aggregate's
     ("main.nf", "params.naming_mode", 1),
     "params.naming_mode is read by a process but neither the form nor a default sets it", False),
    ("a param read by the workflow only, with no default",
     MAIN.replace("    if (!params.in) {", "    if (params.dry_run) {\n        return\n    }\n    if (!params.in) {"),
     CONFIG, FORM, ("main.nf", "params.dry_run", 1),
     "params.dry_run is read by the workflow but neither the form nor a default sets it: it is null on ICA", True),
    ("a data input nothing reads", MAIN, CONFIG, FORM.replace(
        "</pd:dataInputs>", '<pd:dataInput code="extra" format="TXT" type="FILE" required="false" '
              'multiValue="false"><pd:label>extra</pd:label></pd:dataInput></pd:dataInputs>'),
     ("seqfixity.xml", 'code="extra"', 1), "data input 'extra' is not a param of", True),
    ("an unknown pod preset", replace_nth(MAIN, "value: 'standard-small'", "value: 'standard-huge'", 3), CONFIG,
     FORM, ("main.nf", "process AGGREGATE {", 1),
     "process AGGREGATE: pod preset 'standard-huge' is not one of ICA's compute types", False),
    ("a preset and cpus in one process", replace_nth(MAIN, PRESET, PRESET + "    cpus 4\n", 4), CONFIG, FORM,
     ("main.nf", "process CHECK {", 1), "process CHECK sets both ICA's pod preset annotation and cpus", False),
    ("no compute at all", replace_nth(MAIN, PRESET, "", 4), CONFIG, FORM, ("main.nf", "process CHECK {", 1),
     "process CHECK sets neither ICA's pod preset annotation", True),
    ("results published elsewhere", replace_nth(MAIN, "publishDir 'out'", "publishDir 'results'", 2), CONFIG, FORM,
     ("main.nf", "publishDir 'results'", 1), "process AGGREGATE publishes to 'results': ICA keeps only", False),
    ("a publish path from a param whose default is not under out",
     replace_nth(MAIN, "publishDir 'out'", 'publishDir "${params.outdir}/tables"', 2),
     CONFIG.replace("params.in = null", "params.in = null\nparams.outdir = 'results'"), FORM,
     ("main.nf", "publishDir \"${params.outdir}", 1), "publishes to 'results/tables'", False),
    ("nothing published under out", MAIN.replace("    publishDir 'out', mode: 'copy'\n", ""), CONFIG, FORM,
     ("main.nf", "process SAMPLES {", 1), "no process publishes under 'out'", True),
]


@pytest.mark.parametrize(("main_text", "config_text", "form_text", "where", "words", "warning"),
                         [case[1:] for case in BROKEN], ids=[case[0] for case in BROKEN])
def test_each_pipeline_fault_is_reported_at_its_line(tmp_path, main_text, config_text, form_text, where, words,
                                                     warning):
    main, _config, form = write_pipeline(tmp_path, main_text, config_text, form_text)
    code, _out, err = check(main, form)
    name, marker, nth = where
    text = {"main.nf": main_text, "seqfixity.xml": form_text}[name]
    prefix = f"seqfixity: {tmp_path / name}:{line_of(text, marker, nth)}: " + ("warning: " if warning else "")
    assert any(line.startswith(prefix) and words in line for line in err), (prefix, err)
    assert code == (0 if warning else 1)
    assert check(main, form, strict=True)[0] == 1


def test_directives_set_in_nextflow_config_count(tmp_path):
    """Nextflow applies the config's process scope and its selectors: a container or preset there is enough."""
    main_text = MAIN.replace(CONTAINER, "").replace(PRESET, "")
    config_text = CONFIG + (
        "\nprocess.container = 'registry.example.org/lab/seqfixity:0.1.0'\n"
        "process {\n"
        "    withLabel: 'process_single' {\n"
        "        pod = [annotation: 'scheduler.illumina.com/presetSize', value: 'standard-medium']\n"
        "    }\n"
        "    withName: 'DIGEST' {\n"
        "        cpus = 4\n"
        "        memory = '16 GB'\n"
        "    }\n"
        "}\n")
    main, _config, form = write_pipeline(tmp_path, main_text, config_text)
    assert check(main, form, strict=True)[0] == 0
    without = config_text.replace("process.container = 'registry.example.org/lab/seqfixity:0.1.0'\n", "")
    main, _config, form = write_pipeline(tmp_path, main_text, without)
    code, _out, err = check(main, form)
    assert code == 1 and sum("has no container" in line for line in err) == 4
    wrong_label = config_text.replace("withLabel: 'process_single'", "withLabel: 'process_high'")
    main, _config, form = write_pipeline(tmp_path, main_text, wrong_label)
    code, _out, err = check(main, form)
    unset = [line for line in err if "sets neither ICA's pod preset annotation" in line]
    assert code == 0 and len(unset) == 3  # SAMPLES, AGGREGATE and CHECK


def test_comments_and_strings_are_not_read_as_code(tmp_path):
    """A brace in a comment or string, or a commented-out container, must not change what is found."""
    main_text = replace_nth(MAIN, CONTAINER, "    // container 'old:1' }\n    tag '{'\n", 2)  # DIGEST's
    main, _config, form = write_pipeline(tmp_path, main_text)
    code, _out, err = check(main, form)
    assert code == 1 and [line for line in err if "has no container" in line] == [
        f"seqfixity: {main}:{line_of(main_text, 'process DIGEST {')}: process DIGEST has no container: ICA runs "
        "every task in one (set container in the process or in the process scope of nextflow.config)"]


def test_usage_errors_and_missing_files(tmp_path):
    main, _config, form = write_pipeline(tmp_path / "p")
    assert check(main)[0] == 128
    other = tmp_path / "other.nf"
    shutil.copy(main, other)
    assert check(main, other, form)[0] == 128
    assert run_cli("pipeline-def", "--strict", "-o", tmp_path / "x").returncode == 128
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _out, err = check(empty)
    assert code == 4 and err == [f"seqfixity: {empty}: no main.nf in this folder (give main.nf and the form, "
                                 "or only the form)"]
    (empty / "main.nf").write_text(MAIN)
    assert check(empty) == (4, "", [f"seqfixity: {empty}: no input form (*.xml) in this folder"])
    broken_form = tmp_path / "broken.xml"
    broken_form.write_text(FORM.replace("</pd:steps>", ""))
    code, out, err = check(tmp_path / "missing.nf", broken_form)
    assert code == 1 | 4 and out == "" and len(err) == 2
    assert f"seqfixity: {tmp_path / 'missing.nf'}: cannot read: No such file or directory" in err
    assert sum("not well-formed XML" in line for line in err) == 1  # the form is still judged
    (tmp_path / "p" / "nextflow.config").unlink()
    code, out, err = check(main, form)
    assert code == 0 and out.startswith(f"{main} with {form}: valid ICA pipeline")


def test_params_read_through_the_map_s_methods_are_params_not_methods(tmp_path):
    """``params.get('x')`` reads param x (Groovy's Map.get); ``params.each {`` is no param named each."""
    read_by_get = MAIN.replace("${shq(params.naming)}", "${shq(params.get('naming'))}")
    assert read_by_get != MAIN
    main_text = read_by_get.replace("workflow {", "workflow {\n    params.each { key, value -> log.debug(key) }", 1)
    main, _config, form = write_pipeline(tmp_path, main_text)
    assert check(main, form, strict=True) == (0, f"{main} with {form}: valid ICA pipeline\n", [])
    getter = MAIN.replace("${shq(params.naming)}", "${shq(params.getOrDefault('naming', 'x'))}")
    main, _config, form = write_pipeline(tmp_path, getter)
    assert check(main, form, strict=True) == (0, f"{main} with {form}: valid ICA pipeline\n", [])


@pytest.mark.parametrize(("publish", "under_out"), [
    ('publishDir "out/${sample}", mode: \'copy\'', True),  # a task's value below out: still under out
    ("publishDir path: { \"out/${task.process}\" }, mode: 'copy'", True),  # a closure Nextflow calls per task
    ("publishDir 'out/../elsewhere', mode: 'copy'", False),  # resolves outside out
    ("publishDir './out/tables/..', mode: 'copy'", True),
])
def test_publish_paths_are_judged_where_they_resolve(tmp_path, publish, under_out):
    """Only what ends up under ``out`` is kept by ICA (https://help.ica.illumina.com/project/p-flow/f-pipelines/pi-nextflow)."""
    main_text = MAIN.replace("publishDir 'out', mode: 'copy'", publish)
    assert main_text != MAIN
    main, _config, form = write_pipeline(tmp_path, main_text)
    code, _out, err = check(main, form, strict=True)
    if under_out:
        assert (code, err) == (0, []), err
    else:
        assert code == 1 and any(f"{main}:{line_of(main_text, 'publishDir ')}: process" in line
                                 and "publishes to 'out/../elsewhere'" in line for line in err), err


STRICT_MAIN = """\
nextflow.enable.strict = true

params {
    in: Path
    threads: Integer = 2
}

process STATS {
    container 'quay.io/biocontainers/seqkit:2.8.2--h9ee0642_0'
    pod annotation: 'scheduler.illumina.com/presetSize', value: 'standard-small'

    input:
    path reads

    output:
    path 'stats.tsv'

    script:
    \"\"\"
    seqkit stats -j ${params.threads} ${reads} > stats.tsv
    \"\"\"
}

workflow {
    main:
    stats = STATS(channel.fromPath(params.in))

    publish:
    stats = stats
}

output {
    stats {
        path 'stats'
    }
}
"""
STRICT_FORM = """\
<pipeline code="" version="1.0" xmlns="xsd://www.illumina.com/ica/cp/pipelinedefinition">
    <dataInputs>
        <dataInput code="in" format="FASTQ" type="FILE" required="true" multiValue="true"><label>in</label></dataInput>
    </dataInputs>
    <steps>
        <step execution="MANDATORY" code="general">
            <tool code="general">
                <parameter code="threads" minValues="1" maxValues="1" classification="USER">
                    <label>threads</label><integerType/><value>2</value>
                </parameter>
            </tool>
        </step>
    </steps>
</pipeline>
"""


@pytest.mark.parametrize(("config_text", "finding"), [
    ("outputDir = 'out'\n", None),
    ("outputDir = 'out/stats'\n", None),
    ("params.outdir = 'out'\noutputDir = params.outdir\n", None),
    (None, ("main.nf", "output {", "outputDir 'results' (Nextflow's default)")),
    ("outputDir = 'results'\n", ("nextflow.config", "outputDir", "outputDir 'results': ICA keeps only")),
])
def test_workflow_outputs_publish_below_output_dir(tmp_path, config_text, finding):
    """Workflow outputs (an ``output { }`` block, https://www.nextflow.io/docs/latest/workflow.html#workflow-outputs)
    publish below ``outputDir``, ``results`` unless the config says otherwise: under ``out`` they are kept by ICA."""
    main, _config, form = write_pipeline(tmp_path, STRICT_MAIN, config_text, STRICT_FORM)
    code, _out, err = check(main, form, strict=True)
    if finding is None:
        assert (code, err) == (0, []), err
        return
    name, marker, words = finding
    text = {"main.nf": STRICT_MAIN, "nextflow.config": config_text}[name]
    prefix = f"seqfixity: {tmp_path / name}:{line_of(text, marker)}: workflow outputs go to "
    assert code == 1 and any(line.startswith(prefix) and words in line for line in err), err


def test_included_local_modules_are_read_like_main_nf(tmp_path):
    """nf-core-style pipelines keep their processes in modules that main.nf includes (a file, NAME.nf, or a
    folder's main.nf: https://www.nextflow.io/docs/latest/module.html#module-inclusion): a form code only a
    module reads is read, and the module's processes are judged at their own lines."""
    (tmp_path / "modules" / "local" / "fastqc").mkdir(parents=True)
    (tmp_path / "subworkflows").mkdir()
    (tmp_path / "main.nf").write_text("include { QC } from './subworkflows/qc'\n\n"
                                      "workflow {\n    QC(channel.fromPath(params.in))\n}\n")
    (tmp_path / "subworkflows" / "qc.nf").write_text(
        "include { FASTQC } from '../modules/local/fastqc'\ninclude { validateParameters } from 'plugin/nf-schema'\n\n"
        "workflow QC {\n    take:\n    reads\n\n    main:\n    FASTQC(reads)\n}\n")
    module = ("process FASTQC {\n    container 'quay.io/biocontainers/fastqc:0.12.1--hdfd78af_0'\n"
              "    cpus 2\n    memory '4 GB'\n    publishDir 'out/fastqc', mode: 'copy'\n\n"
              "    input:\n    path reads\n\n    output:\n    path '*.html'\n\n    script:\n"
              "    \"\"\"\n    fastqc -t ${params.threads} ${reads}\n    \"\"\"\n}\n")
    (tmp_path / "modules" / "local" / "fastqc" / "main.nf").write_text(module)
    (tmp_path / "form.xml").write_text(STRICT_FORM)
    code, out, err = check(tmp_path / "main.nf", tmp_path / "form.xml", strict=True)
    assert (code, err) == (0, []), err
    broken = module.replace("    container 'quay.io/biocontainers/fastqc:0.12.1--hdfd78af_0'\n", "")
    (tmp_path / "modules" / "local" / "fastqc" / "main.nf").write_text(broken)
    code, _out, err = check(tmp_path / "main.nf", tmp_path / "form.xml")
    assert code == 1 and err == [f"seqfixity: {tmp_path / 'modules/local/fastqc/main.nf'}:1: process FASTQC has no "
                                 "container: ICA runs every task in one (set container in the process or in the "
                                 "process scope of nextflow.config)"]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig", "iso-8859-1"])
def test_a_form_in_another_encoding_is_still_checked_with_its_pipeline(tmp_path, encoding):
    """XML names its own encoding (https://www.w3.org/TR/xml/#charencoding); a UTF-16 form is as much a form,
    and its codes are judged against main.nf (a code no param reads is still an error)."""
    declared = "UTF-8" if encoding == "utf-8-sig" else encoding
    form_text = FORM.replace('code="naming"', 'code="nameing"').replace("encoding='UTF-8'", f"encoding='{declared}'")
    assert f"encoding='{declared}'" in form_text
    main, _config, form = write_pipeline(tmp_path, MAIN, CONFIG, "")
    form.write_bytes(form_text.replace("<pd:label>", "<pd:label>\u00e9 ", 1).encode(encoding))
    code, out, err = check(main, form)
    where = f"{form}:{line_of(form_text, 'code=' + chr(34) + 'nameing')}: parameter 'nameing' is not a param"
    assert code == 1 and out == "" and any(where in line for line in err), err


def test_configs_that_nextflow_config_includes_are_read(tmp_path):
    """nf-core-style pipelines keep process settings in conf/base.config, included from nextflow.config
    (https://www.nextflow.io/docs/latest/config.html#config-includes): a container and compute set there
    count; one set only in a profile that ICA does not choose does not."""
    main_text = MAIN.replace(CONTAINER, "").replace(PRESET, "")
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "base.config").write_text(
        "process {\n    container = 'registry.example.org/lab/seqfixity:0.1.0'\n"
        "    pod = [annotation: 'scheduler.illumina.com/presetSize', value: 'standard-medium']\n}\n"
        "includeConfig 'more.config'\n")
    (tmp_path / "conf" / "more.config").write_text("includeConfig 'base.config'\n")  # a loop: read once
    (tmp_path / "conf" / "test.config").write_text("process.container = 'registry.example.org/lab/other:1'\n")
    config_text = CONFIG + "\nincludeConfig \"${projectDir}/conf/base.config\"\n"
    main, _config, form = write_pipeline(tmp_path, main_text, config_text)
    assert check(main, form, strict=True) == (0, f"{main} with {form}: valid ICA pipeline\n", [])
    profile_only = CONFIG + "\nprofiles {\n    test {\n        includeConfig 'conf/test.config'\n    }\n}\n"
    main, _config, form = write_pipeline(tmp_path, main_text, profile_only)
    code, _out, err = check(main, form)
    assert code == 1 and sum("has no container" in line for line in err) == 4, err


@pytest.mark.parametrize("selector", ["'.*:DIGEST'", "'SEQFIXITY:DIGEST'", "DIGEST", "'DIG.*'"])
def test_a_selector_by_fully_qualified_name_applies(tmp_path, selector):
    """nf-core's conf/modules.config selects processes by their fully qualified names (``withName: '.*:FASTQC'``):
    the workflows that call a process come first (https://www.nextflow.io/docs/latest/config.html#process-selectors)."""
    main_text = replace_nth(MAIN, CONTAINER, "", 2)  # DIGEST's container comes from the config
    config_text = CONFIG + (f"\nprocess {{\n    withName: {selector} {{\n"
                            "        container = 'registry.example.org/lab/seqfixity:0.1.0'\n    }\n}\n")
    main, _config, form = write_pipeline(tmp_path, main_text, config_text)
    assert check(main, form, strict=True) == (0, f"{main} with {form}: valid ICA pipeline\n", [])
    other = config_text.replace(selector, "'.*:AGGREGATE'")
    main, _config, form = write_pipeline(tmp_path, main_text, other)
    assert check(main, form)[0] == 1  # another process's selector does not give DIGEST a container
