#!/usr/bin/env bash
# Install what seqfixity's workflow and test suite need on a fresh Debian machine (run as root or with sudo).
# One package per line in each list, so that additions merge cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  coreutils
  hashdeep
  rclone
  groovy
  default-jre-headless
)

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if [ "${SEQFIXITY_SKIP_APT:-0}" != 1 ]; then
  missing=()
  for package in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
fi
python3 -m pip install --quiet --disable-pip-version-check -e ".[workflow,remote,test]"
