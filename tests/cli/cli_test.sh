#!/usr/bin/env bash
# The command-line contract: exit codes, one-line errors naming the input,
# and the report fields later tools rely on. Usage: cli_test.sh TESSEL SOURCE_DIR
set -uo pipefail
tessel="$1"
cd "$2"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
failures=0
passed=0

# expect CODE PATTERN -- command...
expect() {
  local code="$1" pattern="$2"
  shift 3
  local out rc
  out="$("$@" 2>&1)"
  rc=$?
  if [[ $rc -ne $code ]] || ! grep -qE -- "$pattern" <<<"$out"; then
    echo "FAIL: $* -> exit $rc (want $code), output:"
    echo "$out" | head -5
    failures=$((failures + 1))
  else
    passed=$((passed + 1))
  fi
}

arch=configs/arch/edge_npu.json
wl=configs/workloads/bert_base_layer.json
expect 0 "simulate" -- "$tessel" --help
expect 0 "--set" -- "$tessel" simulate --help
expect 0 "--plan" -- "$tessel" help lower
expect 2 "missing required option --arch" -- "$tessel" simulate --workload "$wl"
expect 2 "exactly one of --workload" -- "$tessel" simulate --arch "$arch"
expect 2 "unknown command" -- "$tessel" simulat
expect 1 "^tessel: error: nope.json: cannot open file$" -- "$tessel" simulate --arch nope.json --workload "$wl"
expect 1 "arch.array.rows: must be in \[1, 4096\], got 0" -- "$tessel" simulate --arch "$arch" --workload "$wl" --set arch.array.rows=0
expect 1 "arch.sram\[0\].banks: must be a power of two, got 3" -- "$tessel" simulate --arch "$arch" --workload "$wl" --set sram[0].banks=3
expect 1 "--set array.rows: expected PATH=VALUE" -- "$tessel" simulate --arch "$arch" --workload "$wl" --set array.rows
expect 1 "arch.array.bogus: unknown key" -- "$tessel" simulate --arch "$arch" --workload "$wl" --set array.bogus=1

# A report with the contract's fields; --set reaches the resolved config.
expect 0 "report +$tmp/r.json" -- "$tessel" simulate --arch "$arch" --workload "$wl" --set arch.array.rows=16 -o "$tmp/r.json"
if python3 - "$tmp/r.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["schema"].startswith("tessel.report/"), r["schema"]
for k in ["cycles", "compute_cycles", "stall_cycles", "macs", "utilization", "dram_read_bytes", "dram_write_bytes"]:
    assert k in r["totals"], k
for k in ["wall_seconds", "events"]:
    assert k in r["simulation"], k
names = [l["name"] for l in r["layers"]]
assert names == ["q_proj", "k_proj", "v_proj", "scores_qk", "context_av", "out_proj", "ffn_up", "ffn_down"], names
for l in r["layers"]:
    for k in ["name", "cycles", "compute_cycles", "stall_cycles", "stall_by_cause", "macs", "mapping_efficiency", "utilization", "dram_read_bytes", "dram_write_bytes"]:
        assert k in l, k
    assert set(l["stall_by_cause"]) == {"dram", "sram", "dma", "vector", "dispatch", "dependency"}
assert r["config"]["array"]["rows"] == 16
PY
then passed=$((passed + 1)); else echo "FAIL: report contract"; failures=$((failures + 1)); fi

# lower -> trace file -> simulate gives the same cycles as simulate directly.
expect 0 "" -- "$tessel" lower --arch "$arch" --workload "$wl" -o "$tmp/trace.json"
expect 0 "" -- "$tessel" simulate --arch "$arch" --trace "$tmp/trace.json" -o "$tmp/t.json"
expect 0 "" -- "$tessel" simulate --arch "$arch" --workload "$wl" -o "$tmp/w.json"
if python3 -c "import json,sys; a=json.load(open('$tmp/t.json')); b=json.load(open('$tmp/w.json')); sys.exit(a['totals']!=b['totals'] or a['layers']!=b['layers'])"; then
  passed=$((passed + 1))
else
  echo "FAIL: trace round trip changed the result"; failures=$((failures + 1))
fi
expect 1 "trace.instructions\[0\]" -- bash -c "echo '{\"format\":\"tessel.trace/1\",\"layers\":[\"a\"],\"instructions\":[{\"id\":0,\"op\":\"JUMP\",\"layer\":0,\"deps\":[]}]}' > $tmp/bad.json; \"$tessel\" simulate --arch $arch --trace $tmp/bad.json"

# The model zoo and workload specs.
expect 0 "perception" -- "$tessel" workloads list
expect 0 "resnet50: 88 layers, 4.09G MACs" -- "$tessel" workloads show resnet50
expect 1 "workload spec \"vit:depth=x\": depth must be an integer, got \"x\"" -- "$tessel" workloads show vit:depth=x
expect 1 "no model \"resnet49\"" -- "$tessel" simulate --arch "$arch" --workload resnet49
expect 1 "layer \".*\": needs fp32 MACs" -- "$tessel" simulate --arch "$arch" --workload resnet18:precision=fp32
if "$tessel" workloads show "mobilenet_v2:width_mult=0.75,resolution=192" --json >"$tmp/ws.json" &&
   python3 -c "import json; d=json.load(open('$tmp/ws.json')); assert d['macs'] > 1.5e8 and d['params'] > 2.5e6, d" ; then
  passed=$((passed + 1))
else
  echo "FAIL: workloads show --json"; failures=$((failures + 1))
fi
expect 0 "report" -- "$tessel" simulate --arch "$arch" --workload tests/data/onnx/tiny_bert.onnx -o "$tmp/onnx.json"

# diff and regress.
expect 0 "no differences" -- "$tessel" diff "$tmp/t.json" "$tmp/w.json"
"$tessel" simulate --arch "$arch" --workload "$wl" --set arch.dram.channels=1 -o "$tmp/slow.json" >/dev/null
expect 0 "totals.cycles" -- "$tessel" diff "$tmp/w.json" "$tmp/slow.json"
mkdir -p "$tmp/base" "$tmp/cur" "$tmp/same"
cp "$tmp/w.json" "$tmp/base/bert.json"; cp "$tmp/w.json" "$tmp/same/bert.json"; cp "$tmp/slow.json" "$tmp/cur/bert.json"
expect 0 "regress: 1 passed, 0 failed" -- "$tessel" regress --baseline "$tmp/base" --current "$tmp/same"
expect 1 "REGRESSED bert.json" -- "$tessel" regress --baseline "$tmp/base" --current "$tmp/cur" --markdown "$tmp/pr.md"
if grep -q "| bert.json | REGRESSED |" "$tmp/pr.md"; then passed=$((passed + 1)); else echo "FAIL: markdown summary"; failures=$((failures + 1)); fi
expect 1 "REGRESSED" -- "$tessel" regress --baseline "$tmp/cur" --current "$tmp/base"
expect 2 "expected METRIC=PERCENT" -- "$tessel" regress --baseline "$tmp/base" --current "$tmp/cur" --tolerance cycles
expect 1 "not a tessel report" -- "$tessel" diff "$tmp/ws.json" "$tmp/w.json"
rm -f "$tmp/same/bert.json"
expect 1 "MISSING  bert.json" -- "$tessel" regress --baseline "$tmp/base" --current "$tmp/same"

# Timeline (Chrome/Perfetto trace events) and its size bound.
expect 0 "report" -- "$tessel" simulate --arch "$arch" --workload resnet50 -o "$tmp/tl_report.json" --timeline "$tmp/tl.json"
expect 0 "report" -- "$tessel" simulate --arch "$arch" --workload resnet50 -o "$tmp/tl_report2.json" --timeline "$tmp/tl_small.json" --timeline-max-events 600
if python3 - "$tmp/tl.json" "$tmp/tl_small.json" "$tmp/tl_report.json" <<'PY'
import json, sys
full, small, report = (json.load(open(f)) for f in sys.argv[1:4])
for t in (full, small):
    spans = [e for e in t["traceEvents"] if e["ph"] == "X"]
    assert spans and all(e["dur"] >= 0 and e["ts"] >= 0 for e in spans)
    names = {e["args"]["name"] for e in t["traceEvents"] if e["ph"] == "M" and e["name"] == "thread_name"}
    assert {"array", "vector", "layers", "dma ch0"} <= names, names
    # The layers track ends where the run ends (1 cycle = 1/clock us).
    layers_tid = next(x["tid"] for x in t["traceEvents"] if x["ph"] == "M" and x.get("args", {}).get("name") == "layers")
    layers = [e for e in spans if e["tid"] == layers_tid]
    end_us = max(e["ts"] + e["dur"] for e in layers)
    assert abs(end_us - report["totals"]["cycles"] / report["config"]["clock_mhz"]) < 1e-6 * end_us
small_spans = [e for e in small["traceEvents"] if e["ph"] == "X"]
full_spans = [e for e in full["traceEvents"] if e["ph"] == "X"]
assert len(small_spans) <= 600, len(small_spans)
assert len(full_spans) > 10 * len(small_spans)
PY
then passed=$((passed + 1)); else echo "FAIL: timeline"; failures=$((failures + 1)); fi

# CSV of the per-layer table.
if "$tessel" report "$tmp/tl_report.json" --csv - >"$tmp/layers.csv" && python3 - "$tmp/layers.csv" "$tmp/tl_report.json" <<'PY'
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1])))
report = json.load(open(sys.argv[2]))
assert len(rows) == len(report["layers"])
assert sum(int(r["cycles"]) for r in rows) == report["totals"]["cycles"]
assert rows[0]["name"] == report["layers"][0]["name"]
PY
then passed=$((passed + 1)); else echo "FAIL: csv"; failures=$((failures + 1)); fi
expect 2 "give --html FILE and/or --csv FILE" -- "$tessel" report "$tmp/tl_report.json"

# Reports this script wrote go to the schema check.
if [[ -n "${TESSEL_REPORT_DIR:-}" && -d "$TESSEL_REPORT_DIR" ]]; then
  for f in "$tmp"/r.json "$tmp"/t.json "$tmp"/w.json "$tmp"/onnx.json "$tmp"/slow.json "$tmp"/tl_report.json; do
    [[ -f "$f" ]] && cp "$f" "$TESSEL_REPORT_DIR/cli-$(basename "$f")"
  done
fi

echo "cli: $passed passed, $failures failed"
[[ $failures -eq 0 ]]
