"""ICA's file naming guidelines: safe characters and a 32-character limit on the file name."""

from __future__ import annotations

import re

MAX_NAME_LENGTH = 32
SAFE_CHARACTERS = "letters, digits and ! - _ . * ' ( )"
_UNSAFE = re.compile(r"[^A-Za-z0-9!\-_.*'()]")


def naming_findings(file_name: str) -> list[str]:
    """Return the ways ``file_name`` (its folder path is ignored, as ICA counts it) breaks ICA's guidelines.

    An empty list means the name is safe.
    """
    name = file_name.rsplit("/", 1)[-1]
    findings = []
    unsafe = sorted(set(_UNSAFE.findall(name)))
    if unsafe:
        shown = " ".join(repr(c) for c in unsafe)
        findings.append(f"characters outside ICA's safe set ({SAFE_CHARACTERS}): {shown}")
    if len(name) > MAX_NAME_LENGTH:
        findings.append(f"name has {len(name)} characters, more than ICA's {MAX_NAME_LENGTH}")
    return findings
