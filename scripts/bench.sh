#!/usr/bin/env bash
# Simulator speed and memory: ResNet-50 (batch 1) on the default edge NPU and
# on the 256x256 TPU-v1-like config. Prints process wall time, simulation
# wall time, simulated cycles, simulated cycles per second, events and peak
# RSS. Target: ResNet-50 under 1 s wall and 200 MB RSS.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/build.sh" release >/dev/null
cd "$root"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
printf "%-16s %-14s %9s %9s %12s %14s %9s %8s\n" hardware workload wall_s sim_s cycles cycles_per_s events rss_MB
for arch in edge_npu tpu_v1_like gemmini_like; do
  for workload in resnet50 mobilenet_v2 bert_base_layer; do
    /usr/bin/time -f "%e %M" -o "$tmp/time" ./build/release/tessel simulate \
      --arch "configs/arch/$arch.json" --workload "configs/workloads/$workload.json" -o "$tmp/r.json" >/dev/null
    read -r wall rss_kb <"$tmp/time"
    python3 - "$tmp/r.json" "$arch" "$workload" "$wall" "$rss_kb" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
cycles, sim_s, events = r["totals"]["cycles"], r["simulation"]["wall_seconds"], r["simulation"]["events"]
wall, rss = float(sys.argv[4]), int(sys.argv[5]) / 1024
print(f"{sys.argv[2]:<16} {sys.argv[3]:<14} {wall:>9.2f} {sim_s:>9.3f} {cycles:>12} {cycles / max(sim_s, 1e-9):>14.3e} {events:>9} {rss:>8.1f}")
PY
  done
done
