"""Read the structure of a Nextflow script or config file without running Nextflow.

Only what the pipeline check needs: top-level blocks (``process NAME { }``, ``params { }``,
``process { }`` in a config), the directives of a process, assignments in a block, ``params.X``
references, string literals. Comments are blanked, and for structure string contents are blanked too, with
offsets and line breaks unchanged: a brace or keyword inside a string or comment is never taken for code,
and every position maps back to its line. The lexer knows Groovy's quotes (``'``, ``"``, ``'''``,
``\"\"\"``), escapes and ``${...}`` inside double-quoted strings; slashy strings are rare in pipelines and are
read as code.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

_QUOTES = ("'''", '"""', "'", '"')
_STRING = re.compile(r"'''(.*?)'''|\"\"\"(.*?)\"\"\"|'((?:[^'\\\n]|\\.)*)'|\"((?:[^\"\\\n]|\\.)*)\"", re.S)
# ``params.NAME``, ``params['NAME']``, or a Map method that names a param by its first argument
# (``params.get('NAME')``, ``params.getOrDefault('NAME', x)``, ``params.containsKey('NAME')``); any other
# ``params.NAME(`` or ``params.NAME {`` is a method of the params map (``params.each { ... }``), not a param.
_PARAM = re.compile(
    r"(?<![\w.])(?<!\\\$)params\s*(?:"
    r"\.\s*(?:get|getOrDefault|containsKey)\s*\(\s*['\"]([^'\"]+)['\"]"
    r"|\.\s*([A-Za-z_]\w*)(?!\w|\s*[({])"
    r"|\[\s*['\"]([^'\"]+)['\"]\s*\])")


@dataclass(frozen=True)
class Block:
    """A ``NAME {`` ... ``}`` block: its opening words, where its body starts and ends, the line it opens on."""

    head: str
    body_start: int
    end: int
    line: int


@dataclass(frozen=True)
class Statement:
    """One line-long statement at the top of a block: its first word, the rest of the line, its line number."""

    word: str
    rest: str
    line: int
    offset: int


class Source:
    """A Nextflow file: its text, the text with comments blanked, and with strings blanked as well."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.code, self.structure = _blank(text)
        self._line_starts = [0] + [match.end() for match in re.finditer("\n", text)]

    def line_of(self, offset: int) -> int:
        """The 1-based line of a character offset."""
        return bisect_right(self._line_starts, offset)

    def blocks(self, start: int = 0, end: int | None = None) -> list[Block]:
        """The blocks that open at the top level of ``[start, end)`` (a whole file, or a block's body)."""
        end = len(self.text) if end is None else end
        found = []
        head_start = start
        position = start
        while position < end:
            char = self.structure[position]
            if char == "{":
                head = self.code[head_start:position].strip()
                close = self.matching_brace(position)
                found.append(Block(head, position + 1, close, self.line_of(position)))
                position = head_start = close + 1
                continue
            if char == "\n":
                head_start = position + 1
            position += 1
        return found

    def matching_brace(self, opening: int) -> int:
        """The offset of the ``}`` that closes the ``{`` at ``opening`` (the end of the file if none does)."""
        depth = 0
        for position in range(opening, len(self.structure)):
            char = self.structure[position]
            if char == "{":
                depth += 1
            elif char == "}":
                depth -= 1
                if depth == 0:
                    return position
        return len(self.structure)

    def statements(self, start: int, end: int) -> list[Statement]:
        """The lines of ``[start, end)`` that start a statement at its top level (not inside a nested block)."""
        found = []
        depth = 0
        line_start = start
        for position in range(start, end + 1):
            char = self.structure[position] if position < end else "\n"
            if char == "\n":
                if depth == 0:
                    line = self.structure[line_start:position]
                    match = re.match(r"\s*([A-Za-z_][\w.]*)", line)
                    if match:
                        offset = line_start + match.start(1)
                        rest = self.code[line_start + match.end(1):position]
                        found.append(Statement(match.group(1), rest, self.line_of(offset), offset))
                line_start = position + 1
            elif char in "{[(":
                depth += 1
            elif char in "}])":
                depth -= 1
        return found

    def params(self, start: int = 0, end: int | None = None) -> list[tuple[str, int]]:
        """Every ``params.NAME`` (or ``params['NAME']``) in ``[start, end)`` outside comments, with its line."""
        end = len(self.text) if end is None else end
        return [(next(group for group in match.groups() if group is not None), self.line_of(match.start()))
                for match in _PARAM.finditer(self.code, start, end)]


def string_literals(text: str) -> list[str]:
    """The contents of the quoted strings in ``text`` (a directive's arguments), in order."""
    return [next(group for group in match.groups() if group is not None) for match in _STRING.finditer(text)]


def named_argument(text: str, name: str) -> str | None:
    """The string given as ``name: '...'`` in ``text``, or None (absent, or not a string literal)."""
    match = re.search(rf"\b{name}\s*:\s*('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")", text)
    return match.group(1)[1:-1] if match else None


def _blank(text: str) -> tuple[str, str]:
    """(text with comments blanked, text with comments and string contents blanked); line breaks kept."""
    code = list(text)
    structure = list(text)
    position = 0
    # A stack of open strings: each entry is its quote and the brace depth of the ${...} being read in it.
    strings: list[list] = []
    size = len(text)

    def blank(lists: tuple[list[str], ...], start: int, stop: int) -> None:
        for index in range(start, stop):
            if text[index] != "\n":
                for chars in lists:
                    chars[index] = " "

    while position < size:
        char = text[position]
        in_code = not strings or strings[-1][1] > 0
        if in_code:
            if text.startswith("//", position):
                stop = text.find("\n", position)
                stop = size if stop < 0 else stop
                blank((code, structure), position, stop)
                position = stop
                continue
            if text.startswith("/*", position):
                stop = text.find("*/", position + 2)
                stop = size if stop < 0 else stop + 2
                blank((code, structure), position, stop)
                position = stop
                continue
            quote = next((q for q in _QUOTES if text.startswith(q, position)), None)
            if quote:
                strings.append([quote, 0])
                position += len(quote)
                continue
            if strings and char == "{":
                strings[-1][1] += 1
            elif strings and char == "}":
                strings[-1][1] -= 1
                if strings[-1][1] == 0:
                    structure[position] = " "
            if strings:
                blank((structure,), position, position + 1)
            position += 1
            continue
        quote = strings[-1][0]
        if char == "\\":
            blank((structure,), position, min(position + 2, size))
            position += 2
            continue
        if text.startswith(quote, position):
            strings.pop()
            position += len(quote)
            continue
        if '"' in quote and text.startswith("${", position):
            strings[-1][1] = 1
            blank((structure,), position, position + 2)
            position += 2
            continue
        blank((structure,), position, position + 1)
        position += 1
    return "".join(code), "".join(structure)
