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
echo "== ResNet-50 (model zoo) on the default edge NPU (configs/arch/edge_npu.json)"
$tessel simulate --arch configs/arch/edge_npu.json --workload resnet50 -o out/resnet50_edge_npu.json

echo
echo "== GPT-2 decode step, 2048-token KV cache, 4 KV heads, int4 weights"
$tessel simulate --arch configs/arch/edge_npu.json \
  --workload "gpt:mode=decode,kv_len=2048,kv_heads=4,weight_precision=int4" -o out/gpt2_decode.json

echo
echo "== AlexNet from SCALE-Sim inputs (configs/arch/scalesim_32x32_ws.cfg + topology CSV)"
$tessel simulate --arch configs/arch/scalesim_32x32_ws.cfg \
  --workload configs/workloads/alexnet_scalesim.csv -o out/alexnet_scalesim.json

echo
echo "== Joint sweep: MobileNetV2 width x array size on the edge NPU (--set and model specs)"
printf "%-8s %-6s %12s %10s %12s %10s\n" array width cycles latency_ms utilization MMACs
for n in 16 32; do
  for w in 0.5 0.75 1.0; do
    out="out/mobilenet_v2_w${w}_${n}x${n}.json"
    $tessel simulate --arch configs/arch/edge_npu.json --workload "mobilenet_v2:width_mult=$w" \
      --set arch.array.rows=$n --set arch.array.cols=$n -o "$out" >/dev/null
    python3 - "$out" "${n}x${n}" "$w" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))["totals"]
print(f"{sys.argv[2]:<8} {sys.argv[3]:<6} {t['cycles']:>12} {t['latency_ms']:>10.3f} {100*t['utilization']:>11.1f}% {t['macs']/1e6:>10.1f}")
PY
  done
done
echo
echo "reports in out/"
