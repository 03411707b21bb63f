#!/usr/bin/env bash
# Install seqfixity, generate the example's large FASTQ, run the workflow on the example data
# and print where the reports are. Usage: bash scripts/run-example.sh [extra snakemake options]
# SEQFIXITY_SKIP_INSTALL=1 skips the install step (packages already there).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${SEQFIXITY_SKIP_INSTALL:-0}" = 1 ] || bash scripts/install-deps.sh
python3 scripts/make-example-data.py >/dev/null
python3 -m snakemake --workflow-profile workflows/profiles/local "$@"
echo
echo "Reports:"
for report in results/report.html results/seqfixity.tsv results/seqfixity.xlsx results/summary.json results/seqfixity_mqc.tsv; do
  echo "  $PWD/$report"
done
echo "  $PWD/results/checksums/{sample}_md5.txt  (check: cd example/data && md5sum -c ../../results/checksums/EXAMPLE1_md5.txt: both reads of sample EXAMPLE1)"
python3 -c 'import json; print("Outcome:", json.load(open("results/summary.json"))["line"])'
