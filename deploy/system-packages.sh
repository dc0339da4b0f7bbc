#!/usr/bin/env bash
# Installs the Debian packages of deploy/ci-packages.txt whose command is missing (as root, with
# apt-get); otherwise says what to install. Used by `make test` and by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
while read -r pkg bin; do
  [[ -z "${pkg:-}" || "$pkg" == \#* ]] && continue
  command -v "$bin" >/dev/null 2>&1 || missing+=("$pkg")
done < deploy/ci-packages.txt
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "installing ${missing[*]} (Debian packages for the tests)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "the tests need these Debian packages: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
