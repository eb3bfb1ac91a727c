#include "support/interaction_keys.hpp"

#include <seqrec/core/random.hpp>
#include <seqrec/data/split.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <tuple>
#include <vector>

namespace {

using seqrec::data::Interactions;
using seqrec::data::Sequences;
using seqrec::data::Split;

// Random interactions whose times are unique, so (user, item, time) names one interaction. Rows come
// in a shuffled order; user lengths vary from 1 to 11.
Interactions random_interactions(int users, int items, std::uint64_t seed) {
  seqrec::RandomStream rs(seed, 1);
  Interactions x;
  std::vector<std::tuple<std::int64_t, std::int64_t, std::int64_t>> rows;
  std::uint64_t c = 0;
  std::int64_t t = 0;
  for (int u = 0; u < users; ++u) {
    const int n = 1 + int(rs.below(c++, 11));
    for (int k = 0; k < n; ++k) {
      const auto item = 1000 + std::int64_t(rs.below(c++, items));
      t += 1 + std::int64_t(rs.below(c++, 5));
      rows.emplace_back(100 + u, item, t);
    }
  }
  for (std::size_t i = rows.size(); i > 1; --i) std::swap(rows[i - 1], rows[rs.below(c++, i)]);
  for (auto [u, i, time] : rows) x.push_back(x.users.insert(u), x.items.insert(i), float(time % 5 + 1), time);
  x.has_time = x.has_weight = true;
  return x;
}

using Key = seqrec::test::InteractionKey;
std::multiset<Key> keys(const Interactions& x) { return seqrec::test::interaction_keys(x); }
std::multiset<Key> keys(const Sequences& s) {
  std::multiset<Key> out;
  for (seqrec::index_t u = 0; u < s.num_users(); ++u)
    for (seqrec::index_t k = s.offsets[u]; k < s.offsets[u + 1]; ++k)
      out.insert({seqrec::id_t(u), s.items[k], s.times[k], s.weights[k]});
  return out;
}

bool disjoint(const std::multiset<Key>& a, const std::multiset<Key>& b) {
  for (const auto& k : a)
    if (b.count(k)) return false;
  return true;
}

void check_chronological(const Sequences& s) {
  for (seqrec::index_t u = 0; u < s.num_users(); ++u)
    for (seqrec::index_t k = s.offsets[u] + 1; k < s.offsets[u + 1]; ++k) REQUIRE(s.times[k - 1] <= s.times[k]);
}

}  // namespace

TEST_CASE("leave-one-out holds out the last two per user without leakage", "[data][split]") {
  const Interactions x = random_interactions(200, 60, 11);
  const Split s = seqrec::data::leave_one_out(x);
  const auto train = keys(s.train), valid = keys(s.valid), test = keys(s.test);
  // Partition: nothing lost, nothing shared.
  std::multiset<Key> all = train;
  all.insert(valid.begin(), valid.end());
  all.insert(test.begin(), test.end());
  CHECK(all == keys(x));
  CHECK(disjoint(train, valid));
  CHECK(disjoint(train, test));
  CHECK(disjoint(valid, test));
  CHECK(keys(s.train_sequences) == train);
  check_chronological(s.train_sequences);
  // Same ids as the input.
  CHECK(s.train.num_users() == x.num_users());
  CHECK(s.train.num_items() == x.num_items());
  CHECK(s.train_sequences.num_items == x.num_items());

  std::map<seqrec::id_t, std::vector<std::int64_t>> times;
  for (seqrec::index_t k = 0; k < x.size(); ++k) times[x.user[k]].push_back(x.time[k]);
  seqrec::index_t evaluated = 0;
  for (auto& [u, ts] : times) {
    std::sort(ts.begin(), ts.end());
    const auto n = static_cast<seqrec::index_t>(ts.size());
    if (n < 3) {
      CHECK(s.train_sequences.length(u) == n);  // short users stay in training...
      CHECK(s.valid.length(u) == 0);            // ...and are not evaluated
      CHECK(s.test.length(u) == 0);
      CHECK(s.test_item(u) == 0);
      continue;
    }
    ++evaluated;
    REQUIRE(s.valid.length(u) == 1);
    REQUIRE(s.test.length(u) == 1);
    CHECK(s.test.times[s.test.offsets[u]] == ts[n - 1]);
    CHECK(s.valid.times[s.valid.offsets[u]] == ts[n - 2]);
    CHECK(s.train_sequences.length(u) == n - 2);
    CHECK(s.train_sequences.times[s.train_sequences.offsets[u + 1] - 1] < ts[n - 2]);
    CHECK(s.test_item(u) == s.test.items[s.test.offsets[u]]);
    CHECK(s.valid_item(u) == s.valid.items[s.valid.offsets[u]]);
  }
  CHECK(static_cast<seqrec::index_t>(s.evaluated_users.size()) == evaluated);
  CHECK(std::is_sorted(s.evaluated_users.begin(), s.evaluated_users.end()));
  CHECK(evaluated > 100);
  CHECK(evaluated < 200);  // some users are short
  CHECK_THROWS_AS(seqrec::data::leave_one_out(x, 2), seqrec::Error);
}

TEST_CASE("leave-one-out on a hand-made example", "[data][split]") {
  Interactions x;
  const auto add = [&](std::int64_t u, std::int64_t i, std::int64_t t) {
    x.push_back(x.users.insert(u), x.items.insert(i), 1.0f, t);
  };
  add(7, 1, 5);  // user 0: items 1@5 2@1 3@9 4@3 -> chronological 2 4 1 3
  add(7, 2, 1);
  add(8, 5, 1);  // user 1: two interactions, not evaluated
  add(7, 3, 9);
  add(8, 1, 2);
  add(7, 4, 3);
  const Split s = seqrec::data::leave_one_out(x);
  // Dense item ids by first appearance: 1->1, 2->2, 5->3, 3->4, 4->5.
  CHECK(s.test_item(0) == 4);
  CHECK(s.test_item(0) == x.items.dense(3));
  CHECK(s.valid_item(0) == x.items.dense(1));
  CHECK(s.train_sequences.length(0) == 2);
  CHECK(s.train_sequences.items[0] == x.items.dense(2));
  CHECK(s.train_sequences.items[1] == x.items.dense(4));
  CHECK(s.train_sequences.length(1) == 2);
  CHECK(s.evaluated_users == std::vector<seqrec::id_t>{0});
}

TEST_CASE("temporal split by time and by fraction", "[data][split]") {
  const Interactions x = random_interactions(150, 40, 5);
  std::vector<std::int64_t> ts(x.time);
  std::sort(ts.begin(), ts.end());
  const std::int64_t valid_cut = ts[ts.size() * 7 / 10], test_cut = ts[ts.size() * 85 / 100];
  const Split s = seqrec::data::temporal_split(x, valid_cut, test_cut);
  for (std::int64_t t : s.train.time) REQUIRE(t < valid_cut);
  for (std::int64_t t : s.valid.times) REQUIRE((t >= valid_cut && t < test_cut));
  for (std::int64_t t : s.test.times) REQUIRE(t >= test_cut);
  std::multiset<Key> all = keys(s.train);
  const auto v = keys(s.valid), t = keys(s.test);
  all.insert(v.begin(), v.end());
  all.insert(t.begin(), t.end());
  CHECK(all == keys(x));
  check_chronological(s.test);
  for (seqrec::id_t u : s.evaluated_users) CHECK(s.test.length(u) > 0);

  const Split f = seqrec::data::temporal_split_fraction(x, 0.8, 0.1);
  const auto n = static_cast<std::size_t>(x.size());
  CHECK(f.train.user.size() == static_cast<std::size_t>(std::llround(0.8 * n)));
  CHECK(f.valid.items.size() == static_cast<std::size_t>(std::llround(0.1 * n)));
  CHECK(f.train.user.size() + f.valid.items.size() + f.test.items.size() == n);
  const auto max_train = *std::max_element(f.train.time.begin(), f.train.time.end());
  const auto min_valid = *std::min_element(f.valid.times.begin(), f.valid.times.end());
  const auto max_valid = *std::max_element(f.valid.times.begin(), f.valid.times.end());
  const auto min_test = *std::min_element(f.test.times.begin(), f.test.times.end());
  CHECK(max_train <= min_valid);  // times are unique here, so strictly ordered
  CHECK(max_train < min_valid);
  CHECK(max_valid < min_test);
  CHECK_THROWS_AS(seqrec::data::temporal_split_fraction(x, 0.9, 0.2), seqrec::Error);
  CHECK_THROWS_AS(seqrec::data::temporal_split(x, 10, 5), seqrec::Error);
}

TEST_CASE("k-fold: disjoint test folds of ~20% whose union is everything", "[data][split]") {
  const Interactions x = random_interactions(300, 80, 3);
  const auto folds = seqrec::data::kfold(x, 5, 42);
  REQUIRE(folds.size() == 5);
  const auto everything = keys(x);
  std::multiset<Key> union_of_tests;
  for (const Split& f : folds) {
    const auto train = keys(f.train), test = keys(f.test);
    CHECK(disjoint(train, test));
    std::multiset<Key> both = train;
    both.insert(test.begin(), test.end());
    CHECK(both == everything);
    CHECK(f.valid.items.empty());
    const double share = double(test.size()) / double(everything.size());
    CHECK(share == Approx(0.2).margin(0.001));
    union_of_tests.insert(test.begin(), test.end());
  }
  CHECK(union_of_tests == everything);  // every interaction in exactly one test fold

  // Seeded: the same seed gives the same folds, another seed others.
  const auto again = seqrec::data::kfold(x, 5, 42);
  const auto other = seqrec::data::kfold(x, 5, 43);
  CHECK(keys(again[2].test) == keys(folds[2].test));
  CHECK(keys(other[2].test) != keys(folds[2].test));

  const auto a = seqrec::data::kfold_assignment(103, 5, 1);
  std::vector<int> sizes(5, 0);
  for (auto f : a) ++sizes[static_cast<std::size_t>(f)];
  for (int s : sizes) CHECK((s == 20 || s == 21));
  CHECK_THROWS_AS(seqrec::data::kfold_assignment(3, 5, 1), seqrec::Error);
  CHECK_THROWS_AS(seqrec::data::kfold(x, 1, 1), seqrec::Error);
}

TEST_CASE("k-fold over contiguous blocks: fold f tests on rows [f n/k, (f+1) n/k) of the input order",
          "[data][split]") {
  const Interactions x = random_interactions(300, 80, 3);
  const auto n = static_cast<std::size_t>(x.size());
  const auto folds = seqrec::data::kfold_contiguous(x, 5);
  REQUIRE(folds.size() == 5);
  for (std::size_t f = 0; f < 5; ++f) {
    // The expected test part: exactly the rows of block f, as (user, item, ...) keys.
    Interactions block = x;
    std::vector<std::size_t> rows;
    for (std::size_t r = f * n / 5; r < (f + 1) * n / 5; ++r) rows.push_back(r);
    block.apply(rows);
    CHECK(keys(folds[f].test) == keys(block));
    CHECK(disjoint(keys(folds[f].train), keys(folds[f].test)));
    CHECK(folds[f].train.size() + folds[f].test.size() == x.size());
  }
  const auto a = seqrec::data::kfold_contiguous_assignment(100000, 5);
  CHECK(a[19999] == 0);
  CHECK(a[20000] == 1);
  CHECK(a[99999] == 4);
  CHECK_THROWS_AS(seqrec::data::kfold_contiguous_assignment(3, 5), seqrec::Error);
  CHECK_THROWS_WITH(seqrec::data::kfold_from_assignment(x, std::vector<seqrec::index_t>(n, 7), 5),
                    Catch::Contains("has fold 7"));
}

TEST_CASE("with_held_out appends each evaluated user's validation and test items after their training items",
          "[data][split]") {
  const Interactions x = random_interactions(40, 30, 9);
  const Split s = seqrec::data::leave_one_out(x);
  const Interactions none = seqrec::data::with_held_out(s, false);
  CHECK(keys(none) == keys(s.train));
  const auto valid = seqrec::data::Sequences::from(seqrec::data::with_held_out(s, true));
  const auto both = seqrec::data::Sequences::from(seqrec::data::with_held_out(s, true, true));
  const auto train = s.train_sequences;
  for (auto u : s.evaluated_users) {
    REQUIRE(valid.length(u) == train.length(u) + 1);
    REQUIRE(both.length(u) == train.length(u) + 2);
    for (seqrec::index_t k = 0; k < train.length(u); ++k) {
      CHECK(valid.items[valid.offsets[u] + k] == train.items[train.offsets[u] + k]);
      CHECK(both.items[both.offsets[u] + k] == train.items[train.offsets[u] + k]);
    }
    CHECK(valid.items[valid.offsets[u + 1] - 1] == s.valid_item(u));
    CHECK(both.items[both.offsets[u + 1] - 2] == s.valid_item(u));
    CHECK(both.items[both.offsets[u + 1] - 1] == s.test_item(u));
  }
  CHECK(valid.size() == train.size() + seqrec::index_t(s.evaluated_users.size()));
}
