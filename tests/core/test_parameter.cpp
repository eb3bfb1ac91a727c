#include "support/backends.hpp"

#include <seqrec/core/parameter.hpp>
#include <seqrec/core/random.hpp>

#include <catch2/catch.hpp>

#include <limits>

using Catch::Matchers::Contains;

TEMPLATE_TEST_CASE("parameters are registered by name, flat and shaped", "[core][parameter]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  seqrec::ParameterSet<T, Space> set;
  auto w = set.add(space, "attention.w_q", {4, 3});
  auto b = set.add(space, "attention.b_q", {3});
  CHECK(set.size() == 2);
  CHECK(set.numel() == 15);
  CHECK(w.size() == 12);
  CHECK(w.rank() == 2);
  CHECK(set["attention.b_q"].shape() == std::vector<seqrec::index_t>{3});
  CHECK_THROWS_WITH(set.add(space, "attention.w_q", {2}), Contains("already registered"));
  CHECK_THROWS_WITH(set["missing"], Contains("no parameter named 'missing'"));
  CHECK_THROWS_WITH(set.add(space, "bad", {3, 0}), Contains("extents must be positive"));
  CHECK_THROWS_AS(w.template view<3>(), seqrec::Error);

  // The shaped view aliases the flat storage, row-major.
  auto w2 = w.template view<2>();
  Kokkos::parallel_for(
      Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {0, 0}, {4, 3}),
      KOKKOS_LAMBDA(int i, int j) { w2(i, j) = T(10 * i + j); });
  auto flat = seqrec::to_host(w.value());
  CHECK(flat(0) == T(0));
  CHECK(flat(5) == T(12));
  CHECK(flat(11) == T(32));
  // The handle returned by add() and the one in the set share memory.
  CHECK(seqrec::to_host(set["attention.w_q"].value())(7) == T(21));

  // Gradients start at zero; zero_grad resets them; the norm sums over every parameter.
  Kokkos::deep_copy(w.grad(), T(2));
  Kokkos::deep_copy(b.grad(), T(1));
  CHECK(set.grad_norm_squared(space) == Approx(12 * 4 + 3 * 1));
  set.zero_grad(space);
  CHECK(set.grad_norm_squared(space) == 0.0);
  int count = 0;
  for (const auto& p : set) count += static_cast<int>(p.size());
  CHECK(count == 15);
}

TEMPLATE_TEST_CASE("non-finite values and gradients are found and named", "[core][parameter]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  seqrec::ParameterSet<T, Space> set;
  auto a = set.add(space, "a", {100});
  auto b = set.add(space, "b", {10, 10});
  seqrec::fill_uniform(space, a.value(), seqrec::RandomStream(1, 1), T(-1), T(1));
  seqrec::fill_uniform(space, b.value(), seqrec::RandomStream(1, 2), T(-1), T(1));
  CHECK_FALSE(set.find_non_finite(space, false).has_value());
  CHECK_NOTHROW(set.require_finite(space, "after step 1"));

  auto put = [&](seqrec::Parameter<T, Space> p, bool grad, int i, T x) {
    auto h = seqrec::to_host(grad ? p.grad() : p.value());
    h(i) = x;
    Kokkos::deep_copy(grad ? p.grad() : p.value(), h);
  };
  put(b, true, 73, std::numeric_limits<T>::infinity());
  put(b, true, 41, std::numeric_limits<T>::quiet_NaN());
  auto bad = set.find_non_finite(space, true);
  REQUIRE(bad.has_value());
  CHECK(bad->parameter == "b");
  CHECK(bad->in_gradient);
  CHECK(bad->index == 41);  // the first one
  try {
    set.require_finite(space, "step 12");
    FAIL("no exception");
  } catch (const seqrec::Error& e) {
    CHECK(e.code() == seqrec::Errc::numeric);
    CHECK_THAT(std::string(e.what()), Contains("non-finite gradient in parameter 'b' at flat index 41 (step 12)"));
  }
}
