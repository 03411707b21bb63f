#!/usr/bin/env bash
# Install seqfixity on a fresh Debian machine (run as root or with sudo).
#   bash scripts/install-deps.sh          # what the workflow needs (Python packages)
#   bash scripts/install-deps.sh --test   # plus the tools the test suite compares against
# One package per line in each list, so that additions merge cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use as oracles or to parse generated files.
TEST_APT_PACKAGES=(
  coreutils             # md5sum, the reference for every digest
  hashdeep              # writes hashdeep manifests for the check tests
  rclone                # writes rclone SUM files for the check tests
  bzip2                 # writes and tests the .fastq.bz2 files of the Illumina delivery tests
  zstd                  # writes and tests the .fastq.zst files of the Illumina delivery tests
  groovy                # parses the generated main.nf
  default-jre-headless  # the JVM groovy runs on
  slurmctld             # the one-node SLURM cluster of scripts/slurm-local-cluster.sh (tests/test_slurm.py)
  slurmd
  slurm-client
  slurmdbd              # accounting: sacct, which the tests read
  munge
  mariadb-server        # slurmdbd's database
  chromium              # opens report.html headless, offline (tests/test_reports_html.py)
)

extras="workflow,remote"
if [ "${1:-}" = "--test" ]; then
  extras="workflow,remote,test"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  if [ "${SEQFIXITY_SKIP_APT:-0}" != 1 ]; then
    missing=()
    for package in "${TEST_APT_PACKAGES[@]}"; do
      dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    if [ ${#missing[@]} -gt 0 ]; then
      $SUDO apt-get update -qq
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
    fi
  fi
fi
python3 -m pip install --quiet --disable-pip-version-check -e ".[$extras]"
