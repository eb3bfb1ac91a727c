// Portable gemm, gemv and scaling kernels: plain Kokkos, any scalar, any strides. The dispatch in
// core/linalg.hpp falls back to them when no vendor BLAS fits (other scalars, no unit stride,
// Impl::portable); team_gemm.hpp reuses the strided matrix type.
#pragma once

#include <seqrec/core/concepts.hpp>

#include <Kokkos_Core.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace seqrec::linalg::detail {

// A matrix as a pointer and two strides: element (i, j) is data[i * rs + j * cs]. A transpose swaps
// extents and strides, so kernels never branch on a transpose flag, and LayoutRight, LayoutLeft and
// LayoutStride views all reach one kernel instantiation per (space, scalar).
template <class T>
struct Strided {
  T* data = nullptr;
  std::int64_t rows = 0, cols = 0, rs = 0, cs = 0;

  KOKKOS_INLINE_FUNCTION T& operator()(std::int64_t i, std::int64_t j) const { return data[i * rs + j * cs]; }
  KOKKOS_INLINE_FUNCTION Strided transposed() const { return {data, cols, rows, cs, rs}; }
  KOKKOS_INLINE_FUNCTION Strided op(bool transpose) const { return transpose ? transposed() : *this; }
};

template <class T>
struct StridedVector {
  T* data = nullptr;
  std::int64_t size = 0, stride = 0;

  KOKKOS_INLINE_FUNCTION T& operator()(std::int64_t i) const { return data[i * stride]; }
};

// The same matrix or vector, read-only.
template <class T>
KOKKOS_INLINE_FUNCTION Strided<const T> as_const(const Strided<T>& s) {
  return {s.data, s.rows, s.cols, s.rs, s.cs};
}
template <class T>
KOKKOS_INLINE_FUNCTION StridedVector<const T> as_const(const StridedVector<T>& v) {
  return {v.data, v.size, v.stride};
}

template <class V>
inline constexpr bool has_strides_v = std::is_same_v<typename V::array_layout, Kokkos::LayoutRight> ||
                                      std::is_same_v<typename V::array_layout, Kokkos::LayoutLeft> ||
                                      std::is_same_v<typename V::array_layout, Kokkos::LayoutStride>;

template <class V>
KOKKOS_INLINE_FUNCTION Strided<typename V::value_type> strided(const V& v) {
  static_assert(V::rank == 2, "seqrec::linalg: a matrix must be a rank-2 view");
  return {v.data(), static_cast<std::int64_t>(v.extent(0)), static_cast<std::int64_t>(v.extent(1)),
          static_cast<std::int64_t>(v.stride(0)), static_cast<std::int64_t>(v.stride(1))};
}

template <class V>
KOKKOS_INLINE_FUNCTION StridedVector<typename V::value_type> strided_vector(const V& v) {
  static_assert(V::rank == 1, "seqrec::linalg: a vector must be a rank-1 view");
  return {v.data(), static_cast<std::int64_t>(v.extent(0)), static_cast<std::int64_t>(v.stride(0))};
}

// Host-side kernels run where the execution space can read host memory (Serial, OpenMP); GPU spaces
// get the shared-memory variant.
template <class Space>
inline constexpr bool runs_on_host_v = Kokkos::SpaceAccessibility<Space, Kokkos::HostSpace>::accessible;

KOKKOS_INLINE_FUNCTION std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }
KOKKOS_INLINE_FUNCTION std::int64_t imin(std::int64_t a, std::int64_t b) { return a < b ? a : b; }  // no Kokkos::min in 3.4

// C = alpha * acc + beta * C on the first pass over k (beta == 0 never reads C: BLAS semantics, NaN is
// overwritten), C += alpha * acc on later passes.
template <class T>
KOKKOS_FORCEINLINE_FUNCTION void update(T& c, T acc, T alpha, T beta, bool first) {
  if (!first) c += alpha * acc;
  else if (beta == T(0)) c = alpha * acc;
  else c = alpha * acc + beta * c;
}

// ------------------------------------------------------------------------------------------ host gemm
// GotoBLAS-style blocking: a team (one thread) owns an mc x nc tile of C, packs kc-deep blocks of op(A)
// and op(B) into zero-padded panels in scratch, and runs an mr x nr register-blocked micro-kernel
// vectorised over nr (two SIMD registers wide). Blocks: a kc x nr panel of B stays in L1,
// the mc x kc block of A in L2.
template <class T>
struct HostBlocking {
#if defined(__AVX512F__)
  static constexpr int simd_bytes = 64;
#elif defined(__AVX__)
  static constexpr int simd_bytes = 32;
#else
  static constexpr int simd_bytes = 16;
#endif
  // mr x 2 accumulator registers plus two of B and a broadcast fit the 16 registers of SSE/AVX2 (with
  // FMA; without it every product needs a temporary, so 4 rows) and leave room in AVX-512's 32.
#if defined(__FMA__) || defined(__AVX512F__)
  static constexpr int mr = 6;
#else
  static constexpr int mr = 4;
#endif
  static constexpr int nr = static_cast<int>(2 * simd_bytes / sizeof(T) > 0 ? 2 * simd_bytes / sizeof(T) : 1);
  static constexpr int kc = 256;
  static constexpr int mc = 96;  // a multiple of both mr
  static constexpr int nc = static_cast<int>((512 * 1024 / (kc * sizeof(T))) / nr * nr > 0
                                                 ? (512 * 1024 / (kc * sizeof(T))) / nr * nr
                                                 : nr);
};

// acc = A panel (kb x MR, packed) times B panel (kb x NR, packed). Under GCC/Clang (not nvcc) the
// accumulators are explicit vector registers: the auto-vectoriser shuffles and spills on this loop nest,
// and explicit vectors run it at the SIMD peak (measured 49 GFLOP/s SSE2, 129 AVX2, 266 AVX-512 per core,
// float, in L1). Elsewhere the plain loop is the same computation.
#if defined(__GNUC__) && !defined(__CUDACC__) && !defined(__CUDA_ARCH__)
#define SEQREC_LINALG_VECTOR_EXTENSIONS 1
#endif

template <class T, int MR, int NR>
KOKKOS_FORCEINLINE_FUNCTION void micro_kernel(std::int64_t kb, const T* KOKKOS_RESTRICT a, const T* KOKKOS_RESTRICT b,
                                              T (&acc)[MR][NR]) {
#if defined(SEQREC_LINALG_VECTOR_EXTENSIONS)
  constexpr int vb = HostBlocking<T>::simd_bytes, w = vb / static_cast<int>(sizeof(T)), nv = NR / w;
  if constexpr (nv * w == NR && (std::is_same_v<T, float> || std::is_same_v<T, double>)) {
    typedef T vec __attribute__((vector_size(vb)));
    vec c[MR][nv];
    for (int i = 0; i < MR; ++i)
      for (int v = 0; v < nv; ++v) c[i][v] = vec{};
    for (std::int64_t p = 0; p < kb; ++p) {
      vec bv[nv];
      for (int v = 0; v < nv; ++v) std::memcpy(&bv[v], b + p * NR + v * w, sizeof(vec));  // unaligned load
      for (int i = 0; i < MR; ++i)
        for (int v = 0; v < nv; ++v) c[i][v] += a[p * MR + i] * bv[v];  // scalar * vector: a broadcast
    }
    for (int i = 0; i < MR; ++i)
      for (int v = 0; v < nv; ++v) std::memcpy(&acc[i][v * w], &c[i][v], sizeof(vec));
    return;
  }
#endif
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) acc[i][j] = T(0);
  for (std::int64_t p = 0; p < kb; ++p) {
    const T* ap = a + p * MR;
    const T* bp = b + p * NR;
    for (int i = 0; i < MR; ++i) {
      const T ai = ap[i];
      for (int j = 0; j < NR; ++j) acc[i][j] += ai * bp[j];
    }
  }
}

template <class Space, class T>
struct HostGemm {
  using Blk = HostBlocking<T>;
  using policy_type = Kokkos::TeamPolicy<Space, Kokkos::Schedule<Kokkos::Dynamic>>;
  using member_type = typename policy_type::member_type;
  static constexpr int mr = Blk::mr, nr = Blk::nr, kc = Blk::kc;

  Strided<const T> a, b;  // op(A): m x k, op(B): k x n
  Strided<T> c;
  T alpha, beta;
  std::int64_t mc, nc, tiles_m;

  static std::size_t scratch_bytes(std::int64_t mc, std::int64_t nc) {
    return static_cast<std::size_t>((mc + nc) * kc) * sizeof(T) + 256;
  }

  KOKKOS_INLINE_FUNCTION void operator()(const member_type& team) const {
    const std::int64_t i0 = (team.league_rank() % tiles_m) * mc;
    const std::int64_t j0 = (team.league_rank() / tiles_m) * nc;
    const std::int64_t mb = imin(mc, c.rows - i0), nb = imin(nc, c.cols - j0);
    const std::int64_t k = a.cols;
    T* ap = static_cast<T*>(team.team_scratch(1).get_shmem_aligned(mc * kc * sizeof(T), 64));
    T* bp = static_cast<T*>(team.team_scratch(1).get_shmem_aligned(nc * kc * sizeof(T), 64));
    for (std::int64_t p0 = 0; p0 < k; p0 += kc) {
      const std::int64_t kb = imin(kc, k - p0);
      pack_a(ap, i0, p0, mb, kb);
      pack_b(bp, p0, j0, kb, nb);
      const bool first = p0 == 0;
      for (std::int64_t jr = 0; jr < nb; jr += nr) {
        for (std::int64_t ir = 0; ir < mb; ir += mr) {
          T acc[mr][nr];
          micro_kernel<T, mr, nr>(kb, ap + ir * kb, bp + jr * kb, acc);
          const int mv = static_cast<int>(imin(mr, mb - ir));
          const int nv = static_cast<int>(imin(nr, nb - jr));
          for (int i = 0; i < mv; ++i)
            for (int j = 0; j < nv; ++j) update(c(i0 + ir + i, j0 + jr + j), acc[i][j], alpha, beta, first);
        }
      }
    }
  }

  // Panels of mr rows: ap[(ir / mr) * mr * kb + p * mr + r]; rows past the edge are zero.
  KOKKOS_INLINE_FUNCTION void pack_a(T* ap, std::int64_t i0, std::int64_t p0, std::int64_t mb, std::int64_t kb) const {
    for (std::int64_t ir = 0; ir < mb; ir += mr) {
      T* panel = ap + ir * kb;
      for (int r = 0; r < mr; ++r) {
        if (ir + r < mb) {
          const T* row = &a(i0 + ir + r, p0);
          for (std::int64_t p = 0; p < kb; ++p) panel[p * mr + r] = row[p * a.cs];
        } else {
          for (std::int64_t p = 0; p < kb; ++p) panel[p * mr + r] = T(0);
        }
      }
    }
  }

  // Panels of nr columns: bp[(jr / nr) * nr * kb + p * nr + s]; columns past the edge are zero.
  KOKKOS_INLINE_FUNCTION void pack_b(T* bp, std::int64_t p0, std::int64_t j0, std::int64_t kb, std::int64_t nb) const {
    for (std::int64_t jr = 0; jr < nb; jr += nr) {
      T* panel = bp + jr * kb;
      const int nv = static_cast<int>(imin(nr, nb - jr));
      for (std::int64_t p = 0; p < kb; ++p) {
        const T* row = &b(p0 + p, j0 + jr);
        for (int s = 0; s < nv; ++s) panel[p * nr + s] = row[s * b.cs];
        for (int s = nv; s < nr; ++s) panel[p * nr + s] = T(0);
      }
    }
  }
};

// ---------------------------------------------------------------------------------------- device gemm
// Classic shared-memory tiling: a team of 256 threads owns a 64 x 64 tile of C, each thread a 4 x 4
// register block (rows ty + 16 r, columns tx + 16 s, so neighbouring threads touch neighbouring columns).
template <class Space, class T>
struct DeviceGemm {
  using policy_type = Kokkos::TeamPolicy<Space>;
  using member_type = typename policy_type::member_type;
  static constexpr int bm = 64, bn = 64, bk = sizeof(T) <= 4 ? 16 : 8, tm = 4, tn = 4, threads = 256;
  static constexpr int lda = bm + 1, ldb = bn + 1;  // padding avoids bank conflicts on transposed loads

  Strided<const T> a, b;
  Strided<T> c;
  T alpha, beta;
  std::int64_t tiles_m;

  static std::size_t scratch_bytes() { return static_cast<std::size_t>(bk * (lda + ldb)) * sizeof(T) + 64; }

  KOKKOS_INLINE_FUNCTION void operator()(const member_type& team) const {
    const int tid = team.team_rank();
    const int tx = tid % 16, ty = tid / 16;
    const std::int64_t i0 = (team.league_rank() % tiles_m) * bm;
    const std::int64_t j0 = (team.league_rank() / tiles_m) * bn;
    const std::int64_t m = c.rows, n = c.cols, k = a.cols;
    T* as = static_cast<T*>(team.team_scratch(0).get_shmem_aligned(bk * lda * sizeof(T), 16));
    T* bs = static_cast<T*>(team.team_scratch(0).get_shmem_aligned(bk * ldb * sizeof(T), 16));
    T acc[tm][tn];
    for (int r = 0; r < tm; ++r)
      for (int s = 0; s < tn; ++s) acc[r][s] = T(0);
    // Consecutive threads read consecutive addresses: along k when that is the unit stride, else along rows.
    const bool a_k_fast = a.cs == 1, b_k_fast = b.rs == 1;
    for (std::int64_t p0 = 0; p0 < k; p0 += bk) {
      for (int e = tid; e < bm * bk; e += threads) {
        const int r = a_k_fast ? e / bk : e % bm, q = a_k_fast ? e % bk : e / bm;
        const std::int64_t i = i0 + r, p = p0 + q;
        as[q * lda + r] = (i < m && p < k) ? a(i, p) : T(0);
      }
      for (int e = tid; e < bk * bn; e += threads) {
        const int s = b_k_fast ? e / bk : e % bn, q = b_k_fast ? e % bk : e / bn;
        const std::int64_t j = j0 + s, p = p0 + q;
        bs[q * ldb + s] = (j < n && p < k) ? b(p, j) : T(0);
      }
      team.team_barrier();
      for (int q = 0; q < bk; ++q) {
        T av[tm], bv[tn];
        for (int r = 0; r < tm; ++r) av[r] = as[q * lda + ty + 16 * r];
        for (int s = 0; s < tn; ++s) bv[s] = bs[q * ldb + tx + 16 * s];
        for (int r = 0; r < tm; ++r)
          for (int s = 0; s < tn; ++s) acc[r][s] += av[r] * bv[s];
      }
      team.team_barrier();
    }
    for (int r = 0; r < tm; ++r) {
      const std::int64_t i = i0 + ty + 16 * r;
      if (i >= m) continue;
      for (int s = 0; s < tn; ++s) {
        const std::int64_t j = j0 + tx + 16 * s;
        if (j < n) update(c(i, j), acc[r][s], alpha, beta, true);
      }
    }
  }
};

// C = alpha * op(A) * op(B) + beta * C with op already folded into the strides; m, n, k >= 1.
template <class Space, class T>
void gemm(const Space& space, T alpha, const Strided<const T>& a, const Strided<const T>& b, T beta,
          const Strided<T>& c) {
  const std::int64_t m = c.rows, n = c.cols;
  if constexpr (runs_on_host_v<Space>) {
    using F = HostGemm<Space, T>;
    // Tiles start at the cache-sized blocks and are halved (the larger first) until every thread has
    // about two: the weight-gradient shapes (50 x 50 x 6400) would otherwise be a single tile.
    std::int64_t mc = imin(F::Blk::mc, ceil_div(m, F::mr) * F::mr);
    std::int64_t nc = imin(F::Blk::nc, ceil_div(n, F::nr) * F::nr);
    const std::int64_t threads = space.concurrency();
    const std::int64_t target = threads > 1 ? 2 * threads : 1;
    while (ceil_div(m, mc) * ceil_div(n, nc) < target && (mc > F::mr || nc > F::nr)) {
      if (mc / F::mr >= nc / F::nr) mc = ceil_div(mc / 2, F::mr) * F::mr;
      else nc = ceil_div(nc / 2, F::nr) * F::nr;
    }
    const std::int64_t tiles_m = ceil_div(m, mc), tiles = tiles_m * ceil_div(n, nc);
    typename F::policy_type policy(space, static_cast<int>(tiles), 1);
    Kokkos::parallel_for("seqrec::linalg::gemm[portable]",
                         policy.set_scratch_size(1, Kokkos::PerTeam(F::scratch_bytes(mc, nc))),
                         F{a, b, c, alpha, beta, mc, nc, tiles_m});
  } else {
    using F = DeviceGemm<Space, T>;
    const std::int64_t tiles_m = ceil_div(m, F::bm), tiles = tiles_m * ceil_div(n, F::bn);
    typename F::policy_type policy(space, static_cast<int>(tiles), F::threads);
    Kokkos::parallel_for("seqrec::linalg::gemm[portable]",
                         policy.set_scratch_size(0, Kokkos::PerTeam(F::scratch_bytes())),
                         F{a, b, c, alpha, beta, tiles_m});
  }
}

// ---------------------------------------------------------------------------------------------- gemv
// y = alpha * op(A) x + beta * y: a team per block of rows, a vector reduction along each row.
template <class Space, class T>
struct Gemv {
  using policy_type = Kokkos::TeamPolicy<Space>;
  using member_type = typename policy_type::member_type;
  Strided<const T> a;  // op(A): m x n
  StridedVector<const T> x;
  StridedVector<T> y;
  T alpha, beta;
  std::int64_t rows_per_team;

  KOKKOS_INLINE_FUNCTION void operator()(const member_type& team) const {
    const std::int64_t begin = team.league_rank() * rows_per_team;
    const std::int64_t end = imin(a.rows, begin + rows_per_team);
    const Strided<const T> a_ = a;
    const StridedVector<const T> x_ = x;
    const StridedVector<T> y_ = y;
    const T alpha_ = alpha, beta_ = beta;
    Kokkos::parallel_for(Kokkos::TeamThreadRange(team, begin, end), [&](std::int64_t i) {
      T sum = T(0);
      Kokkos::parallel_reduce(
          Kokkos::ThreadVectorRange(team, a_.cols), [&](std::int64_t j, T& s) { s += a_(i, j) * x_(j); }, sum);
      Kokkos::single(Kokkos::PerThread(team), [&]() { update(y_(i), sum, alpha_, beta_, true); });
    });
  }
};

template <class Space, class T>
void gemv(const Space& space, T alpha, const Strided<const T>& a, const StridedVector<const T>& x, T beta,
          const StridedVector<T>& y) {
  using F = Gemv<Space, T>;
  constexpr bool host = runs_on_host_v<Space>;
  const std::int64_t team_size = host ? 1 : 8, vector = host ? 1 : 32, rows_per_team = host ? 16 : 4 * team_size;
  const std::int64_t teams = ceil_div(a.rows, rows_per_team);
  Kokkos::parallel_for("seqrec::linalg::gemv[portable]",
                       typename F::policy_type(space, static_cast<int>(teams), static_cast<int>(team_size),
                                               static_cast<int>(vector)),
                       F{a, x, y, alpha, beta, rows_per_team});
}

// ----------------------------------------------------------------------------------------------- scale
// C = beta * C, the whole product when k == 0 or alpha == 0; beta == 0 writes zeros without reading C.
template <class Space, class T>
void scale(const Space& space, T beta, const Strided<T>& c) {
  if (beta == T(1) || c.rows == 0 || c.cols == 0) return;
  const std::int64_t n = c.cols;
  Kokkos::parallel_for(
      "seqrec::linalg::scale", Kokkos::RangePolicy<Space>(space, 0, c.rows * n), KOKKOS_LAMBDA(std::int64_t e) {
        T& x = c(e / n, e % n);
        x = beta == T(0) ? T(0) : beta * x;
      });
}

template <class Space, class T>
void scale(const Space& space, T beta, const StridedVector<T>& y) {
  scale(space, beta, Strided<T>{y.data, y.size, 1, y.stride, 1});
}

}  // namespace seqrec::linalg::detail
