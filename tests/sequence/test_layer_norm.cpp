#include "support/backends.hpp"
#include "support/gradcheck.hpp"

#include <seqrec/sequence/layer_norm.hpp>

#include <catch2/catch.hpp>

#include <cmath>

TEMPLATE_TEST_CASE("layer norm normalises each row", "[sequence][layer_norm]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  seqrec::ParameterSet<T, Space> params;
  seqrec::sequence::LayerNorm<T, Space> ln(space, params, "ln", 4, T(1e-8));
  auto x = seqrec::test::from_vector<Space, T>({1, 2, 3, 4, -2, 0, 2, 4, 5, 5, 5, 5});
  seqrec::View2<T, Space> x2(x.data(), 3, 4), y("y", 3, 4);
  auto stats = ln.make_stats(space, 3);
  ln.forward(space, x2, y, stats);
  auto h = seqrec::to_host(y);
  const double s1 = std::sqrt(1.25 + 1e-8);
  CHECK(h(0, 0) == Approx(-1.5 / s1).epsilon(seqrec::test::tolerance<T>()));
  CHECK(h(0, 3) == Approx(1.5 / s1).epsilon(seqrec::test::tolerance<T>()));
  CHECK(h(1, 1) == Approx(-2 / std::sqrt(20.0 + 4e-8)).epsilon(seqrec::test::tolerance<T>()));
  CHECK(h(2, 2) == Approx(0).margin(1e-6));  // constant row: var 0, eps keeps it finite
  CHECK(seqrec::to_host(stats)(1, 0) == Approx(1.0));
  CHECK_THROWS_AS(ln.forward(space, x2, seqrec::View2<T, Space>("bad", 3, 5), stats), seqrec::Error);
  CHECK_THROWS_AS(ln.forward(space, x2, y, ln.make_stats(space, 2)), seqrec::Error);
}

TEMPLATE_TEST_CASE("layer norm gradients match finite differences", "[sequence][layer_norm][grad]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  if constexpr (std::is_same_v<T, double>) {
    Space space;
    seqrec::ParameterSet<T, Space> params;
    seqrec::sequence::LayerNorm<T, Space> ln(space, params, "ln", 5, T(1e-8));
    auto gamma = params["ln.gamma"], beta = params["ln.beta"];
    seqrec::fill_uniform(space, gamma.value(), seqrec::RandomStream(3, 1), T(0.5), T(1.5));
    seqrec::fill_uniform(space, beta.value(), seqrec::RandomStream(3, 2), T(-0.5), T(0.5));
    seqrec::View2<T, Space> x("x", 7, 5), y("y", 7, 5), r("r", 7, 5), dx("dx", 7, 5);
    seqrec::fill_normal(space, x, seqrec::RandomStream(3, 3), T(0.3), T(2));
    seqrec::fill_uniform(space, r, seqrec::RandomStream(3, 4), T(-1), T(1));
    auto stats = ln.make_stats(space, 7);
    auto loss = [&] {
      ln.forward(space, x, y, stats);
      return seqrec::test::weighted_sum(space, y, r);
    };
    loss();
    ln.backward(space, x, r, dx, stats);
    seqrec::test::check_gradient(space, x, dx, loss, "x");
    seqrec::test::check_gradient(space, gamma.value(), gamma.grad(), loss, "gamma");
    seqrec::test::check_gradient(space, beta.value(), beta.grad(), loss, "beta");
    // In place (dx aliases dy) gives the same input gradient.
    seqrec::View2<T, Space> inplace("inplace", 7, 5);
    Kokkos::deep_copy(inplace, r);
    ln.backward(space, x, inplace, inplace, stats);
    auto a = seqrec::to_host(dx), b = seqrec::to_host(inplace);
    for (int i = 0; i < 7; ++i)
      for (int k = 0; k < 5; ++k) CHECK(b(i, k) == Approx(a(i, k)).epsilon(1e-12));
  }
}
