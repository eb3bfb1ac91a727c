#include "support/backends.hpp"
#include "support/gradcheck.hpp"

#include <seqrec/sequence/feed_forward.hpp>
#include <seqrec/sequence/linear.hpp>

#include <catch2/catch.hpp>

TEMPLATE_TEST_CASE("linear computes x W + b", "[sequence][linear]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  seqrec::ParameterSet<T, Space> params;
  seqrec::sequence::Linear<T, Space> lin(space, params, "fc", 3, 2);
  Kokkos::deep_copy(lin.weight().value(), seqrec::test::from_vector<Space, T>({1, 2, 3, 4, 5, 6}));
  Kokkos::deep_copy(lin.bias().value(), seqrec::test::from_vector<Space, T>({10, 20}));
  auto xf = seqrec::test::from_vector<Space, T>({1, 0, -1, 2, 1, 0});
  seqrec::View2<T, Space> x(xf.data(), 2, 3), y("y", 2, 2);
  lin.forward(space, x, y);
  auto h = seqrec::to_host(y);
  CHECK(h(0, 0) == Approx(10 + 1 - 5));  // [1 0 -1] . [1 3 5]
  CHECK(h(0, 1) == Approx(20 + 2 - 6));
  CHECK(h(1, 0) == Approx(10 + 2 + 3));
  CHECK(h(1, 1) == Approx(20 + 4 + 4));
  CHECK_THROWS_AS(lin.forward(space, x, seqrec::View2<T, Space>("bad", 2, 3)), seqrec::Error);
}

TEMPLATE_TEST_CASE("linear and feed-forward gradients match finite differences", "[sequence][feed_forward][grad]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  if constexpr (std::is_same_v<T, double>) {
    Space space;
    seqrec::ParameterSet<T, Space> params;
    seqrec::RandomSource rng(11);
    seqrec::sequence::FeedForward<T, Space> ffn(space, params, "ffn", 4, 6, T(0.3));
    ffn.init_xavier(space, rng);
    for (const auto& p : params)
      if (p.rank() == 1) seqrec::fill_uniform(space, p.value(), rng.next(), T(-0.2), T(0.2));
    const int rows = 9;
    seqrec::View2<T, Space> x("x", rows, 4), y("y", rows, 4), r("r", rows, 4), dx("dx", rows, 4), tmp("tmp", rows, 4);
    seqrec::fill_normal(space, x, rng.next(), T(0), T(1));
    seqrec::fill_uniform(space, r, rng.next(), T(-1), T(1));
    auto ws = ffn.make_workspace(space, rows);
    const auto rs1 = rng.next(), rs2 = rng.next();
    auto loss = [&] {
      ffn.forward(space, x, y, ws, true, rs1, rs2);
      return seqrec::test::weighted_sum(space, y, r);
    };
    loss();
    params.zero_grad(space);
    ffn.backward(space, x, r, dx, tmp, ws, true, rs1, rs2);
    seqrec::test::check_gradient(space, x, dx, loss, "x");
    for (const auto& p : params) seqrec::test::check_gradient(space, p.value(), p.grad(), loss, p.name());

    // Evaluation mode: no dropout, so the output does not depend on the streams.
    seqrec::View2<T, Space> y2("y2", rows, 4);
    ffn.forward(space, x, y, ws, false, rs1, rs2);
    ffn.forward(space, x, y2, ws, false, rng.next(), rng.next());
    auto a = seqrec::to_host(y), b = seqrec::to_host(y2);
    for (int i = 0; i < rows; ++i)
      for (int k = 0; k < 4; ++k) CHECK(a(i, k) == b(i, k));
  }
}
