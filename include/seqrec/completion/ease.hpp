// EASE (Steck 2019, "Embarrassingly Shallow Autoencoders for Sparse Data"): a dense item–item model with a
// closed form. With X the user–item matrix (binary or weighted),
//   G = XᵀX + λI,   P = G⁻¹,   B = I − P · diag(1 / diag(P))   (so diag(B) = 0),   score(u, :) = X_u B.
//
// fit builds G on the device from the sparse rows (one team per item row i: G(i, :) = Σ_{u ∋ i} w_ui X_u,
// the team owns its row, so no atomics), inverts it in place, then turns P into B in place. Two solvers:
//   EaseSolver::lapack    Cholesky (potrf + potri) from the LAPACK that OpenBLAS exports; host spaces only;
//   EaseSolver::portable  blocked Gauss–Jordan: per block of `block` pivots, a small team kernel inverts the
//                         pivot block and three gemms through seqrec::linalg update the rest (cuBLAS on CUDA,
//                         BLAS or the portable kernels on host). 2n³ flops against Cholesky's n³.
//   EaseSolver::automatic lapack where it is available and the space runs on the host, else portable.
// B is stored (num_items+1)² with row and column 0 (padding) zero, on the device, in T. The whole fit needs
// that one matrix (plus 2·block·n workspace for the portable solver): fit checks the bytes against
// Options::max_memory_gb before allocating.
//
// score_all(u, :) = Σ_{j in u's row} w_uj B(j, :) (one team per user, threads over items); score gathers the
// same sum at the candidates. Users without training interactions score 0 everywhere.
#pragma once

#include <seqrec/completion/rating_matrix.hpp>
#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/linalg.hpp>
#include <seqrec/core/math.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/data/interactions.hpp>
#include <seqrec/graph/csr.hpp>

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

// LAPACK's Cholesky factorisation and inverse, as OpenBLAS exports them (Fortran symbols; the hidden
// length of the one-character argument is not passed, as is usual from C). SEQREC_HAVE_LAPACK may be
// defined by a build that links another LAPACK.
#if defined(SEQREC_HAVE_OPENBLAS) || defined(SEQREC_HAVE_LAPACK)
#define SEQREC_EASE_HAS_LAPACK 1
extern "C" {
void spotrf_(const char* uplo, const int* n, float* a, const int* lda, int* info);
void spotri_(const char* uplo, const int* n, float* a, const int* lda, int* info);
void dpotrf_(const char* uplo, const int* n, double* a, const int* lda, int* info);
void dpotri_(const char* uplo, const int* n, double* a, const int* lda, int* info);
}
#else
#define SEQREC_EASE_HAS_LAPACK 0
#endif

namespace seqrec::completion {

enum class EaseSolver : std::uint8_t {
  automatic,  // LAPACK Cholesky where available on a host space, else portable
  lapack,     // LAPACK Cholesky; fit throws `unsupported` where it is not available
  portable,   // blocked Gauss–Jordan through seqrec::linalg::gemm (every backend)
};

inline const char* to_string(EaseSolver s) {
  switch (s) {
    case EaseSolver::automatic:
      return "automatic";
    case EaseSolver::lapack:
      return "lapack";
    case EaseSolver::portable:
      return "portable";
  }
  return "?";
}

namespace detail {

template <class Space>
inline constexpr bool ease_lapack_usable_v =
    SEQREC_EASE_HAS_LAPACK&& Kokkos::SpaceAccessibility<Space, Kokkos::HostSpace>::accessible;

#if SEQREC_EASE_HAS_LAPACK
inline void potrf(const char* uplo, const int* n, float* a, const int* lda, int* info) {
  spotrf_(uplo, n, a, lda, info);
}
inline void potrf(const char* uplo, const int* n, double* a, const int* lda, int* info) {
  dpotrf_(uplo, n, a, lda, info);
}
inline void potri(const char* uplo, const int* n, float* a, const int* lda, int* info) {
  spotri_(uplo, n, a, lda, info);
}
inline void potri(const char* uplo, const int* n, double* a, const int* lda, int* info) {
  dpotri_(uplo, n, a, lda, info);
}
#endif

// G(i, :) = Σ_{u ∋ i} w_ui · X_u for items i >= 1, + λ on the diagonal; row 0 (padding) zero. One team per
// row: zero it, then add one user row at a time (item ids are distinct within a row; barriers between).
template <class T, ExecutionSpace Space>
void ease_gram(const Space& space, const graph::Csr<T, Space>& by_user, const graph::Csr<T, Space>& by_item, T lambda,
               View2<T, Space> G) {
  using member_type = typename Kokkos::TeamPolicy<Space>::member_type;
  const index_t n = static_cast<index_t>(G.extent(0));
  const auto uo = by_user.offsets;
  const auto ui = by_user.indices;
  const auto uv = by_user.values;
  const auto io = by_item.offsets;
  const auto ii = by_item.indices;
  const auto iv = by_item.values;
  constexpr bool host = Kokkos::SpaceAccessibility<Space, Kokkos::HostSpace>::accessible;
  Kokkos::parallel_for(
      "seqrec::completion::Ease::gram", Kokkos::TeamPolicy<Space>(space, static_cast<int>(n), host ? 1 : 128),
      KOKKOS_LAMBDA(const member_type& m) {
        const index_t i = m.league_rank();
        Kokkos::parallel_for(Kokkos::TeamThreadRange(m, index_t(0), n), [&](index_t c) { G(i, c) = T(0); });
        if (i == 0) return;
        for (index_t q = io(i); q < io(i + 1); ++q) {
          const id_t u = ii(q);
          const T w = iv(q);
          m.team_barrier();
          Kokkos::parallel_for(Kokkos::TeamThreadRange(m, uo(u), uo(u + 1)),
                               [&](index_t p) { G(i, ui(p)) += w * uv(p); });
        }
        m.team_barrier();
        Kokkos::single(Kokkos::PerTeam(m), [&]() { G(i, i) += lambda; });
      });
}

// dst(r, c) = src(r, c) over dst's extents.
template <ExecutionSpace Space, class Dst, class Src>
void ease_copy(const Space& space, const Dst& dst, const Src& src) {
  Kokkos::parallel_for(
      "seqrec::completion::Ease::copy",
      Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(
          space, {0, 0}, {static_cast<index_t>(dst.extent(0)), static_cast<index_t>(dst.extent(1))}),
      KOKKOS_LAMBDA(index_t r, index_t c) { dst(r, c) = src(r, c); });
}

// In-place Gauss–Jordan inverse of the small SPD block S by one team (a sweep per pivot). The first pivot
// that is not finite and > 0 (G not positive definite) is recorded as offset + p + 1 in fail(0) unless one
// was recorded already.
template <class T, ExecutionSpace Space, class SV>
void ease_invert_block(const Space& space, const SV& S, View1<index_t, Space> fail, index_t offset) {
  using member_type = typename Kokkos::TeamPolicy<Space>::member_type;
  const index_t n = static_cast<index_t>(S.extent(0));
  constexpr bool host = Kokkos::SpaceAccessibility<Space, Kokkos::HostSpace>::accessible;
  Kokkos::parallel_for(
      "seqrec::completion::Ease::invert_block", Kokkos::TeamPolicy<Space>(space, 1, host ? 1 : 128),
      KOKKOS_LAMBDA(const member_type& m) {
        for (index_t p = 0; p < n; ++p) {
          const T a = S(p, p);
          if (!(a > T(0)) || !math::isfinite(a)) {
            Kokkos::single(Kokkos::PerTeam(m), [&]() {
              if (fail(0) == 0) fail(0) = offset + p + 1;
            });
          }
          const T inv = T(1) / a;
          // The rest first (it reads row and column p), then row and column p, then the pivot.
          Kokkos::parallel_for(Kokkos::TeamThreadRange(m, index_t(0), n), [&](index_t i) {
            if (i == p) return;
            const T sip = S(i, p) * inv;
            for (index_t j = 0; j < n; ++j)
              if (j != p) S(i, j) -= sip * S(p, j);
          });
          m.team_barrier();
          Kokkos::parallel_for(Kokkos::TeamThreadRange(m, index_t(0), n), [&](index_t i) {
            if (i == p) return;
            S(i, p) *= inv;
            S(p, i) = -S(p, i) * inv;
          });
          m.team_barrier();
          Kokkos::single(Kokkos::PerTeam(m), [&]() { S(p, p) = inv; });
          m.team_barrier();
        }
      });
}

// A(k0 + r, c) = c in [k0, k0 + nb) ? S(r, c − k0) : −Rp(r, c): the pivot rows after a block sweep.
template <ExecutionSpace Space, class AV, class SV, class RV>
void ease_pivot_rows(const Space& space, const AV& A, const SV& S, const RV& Rp, index_t k0) {
  const index_t nb = static_cast<index_t>(S.extent(0)), n = static_cast<index_t>(A.extent(1));
  Kokkos::parallel_for(
      "seqrec::completion::Ease::pivot_rows", Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {0, 0}, {nb, n}),
      KOKKOS_LAMBDA(index_t r, index_t c) { A(k0 + r, c) = (c >= k0 && c < k0 + nb) ? S(r, c - k0) : -Rp(r, c); });
}

// In-place inverse of the SPD matrix A (n x n, any strides) by blocked Gauss–Jordan (principal pivoting:
// exchanging one block of unknowns at a time, the pivot block is always a Schur complement of G, so SPD).
// Per block K with pivot inverse S = A_KK⁻¹, Cp = A(:, K), Rp = S A(K, :):
//   A ← A − Cp Rp;   A(:, K) ← Cp S;   A(K, :) ← −Rp;   A(K, K) ← S.
// Returns 0, or 1 + the first pivot that was not positive.
template <class T, ExecutionSpace Space, class AV>
index_t ease_invert_portable(const Space& space, const AV& A, index_t block) {
  const index_t n = static_cast<index_t>(A.extent(0));
  const index_t nb = std::min(block, n);
  auto Sw = make_uninitialized<View2<T, Space>>(space, "completion::Ease::pivot_block", nb, nb);
  auto Cw = make_uninitialized<View2<T, Space>>(space, "completion::Ease::column_panel", n, nb);
  auto Rw = make_uninitialized<View2<T, Space>>(space, "completion::Ease::row_panel", nb, n);
  auto fail = make_zeros<View1<index_t, Space>>(space, "completion::Ease::fail", 1);
  using linalg::Trans;
  for (index_t k0 = 0; k0 < n; k0 += nb) {
    const index_t k1 = std::min(n, k0 + nb), w = k1 - k0;
    const auto K = Kokkos::make_pair(k0, k1);
    const auto S = Kokkos::subview(Sw, Kokkos::make_pair(index_t(0), w), Kokkos::make_pair(index_t(0), w));
    const auto Cp = Kokkos::subview(Cw, Kokkos::ALL, Kokkos::make_pair(index_t(0), w));
    const auto Rp = Kokkos::subview(Rw, Kokkos::make_pair(index_t(0), w), Kokkos::ALL);
    ease_copy(space, S, Kokkos::subview(A, K, K));
    ease_invert_block<T>(space, S, fail, k0);
    linalg::gemm(space, Trans::N, Trans::N, T(1), S, Kokkos::subview(A, K, Kokkos::ALL), T(0), Rp);
    ease_copy(space, Cp, Kokkos::subview(A, Kokkos::ALL, K));
    linalg::gemm(space, Trans::N, Trans::N, T(-1), Cp, Rp, T(1), A);
    linalg::gemm(space, Trans::N, Trans::N, T(1), Cp, S, T(0), Kokkos::subview(A, Kokkos::ALL, K));
    ease_pivot_rows(space, A, S, Rp, k0);
  }
  return to_host(fail)(0);
}

// For i <= j already holding P(i, j) (LAPACK's triangle), fills P(j, i) = P(i, j).
template <ExecutionSpace Space, class AV>
void ease_symmetrize_upper(const Space& space, const AV& A) {
  const index_t n = static_cast<index_t>(A.extent(0));
  Kokkos::parallel_for(
      "seqrec::completion::Ease::symmetrize", Kokkos::RangePolicy<Space>(space, 0, n), KOKKOS_LAMBDA(index_t i) {
        for (index_t j = 0; j < i; ++j) A(i, j) = A(j, i);
      });
}

// B(i, j) = i == j ? 0 : −P(i, j) / P(j, j) over the item block (rows and columns 1..n of the stored
// matrix). Returns the number of entries of B that are not finite (a P(j, j) <= 0 counts as its column).
template <class T, ExecutionSpace Space>
index_t ease_p_to_b(const Space& space, View2<T, Space> M) {
  const index_t n1 = static_cast<index_t>(M.extent(0));
  auto d = make_uninitialized<View1<T, Space>>(space, "completion::Ease::diag", n1);
  Kokkos::parallel_for(
      "seqrec::completion::Ease::diag", Kokkos::RangePolicy<Space>(space, 0, n1),
      KOKKOS_LAMBDA(index_t i) { d(i) = M(i, i); });
  index_t bad = 0;
  Kokkos::parallel_reduce(
      "seqrec::completion::Ease::to_b", Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {1, 1}, {n1, n1}),
      KOKKOS_LAMBDA(index_t i, index_t j, index_t & count) {
        const T dj = d(j);
        const T b = i == j ? T(0) : -M(i, j) / dj;
        M(i, j) = b;
        if (!(dj > T(0)) || !math::isfinite(b)) ++count;
      },
      bad);
  return bad;
}

// scores(b, c) = Σ_{j in row users(b)} w_uj B(j, columns(b, c)) where columns is the identity (score_all,
// candidates empty) or the candidates. Returns -1, a flat candidate position outside [0, num_items], or
// -(b + 2) for a user outside [0, num_users) (score_all zeroes that row).
template <class T, ExecutionSpace Space>
index_t ease_score(const Space& space, const graph::Csr<T, Space>& history, View2<const T, Space> B,
                   View1<const id_t, Space> users, View2<const id_t, Space> candidates, View2<T, Space> scores,
                   bool all) {
  using member_type = typename Kokkos::TeamPolicy<Space>::member_type;
  const index_t rows = static_cast<index_t>(scores.extent(0)), cols = static_cast<index_t>(scores.extent(1));
  if (rows == 0) return -1;
  const index_t nu = history.rows(), ni = static_cast<index_t>(B.extent(0)) - 1;
  const auto ho = history.offsets;
  const auto hi = history.indices;
  const auto hv = history.values;
  constexpr bool host = Kokkos::SpaceAccessibility<Space, Kokkos::HostSpace>::accessible;
  index_t first_bad = rows * cols;
  Kokkos::parallel_reduce(
      "seqrec::completion::Ease::score", Kokkos::TeamPolicy<Space>(space, static_cast<int>(rows), host ? 1 : 128),
      KOKKOS_LAMBDA(const member_type& m, index_t& bad) {
        const index_t b = m.league_rank();
        const id_t u = users(b);
        const bool known = u >= 0 && u < nu;
        if (!known)
          Kokkos::single(Kokkos::PerTeam(m), [&]() {
            if (-(b + 2) < bad) bad = -(b + 2);
          });
        Kokkos::parallel_for(Kokkos::TeamThreadRange(m, index_t(0), cols), [&](index_t t) {
          const id_t c = all ? static_cast<id_t>(t) : candidates(b, t);
          if (c < 0 || c > ni) {
            if (known && b * cols + t < bad) bad = b * cols + t;
            return;
          }
          T s = T(0);
          if (known)
            for (index_t p = ho(u); p < ho(u + 1); ++p) s += hv(p) * B(hi(p), c);
          scores(b, t) = s;
        });
      },
      Kokkos::Min<index_t>(first_bad));
  return first_bad < rows * cols ? first_bad : -1;
}

}  // namespace detail

template <Scalar T, ExecutionSpace Space>
class Ease {
 public:
  static constexpr const char* name = "ease";  // what --method / --blend call it (completion/registry.hpp)
  using scalar_type = T;
  using execution_space = Space;
  using memory_space = typename Space::memory_space;

  // Whether EaseSolver::lapack can run for this space and build.
  static constexpr bool has_lapack = detail::ease_lapack_usable_v<Space>;

  struct Options {
    double lambda = 500.0;                      // L2 penalty λ on B (added to G's diagonal); > 0
    Weights weights = Weights::binary;          // X: binary (implicit data) or the summed weights
    double max_memory_gb = 8.0;                 // cap (10^9 bytes) on the dense item–item matrix + workspace
    EaseSolver solver = EaseSolver::automatic;  // how G is inverted
    index_t block = 128;                        // portable solver: pivots per block
  };

  struct FitStats {
    std::vector<double> seconds;  // one entry: the whole fit, fenced
    double gram_seconds = 0;      // building G
    double inverse_seconds = 0;   // inverting G and forming B
    bool used_lapack = false;
    std::int64_t bytes = 0;  // memory of B (and the solver's workspace) as checked against max_memory_gb
  };

  Ease() : Ease(Options{}) {}
  explicit Ease(const Options& options) : options_(options) { validate(options_); }

  static void validate(const Options& o) {
    SEQREC_REQUIRE(std::isfinite(o.lambda) && o.lambda > 0, "Ease: Options::lambda must be finite and > 0, got ",
                   o.lambda);
    SEQREC_REQUIRE(std::isfinite(o.max_memory_gb) && o.max_memory_gb > 0,
                   "Ease: Options::max_memory_gb must be finite and > 0, got ", o.max_memory_gb);
    SEQREC_REQUIRE(o.block >= 1, "Ease: Options::block must be >= 1, got ", o.block);
    SEQREC_REQUIRE(o.solver != EaseSolver::lapack || has_lapack,
                   "Ease: Options::solver = EaseSolver::lapack is unavailable (",
                   SEQREC_EASE_HAS_LAPACK ? "LAPACK runs on host spaces only" : "built without LAPACK",
                   "); use EaseSolver::automatic or EaseSolver::portable");
  }

  // Bytes a fit over num_items items needs on the device (B, plus the portable solver's panels).
  std::int64_t bytes_needed(index_t num_items) const {
    const std::int64_t n = num_items, n1 = n + 1, nb = std::min<std::int64_t>(options_.block, n);
    std::int64_t elems = n1 * n1;
    if (!use_lapack()) elems += 2 * n * nb + nb * nb;
    return elems * static_cast<std::int64_t>(sizeof(T));
  }

  // ------------------------------------------------------------------ fit

  // Training interactions (e.g. Split::train), weighted by Options::weights.
  void fit(const Space& space, const data::Interactions& x) {
    check_memory(x.num_items());
    fit(space, make_rating_matrix<T>(space, x, options_.weights));
  }

  // A matrix built elsewhere: its values are X as they are (Options::weights applies to the other fit).
  // Replaces any earlier fit only when it succeeds.
  void fit(const Space& space, const RatingMatrix<T, Space>& r) {
    const auto start = std::chrono::steady_clock::now();
    SEQREC_REQUIRE(r.num_items >= 1 && r.by_item.rows() == r.num_items + 1 && r.by_user.rows() == r.num_users,
                   "Ease::fit: the rating matrix is empty or malformed (", r.num_users, " users, ", r.num_items,
                   " items)");
    for (std::size_t p = 0; p < r.host_by_user.values.size(); ++p)
      SEQREC_REQUIRE(std::isfinite(static_cast<double>(r.host_by_user.values[p])), "Ease::fit: entry ", p,
                     " of the rating matrix (item ", r.host_by_user.indices[p], ") has weight ",
                     r.host_by_user.values[p], " (weights must be finite)");
    check_memory(r.num_items);
    const index_t n = r.num_items, n1 = n + 1;
    FitStats st;
    st.bytes = bytes_needed(n);
    st.used_lapack = use_lapack();
    auto M = make_uninitialized<View2<T, Space>>(space, "completion::Ease::B", n1, n1);
    detail::ease_gram(space, r.by_user, r.by_item, static_cast<T>(options_.lambda), M);
    space.fence();
    const auto gram_done = std::chrono::steady_clock::now();
    st.gram_seconds = std::chrono::duration<double>(gram_done - start).count();
    const auto items = Kokkos::make_pair(index_t(1), n1);
    const auto A = Kokkos::subview(M, items, items);
    index_t fail = 0;
    if (st.used_lapack) {
      fail = invert_lapack(space, M, n);
      if (fail == 0) detail::ease_symmetrize_upper(space, A);
    } else {
      fail = detail::ease_invert_portable<T>(space, A, options_.block);
    }
    SEQREC_REQUIRE_CODE(fail == 0, Errc::numeric, "Ease::fit: XᵀX + λI is not positive definite in ",
                        sizeof(T) == 4 ? "float" : "double", " (pivot ", fail, " of ", n,
                        ", lambda = ", options_.lambda, ", solver ", st.used_lapack ? "lapack" : "portable",
                        "); raise lambda or use double");
    const index_t bad = detail::ease_p_to_b<T>(space, M);
    SEQREC_REQUIRE_CODE(bad == 0, Errc::numeric, "Ease::fit: ", bad,
                        " entries of B are not finite (lambda = ", options_.lambda, "); raise lambda or use double");
    space.fence();
    const auto end = std::chrono::steady_clock::now();
    st.inverse_seconds = std::chrono::duration<double>(end - gram_done).count();
    st.seconds.push_back(std::chrono::duration<double>(end - start).count());
    B_ = M;
    history_ = r.by_user;
    num_items_ = n;
    num_users_ = r.num_users;
    stats_ = std::move(st);
  }

  // ------------------------------------------------------------------ score

  // scores(b, j) = Σ_{i in users(b)'s training row} w_ui · B(i, candidates(b, j)). Candidates in
  // [0, num_items] (0: padding, scores 0); users in [0, num_users). Throws out_of_range naming the first bad id.
  void score(const Space& space, View1<const id_t, Space> users, View2<const id_t, Space> candidates,
             View2<T, Space> scores) const {
    require_fitted("score");
    SEQREC_REQUIRE_EQ(candidates.extent(0), users.extent(0), "Ease::score: candidate rows vs users");
    SEQREC_REQUIRE_SHAPE(scores, "Ease::score: scores", static_cast<index_t>(candidates.extent(0)),
                         static_cast<index_t>(candidates.extent(1)));
    const index_t bad =
        detail::ease_score(space, history_, View2<const T, Space>(B_), users, candidates, scores, false);
    report(bad, users, candidates, "score");
  }

  // scores(b, i) = (X_u B)(i) for every item i in 0..num_items (item 0 scores 0).
  void score_all(const Space& space, View1<const id_t, Space> users, View2<T, Space> scores) const {
    require_fitted("score_all");
    SEQREC_REQUIRE_SHAPE(scores, "Ease::score_all: scores", static_cast<index_t>(users.extent(0)), num_items_ + 1);
    const index_t bad =
        detail::ease_score(space, history_, View2<const T, Space>(B_), users, View2<const id_t, Space>(), scores, true);
    report(bad, users, View2<const id_t, Space>(), "score_all");
  }

  // ------------------------------------------------------------------ state

  bool fitted() const { return num_items_ > 0; }
  index_t num_items() const { return num_items_; }
  index_t num_users() const { return num_users_; }
  const Options& options() const { return options_; }
  const FitStats& stats() const { return stats_; }
  // [num_items+1 x num_items+1]: B over items 1..num_items, row and column 0 zero, diagonal zero.
  View2<const T, Space> weights() const { return B_; }
  const graph::Csr<T, Space>& history() const { return history_; }

 private:
  bool use_lapack() const {
    return options_.solver == EaseSolver::lapack || (options_.solver == EaseSolver::automatic && has_lapack);
  }

  void check_memory(index_t num_items) const {
    const std::int64_t bytes = bytes_needed(num_items);
    const double cap = options_.max_memory_gb * 1e9;
    SEQREC_REQUIRE_CODE(static_cast<double>(bytes) <= cap, Errc::invalid_argument, "Ease::fit: the dense item-item ",
                        "matrix of ", num_items, " items needs ", bytes, " bytes (", static_cast<double>(bytes) / 1e9,
                        " GB) in ", sizeof(T) == 4 ? "float" : "double",
                        ", above Options::max_memory_gb = ", options_.max_memory_gb,
                        "; raise the cap or reduce the catalogue (e.g. a k-core filter)");
  }

  // Cholesky inverse of the item block of M (rows and columns 1..n, leading dimension n + 1). M is row-major,
  // so LAPACK's column-major lower triangle is M's upper one. Returns 0 or the failing pivot (1-based).
  index_t invert_lapack(const Space& space, View2<T, Space> M, index_t n) const {
#if SEQREC_EASE_HAS_LAPACK
    if constexpr (has_lapack) {
      SEQREC_REQUIRE_CODE(n + 1 <= INT_MAX, Errc::unsupported, "Ease::fit: ", n,
                          " items exceed LAPACK's 32-bit dimensions");
      space.fence();
      const int dim = static_cast<int>(n), lda = static_cast<int>(n + 1);
      int info = 0;
      T* a = &M(1, 1);
      detail::potrf("L", &dim, a, &lda, &info);
      if (info > 0) return info;
      SEQREC_REQUIRE_CODE(info == 0, Errc::invalid_argument, "Ease::fit: potrf rejected argument ", -info);
      detail::potri("L", &dim, a, &lda, &info);
      if (info > 0) return info;
      SEQREC_REQUIRE_CODE(info == 0, Errc::invalid_argument, "Ease::fit: potri rejected argument ", -info);
      return 0;
    }
#endif
    (void)space, (void)M, (void)n;
    SEQREC_THROW(Errc::unsupported, "Ease::fit: LAPACK is unavailable for this space or build");
  }

  void report(index_t bad, View1<const id_t, Space> users, View2<const id_t, Space> candidates,
              const char* what) const {
    if (bad == -1) return;
    if (bad < -1) {
      const index_t b = -(bad + 2);
      SEQREC_THROW(Errc::out_of_range, "Ease::", what, ": user ",
                   to_host(Kokkos::subview(users, Kokkos::make_pair(b, b + 1)))(0), " (row ", b, ") outside [0, ",
                   num_users_, ")");
    }
    const index_t cols = static_cast<index_t>(candidates.extent(1));
    auto hc = to_host(candidates);
    SEQREC_THROW(Errc::out_of_range, "Ease::", what, ": candidate ", bad % cols, " of row ", bad / cols, " is item ",
                 hc(bad / cols, bad % cols), ", outside [0, ", num_items_, "]");
  }

  void require_fitted(const char* what) const { SEQREC_REQUIRE(fitted(), "Ease::", what, ": call fit() first"); }

  Options options_;
  FitStats stats_;
  View2<T, Space> B_;
  graph::Csr<T, Space> history_;
  index_t num_items_ = 0;
  index_t num_users_ = 0;
};

}  // namespace seqrec::completion
