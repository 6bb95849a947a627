#!/usr/bin/env bash
# Simulator speed and memory. For each (hardware, workload) pair: process CPU
# time (user + sys, lowering + simulation; the minimum of 3 runs, as the
# machine is shared), the CPU time of the mapping alone (`tessel lower
# --plan`: the schedule search and the mappers), the simulation's own wall
# time, simulated cycles, trace instructions, events and peak RSS.
# Targets (issue 11): ResNet-50 on edge_npu within 0.1 s and 100 MB, a GPT-2
# decode step within 150 MB. The last case, a 32-layer decode step with an
# 8 B-class model's widths and a 32K KV cache (about 3.6 M instructions),
# shows the streamed trace: memory that does not grow with the trace.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/build.sh" release >/dev/null
cd "$root"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cases=(
  "edge_npu resnet50"
  "fsd_npu_like resnet50"
  "tpu_v1_like resnet50"
  "gemmini_like resnet50"
  "edge_npu mobilenet_v2"
  "edge_npu vit"
  "edge_npu bert"
  "edge_npu gpt:mode=decode,kv_len=1024"
  "edge_npu efficientnet_b0"
  "edge_npu unet"
  "edge_npu perception"
  "edge_npu gpt:layers=32,d_model=4096,heads=32,kv_heads=8,mode=decode,kv_len=32768"
)
cpu() {  # cpu OUT CMD...: the minimum user+sys seconds of 3 runs, and the peak RSS in KB
  local out="$1" best="" rss=0
  shift
  for _ in 1 2 3; do
    /usr/bin/time -f "%U %S %M" -o "$tmp/time" "$@" >/dev/null
    read -r user sys kb <"$tmp/time"
    best=$(python3 -c "import sys; v = float(sys.argv[1]) + float(sys.argv[2]); b = sys.argv[3]; print(v if not b else min(v, float(b)))" "$user" "$sys" "$best")
    rss=$kb
  done
  echo "$best $rss" >"$out"
}
printf "%-14s %-32s %7s %7s %7s %12s %9s %9s %7s\n" hardware workload cpu_s map_s sim_s cycles insts events rss_MB
for c in "${cases[@]}"; do
  read -r arch workload <<<"$c"
  cpu "$tmp/sim" ./build/release/tessel simulate --arch "configs/arch/$arch.json" --workload "$workload" -o "$tmp/r.json"
  cpu "$tmp/map" ./build/release/tessel lower --arch "configs/arch/$arch.json" --workload "$workload" --plan
  python3 - "$tmp/r.json" "$arch" "$workload" "$tmp/sim" "$tmp/map" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
insts = sum(l["instructions"] for l in r["layers"])
cycles, sim_s, events = r["totals"]["cycles"], r["simulation"]["wall_seconds"], r["simulation"]["events"]
cpu, rss_kb = open(sys.argv[4]).read().split()
map_cpu = open(sys.argv[5]).read().split()[0]
print(f"{sys.argv[2]:<14} {sys.argv[3]:<32} {float(cpu):>7.2f} {float(map_cpu):>7.2f} {sim_s:>7.3f} {cycles:>12} {insts:>9} {events:>9} {int(rss_kb) / 1024:>7.1f}")
PY
done
