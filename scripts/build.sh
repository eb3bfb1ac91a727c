#!/usr/bin/env bash
# Bootstraps dependencies, then configures and builds everything (header checks, tests, examples,
# benchmarks) into build/ against the Serial+OpenMP Kokkos. Executables land in build/bin/.
#   SEQREC_BUILD_DIR  (default build)   SEQREC_BUILD_TYPE (default Release)
#   SEQREC_MARCH      (default native: AVX-512 here; set it empty for the compiler's default)
set -euo pipefail
source "$(dirname "$0")/env.sh"
t0=$SECONDS
configure_build "$SEQREC_ROOT/${SEQREC_BUILD_DIR:-build}" -DKokkos_ROOT="$SEQREC_KOKKOS_OMP" \
  -DCMAKE_CXX_COMPILER=g++ -DSEQREC_MARCH="${SEQREC_MARCH-native}"
echo "[build] build/ ready in $((SECONDS - t0)) s"
