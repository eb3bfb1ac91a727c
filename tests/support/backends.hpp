// The (execution space, scalar) pairs every device component is tested on: each enabled Kokkos backend
// crossed with float and double. Use with Catch2's TEMPLATE_TEST_CASE:
//   TEMPLATE_TEST_CASE("...", "[area]", SEQREC_TEST_BACKENDS) { using Space = typename TestType::space; ... }
// Test names then read "... - seqrec::test::OpenMP_float".
#pragma once

#include <seqrec/core/error.hpp>
#include <seqrec/core/view.hpp>

#include <catch2/catch.hpp>

#include <Kokkos_Core.hpp>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#if !defined(KOKKOS_ENABLE_SERIAL)
#error "seqrec's tests need Kokkos built with Serial (scripts/bootstrap.sh enables it in every install)"
#endif

namespace seqrec::test {

template <class Space, class T>
struct On {
  using space = Space;
  using scalar = T;
  using memory_space = typename Space::memory_space;
};

// One-word names, so Catch2 test names say which backend and scalar ran ("... - seqrec::test::OpenMP_float").
using Serial_float = On<Kokkos::Serial, float>;
using Serial_double = On<Kokkos::Serial, double>;
#if defined(KOKKOS_ENABLE_OPENMP)
using OpenMP_float = On<Kokkos::OpenMP, float>;
using OpenMP_double = On<Kokkos::OpenMP, double>;
#endif
#if defined(KOKKOS_ENABLE_CUDA)
using Cuda_float = On<Kokkos::Cuda, float>;
using Cuda_double = On<Kokkos::Cuda, double>;
#endif

// Tolerances that suit the scalar: relative error of sums of a few thousand products.
template <class T>
constexpr double tolerance() {
  return sizeof(T) == 4 ? 2e-4 : 1e-10;
}

// Copy a host std::vector into a new rank-1 view of Space.
template <class Space, class T>
View1<T, Space> from_vector(const std::vector<T>& values, const char* label = "test") {
  View1<T, Space> v(std::string(label), values.size());
  auto h = Kokkos::create_mirror_view(v);
  for (std::size_t i = 0; i < values.size(); ++i) h(i) = values[i];
  Kokkos::deep_copy(v, h);
  return v;
}

// A rank-2 id view of Space from host rows (all of one length): candidate matrices.
template <class Space>
View2<id_t, Space> id_matrix(const std::vector<std::vector<id_t>>& rows, const char* label = "test::candidates") {
  View2<id_t, Space> v(std::string(label), rows.size(), rows.empty() ? 0 : rows[0].size());
  auto h = Kokkos::create_mirror_view(v);
  for (std::size_t b = 0; b < rows.size(); ++b)
    for (std::size_t j = 0; j < rows[b].size(); ++j) h(b, j) = rows[b][j];
  Kokkos::deep_copy(v, h);
  return v;
}

// The what() of the seqrec::Error that f throws, or "(no exception)": for CHECK_THAT(..., Contains(...)).
template <class F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no exception)";
}

}  // namespace seqrec::test

// Which pairs: every enabled backend in float and double (SEQREC_TEST_BACKEND_SET=all, the default and the
// build that runs the suite); "diagonal", for the sanitizer build, keeps Serial float and OpenMP double, so each
// backend and each scalar still runs once at half the compile time; "device", for the CUDA compile-only build,
// keeps the Cuda pairs alone (the host pairs are the default build's).
#if defined(SEQREC_TEST_BACKEND_SET_DEVICE)  // tests/CMakeLists.txt allows it only with CUDA
#define SEQREC_TEST_BACKENDS seqrec::test::Cuda_float, seqrec::test::Cuda_double
#elif defined(SEQREC_TEST_BACKEND_SET_DIAGONAL)
#if defined(KOKKOS_ENABLE_OPENMP)
#define SEQREC_TEST_BACKENDS seqrec::test::Serial_float, seqrec::test::OpenMP_double
#else
#define SEQREC_TEST_BACKENDS seqrec::test::Serial_float, seqrec::test::Serial_double
#endif
#else
#if defined(KOKKOS_ENABLE_OPENMP)
#define SEQREC_TEST_OPENMP_ , seqrec::test::OpenMP_float, seqrec::test::OpenMP_double
#else
#define SEQREC_TEST_OPENMP_
#endif
#if defined(KOKKOS_ENABLE_CUDA)
#define SEQREC_TEST_CUDA_ , seqrec::test::Cuda_float, seqrec::test::Cuda_double
#else
#define SEQREC_TEST_CUDA_
#endif
#define SEQREC_TEST_BACKENDS \
  seqrec::test::Serial_float, seqrec::test::Serial_double SEQREC_TEST_OPENMP_ SEQREC_TEST_CUDA_
#endif
