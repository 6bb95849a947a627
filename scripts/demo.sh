#!/usr/bin/env bash
# Set-up if needed, build, simulate ResNet-50 on the default edge NPU (summary
# on the terminal, JSON report in out/), run the same network from SCALE-Sim
# inputs, and a small array-size sweep with --set.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/build.sh" release
cd "$root"
tessel=./build/release/tessel
mkdir -p out

echo
echo "== ResNet-50 on the default edge NPU (configs/arch/edge_npu.json)"
$tessel simulate --arch configs/arch/edge_npu.json --workload configs/workloads/resnet50.json \
  -o out/resnet50_edge_npu.json

echo
echo "== AlexNet from SCALE-Sim inputs (configs/arch/scalesim_32x32_ws.cfg + topology CSV)"
$tessel simulate --arch configs/arch/scalesim_32x32_ws.cfg \
  --workload configs/workloads/alexnet_scalesim.csv -o out/alexnet_scalesim.json

echo
echo "== Sweep: MobileNetV2 on the edge NPU with array sizes 16..64 (--set overrides)"
printf "%-8s %14s %10s %12s %14s\n" array cycles latency_ms utilization dram_MB
for n in 16 32 64; do
  $tessel simulate --arch configs/arch/edge_npu.json --workload configs/workloads/mobilenet_v2.json \
    --set arch.array.rows=$n --set arch.array.cols=$n -o "out/mobilenet_v2_${n}x${n}.json" >/dev/null
  python3 - "out/mobilenet_v2_${n}x${n}.json" "${n}x${n}" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))["totals"]
mb = (t["dram_read_bytes"] + t["dram_write_bytes"]) / 1e6
print(f"{sys.argv[2]:<8} {t['cycles']:>14} {t['latency_ms']:>10.3f} {100*t['utilization']:>11.1f}% {mb:>14.2f}")
PY
done
echo
echo "reports in out/"
