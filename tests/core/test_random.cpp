#include "support/backends.hpp"

#include <seqrec/core/random.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <set>

TEMPLATE_TEST_CASE("fill_uniform is reproducible from the seed and in range", "[core][random]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  const int n = 20000;
  seqrec::View1<T, Space> a("a", n), b("b", n), c("c", n);
  seqrec::RandomSource src(42), same(42), other(43);
  seqrec::fill_uniform(space, a, src.next(), T(-1), T(3));
  seqrec::fill_uniform(space, b, same.next(), T(-1), T(3));
  seqrec::fill_uniform(space, c, other.next(), T(-1), T(3));
  auto ha = seqrec::to_host(a), hb = seqrec::to_host(b), hc = seqrec::to_host(c);
  double sum = 0, sq = 0;
  int differ = 0;
  for (int i = 0; i < n; ++i) {
    REQUIRE(ha(i) == hb(i));
    REQUIRE(ha(i) >= T(-1));
    REQUIRE(ha(i) < T(3));
    differ += ha(i) != hc(i);
    sum += ha(i);
    sq += double(ha(i)) * ha(i);
  }
  const double mean = sum / n, var = sq / n - mean * mean;
  CHECK(mean == Approx(1.0).margin(0.05));  // U(-1,3): mean 1, variance 16/12
  CHECK(var == Approx(16.0 / 12.0).margin(0.05));
  CHECK(differ > n - 10);  // another seed, another sequence
}

TEMPLATE_TEST_CASE("the same seed draws the same numbers on every backend", "[core][random]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  const int n = 4096;
  seqrec::View1<T, Space> d("d", n);
  seqrec::View1<T, Kokkos::Serial> ref("ref", n);
  seqrec::RandomStream rs(2024, 5);
  seqrec::fill_uniform(Space{}, d, rs, T(0), T(1));
  seqrec::fill_uniform(Kokkos::Serial{}, ref, rs, T(0), T(1));
  auto hd = seqrec::to_host(d);
  for (int i = 0; i < n; ++i) REQUIRE(hd(i) == ref(i));
}

TEMPLATE_TEST_CASE("fill_normal has the requested moments", "[core][random]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  const int n = 50000;
  seqrec::View1<T, Space> v("v", n);
  seqrec::fill_normal(Space{}, v, seqrec::RandomStream(1, 0), T(0.5), T(2));
  auto h = seqrec::to_host(v);
  double sum = 0, sq = 0;
  int within1 = 0;
  for (int i = 0; i < n; ++i) {
    REQUIRE(std::isfinite(double(h(i))));
    sum += h(i);
    sq += double(h(i)) * h(i);
    within1 += std::abs(h(i) - 0.5) < 2.0;
  }
  const double mean = sum / n, var = sq / n - mean * mean;
  CHECK(mean == Approx(0.5).margin(0.05));
  CHECK(var == Approx(4.0).margin(0.12));
  CHECK(double(within1) / n == Approx(0.6827).margin(0.01));  // one sigma
}

TEST_CASE("RandomStream::below is uniform over [0, n)", "[core][random]") {
  seqrec::RandomStream rs(9, 1);
  const int n = 7, draws = 70000;
  int counts[n] = {};
  for (int i = 0; i < draws; ++i) {
    auto k = rs.below(i, n);
    REQUIRE(k < std::uint64_t(n));
    ++counts[k];
  }
  for (int k = 0; k < n; ++k) CHECK(counts[k] == Approx(draws / n).epsilon(0.05));
  // Streams are independent: different stream ids give different bits.
  CHECK(seqrec::RandomStream(9, 1).bits(0) != seqrec::RandomStream(9, 2).bits(0));
  seqrec::RandomSource src(9);
  CHECK(src.next().key() == seqrec::RandomStream(9, 0).key());
  CHECK(src.next().key() == seqrec::RandomStream(9, 1).key());
  CHECK(src.streams_used() == 2);
}

TEMPLATE_TEST_CASE("xavier init bounds follow the fans", "[core][random]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  seqrec::View2<T, Space> w("w", 50, 150);
  seqrec::fill_xavier_uniform(Space{}, w, seqrec::RandomStream(3, 3), 50, 150);
  auto h = seqrec::to_host(w);
  const double a = std::sqrt(6.0 / 200.0);
  double mx = 0;
  for (int i = 0; i < 50; ++i)
    for (int j = 0; j < 150; ++j) mx = std::max(mx, std::abs(double(h(i, j))));
  CHECK(mx <= a);
  CHECK(mx > 0.95 * a);
  CHECK_THROWS_AS(seqrec::fill_xavier_uniform(Space{}, w, seqrec::RandomStream(3, 3), 0, 150), seqrec::Error);
}
