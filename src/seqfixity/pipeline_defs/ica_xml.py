"""Build the ICA input form (``NAME.xml``) with ElementTree: escaping is the library's job, not ours."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence

from seqfixity.pipeline_defs.form import DataInput, Parameter

NAMESPACE = "xsd://www.illumina.com/ica/cp/pipelinedefinition"
PREFIX = "pd"
TYPE_ELEMENTS = {
    "string": "stringType",
    "integer": "integerType",
    "boolean": "booleanType",
    "options": "optionsType",
    "float": "floatType",
}


def _tag(name: str) -> str:
    return f"{{{NAMESPACE}}}{name}"


def _child(parent: ET.Element, name: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, _tag(name), attributes)
    if text is not None:
        element.text = text
    return element


def _flag(value: bool) -> str:
    return "true" if value else "false"


def build_form(code: str, inputs: Sequence[DataInput], parameters: Sequence[Parameter],
               description: str = "") -> ET.ElementTree:
    """Return the ``pd:pipeline`` document: data inputs, and one mandatory step whose tool has the parameters."""
    root = ET.Element(_tag("pipeline"), {"code": code, "version": "1.0"})
    data = _child(root, "dataInputs")
    for item in inputs:
        node = _child(data, "dataInput", code=item.code, format=item.format, type=item.type,
                      required=_flag(item.required), multiValue=_flag(item.multi_value))
        _child(node, "label", item.label)
        _child(node, "description", item.description)
    steps = _child(root, "steps")
    step = _child(steps, "step", execution="MANDATORY", code="general")
    _child(step, "label", "General")
    _child(step, "description", description or "Settings of the checksum and validation step.")
    tool = _child(step, "tool", code="seqfixity")
    _child(tool, "label", "seqfixity")
    _child(tool, "description", "Digests, ETag layout and checks.")
    for parameter in parameters:
        node = _child(tool, "parameter", code=parameter.code, minValues="0" if parameter.optional else "1",
                      maxValues="1", classification="USER")
        _child(node, "label", parameter.label)
        _child(node, "description", parameter.description)
        kind = _child(node, TYPE_ELEMENTS[parameter.kind])
        for option in parameter.options:
            _child(kind, "option", option)
        if parameter.default is not None:
            _child(node, "value", parameter.default)
    return ET.ElementTree(root)


def form_bytes(tree: ET.ElementTree) -> bytes:
    """Serialise the form as indented UTF-8 XML with a declaration and a final newline."""
    ET.register_namespace(PREFIX, NAMESPACE)
    ET.indent(tree, space="  ")
    return ET.tostring(tree.getroot(), encoding="UTF-8", xml_declaration=True) + b"\n"
