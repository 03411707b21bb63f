"""Where the pipeline runs: ICA compute presets and container image references."""

from __future__ import annotations

import re

# ICA's pod preset sizes (scheduler.illumina.com/presetSize): name -> (CPUs, memory in GB); None where
# ICA's documentation gives no figure (the FPGA sizes).
ICA_PRESETS: dict[str, tuple[int, int] | tuple[None, None]] = {
    "standard-small": (2, 8),
    "standard-medium": (4, 16),
    "standard-large": (8, 32),
    "standard-xlarge": (16, 64),
    "standard-2xlarge": (32, 128),
    "hicpu-small": (16, 32),
    "hicpu-medium": (36, 72),
    "hicpu-large": (72, 144),
    "himem-small": (8, 64),
    "himem-medium": (16, 128),
    "himem-large": (48, 384),
    "himem-xlarge": (96, 768),
    "hiio-small": (2, 16),
    "hiio-medium": (4, 32),
    "fpga-small": (None, None),
    "fpga-medium": (None, None),
    "fpga-large": (None, None),
}
DEFAULT_ICA_PRESET = "standard-small"

# Docker's reference grammar, simplified: optional registry host[:port], lower-case path components.
_IMAGE_RE = re.compile(
    r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?(?::[0-9]+)?/)?"
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$"
)
_TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


def image_name_problem(name: str) -> str | None:
    """Return why ``name`` is not a valid image name (``registry/path``, no tag), or None."""
    if not isinstance(name, str) or not _IMAGE_RE.match(name):
        return (f"container_image {name!r} is not an image name (lower-case letters, digits, '.', '_', '-', "
                "'/' between components, optionally a registry host first; the tag goes in container_tag)")
    return None


def image_tag_problem(tag: str) -> str | None:
    """Return why ``tag`` is not a valid image tag, or None."""
    if not isinstance(tag, str) or not _TAG_RE.match(tag):
        return f"container_tag {tag!r} is not an image tag (letters, digits, '_', '.', '-'; at most 128)"
    return None


def image_registry(name: str) -> str | None:
    """The registry host that an image name starts with, or None (Docker then pulls from Docker Hub).

    Docker's rule (distribution/reference): the first path component is a registry host when it has a
    '.' or a ':' or is 'localhost'; otherwise ``seqfixity`` means docker.io/library/seqfixity.
    """
    first, slash, _rest = name.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return first
    return None


def _on_this_machine(registry: str) -> bool:
    """Whether a registry host (``host[:port]``) is this machine: ``localhost`` or a loopback address."""
    host = registry.rsplit(":", 1)[0]
    return host == "localhost" or host.startswith("127.")


def missing_registry_warning(name: str) -> str | None:
    """Why the image ``name`` is unlikely to reach ICA: it names no registry, or one on this machine only
    (``localhost``, a loopback address), which ICA's cloud cannot reach; None when it names another."""
    registry = image_registry(name)
    if registry is not None and _on_this_machine(registry):
        return (f"container_image {name!r} is in the registry {registry}, on this machine only: ICA pulls images "
                "from its cloud and cannot reach it; push the image to a registry ICA can reach (or upload it to "
                "ICA's Docker repository), set container_image to that reference and regenerate")
    if registry is not None:
        return None
    hub = f"docker.io/{name}" if "/" in name else f"docker.io/library/{name}"
    return (f"container_image {name!r} names no registry, so ICA would pull {hub}, which is not the image built "
            "from the Dockerfile: push that image to a registry ICA can reach (or upload it to ICA's Docker "
            "repository), set container_image to its full reference (e.g. registry.example.org/lab/seqfixity, "
            "or docker.io/... for Docker Hub) and regenerate; see the README, 'Running on Illumina Connected "
            "Analytics'")
