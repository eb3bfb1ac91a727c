#!/usr/bin/env bash
# Builds and runs the whole test suite:
#   1. build/        Serial+OpenMP, float and double: ctest (one entry per test file, plus tools/*: the Release
#                    tools end to end on the real data); test executables at -O1 (tests/CMakeLists.txt says why)
#   2. build-asan/   the same tests under AddressSanitizer + UndefinedBehaviorSanitizer: ctest; the templated
#                    cases on Serial float and OpenMP double only (SEQREC_TEST_BACKEND_SET=diagonal)
#   3. build-cuda/   the tests' Cuda cases (float and double), the headers and the tools compiled and linked with
#                    nvcc against the CUDA Kokkos (compile-only here; scripts/gpu_pack.sh builds every case and
#                    scripts/gpu_check.sh runs them where a GPU is lent)
#   4. build-fuzz/   libFuzzer over every reader, a few seconds per format
# Skip steps with SEQREC_SKIP_ASAN=1, SEQREC_SKIP_FUZZ=1 or SEQREC_SKIP_CUDA=1.
set -euo pipefail
source "$(dirname "$0")/env.sh"
t_all=$SECONDS

t0=$SECONDS
"$SEQREC_ROOT/scripts/build.sh"
(cd "$SEQREC_ROOT/build" && ctest --output-on-failure -j "$JOBS")
echo "[test] build/: built and tested in $((SECONDS - t0)) s"

if [ "${SEQREC_SKIP_ASAN:-0}" != 1 ]; then
  t0=$SECONDS
  # -O0 -g1: line tables for the reports. -O1 took twice as long to compile this build (1158 s against 603 s,
  # tests included), and the tests, slower unoptimised, still finish in under two minutes.
  configure_build "$SEQREC_ROOT/build-asan" -DKokkos_ROOT="$SEQREC_KOKKOS_OMP" -DCMAKE_CXX_COMPILER=g++ \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O0 -g1 -DNDEBUG" \
    -DSEQREC_SANITIZE=address,undefined -DSEQREC_TEST_BACKEND_SET=diagonal -DSEQREC_BUILD_EXAMPLES=OFF \
    -DSEQREC_BUILD_BENCHMARKS=OFF -DSEQREC_HEADER_CHECKS=OFF
  # LeakSanitizer: OpenMP runtime keeps its thread pool alive at exit; that is not ours to free.
  (cd "$SEQREC_ROOT/build-asan" && ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
     UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j "$JOBS" -E install_consumer)
  echo "[test] build-asan/: sanitizer build tested in $((SECONDS - t0)) s"
fi

if [ "${SEQREC_SKIP_FUZZ:-0}" != 1 ]; then
  t0=$SECONDS
  # A short libFuzzer run of every reader (clang, ASan + UBSan); scripts/fuzz.sh alone runs longer.
  SEQREC_FUZZ_SECONDS=${SEQREC_FUZZ_SECONDS:-8} "$SEQREC_ROOT/scripts/fuzz.sh"
  echo "[test] fuzzing done in $((SECONDS - t0)) s"
fi

if [ "${SEQREC_SKIP_CUDA:-0}" != 1 ] && [ -n "${SEQREC_KOKKOS_CUDA:-}" ]; then
  t0=$SECONDS
  # Compile-only: host code at -O0 (nothing runs here; scripts/gpu_pack.sh makes the optimised build to run).
  configure_build "$SEQREC_ROOT/build-cuda" -DKokkos_ROOT="$SEQREC_KOKKOS_CUDA" \
    -DCMAKE_CXX_COMPILER="$SEQREC_KOKKOS_CUDA/bin/nvcc_wrapper" -DSEQREC_MARCH=x86-64-v3 \
    -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-O0 -DSEQREC_TEST_BACKEND_SET=device
  echo "[test] build-cuda/: CUDA compile-only target built in $((SECONDS - t0)) s (not run: no GPU here)"
fi
echo "[test] all done in $((SECONDS - t_all)) s"
