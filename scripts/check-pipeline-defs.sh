#!/usr/bin/env bash
# Fail when the committed pipeline definitions (pipeline_defs/seqfixity/) differ from what
# `seqfixity pipeline-def` generates now from config/config.yaml, or when they do not pass --check together.
# Regenerate with:  python3 -m seqfixity pipeline-def --config config/config.yaml -o pipeline_defs/seqfixity
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
python="${PYTHON:-python3}"
name=seqfixity
committed="pipeline_defs/$name"
config=()
[ -f config/config.yaml ] && config=(--config config/config.yaml)

fresh="$(mktemp -d)"
trap 'rm -rf "$fresh"' EXIT
"$python" -m seqfixity pipeline-def "${config[@]}" --name "$name" -o "$fresh/$name" >/dev/null
if ! diff -ru "$committed" "$fresh/$name"; then
  echo "check-pipeline-defs: $committed is out of date; regenerate with:" >&2
  echo "  python3 -m seqfixity pipeline-def ${config[*]} --name $name -o $committed" >&2
  exit 1
fi
"$python" -m seqfixity pipeline-def --check "$committed" >/dev/null  # the pair: main.nf, nextflow.config, the form
echo "check-pipeline-defs: $committed is up to date"
