#!/usr/bin/env bash
# Refresh the container's pinned lock files from pyproject.toml, for the Dockerfile's Python on x86-64 Linux:
#   docker/requirements.lock        what `seqfixity digest` and `seqfixity aggregate` run: the core
#                                   dependencies and the `tables` extra (xlsxwriter, pygal), nothing else
#   docker/build-requirements.lock  the build backend ([build-system] requires) that builds seqfixity's wheel
# Both pin every package with its hashes (pip install --require-hashes in the Dockerfile).
#   pip install uv && bash scripts/lock-container.sh
# Run it after changing dependencies in pyproject.toml or the Python version in the Dockerfile, then rebuild
# the image; tests/test_pipeline_defs.py fails while the lock no longer satisfies pyproject.toml.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v uv >/dev/null || { echo "lock-container: uv is missing: pip install uv" >&2; exit 1; }

# The Python of the image: FROM python:X.Y.Z-slim-... in the Dockerfile.
python_version="$(sed -nE 's/^FROM .*python:([0-9]+\.[0-9]+\.[0-9]+)-slim.*/\1/p' Dockerfile | head -n 1)"
[ -n "$python_version" ] || { echo "lock-container: no FROM python:X.Y.Z-slim line in Dockerfile" >&2; exit 1; }
target=(--python-version "$python_version" --python-platform x86_64-manylinux_2_28 --generate-hashes
        --no-annotate --custom-compile-command "bash scripts/lock-container.sh" --quiet)

uv pip compile pyproject.toml --extra tables "${target[@]}" --output-file docker/requirements.lock
python3 -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"]))' \
  | uv pip compile - "${target[@]}" --output-file docker/build-requirements.lock
echo "lock-container: docker/requirements.lock and docker/build-requirements.lock written for Python $python_version"
