#!/usr/bin/env bash
# End-to-end regression, as CI runs it: simulate every case of cases.txt,
# then `tessel regress` against the golden reports (every metric exact).
# Usage: regress_test.sh TESSEL_BINARY SOURCE_DIR
set -euo pipefail
tessel="$1"
root="$2"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
while read -r name arch workload; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  (cd "$root" && "$tessel" simulate --arch "$arch" --workload "$workload" -o "$tmp/$name.json" >/dev/null)
done < "$root/tests/regression/cases.txt"
"$tessel" regress --baseline "$root/tests/regression/golden" --current "$tmp" --markdown "$tmp/summary.md"
