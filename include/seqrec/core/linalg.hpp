// Dense products on every backend: gemm and gemv over rank-2 views of any layout, sent to a vendor BLAS
// where one fits (CBLAS on host spaces, cuBLAS on CUDA) and to portable Kokkos kernels otherwise.
//
//   seqrec::linalg::gemm(space, Trans::N, Trans::T, 1.0f, hidden, items, 0.0f, logits);  // hidden * items^T
//
// Every call is ordered on `space`: host BLAS fences that instance first (BLAS runs synchronously on the
// calling thread, or on the space's threads, one slab of C each, when BLAS is set to one thread), cuBLAS is
// enqueued on the instance's stream. C must not overlap A or B.
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/detail/linalg_cblas.hpp>
#include <seqrec/core/detail/linalg_cublas.hpp>
#include <seqrec/core/detail/linalg_portable.hpp>
#include <seqrec/core/error.hpp>

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <optional>
#include <type_traits>

namespace seqrec::linalg {

// op(X) = X (N) or X^T (T).
enum class Trans { N, T };

// automatic: vendor BLAS when the scalar, space and strides allow it, else the portable kernels.
// portable: always the portable kernels (tests, benchmarks, and builds without a BLAS).
enum class Impl { automatic, portable };

inline constexpr bool has_cblas = detail::cblas::available;
inline constexpr bool has_cublas = detail::cublas::available;

// Threads OpenBLAS uses for host calls (a no-op, and 1, with another CBLAS or none).
inline void set_blas_threads(int n) {
  SEQREC_REQUIRE(n > 0, "set_blas_threads: the thread count must be positive, got ", n);
  detail::cblas::set_threads(n);
}
inline int blas_threads() { return detail::cblas::threads(); }

namespace detail {

inline const char* op_name(Trans t, const char* matrix) {
  const bool a = matrix[0] == 'A';
  if (t == Trans::N) return a ? "op(A)" : "op(B)";
  return a ? "op(A) = A^T" : "op(B) = B^T";
}

// Shapes of op(A) (m x k), op(B) (k x n) and C (m x n); `what` names the caller in the message.
inline void require_gemm_shapes(const char* what, Trans ta, Trans tb, std::int64_t am, std::int64_t ak, std::int64_t bk,
                                std::int64_t bn, std::int64_t cm, std::int64_t cn) {
  SEQREC_REQUIRE_CODE(ak == bk, Errc::shape_mismatch, what, ": ", op_name(ta, "A"), " is ", am, 'x', ak, " but ",
                      op_name(tb, "B"), " is ", bk, 'x', bn, " (inner dimensions must agree)");
  SEQREC_REQUIRE_CODE(am == cm, Errc::shape_mismatch, what, ": ", op_name(ta, "A"), " is ", am, 'x', ak, " but C is ",
                      cm, 'x', cn, " (rows must agree)");
  SEQREC_REQUIRE_CODE(bn == cn, Errc::shape_mismatch, what, ": ", op_name(tb, "B"), " is ", bk, 'x', bn, " but C is ",
                      cm, 'x', cn, " (columns must agree)");
}

template <class T>
inline constexpr bool blas_scalar_v = std::is_same_v<T, float> || std::is_same_v<T, double>;

inline bool fits_int(std::int64_t x) { return x >= 0 && x <= INT_MAX; }

// How one operand reaches a column-major BLAS call: its transpose flag and leading dimension.
struct BlasOperand {
  bool trans;
  int ld;
};

// The leading dimension under which a rows x cols strided matrix reads as column-major, or nothing.
// A stride along an extent of 1 is never used, so it does not count (Kokkos reports any value there).
inline std::optional<int> col_major_ld(std::int64_t rows, std::int64_t cols, std::int64_t rs, std::int64_t cs) {
  if (rows > 1 && rs != 1) return std::nullopt;
  const std::int64_t min_ld = rows > 1 ? rows : 1;
  const std::int64_t ld = cols > 1 ? cs : min_ld;
  if (ld < min_ld || !fits_int(ld)) return std::nullopt;
  return static_cast<int>(ld);
}

// op(X) as BLAS wants it: X itself when it is column-major, else its transpose (then X is row-major).
template <class T>
std::optional<BlasOperand> blas_operand(const Strided<T>& x) {
  if (auto ld = col_major_ld(x.rows, x.cols, x.rs, x.cs)) return BlasOperand{false, *ld};
  if (auto ld = col_major_ld(x.cols, x.rows, x.cs, x.rs)) return BlasOperand{true, *ld};
  return std::nullopt;
}

// A gemm in column-major form. A row-major C is handled as C^T = op(B)^T op(A)^T, which is what
// CblasRowMajor does inside any CBLAS, and the only form cuBLAS has.
template <class T>
struct GemmPlan {
  Strided<const T> a, b;
  Strided<T> c;
  BlasOperand oa, ob;
  int ldc;
};

template <class T>
std::optional<GemmPlan<T>> plan_gemm(Strided<const T> a, Strided<const T> b, Strided<T> c) {
  if (!fits_int(c.rows) || !fits_int(c.cols) || !fits_int(a.cols)) return std::nullopt;
  auto ldc = col_major_ld(c.rows, c.cols, c.rs, c.cs);
  if (!ldc) {
    const Strided<const T> at = a.transposed();
    a = b.transposed();
    b = at;
    c = c.transposed();
    ldc = col_major_ld(c.rows, c.cols, c.rs, c.cs);
    if (!ldc) return std::nullopt;
  }
  const auto oa = blas_operand(a), ob = blas_operand(b);
  if (!oa || !ob) return std::nullopt;
  return GemmPlan<T>{a, b, c, *oa, *ob, *ldc};
}

// A gemv in column-major form: the stored matrix is op(A) (rows x cols) or its transpose.
struct GemvPlan {
  bool trans;
  int rows, cols, lda, incx, incy;
};

template <class T>
std::optional<GemvPlan> plan_gemv(const Strided<const T>& a, const StridedVector<const T>& x,
                                  const StridedVector<T>& y) {
  if (!fits_int(a.rows) || !fits_int(a.cols)) return std::nullopt;
  const std::int64_t incx = x.size > 1 ? x.stride : 1, incy = y.size > 1 ? y.stride : 1;
  if (incx < 1 || incy < 1 || !fits_int(incx) || !fits_int(incy)) return std::nullopt;
  const auto oa = blas_operand(a);
  if (!oa) return std::nullopt;
  const auto stored_rows = oa->trans ? a.cols : a.rows, stored_cols = oa->trans ? a.rows : a.cols;
  return GemvPlan{oa->trans, static_cast<int>(stored_rows), static_cast<int>(stored_cols),
                  oa->ld,    static_cast<int>(incx),        static_cast<int>(incy)};
}

// How many single-threaded BLAS calls a host gemm is split into: one per thread of a parallel host space
// when BLAS itself runs on one thread (seqrec-train's default: OpenBLAS's own spinning workers slow the
// OpenMP threads) and the product is large enough to pay for the fork (about 4 MFLOP, 32 columns a slab).
template <class Space>
int host_gemm_parts(const Space& space, std::int64_t m, std::int64_t n, std::int64_t k) {
  const int threads = space.concurrency();
  if (threads <= 1 || cblas::threads() > 1) return 1;
  if (2.0 * double(m) * double(n) * double(k) < 4.0e6) return 1;
  const std::int64_t len = std::max(m, n);
  return static_cast<int>(std::min<std::int64_t>(threads, std::max<std::int64_t>(1, len / 32)));
}

template <class Space>
inline constexpr bool is_cuda_v =
#if defined(KOKKOS_ENABLE_CUDA)
    std::is_same_v<Space, Kokkos::Cuda>;
#else
    false;
#endif

// Vendor gemm when the space, scalar and strides fit one; false leaves the call to the portable kernel.
template <class Space, class T>
bool vendor_gemm(const Space& space, T alpha, const Strided<const T>& a, const Strided<const T>& b, T beta,
                 const Strided<T>& c) {
  if constexpr (blas_scalar_v<T> && cblas::available && runs_on_host_v<Space>) {
    const auto p = plan_gemm(a, b, c);
    if (!p) return false;
    space.fence();
    const int parts = host_gemm_parts(space, p->c.rows, p->c.cols, p->a.cols);
    if (parts <= 1) {
      cblas::gemm(p->oa.trans, p->ob.trans, static_cast<int>(p->c.rows), static_cast<int>(p->c.cols),
                  static_cast<int>(p->a.cols), alpha, p->a.data, p->oa.ld, p->b.data, p->ob.ld, beta, p->c.data,
                  p->ldc);
      return true;
    }
    // One single-threaded BLAS call per thread of the space, each on a slab of C along its longer side.
    const GemmPlan<T> q = *p;
    const bool by_cols = q.c.cols >= q.c.rows;
    const std::int64_t len = by_cols ? q.c.cols : q.c.rows;
    Kokkos::parallel_for("seqrec::linalg::gemm_slabs",
                         Kokkos::RangePolicy<Space, Kokkos::Schedule<Kokkos::Static>>(space, 0, parts), [=](int part) {
                           const std::int64_t lo = len * part / parts, hi = len * (part + 1) / parts;
                           if (hi <= lo) return;
                           const int m = static_cast<int>(by_cols ? q.c.rows : hi - lo);
                           const int n = static_cast<int>(by_cols ? hi - lo : q.c.cols);
                           // Column-major: column j of C starts at j * ldc; row i at i. op(B)'s columns (op(A)'s rows)
                           // move by ld when B (A) is used as stored, by 1 when it is transposed.
                           const T* pa = q.a.data + (by_cols ? 0 : (q.oa.trans ? lo * q.oa.ld : lo));
                           const T* pb = q.b.data + (by_cols ? (q.ob.trans ? lo : lo * q.ob.ld) : 0);
                           T* pc = q.c.data + (by_cols ? lo * q.ldc : lo);
                           cblas::gemm(q.oa.trans, q.ob.trans, m, n, static_cast<int>(q.a.cols), alpha, pa, q.oa.ld, pb,
                                       q.ob.ld, beta, pc, q.ldc);
                         });
    space.fence();
    return true;
  }
#if defined(KOKKOS_ENABLE_CUDA)
  if constexpr (blas_scalar_v<T> && cublas::available && is_cuda_v<Space>) {
    const auto p = plan_gemm(a, b, c);
    if (!p) return false;
    cublas::gemm(space.cuda_device(), space.cuda_stream(), p->oa.trans, p->ob.trans, static_cast<int>(p->c.rows),
                 static_cast<int>(p->c.cols), static_cast<int>(p->a.cols), alpha, p->a.data, p->oa.ld, p->b.data,
                 p->ob.ld, beta, p->c.data, p->ldc);
    return true;
  }
#endif
  (void)space, (void)alpha, (void)a, (void)b, (void)beta, (void)c;
  return false;
}

template <class Space, class T>
bool vendor_gemv(const Space& space, T alpha, const Strided<const T>& a, const StridedVector<const T>& x, T beta,
                 const StridedVector<T>& y) {
  if constexpr (blas_scalar_v<T> && cblas::available && runs_on_host_v<Space>) {
    const auto p = plan_gemv(a, x, y);
    if (!p) return false;
    space.fence();
    cblas::gemv(p->trans, p->rows, p->cols, alpha, a.data, p->lda, x.data, p->incx, beta, y.data, p->incy);
    return true;
  }
#if defined(KOKKOS_ENABLE_CUDA)
  if constexpr (blas_scalar_v<T> && cublas::available && is_cuda_v<Space>) {
    const auto p = plan_gemv(a, x, y);
    if (!p) return false;
    cublas::gemv(space.cuda_device(), space.cuda_stream(), p->trans, p->rows, p->cols, alpha, a.data, p->lda, x.data,
                 p->incx, beta, y.data, p->incy);
    return true;
  }
#endif
  (void)space, (void)alpha, (void)a, (void)x, (void)beta, (void)y;
  return false;
}

// Compile-time checks shared by gemm, gemv and batched_gemm, one plain-words message per rule.
template <class Space, class V, unsigned Rank, bool Output>
constexpr bool check_operand() {
  static_assert(Kokkos::is_view<V>::value, "seqrec::linalg: matrix and vector arguments must be Kokkos views");
  if constexpr (Kokkos::is_view<V>::value) {
    static_assert(V::rank == Rank,
                  "seqrec::linalg: wrong view rank (gemm takes rank-2 matrices, gemv a rank-2 matrix and rank-1 "
                  "vectors, batched_gemm rank-3 stacks of matrices)");
    static_assert(Kokkos::SpaceAccessibility<Space, typename V::memory_space>::accessible,
                  "seqrec::linalg: a view lives in memory the execution space cannot access (e.g. a host view "
                  "passed with Kokkos::Cuda, or a CudaSpace view with a host space)");
    static_assert(has_strides_v<V>, "seqrec::linalg: views must be LayoutRight, LayoutLeft or LayoutStride");
    static_assert(!Output || !std::is_const_v<typename V::value_type>,
                  "seqrec::linalg: the output (C or y) must not be a view of const");
  }
  return true;
}

template <class Out, class In>
constexpr bool check_same_scalar() {
  static_assert(std::is_same_v<typename Out::non_const_value_type, typename In::non_const_value_type>,
                "seqrec::linalg: all operands must hold the same scalar type");
  return true;
}

}  // namespace detail

// C = alpha * op(A) * op(B) + beta * C. beta == 0 overwrites C without reading it (NaN there does not
// propagate); k == 0 or alpha == 0 gives C = beta * C without reading A or B (BLAS semantics).
template <ExecutionSpace Space, class AV, class BV, class CV>
void gemm(const Space& space, Trans ta, Trans tb, typename CV::non_const_value_type alpha, const AV& A, const BV& B,
          typename CV::non_const_value_type beta, const CV& C, Impl impl = Impl::automatic) {
  static_assert(detail::check_operand<Space, AV, 2, false>() && detail::check_operand<Space, BV, 2, false>() &&
                detail::check_operand<Space, CV, 2, true>() && detail::check_same_scalar<CV, AV>() &&
                detail::check_same_scalar<CV, BV>());
  using T = typename CV::non_const_value_type;
  const detail::Strided<const T> a = detail::as_const(detail::strided(A)).op(ta == Trans::T);
  const detail::Strided<const T> b = detail::as_const(detail::strided(B)).op(tb == Trans::T);
  const detail::Strided<T> c = detail::strided(C);
  detail::require_gemm_shapes("gemm", ta, tb, a.rows, a.cols, b.rows, b.cols, c.rows, c.cols);
  if (c.rows == 0 || c.cols == 0) return;
  if (a.cols == 0 || alpha == T(0)) {
    detail::scale(space, beta, c);
    return;
  }
  if (impl == Impl::automatic && detail::vendor_gemm(space, alpha, a, b, beta, c)) return;
  detail::gemm(space, alpha, a, b, beta, c);
}

// y = alpha * op(A) x + beta * y, with the same conventions as gemm.
template <ExecutionSpace Space, class AV, class XV, class YV>
void gemv(const Space& space, Trans ta, typename YV::non_const_value_type alpha, const AV& A, const XV& x,
          typename YV::non_const_value_type beta, const YV& y, Impl impl = Impl::automatic) {
  static_assert(detail::check_operand<Space, AV, 2, false>() && detail::check_operand<Space, XV, 1, false>() &&
                detail::check_operand<Space, YV, 1, true>() && detail::check_same_scalar<YV, AV>() &&
                detail::check_same_scalar<YV, XV>());
  using T = typename YV::non_const_value_type;
  const detail::Strided<const T> a = detail::as_const(detail::strided(A)).op(ta == Trans::T);
  const detail::StridedVector<const T> xs = detail::as_const(detail::strided_vector(x));
  const detail::StridedVector<T> ys = detail::strided_vector(y);
  SEQREC_REQUIRE_CODE(a.cols == xs.size, Errc::shape_mismatch, "gemv: ", detail::op_name(ta, "A"), " is ", a.rows, 'x',
                      a.cols, " but x has ", xs.size, " elements");
  SEQREC_REQUIRE_CODE(a.rows == ys.size, Errc::shape_mismatch, "gemv: ", detail::op_name(ta, "A"), " is ", a.rows, 'x',
                      a.cols, " but y has ", ys.size, " elements");
  if (ys.size == 0) return;
  if (a.cols == 0 || alpha == T(0)) {
    detail::scale(space, beta, ys);
    return;
  }
  if (impl == Impl::automatic && detail::vendor_gemv(space, alpha, a, xs, beta, ys)) return;
  detail::gemv(space, alpha, a, xs, beta, ys);
}

}  // namespace seqrec::linalg
