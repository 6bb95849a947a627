#!/usr/bin/env bash
# End-to-end regression: runs `tessel simulate` on every case of cases.txt
# and compares the report with its golden, field by field, ignoring only
# what legitimately varies (wall time, tool version, input paths).
# Usage: regress_test.sh TESSEL_BINARY SOURCE_DIR
set -euo pipefail
tessel="$1"
root="$2"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
status=0
while read -r name arch workload; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  (cd "$root" && "$tessel" simulate --arch "$arch" --workload "$workload" -o "$tmp/$name.json" >/dev/null)
  if ! python3 - "$root/tests/regression/golden/$name.json" "$tmp/$name.json" "$name" <<'PY'
import json, sys
golden, current, name = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
for r in (golden, current):
    r.pop("tool", None); r.pop("inputs", None); r["simulation"].pop("wall_seconds", None)
diffs = []
def walk(a, b, path):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            walk(a.get(k), b.get(k), f"{path}.{k}" if path else k)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            walk(x, y, f"{path}[{i}]")
    elif a != b:
        diffs.append(f"  {path}: golden {a!r}, now {b!r}")
walk(golden, current, "")
if diffs:
    print(f"{name}: {len(diffs)} field(s) differ from the golden report:")
    print("\n".join(diffs[:40]))
    sys.exit(1)
print(f"{name}: matches golden")
PY
  then
    status=1
  fi
done < "$root/tests/regression/cases.txt"
exit $status
