#include "support/backends.hpp"

#include <seqrec/loop/policies.hpp>
#include <seqrec/loop/simulator.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <vector>

namespace seqrec::test {

namespace {

using loop::EpsilonGreedy;
using loop::FeedbackLoop;
using loop::Frozen;
using loop::Greedy;
using loop::IncrementalAls;
using loop::SimulatorOptions;
using loop::Thompson;
using loop::Ucb;

static_assert(loop::check_loop_model<IncrementalAls<float, Kokkos::Serial>>());
static_assert(loop::check_loop_model<Frozen<IncrementalAls<double, Kokkos::Serial>>>());

// 40 users in two tastes (items 1..15 and 16..30), 14 interactions each at times t = 100 j + u, drawn without
// repeat from the user's block (and one from the other block). Cut at 0.6: ~8 training items each, ~6 future.
data::Interactions taste_data() {
  data::Interactions x;
  for (int u = 0; u < 40; ++u) x.users.insert(u);
  for (int i = 1; i <= 30; ++i) x.items.insert(1000 + i);
  const RandomStream rs(5, 0);
  for (int u = 0; u < 40; ++u) {
    const int base = u % 2 == 0 ? 1 : 16;
    std::vector<int> order(15);
    for (int j = 0; j < 15; ++j) order[j] = base + j;
    for (int j = 14; j > 0; --j) std::swap(order[j], order[rs.below(u * 100 + j, j + 1)]);
    for (int j = 0; j < 13; ++j) x.push_back(id_t(u), id_t(order[j]), 1.0f, 100 * j + u);
    x.push_back(id_t(u), id_t(u % 2 == 0 ? 16 + u % 15 : 1 + u % 15), 1.0f, 100 * 13 + u);
  }
  x.has_time = true;
  return x;
}

completion::ImplicitAlsOptions als_options() {
  completion::ImplicitAlsOptions o;
  o.factors = 8;
  o.iterations = 8;
  o.reg = 0.05;
  o.seed = 3;
  return o;
}

// Runs the loop with a policy, checking every round against the test's own account of what each user has seen.
template <class T, class Space, class Model, class Policy>
std::pair<std::vector<loop::RoundMetrics>, std::vector<std::vector<id_t>>> run_checked(FeedbackLoop<T, Space>& sim,
                                                                                       Model& model,
                                                                                       const Policy& policy) {
  Space space;
  std::vector<std::set<id_t>> seen(sim.num_users());
  const auto& train = sim.train();
  for (index_t e = 0; e < train.size(); ++e) seen[train.user[e]].insert(train.item[e]);
  std::vector<std::vector<id_t>> shown_all;
  index_t total_accepted = 0;
  const index_t k = sim.options().k;
  auto metrics = sim.run(space, model, policy, [&](const loop::RoundRecord& r) {
    REQUIRE(r.shown.size() == r.users.size() * std::size_t(k));
    for (std::size_t b = 0; b < r.users.size(); ++b) {
      const id_t u = r.users[b];
      std::set<id_t> row;
      for (index_t j = 0; j < k; ++j) {
        const id_t i = r.shown[b * k + j];
        if (i == 0) continue;
        CHECK(seen[u].count(i) == 0);  // never an item already seen
        row.insert(i);
      }
      CHECK(row.size() == std::size_t(std::count_if(r.shown.begin() + b * k, r.shown.begin() + (b + 1) * k,
                                                    [](id_t i) { return i != 0; })));
    }
    // Accepted items were shown to that user.
    for (index_t e = 0; e < r.accepted.size(); ++e) {
      const id_t u = r.accepted.user[e];
      const auto it = std::lower_bound(r.users.begin(), r.users.end(), u);
      REQUIRE(it != r.users.end());
      const std::size_t b = std::size_t(it - r.users.begin());
      CHECK(std::find(r.shown.begin() + b * k, r.shown.begin() + (b + 1) * k, r.accepted.item[e]) !=
            r.shown.begin() + (b + 1) * k);
      seen[u].insert(r.accepted.item[e]);
    }
    total_accepted += r.accepted.size();
    CHECK(r.metrics.accepted == r.accepted.size());
    CHECK(r.metrics.cumulative_hits == total_accepted);
    // The graph grows by exactly the accepted count.
    CHECK(r.metrics.graph_interactions == train.size() + total_accepted);
    shown_all.emplace_back(r.shown.begin(), r.shown.end());
  });
  CHECK(sim.graph().num_interactions() == train.size() + total_accepted);
  for (const auto& m : metrics) {
    CHECK(m.acceptance_rate == Approx(m.shown > 0 ? double(m.accepted) / double(m.shown) : 0.0));
    CHECK(m.coverage > 0);
    CHECK(m.coverage <= m.cumulative_coverage);
    CHECK(m.cumulative_coverage <= 1.0);
    CHECK(m.novelty >= 0);
  }
  return {metrics, shown_all};
}

}  // namespace

TEMPLATE_TEST_CASE("the feedback loop never shows a seen item and grows the graph by the accepted count",
                   "[loop][simulator]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  const auto x = taste_data();
  SimulatorOptions opt;
  opt.cut = 0.6;
  opt.rounds = 5;
  opt.k = 4;
  opt.window = 3;
  opt.batch_size = 16;
  FeedbackLoop<T, Space> sim(x, opt);
  REQUIRE(sim.future_interactions() > 0);
  REQUIRE(sim.train().size() + sim.future_interactions() <= x.size());

  auto check_policy = [&](const auto& policy) {
    IncrementalAls<T, Space> model(als_options());
    model.fit(space, sim.train());
    const auto [metrics, shown] = run_checked(sim, model, policy);
    REQUIRE(metrics.size() == 5);
    return metrics;
  };
  const auto greedy = check_policy(Greedy{});
  check_policy(EpsilonGreedy{0.5});
  check_policy(Thompson{0.5});
  check_policy(Ucb{0.5});
  // On this block data the incremental model finds future items.
  CHECK(greedy.back().cumulative_hits > 0);
}

TEMPLATE_TEST_CASE("the feedback loop is deterministic per seed", "[loop][simulator]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  const auto x = taste_data();
  SimulatorOptions opt;
  opt.cut = 0.6;
  opt.rounds = 3;
  opt.k = 3;
  opt.batch_size = 7;
  FeedbackLoop<T, Space> sim(x, opt);
  auto once = [&](std::uint64_t seed) {
    SimulatorOptions o = opt;
    o.seed = seed;
    FeedbackLoop<T, Space> s(x, o);
    IncrementalAls<T, Space> model(als_options());
    model.fit(space, s.train());
    return run_checked(s, model, Thompson{1.0}).second;
  };
  const auto a = once(11), b = once(11), c = once(12);
  CHECK(a == b);
  CHECK(a != c);
  // One simulator runs twice from the same start.
  IncrementalAls<T, Space> m1(als_options()), m2(als_options());
  m1.fit(space, sim.train());
  m2.fit(space, sim.train());
  const auto r1 = run_checked(sim, m1, EpsilonGreedy{0.3}).second;
  const auto r2 = run_checked(sim, m2, EpsilonGreedy{0.3}).second;
  CHECK(r1 == r2);
}

TEMPLATE_TEST_CASE("a frozen model never changes; the incremental one changes only users with new data",
                   "[loop][simulator]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  const auto x = taste_data();
  SimulatorOptions opt;
  opt.cut = 0.6;
  opt.rounds = 1;
  opt.k = 5;
  FeedbackLoop<T, Space> sim(x, opt);
  const index_t nu = sim.num_users();
  std::vector<id_t> ids(nu);
  for (index_t u = 0; u < nu; ++u) ids[u] = id_t(u);
  const auto users = from_vector<Space>(ids);
  auto scores_of = [&](const auto& model) {
    View2<T, Space> s("test::scores", nu, model.num_items() + 1);
    model.score_all(space, View1<const id_t, Space>(users), s);
    return to_host(s);
  };

  Frozen<IncrementalAls<T, Space>> frozen{IncrementalAls<T, Space>{als_options()}};
  frozen.fit(space, sim.train());
  const auto f0 = scores_of(frozen);
  sim.run(space, frozen, Greedy{});
  const auto f1 = scores_of(frozen);
  for (index_t u = 0; u < nu; ++u)
    for (index_t i = 0; i <= sim.num_items(); ++i) CHECK(f0(u, i) == f1(u, i));

  IncrementalAls<T, Space> inc(als_options());
  inc.fit(space, sim.train());
  const auto s0 = scores_of(inc);
  std::set<id_t> updated;
  sim.run(space, inc, Greedy{}, [&](const loop::RoundRecord& r) {
    for (id_t u : r.accepted.user) updated.insert(u);
  });
  REQUIRE_FALSE(updated.empty());
  const auto s1 = scores_of(inc);
  for (index_t u = 0; u < nu; ++u) {
    bool changed = false;
    for (index_t i = 1; i <= sim.num_items(); ++i) changed = changed || s0(u, i) != s1(u, i);
    CHECK(changed == (updated.count(id_t(u)) > 0));
  }
}

TEST_CASE("the feedback loop refuses bad options", "[loop][simulator]") {
  const auto x = taste_data();
  SimulatorOptions o;
  o.cut = 1.0;
  CHECK_THROWS_WITH((loop::FeedbackLoop<float, Kokkos::Serial>(x, o)), Catch::Contains("cut"));
  o = {};
  o.k = 0;
  CHECK_THROWS_WITH((loop::FeedbackLoop<float, Kokkos::Serial>(x, o)), Catch::Contains("k must be"));
  o = {};
  o.window = 0;
  CHECK_THROWS_WITH((loop::FeedbackLoop<float, Kokkos::Serial>(x, o)), Catch::Contains("window"));
}

}  // namespace seqrec::test
