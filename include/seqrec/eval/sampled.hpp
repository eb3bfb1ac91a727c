// The sampled evaluation protocol of SASRec and most sequential-recommendation papers: each evaluated user's
// held-out item is ranked against negatives drawn uniformly from the items the user never interacted with.
//
// Pieces, in the order a caller uses them:
//   History<Space>            every user's full history (train + validation + test items) as a device CSR
//                             with sorted rows, so "did u interact with i" is a binary search in a kernel;
//   select_users(...)         which users are evaluated: all eligible ones, or a seeded sample of at most
//                             max_users (SASRec's code samples 10,000); the choice is recorded in the result;
//   make_sampled_candidates   the candidate matrix [users x 1+negatives], column 0 the true item, drawn once
//                             on the device from a seed, so every model is ranked on the same candidates;
//   evaluate_sampled / SampledEvaluator
//                             scores candidates in batches with a Scorer, ranks on the device, reduces.
//
// Differences from SASRec's released code (kang205/SASRec util.py), chosen on purpose and worth stating
// next to any number: (1) negatives exclude the whole history including the validation and test items (the
// paper's text; the code excludes only training items, so it can draw the held-out item itself as a
// "negative"); (2) negatives within a user's row are distinct (the code draws with repeats; set
// SampledOptions::distinct = false to match it); (3) the user sample is drawn among eligible users (the code
// samples 10,000 of all users, then skips the ineligible ones); (4) ties rank the true item last (see
// metrics.hpp; numpy's argsort breaks them by position).
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/random.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/data/interactions.hpp>
#include <seqrec/eval/metrics.hpp>

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <concepts>
#include <cstdint>
#include <numeric>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace seqrec::eval {

// ------------------------------------------------------------------------------------ history

// Every user's interacted items as a CSR on the device: user u's items are items[offsets[u] .. offsets[u+1]),
// strictly increasing, each in [1, num_items]. Checked on the device when constructed.
template <ExecutionSpace Space>
class History {
 public:
  using offsets_type = Kokkos::View<const index_t*, Kokkos::LayoutRight, typename Space::memory_space>;
  using items_type = Kokkos::View<const id_t*, Kokkos::LayoutRight, typename Space::memory_space>;

  History() = default;

  // Takes a device CSR as it is; throws naming the first user whose row is unsorted, repeats an item or holds
  // an id outside [1, num_items].
  History(const Space& space, offsets_type offsets, items_type items, index_t num_items)
      : offsets_(offsets), items_(items), num_items_(num_items) {
    SEQREC_REQUIRE(num_items > 0, "History: num_items must be positive, got ", num_items);
    SEQREC_REQUIRE(offsets.extent(0) >= 1, "History: offsets need num_users + 1 entries, got none");
    const index_t bad = first_bad_row(space, offsets, items, num_items);
    SEQREC_REQUIRE(bad < 0, "History: the row of user ", bad, " is not strictly increasing, holds an item outside [1, ",
                   num_items, "], or its offsets are out of order (they must rise from 0 to ", items.extent(0), ")");
  }

  // The first user whose row breaks the rules above, or -1. (Public and static: CUDA lambdas may not live in
  // constructors or private members.)
  static index_t first_bad_row(const Space& space, offsets_type offsets, items_type items, index_t num_items) {
    const index_t users = static_cast<index_t>(offsets.extent(0)) - 1;
    const index_t nnz = static_cast<index_t>(items.extent(0));
    if (users <= 0) return nnz == 0 ? -1 : 0;
    index_t bad = users;
    Kokkos::parallel_reduce(
        "seqrec::eval::History::check", Kokkos::RangePolicy<Space>(space, 0, users),
        KOKKOS_LAMBDA(index_t u, index_t & first_bad) {
          const index_t lo = offsets(u), hi = offsets(u + 1);
          bool ok = (u > 0 || lo == 0) && 0 <= lo && lo <= hi && hi <= nnz && (u + 1 < users || hi == nnz);
          for (index_t k = lo; ok && k < hi; ++k)
            ok = items(k) >= 1 && items(k) <= num_items && (k == lo || items(k - 1) < items(k));
          if (!ok && u < first_bad) first_bad = u;
        },
        Kokkos::Min<index_t>(bad));
    return bad < users ? bad : -1;  // an empty Min reduction leaves the identity (the largest index_t)
  }

  offsets_type offsets() const { return offsets_; }
  items_type items() const { return items_; }
  index_t num_users() const { return offsets_.extent(0) == 0 ? 0 : static_cast<index_t>(offsets_.extent(0)) - 1; }
  index_t num_items() const { return num_items_; }

 private:
  offsets_type offsets_;
  items_type items_;
  index_t num_items_ = 0;
};

// Builds a History from a host CSR whose rows may be in any order and may repeat items (a user's sequence):
// each row is sorted and de-duplicated. Throws on offsets that do not describe `items`, or item ids outside
// [1, num_items] (naming the user and the item).
template <ExecutionSpace Space>
History<Space> make_history(const Space& space, std::span<const index_t> offsets, std::span<const id_t> items,
                            index_t num_items) {
  SEQREC_REQUIRE(!offsets.empty() && offsets.front() == 0,
                 "make_history: offsets must start at 0 and have num_users + 1 entries");
  SEQREC_REQUIRE_EQ(offsets.back(), static_cast<index_t>(items.size()), "make_history: last offset vs item count");
  const std::size_t users = offsets.size() - 1;
  Kokkos::View<index_t*, Kokkos::HostSpace> h_off("seqrec::eval::History::offsets", users + 1);
  std::vector<id_t> row, all;
  all.reserve(items.size());
  for (std::size_t u = 0; u < users; ++u) {
    SEQREC_REQUIRE(offsets[u] <= offsets[u + 1], "make_history: offsets decrease at user ", u);
    row.assign(items.begin() + offsets[u], items.begin() + offsets[u + 1]);
    for (id_t i : row)
      SEQREC_REQUIRE_CODE(i >= 1 && i <= num_items, Errc::out_of_range, "make_history: user ", u, " has item ", i,
                          " outside [1, ", num_items, "]");
    std::sort(row.begin(), row.end());
    row.erase(std::unique(row.begin(), row.end()), row.end());
    all.insert(all.end(), row.begin(), row.end());
    h_off(u + 1) = static_cast<index_t>(all.size());
  }
  h_off(0) = 0;
  Kokkos::View<id_t*, Kokkos::HostSpace> h_items("seqrec::eval::History::items", all.size());
  std::copy(all.begin(), all.end(), h_items.data());
  return History<Space>(space, to_space(space, h_off), to_space(space, h_items), num_items);
}

// Every user's whole sequence as their history.
template <ExecutionSpace Space>
History<Space> make_history(const Space& space, const data::Sequences& sequences) {
  return make_history(space, std::span<const index_t>(sequences.offsets), std::span<const id_t>(sequences.items),
                      sequences.num_items);
}

// ------------------------------------------------------------------------------------ evaluated users

// SASRec's cap on evaluated users.
inline constexpr index_t kSasrecMaxUsers = 10000;

// The users evaluated and their held-out item, on the device and on the host, with how they were chosen.
template <ExecutionSpace Space>
struct EvalUsers {
  View1<id_t, Space> users;      // in the order of the caller's list (a sample keeps that order)
  View1<id_t, Space> targets;    // users[b]'s held-out item
  std::vector<id_t> host_users;
  std::vector<id_t> host_targets;
  index_t eligible = 0;          // users offered before sampling
  bool sampled = false;          // true: a seeded sample of max_users of them
  std::uint64_t seed = 0;        // the sample's seed (when sampled)

  index_t size() const { return static_cast<index_t>(host_users.size()); }
};

namespace detail {
inline constexpr std::uint64_t kUserSampleStream = 0x5345515245432D55ull;  // arbitrary, fixed: "SEQREC-U"
inline constexpr std::uint64_t kNegativeStreamBase = std::uint64_t(1) << 32;  // + user id: one stream per user
}  // namespace detail

// users[b] with held-out item targets[b], for every eligible user (the caller decides eligibility, e.g. at
// least 3 interactions in the leave-one-out split). max_users > 0 and fewer than the eligible count: a sample
// of max_users drawn uniformly without replacement from `seed` (kSasrecMaxUsers for SASRec's protocol).
template <ExecutionSpace Space>
EvalUsers<Space> select_users(const Space& space, std::span<const id_t> users, std::span<const id_t> targets,
                              index_t max_users = 0, std::uint64_t seed = 0) {
  SEQREC_REQUIRE_EQ(targets.size(), users.size(), "select_users: number of targets vs number of users");
  SEQREC_REQUIRE(max_users >= 0, "select_users: max_users must be >= 0 (0: all users), got ", max_users);
  EvalUsers<Space> out;
  out.eligible = static_cast<index_t>(users.size());
  const std::size_t n = users.size();
  std::vector<std::size_t> pick(n);
  std::iota(pick.begin(), pick.end(), std::size_t(0));
  if (max_users > 0 && static_cast<std::size_t>(max_users) < n) {
    // Partial Fisher-Yates from a counter-based stream: the sample depends only on (seed, n).
    const RandomStream rs(seed, detail::kUserSampleStream);
    for (std::size_t i = 0; i < static_cast<std::size_t>(max_users); ++i)
      std::swap(pick[i], pick[i + rs.below(i, n - i)]);
    pick.resize(static_cast<std::size_t>(max_users));
    std::sort(pick.begin(), pick.end());
    out.sampled = true;
    out.seed = seed;
  }
  out.host_users.reserve(pick.size());
  out.host_targets.reserve(pick.size());
  for (std::size_t p : pick) {
    out.host_users.push_back(users[p]);
    out.host_targets.push_back(targets[p]);
  }
  Kokkos::View<const id_t*, Kokkos::HostSpace, Kokkos::MemoryUnmanaged> hu(out.host_users.data(), pick.size()),
      ht(out.host_targets.data(), pick.size());
  out.users = make_uninitialized<View1<id_t, Space>>(space, "eval::EvalUsers::users", pick.size());
  out.targets = make_uninitialized<View1<id_t, Space>>(space, "eval::EvalUsers::targets", pick.size());
  Kokkos::deep_copy(space, out.users, hu);
  Kokkos::deep_copy(space, out.targets, ht);
  space.fence();  // the host vectors may move before the copies run otherwise
  return out;
}

template <ExecutionSpace Space>
EvalUsers<Space> select_users(const Space& space, const std::vector<id_t>& users, const std::vector<id_t>& targets,
                              index_t max_users = 0, std::uint64_t seed = 0) {
  return select_users(space, std::span<const id_t>(users), std::span<const id_t>(targets), max_users, seed);
}

namespace detail {
// Host check shared by the protocols: users inside the history, targets inside [1, num_items].
template <ExecutionSpace Space>
void require_users_in(const EvalUsers<Space>& users, const History<Space>& history, const char* where) {
  for (std::size_t b = 0; b < users.host_users.size(); ++b) {
    const id_t u = users.host_users[b], t = users.host_targets[b];
    SEQREC_REQUIRE_CODE(u >= 0 && u < history.num_users(), Errc::out_of_range, where, ": user ", u,
                        " outside the history's [0, ", history.num_users(), ")");
    SEQREC_REQUIRE_CODE(t >= 1 && t <= history.num_items(), Errc::out_of_range, where, ": user ", u,
                        " has held-out item ", t, " outside [1, ", history.num_items(), "]");
  }
}

// Binary search in items[lo, hi) (sorted ascending).
template <class V>
KOKKOS_INLINE_FUNCTION bool contains_sorted(const V& items, index_t lo, index_t hi, id_t x) {
  while (lo < hi) {
    const index_t mid = lo + (hi - lo) / 2;
    const id_t v = items(mid);
    if (v < x) lo = mid + 1;
    else if (x < v) hi = mid;
    else return true;
  }
  return false;
}

// One thread per team on host spaces (a team is one user), a warp on GPUs.
template <ExecutionSpace Space>
Kokkos::TeamPolicy<Space> team_policy(const Space& space, index_t league, int device_team_size) {
  if constexpr (is_host_accessible_v<Space>)
    return Kokkos::TeamPolicy<Space>(space, static_cast<int>(league), 1);
  else
    return Kokkos::TeamPolicy<Space>(space, static_cast<int>(league), device_team_size);
}
}  // namespace detail

// ------------------------------------------------------------------------------------ candidates

struct SampledOptions {
  index_t num_negatives = 100;
  std::uint64_t seed = 0;
  bool distinct = true;  // no item twice in a user's row (SASRec's code draws with repeats: false)
};

// [users x 1+negatives] candidate items; column 0 is the held-out item, the rest its negatives.
template <ExecutionSpace Space>
struct SampledCandidates {
  EvalUsers<Space> users;
  View2<id_t, Space> items;
  index_t num_items = 0;
  std::uint64_t seed = 0;
  bool distinct = true;

  index_t size() const { return users.size(); }
  index_t num_candidates() const { return static_cast<index_t>(items.extent(1)); }
};

// Draws the negatives on the device by rejection: uniform over [1, num_items], rejected when in the user's
// history, equal to the held-out item, or (distinct) already drawn for this row. User u's draws come from
// its own counter-based stream (seed, u), so a user's candidates are the same whatever the backend, thread
// count, or which other users are evaluated. Throws naming a user with too few items outside their history.
template <ExecutionSpace Space>
SampledCandidates<Space> make_sampled_candidates(const Space& space, const EvalUsers<Space>& users,
                                                 const History<Space>& history, const SampledOptions& options = {}) {
  SEQREC_REQUIRE(options.num_negatives >= 1, "make_sampled_candidates: num_negatives must be >= 1, got ",
                 options.num_negatives);
  detail::require_users_in(users, history, "make_sampled_candidates");
  const index_t n = users.size(), neg = options.num_negatives, num_items = history.num_items();
  const bool distinct = options.distinct;
  auto offsets = history.offsets();
  auto hist = history.items();
  auto uv = users.users;
  auto tv = users.targets;

  // Enough allowed items for every row, or the rejection loop below would never end.
  const index_t need = distinct ? neg : 1;
  index_t bad = n;
  Kokkos::parallel_reduce(
      "seqrec::eval::sampled::feasible", Kokkos::RangePolicy<Space>(space, 0, n),
      KOKKOS_LAMBDA(index_t b, index_t & first_bad) {
        const id_t u = uv(b), t = tv(b);
        const index_t lo = offsets(u), hi = offsets(u + 1);
        const index_t allowed = num_items - (hi - lo) - (detail::contains_sorted(hist, lo, hi, t) ? 0 : 1);
        if (allowed < need && b < first_bad) first_bad = b;
      },
      Kokkos::Min<index_t>(bad));
  if (bad < n)
    SEQREC_THROW(Errc::invalid_argument, "make_sampled_candidates: user ", users.host_users[bad],
                 " has fewer than ", need, " items outside their history and held-out item (catalogue of ",
                 num_items, " items); lower num_negatives", distinct ? " or allow repeats" : "");

  SampledCandidates<Space> out;
  out.users = users;
  out.num_items = num_items;
  out.seed = options.seed;
  out.distinct = distinct;
  out.items = make_uninitialized<View2<id_t, Space>>(space, "eval::SampledCandidates::items", n, neg + 1);
  auto cand = out.items;
  const std::uint64_t seed = options.seed, stream_base = detail::kNegativeStreamBase;
  Kokkos::parallel_for(
      "seqrec::eval::sampled::draw", Kokkos::RangePolicy<Space>(space, 0, n), KOKKOS_LAMBDA(index_t b) {
        const id_t u = uv(b), t = tv(b);
        const index_t lo = offsets(u), hi = offsets(u + 1);
        const RandomStream rs(seed, stream_base + static_cast<std::uint64_t>(u));
        cand(b, 0) = t;
        std::uint64_t counter = 0;
        for (index_t j = 1; j <= neg;) {
          const id_t x = static_cast<id_t>(1 + rs.below(counter++, static_cast<std::uint64_t>(num_items)));
          if (x == t || detail::contains_sorted(hist, lo, hi, x)) continue;
          bool repeat = false;
          for (index_t q = 1; distinct && q < j && !repeat; ++q) repeat = cand(b, q) == x;
          if (repeat) continue;
          cand(b, j++) = x;
        }
      });
  return out;
}

// ------------------------------------------------------------------------------------ scorers

// A model seen by the evaluators. scores(b, j) = the model's score of item candidates(b, j) for user
// users(b); higher is better. Runs on `space` (the evaluators rank on the same instance right after).
template <class S, class Space, class T>
concept Scorer = ExecutionSpace<Space> &&
                 requires(S& s, const Space& space, View1<const id_t, Space> users,
                          View2<const id_t, Space> candidates, View2<T, Space> scores) {
                   s.score(space, users, candidates, scores);
                 };

// Optional: scores(b, i) for every item i in 0..num_items (column 0, the padding item, is ignored). Full
// ranking uses it when present and falls back to score() over all items otherwise.
template <class S, class Space, class T>
concept FullScorer = ExecutionSpace<Space> && requires(S& s, const Space& space, View1<const id_t, Space> users,
                                                        View2<T, Space> scores) {
  s.score_all(space, users, scores);
};

namespace detail {
template <class S>
struct scorer_scalar {
  using type = float;
};
template <class S>
  requires requires { typename S::scalar_type; }
struct scorer_scalar<S> {
  using type = typename S::scalar_type;
};
}  // namespace detail

// The scalar the evaluators score in: S::scalar_type when the scorer declares one, else float.
template <class S>
using scorer_scalar_t = typename detail::scorer_scalar<std::remove_cvref_t<S>>::type;

// static_assert helpers: the first failing line says what the scorer lacks.
template <class S, class Space, class T = scorer_scalar_t<S>>
constexpr bool check_scorer() {
  static_assert(Scorer<std::remove_reference_t<S>, Space, T>,
                "seqrec::eval: a scorer needs a member function `score(space, users, candidates, scores)` callable "
                "with (const Space&, View1<const id_t, Space> user ids [B], View2<const id_t, Space> candidate "
                "items [B x C], View2<T, Space> scores [B x C]) that writes scores(b, j) for candidates(b, j); "
                "T is the scorer's `scalar_type` (float when it declares none)");
  return true;
}

template <class S, class Space, class T = scorer_scalar_t<S>>
constexpr bool check_full_scorer() {
  static_assert(FullScorer<std::remove_reference_t<S>, Space, T>,
                "seqrec::eval: a full-ranking scorer needs a member function `score_all(space, users, scores)` "
                "callable with (const Space&, View1<const id_t, Space> user ids [B], View2<T, Space> scores "
                "[B x num_items+1]) that writes scores(b, i) for every item i");
  return true;
}

// ------------------------------------------------------------------------------------ ranking

namespace detail {
// ranks(offset + b) = rank of column 0 of scores(b, :) by the tie rule of metrics.hpp; counts NaN truths.
template <class T, ExecutionSpace Space>
void rank_sampled_batch(const Space& space,
                        Kokkos::View<const T**, Kokkos::LayoutRight, typename Space::memory_space> scores,
                        View1<index_t, Space> ranks, index_t offset, View1<index_t, Space> nan_count) {
  using member_type = typename Kokkos::TeamPolicy<Space>::member_type;
  const index_t cols = static_cast<index_t>(scores.extent(1));
  Kokkos::parallel_for(
      "seqrec::eval::sampled::rank", team_policy(space, static_cast<index_t>(scores.extent(0)), 32),
      KOKKOS_LAMBDA(const member_type& m) {
        const index_t b = m.league_rank();
        const T truth = scores(b, 0);
        index_t rank = 0;
        Kokkos::parallel_reduce(
            Kokkos::TeamThreadRange(m, index_t(1), cols),
            [&](index_t j, index_t& acc) { acc += counts_against(scores(b, j), truth) ? 1 : 0; }, rank);
        Kokkos::single(Kokkos::PerTeam(m), [&]() {
          ranks(offset + b) = rank;
          if (!(truth == truth)) Kokkos::atomic_add(&nan_count(0), index_t(1));
        });
      });
}
}  // namespace detail

// Ranks every user of a SampledCandidates with a Scorer, in batches through buffers allocated once. Keep
// one per model and candidate set to evaluate every epoch without allocating.
template <Scalar T, ExecutionSpace Space>
class SampledEvaluator {
 public:
  using scalar_type = T;
  using execution_space = Space;
  using memory_space = typename Space::memory_space;

  SampledEvaluator(const Space& space, index_t num_candidates, index_t batch_size = 256)
      : num_candidates_(num_candidates), batch_size_(batch_size) {
    SEQREC_REQUIRE(num_candidates >= 1, "SampledEvaluator: num_candidates must be >= 1, got ", num_candidates);
    SEQREC_REQUIRE(batch_size >= 1, "SampledEvaluator: batch_size must be >= 1, got ", batch_size);
    scores_ = make_uninitialized<View2<T, Space>>(space, "eval::SampledEvaluator::scores", batch_size,
                                                  num_candidates);
    nan_count_ = make_zeros<View1<index_t, Space>>(space, "eval::SampledEvaluator::nan_count", 1);
  }

  template <class S>
  MetricSet evaluate(const Space& space, S&& scorer, const SampledCandidates<Space>& candidates,
                     const std::vector<int>& ks = {1, 5, 10}) {
    check_scorer<S, Space, T>();
    SEQREC_REQUIRE_EQ(candidates.num_candidates(), num_candidates_, "SampledEvaluator: candidates per user");
    const auto cuts = detail::normalize_cutoffs(ks);
    const index_t n = candidates.size();
    if (static_cast<index_t>(ranks_.extent(0)) != n)
      ranks_ = make_uninitialized<View1<index_t, Space>>(space, "eval::SampledEvaluator::ranks", n);
    Kokkos::deep_copy(space, nan_count_, index_t(0));
    for (index_t b0 = 0; b0 < n; b0 += batch_size_) {
      const auto rows = Kokkos::make_pair(b0, std::min(n, b0 + batch_size_));
      const View1<const id_t, Space> users = Kokkos::subview(candidates.users.users, rows);
      const View2<const id_t, Space> items = Kokkos::subview(candidates.items, rows, Kokkos::ALL);
      const View2<T, Space> scores =
          Kokkos::subview(scores_, Kokkos::make_pair(index_t(0), rows.second - rows.first), Kokkos::ALL);
      scorer.score(space, users, items, scores);
      detail::rank_sampled_batch<T>(space, scores, ranks_, b0, nan_count_);
    }
    MetricSet m = metrics_from_ranks(space, View1<const index_t, Space>(ranks_), num_candidates_, cuts);
    m.protocol = "sampled";
    m.nan_scores = to_host(nan_count_)(0);
    m.candidates = num_candidates_;
    m.candidate_seed = candidates.seed;
    m.eligible_users = candidates.users.eligible;
    m.user_sample = candidates.users.sampled;
    m.user_seed = candidates.users.seed;
    return m;
  }

  // Ranks of the last evaluate(), one per evaluated user in the candidates' order.
  View1<index_t, Space> ranks() const { return ranks_; }
  index_t batch_size() const { return batch_size_; }
  index_t num_candidates() const { return num_candidates_; }

 private:
  index_t num_candidates_;
  index_t batch_size_;
  View2<T, Space> scores_;
  View1<index_t, Space> ranks_;
  View1<index_t, Space> nan_count_;
};

// One-shot sampled evaluation. T defaults to the scorer's scalar_type (float when it declares none).
template <ExecutionSpace Space, class S, Scalar T = scorer_scalar_t<S>>
MetricSet evaluate_sampled(const Space& space, S&& scorer, const SampledCandidates<Space>& candidates,
                           index_t batch_size = 256, const std::vector<int>& ks = {1, 5, 10}) {
  check_scorer<S, Space, T>();
  SampledEvaluator<T, Space> evaluator(space, candidates.num_candidates(), batch_size);
  return evaluator.evaluate(space, scorer, candidates, ks);
}

}  // namespace seqrec::eval
