#!/usr/bin/env bash
# Sweep throughput: cycle-level points per second for the MobileNetV2 x
# edge-NPU sweep on all cores, and analytical points per second on an
# 8800-point variant. The analytical estimate is the lowering's own
# schedule (the mapper's search priced by the mapping cost model), so its
# cost per point is the mapper's, five times over with residency (one
# mapping per staging split). Targets: >= 50 cycle-level (issue 11) and
# >= 500 analytical points per second.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/build.sh" release >/dev/null
cd "$root"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
tessel=./build/release/tessel
run() {  # run NAME POINTS ARGS...
  local name="$1" points="$2"
  shift 2
  local start end
  start=$(date +%s.%N)
  "$tessel" sweep "$@" >/dev/null
  end=$(date +%s.%N)
  python3 -c "import sys; n, s = int(sys.argv[2]), float(sys.argv[3]) - float(sys.argv[4]); print(f'{sys.argv[1]:<44} {n:>6} points {s:>8.2f} s {n / s:>10.1f} points/s')" \
    "$name" "$points" "$end" "$start"
}
run "cycle-level, mobilenet_edge, $(nproc) jobs" 72 configs/sweeps/mobilenet_edge.json -o "$tmp/cycle" --jobs "$(nproc)"
run "analytical, mobilenet_edge_large" 8800 scripts/bench/mobilenet_edge_large.json -o "$tmp/analytical" --analytical
