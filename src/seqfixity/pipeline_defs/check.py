"""Validate any ICA input form (pipeline XML): structure, attributes, codes, types and defaults, with line numbers.

ICA publishes no XSD; these rules follow its documentation and public working
forms (see REFERENCE.md). expat gives each element's line, so every problem
points at the line to fix.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from xml.parsers import expat

from seqfixity.pipeline_defs.ica_xml import NAMESPACE, TYPE_ELEMENTS

TEXT_ELEMENTS = ("label", "description")
BOOLEAN_VALUES = ("true", "false")
DATA_TYPES = ("FILE", "DIRECTORY")
EXECUTIONS = ("MANDATORY", "OPTIONAL")
CLASSIFICATIONS = ("USER",)
_INTEGER = re.compile(r"^[+-]?\d+$")
_COUNT = re.compile(r"^\d+$")


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
        if self.namespace == NAMESPACE:
            return f"pd:{self.name}"
        return f"{{{self.namespace}}}{self.name}" if self.namespace else self.name


@dataclass(frozen=True)
class Problem:
    """One fault of a form, at a line (0: the whole file)."""

    line: int
    message: str

    def format(self, path: str) -> str:
        """``PATH:LINE: message``."""
        return f"{path}:{self.line}: {self.message}"


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
    """Return every problem of the form in ``data``, in line order (empty: the form is valid)."""
    try:
        root = parse(data)
    except expat.ExpatError as err:
        return [Problem(err.lineno, f"not well-formed XML: {expat.ErrorString(err.code)} (column {err.offset + 1})")]
    checker = _Checker()
    checker.pipeline(root)
    checker.unique_codes()
    return sorted(checker.problems, key=lambda p: p.line)


class _Checker:
    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.codes: dict[str, list[tuple[str, Node]]] = defaultdict(list)

    def fault(self, node: Node, message: str) -> None:
        self.problems.append(Problem(node.line, message))

    def pipeline(self, root: Node) -> None:
        if root.namespace != NAMESPACE or root.name != "pipeline":
            self.fault(root, f"the root element must be pd:pipeline in namespace {NAMESPACE}, not {root.shown}"
                       + ("" if root.namespace == NAMESPACE else f" (namespace {root.namespace or 'none'})"))
            return
        self.attributes(root, {"code": None, "version": None})
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
        self.attributes(node, {"code": None, "format": None, "type": DATA_TYPES, "required": BOOLEAN_VALUES,
                               "multiValue": BOOLEAN_VALUES})
        self.children(node, {"label": (1, 1), "description": (0, 1)})
        self.texts(node)
        self.remember_code("params", node)

    def step(self, node: Node) -> None:
        self.attributes(node, {"execution": EXECUTIONS, "code": None})
        self.children(node, {"label": (0, 1), "description": (0, 1), "tool": (0, None)})
        self.texts(node)
        self.remember_code("step", node)
        for tool in self.named(node, "tool"):
            self.attributes(tool, {"code": None})
            self.children(tool, {"label": (0, 1), "description": (0, 1), "parameter": (0, None)})
            self.texts(tool)
            self.remember_code("tool", tool)
            for parameter in self.named(tool, "parameter"):
                self.parameter(parameter)

    def parameter(self, node: Node) -> None:
        self.attributes(node, {"code": None, "minValues": None, "maxValues": None,
                               "classification": CLASSIFICATIONS})
        self.remember_code("params", node)
        types = {kind: (0, 1) for kind in TYPE_ELEMENTS.values()}
        self.children(node, {"label": (1, 1), "description": (0, 1), "value": (0, None), **types})
        self.texts(node)
        high = self.bounds(node)
        found = [child for child in node.children if child.namespace == NAMESPACE and child.name in types]
        if len(found) != 1:
            kinds = ", ".join(f"pd:{kind}" for kind in TYPE_ELEMENTS.values())
            self.fault(node, f"pd:parameter {node.attributes.get('code', '')!r} needs exactly one type element "
                             f"({kinds}); it has {len(found)}")
        values = self.named(node, "value")
        if high is not None and len(values) > high:
            self.fault(values[high], f"pd:parameter {node.attributes.get('code', '')!r} has {len(values)} "
                                     f"pd:value defaults but maxValues={high}")
        if len(found) == 1:
            options = self.options(found[0])
            for value in values:
                self.fits(node, found[0].name, value, options)

    def options(self, kind: Node) -> list[str]:
        if kind.name != "optionsType":
            self.children(kind, {})
            return []
        self.children(kind, {"option": (1, None)})
        seen: dict[str, Node] = {}
        for option in self.named(kind, "option"):
            text = option.text.strip()
            if not text:
                self.fault(option, "empty pd:option")
            elif text in seen:
                self.fault(option, f"pd:option {text!r} repeats the one on line {seen[text].line}")
            else:
                seen[text] = option
        return list(seen)

    def fits(self, parameter: Node, kind: str, value: Node, options: list[str]) -> None:
        text = value.text.strip()
        code = parameter.attributes.get("code", "")
        if kind == "integerType" and not _INTEGER.match(text):
            self.fault(value, f"default {text!r} of pd:parameter {code!r} is not a whole number (pd:integerType)")
        elif kind == "floatType" and not _is_float(text):
            self.fault(value, f"default {text!r} of pd:parameter {code!r} is not a number (pd:floatType)")
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

    def attributes(self, node: Node, allowed: dict[str, tuple[str, ...] | None]) -> None:
        for name, values in allowed.items():
            value = node.attributes.get(name)
            if value is None:
                self.fault(node, f"{node.shown} lacks the required attribute {name}")
            elif not value.strip():
                self.fault(node, f"{node.shown} has an empty {name}")
            elif values is not None and value not in values:
                self.fault(node, f"{name}={value!r} on {node.shown} is not one of {', '.join(values)}")

    def children(self, node: Node, allowed: dict[str, tuple[int, int | None]]) -> None:
        counts: dict[str, int] = defaultdict(int)
        for child in node.children:
            if child.namespace != NAMESPACE:
                self.fault(child, f"{child.shown} is not in the ICA namespace {NAMESPACE}")
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

    def texts(self, node: Node) -> None:
        for child in self.named(node, *TEXT_ELEMENTS):
            if child.children:
                self.fault(child.children[0], f"{child.shown} holds text only, not {child.children[0].shown}")
            if child.name == "label" and not child.text.strip():
                self.fault(child, "empty pd:label")

    def remember_code(self, scope: str, node: Node) -> None:
        code = node.attributes.get("code", "").strip()
        if code:
            self.codes[f"{scope}\0{code}"].append((scope, node))

    def unique_codes(self) -> None:
        for key, nodes in self.codes.items():
            code = key.split("\0", 1)[1]
            first = nodes[0][1]
            for _scope, node in nodes[1:]:
                self.fault(node, f"code {code!r} of {node.shown} repeats the {first.shown} on line {first.line}"
                                 + (" (every data input and parameter becomes params." + code + ")"
                                    if nodes[0][0] == "params" else ""))

    @staticmethod
    def named(node: Node, *names: str) -> list[Node]:
        return [child for child in node.children if child.namespace == NAMESPACE and child.name in names]


def _is_float(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False
