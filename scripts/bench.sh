#!/usr/bin/env bash
# Simulator speed and memory. For each (hardware, workload) pair: process
# wall time (lowering + simulation), simulation wall time, simulated cycles,
# simulated cycles per second, events and peak RSS.
# Targets: ResNet-50 (batch 1) under 1 s wall and 200 MB RSS.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/build.sh" release >/dev/null
cd "$root"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cases=(
  "edge_npu resnet50"
  "tpu_v1_like resnet50"
  "gemmini_like resnet50"
  "edge_npu mobilenet_v2"
  "edge_npu vit"
  "edge_npu bert"
  "edge_npu gpt:mode=decode,kv_len=1024"
  "edge_npu efficientnet_b0"
  "edge_npu unet"
  "edge_npu perception"
)
printf "%-14s %-32s %7s %7s %12s %12s %9s %7s\n" hardware workload wall_s sim_s cycles cycles_per_s events rss_MB
for c in "${cases[@]}"; do
  read -r arch workload <<<"$c"
  /usr/bin/time -f "%e %M" -o "$tmp/time" ./build/release/tessel simulate \
    --arch "configs/arch/$arch.json" --workload "$workload" -o "$tmp/r.json" >/dev/null
  read -r wall rss_kb <"$tmp/time"
  python3 - "$tmp/r.json" "$arch" "$workload" "$wall" "$rss_kb" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
cycles, sim_s, events = r["totals"]["cycles"], r["simulation"]["wall_seconds"], r["simulation"]["events"]
wall, rss = float(sys.argv[4]), int(sys.argv[5]) / 1024
print(f"{sys.argv[2]:<14} {sys.argv[3]:<32} {wall:>7.2f} {sim_s:>7.3f} {cycles:>12} {cycles / max(sim_s, 1e-9):>12.3e} {events:>9} {rss:>7.1f}")
PY
done
