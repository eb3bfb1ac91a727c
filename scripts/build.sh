#!/usr/bin/env bash
# Bootstraps dependencies, then configures build/ against the Serial+OpenMP Kokkos and builds the targets
# named on the command line, or everything (header checks, tests, examples, benchmarks) without any.
# Executables land in build/bin/.
#   scripts/build.sh                  everything (what scripts/test.sh runs)
#   scripts/build.sh seqrec-train     only that tool (what scripts/run.sh runs)
#   SEQREC_BUILD_DIR  (default build)   SEQREC_BUILD_TYPE (default Release)
#   SEQREC_MARCH      (default native: AVX-512 here; set it empty for the compiler's default)
set -euo pipefail
source "$(dirname "$0")/env.sh"
t0=$SECONDS
targets=()
for t in "$@"; do targets+=(--target "$t"); done
configure_build "$SEQREC_ROOT/${SEQREC_BUILD_DIR:-build}" -DKokkos_ROOT="$SEQREC_KOKKOS_OMP" \
  -DCMAKE_CXX_COMPILER=g++ -DSEQREC_MARCH="${SEQREC_MARCH-native}" -- "${targets[@]}"
echo "[build] ${SEQREC_BUILD_DIR:-build}/ ${*:-(everything)} ready in $((SECONDS - t0)) s"
