#!/usr/bin/env bash
# Set-up if needed, build, simulate ResNet-50 on the default edge NPU (summary
# on the terminal, JSON and HTML reports in out/), a GPT-2 decode step, a
# SCALE-Sim input, and joint hardware x model sweeps (grid, and NSGA-II with
# multi-fidelity screening).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/build.sh" release
cd "$root"
tessel=./build/release/tessel
mkdir -p out

echo
echo "== ResNet-50 (model zoo) on the default edge NPU (configs/arch/edge_npu.json)"
$tessel simulate --arch configs/arch/edge_npu.json --workload resnet50 -o out/resnet50_edge_npu.json \
  --timeline out/resnet50_edge_npu.trace.json
$tessel report out/resnet50_edge_npu.json --html out/resnet50_edge_npu.html --csv out/resnet50_edge_npu.csv
echo "html report   out/resnet50_edge_npu.html (timeline: out/resnet50_edge_npu.trace.json, opens in ui.perfetto.dev)"

echo
echo "== GPT-2 decode step, 2048-token KV cache, 4 KV heads, int4 weights"
$tessel simulate --arch configs/arch/edge_npu.json \
  --workload "gpt:mode=decode,kv_len=2048,kv_heads=4,weight_precision=int4" -o out/gpt2_decode.json

echo
echo "== Double-buffered PE weights (array.weight_preload): GPT-2 decode on gemmini_like, serial vs overlapped"
for p in serial overlapped; do
  $tessel simulate --arch configs/arch/gemmini_like.json --workload "gpt:mode=decode,kv_len=512" \
    --set array.weight_preload=$p -o "out/gpt2_decode_gemmini_$p.json" >/dev/null
  printf '  %-10s %12s cycles\n' "$p" \
    "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["totals"]["cycles"])' "out/gpt2_decode_gemmini_$p.json")"
done

echo
# fusion_run NAME ARCH WORKLOAD [--set ...]: simulate with fusion none and
# auto, and print each one's layers (and how many are row stripes), cycles
# and DRAM traffic.
fusion_run() {
  local name="$1" arch="$2" workload="$3"
  shift 3
  for f in none auto; do
    $tessel simulate --arch "$arch" --workload "$workload" "$@" --set schedule.fusion=$f \
      -o "out/${name}_$f.json" >/dev/null
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); t=r["totals"]; s=sum("@r" in l["name"] for l in r["layers"]); print("  fusion %-4s: %3d layers (%3d of them stripes), %10d cycles, %6.1f MB of DRAM traffic" % (sys.argv[2], len(r["layers"]), s, t["cycles"], (t["dram_read_bytes"] + t["dram_write_bytes"]) / 1e6))' \
      "out/${name}_$f.json" "$f"
  done
}

echo "== Layer fusion (schedule.fusion): ResNet-50 on edge_npu, residual adds and their ReLUs fused into the convolution before them"
fusion_run resnet50_fusion configs/arch/edge_npu.json resnet50

echo
echo "== Stripe fusion: the 6-camera perception model on fsd_npu_like cut to 4 MiB of SRAM and half its DRAM bandwidth,"
echo "   its backbone's convolution chains run in row stripes so their feature maps stay on chip"
fusion_run perception_stripes configs/arch/fsd_npu_like.json perception \
  --set sram[0].capacity_bytes=4194304 --set dram.channel_bandwidth_gb_per_s=8.532

echo
echo "== Two-level tiling (schedule.mapper): GPT-2's MLP down projection over 1,024 tokens on edge_npu with DRAM at 3.2 GB/s,"
echo "   one tile size for every buffer vs input blocks in the global buffer that every n tile reads on chip"
for mp in single_level multi_level; do
  $tessel simulate --arch configs/arch/edge_npu.json --workload configs/workloads/gpt2_mlp_down.json \
    --set dram.channel_bandwidth_gb_per_s=3.2 --set schedule.mapper=$mp -o "out/gpt2_mlp_down_$mp.json" >/dev/null
  block=$($tessel lower --arch configs/arch/edge_npu.json --workload configs/workloads/gpt2_mlp_down.json \
    --set dram.channel_bandwidth_gb_per_s=3.2 --set schedule.mapper=$mp --plan | awk 'NR == 2 {print $8}')
  python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["totals"]; print("  %-12s: block %5s, %9d cycles, %5.1f MB of DRAM traffic" % (sys.argv[2], sys.argv[3], t["cycles"], (t["dram_read_bytes"] + t["dram_write_bytes"]) / 1e6))' \
    "out/gpt2_mlp_down_$mp.json" "$mp" "$block"
done

echo
echo "== Fused attention tiled over the KV length (online softmax): one GPT-2 block, prefill of 1,024 tokens on edge_npu"
$tessel lower --arch configs/arch/edge_npu.json --workload gpt:layers=1 --plan | awk 'NR == 1 || /scores/'
$tessel simulate --arch configs/arch/edge_npu.json --workload gpt:layers=1 -o out/gpt_block_fused_attention.json >/dev/null
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); l=[x for x in r["layers"] if "scores" in x["name"]][0]; print("  %s: %d cycles, %.1f MB of DRAM (no score leaves the chip)" % (l["name"], l["cycles"], (l["dram_read_bytes"] + l["dram_write_bytes"]) / 1e6))' \
  out/gpt_block_fused_attention.json

echo
echo "== Controller cost: MobileNetV2 on edge_npu, free layer set-up vs 5 us per layer (the controller runs ahead, so only the first shows)"
for lc in 0 5000; do
  $tessel simulate --arch configs/arch/edge_npu.json --workload mobilenet_v2 \
    --set controller.layer_cycles=$lc -o "out/mobilenet_v2_launch_$lc.json" >/dev/null
  python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["totals"]; print("  layer_cycles %5s: %10d cycles, %8d waiting for the controller" % (sys.argv[2], t["cycles"], t["stall_by_cause"]["dispatch"]))' \
    "out/mobilenet_v2_launch_$lc.json" "$lc"
done

echo
echo "== AlexNet from SCALE-Sim inputs (configs/arch/scalesim_32x32_ws.cfg + topology CSV)"
$tessel simulate --arch configs/arch/scalesim_32x32_ws.cfg \
  --workload configs/workloads/alexnet_scalesim.csv -o out/alexnet_scalesim.json

echo
echo "== Joint sweep: MobileNetV2 width/resolution x edge-NPU array, buffer and DRAM (configs/sweeps/mobilenet_edge.json)"
rm -rf out/sweep_mobilenet_edge
$tessel sweep configs/sweeps/mobilenet_edge.json -o out/sweep_mobilenet_edge
python3 - out/sweep_mobilenet_edge/pareto.json <<'PY'
import json, sys
front = json.load(open(sys.argv[1]))
print("Pareto front (latency, ImageNet top-1, area, energy per inference):")
for p in sorted(front["points"], key=lambda p: p["metrics"]["totals.latency_ms"]):
    m, q = p["metrics"], p["params"]
    print(f"  {m['totals.latency_ms']:7.3f} ms  {m['accuracy']:4.1f}%  {m['hardware.area_mm2']:6.2f} mm2  {m['totals.energy_pj']/1e9:6.3f} mJ"
          f"   width {q['model.width_mult']}, res {q['model.resolution']}, {q['arch.array.rows']}x{q['arch.array.cols']},"
          f" gbuf {q['arch.sram[0].capacity_bytes']//1024} KiB, DRAM {q['arch.dram.channel_bandwidth_gb_per_s']} GB/s/ch")
PY
echo "plots and sensitivity: out/sweep_mobilenet_edge/pareto.html"

echo
echo "== How much SRAM an FSD-class NPU needs: SRAM 0.5-64 MiB x DRAM bandwidth (configs/sweeps/fsd_sram*.json)"
for f in fsd_sram fsd_sram_perception; do
  rm -rf "out/sweep_$f"
  $tessel sweep "configs/sweeps/$f.json" -o "out/sweep_$f" >/dev/null
  python3 - "out/sweep_$f/points.csv" "$f" <<'PY'
import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1])) if r["arch.dram.channel_bandwidth_gb_per_s"] == "17.064"]
rows.sort(key=lambda r: int(r["arch.sram[0].capacity_bytes"]))
best = min(float(r["totals.latency_ms"]) for r in rows)
print(f"{sys.argv[2]} at 17.064 GB/s per channel (the chip's LPDDR4-4266 x32):")
for r in rows:
    print(f"  SRAM {int(r['arch.sram[0].capacity_bytes']) / 2**20:6.1f} MiB  {float(r['totals.latency_ms']):8.3f} ms"
          f"  DRAM reads {float(r['totals.dram_read_bytes']) / 1e6:8.1f} MB  area {float(r['hardware.area_mm2']):6.1f} mm2")
knee = next(r for r in rows if float(r["totals.latency_ms"]) <= 1.05 * best)
print(f"  knee: {int(knee['arch.sram[0].capacity_bytes']) / 2**20:.1f} MiB is within 5% of the best latency ({best:.3f} ms)")
PY
  echo "  plots: out/sweep_$f/pareto.html"
done

echo
echo "== GPT-2 decode sweep: array, buffer, DRAM x KV length and weight precision (configs/sweeps/gpt_decode.json)"
rm -rf out/sweep_gpt_decode
$tessel sweep configs/sweeps/gpt_decode.json -o out/sweep_gpt_decode

echo
echo "== NSGA-II on the analytical estimate, then the 30 most promising simulated (configs/sweeps/mobilenet_nsga2.json)"
rm -rf out/sweep_mobilenet_nsga2
$tessel sweep configs/sweeps/mobilenet_nsga2.json -o out/sweep_mobilenet_nsga2 --screen 30
echo
echo "reports in out/"
