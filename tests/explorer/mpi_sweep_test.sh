#!/usr/bin/env bash
# `tessel sweep --mpi` under mpirun: 3 ranks (rank 0 searches and stores,
# ranks 1 and 2 simulate) give the same points.csv as a local run, for a grid
# and for NSGA-II, and so do 2 ranks; one rank alone is a clear error.
# Usage: mpi_sweep_test.sh TESSEL SOURCE_DIR
set -uo pipefail
tessel="$1"
cd "$2"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# Containers often run tests as root; Open MPI refuses that unless told.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpi=(timeout 300 mpirun --oversubscribe)
passed=0
failures=0
check() { if [[ "$2" -eq 0 ]]; then passed=$((passed + 1)); else echo "FAIL: $1"; failures=$((failures + 1)); fi; }

printf '{"arch": "configs/arch/edge_npu.json", "workload": "mobilenet_v2", "parameters": [{"path": "model.width_mult", "values": [0.5, 1.0]}, {"path": "model.resolution", "values": [160, 224]}, {"path": "arch.array.rows", "values": [16, 32, 64]}], "objectives": [{"metric": "totals.latency_ms", "goal": "min"}, {"metric": "accuracy", "goal": "max"}]}' >"$tmp/grid.json"
printf '{"arch": "configs/arch/edge_npu.json", "workload": "mobilenet_v2", "parameters": [{"path": "model.width_mult", "values": [0.35, 0.5, 0.75, 1.0]}, {"path": "model.resolution", "values": [96, 160, 224]}, {"path": "arch.array.rows", "values": [8, 16, 32, 64]}], "objectives": [{"metric": "totals.latency_ms", "goal": "min"}, {"metric": "accuracy", "goal": "max"}], "strategy": {"name": "nsga2", "population": 8, "generations": 3, "seed": 5}}' >"$tmp/nsga2.json"

for spec in grid nsga2; do
  "$tessel" sweep "$tmp/$spec.json" -o "$tmp/$spec-local" --jobs 2 >/dev/null; check "$spec: local run" $?
  "${mpi[@]}" -n 3 "$tessel" sweep "$tmp/$spec.json" -o "$tmp/$spec-mpi" --mpi >"$tmp/$spec-mpi.log" 2>&1
  check "$spec: mpirun -n 3" $?
  cmp -s "$tmp/$spec-local/points.csv" "$tmp/$spec-mpi/points.csv"; check "$spec: MPI results equal the local run's" $?
done
"${mpi[@]}" -n 2 "$tessel" sweep "$tmp/grid.json" -o "$tmp/grid-mpi2" --mpi >/dev/null 2>&1; check "grid: mpirun -n 2" $?
cmp -s "$tmp/grid-local/points.csv" "$tmp/grid-mpi2/points.csv"; check "grid: 2 ranks equal the local run" $?
grep -q "sweep grid: 12 evaluated, 0 reused; 12 ok" "$tmp/grid-mpi.log"; check "grid: rank 0 reports once" $?
[[ $(grep -c "evaluated," "$tmp/grid-mpi.log") -eq 1 ]]; check "only rank 0 prints the summary" $?
"${mpi[@]}" -n 3 "$tessel" sweep "$tmp/grid.json" -o "$tmp/grid-mpi" --mpi --resume >"$tmp/resume.log" 2>&1
grep -q "0 evaluated, 12 reused" "$tmp/resume.log"; check "MPI resume re-runs nothing" $?
"${mpi[@]}" -n 3 "$tessel" sweep "$tmp/grid.json" -o "$tmp/grid-mpi" --mpi >"$tmp/used.log" 2>&1
[[ $? -ne 0 ]] && grep -q "add --resume" "$tmp/used.log"; check "an error on rank 0 ends every rank" $?
"${mpi[@]}" -n 1 "$tessel" sweep "$tmp/grid.json" -o "$tmp/one" --mpi >"$tmp/one.log" 2>&1
[[ $? -ne 0 ]] && grep -q "needs at least 2 ranks" "$tmp/one.log"; check "one rank is an error" $?
echo "mpi sweep: $passed passed, $failures failed"
[[ $failures -eq 0 ]]
