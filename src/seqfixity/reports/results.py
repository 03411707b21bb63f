"""Per-file results of a check or verification, the batch outcome, and the JSON report.

``seqfixity check`` (against manifests) and ``seqfixity verify`` (against S3 or
ICA) both produce :class:`FileResult` rows and hand them to :class:`BatchResult`,
so their reports, exit codes and outcome lines have one shape.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, TextIO

from seqfixity.atomic import write_bytes_atomic
from seqfixity.stopping import Stopped
from seqfixity.verdict import ALL_FAILURE_VERDICTS, Outcome, Verdict, exit_code, outcome


def _printable(text: str) -> str:
    """Show a name as ``md5sum -c`` does: as is, unless a line break would split the line.

    A name holding a newline (or, unlike md5sum, a lone CR) gets a leading
    backslash and ``\\``, ``\\n``, ``\\r`` escapes; a name that only holds a
    backslash is shown unchanged, as md5sum shows it.
    """
    if "\n" not in text and "\r" not in text:
        return text
    return "\\" + text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")


@dataclass
class FileResult:
    """The verdict on one file, with what was expected, what was found, and a hint.

    ``link`` is the file's page in ICA (``https://SERVER/ica/link/project/PROJECT_ID/data/DATA_ID``) when the
    remote side is an ICA file, else empty: reports show it so a failure is one click from the file.
    """

    path: str
    verdict: Verdict
    hint: str = ""
    expected: dict[str, Any] = field(default_factory=dict)
    actual: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    link: str = ""

    def line(self) -> str:
        """Return ``path: VERDICT (hint)`` and a newline, escaped so that it stays one line."""
        hint = f" ({self.hint})" if self.hint else ""
        hint = hint.replace("\n", "\\n").replace("\r", "\\r")
        return f"{_printable(self.path)}: {self.verdict.name}{hint}\n"

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (the verdict by name)."""
        data = asdict(self)
        data["verdict"] = self.verdict.name
        return data


@dataclass
class BatchResult:
    """All per-file results of one run, and the verdict classes that count as failures.

    A run the user stopped (:meth:`stop`) holds the verdicts reached and lists
    the files not yet judged; its outcome is STOPPED.
    """

    results: list[FileResult] = field(default_factory=list)
    fail_on: frozenset[Verdict] = ALL_FAILURE_VERDICTS
    stopped: Stopped | None = None
    not_judged: list[dict[str, str]] = field(default_factory=list)

    def add(self, result: FileResult) -> None:
        """Append one file's result."""
        self.results.append(result)

    def stop(self, stopped: Stopped, not_judged: list[dict[str, str]]) -> None:
        """Mark the run as stopped by the user, with the files (``{"path", "source"}``) it had not judged."""
        self.stopped, self.not_judged = stopped, not_judged

    @property
    def outcome(self) -> Outcome:
        """SUCCEEDED, PARTIALLY_SUCCEEDED or FAILED (FAILED too when there was nothing to check); STOPPED."""
        if self.stopped is not None:
            return Outcome.STOPPED
        if not self.results:
            return Outcome.FAILED
        return outcome((r.verdict for r in self.results), self.fail_on)

    @property
    def exit_code(self) -> int:
        """The bitmask of the failing verdicts (see :mod:`seqfixity.verdict`); 130 or 143 when stopped.

        A batch with nothing in it is FAILED, so it exits with the manifest/listing
        bit rather than 0: an empty listing proves nothing.
        """
        if self.stopped is not None:
            return self.stopped.exit_status
        if not self.results:
            return Verdict.MANIFEST_ERROR.bit
        return exit_code((r.verdict for r in self.results), self.fail_on)

    def counts(self) -> dict[str, int]:
        """Return how many files got each verdict."""
        return dict(Counter(r.verdict.name for r in self.results))

    def summary_line(self) -> str:
        """Return the last line a run prints, e.g. ``PARTIALLY_SUCCEEDED: 3 OK, 1 MISMATCH``, or
        ``STOPPED: 3 of 10 judged (SIGINT; 2 OK, 1 MISMATCH)``."""
        if self.stopped is not None:
            judged = len(self.results)
            reached = ", ".join(f"{count} {name}" for name, count in self._ordered_counts())
            return (f"{Outcome.STOPPED.value}: {judged} of {judged + len(self.not_judged)} judged "
                    f"({self.stopped.signal_name}{'; ' + reached if reached else ''})")
        parts = ", ".join(f"{count} {name}" for name, count in self._ordered_counts()) or "no files"
        return f"{self.outcome.value}: {parts}"

    def _ordered_counts(self) -> list[tuple[str, int]]:
        return sorted(self.counts().items(), key=lambda item: (item[0] != "OK", item[0]))

    def to_dict(self, **context: Any) -> dict[str, Any]:
        """Return the JSON report: context, outcome, exit code, counts, and every file's result (when stopped:
        the signal and the files not yet judged)."""
        stopped = {"stopped_by": self.stopped.signal_name, "not_judged": self.not_judged} if self.stopped else {}
        return {
            **context,
            "outcome": self.outcome.value,
            "line": self.summary_line(),
            "exit_code": self.exit_code,
            "counts": self.counts(),
            "files": [r.to_dict() for r in self.results],
            **stopped,
        }

    def write_report(self, path: str | os.PathLike[str], **context: Any) -> None:
        """Write the JSON report atomically."""
        text = json.dumps(self.to_dict(**context), indent=2, ensure_ascii=False) + "\n"
        # names that are not UTF-8 hold surrogates: write them as JSON \udcXX escapes, which
        # json.loads turns back into the same surrogates (os.fsencode gives the original bytes)
        write_bytes_atomic(path, text.encode("utf-8", "backslashreplace"))

    def print_lines(self, stream: TextIO, quiet: bool = False) -> None:
        """Print ``path: VERDICT (hint)`` per file (failures only when ``quiet``), then the summary."""
        for result in self.results:
            if quiet and result.verdict is Verdict.OK:
                continue
            stream.write(result.line())
        stream.write(self.summary_line() + "\n")
