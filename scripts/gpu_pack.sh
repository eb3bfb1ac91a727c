#!/usr/bin/env bash
# Prepares, on this (GPU-less) machine, everything scripts/gpu_check.sh runs on a lent GPU machine, which has
# CUDA 13 but no Kokkos, no OpenBLAS and no ../shared/data:
#   build-gpu/           Release build of the tests, seqrec-train and the benchmarks with nvcc_wrapper
#                        against a Kokkos built for $SEQREC_CUDA_ARCH (default HOPPER90: native sm_90),
#                        and the kernel profiler (benchmarks/tools)
#   build-gpu-omp/       seqrec-train for OpenMP alone (-march=x86-64-v3), for the machine's CPU cores
#   .gpu/pack.tar.xz     those executables stripped, the non-CUDA shared libraries they need (OpenBLAS,
#                        gfortran, quadmath, gomp) and the Games data, to stay under the device tool's
#                        64 MiB carry limit
# MPI is left out (-DSEQREC_ENABLE_MPI=OFF): the GPU machine has no MPI installation to run it with.
# Then, with the device tool:  run(command="scripts/gpu_check.sh", carry=[".gpu"], timeout_s=420)
set -euo pipefail
export SEQREC_CUDA_ARCH=${SEQREC_CUDA_ARCH:-HOPPER90}
source "$(dirname "$0")/env.sh"
[ -n "${SEQREC_KOKKOS_CUDA:-}" ] || { echo "[gpu_pack] no nvcc here: cannot build for CUDA" >&2; exit 2; }
B=$SEQREC_ROOT/build-gpu
cmake -S "$SEQREC_ROOT" -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=Release -DKokkos_ROOT="$SEQREC_KOKKOS_CUDA" \
  -DCMAKE_CXX_COMPILER="$SEQREC_KOKKOS_CUDA/bin/nvcc_wrapper" -DSEQREC_MARCH=x86-64-v3 -DSEQREC_ENABLE_MPI=OFF >/dev/null
# Only what runs there: the per-header compile checks are the CI's compile-only job.
mapfile -t targets < <(ninja -C "$B" -t targets | sed -n 's/^\(test_[a-z_]*\|seqrec-train\|bench-[a-z]*\|seqrec-bench-portability\): phony$/\1/p')
t0=$SECONDS
cmake --build "$B" -j "$JOBS" --target "${targets[@]}" seqrec-kernel-profile
echo "[gpu_pack] built ${#targets[@]} targets for $SEQREC_CUDA_ARCH in $((SECONDS - t0)) s" >&2
# The OpenMP seqrec-train too, for the machine's 16 cores (recurrent models train there beside the GPU).
BO=$SEQREC_ROOT/build-gpu-omp
cmake -S "$SEQREC_ROOT" -B "$BO" -G Ninja -DCMAKE_BUILD_TYPE=Release -DKokkos_ROOT="$SEQREC_KOKKOS_OMP" \
  -DCMAKE_CXX_COMPILER=g++ -DSEQREC_MARCH=x86-64-v3 -DSEQREC_ENABLE_MPI=OFF >/dev/null
cmake --build "$BO" -j "$JOBS" --target seqrec-train

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/lib" "$stage/data/games"
for t in "${targets[@]}"; do strip -o "$stage/bin/$t" "$B/bin/$t"; done
cp "$B/bin/test_model" "$stage/bin/"  # with its symbols, for a backtrace should it crash there
strip -o "$stage/bin/seqrec-train-omp" "$BO/bin/seqrec-train"
cp "$B/lib/libseqrec-kernel-profile.so" "$stage/lib/"
# Shared libraries outside glibc and CUDA (the GPU machine has its own libc, libstdc++ and CUDA 13).
ldd "$B"/bin/* "$BO/bin/seqrec-train" | awk '/=> \// {print $3}' | sort -u |
  grep -E 'lib(openblas|gfortran|quadmath|gomp)' | while read -r lib; do cp -L "$lib" "$stage/lib/"; done
cp "$SEQREC_DATA/games/games.txt" "$stage/data/games/"
printf 'arch=%s\ncommit=%s\nbuilt=%s\n' "$SEQREC_CUDA_ARCH" "$(git -C "$SEQREC_ROOT" rev-parse --short HEAD)" \
  "$(date -u +%FT%TZ)" >"$stage/BUILD"
mkdir -p "$SEQREC_ROOT/.gpu"
tar -C "$stage" -cf - . | xz -T0 -6 >"$SEQREC_ROOT/.gpu/pack.tar.xz.tmp"
mv "$SEQREC_ROOT/.gpu/pack.tar.xz.tmp" "$SEQREC_ROOT/.gpu/pack.tar.xz"
echo "[gpu_pack] .gpu/pack.tar.xz: $(du -h "$SEQREC_ROOT/.gpu/pack.tar.xz" | cut -f1)" >&2
