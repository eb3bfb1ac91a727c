#include "support/interaction_keys.hpp"

#include <seqrec/core/random.hpp>
#include <seqrec/data/cold_split.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <set>
#include <tuple>
#include <vector>

namespace {

using seqrec::data::ColdItemSplit;
using seqrec::data::Interactions;

// Chronological interactions of `users` users over `items` items (every item occurs: the first ones walk the
// catalogue), lengths 1 to 8, unique times.
Interactions make_interactions(int users, int items, std::uint64_t seed) {
  seqrec::RandomStream rs(seed, 7);
  Interactions x;
  std::uint64_t c = 0;
  std::int64_t t = 0;
  int next_new = 0;
  for (int u = 0; u < users; ++u) {
    const int n = 1 + int(rs.below(c++, 8));
    for (int k = 0; k < n; ++k) {
      const int item = next_new < items ? next_new++ : int(rs.below(c++, std::uint64_t(items)));
      t += 1 + std::int64_t(rs.below(c++, 3));
      x.push_back(x.users.insert(500 + u), x.items.insert(9000 + item), float(k + 1), t);
    }
  }
  x.has_time = x.has_weight = true;
  return x;
}

using Key = seqrec::test::InteractionKey;
std::multiset<Key> keys(const Interactions& x) { return seqrec::test::interaction_keys(x); }

// Checks every property of a split of x against a direct computation.
void check_split(const Interactions& x, const ColdItemSplit& s) {
  const auto num_items = x.num_items();
  REQUIRE(s.is_cold.size() == std::size_t(num_items) + 1);
  CHECK(s.is_cold[0] == 0);
  CHECK(std::is_sorted(s.cold_items.begin(), s.cold_items.end()));
  CHECK(std::adjacent_find(s.cold_items.begin(), s.cold_items.end()) == s.cold_items.end());
  for (seqrec::id_t i = 1; i <= num_items; ++i)
    CHECK(bool(s.is_cold[std::size_t(i)]) == std::binary_search(s.cold_items.begin(), s.cold_items.end(), i));

  // Warm: no cold item, chronological, and warm + removed = all.
  CHECK(s.warm.users.originals() == x.users.originals());
  CHECK(s.warm.items.originals() == x.items.originals());
  CHECK(s.warm.num_items() == num_items);
  CHECK(s.warm.has_time == x.has_time);
  std::multiset<Key> removed;
  for (seqrec::index_t k = 0; k < x.size(); ++k)
    if (s.is_cold[std::size_t(x.item[k])]) removed.insert({x.user[k], x.item[k], x.time[k], x.weight[k]});
  CHECK(s.removed == seqrec::index_t(removed.size()));
  auto all = keys(s.warm);
  for (seqrec::index_t k = 0; k < s.warm.size(); ++k) {
    CHECK_FALSE(s.is_cold[std::size_t(s.warm.item[k])]);
    if (k > 0)
      CHECK((s.warm.user[k - 1] < s.warm.user[k] ||
             (s.warm.user[k - 1] == s.warm.user[k] && s.warm.time[k - 1] <= s.warm.time[k])));
  }
  CHECK(s.warm.size() + s.removed == x.size());
  all.insert(removed.begin(), removed.end());
  CHECK(all == keys(x));

  // Users, targets and histories from each user's sequence.
  REQUIRE(s.history.num_users() == x.num_users());
  CHECK(s.history.num_items == num_items);
  std::vector<seqrec::id_t> users, targets;
  for (seqrec::id_t u = 0; u < x.num_users(); ++u) {
    std::vector<seqrec::id_t> seq;
    std::vector<std::int64_t> times;
    for (seqrec::index_t k = 0; k < x.size(); ++k)
      if (x.user[k] == u) {
        seq.push_back(x.item[k]);
        times.push_back(x.time[k]);
      }
    const auto first = std::find_if(seq.begin(), seq.end(), [&](seqrec::id_t i) { return s.is_cold[std::size_t(i)]; });
    const bool evaluated = first != seq.end() && first != seq.begin();
    const std::vector<seqrec::id_t> got(s.history.items.begin() + s.history.offsets[u],
                                        s.history.items.begin() + s.history.offsets[u + 1]);
    if (evaluated) {
      users.push_back(u);
      targets.push_back(*first);
      CHECK(got == std::vector<seqrec::id_t>(seq.begin(), first));
      const std::vector<std::int64_t> got_times(s.history.times.begin() + s.history.offsets[u],
                                                s.history.times.begin() + s.history.offsets[u + 1]);
      CHECK(got_times == std::vector<std::int64_t>(times.begin(), times.begin() + (first - seq.begin())));
    } else {
      CHECK(got.empty());
    }
  }
  CHECK(s.users == users);
  CHECK(s.targets == targets);
  CHECK(s.evaluated == seqrec::index_t(users.size()));
}

}  // namespace

TEST_CASE("cold_item_split holds out a seeded share of the items", "[data][cold]") {
  const Interactions x = make_interactions(60, 40, 3);
  REQUIRE(x.num_items() == 40);
  const auto a = seqrec::data::cold_item_split(x, 0.25, 11);
  CHECK(a.cold_items.size() == 10);
  CHECK(a.seed == 11);
  check_split(x, a);
  CHECK(a.evaluated > 0);
  CHECK(a.removed > 0);

  // The same seed draws the same items; other seeds other items.
  CHECK(seqrec::data::cold_item_split(x, 0.25, 11).cold_items == a.cold_items);
  bool differs = false;
  for (std::uint64_t seed = 12; seed < 16; ++seed) {
    const auto b = seqrec::data::cold_item_split(x, 0.25, seed);
    check_split(x, b);
    differs = differs || b.cold_items != a.cold_items;
  }
  CHECK(differs);

  // round(fraction * num_items) items; the draw depends on the seed and the item count only.
  CHECK(seqrec::data::cold_item_split(x, 0.0125, 1).cold_items.size() == 1);  // 0.5 rounds away from zero
  const auto most = seqrec::data::cold_item_split(x, 0.9, 1);
  CHECK(most.cold_items.size() == 36);
  check_split(x, most);
}

TEST_CASE("cold_item_split evaluates users with a warm item before their first cold one", "[data][cold]") {
  Interactions x = make_interactions(30, 20, 5);
  const auto base = seqrec::data::cold_item_split(x, 0.3, 4);
  REQUIRE(base.cold_items.size() == 6);
  std::vector<std::int64_t> cold, warm;  // original ids
  for (seqrec::id_t i = 1; i <= x.num_items(); ++i)
    (base.is_cold[std::size_t(i)] ? cold : warm).push_back(x.items.original(i));

  // Users appended with known sequences over the same items: the cold draw stays the same.
  std::int64_t t = x.time.back();
  auto add = [&](std::int64_t user, const std::vector<std::int64_t>& items) {
    const seqrec::id_t u = x.users.insert(user);
    for (auto i : items) x.push_back(u, x.items.dense(i), 1.0f, ++t);
    return u;
  };
  const seqrec::id_t cold_first = add(1, {cold[0], warm[0], cold[1]});
  const seqrec::id_t all_warm = add(2, {warm[0], warm[1], warm[2]});
  const seqrec::id_t evaluated = add(3, {warm[3], warm[1], cold[2], warm[4], cold[0]});
  const seqrec::id_t all_cold = add(4, {cold[3], cold[4]});
  REQUIRE(x.num_items() == 20);

  const auto s = seqrec::data::cold_item_split(x, 0.3, 4);
  CHECK(s.cold_items == base.cold_items);
  check_split(x, s);
  auto history = [&](seqrec::id_t u) {
    return std::vector<seqrec::id_t>(s.history.items.begin() + s.history.offsets[u],
                                     s.history.items.begin() + s.history.offsets[u + 1]);
  };
  for (auto u : {cold_first, all_warm, all_cold}) {
    CHECK(std::find(s.users.begin(), s.users.end(), u) == s.users.end());
    CHECK(history(u).empty());
  }
  const auto at = std::find(s.users.begin(), s.users.end(), evaluated);
  REQUIRE(at != s.users.end());
  CHECK(s.targets[std::size_t(at - s.users.begin())] == x.items.dense(cold[2]));
  CHECK(history(evaluated) == std::vector<seqrec::id_t>{x.items.dense(warm[3]), x.items.dense(warm[1])});
}

TEST_CASE("cold_item_split rejects bad fractions and unsorted input", "[data][cold]") {
  const Interactions x = make_interactions(30, 40, 6);
  using Catch::Contains;
  for (double f : {0.0, 1.0, -0.5, 1.5, std::nan("")})
    CHECK_THROWS_WITH(seqrec::data::cold_item_split(x, f, 0), Contains("fraction must be in (0, 1)"));
  CHECK_THROWS_WITH(seqrec::data::cold_item_split(x, 0.01, 0),
                    Contains("expected at least 1 cold item, got round(0.01 * 40) = 0"));
  CHECK_THROWS_WITH(seqrec::data::cold_item_split(x, 0.99, 0), Contains("expected at least 1 warm item"));

  Interactions late = x;  // one user's times out of order
  std::size_t k = 0;
  while (k + 1 < std::size_t(x.size()) && x.user[k] != x.user[k + 1]) ++k;
  REQUIRE(k + 1 < std::size_t(x.size()));
  std::swap(late.time[k], late.time[k + 1]);
  CHECK_THROWS_WITH(seqrec::data::cold_item_split(late, 0.5, 0), Contains("must be sorted by (user, time)"));
  Interactions users = x;  // users out of order
  std::reverse(users.user.begin(), users.user.end());
  CHECK_THROWS_WITH(seqrec::data::cold_item_split(users, 0.5, 0), Contains("must be sorted by (user, time)"));
  Interactions ragged = x;
  ragged.time.pop_back();
  CHECK_THROWS_WITH(seqrec::data::cold_item_split(ragged, 0.5, 0), Contains("differ in length"));
}
