#!/usr/bin/env bash
# Regenerates tests/regression/golden/*.json from tests/regression/cases.txt.
# Run this on purpose, when a change of cycle counts is intended, and say why
# in the commit message.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/build.sh" release >/dev/null
cd "$root"
while read -r name arch workload; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  ./build/release/tessel simulate --arch "$arch" --workload "$workload" \
    -o "tests/regression/golden/$name.json" >/dev/null
  echo "updated tests/regression/golden/$name.json"
done < tests/regression/cases.txt
