"""``seqfixity pipeline-def --check``: every kind of fault in an ICA input form, at the right line."""

from __future__ import annotations

import pytest

from conftest import run_cli
from seqfixity.pipeline_defs import render
from seqfixity.pipeline_defs.check import check_form
from seqfixity.settings import Settings

GOOD = render(Settings())["seqfixity.xml"].decode()
DIGESTS = '<pd:parameter code="digests" minValues="1" maxValues="1" classification="USER">'
NAMING = '<pd:parameter code="naming" minValues="1" maxValues="1" classification="USER">'
VALIDATE_OPTIONS = GOOD[GOOD.index("<pd:optionsType>", GOOD.index('code="validate"')):
                        GOOD.index("</pd:optionsType>", GOOD.index('code="validate"')) + len("</pd:optionsType>")]
HANDWRITTEN = """\
<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<pd:pipeline xmlns:pd="xsd://www.illumina.com/ica/cp/pipelinedefinition" code="demo" version="1.0">
    <pd:dataInputs>
        <pd:dataInput code="reads" format="FASTQ,BAM" type="DIRECTORY" required="false" multiValue="false">
            <pd:label>reads</pd:label>
        </pd:dataInput>
    </pd:dataInputs>
    <pd:steps>
        <pd:step execution="MANDATORY" code="General">
            <pd:label>General</pd:label>
            <pd:description/>
            <pd:tool code="generalparameters">
                <pd:label>generalparameters</pd:label>
                <pd:description/>
                <pd:parameter code="threads" minValues="1" maxValues="1" classification="USER">
                    <pd:label>threads</pd:label>
                    <pd:description/>
                    <pd:integerType/>
                    <pd:value>-4</pd:value>
                </pd:parameter>
                <pd:parameter code="dry" minValues="0" maxValues="1" classification="USER">
                    <pd:label>dry</pd:label>
                    <pd:booleanType/>
                    <pd:value>false</pd:value>
                </pd:parameter>
                <pd:parameter code="ratio" minValues="0" maxValues="2" classification="USER">
                    <pd:label>ratio</pd:label>
                    <pd:floatType/>
                    <pd:value>0.5</pd:value>
                    <pd:value>1e-3</pd:value>
                </pd:parameter>
            </pd:tool>
        </pd:step>
    </pd:steps>
</pd:pipeline>
"""


def line_of(text: str, needle: str | tuple[str, int]) -> int:
    """The 1-based line of ``needle`` in ``text`` (or of its nth occurrence, for a ``(needle, nth)`` pair)."""
    needle, nth = needle if isinstance(needle, tuple) else (needle, 1)
    position = -1
    for _ in range(nth):
        position = text.index(needle, position + 1)
    return text.count("\n", 0, position) + 1


def mutate(old: str, new: str, text: str = GOOD) -> str:
    """Replace the one occurrence of ``old``."""
    assert text.count(old) == 1, old
    return text.replace(old, new)


def faults(text: str) -> list[tuple[int, str]]:
    """The errors of a form, as (line, message)."""
    return [(p.line, p.message) for p in check_form(text.encode()) if not p.warning]


def warnings(text: str) -> list[tuple[int, str]]:
    """The warnings of a form, as (line, message)."""
    return [(p.line, p.message) for p in check_form(text.encode()) if p.warning]


def test_generated_and_handwritten_forms_are_valid():
    assert check_form(GOOD.encode()) == []
    assert check_form(HANDWRITTEN.encode()) == []
    empty = '<pd:pipeline xmlns:pd="xsd://www.illumina.com/ica/cp/pipelinedefinition" code="x" version="1.0"/>'
    assert check_form(empty.encode()) == []


# (name, old, new, marker in the faulty text whose line the fault must name, words of the message)
CASES = [
    ("not well-formed", "FASTQ files</pd:label>", "FASTQ & files</pd:label>", "FASTQ & files",
     "not well-formed XML"),
    ("unclosed element", "</pd:steps>", "", "</pd:pipeline>", "not well-formed XML: mismatched tag"),
    ("wrong namespace", "xsd://www.illumina.com/ica/cp/pipelinedefinition", "xsd://example.org/pd", "<pd:pipeline",
     "root element must be pd:pipeline in namespace xsd://www.illumina.com/ica/cp/pipelinedefinition, "
     "not {xsd://example.org/pd}pipeline"),
    ("empty attribute", 'code="in"', 'code=""', "<pd:dataInput ", "pd:dataInput has an empty code"),
    ("data input without format", ' format="FASTQ"', "", "<pd:dataInput ",
     "pd:dataInput lacks the required attribute format"),
    ("bad multiValue", 'required="true" multiValue="true"', 'required="true" multiValue="yes"', "<pd:dataInput ",
     "multiValue='yes'"),
    ("bad data type", 'format="FASTQ" type="FILE"', 'format="FASTQ" type="FOLDER"', "<pd:dataInput ",
     "type='FOLDER'"),
    ("duplicate parameter code", NAMING, NAMING.replace("naming", "digests"), ('code="digests"', 2),
     "code 'digests' of pd:parameter repeats"),
    ("parameter code repeats the input", NAMING, NAMING.replace("naming", "in"), 'code="in" minValues',
     "code 'in' of pd:parameter repeats the pd:dataInput on line 4"),
    ("no type element", "<pd:stringType />\n          <pd:value>md5", "<pd:value>md5", 'code="digests"',
     "needs exactly one type element"),
    ("two type elements", "<pd:stringType />\n          <pd:value>md5",
     "<pd:stringType /><pd:integerType />\n          <pd:value>md5", 'code="digests"',
     "needs exactly one type element"),
    ("integer default", "<pd:stringType />\n          <pd:value>md5", "<pd:integerType />\n          <pd:value>md5",
     "<pd:value>md5", "is not a whole number (pd:integerType)"),
    ("boolean default", "<pd:stringType />\n          <pd:value>md5", "<pd:booleanType />\n          <pd:value>md5",
     "<pd:value>md5", "is not true or false"),
    ("float default", "<pd:stringType />\n          <pd:value>md5", "<pd:floatType />\n          <pd:value>md5",
     "<pd:value>md5", "is not a number (pd:floatType)"),
    ("option default", "<pd:value>fastq</pd:value>", "<pd:value>fasta</pd:value>", "<pd:value>fasta",
     "default 'fasta' of pd:parameter 'validate' is not one of its options"),
    ("repeated option", "<pd:option>gzip</pd:option>", "<pd:option>gzip</pd:option><pd:option>gzip</pd:option>",
     "<pd:option>gzip", "pd:option 'gzip' repeats"),
    ("empty options", VALIDATE_OPTIONS, "<pd:optionsType></pd:optionsType>", "<pd:optionsType></pd:optionsType>",
     "pd:optionsType needs a pd:option"),
    ("too many defaults", "<pd:value>warn</pd:value>", "<pd:value>warn</pd:value><pd:value>off</pd:value>",
     "<pd:value>warn", "has 2 pd:value defaults but maxValues=1"),
    ("min above max", NAMING, NAMING.replace('minValues="1" maxValues="1"', 'minValues="2" maxValues="1"'),
     'code="naming"', "minValues (2) is greater than maxValues (1)"),
    ("zero maxValues", NAMING, NAMING.replace('maxValues="1"', 'maxValues="0"'), 'code="naming"',
     "maxValues must be at least 1"),
    ("minValues not a number", NAMING, NAMING.replace('minValues="1"', 'minValues="one"'), 'code="naming"',
     "minValues='one' on pd:parameter is not a whole number"),
    ("unknown element", "<pd:label>General</pd:label>", "<pd:title>General</pd:title>", "<pd:title>",
     "pd:title does not belong in pd:step"),
    ("element outside the namespace", "<pd:label>FASTQ files</pd:label>", "<label>FASTQ files</label>",
     "<label>", "label is not in the form's namespace xsd://www.illumina.com/ica/cp/pipelinedefinition"),
    ("element inside a label", "<pd:label>ETag preset</pd:label>", "<pd:label>ETag <pd:b>preset</pd:b></pd:label>",
     "<pd:b>", "pd:label holds text only, not pd:b"),
    ("two dataInputs", "</pd:dataInputs>", "</pd:dataInputs><pd:dataInputs/>", "<pd:dataInputs/>",
     "pd:pipeline may have at most 1 pd:dataInputs"),
]


@pytest.mark.parametrize(("old", "new", "marker", "words"), [case[1:] for case in CASES],
                         ids=[case[0] for case in CASES])
def test_each_fault_is_reported_at_its_line(old, new, marker, words):
    text = mutate(old, new)
    found = faults(text)
    expected_line = line_of(text, marker)
    assert any(words in message and line == expected_line for line, message in found), (expected_line, found)


def test_check_command_lists_problems_as_file_line_message(tmp_path):
    good = tmp_path / "good.xml"
    good.write_text(GOOD)
    bad = tmp_path / "bad.xml"
    wrong_type = mutate('format="FASTQ" type="FILE"', 'format="FASTQ" type="X"')
    text = mutate("<pd:value>fastq</pd:value>", "<pd:value>fasta</pd:value>", wrong_type)
    bad.write_text(text)
    done = run_cli("pipeline-def", "--check", good, bad, tmp_path / "missing.xml")
    assert done.returncode == 1 | 4
    assert done.stdout.decode() == f"{good}: valid ICA input form\n"
    assert done.stderr.decode().splitlines() == [
        f"seqfixity: {bad}:4: type='X' on pd:dataInput is not one of FILE, DIRECTORY",
        f"seqfixity: {bad}:{line_of(text, '<pd:value>fasta')}: default 'fasta' of pd:parameter 'validate' "
        "is not one of its options (none, gzip, fastq, strict)",
        f"seqfixity: {tmp_path / 'missing.xml'}: cannot read: No such file or directory",
    ]
    assert run_cli("pipeline-def", "--check", good).returncode == 0


# Warnings: what ICA may load but a pipeline cannot use well. (name, old, new, marker, words)
WARNING_CASES = [
    ("no classification", DIGESTS, DIGESTS.replace(' classification="USER"', ""), 'code="digests"',
     "pd:parameter has no classification"),
    ("unknown classification", DIGESTS, DIGESTS.replace("USER", "ADMIN"), 'code="digests"',
     "classification='ADMIN' on pd:parameter is none of USER"),
    ("unknown execution", 'execution="MANDATORY"', 'execution="ALWAYS"', "<pd:step ",
     "execution='ALWAYS' on pd:step is none of MANDATORY, OPTIONAL"),
    ("data input without label", "<pd:label>FASTQ files</pd:label>", "", "<pd:dataInput ",
     "pd:dataInput 'in' has no pd:label"),
    ("empty option", "<pd:option>gzip</pd:option>", "<pd:option>gzip</pd:option><pd:option/>", "<pd:option/>",
     "empty pd:option"),
    ("bracketed code", NAMING, NAMING.replace('"naming"', "\"['cage\""), "['cage",
     "code \"['cage\" of pd:parameter is not a plain identifier"),
    ("indexed code", NAMING, NAMING.replace('"naming"', "\"genomes['x'].fasta\""), "genomes[",
     "code \"genomes['x'].fasta\" of pd:parameter is not a plain identifier"),
    ("module args code", NAMING, NAMING.replace('"naming"', "\"modules['tool'].args\""), "modules[",
     "is not a plain identifier"),
    ("trailing space", NAMING, NAMING.replace('"naming"', '"naming "'), '"naming "',
     "code 'naming ' of pd:parameter begins or ends with a space: main.nf reads params.naming"),
]


@pytest.mark.parametrize(("old", "new", "marker", "words"), [case[1:] for case in WARNING_CASES],
                         ids=[case[0] for case in WARNING_CASES])
def test_each_warning_is_reported_at_its_line_and_is_no_error(old, new, marker, words):
    text = mutate(old, new)
    expected_line = line_of(text, marker)
    assert faults(text) == []
    assert any(words in message and line == expected_line for line, message in warnings(text)), \
        (expected_line, warnings(text))


# Forms in the shapes of public forms that run on ICA, each with its verdict: "valid" (nothing to say),
# "warning" (exit 0, or 1 with --strict) or "error".
ICA_EMPTY_FORM = """\
<pipeline code="" version="1.0" xmlns="xsd://www.illumina.com/ica/cp/pipelinedefinition">
    <dataInputs>
    </dataInputs>
    <steps>
    </steps>
</pipeline>
"""
PREFIXED_HEAD = '<pd:pipeline xmlns:pd="xsd://www.illumina.com/ica/cp/pipelinedefinition" code="" version="1.0">'
EMPTY_CODE_FORM = f"""\
<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
{PREFIXED_HEAD}
    <pd:dataInputs>
        <pd:dataInput code="reads" format="FASTQ" type="DIRECTORY" required="false" multiValue="false">
            <pd:label>reads</pd:label>
            <pd:description locked="false"></pd:description>
        </pd:dataInput>
    </pd:dataInputs>
    <pd:steps/>
</pd:pipeline>
"""
EMPTY_TOOL_LABEL_FORM = f"""\
{PREFIXED_HEAD}
    <pd:steps>
        <pd:step execution="MANDATORY" code="General">
            <pd:label>General</pd:label>
            <pd:description>General parameters</pd:description>
            <pd:tool code="generalparameters">
                <pd:label locked="false"></pd:label>
                <pd:description locked="false"></pd:description>
                <pd:parameter code="assembler" minValues="1" maxValues="1" classification="USER">
                    <pd:label>assembler</pd:label>
                    <pd:description locked="false"></pd:description>
                    <pd:optionsType><pd:option>flye</pd:option><pd:option>raven</pd:option></pd:optionsType>
                    <pd:value>flye</pd:value>
                </pd:parameter>
            </pd:tool>
        </pd:step>
    </pd:steps>
</pd:pipeline>
"""
NO_VERSION_FORM = """\
<pd:pipeline xmlns:pd="xsd://www.illumina.com/ica/cp/pipelinedefinition">
    <pd:dataInputs>
        <pd:dataInput code="samplesheet" format="CSV" type="FILE" required="true" multiValue="false">
            <pd:label>samplesheet</pd:label>
            <pd:description/>
        </pd:dataInput>
    </pd:dataInputs>
    <pd:steps/>
</pd:pipeline>
"""
EMPTY_DEFAULTS_FORM = """\
<?xml version="1.0" encoding="utf-8"?>
<pipeline xmlns="xsd://www.illumina.com/ica/cp/pipelinedefinition" code="demo pipeline" version="1.0">
  <dataInputs/>
  <steps>
    <step execution="MANDATORY" code="options">
      <label>options</label>
      <description>options parameters</description>
      <tool code="options parameters">
        <label>options</label>
        <description>options parameters</description>
        <parameter code="split_fastq" minValues="0" maxValues="1" classification="USER">
          <label>split_fastq</label>
          <description>reads per chunk</description>
          <integerType/>
          <value/>
        </parameter>
        <parameter code="ratio" minValues="0" maxValues="1" classification="USER">
          <label>ratio</label>
          <description></description>
          <floatType/>
          <value></value>
        </parameter>
        <parameter code="outdir" minValues="1" maxValues="1" classification="USER">
          <label>outdir</label>
          <description>where results go</description>
          <stringType/>
          <value/>
        </parameter>
      </tool>
    </step>
  </steps>
</pipeline>
"""
BLUEBEE_FORM = """\
<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<pd:pipeline xmlns:pd="http://www.bluebee.com/pipelinedefinition">
    <pd:dataInputs>
        <pd:dataInput code="bam" format="BAM" type="FILE" required="false" multiValue="true">
            <pd:label>bam</pd:label>
            <pd:description></pd:description>
        </pd:dataInput>
    </pd:dataInputs>
    <pd:steps/>
</pd:pipeline>
"""
NON_IDENTIFIER_FORM = EMPTY_DEFAULTS_FORM.replace('code="ratio"', "code=\"['cage\"")
NOT_WELL_FORMED_FORM = EMPTY_CODE_FORM.replace("<pd:steps/>", "<pd:steps>")
SHAPES = [
    ("ICA's documented empty form", ICA_EMPTY_FORM, "valid", None),
    ("an empty root code", EMPTY_CODE_FORM, "valid", None),
    ("an empty tool label", EMPTY_TOOL_LABEL_FORM, "valid", None),
    ("no code and no version", NO_VERSION_FORM, "valid", None),
    ("empty integer, float and string defaults, unprefixed", EMPTY_DEFAULTS_FORM, "valid", None),
    ("the BlueBee namespace", BLUEBEE_FORM, "warning", ("<pd:pipeline", "legacy BlueBee namespace")),
    ("a non-identifier code", NON_IDENTIFIER_FORM, "warning", ("['cage", "is not a plain identifier")),
    ("not well-formed", NOT_WELL_FORMED_FORM, "error", ("</pd:pipeline>", "not well-formed XML: mismatched tag")),
]


@pytest.mark.parametrize(("text", "verdict", "finding"), [shape[1:] for shape in SHAPES],
                         ids=[shape[0] for shape in SHAPES])
def test_public_form_shapes_get_icas_verdict(tmp_path, text, verdict, finding):
    problems = check_form(text.encode())
    kinds = {"warning" if p.warning else "error" for p in problems}
    assert kinds == (set() if verdict == "valid" else {verdict}), problems
    if finding:
        assert any(p.line == line_of(text, finding[0]) and finding[1] in p.message for p in problems), problems
    form = tmp_path / "form.xml"
    form.write_text(text)
    done = run_cli("pipeline-def", "--check", form)
    strict = run_cli("pipeline-def", "--strict", "--check", form)
    expected = {"valid": (0, 0), "warning": (0, 1), "error": (1, 1)}[verdict]
    assert (done.returncode, strict.returncode) == expected, done.stderr
    stderr = done.stderr.decode().splitlines()
    assert len(stderr) == len(problems)
    assert all(line.startswith(f"seqfixity: {form}:") for line in stderr)
    assert all((": warning: " in line) == (verdict == "warning") for line in stderr)
    if verdict != "error":
        assert done.stdout.decode().startswith(f"{form}: valid ICA input form")
