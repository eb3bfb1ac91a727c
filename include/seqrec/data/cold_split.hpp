// Cold-item split: a seeded share of the items is held out of training entirely, and each user's first
// interaction with one of them becomes a target that a sequential model ranks among all cold items (see
// eval/cold_items.hpp). It measures what the model does with items it never saw, e.g. items that only have
// features. Host only.
//
//   auto split = data::cold_item_split(x, 0.2, seed);
//   // train on split.warm (with leave_one_out as usual), then
//   model.set_scoring_windows(space, split.history, eval_batch);
//   auto cands = eval::make_cold_candidates(space, split);
#pragma once

#include <seqrec/core/error.hpp>
#include <seqrec/core/random.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/data/interactions.hpp>
#include <seqrec/data/split.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

namespace seqrec::data {

struct ColdItemSplit {
  // The cold items, dense ids ascending.
  std::vector<id_t> cold_items;
  // is_cold[i] == 1 for a cold item i; num_items + 1 entries (entry 0, the padding item, is 0).
  std::vector<std::uint8_t> is_cold;
  // The input without any interaction on a cold item, chronological, with the input's user and item IdMaps: ids
  // and num_items() are unchanged, so a model built on it still has rows for the cold items. Train on it as
  // usual (e.g. leave_one_out(warm)).
  Interactions warm;
  // The evaluated users, ascending, and targets[b] = users[b]'s first cold item in time order. A user is
  // evaluated when at least one warm interaction comes before that first cold one.
  std::vector<id_t> users;
  std::vector<id_t> targets;
  // Per user (num_users rows): the interactions strictly before the user's target, all warm, in sequence
  // order; empty for users not evaluated. Set it as the model's scoring windows.
  Sequences history;
  // Interactions on cold items dropped from warm.
  index_t removed = 0;
  // users.size().
  index_t evaluated = 0;
  // The seed the cold items were drawn from.
  std::uint64_t seed = 0;
};

namespace detail {
inline constexpr std::uint64_t kColdItemStream = 0x434f4c442d495445ull;  // arbitrary, fixed: "COLD-ITE"
}  // namespace detail

// Draws round(fraction * num_items) cold items uniformly without replacement from `seed` (the same seed and
// item count give the same items) and splits x, which must be sorted by (user, time) (sort_chronological()).
// Throws when fraction is outside (0, 1), when no item or every item would be cold, or when x is unsorted.
inline ColdItemSplit cold_item_split(const Interactions& x, double fraction, std::uint64_t seed) {
  SEQREC_REQUIRE(fraction > 0.0 && fraction < 1.0, "cold_item_split: fraction must be in (0, 1), got ", fraction);
  detail::check_interactions(x, "cold_item_split");
  for (std::size_t k = 1; k < x.user.size(); ++k)
    SEQREC_REQUIRE(x.user[k - 1] < x.user[k] || (x.user[k - 1] == x.user[k] && x.time[k - 1] <= x.time[k]),
                   "cold_item_split: interactions must be sorted by (user, time) (call sort_chronological()); "
                   "expected entry ",
                   k, " at or after (user ", x.user[k - 1], ", time ", x.time[k - 1], "), got (user ", x.user[k],
                   ", time ", x.time[k], ")");
  const index_t num_items = x.num_items();
  const auto n_cold = static_cast<index_t>(std::llround(fraction * static_cast<double>(num_items)));
  SEQREC_REQUIRE(n_cold >= 1, "cold_item_split: expected at least 1 cold item, got round(", fraction, " * ", num_items,
                 ") = ", n_cold);
  SEQREC_REQUIRE(n_cold < num_items, "cold_item_split: expected at least 1 warm item, got all ", num_items,
                 " items cold (fraction ", fraction, ")");

  ColdItemSplit s;
  s.seed = seed;
  // Partial Fisher-Yates over 1..num_items from a counter-based stream: the draw depends only on (seed, num_items).
  std::vector<id_t> pool(static_cast<std::size_t>(num_items));
  std::iota(pool.begin(), pool.end(), id_t(1));
  const RandomStream rs(seed, detail::kColdItemStream);
  const auto n = static_cast<std::uint64_t>(num_items);
  for (std::uint64_t i = 0; i < static_cast<std::uint64_t>(n_cold); ++i)
    std::swap(pool[i], pool[i + rs.below(i, n - i)]);
  s.cold_items.assign(pool.begin(), pool.begin() + n_cold);
  std::sort(s.cold_items.begin(), s.cold_items.end());
  s.is_cold.assign(static_cast<std::size_t>(num_items) + 1, 0);
  for (id_t i : s.cold_items) s.is_cold[static_cast<std::size_t>(i)] = 1;

  s.warm = detail::empty_like(x);
  s.warm.reserve(x.user.size());
  Interactions before = detail::empty_like(x);  // the evaluated users' interactions before their target
  const std::size_t total = x.user.size();
  for (std::size_t begin = 0; begin < total;) {
    std::size_t end = begin;
    while (end < total && x.user[end] == x.user[begin]) ++end;
    std::size_t first_cold = end;
    for (std::size_t k = begin; k < end; ++k) {
      if (s.is_cold[static_cast<std::size_t>(x.item[k])]) {
        if (first_cold == end) first_cold = k;
        ++s.removed;
      } else {
        s.warm.push_back(x.user[k], x.item[k], x.weight[k], x.time[k]);
      }
    }
    // Everything before the first cold interaction is warm, so a non-empty prefix is the warm history.
    if (first_cold < end && first_cold > begin) {
      s.users.push_back(x.user[begin]);
      s.targets.push_back(x.item[first_cold]);
      for (std::size_t k = begin; k < first_cold; ++k) before.push_back(x.user[k], x.item[k], x.weight[k], x.time[k]);
    }
    begin = end;
  }
  s.history = Sequences::from(before);
  s.evaluated = static_cast<index_t>(s.users.size());
  return s;
}

}  // namespace seqrec::data
