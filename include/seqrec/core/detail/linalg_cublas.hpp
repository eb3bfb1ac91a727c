// The cuBLAS seam: column-major sgemm/dgemm/sgemv/dgemv enqueued on a caller's stream, with one cuBLAS
// handle per device. core/linalg.hpp brings each call to column-major form; this header only forwards.
// Without CUDA Kokkos and SEQREC_HAVE_CUBLAS it declares `available = false` and nothing else.
#pragma once

#include <Kokkos_Core.hpp>

#if defined(KOKKOS_ENABLE_CUDA) && defined(SEQREC_HAVE_CUBLAS)
#include <seqrec/core/error.hpp>

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <array>
#include <mutex>
#endif

namespace seqrec::linalg::detail::cublas {

#if defined(KOKKOS_ENABLE_CUDA) && defined(SEQREC_HAVE_CUBLAS)

inline constexpr bool available = true;

inline void check(cublasStatus_t status, const char* what) {
  if (status == CUBLAS_STATUS_SUCCESS) [[likely]]
    return;
  // seqrec has no error code for a failing vendor library; a rejected argument is ours, the rest is the
  // backend's.
  SEQREC_THROW(status == CUBLAS_STATUS_INVALID_VALUE ? Errc::invalid_argument : Errc::unsupported, "cuBLAS ", what,
               " failed: ", cublasGetStatusName(status));
}

// Handles are created on first use per device and never destroyed: a static destructor would run after
// the CUDA runtime has shut down. The mutex covers setting the stream and enqueueing, so host threads
// sharing a device do not race on the handle's stream.
struct Handles {
  std::mutex mutex;
  std::array<cublasHandle_t, 64> per_device{};
};

inline Handles& handles() {
  static Handles h;
  return h;
}

// Runs f(handle) with the device's handle bound to `stream` and the device current.
template <class F>
void with_handle(int device, cudaStream_t stream, F&& f) {
  Handles& h = handles();
  SEQREC_REQUIRE(device >= 0 && device < static_cast<int>(h.per_device.size()), "cuBLAS: device id ", device,
                 " out of range");
  std::lock_guard<std::mutex> lock(h.mutex);
  int previous = 0;
  cudaGetDevice(&previous);
  if (previous != device) cudaSetDevice(device);
  cublasHandle_t& handle = h.per_device[static_cast<std::size_t>(device)];
  struct Restore {
    int device, previous;
    ~Restore() {
      if (previous != device) cudaSetDevice(previous);
    }
  } restore{device, previous};
  if (!handle) check(cublasCreate(&handle), "cublasCreate");
  check(cublasSetStream(handle, stream), "cublasSetStream");
  f(handle);
}

inline cublasOperation_t op(bool transpose) { return transpose ? CUBLAS_OP_T : CUBLAS_OP_N; }

// Column-major C (m x n, ldc) = alpha * op(A) op(B) + beta * C; alpha and beta are read on the host.
inline void gemm(int device, cudaStream_t stream, bool ta, bool tb, int m, int n, int k, float alpha, const float* a,
                 int lda, const float* b, int ldb, float beta, float* c, int ldc) {
  with_handle(device, stream, [&](cublasHandle_t h) {
    check(cublasSgemm(h, op(ta), op(tb), m, n, k, &alpha, a, lda, b, ldb, &beta, c, ldc), "sgemm");
  });
}
inline void gemm(int device, cudaStream_t stream, bool ta, bool tb, int m, int n, int k, double alpha,
                 const double* a, int lda, const double* b, int ldb, double beta, double* c, int ldc) {
  with_handle(device, stream, [&](cublasHandle_t h) {
    check(cublasDgemm(h, op(ta), op(tb), m, n, k, &alpha, a, lda, b, ldb, &beta, c, ldc), "dgemm");
  });
}

// Column-major A stored rows x cols (lda): y = alpha * op(A) x + beta * y.
inline void gemv(int device, cudaStream_t stream, bool ta, int rows, int cols, float alpha, const float* a, int lda,
                 const float* x, int incx, float beta, float* y, int incy) {
  with_handle(device, stream, [&](cublasHandle_t h) {
    check(cublasSgemv(h, op(ta), rows, cols, &alpha, a, lda, x, incx, &beta, y, incy), "sgemv");
  });
}
inline void gemv(int device, cudaStream_t stream, bool ta, int rows, int cols, double alpha, const double* a,
                 int lda, const double* x, int incx, double beta, double* y, int incy) {
  with_handle(device, stream, [&](cublasHandle_t h) {
    check(cublasDgemv(h, op(ta), rows, cols, &alpha, a, lda, x, incx, &beta, y, incy), "dgemv");
  });
}

#else  // no cuBLAS

inline constexpr bool available = false;

#endif

}  // namespace seqrec::linalg::detail::cublas
