#include "support/backends.hpp"

#include <seqrec/completion/popularity.hpp>
#include <seqrec/data/interactions.hpp>
#include <seqrec/eval/full.hpp>
#include <seqrec/eval/sampled.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <span>
#include <string>
#include <vector>

// Inside seqrec's namespace: an unqualified id_t is seqrec::id_t, not POSIX's ::id_t.
namespace seqrec::test {

namespace {

// Six items; training counts 1:5, 2:3, 3:3, 4:1, 5:0, 6:0 (ties at 3 and at 0; 5 and 6 unseen).
data::Interactions hand_made() {
  data::Interactions x;
  for (int i = 1; i <= 6; ++i) x.items.insert(100 + i);  // dense item i = original 100 + i
  const std::vector<std::pair<int, int>> rows = {{0, 1}, {0, 2}, {0, 1}, {1, 3}, {1, 1}, {1, 2},
                                                 {2, 3}, {2, 1}, {2, 4}, {2, 2}, {3, 3}, {3, 1}};
  for (auto [u, i] : rows) x.push_back(x.users.insert(u), id_t(i), 1.0f, 0);
  return x;
}

const std::vector<index_t> kCounts = {0, 5, 3, 3, 1, 0, 0};

}  // namespace

TEMPLATE_TEST_CASE("PopRec counts training interactions on the device", "[completion][poprec]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  using Model = completion::PopRec<T, Space>;
  static_assert(eval::Scorer<Model, Space, T>);
  static_assert(eval::FullScorer<Model, Space, T>);
  static_assert(std::is_same_v<eval::scorer_scalar_t<Model>, T>);
  Space space;

  Model model;
  CHECK_FALSE(model.fitted());
  const data::Interactions x = hand_made();

  SECTION("from Interactions, Sequences and device ids alike") {
    model.fit(space, x);
    auto check = [&](const Model& m) {
      REQUIRE(m.fitted());
      CHECK(m.num_items() == 6);
      CHECK(m.num_interactions() == 12);
      auto counts = to_host(m.counts());
      auto pop = to_host(m.popularity());
      REQUIRE(counts.extent(0) == 7);
      for (std::size_t i = 0; i < kCounts.size(); ++i) {
        CHECK(counts(i) == kCounts[i]);
        CHECK(pop(i) == T(kCounts[i]));  // exact: the scores are the counts
      }
    };
    check(model);

    Model from_sequences;
    data::Interactions sorted = x;
    sorted.sort_chronological();
    from_sequences.fit(space, data::Sequences::from(sorted));
    check(from_sequences);

    Model from_device;
    auto ids = from_vector<Space, id_t>(x.item);
    from_device.fit(space, View1<const id_t, Space>(ids), x.num_items());
    check(from_device);

    // A refit replaces the counts.
    model.fit(space, std::span<const id_t>(std::vector<id_t>{6, 6}), 6);
    CHECK(to_host(model.counts())(6) == 2);
    CHECK(to_host(model.counts())(1) == 0);
  }

  SECTION("score: the popularity of each candidate, ties equal, unseen items and padding 0") {
    model.fit(space, x);
    auto users = from_vector<Space, id_t>({0, 3});
    auto cand = id_matrix<Space>({{2, 3, 1, 0}, {5, 6, 4, 2}});
    View2<T, Space> scores("test::scores", 2, 4);
    model.score(space, users, cand, scores);
    auto h = to_host(scores);
    const std::vector<std::vector<T>> expected = {{3, 3, 5, 0}, {0, 0, 1, 3}};
    for (int b = 0; b < 2; ++b)
      for (int j = 0; j < 4; ++j) CHECK(h(b, j) == expected[b][j]);
  }

  SECTION("score_all: every row is the popularity of items 0..num_items") {
    model.fit(space, x);
    auto users = from_vector<Space, id_t>({2, 0, 1});
    View2<T, Space> scores("test::scores", 3, 7);
    model.score_all(space, users, scores);
    auto h = to_host(scores);
    for (int b = 0; b < 3; ++b)
      for (int i = 0; i < 7; ++i) CHECK(h(b, i) == T(kCounts[i]));
  }

  SECTION("errors name the offending id, the expected shape, or the missing fit") {
    auto users = from_vector<Space, id_t>({0});
    auto cand = id_matrix<Space>({{1, 7}});
    View2<T, Space> scores("test::scores", 1, 2);
    const std::string unfitted = message_of([&] { model.score(space, users, cand, scores); });
    CHECK_THAT(unfitted, Catch::Contains("call fit() first"));

    data::Interactions bad = x;
    bad.item[4] = 9;
    const std::string fit_msg = message_of([&] { model.fit(space, bad); });
    CHECK_THAT(fit_msg, Catch::Contains("interaction 4 has item 9 outside [1, 6]"));
    CHECK_FALSE(model.fitted());  // a failed fit leaves the model as it was

    model.fit(space, x);
    const std::string score_msg = message_of([&] { model.score(space, users, cand, scores); });
    CHECK_THAT(score_msg, Catch::Contains("candidate 1 of user 0 (row 0) is item 7, outside [0, 6]"));
    try {
      model.score(space, users, cand, scores);
    } catch (const Error& e) {
      CHECK(e.code() == Errc::out_of_range);
    }

    View2<T, Space> wrong("test::wrong", 1, 6);
    try {
      model.score_all(space, users, wrong);
      FAIL("no exception");
    } catch (const Error& e) {
      CHECK(e.code() == Errc::shape_mismatch);
      CHECK_THAT(std::string(e.what()), Catch::Contains("expected [1, 7], got [1, 6]"));
    }
  }
}

TEMPLATE_TEST_CASE("PopRec ranks through the sampled and full protocols", "[completion][poprec][eval]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  completion::PopRec<T, Space> model;
  model.fit(space, hand_made());  // counts 1:5, 2:3, 3:3, 4:1, 5:0, 6:0

  // True item first. Ranks by the tie rule (equal scores count against the true item):
  //   user 0: 1 vs {4, 5}  -> 0;  user 1: 2 vs {3, 4} -> 1 (ties with 3);
  //   user 2: 4 vs {1, 2}  -> 2;  user 3: 5 vs {6, 4} -> 2 (ties with 6, below 4).
  const std::vector<id_t> users = {0, 1, 2, 3}, targets = {1, 2, 4, 5};
  eval::SampledCandidates<Space> cand;
  cand.users = eval::select_users(space, users, targets);
  cand.items = id_matrix<Space>({{1, 4, 5}, {2, 3, 4}, {4, 1, 2}, {5, 6, 4}});
  cand.num_items = 6;
  eval::SampledEvaluator<T, Space> evaluator(space, 3, /*batch_size=*/3);  // two batches, the second short
  const auto m = evaluator.evaluate(space, model, cand, {1, 2, 3});
  CHECK(m.count == 4);
  CHECK(m.hr_at(1) == Approx(0.25));
  CHECK(m.hr_at(2) == Approx(0.5));
  CHECK(m.hr_at(3) == Approx(1.0));
  CHECK(m.ndcg_at(2) == Approx((1.0 + 1.0 / std::log2(3.0)) / 4));
  CHECK(m.mrr == Approx((1.0 + 1.0 / 2 + 1.0 / 3 + 1.0 / 3) / 4));
  auto ranks = to_host(evaluator.ranks());
  const std::vector<index_t> expected_ranks = {0, 1, 2, 2};
  for (std::size_t b = 0; b < 4; ++b) CHECK(ranks(b) == expected_ranks[b]);

  // Full ranking over items 1..6, history excluded (never the true item). Histories: user 3 saw item 1.
  //   user 0: 1 -> 0;  user 1: 2 -> 2 (1 above, 3 ties);  user 2: 4 -> 3 (1, 2, 3 above);
  //   user 3: 5 -> 4 (2, 3, 4 above, 6 ties; 1 excluded).
  const std::vector<index_t> offsets = {0, 0, 1, 1, 2};
  const std::vector<id_t> hist_items = {2, 1};  // user 1 saw 2 (its target: still ranked), user 3 saw 1
  const auto history =
      eval::make_history(space, std::span<const index_t>(offsets), std::span<const id_t>(hist_items), 6);
  eval::FullEvaluator<T, Space> full(space, 6, /*batch_size=*/3, /*top_k=*/3);
  const auto f = full.evaluate(space, model, cand.users, history, {1, 3});
  auto franks = to_host(full.ranks());
  const std::vector<index_t> expected_full = {0, 2, 3, 4};
  for (std::size_t b = 0; b < 4; ++b) CHECK(franks(b) == expected_full[b]);
  CHECK(f.hr_at(1) == Approx(0.25));
  CHECK(f.hr_at(3) == Approx(0.5));
  // Top-3 of user 3 (item 1 excluded): 2 and 3 (tie, smaller id first), then 4.
  auto top = to_host(full.top_items());
  CHECK(top(3, 0) == 2);
  CHECK(top(3, 1) == 3);
  CHECK(top(3, 2) == 4);
}

}  // namespace seqrec::test
