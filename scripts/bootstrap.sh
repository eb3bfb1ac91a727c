#!/usr/bin/env bash
# Installs what seqrec needs on a Debian 12 machine, idempotently, and builds Kokkos 3.4.01 from Debian's
# trilinos source (the only Kokkos its archive serves with OpenMP/CUDA possible). Installs are cached under
# $SEQREC_CACHE (default ~/.cache/seqrec), keyed by Kokkos version and a hash of the patch set below, so a
# second run takes seconds. Prints the install prefixes as shell assignments on its last lines
#   SEQREC_KOKKOS_OMP=...   (Serial+OpenMP, always)
#   SEQREC_KOKKOS_CUDA=...  (Serial+OpenMP+CUDA, only when nvcc is present and SEQREC_CUDA != 0)
set -euo pipefail

CACHE=${SEQREC_CACHE:-$HOME/.cache/seqrec}
KOKKOS_VERSION=3.4.01
CUDA_ARCH=${SEQREC_CUDA_ARCH:-AMPERE80}   # sm_80 code + compute_80 PTX, which JITs on H100/H200
JOBS=${SEQREC_JOBS:-$(nproc)}
log() { printf '[bootstrap] %s\n' "$*" >&2; }

# ---------------------------------------------------------------------------------------------- Debian
PACKAGES=(cmake ninja-build g++ make pkg-config ca-certificates xz-utils
          libxtensor-dev libxsimd-dev libboost-graph-dev catch2 libopenblas-dev libopenmpi-dev openmpi-bin
          nlohmann-json3-dev libcli11-dev libfmt-dev clang-format clang libclang-rt-14-dev python3)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# ---------------------------------------------------------------------------------------------- Kokkos
# Every patch applied to the Kokkos source is in this function; its text is hashed into the cache key.
patch_kokkos() {
  # (a) nvcc_wrapper's default sm_35 is rejected by CUDA 13 (CMake's compiler probe fails)
  sed -i 's/^default_arch="sm_35"$/default_arch=${NVCC_WRAPPER_DEFAULT_ARCH:-"sm_80"}/' bin/nvcc_wrapper
  # (b) pass -std=c++20 on to nvcc, not only to the host compiler
  sed -i 's/^  --std=c++17|-std=c++17)$/  --std=c++17|-std=c++17|--std=c++20|-std=c++20)/' bin/nvcc_wrapper
  # (c) half_t needs an explicit conversion to __half; __half2double does not exist
  sed -i -E '/CUDA 11.1 versions follow/,/^#endif/{s/return __half2double\(val\);/return static_cast<T>(__half2float(half_t::impl_type(val)));/;s/return (__half2[a-z_]+)\(val\);/return \1(half_t::impl_type(val));/}' core/src/Cuda/Kokkos_Cuda_Half.hpp
  # (d) bool conversions missing in the CUDA>=11.1 branch
  sed -i '/^#else  \/\/ CUDA 11.1 versions follow$/a\
KOKKOS_INLINE_FUNCTION\
half_t cast_to_half(bool val) { return __float2half(static_cast<float>(val)); }\
template <class T>\
KOKKOS_INLINE_FUNCTION std::enable_if_t<std::is_same<T, bool>::value, T>\
cast_from_half(half_t val) { return static_cast<T>(__half2float(half_t::impl_type(val))); }' core/src/Cuda/Kokkos_Cuda_Half.hpp
  # (e) CUDA 13: cudaMemPrefetchAsync takes a cudaMemLocation and flags (breaks CUDA <= 12)
  sed -i 's/cudaMemPrefetchAsync(ptr, bytes, space.cuda_device(),/cudaMemPrefetchAsync(ptr, bytes, cudaMemLocation{cudaMemLocationTypeDevice, space.cuda_device()}, 0,/' core/src/Cuda/Kokkos_CudaSpace.cpp
  # (f) Kokkos_ARCH_HOPPER90 for native sm_90 code
  sed -i 's/^KOKKOS_ARCH_OPTION(AMPERE86 .*$/&\nKOKKOS_ARCH_OPTION(HOPPER90        GPU  "NVIDIA Hopper generation CC 9.0")/' cmake/kokkos_arch.cmake
  sed -i 's/^CHECK_CUDA_ARCH(AMPERE86  sm_86)$/&\nCHECK_CUDA_ARCH(HOPPER90  sm_90)/' cmake/kokkos_arch.cmake
  sed -i 's/^#cmakedefine KOKKOS_ARCH_AMPERE86$/&\n#cmakedefine KOKKOS_ARCH_HOPPER90/' cmake/KokkosCore_config.h.in
}
KEY=$(declare -f patch_kokkos | sha256sum | cut -c1-10)
ROOT="$CACHE/kokkos-$KOKKOS_VERSION-$KEY"
mkdir -p "$ROOT"

fetch_source() {
  [ -f "$ROOT/src.stamp" ] && return
  log "fetching trilinos source (for Kokkos $KOKKOS_VERSION) into $ROOT"
  local apt="$ROOT/apt"
  rm -rf "$apt" "$ROOT/kokkos-src"; mkdir -p "$apt/sources" "$apt/lists/partial" "$apt/cache/archives/partial" "$ROOT/dl"
  # A private deb-src list derived from the system one: the system's apt configuration is left alone.
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources > "$apt/sources/debian-src.sources"
  else
    grep -h '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' > "$apt/sources/debian-src.list"
  fi
  local opts=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$apt/sources"
              -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache")
  # As root, apt drops to _apt for downloads, which cannot write into a private cache folder.
  [ "$(id -u)" -eq 0 ] && opts+=(-o APT::Sandbox::User=root)
  apt-get "${opts[@]}" update -qq
  (cd "$ROOT/dl" && apt-get "${opts[@]}" source --download-only trilinos/bookworm >/dev/null)
  local T=Trilinos-trilinos-release-13-2-0
  (cd "$ROOT" && tar xzf dl/trilinos_13.2.0.orig.tar.gz --wildcards "$T/packages/kokkos/*" &&
     mv "$T/packages/kokkos" kokkos-src && rm -rf "$T")
  (cd "$ROOT/kokkos-src" && patch_kokkos)
  rm -rf "$ROOT/dl" "$apt"
  touch "$ROOT/src.stamp"
}

build_kokkos() {  # name, extra cmake args...
  local name=$1; shift
  [ -f "$ROOT/install-$name/kokkos.stamp" ] && return
  fetch_source
  log "building Kokkos $KOKKOS_VERSION ($name) with $JOBS jobs"
  local t0=$SECONDS
  rm -rf "$ROOT/build-$name" "$ROOT/install-$name"
  cmake -S "$ROOT/kokkos-src" -B "$ROOT/build-$name" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CXX_STANDARD=17 -DKokkos_ENABLE_SERIAL=ON -DKokkos_ENABLE_OPENMP=ON \
    -DCMAKE_INSTALL_PREFIX="$ROOT/install-$name" "$@" >"$ROOT/build-$name.log" 2>&1 ||
    { tail -40 "$ROOT/build-$name.log" >&2; exit 1; }
  { cmake --build "$ROOT/build-$name" -j "$JOBS" && cmake --install "$ROOT/build-$name"; } \
    >>"$ROOT/build-$name.log" 2>&1 || { tail -40 "$ROOT/build-$name.log" >&2; exit 1; }
  rm -rf "$ROOT/build-$name"
  touch "$ROOT/install-$name/kokkos.stamp"
  log "Kokkos ($name) built in $((SECONDS - t0)) s"
}

build_kokkos omp -DCMAKE_CXX_COMPILER=g++
echo "SEQREC_KOKKOS_OMP=$ROOT/install-omp"

NVCC=$(command -v nvcc || true)
[ -z "$NVCC" ] && [ -x /usr/local/cuda/bin/nvcc ] && NVCC=/usr/local/cuda/bin/nvcc
if [ -n "$NVCC" ] && [ "${SEQREC_CUDA:-1}" != 0 ]; then
  export PATH="$(dirname "$NVCC"):$PATH"
  # Our own nvcc_wrapper copy: Kokkos installs one into bin/ of the CUDA prefix.
  # One install per GPU architecture: the default (AMPERE80) keeps the plain name.
  cuda_name=cuda
  [ "$CUDA_ARCH" != AMPERE80 ] && cuda_name="cuda-${CUDA_ARCH,,}"
  build_kokkos "$cuda_name" -DCMAKE_CXX_COMPILER="$ROOT/kokkos-src/bin/nvcc_wrapper" -DKokkos_ENABLE_CUDA=ON \
    -DKokkos_ENABLE_CUDA_LAMBDA=ON "-DKokkos_ARCH_$CUDA_ARCH=ON"
  echo "SEQREC_KOKKOS_CUDA=$ROOT/install-$cuda_name"
fi
