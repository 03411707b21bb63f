"""summary.json's ``settings``: what shaped the digests (ETag preset, part size, threshold, digests, validation
level, naming mode) and the seqfixity version, and how a report shows them.

``seqfixity aggregate`` is given the digest jobs' settings flags (the workflow and the generated Nextflow
pipeline pass the same ones to both); an aggregate run by hand without them records only the version and
the naming mode, and the reports say the rest was not given rather than show defaults as fact.
"""

from __future__ import annotations

from typing import Any

from seqfixity.engine.etag import PRESETS
from seqfixity.settings import Settings
from seqfixity.units import format_size

NOT_GIVEN = "not given to seqfixity aggregate"


def settings_entry(settings: Settings | None, naming: str) -> dict[str, Any]:
    """The ``settings`` of summary.json: ``settings`` as given (None: not given), ``naming`` and the version."""
    from seqfixity import __version__

    entry: dict[str, Any] = {"seqfixity": __version__, "naming": naming}
    if settings is not None:
        entry.update(etag_preset=settings.etag_preset, part_size=settings.part_size, threshold=settings.threshold,
                     digests=list(settings.digests), validate=settings.validate)
    return entry


def settings_rows(entry: dict[str, Any] | None) -> list[tuple[str, str]]:
    """(label, value) pairs for a report: the preset's part size and threshold when none was set."""
    entry = entry or {}
    preset = PRESETS.get(entry.get("etag_preset", ""))
    if preset is None:
        part_size = threshold = NOT_GIVEN
    else:
        own = f"the {preset.name} preset's"
        part_size = (format_size(entry["part_size"]) if entry.get("part_size")
                     else f"{format_size(preset.part_size)} ({own}; each file's is in seqfixity.tsv)")
        threshold = (format_size(entry["threshold"]) if entry.get("threshold")
                     else f"{format_size(preset.threshold)} ({own})")
    return [
        ("ETag preset", entry.get("etag_preset", NOT_GIVEN)),
        ("ETag part size", part_size),
        ("multipart from", threshold),
        ("digests", ", ".join(entry["digests"]) if entry.get("digests") else NOT_GIVEN),
        ("validation level", entry.get("validate", NOT_GIVEN)),
        ("file-name check", entry.get("naming", NOT_GIVEN)),
        ("seqfixity version", entry.get("seqfixity", NOT_GIVEN)),
    ]
