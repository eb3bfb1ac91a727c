# Sourced by the scripts: locates the Kokkos installs made by bootstrap.sh and sets defaults.
# Exports SEQREC_KOKKOS_OMP and (when CUDA was built) SEQREC_KOKKOS_CUDA.
SEQREC_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
eval "$("$SEQREC_ROOT/scripts/bootstrap.sh" | grep '^SEQREC_KOKKOS_')"
export SEQREC_KOKKOS_OMP SEQREC_KOKKOS_CUDA
export SEQREC_DATA=${SEQREC_DATA:-$SEQREC_ROOT/../shared/data}
export OMP_PROC_BIND=${OMP_PROC_BIND:-spread} OMP_PLACES=${OMP_PLACES:-threads}
JOBS=${SEQREC_JOBS:-$(nproc)}
# configure_build <dir> <extra cmake args...> [-- <cmake --build args...>]: configure (Ninja), then build
# (everything, or what follows --, e.g. --target seqrec-train).
configure_build() {
  local dir=$1; shift
  local cfg=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do cfg+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  cmake -S "$SEQREC_ROOT" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=${SEQREC_BUILD_TYPE:-Release} "${cfg[@]}" >/dev/null
  cmake --build "$dir" -j "$JOBS" "$@"
}
