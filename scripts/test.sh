#!/usr/bin/env bash
# Install everything the test suite needs, start the services it uses, and run every test.
# This is the README's second command and what CI (.ci/run) runs.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh --test

echo "== ruff"
python3 -m ruff check src tests benchmarks scripts

echo "== generated pipeline definitions are up to date"
bash scripts/check-pipeline-defs.sh

echo "== snakemake --lint"
python3 -m snakemake --lint --quiet >/dev/null

if [ "$(id -u)" -eq 0 ]; then
  echo "== local SLURM cluster (for tests/test_slurm.py)"
  bash scripts/slurm-local-cluster.sh start
  trap 'bash scripts/slurm-local-cluster.sh stop' EXIT
fi

echo "== pytest"
python3 -m pytest -q -p no:cacheprovider "$@"

# The digest tests once more on every other MD5 backend this machine has (the run above took the fastest;
# tests/test_lanes.py covers every backend in-process already).
for backend in $(python3 -c "from seqfixity.engine import lanes; print(*lanes.available_backends()[1:])"); do
  echo "== digest tests with SEQFIXITY_MD5_BACKEND=$backend"
  SEQFIXITY_MD5_BACKEND=$backend python3 -m pytest -q -p no:cacheprovider tests/test_hash.py tests/test_etag.py \
    tests/test_check_etags.py tests/test_check.py
done
