#!/usr/bin/env bash
# Installs the Debian packages Tessel needs, only those missing. Idempotent:
# a second run installs nothing. Usage: setup.sh [--test]
#   (default)  what building and running Tessel needs
#   --test     also what the tests need (headless Chromium, Python checks)
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git python3 time
  libsystemc-dev libboost-dev libboost-program-options-dev
  nlohmann-json3-dev libfmt-dev libgtest-dev libonnx-dev libprotobuf-dev libssl-dev libsqlite3-dev libpagmo-dev
  libboost-mpi-dev openmpi-bin
)
if [[ "${1:-}" == "--test" ]]; then
  packages+=(python3-jsonschema python3-pil chromium)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "setup: installing ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
