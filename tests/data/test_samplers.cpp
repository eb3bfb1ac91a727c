#include "support/backends.hpp"

#include <seqrec/data/negative_sampler.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

namespace {

using seqrec::data::Interactions;

// Users' item lists (original ids = dense ids here: items inserted 1..num_items first).
Interactions histories(int num_items, const std::vector<std::vector<int>>& rows) {
  Interactions x;
  for (int i = 1; i <= num_items; ++i) x.items.insert(i);
  for (std::size_t u = 0; u < rows.size(); ++u) {
    const auto du = x.users.insert(static_cast<std::int64_t>(u));
    for (int i : rows[u]) x.push_back(du, i, 1.0f, 0);
  }
  return x;
}

// Pearson's statistic against expected shares p (renormalised over the allowed items); returns
// (chi2, degrees of freedom).
std::pair<double, double> chi_square(const std::vector<double>& counts, const std::vector<double>& p) {
  double total = 0, mass = 0, chi2 = 0, df = -1;
  for (std::size_t i = 0; i < counts.size(); ++i) total += counts[i], mass += p[i];
  for (std::size_t i = 0; i < counts.size(); ++i) {
    if (p[i] <= 0) continue;
    const double e = total * p[i] / mass;
    chi2 += (counts[i] - e) * (counts[i] - e) / e;
    df += 1;
  }
  return {chi2, df};
}

// chi2 below its 1 - 1e-6 quantile (Wilson–Hilferty, z = 4.75): with a fixed seed the test is
// deterministic; the bound says the sample looks like the distribution, and a biased sampler exceeds it
// by far with these numbers of draws.
bool plausible(std::pair<double, double> c) {
  const double k = c.second, a = 2.0 / (9.0 * k);
  return c.first < k * std::pow(1.0 - a + 4.75 * std::sqrt(a), 3.0);
}

}  // namespace

TEST_CASE("kth_missing and contains_sorted agree with brute force", "[data][sampler]") {
  const std::vector<seqrec::id_t> h{2, 3, 7, 8, 9, 15};
  const int n_items = 16;
  std::vector<seqrec::id_t> missing;
  for (int i = 1; i <= n_items; ++i)
    if (!std::binary_search(h.begin(), h.end(), i)) missing.push_back(i);
  for (std::size_t r = 0; r < missing.size(); ++r)
    CHECK(seqrec::data::detail::kth_missing(h.data(), seqrec::index_t(h.size()), seqrec::index_t(r)) == missing[r]);
  for (int i = 0; i <= n_items + 1; ++i)
    CHECK(seqrec::data::detail::contains_sorted(h.data(), seqrec::index_t(h.size()), i) ==
          std::binary_search(h.begin(), h.end(), i));
  CHECK(seqrec::data::detail::kth_missing(h.data(), 0, 4) == 5);
}

TEMPLATE_TEST_CASE("uniform sampler avoids the history and is uniform over the rest", "[data][sampler]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  Space space;
  const int n_items = 30, draws = 12000;
  // user 0: short history; user 1: empty; user 2: all items but 3 (the exact fallback runs);
  // user 3: repeats.
  std::vector<int> dense;
  for (int i = 1; i <= n_items; ++i)
    if (i != 4 && i != 17 && i != 30) dense.push_back(i);
  const Interactions x = histories(n_items, {{5, 1, 9, 30}, {}, dense, {2, 2, 2, 6, 6}});
  const auto hist = seqrec::data::make_user_history(space, x);
  CHECK(hist.max_length == n_items - 3);
  const seqrec::data::UniformNegativeSampler<Space> sampler(hist);

  auto users = seqrec::test::from_vector<Space, seqrec::id_t>({0, 1, 2, 3});
  seqrec::View2<seqrec::id_t, Space> out("out", 4, draws);
  const seqrec::RandomStream rs(123, 4);
  sampler.sample(space, users, out, rs);
  auto h = seqrec::to_host(out);

  for (int u = 0; u < 4; ++u) {
    std::set<int> seen;
    for (seqrec::index_t k = 0; k < x.size(); ++k)
      if (x.user[k] == u) seen.insert(x.item[k]);
    std::vector<double> counts(n_items + 1, 0.0), p(n_items + 1, 0.0);
    for (int i = 1; i <= n_items; ++i) p[i] = seen.count(i) ? 0.0 : 1.0;
    for (int j = 0; j < draws; ++j) {
      const int item = h(u, j);
      REQUIRE(item >= 1);
      REQUIRE(item <= n_items);
      REQUIRE(seen.count(item) == 0);
      counts[item] += 1;
    }
    const auto c = chi_square(counts, p);
    INFO("user " << u << ": chi2 " << c.first << " on " << c.second << " degrees of freedom");
    CHECK(plausible(c));
  }

  // Same seed, same samples, whatever the backend; another stream differs.
  seqrec::View2<seqrec::id_t, Kokkos::Serial> ref("ref", 4, draws);
  const seqrec::data::UniformNegativeSampler<Kokkos::Serial> serial(
      seqrec::data::make_user_history(Kokkos::Serial{}, x));
  serial.sample(Kokkos::Serial{}, seqrec::test::from_vector<Kokkos::Serial, seqrec::id_t>({0, 1, 2, 3}), ref, rs);
  int differ = 0;
  for (int u = 0; u < 4; ++u)
    for (int j = 0; j < draws; ++j) REQUIRE(ref(u, j) == h(u, j));
  seqrec::View2<seqrec::id_t, Space> out2("out2", 4, draws);  // to_host of a host view is the view itself
  sampler.sample(space, users, out2, seqrec::RandomStream(123, 5));
  auto h2 = seqrec::to_host(out2);
  for (int j = 0; j < draws; ++j) differ += h2(0, j) != h(0, j);
  CHECK(differ > draws / 2);

  // A user who touched everything has no negative: refused at construction.
  std::vector<int> all(n_items);
  for (int i = 0; i < n_items; ++i) all[i] = i + 1;
  CHECK_THROWS_AS(seqrec::data::UniformNegativeSampler<Space>(
                      seqrec::data::make_user_history(space, histories(n_items, {{1}, all}))),
                  seqrec::Error);
}

TEMPLATE_TEST_CASE("popularity sampler draws in proportion to weight outside the history", "[data][sampler]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  const int n_items = 25, draws = 20000;
  // Weights: item i weighs i, item 7 weighs 0 (never drawn), item 25 weighs 400 (most of the mass).
  std::vector<double> w(n_items + 1, 0.0);
  for (int i = 1; i <= n_items; ++i) w[i] = i;
  w[7] = 0;
  w[25] = 400;
  // user 0: nothing; user 1: a few light items; user 2: the heavy item and most others (rejection
  // fails often, the exact scan runs); user 3: every item with weight except 7 (zero-weight rest: uniform).
  std::vector<int> heavy, weighty;
  for (int i = 1; i <= n_items; ++i) {
    if (i != 3 && i != 12 && i != 7) heavy.push_back(i);
    if (i != 7) weighty.push_back(i);
  }
  const Interactions x = histories(n_items, {{}, {1, 2, 20}, heavy, weighty});
  const auto hist = seqrec::data::make_user_history(space, x);
  const seqrec::data::PopularityNegativeSampler<Space, T> sampler(space, hist, w);
  auto users = seqrec::test::from_vector<Space, seqrec::id_t>({0, 1, 2, 3});
  seqrec::View2<seqrec::id_t, Space> out("out", 4, draws);
  const seqrec::RandomStream rs(77, 0);
  sampler.sample(space, users, out, rs);
  auto h = seqrec::to_host(out);
  for (int u = 0; u < 4; ++u) {
    std::set<int> seen;
    for (seqrec::index_t k = 0; k < x.size(); ++k)
      if (x.user[k] == u) seen.insert(x.item[k]);
    std::vector<double> counts(n_items + 1, 0.0), p(n_items + 1, 0.0);
    for (int i = 1; i <= n_items; ++i) p[i] = seen.count(i) ? 0.0 : w[i];
    if (u == 3) p[7] = 1.0;  // only weightless items left: uniform over them
    for (int j = 0; j < draws; ++j) {
      const int item = h(u, j);
      REQUIRE(item >= 1);
      REQUIRE(item <= n_items);
      REQUIRE(seen.count(item) == 0);
      counts[item] += 1;
    }
    if (u != 3) CHECK(counts[7] == 0);  // weightless items are never drawn while others remain
    const auto c = chi_square(counts, p);
    INFO("user " << u << ": chi2 " << c.first << " on " << c.second << " degrees of freedom");
    if (c.second > 0) CHECK(plausible(c));
  }
  // Item 25 dominates user 0's draws: 400 / (325 - 25 - 7 + 400).
  double share = 0;
  for (int j = 0; j < draws; ++j) share += h(0, j) == 25;
  CHECK(share / draws == Approx(400.0 / 693.0).margin(0.02));

  // Serial reproduces the draws.
  const seqrec::data::PopularityNegativeSampler<Kokkos::Serial, T> serial(
      Kokkos::Serial{}, seqrec::data::make_user_history(Kokkos::Serial{}, x), w);
  seqrec::View2<seqrec::id_t, Kokkos::Serial> ref("ref", 4, draws);
  serial.sample(Kokkos::Serial{}, seqrec::test::from_vector<Kokkos::Serial, seqrec::id_t>({0, 1, 2, 3}), ref, rs);
  for (int u = 0; u < 4; ++u)
    for (int j = 0; j < draws; ++j) REQUIRE(ref(u, j) == h(u, j));

  // item_counts and the checks on weights.
  const auto counts = seqrec::data::PopularityNegativeSampler<Space, T>::item_counts(x);
  CHECK(counts[0] == 0.0);
  CHECK(counts[7] == 0.0);
  CHECK(counts[25] == 2.0);
  CHECK(counts[1] == 3.0);
  CHECK(seqrec::data::PopularityNegativeSampler<Space, T>::item_counts(x, 0.5)[1] == Approx(std::sqrt(3.0)));
  std::vector<double> bad(w);
  bad[3] = -1;
  CHECK_THROWS_AS((seqrec::data::PopularityNegativeSampler<Space, T>(space, hist, bad)), seqrec::Error);
  CHECK_THROWS_AS((seqrec::data::PopularityNegativeSampler<Space, T>(space, hist, std::vector<double>(5, 1.0))),
                  seqrec::Error);
}
