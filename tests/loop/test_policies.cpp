#include "support/backends.hpp"

#include <seqrec/eval/sampled.hpp>
#include <seqrec/loop/policies.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <span>
#include <vector>

namespace seqrec::test {

namespace {

using loop::EpsilonGreedy;
using loop::Greedy;
using loop::PolicyRanker;
using loop::PolicyRound;
using loop::Thompson;
using loop::Ucb;

static_assert(loop::check_exploration_policy<Greedy, float>());
static_assert(loop::check_exploration_policy<EpsilonGreedy, double>());
static_assert(loop::check_exploration_policy<Thompson, float>());
static_assert(loop::check_exploration_policy<Ucb, double>());

template <class T, class Space>
struct CopyRows {
  View2<const T, Space> table;
  View1<const id_t, Space> users;
  View2<T, Space> scores;
  KOKKOS_INLINE_FUNCTION void operator()(index_t b, index_t i) const { scores(b, i) = table(users(b), i); }
};

// A model whose scores are a fixed table [U x num_items+1].
template <class T, class Space>
struct TableModel {
  using scalar_type = T;
  using execution_space = Space;
  using memory_space = typename Space::memory_space;
  View2<T, Space> table;
  void score_all(const Space& space, View1<const id_t, Space> users, View2<T, Space> scores) const {
    Kokkos::parallel_for("test::TableModel",
                         Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(
                             space, {0, 0}, {index_t(users.extent(0)), index_t(scores.extent(1))}),
                         CopyRows<T, Space>{table, users, scores});
  }
};

template <class T, class Space>
struct Fixture {
  index_t users, items;
  std::vector<std::vector<T>> score;    // [u][i]
  std::vector<std::vector<id_t>> seen;  // sorted
  TableModel<T, Space> model;
  eval::History<Space> history;
  View1<id_t, Space> user_ids;

  // flat: every score 0; distinct: no ties (item i adds i / 1000, below the 1/7 steps).
  Fixture(index_t nu, index_t ni, std::uint64_t seed, bool flat = false, bool distinct = false) : users(nu), items(ni) {
    Space space;
    const RandomStream rs(seed, 1);
    score.assign(nu, std::vector<T>(ni + 1, T(0)));
    seen.assign(nu, {});
    std::vector<index_t> offsets(1, 0);
    std::vector<id_t> flat_seen;
    for (index_t u = 0; u < nu; ++u) {
      for (index_t i = 1; i <= ni; ++i) {
        score[u][i] = flat ? T(0) : T(std::floor(rs.uniform<double>(u * 1000 + i) * 50)) / T(7);  // some ties
        if (distinct) score[u][i] += T(i) / T(1000);
        if (rs.uniform<double>(100000 + u * 1000 + i) < 0.2) seen[u].push_back(id_t(i));
      }
      flat_seen.insert(flat_seen.end(), seen[u].begin(), seen[u].end());
      offsets.push_back(index_t(flat_seen.size()));
    }
    model.table = View2<T, Space>("test::table", nu, ni + 1);
    auto h = Kokkos::create_mirror_view(model.table);
    for (index_t u = 0; u < nu; ++u)
      for (index_t i = 0; i <= ni; ++i) h(u, i) = score[u][i];
    Kokkos::deep_copy(model.table, h);
    history = eval::make_history(space, std::span<const index_t>(offsets), std::span<const id_t>(flat_seen), ni);
    std::vector<id_t> ids(nu);
    std::iota(ids.begin(), ids.end(), id_t(0));
    user_ids = from_vector<Space>(ids, "test::users");
  }

  bool is_seen(index_t u, id_t i) const { return std::binary_search(seen[u].begin(), seen[u].end(), i); }

  // Greedy reference: score descending, ties to the smaller id, seen items out.
  std::vector<id_t> reference(index_t u, index_t k) const {
    std::vector<id_t> c;
    for (index_t i = 1; i <= items; ++i)
      if (!is_seen(u, id_t(i))) c.push_back(id_t(i));
    std::stable_sort(c.begin(), c.end(), [&](id_t a, id_t b) { return score[u][a] > score[u][b]; });
    c.resize(std::min<std::size_t>(c.size(), std::size_t(k)));
    return c;
  }

  // keys (optional): each list's policy keys, in the list's order. Batches of 7 users by default: results must
  // not depend on the batch size.
  template <class Policy>
  std::vector<std::vector<id_t>> run(const Policy& p, index_t k, const PolicyRound& round,
                                     const std::vector<index_t>& exposures, std::vector<std::vector<T>>* keys = nullptr,
                                     index_t batch = 7) {
    Space space;
    PolicyRanker<T, Space> ranker(space, items, k, batch);
    auto exp = from_vector<Space>(exposures, "test::exposures");
    auto top = to_host(ranker.recommend(space, model, p, round, View1<const index_t, Space>(exp),
                                        View1<const id_t, Space>(user_ids), history));
    auto top_keys = to_host(ranker.top_keys());
    std::vector<std::vector<id_t>> out(users);
    if (keys) keys->assign(users, {});
    for (index_t u = 0; u < users; ++u) {
      for (index_t j = 0; j < k; ++j) {
        const id_t i = top(u, j);
        REQUIRE(i >= 0);
        REQUIRE(i <= items);
        if (i == 0) continue;
        REQUIRE_FALSE(is_seen(u, i));  // no policy ever shows a seen item
        out[u].push_back(i);
        if (keys) (*keys)[u].push_back(top_keys(u, j));
      }
      std::vector<id_t> sorted = out[u];
      std::sort(sorted.begin(), sorted.end());
      REQUIRE(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end());
    }
    return out;
  }
};

PolicyRound round_of(std::uint64_t seed, std::uint64_t round, index_t items, double log_t = 0.0) {
  return PolicyRound{RandomSource(seed).stream(round), log_t, items};
}

}  // namespace

TEMPLATE_TEST_CASE("greedy shows the top-K unseen items by score", "[loop][policies]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Fixture<T, Space> f(23, 40, 3);
  const std::vector<index_t> exposures(41, 0);
  for (index_t k : {1, 5, 10}) {
    const auto lists = f.run(Greedy{}, k, round_of(1, 0, 40), exposures);
    for (index_t u = 0; u < f.users; ++u) CHECK(lists[u] == f.reference(u, k));
  }
}

TEMPLATE_TEST_CASE("epsilon-greedy per slot: 0 is greedy, 1 is uniform over unseen items", "[loop][policies]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  SECTION("epsilon 0 equals greedy, whatever the seed and the batch size") {
    Fixture<T, Space> f(19, 30, 5);
    const std::vector<index_t> exposures(31, 3);
    const auto greedy = f.run(Greedy{}, 6, round_of(1, 0, 30), exposures);
    for (std::uint64_t seed : {1u, 2u, 99u})
      CHECK(f.run(EpsilonGreedy{0.0}, 6, round_of(seed, 4, 30), exposures) == greedy);
    CHECK(f.run(EpsilonGreedy{0.0}, 6, round_of(5, 1, 30), exposures, nullptr, 256) == greedy);
  }
  SECTION("epsilon 1: every unseen item equally likely") {
    // 3000 users, each with the same scores and its own random seen set: each unseen item is in a user's list
    // with probability k / unseen(u). Sum those over users for each item and compare with the counts.
    const index_t items = 20, k = 4;
    Fixture<T, Space> f(3000, items, 11);
    const std::vector<index_t> exposures(items + 1, 0);
    std::vector<std::vector<T>> keys;
    const auto lists = f.run(EpsilonGreedy{1.0}, k, round_of(7, 0, items), exposures, &keys);
    std::vector<double> count(items + 1, 0), expected(items + 1, 0);
    for (index_t u = 0; u < f.users; ++u) {
      index_t unseen = 0;
      for (index_t i = 1; i <= items; ++i) unseen += f.is_seen(u, id_t(i)) ? 0 : 1;
      REQUIRE(index_t(lists[u].size()) == std::min(k, unseen));
      for (T key : keys[u]) CHECK(key < T(1));  // every slot random
      for (index_t i = 1; i <= items; ++i)
        if (!f.is_seen(u, id_t(i))) expected[i] += double(std::min(k, unseen)) / double(unseen);
      for (id_t i : lists[u]) count[i] += 1;
    }
    double chi2 = 0;
    for (index_t i = 1; i <= items; ++i) chi2 += (count[i] - expected[i]) * (count[i] - expected[i]) / expected[i];
    // 19 degrees of freedom: P(chi2 > 43.8) = 0.001. A greedy list would give thousands.
    CHECK(chi2 < 43.8);
    // And the lists are not the greedy ones.
    const auto greedy = f.run(Greedy{}, k, round_of(7, 0, items), exposures);
    index_t same = 0;
    for (index_t u = 0; u < f.users; ++u) same += lists[u] == greedy[u] ? 1 : 0;
    CHECK(same < f.users / 10);
  }
  SECTION("epsilon 0.3, K 10: Binomial(10, 0.3) random slots after the greedy head, each uniform over the rest") {
    const index_t items = 40, k = 10;
    Fixture<T, Space> f(3000, items, 13);
    const std::vector<index_t> exposures(items + 1, 0);
    std::vector<std::vector<T>> keys;
    const auto lists = f.run(EpsilonGreedy{0.3}, k, round_of(3, 0, items), exposures, &keys);
    double sum = 0, sum_sq = 0;
    index_t full = 0;
    std::vector<double> count(items + 1, 0), expected(items + 1, 0);
    for (index_t u = 0; u < f.users; ++u) {
      const auto greedy = f.reference(u, k);
      REQUIRE(lists[u].size() == greedy.size());
      // Keys above 2 are the greedy head, keys in [0, 1) the random slots, in that order.
      index_t head = 0;
      while (head < index_t(keys[u].size()) && keys[u][head] >= T(2)) ++head;
      bool head_ok = true;
      for (index_t j = 0; j < head; ++j) head_ok = head_ok && lists[u][j] == greedy[j];
      CHECK(head_ok);
      for (std::size_t j = head; j < keys[u].size(); ++j) CHECK((keys[u][j] >= T(0) && keys[u][j] < T(1)));
      if (index_t(greedy.size()) < k) continue;  // fewer than k unseen items: the slots are not all there
      ++full;
      const index_t random = k - head;
      sum += double(random);
      sum_sq += double(random) * double(random);
      // The random slots: a uniform draw without replacement from the unseen items outside the head.
      index_t eligible = 0;
      std::vector<char> in_head(items + 1, 0);
      for (index_t j = 0; j < head; ++j) in_head[greedy[j]] = 1;
      for (index_t i = 1; i <= items; ++i) eligible += !f.is_seen(u, id_t(i)) && !in_head[i] ? 1 : 0;
      for (index_t i = 1; i <= items; ++i)
        if (!f.is_seen(u, id_t(i)) && !in_head[i]) expected[i] += double(random) / double(eligible);
      for (std::size_t j = head; j < lists[u].size(); ++j) count[lists[u][j]] += 1;
    }
    REQUIRE(full > f.users * 9 / 10);
    const double mean = sum / double(full), var = sum_sq / double(full) - mean * mean;
    // Binomial(10, 0.3): mean 3 (standard error 0.026 over 3000 users), variance 2.1 (standard error 0.05).
    CHECK(std::abs(mean - 3.0) < 0.15);
    CHECK(std::abs(var - 2.1) < 0.3);
    double chi2 = 0;
    for (index_t i = 1; i <= items; ++i)
      if (expected[i] > 0) chi2 += (count[i] - expected[i]) * (count[i] - expected[i]) / expected[i];
    // 39 degrees of freedom: P(chi2 > 72.1) = 0.001.
    CHECK(chi2 < 72.1);
    // The batch size does not change the draws.
    CHECK(f.run(EpsilonGreedy{0.3}, k, round_of(3, 0, items), exposures, nullptr, 256) == lists);
  }
  SECTION("a slate policy has no candidate-list keys") {
    Fixture<T, Space> f(3, 10, 5);
    loop::PolicyScorer<TableModel<T, Space>, EpsilonGreedy> scorer{
        &f.model, EpsilonGreedy{0.5}, round_of(1, 0, 10), {}, nullptr, {}, {}};
    View2<id_t, Space> cand("test::cand", 3, 2);
    View2<T, Space> s("test::s", 3, 2);
    CHECK_THROWS_WITH(scorer.score(Space{}, View1<const id_t, Space>(f.user_ids), cand, s),
                      Catch::Contains("full rankings"));
  }
}

TEMPLATE_TEST_CASE("UCB prefers unexposed items at equal score", "[loop][policies]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Fixture<T, Space> f(9, 24, 17, /*flat=*/true);
  std::vector<index_t> exposures(25, 0);
  for (index_t i = 1; i <= 12; ++i) exposures[i] = 5;  // items 1..12 shown before, 13..24 never
  const auto lists = f.run(Ucb{0.5}, 6, round_of(1, 0, 24, std::log(61.0)), exposures);
  for (index_t u = 0; u < f.users; ++u) {
    std::vector<id_t> want;
    for (id_t i = 13; i <= 24 && want.size() < 6; ++i)
      if (!f.is_seen(u, i)) want.push_back(i);
    CHECK(lists[u] == want);
  }
  // c = 0 is greedy (ties to the smaller id).
  const auto greedy = f.run(Greedy{}, 6, round_of(1, 0, 24), exposures);
  CHECK(f.run(Ucb{0.0}, 6, round_of(1, 0, 24, std::log(61.0)), exposures) == greedy);
}

TEMPLATE_TEST_CASE("Thompson sampling: noise shrinks with exposure; scale 0 is greedy", "[loop][policies]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Fixture<T, Space> f(50, 30, 19, false, /*distinct=*/true);
  std::vector<index_t> exposures(31, 0);
  const auto greedy = f.run(Greedy{}, 5, round_of(1, 0, 30), exposures);
  CHECK(f.run(Thompson{0.0}, 5, round_of(2, 0, 30), exposures) == greedy);
  // Large noise on unexposed items: lists differ from greedy for most users.
  const auto noisy = f.run(Thompson{20.0}, 5, round_of(2, 0, 30), exposures);
  index_t differ = 0;
  for (index_t u = 0; u < f.users; ++u) differ += noisy[u] != greedy[u] ? 1 : 0;
  CHECK(differ > f.users / 2);
  // The same noise scale on items shown 10^12 times: the spread is 2e-5, below the gaps between the scores
  // (at least 1/1000), so the greedy list comes back.
  std::fill(exposures.begin(), exposures.end(), index_t(1000000000000));
  CHECK(f.run(Thompson{20.0}, 5, round_of(2, 0, 30), exposures) == greedy);
}

TEMPLATE_TEST_CASE("policies are deterministic per seed", "[loop][policies]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Fixture<T, Space> f(40, 30, 23);
  const std::vector<index_t> exposures(31, 1);
  auto check = [&](const auto& p) {
    const auto a = f.run(p, 5, round_of(42, 3, 30, 1.0), exposures);
    const auto b = f.run(p, 5, round_of(42, 3, 30, 1.0), exposures);
    CHECK(a == b);
    const auto c = f.run(p, 5, round_of(43, 3, 30, 1.0), exposures);
    const auto d = f.run(p, 5, round_of(42, 4, 30, 1.0), exposures);
    CHECK(a != c);  // another seed, another round: other draws
    CHECK(a != d);
  };
  check(EpsilonGreedy{0.5});
  check(Thompson{1.0});
  // Deterministic policies agree with themselves across seeds.
  CHECK(f.run(Ucb{1.0}, 5, round_of(1, 0, 30, 1.0), exposures) ==
        f.run(Ucb{1.0}, 5, round_of(2, 9, 30, 1.0), exposures));
}

}  // namespace seqrec::test
