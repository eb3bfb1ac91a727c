#include "support/backends.hpp"

#include <seqrec/core/math.hpp>
#include <seqrec/core/view.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

TEMPLATE_TEST_CASE("allocation helpers label, shape and zero views", "[core][view]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  auto z = seqrec::make_zeros<seqrec::View2<T, Space>>(space, "zeros", 3, 5);
  auto u = seqrec::make_uninitialized<seqrec::View3<T, Space>>(space, "seqrec::buffer", 2, 3, 4);
  CHECK(z.label() == "seqrec::zeros");
  CHECK(u.label() == "seqrec::buffer");  // not prefixed twice
  CHECK(z.extent(0) == 3);
  CHECK(z.extent(1) == 5);
  CHECK(seqrec::numel(u) == 24);
  space.fence();
  auto h = seqrec::to_host(z);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 5; ++j) CHECK(h(i, j) == T(0));
  h(1, 2) = T(4);
  auto back = seqrec::to_space(space, h);
  CHECK(seqrec::to_host(back)(1, 2) == T(4));
}

TEMPLATE_TEST_CASE("math wrappers run in kernels and are stable at the extremes", "[core][math]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  auto x = seqrec::test::from_vector<Space, T>({T(-1000), T(-3), T(0), T(2.5), T(1000)});
  seqrec::View2<T, Space> out("out", 5, 4);
  Kokkos::parallel_for(
      Kokkos::RangePolicy<Space>(0, 5), KOKKOS_LAMBDA(int i) {
        out(i, 0) = seqrec::math::sigmoid(x(i));
        out(i, 1) = seqrec::math::log_sigmoid(x(i));
        out(i, 2) = seqrec::math::softplus(x(i));
        out(i, 3) = seqrec::math::isfinite(out(i, 0)) && seqrec::math::isfinite(out(i, 1)) ? T(1) : T(0);
      });
  auto h = seqrec::to_host(out);
  const double xs[] = {-1000, -3, 0, 2.5, 1000};
  for (int i = 0; i < 5; ++i) {
    INFO("x = " << xs[i]);
    const double sig = 1 / (1 + std::exp(-xs[i]));
    const double logsig = xs[i] >= 0 ? -std::log1p(std::exp(-xs[i])) : xs[i] - std::log1p(std::exp(xs[i]));
    CHECK(h(i, 0) == Approx(sig).margin(1e-7));
    CHECK(h(i, 1) == Approx(logsig).epsilon(1e-6));
    CHECK(h(i, 2) ==
          Approx(-(-xs[i] >= 0 ? -std::log1p(std::exp(xs[i])) : -xs[i] - std::log1p(std::exp(-xs[i])))).epsilon(1e-6));
    CHECK(h(i, 3) == T(1));
  }
}
