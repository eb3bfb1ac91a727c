// Implicit-feedback alternating least squares (Hu, Koren, Volinsky 2008, "Collaborative Filtering for Implicit
// Feedback Datasets").
//
// Model: user factors X [U x k], item factors Y [(I+1) x k] (row 0 is the padding item and stays 0). Every
// (user, item) pair has a preference p = 1 when observed, else 0, and a confidence c = 1 + alpha * w (w: the
// merged weight of RatingMatrix, or 1 under Weights::binary; unobserved pairs have c = 1). ALS minimises
//
//   L = sum over ALL pairs of c_ui (p_ui - x_u.y_i)^2 + reg (|X|^2 + |Y|^2)
//
// by alternating exact (Cholesky) or approximate (conjugate gradient) solves: each iteration is a users step
// (Y fixed) then an items step (X fixed). The users step forms G = Y^T Y once (linalg::gemm), then for each
// user solves
//
//   (G + sum_{i in u} (c_ui - 1) y_i y_i^T + reg I) x_u = sum_{i in u} c_ui y_i
//
// touching only the user's own items (the trick of the paper: the unobserved pairs are all inside G).
//
//   ImplicitAls<T, Space, ConjugateGradient>  matrix-free CG, warm-started from the current x_u, cg_steps steps
//                                             (what the `implicit` library does: the default, and fast);
//   ImplicitAls<T, Space, Cholesky>           builds the k x k system in team scratch and solves it exactly, so
//                                             the loss never increases.
//
// One team per user (item): on host spaces one thread, with the loops over k vectorised by the compiler (the
// common factor counts 32, 64, 128 get unrolled kernels, and CG there runs 4 rows in lockstep so that each load
// of G serves 4 products); on GPUs the vector lanes run over k. The Gram matrices are recomputed with gemm at every
// half-step (F^T F of the factors just solved), which also gives the loss over all pairs almost for free:
// sum over all pairs of (x_u.y_i)^2 = tr(X^T X Y^T Y).
//
// Users and items with no training interactions get the zero vector (their right-hand side is 0), so they
// score 0 everywhere. The padding item 0 scores 0 as well.
#pragma once

#include <seqrec/completion/factor_scores.hpp>
#include <seqrec/completion/rating_matrix.hpp>
#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/linalg.hpp>
#include <seqrec/core/math.hpp>
#include <seqrec/core/random.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/data/interactions.hpp>

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

namespace seqrec::completion {

// Solver tags: the per-row linear solve of ImplicitAls, chosen at compile time.
struct ConjugateGradient {};
struct Cholesky {};

template <class S>
concept AlsSolver = std::same_as<S, ConjugateGradient> || std::same_as<S, Cholesky>;

struct ImplicitAlsOptions {
  index_t factors = 64;                 // k
  double reg = 0.01;                    // lambda, on |X|^2 + |Y|^2; >= 0 (0 may leave Cholesky without a solution)
  double alpha = 1.0;                   // confidence c = 1 + alpha * w; >= 0
  int iterations = 15;                  // users step + items step each
  int cg_steps = 3;                     // ConjugateGradient only: CG steps per row and half-step
  std::uint64_t seed = 0;               // initial factors
  double init_scale = 0.01;             // initial factors uniform in [0, init_scale), as `implicit` does
  Weights weights = Weights::positive;  // positive (w > 0 from the data) or binary (w = 1)
};

struct ImplicitAlsStats {
  std::vector<double> seconds;  // per iteration: both half-steps and their Gram matrices, fenced (not the loss)
  std::vector<double> loss;     // L after each iteration (see above), in double
};

namespace detail {

// Host-only hints; CUDA's device pass sees the plain forms (the execution-space attributes stay the same in both).
#if defined(__GNUC__) && !defined(__CUDA_ARCH__)
#define SEQREC_ALS_NOINLINE KOKKOS_FUNCTION __attribute__((noinline))
#define SEQREC_ALS_PREFETCH(p) __builtin_prefetch(p)
#else
#define SEQREC_ALS_NOINLINE KOKKOS_FUNCTION
#define SEQREC_ALS_PREFETCH(p) ((void)(p))
#endif

// ---------------------------------------------------------------------------------------------------------------
// Host building blocks: plain loops over contiguous rows that the compiler vectorises. K > 0 fixes the length at
// compile time (unrolled, accumulators kept in registers), K == 0 reads it from k.

template <int K>
KOKKOS_FORCEINLINE_FUNCTION int als_len(int k) {
  if constexpr (K > 0)
    return K;
  else
    return k;
}

// Sum of a[c] * b[c] in one 512-bit register's worth of independent lanes (a plain sum would be sequential:
// without -ffast-math the compiler may not reassociate it), the lanes then summed as a tree (a short chain).
template <int K, class T>
KOKKOS_FORCEINLINE_FUNCTION T als_host_dot(const T* __restrict a, const T* __restrict b, int k) {
  constexpr int W = 64 / int(sizeof(T));
  const int n = als_len<K>(k);
  T lane[W] = {};
  int c = 0;
  for (; c + W <= n; c += W)
    for (int l = 0; l < W; ++l) lane[l] += a[c + l] * b[c + l];
  T tail = T(0);
  for (; c < n; ++c) tail += a[c] * b[c];
  for (int w = W / 2; w > 0; w /= 2)
    for (int l = 0; l < w; ++l) lane[l] += lane[l + w];
  return lane[0] + tail;
}

template <int K, class T>
KOKKOS_FORCEINLINE_FUNCTION void als_host_axpy(T a, const T* __restrict x, T* __restrict y, int k) {
  const int n = als_len<K>(k);
  for (int c = 0; c < n; ++c) y[c] += a * x[c];
}

// out = (G + lam I) p for the symmetric G: rows of G scaled by p[j] and summed (contiguous, and G's columns are
// its rows). Kept out of line: inlined into the solver, g++ spills the accumulators to the stack.
template <int K, class T>
SEQREC_ALS_NOINLINE void als_host_symv(const T* __restrict G, const T* __restrict p, T lam, T* __restrict out, int k) {
  if constexpr (K > 0) {
    T acc[K];
    for (int c = 0; c < K; ++c) acc[c] = lam * p[c];
    for (int j = 0; j < K; ++j) {
      const T pj = p[j];
      const T* g = G + j * K;
      for (int c = 0; c < K; ++c) acc[c] += g[c] * pj;
    }
    for (int c = 0; c < K; ++c) out[c] = acc[c];
  } else {
    for (int c = 0; c < k; ++c) out[c] = lam * p[c];
    for (int j = 0; j < k; ++j) {
      const T pj = p[j];
      const T* g = G + index_t(j) * k;
      for (int c = 0; c < k; ++c) out[c] += g[c] * pj;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// One half-step: for every row r of `rows` (a user's items, or an item's users) solve
//   (G + reg I + sum_j (c_j - 1) f_j f_j^T) out_r = sum_j c_j f_j,   f_j = F(index_j), c_j = 1 + alpha w_j
// with G = F^T F. `which` (when not empty) names the rows to solve; else all. The reduction gives the first row
// whose solve broke down (a non-positive pivot, or a non-finite result).
template <class T, ExecutionSpace Space, class Solver, int K>
struct AlsSolveRows {
  using member_type = typename Kokkos::TeamPolicy<Space>::member_type;
  using scratch_view = Kokkos::View<T*, typename Space::scratch_memory_space, Kokkos::MemoryUnmanaged>;
  static constexpr bool host = Kokkos::SpaceAccessibility<Space, Kokkos::HostSpace>::accessible;
  static constexpr bool cholesky = std::is_same_v<Solver, Cholesky>;

  View2<const T, Space> G;  // [k x k], F^T F without reg
  View2<const T, Space> F;  // the fixed factors
  View1<const index_t, Space> offsets;
  View1<const id_t, Space> indices;
  View1<const T, Space> values;
  View1<const id_t, Space> which;
  View2<T, Space> out;
  T alpha, reg;
  bool binary;
  int cg_steps;
  int k;
  int level;

  KOKKOS_INLINE_FUNCTION static index_t scratch_len(int k) { return cholesky ? index_t(k) * k + k : 3 * index_t(k); }

  KOKKOS_INLINE_FUNCTION T confidence(index_t e) const { return T(1) + alpha * (binary ? T(1) : values(e)); }

  KOKKOS_INLINE_FUNCTION void sync(const member_type& m) const {
    if constexpr (!host) m.team_barrier();
    (void)m;
  }

  KOKKOS_INLINE_FUNCTION T dot(const member_type& m, const T* a, const T* b, int n) const {
    if constexpr (host) {
      (void)m;
      return n == k ? als_host_dot<K>(a, b, k) : als_host_dot<0>(a, b, n);
    } else {
      T s = T(0);
      Kokkos::parallel_reduce(
          Kokkos::ThreadVectorRange(m, n), [&](int c, T& acc) { acc += a[c] * b[c]; }, s);
      return s;
    }
  }

  // y[c] += a * x[c], c < n
  KOKKOS_INLINE_FUNCTION void axpy(const member_type& m, T a, const T* x, T* y, int n) const {
    if constexpr (host) {
      (void)m;
      if (n == k)
        als_host_axpy<K>(a, x, y, k);
      else
        als_host_axpy<0>(a, x, y, n);
    } else {
      Kokkos::parallel_for(Kokkos::ThreadVectorRange(m, n), [&](int c) { y[c] += a * x[c]; });
    }
  }

  KOKKOS_INLINE_FUNCTION void fill(const member_type& m, T* y, T v, int n) const {
    Kokkos::parallel_for(Kokkos::ThreadVectorRange(m, n), [&](int c) { y[c] = v; });
  }

  // out = (G + reg I) p; reads all of p (sync before on GPUs).
  KOKKOS_INLINE_FUNCTION void symv(const member_type& m, const T* p, T* o) const {
    if constexpr (host) {
      (void)m;
      als_host_symv<K>(G.data(), p, reg, o, k);
    } else {
      const T* g = G.data();
      const int n = k;
      const T lam = reg;
      Kokkos::parallel_for(Kokkos::ThreadVectorRange(m, n), [&](int c) {
        T s = lam * p[c];
        for (int j = 0; j < n; ++j) s += g[index_t(j) * n + c] * p[j];
        o[c] = s;
      });
    }
  }

  KOKKOS_INLINE_FUNCTION bool all_finite(const member_type& m, const T* x) const {
    int bad = 0;
    Kokkos::parallel_reduce(
        Kokkos::ThreadVectorRange(m, k), [&](int c, int& b) { b += math::isfinite(x[c]) ? 0 : 1; }, bad);
    return bad == 0;
  }

  // Matrix-free CG from the current x (implicit's least_squares_cg).
  KOKKOS_INLINE_FUNCTION bool solve_cg(const member_type& m, T* x, index_t beg, index_t end, T* s) const {
    T* r = s;
    T* p = s + k;
    T* Ap = s + 2 * k;
    // r = b - A x = sum_j (c_j - (c_j - 1) f_j.x) f_j - (G + reg I) x
    symv(m, x, r);
    Kokkos::parallel_for(Kokkos::ThreadVectorRange(m, k), [&](int c) { r[c] = -r[c]; });
    for (index_t e = beg; e < end; ++e) {
      const T* f = &F(indices(e), 0);
      const T cj = confidence(e);
      axpy(m, cj - (cj - T(1)) * dot(m, f, x, k), f, r, k);
    }
    Kokkos::parallel_for(Kokkos::ThreadVectorRange(m, k), [&](int c) { p[c] = r[c]; });
    T rs = dot(m, r, r, k);
    for (int it = 0; it < cg_steps && rs > T(1e-20); ++it) {
      sync(m);
      symv(m, p, Ap);
      for (index_t e = beg; e < end; ++e) {
        const T* f = &F(indices(e), 0);
        axpy(m, (confidence(e) - T(1)) * dot(m, f, p, k), f, Ap, k);
      }
      const T pAp = dot(m, p, Ap, k);
      if (!(pAp > T(0))) break;  // p = 0 to rounding: nothing left to gain
      const T a = rs / pAp;
      axpy(m, a, p, x, k);
      axpy(m, -a, Ap, r, k);
      const T rs_new = dot(m, r, r, k);
      if (!(rs_new > T(1e-20))) break;
      const T beta = rs_new / rs;
      Kokkos::parallel_for(Kokkos::ThreadVectorRange(m, k), [&](int c) { p[c] = r[c] + beta * p[c]; });
      rs = rs_new;
    }
    return true;
  }

  // A = G + reg I + sum_j (c_j - 1) f_j f_j^T (upper triangle), factorised in place as U^T U (outer-product
  // Cholesky: each step scales row j and updates the trailing rows with contiguous axpys), then
  // U^T z = b, U x = z.
  KOKKOS_INLINE_FUNCTION bool solve_cholesky(const member_type& m, T* x, index_t beg, index_t end, T* s) const {
    T* A = s;
    T* b = s + index_t(k) * k;
    const T* g = G.data();
    const int n = k;
    const T lam = reg;
    if constexpr (host) {  // no index arithmetic per element
      for (int i = 0; i < n; ++i) {
        const index_t o = index_t(i) * n;
        for (int l = 0; l < n; ++l) A[o + l] = g[o + l];  // whole rows: the updates below may touch them all
        A[o + i] += lam;
      }
    } else {
      Kokkos::parallel_for(Kokkos::ThreadVectorRange(m, n * n), [&](int e) {
        const int i = e / n, l = e - i * n;
        A[e] = g[e] + (i == l ? lam : T(0));
      });
    }
    fill(m, b, T(0), n);
    sync(m);
    for (index_t e = beg; e < end; ++e) {
      const T* f = &F(indices(e), 0);
      const T cj = confidence(e);
      axpy(m, cj, f, b, n);
      const T w = cj - T(1);
      if (w == T(0)) continue;
      if constexpr (host && K > 0)  // whole rows: one unrolled length, twice the work of the triangle but faster
        for (int i = 0; i < n; ++i) als_host_axpy<K>(w * f[i], f, A + index_t(i) * n, K);
      else
        for (int i = 0; i < n; ++i) axpy(m, w * f[i], f + i, A + index_t(i) * n + i, n - i);
    }
    sync(m);
    for (int j = 0; j < n; ++j) {
      T* Aj = A + index_t(j) * n;
      const T d = Aj[j];
      if (!(d > T(0))) return false;
      const T inv = T(1) / math::sqrt(d);
      Kokkos::parallel_for(Kokkos::ThreadVectorRange(m, j, n), [&](int l) { Aj[l] *= inv; });
      sync(m);
      for (int i = j + 1; i < n; ++i) axpy(m, -Aj[i], Aj + i, A + index_t(i) * n + i, n - i);
      sync(m);
    }
    // U^T z = b (z over b): z_i = b_i / U_ii, then b_l -= U_il z_i for l > i.
    for (int i = 0; i < n; ++i) {
      const T* Ai = A + index_t(i) * n;
      const T zi = b[i] / Ai[i];
      sync(m);
      Kokkos::single(Kokkos::PerThread(m), [&]() { b[i] = zi; });
      axpy(m, -zi, Ai + i + 1, b + i + 1, n - i - 1);
      sync(m);
    }
    // U x = z, from the last row up (x over b).
    for (int i = n - 1; i >= 0; --i) {
      const T* Ai = A + index_t(i) * n;
      const T t = dot(m, Ai + i + 1, b + i + 1, n - i - 1);
      const T xi = (b[i] - t) / Ai[i];
      sync(m);
      Kokkos::single(Kokkos::PerThread(m), [&]() { b[i] = xi; });
      sync(m);
    }
    Kokkos::parallel_for(Kokkos::ThreadVectorRange(m, n), [&](int c) { x[c] = b[c]; });
    return true;
  }

  KOKKOS_INLINE_FUNCTION void operator()(const member_type& m, index_t& bad) const {
    const index_t row = which.extent(0) > 0 ? index_t(which(m.league_rank())) : index_t(m.league_rank());
    T* x = &out(row, 0);
    const index_t beg = offsets(row), end = offsets(row + 1);
    if (beg == end) {  // no interactions: b = 0, so x = 0
      fill(m, x, T(0), k);
      return;
    }
    if constexpr (host) {
      // The fixed rows are scattered (a random item per interaction): ask for all of them before the first
      // product with G, which hides their latency.
      const index_t lines = (index_t(k) * index_t(sizeof(T)) + 63) / 64;
      for (index_t e = beg; e < end; ++e) {
        const char* f = reinterpret_cast<const char*>(&F(indices(e), 0));
        for (index_t l = 0; l < lines; ++l) SEQREC_ALS_PREFETCH(f + 64 * l);
      }
    }
    scratch_view sv(m.team_scratch(level), scratch_len(k));
    bool ok;
    if constexpr (cholesky)
      ok = solve_cholesky(m, x, beg, end, sv.data());
    else
      ok = solve_cg(m, x, beg, end, sv.data());
    sync(m);
    ok = ok && all_finite(m, x);
    if (!ok)
      Kokkos::single(Kokkos::PerTeam(m), [&]() {
        if (row < bad) bad = row;
      });
  }
};

// (G + lam I) p_b for R vectors at once: each row of G, once loaded, serves all R (at k = 128 in float G is 64 KiB,
// beyond L1, and one vector at a time is bound by loading it). Columns go in blocks whose R x C accumulators
// fit the vector registers.
template <int K, int R, class T>
SEQREC_ALS_NOINLINE void als_host_symv_rows(const T* __restrict G, const T* const* P, T lam, T* const* O) {
  constexpr int C = K < 256 / int(sizeof(T)) ? K : 256 / int(sizeof(T));
  static_assert(K % C == 0);
  const T* pb[R];
  for (int b = 0; b < R; ++b) pb[b] = P[b];
  for (int h = 0; h < K; h += C) {
    T acc[R][C];
    for (int b = 0; b < R; ++b)
      for (int c = 0; c < C; ++c) acc[b][c] = lam * pb[b][h + c];
    for (int j = 0; j < K; ++j) {
      const T* g = G + j * K + h;
      for (int b = 0; b < R; ++b) {
        const T pj = pb[b][j];
        for (int c = 0; c < C; ++c) acc[b][c] += g[c] * pj;
      }
    }
    for (int b = 0; b < R; ++b)
      for (int c = 0; c < C; ++c) O[b][h + c] = acc[b][c];
  }
}

// The CG half-step on host spaces for k = K: R rows per team in lockstep, so that their products with G share
// the loads of G (als_host_symv_rows). Per row the arithmetic is AlsSolveRows::solve_cg's, in the same order.
template <class T, ExecutionSpace Space, int K, int R>
struct AlsCgHostRows {
  using member_type = typename Kokkos::TeamPolicy<Space>::member_type;

  View2<const T, Space> G;
  View2<const T, Space> F;
  View1<const index_t, Space> offsets;
  View1<const id_t, Space> indices;
  View1<const T, Space> values;
  View1<const id_t, Space> which;
  View2<T, Space> out;
  T alpha, reg;
  bool binary;
  int cg_steps;
  index_t rows;

  T confidence(index_t e) const { return T(1) + alpha * (binary ? T(1) : values(e)); }

  void operator()(const member_type& m, index_t& bad) const {
    alignas(64) T r[R][K], p[R][K], Ap[R][K], unused[K];
    T* x[R];
    const T* px[R];
    T* pp[R];
    T* pAp[R];
    index_t row[R], beg[R], end[R];
    T rs[R];
    bool active[R];
    for (int c = 0; c < K; ++c) unused[c] = T(0);
    for (int b = 0; b < R; ++b) {
      const index_t t = index_t(m.league_rank()) * R + b;
      row[b] = t >= rows ? -1 : which.extent(0) > 0 ? index_t(which(t)) : t;
      beg[b] = row[b] < 0 ? 0 : offsets(row[b]);
      end[b] = row[b] < 0 ? 0 : offsets(row[b] + 1);
      x[b] = row[b] < 0 ? unused : &out(row[b], 0);
      active[b] = beg[b] < end[b];
      if (row[b] >= 0 && !active[b])  // no interactions: b = 0, so x = 0
        for (int c = 0; c < K; ++c) x[b][c] = T(0);
      px[b] = active[b] ? x[b] : unused;
      pp[b] = p[b];
      pAp[b] = Ap[b];
      // The fixed rows are scattered (a random item per interaction): ask for them before the first product.
      for (index_t e = beg[b]; e < end[b]; ++e) {
        const char* f = reinterpret_cast<const char*>(&F(indices(e), 0));
        for (index_t l = 0; l < (index_t(K) * index_t(sizeof(T)) + 63) / 64; ++l) SEQREC_ALS_PREFETCH(f + 64 * l);
      }
    }
    T* pr[R];
    for (int b = 0; b < R; ++b) pr[b] = r[b];
    // r = b - A x, p = r
    als_host_symv_rows<K, R>(G.data(), px, reg, pr);
    for (int b = 0; b < R; ++b) {
      if (!active[b]) continue;
      for (int c = 0; c < K; ++c) r[b][c] = -r[b][c];
      for (index_t e = beg[b]; e < end[b]; ++e) {
        const T* f = &F(indices(e), 0);
        const T cj = confidence(e);
        als_host_axpy<K>(cj - (cj - T(1)) * als_host_dot<K>(f, x[b], K), f, r[b], K);
      }
      for (int c = 0; c < K; ++c) p[b][c] = r[b][c];
      rs[b] = als_host_dot<K>(r[b], r[b], K);
      active[b] = rs[b] > T(1e-20);
    }
    for (int b = 0; b < R; ++b)
      if (!active[b])
        for (int c = 0; c < K; ++c) p[b][c] = T(0);
    for (int it = 0; it < cg_steps; ++it) {
      bool any = false;
      for (int b = 0; b < R; ++b) any = any || active[b];
      if (!any) break;
      als_host_symv_rows<K, R>(G.data(), pp, reg, pAp);
      for (int b = 0; b < R; ++b) {
        if (!active[b]) continue;
        for (index_t e = beg[b]; e < end[b]; ++e) {
          const T* f = &F(indices(e), 0);
          als_host_axpy<K>((confidence(e) - T(1)) * als_host_dot<K>(f, p[b], K), f, Ap[b], K);
        }
        const T pAp_b = als_host_dot<K>(p[b], Ap[b], K);
        T rs_new = T(0);
        if (pAp_b > T(0)) {
          const T a = rs[b] / pAp_b;
          als_host_axpy<K>(a, p[b], x[b], K);
          als_host_axpy<K>(-a, Ap[b], r[b], K);
          rs_new = als_host_dot<K>(r[b], r[b], K);
        }
        if (!(rs_new > T(1e-20))) {  // converged, or p = 0 to rounding: nothing left to gain
          active[b] = false;
          for (int c = 0; c < K; ++c) p[b][c] = T(0);
          continue;
        }
        const T beta = rs_new / rs[b];
        for (int c = 0; c < K; ++c) p[b][c] = r[b][c] + beta * p[b][c];
        rs[b] = rs_new;
      }
    }
    for (int b = 0; b < R; ++b) {
      if (row[b] < 0) continue;
      bool ok = true;
      for (int c = 0; c < K; ++c) ok = ok && math::isfinite(x[b][c]);
      if (!ok && row[b] < bad) bad = row[b];
    }
  }
};

template <class T, ExecutionSpace Space, int K>
index_t als_launch_cg_host(const Space& space, AlsCgHostRows<T, Space, K, 4> f) {
  if (f.rows == 0) return -1;
  Kokkos::TeamPolicy<Space, Kokkos::Schedule<Kokkos::Dynamic>> policy(space, static_cast<int>((f.rows + 3) / 4), 1, 1);
  policy.set_chunk_size(4);
  index_t first_bad = std::numeric_limits<index_t>::max();
  Kokkos::parallel_reduce("seqrec::completion::ImplicitAls::solve_cg", policy, f, Kokkos::Min<index_t>(first_bad));
  return first_bad == std::numeric_limits<index_t>::max() ? -1 : first_bad;
}

template <class T, ExecutionSpace Space, class Solver, int K>
index_t als_launch(const Space& space, AlsSolveRows<T, Space, Solver, K> f, index_t rows) {
  if (rows == 0) return -1;
  constexpr bool host = AlsSolveRows<T, Space, Solver, K>::host;
  const std::size_t bytes =
      AlsSolveRows<T, Space, Solver, K>::scratch_view::shmem_size(AlsSolveRows<T, Space, Solver, K>::scratch_len(f.k));
  f.level = bytes <= 16384 ? 0 : 1;
  // Dynamic: rows differ widely in length (a few heavy users or popular items).
  Kokkos::TeamPolicy<Space, Kokkos::Schedule<Kokkos::Dynamic>> policy(space, static_cast<int>(rows), 1, host ? 1 : 32);
  policy.set_scratch_size(f.level, Kokkos::PerTeam(bytes));
  if constexpr (host) policy.set_chunk_size(16);
  index_t first_bad = std::numeric_limits<index_t>::max();
  Kokkos::parallel_reduce(std::is_same_v<Solver, Cholesky> ? "seqrec::completion::ImplicitAls::solve_cholesky"
                                                           : "seqrec::completion::ImplicitAls::solve_cg",
                          policy, f, Kokkos::Min<index_t>(first_bad));
  return first_bad == std::numeric_limits<index_t>::max() ? -1 : first_bad;
}

// Solves the rows of one half-step (all rows, or those in `which`); returns the first bad row or -1.
template <class T, ExecutionSpace Space, class Solver>
index_t als_solve_rows(const Space& space, View2<const T, Space> G, View2<const T, Space> F,
                       const graph::Csr<T, Space>& rows, View1<const id_t, Space> which, View2<T, Space> out, T alpha,
                       T reg, bool binary, int cg_steps) {
  const int k = static_cast<int>(out.extent(1));
  const index_t n = which.extent(0) > 0 ? static_cast<index_t>(which.extent(0)) : rows.rows();
  auto make = [&](auto K) {
    return AlsSolveRows<T, Space, Solver, decltype(K)::value>{
        G, F, rows.offsets, rows.indices, rows.values, which, out, alpha, reg, binary, cg_steps, k, 0};
  };
  if constexpr (Kokkos::SpaceAccessibility<Space, Kokkos::HostSpace>::accessible &&
                std::is_same_v<Solver, ConjugateGradient>) {
    auto make_cg = [&](auto K) {
      return AlsCgHostRows<T, Space, decltype(K)::value, 4>{G,   F,     rows.offsets, rows.indices, rows.values, which,
                                                            out, alpha, reg,          binary,       cg_steps,    n};
    };
    switch (k) {
      case 32:
        return als_launch_cg_host(space, make_cg(std::integral_constant<int, 32>{}));
      case 64:
        return als_launch_cg_host(space, make_cg(std::integral_constant<int, 64>{}));
      case 128:
        return als_launch_cg_host(space, make_cg(std::integral_constant<int, 128>{}));
      default:
        break;
    }
  }
  if constexpr (Kokkos::SpaceAccessibility<Space, Kokkos::HostSpace>::accessible) {
    switch (k) {
      case 32:
        return als_launch(space, make(std::integral_constant<int, 32>{}), n);
      case 64:
        return als_launch(space, make(std::integral_constant<int, 64>{}), n);
      case 128:
        return als_launch(space, make(std::integral_constant<int, 128>{}), n);
      default:
        break;
    }
  }
  return als_launch(space, make(std::integral_constant<int, 0>{}), n);
}

// G = F^T F.
template <class T, ExecutionSpace Space>
void als_gram(const Space& space, View2<const T, Space> F, View2<T, Space> G) {
  linalg::gemm(space, linalg::Trans::T, linalg::Trans::N, T(1), F, F, T(0), G);
}

// sum over observed pairs of c (1 - s)^2 - s^2, s = x_u . y_i (the part of L that differs from the all-zero
// preference), in double.
template <class T, ExecutionSpace Space>
double als_observed_loss(const Space& space, View2<const T, Space> X, View2<const T, Space> Y,
                         const graph::Csr<T, Space>& by_user, T alpha, bool binary) {
  const auto offsets = by_user.offsets;
  const auto indices = by_user.indices;
  const auto values = by_user.values;
  const int k = static_cast<int>(X.extent(1));
  double total = 0;
  Kokkos::parallel_reduce(
      "seqrec::completion::ImplicitAls::loss", Kokkos::RangePolicy<Space>(space, 0, by_user.rows()),
      KOKKOS_LAMBDA(index_t u, double& acc) {
        for (index_t e = offsets(u); e < offsets(u + 1); ++e) {
          const id_t i = indices(e);
          double s = 0;
          // Captured before the constexpr-if: nvcc refuses a lambda whose first capture is inside one.
          const T* xu = &X(u, 0);
          const T* yi = &Y(i, 0);
          const int kk = k;
          if constexpr (Kokkos::SpaceAccessibility<Space, Kokkos::HostSpace>::accessible)
            s = double(als_host_dot<0>(xu, yi, kk));
          else
            for (int c = 0; c < kk; ++c) s += double(xu[c]) * double(yi[c]);
          const double cj = 1.0 + double(alpha) * (binary ? 1.0 : double(values(e)));
          acc += cj * (1.0 - s) * (1.0 - s) - s * s;
        }
      },
      total);
  return total;
}

template <class T, ExecutionSpace Space>
void als_zero_row(const Space& space, View2<T, Space> F, index_t row) {
  Kokkos::deep_copy(space, Kokkos::subview(F, row, Kokkos::ALL), T(0));
}

}  // namespace detail

template <Scalar T, ExecutionSpace Space, class Solver = ConjugateGradient>
class ImplicitAls {
  static_assert(AlsSolver<Solver>, "seqrec::completion::ImplicitAls: the solver must be ConjugateGradient or Cholesky");

 public:
  static constexpr const char* name = "als";  // what --method / --blend call it (completion/registry.hpp)
  using scalar_type = T;
  using execution_space = Space;
  using memory_space = typename Space::memory_space;
  using solver_type = Solver;
  using Options = ImplicitAlsOptions;
  using FitStats = ImplicitAlsStats;

  ImplicitAls() : ImplicitAls(Options{}) {}
  explicit ImplicitAls(const Options& options) : options_(options) { validate(options_); }

  // ------------------------------------------------------------------ fit

  // Fits on training interactions (e.g. Split::train), weights checked by options().weights (NaN, infinite,
  // zero or negative weights are refused under Weights::positive). Replaces any earlier fit; a fit that throws
  // leaves the model as it was.
  void fit(const Space& space, const data::Interactions& train) {
    fit(space, make_rating_matrix<T>(space, train, options_.weights));
  }

  // Fits on a prepared matrix (values must be positive unless options().weights is binary, which ignores them).
  void fit(const Space& space, const RatingMatrix<T, Space>& r) {
    SEQREC_REQUIRE(r.num_users >= 1 && r.num_items >= 1 && r.nnz() > 0, "ImplicitAls::fit: no interactions to fit on (",
                   r.num_users, " users, ", r.num_items, " items, ", r.nnz(), " pairs)");
    check_values(r.host_by_user, 0, r.num_users, "fit");
    const index_t k = options_.factors;
    const T alpha = static_cast<T>(options_.alpha), reg = static_cast<T>(options_.reg);
    const bool binary = options_.weights == Weights::binary;

    auto X = make_uninitialized<View2<T, Space>>(space, "completion::ImplicitAls::user_factors", r.num_users, k);
    auto Y = make_uninitialized<View2<T, Space>>(space, "completion::ImplicitAls::item_factors", r.num_items + 1, k);
    auto GX = make_uninitialized<View2<T, Space>>(space, "completion::ImplicitAls::gram_users", k, k);
    auto GY = make_uninitialized<View2<T, Space>>(space, "completion::ImplicitAls::gram_items", k, k);
    RandomSource rng(options_.seed);
    fill_uniform(space, X, rng.next(), T(0), static_cast<T>(options_.init_scale));
    fill_uniform(space, Y, rng.next(), T(0), static_cast<T>(options_.init_scale));
    detail::als_zero_row(space, Y, 0);
    detail::als_gram(space, View2<const T, Space>(Y), GY);
    space.fence();

    FitStats stats;
    const View1<const id_t, Space> all;
    for (int it = 0; it < options_.iterations; ++it) {
      const auto start = std::chrono::steady_clock::now();
      const index_t bad_user =
          detail::als_solve_rows<T, Space, Solver>(space, View2<const T, Space>(GY), View2<const T, Space>(Y),
                                                   r.by_user, all, X, alpha, reg, binary, options_.cg_steps);
      if (bad_user >= 0) fail_row("user", bad_user, it);
      detail::als_gram(space, View2<const T, Space>(X), GX);
      const index_t bad_item =
          detail::als_solve_rows<T, Space, Solver>(space, View2<const T, Space>(GX), View2<const T, Space>(X),
                                                   r.by_item, all, Y, alpha, reg, binary, options_.cg_steps);
      if (bad_item >= 0) fail_row("item", bad_item, it);
      detail::als_gram(space, View2<const T, Space>(Y), GY);
      space.fence();
      stats.seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      // The Gram matrices of this iteration give every term over all pairs.
      stats.loss.push_back(loss_from(space, X, Y, GX, GY, r));
      SEQREC_REQUIRE_CODE(std::isfinite(stats.loss.back()), Errc::numeric, "ImplicitAls::fit: the loss became ",
                          stats.loss.back(), " at iteration ", it, " (reg = ", options_.reg,
                          ", alpha = ", options_.alpha, ")");
    }
    X_ = X;
    Y_ = Y;
    gram_items_ = GY;
    stats_ = std::move(stats);
    num_users_ = r.num_users;
    num_items_ = r.num_items;
  }

  // ------------------------------------------------------------------ fold-in

  // Recomputes the factors of `users` from their rows of `r` with the item factors fixed: the users step of
  // fit() for those users only (CG warm-starts from their current factors). The feedback loop calls it after
  // adding a user's new interactions to `r`. `r` must cover the fitted items (r.num_items == num_items()); each
  // user must be a fitted user and a row of `r`, listed once. A user whose row is empty gets the zero vector.
  void fold_in(const Space& space, const RatingMatrix<T, Space>& r, View1<const id_t, Space> users) {
    require_fitted("fold_in");
    SEQREC_REQUIRE_CODE(r.num_items == num_items_, Errc::shape_mismatch, "ImplicitAls::fold_in: the matrix has ",
                        r.num_items, " items, the model was fitted on ", num_items_);
    if (users.extent(0) == 0) return;
    auto host_users = to_host(users);
    std::vector<id_t> sorted(host_users.data(), host_users.data() + host_users.extent(0));
    for (std::size_t b = 0; b < sorted.size(); ++b) {
      const id_t u = sorted[b];
      SEQREC_REQUIRE_CODE(u >= 0 && u < num_users_ && u < r.num_users, Errc::out_of_range,
                          "ImplicitAls::fold_in: user ", u, " (entry ", b, ") outside [0, ",
                          std::min<index_t>(num_users_, r.num_users), ") (", num_users_, " fitted users, ", r.num_users,
                          " rows in the matrix)");
      check_values(r.host_by_user, u, u + 1, "fold_in");
    }
    std::sort(sorted.begin(), sorted.end());
    const auto dup = std::adjacent_find(sorted.begin(), sorted.end());
    SEQREC_REQUIRE(dup == sorted.end(), "ImplicitAls::fold_in: user ", dup == sorted.end() ? 0 : *dup,
                   " is listed more than once");
    const index_t bad = detail::als_solve_rows<T, Space, Solver>(
        space, View2<const T, Space>(gram_items_), View2<const T, Space>(Y_), r.by_user, users, X_,
        static_cast<T>(options_.alpha), static_cast<T>(options_.reg), options_.weights == Weights::binary,
        options_.cg_steps);
    if (bad >= 0)
      SEQREC_THROW(Errc::numeric, "ImplicitAls::fold_in: the solve for user ", bad,
                   " broke down (non-finite factors or a system that is not positive definite; reg = ", options_.reg,
                   ")");
  }

  // Host list of users.
  void fold_in(const Space& space, const RatingMatrix<T, Space>& r, std::span<const id_t> users) {
    Kokkos::View<const id_t*, Kokkos::HostSpace, Kokkos::MemoryUnmanaged> host(users.data(), users.size());
    auto device = make_uninitialized<View1<id_t, Space>>(space, "completion::ImplicitAls::fold_in_users", users.size());
    Kokkos::deep_copy(space, device, host);
    space.fence();
    fold_in(space, r, View1<const id_t, Space>(device));
  }

  // ------------------------------------------------------------------ score

  // scores(b, j) = x_{users(b)} . y_{candidates(b, j)}; throws out_of_range naming a bad user or candidate.
  void score(const Space& space, View1<const id_t, Space> users, View2<const id_t, Space> candidates,
             View2<T, Space> scores) const {
    require_fitted("score");
    score_factors(space, tables(), users, candidates, scores, "ImplicitAls::score");
  }

  // scores(b, i) = x_{users(b)} . y_i for i in 0..num_items (one gemm). Not safe to call concurrently on one
  // model (it reuses a workspace).
  void score_all(const Space& space, View1<const id_t, Space> users, View2<T, Space> scores) const {
    require_fitted("score_all");
    score_all_factors(space, tables(), users, scores, workspace_, "ImplicitAls::score_all");
  }

  // L (see the top of this file) of the current factors on `r` (e.g. to compare with a reference).
  double loss(const Space& space, const RatingMatrix<T, Space>& r) const {
    require_fitted("loss");
    SEQREC_REQUIRE_CODE(r.num_users == num_users_ && r.num_items == num_items_, Errc::shape_mismatch,
                        "ImplicitAls::loss: the matrix is ", r.num_users, " x ", r.num_items, ", the model ",
                        num_users_, " x ", num_items_);
    const index_t k = options_.factors;
    auto GX = make_uninitialized<View2<T, Space>>(space, "completion::ImplicitAls::gram_users", k, k);
    auto GY = make_uninitialized<View2<T, Space>>(space, "completion::ImplicitAls::gram_items", k, k);
    detail::als_gram(space, View2<const T, Space>(X_), GX);
    detail::als_gram(space, View2<const T, Space>(Y_), GY);
    return loss_from(space, X_, Y_, GX, GY, r);
  }

  // ------------------------------------------------------------------ state

  bool fitted() const { return X_.extent(0) > 0; }
  const Options& options() const { return options_; }
  const FitStats& stats() const { return stats_; }
  index_t num_users() const { return num_users_; }
  index_t num_items() const { return num_items_; }
  index_t factors() const { return options_.factors; }
  View2<const T, Space> user_factors() const { return X_; }  // [num_users x k]
  View2<const T, Space> item_factors() const { return Y_; }  // [num_items + 1 x k], row 0 zero
  FactorTables<T, Space> tables() const { return FactorTables<T, Space>{X_, Y_, {}, {}, T(0)}; }

 private:
  static void validate(const Options& o) {
    SEQREC_REQUIRE(o.factors >= 1, "ImplicitAls: Options::factors must be >= 1, got ", o.factors);
    SEQREC_REQUIRE(std::isfinite(o.reg) && o.reg >= 0, "ImplicitAls: Options::reg must be finite and >= 0, got ",
                   o.reg);
    SEQREC_REQUIRE(std::isfinite(o.alpha) && o.alpha >= 0, "ImplicitAls: Options::alpha must be finite and >= 0, got ",
                   o.alpha);
    SEQREC_REQUIRE(o.iterations >= 1, "ImplicitAls: Options::iterations must be >= 1, got ", o.iterations);
    SEQREC_REQUIRE(o.cg_steps >= 1, "ImplicitAls: Options::cg_steps must be >= 1, got ", o.cg_steps);
    SEQREC_REQUIRE(std::isfinite(o.init_scale) && o.init_scale > 0,
                   "ImplicitAls: Options::init_scale must be finite and > 0, got ", o.init_scale);
    SEQREC_REQUIRE(o.weights == Weights::positive || o.weights == Weights::binary,
                   "ImplicitAls: Options::weights must be Weights::positive or Weights::binary (confidence needs "
                   "w > 0), got Weights::finite");
  }

  // Weights of rows [lo, hi) must be positive unless they are ignored (binary).
  void check_values(const HostCsr<T>& m, index_t lo, index_t hi, const char* who) const {
    if (options_.weights == Weights::binary) return;
    for (index_t u = lo; u < hi; ++u)
      for (index_t e = m.offsets[u]; e < m.offsets[u + 1]; ++e)
        SEQREC_REQUIRE(std::isfinite(m.values[e]) && m.values[e] > 0, "ImplicitAls::", who, ": user ", u,
                       " has weight ", m.values[e], " on item ", m.indices[e],
                       "; confidence needs weights > 0 (or Options::weights = Weights::binary)");
  }

  [[noreturn]] void fail_row(const char* what, index_t row, int it) const {
    SEQREC_THROW(Errc::numeric, "ImplicitAls::fit: the solve for ", what, " ", row, " broke down at iteration ", it,
                 " (non-finite factors or a system that is not positive definite; reg = ", options_.reg,
                 ", alpha = ", options_.alpha, ")");
  }

  // L = tr(GX GY) + reg (tr GX + tr GY) + sum over observed pairs of [c (1 - s)^2 - s^2].
  double loss_from(const Space& space, View2<T, Space> X, View2<T, Space> Y, View2<T, Space> GX, View2<T, Space> GY,
                   const RatingMatrix<T, Space>& r) const {
    const double observed =
        detail::als_observed_loss(space, View2<const T, Space>(X), View2<const T, Space>(Y), r.by_user,
                                  static_cast<T>(options_.alpha), options_.weights == Weights::binary);
    auto gx = to_host(GX);
    auto gy = to_host(GY);
    const index_t k = options_.factors;
    double all = 0, norms = 0;
    for (index_t a = 0; a < k; ++a) {
      norms += double(gx(a, a)) + double(gy(a, a));
      for (index_t b = 0; b < k; ++b) all += double(gx(a, b)) * double(gy(a, b));
    }
    return all + options_.reg * norms + observed;
  }

  void require_fitted(const char* what) const { SEQREC_REQUIRE(fitted(), "ImplicitAls::", what, ": call fit() first"); }

  Options options_;
  FitStats stats_;
  View2<T, Space> X_;
  View2<T, Space> Y_;
  View2<T, Space> gram_items_;  // Y^T Y of the fitted Y, for fold_in
  mutable View2<T, Space> workspace_;
  index_t num_users_ = 0;
  index_t num_items_ = 0;
};

}  // namespace seqrec::completion
