# The container that runs seqfixity in the generated Nextflow pipeline (pipeline_defs/): x86-64, as ICA needs.
#   docker build --platform linux/amd64 -t registry.example.org/lab/seqfixity:0.1.0 .
# Tag it with the full reference ICA will pull (container_image and container_tag in config/config.yaml),
# push it there or upload it to ICA's Docker repository, then regenerate pipeline_defs/ (README, "Running on
# Illumina Connected Analytics").
#
# It holds only what the pipeline's processes run, `seqfixity digest` and `seqfixity aggregate`: the core
# dependencies and the `tables` extra (xlsxwriter, pygal), pinned with their hashes in
# docker/requirements.lock (refresh: bash scripts/lock-container.sh). No Snakemake, pysam or SLURM plugin.
# seqfixity is built in a first stage that has a compiler (for its C extension); the final stage copies
# only the finished environment, /opt/seqfixity, and has no compiler.
# hadolint: --platform is deliberate (ICA runs x86-64 only, whatever builds the image); apt packages come from
# the Debian release the pinned base image names (bookworm) and are not pinned further, as Debian drops a
# version from its archive when it ships a fix.

# hadolint ignore=DL3029
FROM --platform=linux/amd64 python:3.11.11-slim-bookworm AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

# build-essential: gcc for setuptools' ext_modules. The python image has the headers of its own Python
# (/usr/local/include/python3.11); Debian's python3-dev would be another Python's.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -c "import os, sysconfig; assert os.path.isfile(os.path.join(sysconfig.get_paths()['include'], 'Python.h'))"

WORKDIR /build
COPY docker/build-requirements.lock docker/requirements.lock ./
# /opt/build: the pinned build backend. /opt/seqfixity: what the image runs, from wheels only, every file
# checked against the lock's hashes; no pip or setuptools of its own.
RUN python3 -m venv /opt/build \
    && /opt/build/bin/pip install --require-hashes --no-deps --only-binary :all: -r build-requirements.lock \
    && python3 -m venv --without-pip /opt/seqfixity \
    && /opt/build/bin/pip --python /opt/seqfixity/bin/python install \
        --require-hashes --no-deps --only-binary :all: -r requirements.lock

# setup.py builds the compiled multi-lane MD5 core (seqfixity.engine._md5lanes). It is optional at install,
# so the import below makes a failed compile fail the build instead of shipping the slower hashlib path.
COPY pyproject.toml setup.py README.md ./
COPY src ./src
RUN /opt/build/bin/pip wheel --no-deps --no-build-isolation --wheel-dir /build/wheels . \
    && /opt/build/bin/pip --python /opt/seqfixity/bin/python install --no-deps /build/wheels/seqfixity-*.whl \
    && /opt/build/bin/pip --python /opt/seqfixity/bin/python check \
    && /opt/seqfixity/bin/python -c "import seqfixity.engine._md5lanes" \
    && /opt/seqfixity/bin/seqfixity --version


# hadolint ignore=DL3029
FROM --platform=linux/amd64 python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/seqfixity/bin:$PATH

# procps: Nextflow reads task metrics with `ps`.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends procps \
    && rm -rf /var/lib/apt/lists/*

COPY --from=build /opt/seqfixity /opt/seqfixity
RUN seqfixity --version && seqfixity aggregate --help >/dev/null

# Root, as the images of public ICA pipelines run (biocontainers' for nf-core, StaPH-B's in UPHL-BioNGS's
# ICA pipelines): Nextflow mounts each task's work folder from ICA's storage, and ICA documents neither its
# owner nor its permissions, so a fixed non-root user might be unable to write the reports there.
# hadolint ignore=DL3002
USER 0
CMD ["seqfixity", "--help"]
