#include "support/backends.hpp"

#include <seqrec/data/cold_split.hpp>
#include <seqrec/eval/cold_items.hpp>
#include <seqrec/eval/sampled.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <set>
#include <vector>

// Inside seqrec's namespace: an unqualified id_t is seqrec::id_t, not POSIX's ::id_t from <sys/types.h>.
namespace seqrec::test {

namespace {

// Scores like a sequence model: from the last item of each user's scoring window (set from a history, as
// SequentialRecommender::set_scoring_windows does), scores(b, j) = table(last item, candidates(b, j)).
template <class T, class Space>
struct WindowScorer {
  using scalar_type = T;
  seqrec::View2<T, Space> table;    // [num_items+1 x num_items+1]
  seqrec::View1<id_t, Space> last;  // per user; 0 for an empty window

  void set_scoring_windows(const Space&, const data::Sequences& history, index_t) {
    std::vector<id_t> l(std::size_t(history.num_users()), 0);
    for (index_t u = 0; u < history.num_users(); ++u)
      if (history.length(u) > 0) l[std::size_t(u)] = history.items[std::size_t(history.offsets[u + 1] - 1)];
    last = from_vector<Space>(l, "test::WindowScorer::last");
  }

  void score(const Space& space, seqrec::View1<const id_t, Space> users, seqrec::View2<const id_t, Space> candidates,
             seqrec::View2<T, Space> scores) const {
    auto tab = table;
    auto lst = last;
    Kokkos::parallel_for(
        "test::WindowScorer::score",
        Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(
            space, {0, 0}, {static_cast<index_t>(scores.extent(0)), static_cast<index_t>(scores.extent(1))}),
        KOKKOS_LAMBDA(index_t b, index_t j) { scores(b, j) = tab(lst(users(b)), candidates(b, j)); });
  }
};

// 20 items (originals 100..119, dense 1..20), half of them cold with seed 9, and users whose sequences are
// written over the cold and warm items: users 0-3 are evaluated, 4 (cold first) and 5 (warm only) are not.
struct Fixture {
  data::Interactions x;
  std::vector<id_t> cold, warm;  // dense ids
  std::vector<id_t> targets;     // of users 0-3

  Fixture() {
    for (int k = 0; k < 20; ++k) x.items.insert(100 + k);
    const auto probe = data::cold_item_split(x, 0.5, 9);  // the draw depends on the seed and item count only
    for (id_t i = 1; i <= 20; ++i) (probe.is_cold[std::size_t(i)] ? cold : warm).push_back(i);
    targets = {cold[4], cold[0], cold[9], cold[5]};
    const std::vector<std::vector<id_t>> seqs{{warm[0], targets[0], warm[5]},              // window ends in warm[0]
                                              {warm[2], warm[1], targets[1], warm[3]},     // ... warm[1]
                                              {warm[2], targets[2], cold[1]},              // ... warm[2]
                                              {warm[0], warm[3], targets[3], targets[0]},  // ... warm[3]
                                              {cold[2], warm[4], cold[3]},  // a cold item first: not evaluated
                                              {warm[6], warm[7]}};          // no cold item: not evaluated
    std::int64_t t = 0;
    for (std::size_t u = 0; u < seqs.size(); ++u) {
      const id_t du = x.users.insert(std::int64_t(u));
      for (id_t i : seqs[u]) x.push_back(du, i, 1.0f, ++t);
    }
  }
};

}  // namespace

TEMPLATE_TEST_CASE("cold candidates: the target, then every other cold item", "[eval][cold]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  Space space;
  const Fixture f;
  const auto split = data::cold_item_split(f.x, 0.5, 9);
  REQUIRE(split.cold_items == f.cold);
  REQUIRE(split.users == std::vector<id_t>{0, 1, 2, 3});
  REQUIRE(split.targets == f.targets);

  const auto cands = eval::make_cold_candidates(space, split);
  CHECK(cands.size() == 4);
  CHECK(cands.num_candidates() == 10);
  CHECK(cands.num_items == 20);
  CHECK(cands.users.host_users == split.users);
  CHECK(cands.users.host_targets == split.targets);
  CHECK(cands.users.eligible == 4);
  CHECK_FALSE(cands.users.sampled);
  auto h = seqrec::to_host(cands.items);
  for (std::size_t b = 0; b < h.extent(0); ++b) {
    CHECK(h(b, 0) == split.targets[b]);
    std::vector<id_t> row;
    for (std::size_t j = 0; j < h.extent(1); ++j) row.push_back(h(b, j));
    CHECK(std::is_sorted(row.begin() + 1, row.end()));  // the other cold items, ascending
    std::sort(row.begin(), row.end());
    CHECK(row == f.cold);  // each cold item exactly once
  }

  // A split that evaluates nobody has no candidates.
  data::Interactions none = f.x;
  none.user.clear();
  none.item.clear();
  none.weight.clear();
  none.time.clear();
  CHECK_THROWS_WITH(eval::make_cold_candidates(space, data::cold_item_split(none, 0.5, 9)),
                    Catch::Contains("expected at least 1 evaluated user"));
}

TEMPLATE_TEST_CASE("cold-item protocol end to end with known scores", "[eval][cold]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  const Fixture f;
  const auto split = data::cold_item_split(f.x, 0.5, 9);

  // table(w, i) for the window ending in warm[b] (user b): the target scores 1, the first rank[b] other cold
  // items 2, the rest 0, so the target's rank is rank[b]. User 3's others all tie with its target (ties count
  // against it: rank 9). Warm items score 100: ranking any of them would show.
  const std::vector<index_t> rank{0, 3, 6, 9};
  View2<T, Space> table("test::table", 21, 21);
  auto th = Kokkos::create_mirror_view(table);
  Kokkos::deep_copy(th, T(0));
  for (std::size_t w = 0; w < 21; ++w)
    for (id_t i : f.warm) th(w, std::size_t(i)) = T(100);
  for (std::size_t b = 0; b < 4; ++b) {
    const auto w = std::size_t(f.warm[b]);
    th(w, std::size_t(f.targets[b])) = T(1);
    index_t above = 0;
    for (id_t i : f.cold)
      if (i != f.targets[b]) th(w, std::size_t(i)) = b == 3 ? T(1) : above++ < rank[b] ? T(2) : T(0);
  }
  Kokkos::deep_copy(table, th);

  WindowScorer<T, Space> model{table, {}};
  const auto cands = eval::make_cold_candidates(space, split);
  model.set_scoring_windows(space, split.history, 3);
  eval::SampledEvaluator<T, Space> evaluator(space, cands.num_candidates(), 3);  // two batches
  const auto m = evaluator.evaluate(space, model, cands, {1, 5, 10});

  auto ranks = seqrec::to_host(evaluator.ranks());
  CHECK(std::vector<index_t>(ranks.data(), ranks.data() + ranks.extent(0)) == rank);
  CHECK(m.count == 4);
  CHECK(m.candidates == 10);
  CHECK(m.nan_scores == 0);
  const double eps = 1e-12;
  CHECK(m.hr_at(1) == Approx(0.25).epsilon(eps));
  CHECK(m.hr_at(5) == Approx(0.5).epsilon(eps));
  CHECK(m.hr_at(10) == Approx(1.0).epsilon(eps));
  CHECK(m.ndcg_at(1) == Approx(0.25).epsilon(eps));
  CHECK(m.ndcg_at(5) == Approx((1 + 1 / std::log2(5.0)) / 4).epsilon(eps));
  CHECK(m.ndcg_at(10) == Approx((1 + 1 / std::log2(5.0) + 1 / std::log2(8.0) + 1 / std::log2(11.0)) / 4).epsilon(eps));
  CHECK(m.mrr == Approx((1 + 1.0 / 4 + 1.0 / 7 + 1.0 / 10) / 4).epsilon(eps));
}

}  // namespace seqrec::test
