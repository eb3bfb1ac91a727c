#include "support/backends.hpp"

#include <seqrec/core/column_sums.hpp>
#include <seqrec/core/random.hpp>

#include <catch2/catch.hpp>

#include <cmath>

TEMPLATE_TEST_CASE("add_column_sums adds every row into y for any shape around its block sizes", "[core][reduce]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  using seqrec::index_t;
  Space space;
  seqrec::RandomSource rng(7);
  // Host blocks are 16 columns, device teams 64 rows: shapes below, at and above both, and empty ones.
  for (index_t rows : {0, 1, 63, 64, 65, 300})
    for (index_t cols : {1, 15, 16, 17, 50}) {
      INFO(rows << " x " << cols);
      seqrec::View2<T, Space> a("a", rows, cols);
      seqrec::View1<T, Space> y("y", cols);
      if (rows > 0) seqrec::fill_uniform(space, a, rng.next(), T(-1), T(1));
      seqrec::fill_uniform(space, y, rng.next(), T(-1), T(1));
      const auto ha = seqrec::to_host(a);
      const auto y0 = Kokkos::create_mirror(y);  // a copy (to_host aliases host views)
      Kokkos::deep_copy(y0, y);
      // f scales by the column index, so a mix-up of rows and columns shows.
      seqrec::add_column_sums(
          space, "test", rows, cols, KOKKOS_LAMBDA(index_t r, index_t k) { return a(r, k) * T(k + 1); }, y);
      const auto hy = seqrec::to_host(y);
      for (index_t k = 0; k < cols; ++k) {
        double ref = y0(k), mag = std::fabs(y0(k));
        for (index_t r = 0; r < rows; ++r) {
          ref += double(ha(r, k)) * double(k + 1);
          mag += std::fabs(double(ha(r, k)) * double(k + 1));
        }
        CHECK(std::fabs(double(hy(k)) - ref) <= seqrec::test::tolerance<T>() * (mag + 1));
      }
    }
}
