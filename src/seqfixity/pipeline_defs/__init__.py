"""Generators for the Nextflow pipeline and the ICA input form, from the same :class:`Settings` as the workflow."""

from __future__ import annotations

import os
import re

from seqfixity.atomic import write_bytes_atomic
from seqfixity.errors import SettingsError
from seqfixity.pipeline_defs.form import data_inputs, parameters
from seqfixity.pipeline_defs.ica_xml import build_form, form_bytes
from seqfixity.pipeline_defs.nextflow import render_config, render_main
from seqfixity.settings import Settings

DEFAULT_NAME = "seqfixity"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def render(settings: Settings, name: str = DEFAULT_NAME) -> dict[str, bytes]:
    """Return the files of the pipeline definition: ``main.nf``, ``nextflow.config`` and ``NAME.xml``."""
    from seqfixity import __version__

    if not _NAME_RE.match(name) or name.endswith("."):
        raise SettingsError(f"pipeline name {name!r}: use letters, digits, '_', '.', '-' (at most 64)")
    params = parameters(settings)
    form = build_form(name, data_inputs(), params)
    return {
        "main.nf": render_main(name, params, settings, __version__).encode(),
        "nextflow.config": render_config(name, params, __version__).encode(),
        f"{name}.xml": form_bytes(form),
    }


def generate(settings: Settings, outdir: str, name: str = DEFAULT_NAME) -> list[str]:
    """Write the pipeline definition into ``outdir`` (each file atomically); return the paths written."""
    written = []
    for file_name, data in render(settings, name).items():
        path = os.path.join(outdir, file_name)
        write_bytes_atomic(path, data)
        written.append(path)
    return written
