// The CBLAS seam: raw-pointer sgemm/dgemm/sgemv/dgemv and OpenBLAS's thread control, and nothing else.
// core/linalg.hpp decides whether a call fits BLAS and brings it to column-major form; this header only
// forwards. Without SEQREC_HAVE_CBLAS (no BLAS found, or SEQREC_ENABLE_BLAS=OFF) it declares
// `available = false` and the dispatch never calls into it.
#pragma once

#if defined(SEQREC_HAVE_CBLAS)
#include <cblas.h>
#endif
#if defined(SEQREC_HAVE_OPENBLAS) && defined(__linux__)
#include <sched.h>
#endif

namespace seqrec::linalg::detail::cblas {

#if defined(SEQREC_HAVE_CBLAS)

inline constexpr bool available = true;

// Column-major C (m x n, ldc) = alpha * op(A) op(B) + beta * C, with op(A) m x k and op(B) k x n.
inline void gemm(bool ta, bool tb, int m, int n, int k, float alpha, const float* a, int lda, const float* b, int ldb,
                 float beta, float* c, int ldc) {
  cblas_sgemm(CblasColMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda,
              b, ldb, beta, c, ldc);
}
inline void gemm(bool ta, bool tb, int m, int n, int k, double alpha, const double* a, int lda, const double* b,
                 int ldb, double beta, double* c, int ldc) {
  cblas_dgemm(CblasColMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda,
              b, ldb, beta, c, ldc);
}

// Column-major A stored rows x cols (lda): y = alpha * op(A) x + beta * y.
inline void gemv(bool ta, int rows, int cols, float alpha, const float* a, int lda, const float* x, int incx,
                 float beta, float* y, int incy) {
  cblas_sgemv(CblasColMajor, ta ? CblasTrans : CblasNoTrans, rows, cols, alpha, a, lda, x, incx, beta, y, incy);
}
inline void gemv(bool ta, int rows, int cols, double alpha, const double* a, int lda, const double* x, int incx,
                 double beta, double* y, int incy) {
  cblas_dgemv(CblasColMajor, ta ? CblasTrans : CblasNoTrans, rows, cols, alpha, a, lda, x, incx, beta, y, incy);
}

#if defined(SEQREC_HAVE_OPENBLAS)
// OpenBLAS (pthreads build) starts its workers lazily, here, and a new thread inherits its creator's CPU
// mask. Under OMP_PROC_BIND the calling thread (OpenMP's master) is bound to one core, so every worker
// would share that core and n threads would run no faster than one. The caller's mask is widened to every
// CPU the process may use while workers start, then restored.
inline void set_threads(int n) {
#if defined(__linux__)
  cpu_set_t saved, all;
  CPU_ZERO(&all);
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) CPU_SET(cpu, &all);  // the kernel keeps only allowed CPUs
  const bool widened = sched_getaffinity(0, sizeof saved, &saved) == 0 && sched_setaffinity(0, sizeof all, &all) == 0;
  openblas_set_num_threads(n);
  if (widened) sched_setaffinity(0, sizeof saved, &saved);
#else
  openblas_set_num_threads(n);
#endif
}
inline int threads() { return openblas_get_num_threads(); }
#else
inline void set_threads(int) {}
inline int threads() { return 1; }
#endif

#else  // no CBLAS

inline constexpr bool available = false;
inline void set_threads(int) {}
inline int threads() { return 1; }

#endif

}  // namespace seqrec::linalg::detail::cblas
