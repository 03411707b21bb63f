#!/usr/bin/env bash
# Install seqfixity, generate the example's large FASTQ, run the workflow on the example data
# and print where the reports are. Usage: bash scripts/run-example.sh [extra snakemake options]
# SEQFIXITY_SKIP_INSTALL=1 skips the install step (packages already there).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${SEQFIXITY_SKIP_INSTALL:-0}" = 1 ] || bash scripts/install-deps.sh
# sample EXAMPLE3: a pair of 20 MB FASTQs (the same number of reads, as a pair must have), over ICA's 16 MB
# threshold, so that the example shows multipart ETags
for read in 1 2; do
  python3 scripts/make-example-data.py --reads 60000 --seed "3$read" \
    --output "example/generated/EXAMPLE3_S3_L001_R${read}_001.fastq" >/dev/null
done
python3 -m snakemake --workflow-profile workflows/profiles/local "$@"
echo
echo "Reports:"
for report in results/report.html results/seqfixity.tsv results/seqfixity.xlsx results/summary.json results/seqfixity_mqc.tsv; do
  echo "  $PWD/$report"
done
echo "  $PWD/results/checksums/{sample}_md5.txt  (check: cd example/data && md5sum -c ../../results/checksums/EXAMPLE1_md5.txt: both reads of sample EXAMPLE1)"
python3 -c 'import json; print("Outcome:", json.load(open("results/summary.json"))["line"])'
