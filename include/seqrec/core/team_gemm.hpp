// Small products inside a team kernel (one user's attention window, a recurrent step), and a launcher
// that runs one such product per batch entry. Large products belong in linalg::gemm (vendor BLAS).
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/detail/linalg_portable.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/linalg.hpp>

#include <Kokkos_Core.hpp>

#include <cstdint>

namespace seqrec::linalg {

namespace detail {

// Rows of C over the team's threads, columns over each thread's vector lanes, a sequential dot along k
// (k is small here: a head dimension or a window length).
template <class Member, class T>
KOKKOS_INLINE_FUNCTION void team_gemm_strided(const Member& team, T alpha, const Strided<const T>& a,
                                              const Strided<const T>& b, T beta, const Strided<T>& c) {
  Kokkos::parallel_for(Kokkos::TeamThreadRange(team, c.rows), [&](std::int64_t i) {
    Kokkos::parallel_for(Kokkos::ThreadVectorRange(team, c.cols), [&](std::int64_t j) {
      T sum = T(0);
      if (alpha != T(0))  // alpha == 0 reads neither A nor B, as in gemm
        for (std::int64_t p = 0; p < a.cols; ++p) sum += a(i, p) * b(p, j);
      update(c(i, j), sum, alpha, beta, true);
    });
  });
}

}  // namespace detail

// C = alpha * op(A) * op(B) + beta * C, computed by the whole team (every thread of it must call this).
// Like Kokkos Kernels' TeamGemm it does not end with a barrier: call team.team_barrier() before the
// team reads C. Shapes are checked only under SEQREC_DEBUG (this runs inside kernels).
template <class Member, class AV, class BV, class CV>
KOKKOS_INLINE_FUNCTION void team_gemm(const Member& team, Trans ta, Trans tb, typename CV::non_const_value_type alpha,
                                      const AV& A, const BV& B, typename CV::non_const_value_type beta, const CV& C) {
  static_assert(AV::rank == 2 && BV::rank == 2 && CV::rank == 2, "seqrec::linalg::team_gemm: A, B and C must be "
                                                                 "rank-2 views (take subviews of batched data)");
  static_assert(detail::has_strides_v<AV> && detail::has_strides_v<BV> && detail::has_strides_v<CV>,
                "seqrec::linalg::team_gemm: views must be LayoutRight, LayoutLeft or LayoutStride");
  static_assert(!std::is_const_v<typename CV::value_type>, "seqrec::linalg::team_gemm: C must not be a view of const");
  using T = typename CV::non_const_value_type;
  const detail::Strided<const T> a = detail::as_const(detail::strided(A)).op(ta == Trans::T);
  const detail::Strided<const T> b = detail::as_const(detail::strided(B)).op(tb == Trans::T);
  const detail::Strided<T> c = detail::strided(C);
  SEQREC_DEVICE_ASSERT(a.rows == c.rows && b.cols == c.cols && a.cols == b.rows, "team_gemm: shapes do not agree");
  detail::team_gemm_strided(team, alpha, a, b, beta, c);
}

// C[i] = alpha * op(A[i]) * op(B[i]) + beta * C[i] for every i of rank-3 views [batch, rows, cols]: one
// team per batch entry, for many small products (per-sequence attention scores, per-user updates).
template <ExecutionSpace Space, class AV, class BV, class CV>
void batched_gemm(const Space& space, Trans ta, Trans tb, typename CV::non_const_value_type alpha, const AV& A,
                  const BV& B, typename CV::non_const_value_type beta, const CV& C) {
  static_assert(detail::check_operand<Space, AV, 3, false>() && detail::check_operand<Space, BV, 3, false>() &&
                detail::check_operand<Space, CV, 3, true>() && detail::check_same_scalar<CV, AV>() &&
                detail::check_same_scalar<CV, BV>());
  using T = typename CV::non_const_value_type;
  const std::int64_t batch = static_cast<std::int64_t>(C.extent(0));
  SEQREC_REQUIRE_CODE(static_cast<std::int64_t>(A.extent(0)) == batch && static_cast<std::int64_t>(B.extent(0)) == batch,
                      Errc::shape_mismatch, "batched_gemm: A holds ", A.extent(0), " matrices, B ", B.extent(0),
                      " and C ", batch, " (batch sizes must agree)");
  const bool t_a = ta == Trans::T, t_b = tb == Trans::T;
  const std::int64_t am = t_a ? A.extent(2) : A.extent(1), ak = t_a ? A.extent(1) : A.extent(2);
  const std::int64_t bk = t_b ? B.extent(2) : B.extent(1), bn = t_b ? B.extent(1) : B.extent(2);
  detail::require_gemm_shapes("batched_gemm", ta, tb, am, ak, bk, bn, static_cast<std::int64_t>(C.extent(1)),
                              static_cast<std::int64_t>(C.extent(2)));
  if (batch == 0 || C.extent(1) == 0 || C.extent(2) == 0) return;

  using policy_type = Kokkos::TeamPolicy<Space>;
  int vector = 1;
  if constexpr (!detail::runs_on_host_v<Space>)  // lanes over the columns of C, up to a warp
    while (vector < 32 && vector < static_cast<int>(C.extent(2))) vector *= 2;
  Kokkos::parallel_for(
      "seqrec::linalg::batched_gemm", policy_type(space, static_cast<int>(batch), Kokkos::AUTO, vector),
      KOKKOS_LAMBDA(const typename policy_type::member_type& team) {
        const int i = team.league_rank();
        const auto a = detail::as_const(detail::strided(Kokkos::subview(A, i, Kokkos::ALL, Kokkos::ALL))).op(t_a);
        const auto b = detail::as_const(detail::strided(Kokkos::subview(B, i, Kokkos::ALL, Kokkos::ALL))).op(t_b);
        const detail::Strided<T> c = detail::strided(Kokkos::subview(C, i, Kokkos::ALL, Kokkos::ALL));
        detail::team_gemm_strided(team, alpha, a, b, beta, c);
      });
}

}  // namespace seqrec::linalg
