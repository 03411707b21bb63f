"""Judge any ICA input form (pipeline XML) as ICA does: errors, warnings, each at its line.

ICA publishes no schema for the XML form. These rules follow ICA's help page on it
(https://help.ica.illumina.com/project/p-flow/f-pipelines/pi-inputform: the empty form ICA hands out,
the attributes a dataInput requires, FILE or DIRECTORY) and the public forms of pipelines that run on ICA
(github.com/UPHL-BioNGS/ICA_Modified_Nextflow_Scripts, github.com/keng404/ica_nextflow_demos and
ica_nextflow_demos_v2):

- **errors**, for what ICA cannot load or a run cannot mean: XML that is not well-formed, elements
  outside the form's namespace or where they do not belong, a dataInput without its required attributes,
  a parameter without exactly one type element, repeated codes, a default that does not fit its type or
  is not one of its options, value counts that contradict each other;
- **warnings**, for what ICA may load but a pipeline cannot use well: codes that are not plain
  identifiers (``['cage`` and ``genomes['x'].fasta`` in keng404's converted nf-core forms,
  ``minimap2_options `` with a trailing space in UPHL's Cecret form), the legacy BlueBee namespace
  (keng404's hlatyping forms), a parameter or data input without a label, attributes every public form
  sets (minValues, maxValues, classification, a step's execution) left out or unknown;
- **valid**, because public forms that run on ICA have them: an empty or missing root ``code`` and no
  ``version`` (ICA's own empty form; UPHL's forms), empty labels and descriptions
  (``<pd:label locked="false"></pd:label>`` in UPHL's Cecret and Donut_falls forms), a tool without a
  label (keng404's grandeur form), an empty ``<value/>`` as "no default" (keng404's v2 sarek form), the
  unprefixed default-namespace form (ICA's empty form, keng404's v2 forms), ``locked`` attributes.

expat gives each element's line, so every message points at the line to fix.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from xml.parsers import expat

from seqfixity.pipeline_defs.ica_xml import NAMESPACE, TYPE_ELEMENTS

# The namespace of ICA's predecessor, BlueBee, still in some public forms (keng404's hlatyping forms).
LEGACY_NAMESPACE = "http://www.bluebee.com/pipelinedefinition"
FORM_NAMESPACES = (NAMESPACE, LEGACY_NAMESPACE)
TEXT_ELEMENTS = ("label", "description")
# ICA's JSON-form help names the XML number type doubleType; umccr/wrapica writes floatType.
KIND_ELEMENTS = (*TYPE_ELEMENTS.values(), "doubleType")
NUMBER_KINDS = ("floatType", "doubleType")
BOOLEAN_VALUES = ("true", "false")
DATA_TYPES = ("FILE", "DIRECTORY")
EXECUTIONS = ("MANDATORY", "OPTIONAL")
CLASSIFICATIONS = ("USER",)
PARAMS_SCOPE = "params"
_INTEGER = re.compile(r"^[+-]?\d+$")
_COUNT = re.compile(r"^\d+$")
# What Nextflow can read as params.<code>: a Groovy identifier.
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass
class Node:
    """An element with its namespace, local name, attributes, text and the line it starts on."""

    namespace: str
    name: str
    attributes: dict[str, str]
    line: int
    children: list[Node] = field(default_factory=list)
    text: str = ""

    @property
    def shown(self) -> str:
        """The element as a reader of the form would name it."""
        if self.namespace in FORM_NAMESPACES:
            return f"pd:{self.name}"
        return f"{{{self.namespace}}}{self.name}" if self.namespace else self.name


@dataclass(frozen=True)
class Problem:
    """One finding at a line (0: the whole file): an error, or a warning that only ``--strict`` fails."""

    line: int
    message: str
    warning: bool = False

    def format(self, path: str) -> str:
        """``PATH:LINE: message``, or ``PATH:LINE: warning: message``."""
        return f"{path}:{self.line}: {'warning: ' if self.warning else ''}{self.message}"


@dataclass(frozen=True)
class FormCode:
    """A data input or parameter of a form: its code, the line it is on and whether it is a data input."""

    code: str
    line: int
    data_input: bool


def parse(data: bytes) -> Node:
    """Parse XML into :class:`Node` s with line numbers (raises :class:`expat.ExpatError`)."""
    parser = expat.ParserCreate(namespace_separator=" ")
    stack: list[Node] = []
    roots: list[Node] = []

    def start(tag: str, attributes: dict[str, str]) -> None:
        namespace, _, name = tag.rpartition(" ")
        node = Node(namespace, name, attributes, parser.CurrentLineNumber)
        (stack[-1].children if stack else roots).append(node)
        stack.append(node)

    def end(tag: str) -> None:
        stack.pop()

    def text(data: str) -> None:
        if stack:
            stack[-1].text += data

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    parser.Parse(data, True)
    return roots[0]


def check_form(data: bytes) -> list[Problem]:
    """Return every error and warning of the form in ``data``, in line order (empty: nothing to say)."""
    try:
        root = parse(data)
    except expat.ExpatError as err:
        return [Problem(err.lineno, f"not well-formed XML: {expat.ErrorString(err.code)} (column {err.offset + 1})")]
    checker = _Checker(root.namespace)
    checker.pipeline(root)
    checker.unique_codes()
    return sorted(checker.problems, key=lambda p: p.line)


def form_codes(data: bytes) -> list[FormCode]:
    """The data inputs and parameters of a well-formed form, in file order (raises :class:`expat.ExpatError`)."""
    found = []

    def walk(node: Node) -> None:
        if node.name in ("dataInput", "parameter") and "code" in node.attributes:
            found.append(FormCode(node.attributes["code"], node.line, node.name == "dataInput"))
        for child in node.children:
            walk(child)

    walk(parse(data))
    return found


class _Checker:
    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.problems: list[Problem] = []
        self.codes: dict[tuple[str, str], list[Node]] = defaultdict(list)

    def fault(self, node: Node, message: str) -> None:
        self.problems.append(Problem(node.line, message))

    def warn(self, node: Node, message: str) -> None:
        self.problems.append(Problem(node.line, message, warning=True))

    def pipeline(self, root: Node) -> None:
        if root.namespace not in FORM_NAMESPACES or root.name != "pipeline":
            self.fault(root, f"the root element must be pd:pipeline in namespace {NAMESPACE}, not {root.shown}"
                       + ("" if root.namespace in FORM_NAMESPACES else f" (namespace {root.namespace or 'none'})"))
            return
        if root.namespace == LEGACY_NAMESPACE:
            self.warn(root, f"the legacy BlueBee namespace {LEGACY_NAMESPACE}: ICA's forms use {NAMESPACE}")
        self.children(root, {"dataInputs": (0, 1), "steps": (0, 1)})
        for node in self.named(root, "dataInputs"):
            self.children(node, {"dataInput": (0, None)})
            for item in self.named(node, "dataInput"):
                self.data_input(item)
        for node in self.named(root, "steps"):
            self.children(node, {"step": (0, None)})
            for step in self.named(node, "step"):
                self.step(step)

    def data_input(self, node: Node) -> None:
        # ICA's help page: code, format, type (FILE or DIRECTORY), required and multiValue are required.
        self.required(node, {"code": None, "format": None, "type": DATA_TYPES, "required": BOOLEAN_VALUES,
                             "multiValue": BOOLEAN_VALUES})
        self.children(node, {"label": (0, 1), "description": (0, 1)})
        self.texts(node, labelled=True)
        self.remember_code(PARAMS_SCOPE, node)

    def step(self, node: Node) -> None:
        self.expected(node, {"execution": EXECUTIONS, "code": None})
        self.children(node, {"label": (0, 1), "description": (0, 1), "tool": (0, None)})
        self.texts(node)
        self.remember_code("step", node)
        for tool in self.named(node, "tool"):
            self.expected(tool, {"code": None})
            self.children(tool, {"label": (0, 1), "description": (0, 1), "parameter": (0, None)})
            self.texts(tool)
            self.remember_code("tool", tool)
            for parameter in self.named(tool, "parameter"):
                self.parameter(parameter)

    def parameter(self, node: Node) -> None:
        self.required(node, {"code": None})
        self.expected(node, {"minValues": None, "maxValues": None, "classification": CLASSIFICATIONS})
        self.remember_code(PARAMS_SCOPE, node)
        kinds = {kind: (0, 1) for kind in KIND_ELEMENTS}
        self.children(node, {"label": (0, 1), "description": (0, 1), "value": (0, None), **kinds})
        self.texts(node, labelled=True)
        high = self.bounds(node)
        code = node.attributes.get("code", "")
        found = [child for child in node.children if child.namespace == self.namespace and child.name in kinds]
        if len(found) != 1:
            names = ", ".join(f"pd:{kind}" for kind in KIND_ELEMENTS)
            self.fault(node, f"pd:parameter {code!r} needs exactly one type element ({names}); it has {len(found)}")
        # An empty <value/> is "no default", as in keng404's v2 forms.
        values = [value for value in self.named(node, "value") if value.text.strip()]
        if high is not None and len(values) > high:
            self.fault(values[high], f"pd:parameter {code!r} has {len(values)} pd:value defaults but maxValues={high}")
        if len(found) == 1:
            options = self.options(found[0])
            for value in values:
                self.fits(code, found[0].name, value, options)

    def options(self, kind: Node) -> list[str]:
        if kind.name != "optionsType":
            self.children(kind, {})
            return []
        self.children(kind, {"option": (1, None)})
        seen: dict[str, Node] = {}
        for option in self.named(kind, "option"):
            text = option.text.strip()
            if not text:
                self.warn(option, "empty pd:option: the launch form offers a blank choice")
            elif text in seen:
                self.fault(option, f"pd:option {text!r} repeats the one on line {seen[text].line}")
            else:
                seen[text] = option
        return list(seen)

    def fits(self, code: str, kind: str, value: Node, options: list[str]) -> None:
        text = value.text.strip()
        if kind == "integerType" and not _INTEGER.match(text):
            self.fault(value, f"default {text!r} of pd:parameter {code!r} is not a whole number (pd:integerType)")
        elif kind in NUMBER_KINDS and not _is_float(text):
            self.fault(value, f"default {text!r} of pd:parameter {code!r} is not a number (pd:{kind})")
        elif kind == "booleanType" and text not in BOOLEAN_VALUES:
            self.fault(value, f"default {text!r} of pd:parameter {code!r} is not true or false (pd:booleanType)")
        elif kind == "optionsType" and options and text not in options:
            self.fault(value, f"default {text!r} of pd:parameter {code!r} is not one of its options "
                              f"({', '.join(options)})")

    def bounds(self, node: Node) -> int | None:
        low = self.count(node, "minValues")
        high = self.count(node, "maxValues")
        if high is not None and high < 1:
            self.fault(node, f"maxValues must be at least 1, not {high}")
        if low is not None and high is not None and low > high:
            self.fault(node, f"minValues ({low}) is greater than maxValues ({high})")
        return high

    def count(self, node: Node, attribute: str) -> int | None:
        text = node.attributes.get(attribute)
        if text is None:
            return None
        if not _COUNT.match(text.strip()):
            self.fault(node, f"{attribute}={text!r} on {node.shown} is not a whole number")
            return None
        return int(text)

    def required(self, node: Node, allowed: dict[str, tuple[str, ...] | None]) -> None:
        """Attributes ICA documents as required: missing, empty or unknown is an error."""
        for name, values in allowed.items():
            value = node.attributes.get(name)
            if value is None:
                self.fault(node, f"{node.shown} lacks the required attribute {name}")
            elif not value.strip():
                self.fault(node, f"{node.shown} has an empty {name}")
            elif values is not None and value not in values:
                self.fault(node, f"{name}={value!r} on {node.shown} is not one of {', '.join(values)}")

    def expected(self, node: Node, allowed: dict[str, tuple[str, ...] | None]) -> None:
        """Attributes every public form sets, with no documented rule: missing or unknown is a warning."""
        for name, values in allowed.items():
            value = node.attributes.get(name)
            if value is None:
                self.warn(node, f"{node.shown} has no {name} (every public ICA form sets it)")
            elif values is not None and value not in values:
                self.warn(node, f"{name}={value!r} on {node.shown} is none of {', '.join(values)}, the values "
                                "public ICA forms use")

    def children(self, node: Node, allowed: dict[str, tuple[int, int | None]]) -> None:
        counts: dict[str, int] = defaultdict(int)
        for child in node.children:
            if child.namespace != self.namespace:
                self.fault(child, f"{child.shown} is not in the form's namespace {self.namespace}")
            elif child.name not in allowed:
                self.fault(child, f"{child.shown} does not belong in {node.shown}")
            else:
                counts[child.name] += 1
                low, high = allowed[child.name]
                if high is not None and counts[child.name] == high + 1:
                    self.fault(child, f"{node.shown} may have at most {high} pd:{child.name}")
        for name, (low, _high) in allowed.items():
            if counts[name] < low:
                self.fault(node, f"{node.shown} needs {'a' if low == 1 else low} pd:{name}")

    def texts(self, node: Node, labelled: bool = False) -> None:
        for child in self.named(node, *TEXT_ELEMENTS):
            if child.children:
                self.fault(child.children[0], f"{child.shown} holds text only, not {child.children[0].shown}")
        if labelled and not self.named(node, "label"):
            self.warn(node, f"{node.shown} {node.attributes.get('code', '')!r} has no pd:label: the launch form "
                            "shows it unnamed")

    def remember_code(self, scope: str, node: Node) -> None:
        code = node.attributes.get("code")
        if not code:
            return
        self.codes[(scope, code)].append(node)
        if scope != PARAMS_SCOPE:
            return
        if code != code.strip():
            self.warn(node, f"code {code!r} of {node.shown} begins or ends with a space: main.nf reads "
                            f"params.{code.strip()}, which ICA does not set")
        elif not IDENTIFIER.match(code):
            self.warn(node, f"code {code!r} of {node.shown} is not a plain identifier (letters, digits, '_', "
                            "not starting with a digit): main.nf cannot read it as params.<code>")

    def unique_codes(self) -> None:
        for (scope, code), nodes in self.codes.items():
            first = nodes[0]
            for node in nodes[1:]:
                self.fault(node, f"code {code!r} of {node.shown} repeats the {first.shown} on line {first.line}"
                                 + (f" (every data input and parameter becomes params.{code})"
                                    if scope == PARAMS_SCOPE else ""))

    def named(self, node: Node, *names: str) -> list[Node]:
        return [child for child in node.children if child.namespace == self.namespace and child.name in names]


def _is_float(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False
