#!/usr/bin/env bash
# Runs on a lent GPU machine (CUDA 13, no Kokkos, no apt): the CUDA tests and the GPU benchmarks from a
# build made here by `scripts/test.sh` (build-cuda/, statically linked against Kokkos). Results go to $OUT.
# Carry build-cuda/bin with the device tool, e.g.:
#   run(command="scripts/gpu.sh", carry=["build-cuda/bin"], timeout_s=420)
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out}
mkdir -p "$OUT"
export OMP_PROC_BIND=spread OMP_PLACES=threads OMP_NUM_THREADS=${OMP_NUM_THREADS:-8}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
status=0
for t in build-cuda/bin/test_*; do
  [ -x "$t" ] || continue
  name=$(basename "$t")
  echo "== $name"
  if timeout 300 "$t" --reporter compact >"$OUT/$name.log" 2>&1; then
    tail -1 "$OUT/$name.log"
  else
    status=1
    tail -30 "$OUT/$name.log"
  fi
done
for b in build-cuda/bin/bench-*; do
  [ -x "$b" ] || continue
  name=$(basename "$b")
  echo "== $name"
  timeout 300 "$b" --quick >"$OUT/$name.jsonl" 2>&1 || status=1
  tail -15 "$OUT/$name.jsonl"
done
exit $status
