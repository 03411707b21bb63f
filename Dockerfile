# The container that runs seqfixity in the generated Nextflow pipeline (pipeline_defs/): x86-64, as ICA needs.
#   docker build --platform linux/amd64 -t seqfixity:0.1.0 .
# The image name and tag must match container_image and container_tag in config/config.yaml
# (default seqfixity:<version>); push it where ICA can pull it, or upload it to ICA.
FROM --platform=linux/amd64 python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# procps: Nextflow reads task metrics with `ps`.
RUN apt-get update \
    && apt-get install -y --no-install-recommends procps \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/seqfixity
COPY pyproject.toml README.md ./
COPY src ./src
# The workflow extra brings pandas and xlsxwriter, which `seqfixity aggregate` writes its tables with.
RUN pip install ".[workflow]" && seqfixity --version

RUN useradd --create-home --uid 1000 --user-group --shell /bin/bash seqfixity
USER seqfixity
WORKDIR /home/seqfixity
CMD ["seqfixity", "--help"]
