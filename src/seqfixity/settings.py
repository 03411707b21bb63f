"""The one settings object, loaded from ``config/config.yaml`` or command-line flags.

The CLI, the Snakemake rules and the pipeline generators all read
:class:`Settings`, which keeps the workflow, Nextflow and the ICA XML in step.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from seqfixity.compute import DEFAULT_ICA_PRESET, ICA_PRESETS, image_name_problem, image_tag_problem
from seqfixity.engine.etag import DEFAULT_PRESET, PRESETS, EtagError, EtagLayout, resolve_layout
from seqfixity.engine.hashes import DIGEST_KINDS
from seqfixity.errors import SettingsError, did_you_mean
from seqfixity.units import SizeError, format_size, parse_size

DEFAULT_DIGESTS = ("md5", "etag", "xxh128")
# Every key of the settings file (config/config.yaml), as config/schema.yaml documents them: the workflow's, the
# digest settings and the pipeline generator's. A key not listed is refused by every --config: a key added to the
# schema goes here too (tests/test_config_keys.py fails until it does; the schema is not installed with the
# package, so the commands read this list).
CONFIG_KEYS = frozenset({
    "inputs", "patterns", "recursive", "samples", "sample_id", "ora_decoder",
    "digests", "etag_preset", "part_size", "threshold", "validate", "naming",
    "batch_size", "batch_bytes", "large_bytes", "reuse_unchanged", "outdir", "report_paths",
    "compute_preset", "compute_cpus", "compute_memory", "container_image", "container_tag",
    "verify_against", "verify_root", "verify_args", "s3_endpoint_url", "ica_server", "ica_api_key_file",
})
VALIDATE_LEVELS = ("none", "gzip", "fastq", "strict")
NAMING_MODES = ("off", "warn", "strict")
# How files become samples: Illumina's BCL Convert names (falling back to ICA's rule), ICA's reference rule (the
# name up to its first '.'), or the sample sheet's ids.
SAMPLE_ID_RULES = ("illumina", "ica", "sheet")
# What seqfixity adds to ora_decoder: Illumina's orad writes plain FASTQ (--raw) on standard output, read from
# standard input ('-').
ORA_DECODER_ARGS = ("--raw", "--stdout", "-")


@dataclass(frozen=True)
class Settings:
    """What to compute for each file, and how strictly to judge it."""

    etag_preset: str = DEFAULT_PRESET
    part_size: int | None = None
    threshold: int | None = None
    digests: tuple[str, ...] = DEFAULT_DIGESTS
    validate: str = "fastq"
    naming: str = "warn"
    sample_id: str = "illumina"
    ora_decoder: str = ""
    compute_preset: str | None = None
    compute_cpus: int | None = None
    compute_memory: int | None = None
    container_image: str = "seqfixity"
    container_tag: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if self.etag_preset not in PRESETS:
            raise SettingsError(f"unknown etag_preset {self.etag_preset!r} ({did_you_mean(self.etag_preset, PRESETS)}"
                                f"choose from {', '.join(PRESETS)})")
        unknown = [d for d in self.digests if d not in DIGEST_KINDS]
        if unknown:
            raise SettingsError(f"unknown digest {unknown[0]!r} ({did_you_mean(unknown[0], DIGEST_KINDS)}choose from "
                                f"{', '.join(DIGEST_KINDS)})")
        if not self.digests:
            raise SettingsError("at least one digest is needed (for example md5)")
        if self.validate not in VALIDATE_LEVELS:
            hint = did_you_mean(self.validate, VALIDATE_LEVELS).strip()
            raise SettingsError(f"validate must be one of {', '.join(VALIDATE_LEVELS)}, not {self.validate!r}"
                                + (f" ({hint})" if hint else ""))
        if self.naming not in NAMING_MODES:
            raise SettingsError(f"naming must be one of {', '.join(NAMING_MODES)}, not {self.naming!r}")
        if self.sample_id not in SAMPLE_ID_RULES:
            raise SettingsError(f"sample_id must be one of {', '.join(SAMPLE_ID_RULES)}, not {self.sample_id!r}")
        if self.ora_decoder:
            self.ora_command()
        if self.part_size is not None and self.part_size <= 0:
            raise SettingsError(f"part_size must be positive, not {self.part_size}")
        self._check_compute()

    def _check_compute(self) -> None:
        if self.compute_preset is not None and self.compute_preset not in ICA_PRESETS:
            raise SettingsError(f"compute_preset {self.compute_preset!r} is not an ICA preset size "
                                f"({did_you_mean(self.compute_preset, ICA_PRESETS)}choose from "
                                f"{', '.join(ICA_PRESETS)})")
        if self.compute_preset is not None and (self.compute_cpus is not None or self.compute_memory is not None):
            raise SettingsError("set compute_preset or compute_cpus/compute_memory, not both "
                                "(ICA takes a pod preset or cpus/memory, never both in one process)")
        if (self.compute_cpus is None) != (self.compute_memory is None):
            raise SettingsError("compute_cpus and compute_memory go together (or set compute_preset)")
        if self.compute_cpus is not None and (not isinstance(self.compute_cpus, int) or self.compute_cpus < 1):
            raise SettingsError(f"compute_cpus must be a positive whole number, not {self.compute_cpus!r}")
        if self.compute_memory is not None and self.compute_memory < 1 << 20:
            raise SettingsError(f"compute_memory must be at least 1MiB, not {self.compute_memory}")
        problem = image_name_problem(self.container_image) or (
            self.container_tag is not None and image_tag_problem(self.container_tag))
        if problem:
            raise SettingsError(problem)

    @property
    def ica_preset(self) -> str | None:
        """The ICA pod preset size the pipeline asks for, or None when it asks for cpus/memory instead."""
        if self.compute_cpus is not None:
            return None
        return self.compute_preset or DEFAULT_ICA_PRESET

    @property
    def container(self) -> str:
        """The container ``image:tag`` that runs seqfixity in the generated pipeline (tag: the version)."""
        from seqfixity import __version__

        return f"{self.container_image}:{self.container_tag or __version__}"

    def ora_command(self) -> list[str]:
        """The command that decodes an ORA file from standard input to FASTQ: ``ora_decoder`` and
        :data:`ORA_DECODER_ARGS` (raises :class:`SettingsError` when ``ora_decoder`` is not a command line)."""
        import shlex

        try:
            words = shlex.split(self.ora_decoder)
        except ValueError as err:
            raise SettingsError(f"ora_decoder {self.ora_decoder!r}: not a command line ({err})") from None
        if not words:
            raise SettingsError("ora_decoder is empty: name Illumina's orad (and its --ora-reference), or leave it "
                                "out")
        return [*words, *ORA_DECODER_ARGS]

    def layout(self, size: int) -> EtagLayout:
        """Return the ETag part layout for a file of ``size`` bytes (raises :class:`EtagError`)."""
        return resolve_layout(size, self.etag_preset, self.part_size, self.threshold)

    def with_overrides(self, **values: Any) -> Settings:
        """Return a copy with the given non-None values replaced."""
        return replace(self, **{k: v for k, v in values.items() if v is not None})

    def to_cli_args(self) -> list[str]:
        """Return ``seqfixity hash`` flags that reproduce these settings."""
        args = ["--etag-preset", self.etag_preset, "--digests", ",".join(self.digests)]
        if self.part_size is not None:
            args += ["--part-size", format_size(self.part_size)]
        if self.threshold is not None:
            args += ["--threshold", format_size(self.threshold)]
        return args

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Settings:
        """Build settings from a config mapping; keys that are not settings go to ``extra``."""
        names = {f.name for f in fields(cls)} - {"extra"}
        values: dict[str, Any] = {}
        try:
            for key, value in data.items():
                if key not in names or value is None:
                    continue
                if key in ("part_size", "threshold", "compute_memory"):
                    try:
                        value = parse_size(value)
                    except SizeError as err:
                        raise SizeError(f"{key}: {err}") from None  # which of the file's sizes is wrong
                elif key == "container_tag":
                    value = str(value)
                elif key == "digests":
                    value = parse_digest_list(value)
                elif key == "naming" and value is False:  # YAML 1.1 reads a bare `naming: off` as false
                    value = "off"
                values[key] = value
        except (SizeError, EtagError) as err:
            raise SettingsError(str(err)) from None
        extra = {k: v for k, v in data.items() if k not in names}
        return cls(**values, extra=extra)

    @classmethod
    def from_yaml(cls, path: str | Path) -> Settings:
        """Load settings from a YAML file such as ``config/config.yaml``; a key it does not know is an error.

        Every command that takes ``--config`` reads it here, so a misspelt key
        (``part_sise: 16MiB``) is refused as the workflow refuses it, never ignored.
        """
        import yaml  # imported here: the hash command's start-up time counts against md5sum

        try:
            data = yaml.safe_load(Path(path).read_text()) or {}
        except OSError as err:
            raise SettingsError(f"{path}: cannot read settings: {err.strerror}") from None
        except yaml.YAMLError as err:
            raise SettingsError(f"{path}: not valid YAML: {err}") from None
        if not isinstance(data, Mapping):
            raise SettingsError(f"{path}: expected a mapping of settings at the top level")
        try:
            check_config_keys(data, CONFIG_KEYS)
            return cls.from_mapping(data)
        except SettingsError as err:
            raise SettingsError(f"{path}: {err}") from None


def check_config_keys(data: Mapping[str, Any], known: Iterable[str]) -> None:
    """Raise :class:`SettingsError` naming the first key of ``data`` that is not in ``known``.

    A misspelt key (``partsize: 16MiB``) would otherwise be ignored and its default used.
    """
    unknown = sorted(set(map(str, data)) - set(known))
    if unknown:
        raise SettingsError(f"unknown config key {unknown[0]!r} ({did_you_mean(unknown[0], sorted(known))}the keys are "
                            "listed in config/schema.yaml)")


def parse_digest_list(value: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Parse ``md5,etag,xxh128`` (or a list) into a tuple of digest names, duplicates removed."""
    items = value.split(",") if isinstance(value, str) else list(value)
    names = [str(item).strip().lower() for item in items if str(item).strip()]
    return tuple(dict.fromkeys(names))
