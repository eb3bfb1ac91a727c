#!/usr/bin/env bash
# The portability benchmark as the README's table was made: every kernel family on Serial and on OpenMP
# with 1 and 2 threads, float and double, the roof (OpenBLAS gemm, triad bandwidth) measured in the same
# run. JSON lines go to stdout and to bench-results/portability-<date>.jsonl; the table to stderr.
#
#   scripts/bench_portability.sh [extra seqrec-bench-portability options, e.g. --quick or --kernels als]
#   SEQREC_BENCH_THREADS (default "1,2")
#
# The CUDA rows come from scripts/gpu_check.sh on a lent GPU machine (its $OUT/portability.jsonl);
# scripts/plot_bench.py draws any of these files. Not run by CI: timings need a quiet machine.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$SEQREC_ROOT"
if [[ ! -x build/bin/seqrec-bench-portability ]]; then
  echo "[bench_portability] build/bin/seqrec-bench-portability missing: building" >&2
  "$SEQREC_ROOT/scripts/build.sh" >&2
fi
mkdir -p bench-results
out=bench-results/portability-$(date -u +%Y%m%dT%H%M%SZ).jsonl
echo "[bench_portability] $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
# One process per thread count runs alone, so spreading its threads over the cores is safe here.
OMP_PROC_BIND=spread OMP_PLACES=threads build/bin/seqrec-bench-portability --threads "${SEQREC_BENCH_THREADS:-1,2}" \
  "$@" | tee "$out.tmp"
mv "$out.tmp" "$out"
echo "[bench_portability] wrote $out" >&2
