// Train / validation / test splits: leave-one-out (the SASRec protocol), global temporal, and k-fold for
// ratings (in the spirit of MovieLens u1–u5); a federated client's share of the users (only_users). Host only.
//
// Every split keeps the input's id maps: user and item ids mean the same in train, validation and test,
// and item tables stay num_items() + 1 rows even when an item only occurs in held-out data.
#pragma once

#include <seqrec/core/error.hpp>
#include <seqrec/core/random.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/data/interactions.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

namespace seqrec::data {

// One split. valid and test hold each user's held-out interactions as sequences (chronological, with
// weights and times), empty for users without held-out data.
struct Split {
  Interactions train;                 // sorted by (user, time)
  Sequences train_sequences;          // from train
  Sequences valid;                    // per user; empty in k-fold splits
  Sequences test;                     // per user
  std::vector<id_t> evaluated_users;  // users with at least one test interaction, ascending

  // Leave-one-out helpers: the user's first validation / test item, 0 when there is none.
  id_t valid_item(id_t u) const { return first_item(valid, u); }
  id_t test_item(id_t u) const { return first_item(test, u); }

 private:
  static id_t first_item(const Sequences& s, id_t u) {
    SEQREC_REQUIRE_INDEX(u, s.num_users(), "Split: user");
    return s.length(u) > 0 ? s.items[static_cast<std::size_t>(s.offsets[u])] : id_t(0);
  }
};

// A split's training interactions plus each evaluated user's validation item (add_valid) and test item
// (add_test), appended after the user's training items and sorted by (user, time): the input a sequence model
// sees when it is validated (neither) or tested (add_valid), and what a completion strategy fits on before it
// ranks the test item.
inline Interactions with_held_out(const Split& split, bool add_valid, bool add_test = false) {
  Interactions x = split.train;
  constexpr std::int64_t last = std::numeric_limits<std::int64_t>::max();
  for (auto u : split.evaluated_users) {
    if (add_valid) x.push_back(u, split.valid_item(u), 1.0f, last - 1);
    if (add_test) x.push_back(u, split.test_item(u), 1.0f, last);
  }
  x.sort_chronological();
  return x;
}

// The sequences of users u with u mod parts == part, every other user's row empty (ids and num_items kept): a
// federated-averaging client's own data when the users are spread over `parts` clients.
inline Sequences only_users(const Sequences& all, int part, int parts) {
  SEQREC_REQUIRE(parts > 0 && part >= 0 && part < parts, "only_users: part ", part, " of ", parts,
                 " is not in [0, parts)");
  Sequences out;
  out.num_items = all.num_items;
  out.offsets.assign(1, 0);
  for (index_t u = 0; u < all.num_users(); ++u) {
    if (u % parts == part) {
      const auto lo = all.offsets[std::size_t(u)], hi = all.offsets[std::size_t(u) + 1];
      out.items.insert(out.items.end(), all.items.begin() + lo, all.items.begin() + hi);
      if (!all.weights.empty())
        out.weights.insert(out.weights.end(), all.weights.begin() + lo, all.weights.begin() + hi);
      if (!all.times.empty()) out.times.insert(out.times.end(), all.times.begin() + lo, all.times.begin() + hi);
    }
    out.offsets.push_back(index_t(out.items.size()));
  }
  return out;
}

namespace detail {

enum class Part : std::uint8_t { train, valid, test };

inline void check_interactions(const Interactions& x, const char* who) {
  const std::size_t n = x.user.size();
  SEQREC_REQUIRE(x.item.size() == n && x.weight.size() == n && x.time.size() == n, who,
                 ": the arrays of Interactions differ in length (user ", n, ", item ", x.item.size(), ", weight ",
                 x.weight.size(), ", time ", x.time.size(), ")");
  for (std::size_t k = 0; k < n; ++k) {
    SEQREC_REQUIRE_INDEX(x.user[k], x.num_users(), std::string(who) + ": user");
    SEQREC_REQUIRE_INDEX(x.item[k] - 1, x.num_items(), std::string(who) + ": item - 1 (items are 1-based)");
  }
}

inline Interactions empty_like(const Interactions& x) {
  Interactions out;
  out.users = x.users;
  out.items = x.items;
  out.has_weight = x.has_weight;
  out.has_time = x.has_time;
  out.source = x.source;
  return out;
}

// Builds a Split from x (sorted by (user, time)) and where each interaction goes.
inline Split assemble(const Interactions& x, const std::vector<Part>& part) {
  Split s;
  s.train = empty_like(x);
  Interactions valid = empty_like(x), test = empty_like(x);
  for (std::size_t k = 0; k < part.size(); ++k) {
    Interactions& to = part[k] == Part::train ? s.train : part[k] == Part::valid ? valid : test;
    to.push_back(x.user[k], x.item[k], x.weight[k], x.time[k]);
  }
  s.train_sequences = Sequences::from(s.train);
  s.valid = Sequences::from(valid);
  s.test = Sequences::from(test);
  for (index_t u = 0; u < s.test.num_users(); ++u)
    if (s.test.length(u) > 0) s.evaluated_users.push_back(id_t(u));
  return s;
}

// The permutation that sorts x by (user, time), ties in input order (as Interactions::sort_chronological).
inline std::vector<std::size_t> chronological_order(const Interactions& x) {
  std::vector<std::size_t> order(x.user.size());
  std::iota(order.begin(), order.end(), std::size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return x.user[a] != x.user[b] ? x.user[a] < x.user[b] : x.time[a] < x.time[b];
  });
  return order;
}

inline Interactions permuted(const Interactions& x, const std::vector<std::size_t>& order) {
  Interactions y = x;
  y.apply(order);
  return y;
}

}  // namespace detail

// Leave-one-out: per user, in chronological order, the last interaction is the test target, the one
// before it the validation target, the rest train. Users with fewer than `min_length` (3) interactions
// stay wholly in train and are not evaluated.
inline Split leave_one_out(const Interactions& x, index_t min_length = 3) {
  SEQREC_REQUIRE(min_length >= 3, "leave_one_out: min_length must be >= 3 (one train, one validation, one test), ",
                 "got ", min_length);
  detail::check_interactions(x, "leave_one_out");
  const Interactions y = detail::permuted(x, detail::chronological_order(x));
  std::vector<detail::Part> part(y.user.size(), detail::Part::train);
  for (std::size_t begin = 0; begin < y.user.size();) {
    std::size_t end = begin;
    while (end < y.user.size() && y.user[end] == y.user[begin]) ++end;
    if (static_cast<index_t>(end - begin) >= min_length) {
      part[end - 1] = detail::Part::test;
      part[end - 2] = detail::Part::valid;
    }
    begin = end;
  }
  return detail::assemble(y, part);
}

// Global temporal split by time: time < valid_cut -> train, valid_cut <= time < test_cut -> validation,
// time >= test_cut -> test. valid_cut == test_cut gives no validation data.
inline Split temporal_split(const Interactions& x, std::int64_t valid_cut, std::int64_t test_cut) {
  SEQREC_REQUIRE(valid_cut <= test_cut, "temporal_split: valid_cut (", valid_cut, ") must not exceed test_cut (",
                 test_cut, ")");
  detail::check_interactions(x, "temporal_split");
  const Interactions y = detail::permuted(x, detail::chronological_order(x));
  std::vector<detail::Part> part(y.user.size());
  for (std::size_t k = 0; k < part.size(); ++k)
    part[k] = y.time[k] < valid_cut  ? detail::Part::train
              : y.time[k] < test_cut ? detail::Part::valid
                                     : detail::Part::test;
  return detail::assemble(y, part);
}

// Global temporal split by shares: all interactions in time order (ties in input order), the first
// round(train_fraction * n) to train, the next round(valid_fraction * n) to validation, the rest to test.
// Equal times may straddle a boundary; the order decides.
inline Split temporal_split_fraction(const Interactions& x, double train_fraction, double valid_fraction = 0.0) {
  SEQREC_REQUIRE(train_fraction >= 0.0 && valid_fraction >= 0.0 && train_fraction + valid_fraction <= 1.0,
                 "temporal_split_fraction: fractions must be >= 0 and sum to at most 1, got ", train_fraction, " and ",
                 valid_fraction);
  detail::check_interactions(x, "temporal_split_fraction");
  const std::vector<std::size_t> in = detail::chronological_order(x);  // y[j] is x[in[j]]
  const Interactions y = detail::permuted(x, in);
  const std::size_t n = y.user.size();
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t(0));
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return y.time[a] != y.time[b] ? y.time[a] < y.time[b] : in[a] < in[b];
  });
  const auto n_train = static_cast<std::size_t>(std::llround(train_fraction * double(n)));
  const auto n_valid = std::min(n - n_train, static_cast<std::size_t>(std::llround(valid_fraction * double(n))));
  std::vector<detail::Part> part(n);
  for (std::size_t r = 0; r < n; ++r)
    part[order[r]] = r < n_train             ? detail::Part::train
                     : r < n_train + n_valid ? detail::Part::valid
                                             : detail::Part::test;
  return detail::assemble(y, part);
}

// The fold (0..k-1) of each of n interactions: a seeded shuffle cut into k parts whose sizes differ by
// at most one, so every interaction is in exactly one test fold.
inline std::vector<index_t> kfold_assignment(index_t n, index_t k, std::uint64_t seed) {
  SEQREC_REQUIRE(k >= 2, "kfold_assignment: k must be >= 2, got ", k);
  SEQREC_REQUIRE(n >= k, "kfold_assignment: need at least k = ", k, " interactions, got ", n);
  std::vector<index_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), index_t(0));
  const RandomStream rs(seed, 0x6b666f6c64ull);  // "kfold"
  for (index_t i = n - 1; i > 0; --i)            // Fisher–Yates
    std::swap(
        order[static_cast<std::size_t>(i)],
        order[static_cast<std::size_t>(rs.below(static_cast<std::uint64_t>(i), static_cast<std::uint64_t>(i + 1)))]);
  std::vector<index_t> fold(static_cast<std::size_t>(n));
  for (index_t r = 0; r < n; ++r) fold[static_cast<std::size_t>(order[static_cast<std::size_t>(r)])] = r * k / n;
  return fold;
}

// The fold of each of n interactions in input order: k contiguous blocks whose sizes differ by at most one
// (row r goes to fold r * k / n). This is how GroupLens cut MovieLens-100K's u1..u5 from u.data (its mku.sh
// takes lines 20000 (i-1) + 1 .. 20000 i as the test part of u<i>), so a reader that keeps file order
// reproduces the official folds.
inline std::vector<index_t> kfold_contiguous_assignment(index_t n, index_t k) {
  SEQREC_REQUIRE(k >= 2, "kfold_contiguous_assignment: k must be >= 2, got ", k);
  SEQREC_REQUIRE(n >= k, "kfold_contiguous_assignment: need at least k = ", k, " interactions, got ", n);
  std::vector<index_t> fold(static_cast<std::size_t>(n));
  for (index_t r = 0; r < n; ++r)
    fold[static_cast<std::size_t>(r)] = static_cast<index_t>(static_cast<std::int64_t>(r) * k / n);
  return fold;
}

// k-fold cross-validation from a fold per interaction (values 0..k-1): fold f tests on its interactions and
// trains on the others. No validation part.
inline std::vector<Split> kfold_from_assignment(const Interactions& x, const std::vector<index_t>& fold_of, index_t k) {
  detail::check_interactions(x, "kfold");
  SEQREC_REQUIRE_EQ(fold_of.size(), x.user.size(), "kfold: fold assignments vs interactions");
  for (std::size_t j = 0; j < fold_of.size(); ++j)
    SEQREC_REQUIRE(fold_of[j] >= 0 && fold_of[j] < k, "kfold: interaction ", j, " has fold ", fold_of[j],
                   ", outside [0, ", k, ")");
  // Sort once, carrying each interaction's fold along.
  const std::size_t n = x.user.size();
  const std::vector<std::size_t> in = detail::chronological_order(x);  // y[j] is x[in[j]]
  const Interactions y = detail::permuted(x, in);
  std::vector<Split> folds;
  folds.reserve(static_cast<std::size_t>(k));
  std::vector<detail::Part> part(n);
  for (index_t f = 0; f < k; ++f) {
    for (std::size_t j = 0; j < n; ++j) part[j] = fold_of[in[j]] == f ? detail::Part::test : detail::Part::train;
    folds.push_back(detail::assemble(y, part));
  }
  return folds;
}

// k-fold cross-validation for ratings: k disjoint test folds of ~n/k interactions each, drawn at random over
// all interactions with `seed`; fold f trains on the others. No validation part. Folds are assigned over the
// input order, so the same data and seed give the same folds.
inline std::vector<Split> kfold(const Interactions& x, index_t k = 5, std::uint64_t seed = 0) {
  detail::check_interactions(x, "kfold");
  return kfold_from_assignment(x, kfold_assignment(x.size(), k, seed), k);
}

// k-fold over contiguous blocks of the input order (MovieLens-100K's official u1..u5 with k = 5, when x is
// u.data in file order).
inline std::vector<Split> kfold_contiguous(const Interactions& x, index_t k = 5) {
  detail::check_interactions(x, "kfold_contiguous");
  return kfold_from_assignment(x, kfold_contiguous_assignment(x.size(), k), k);
}

}  // namespace seqrec::data
