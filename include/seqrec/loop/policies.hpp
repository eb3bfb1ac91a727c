// Exploration policies of the feedback loop: which K items a user is shown, given the model's scores.
//
// A policy is a plain, trivially copyable struct (no virtual: it runs inside a kernel) that maps one score to
// a ranking key:
//
//   T key(T score, id_t user, id_t item, index_t exposures, const PolicyRound& round) const
//
// The shown list is then the top-K keys over the items the user has not seen (eval::FullEvaluator's device
// top-K, which excludes the history), so no policy can show a seen item. Keys depend only on (seed, round, user,
// item), drawn from counter-based streams: a run reproduces on any thread count and batch size.
//
//   Greedy          key = score
//   EpsilonGreedy   per slot: each of the K slots is, independently with probability epsilon, an unseen item drawn
//                   uniformly among those not already in the list, else the next greedy item. A slate policy
//                   (below): the number of greedy slots G ~ Binomial(K, 1 - epsilon) per user and round; the list
//                   is the greedy top-G, then K - G items drawn without replacement from the other unseen items.
//   Thompson        key = score + scale * N(0, 1) / sqrt(1 + exposures): a Gaussian posterior sample whose
//                   spread shrinks as the item is shown more (the uncertainty estimate of an item never shown
//                   is largest).
//   Ucb             key = score + c * sqrt(log(t) / (1 + exposures)), t = items shown so far + 1 (UCB1's bonus).
//
// `exposures` is how many times the item has been shown so far (to anyone), kept by the simulator.
//
// A slate policy also has
//
//   index_t greedy_slots(id_t user, index_t k, const PolicyRound& round) const
//
// and its key() is a random key in [0, 1): PolicyScorer first takes the greedy top-K of the user's unseen items
// from the model's scores, then ranks the first greedy_slots of them above every key (in greedy order) and the
// other items by key. So the shown list is the greedy head followed by the random slots, and since the top
// `K - head` keys of i.i.d. uniforms are a uniform draw without replacement, each random slot is uniform over the
// unseen items not already in the list. (The random slots are filled after the greedy ones: a random draw never
// takes a greedy slot's item. The shown order is head first; positions carry no meaning in the simulator.)
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/math.hpp>
#include <seqrec/core/random.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/eval/full.hpp>
#include <seqrec/eval/sampled.hpp>

#include <Kokkos_Core.hpp>

#include <cmath>
#include <concepts>
#include <cstdint>
#include <limits>
#include <string_view>
#include <type_traits>

namespace seqrec::loop {

// What a policy may read about the round, captured into the kernel.
struct PolicyRound {
  RandomStream stream;  // fresh per round: RandomSource(seed).stream(round)
  double log_t = 0.0;   // log(total items shown before this round + 1), for UCB
  index_t num_items = 0;
};

template <class P>
concept SlatePolicy = requires(const P& p, id_t u, index_t k, const PolicyRound& r) {
  { p.greedy_slots(u, k, r) } -> std::convertible_to<index_t>;
};

template <class P, class T>
concept ExplorationPolicy = std::is_trivially_copyable_v<P> &&
    requires(const P& p, T s, id_t u, id_t i, index_t n, const PolicyRound& r) {
  { p.template key<T>(s, u, i, n, r) } -> std::convertible_to<T>;
  { P::name() } -> std::convertible_to<std::string_view>;
};

struct Greedy {
  static constexpr std::string_view name() { return "greedy"; }
  template <class T>
  KOKKOS_INLINE_FUNCTION T key(T score, id_t, id_t, index_t, const PolicyRound&) const {
    return score;
  }
};

struct EpsilonGreedy {
  double epsilon = 0.1;
  static constexpr std::string_view name() { return "epsilon"; }
  // One coin per slot; counter user * kMaxTopK + slot, so a shorter list's coins are a longer one's first ones.
  KOKKOS_INLINE_FUNCTION index_t greedy_slots(id_t user, index_t k, const PolicyRound& r) const {
    const RandomStream coins(r.stream.key(), 0x736c6f74ull);  // "slot"
    index_t greedy = 0;
    for (index_t j = 0; j < k; ++j)
      greedy += coins.uniform<double>(static_cast<std::uint64_t>(user) * std::uint64_t(eval::kMaxTopK) +
                                      static_cast<std::uint64_t>(j)) < epsilon
                    ? 0
                    : 1;
    return greedy;
  }
  // The random slots' key of (user, item), uniform in [0, 1); the coins use another stream.
  template <class T>
  KOKKOS_INLINE_FUNCTION T key(T, id_t user, id_t item, index_t, const PolicyRound& r) const {
    const RandomStream items(r.stream.key(), 0x65707369ull);  // "epsi"
    return items.uniform<T>(static_cast<std::uint64_t>(user) * static_cast<std::uint64_t>(r.num_items + 1) +
                            static_cast<std::uint64_t>(item));
  }
};

struct Thompson {
  double scale = 0.1;
  static constexpr std::string_view name() { return "thompson"; }
  template <class T>
  KOKKOS_INLINE_FUNCTION T key(T score, id_t user, id_t item, index_t exposures, const PolicyRound& r) const {
    const T z = r.stream.normal<T>(static_cast<std::uint64_t>(user) * static_cast<std::uint64_t>(r.num_items + 1) +
                                   static_cast<std::uint64_t>(item));
    return score + static_cast<T>(scale) * z / math::sqrt(T(1) + static_cast<T>(exposures));
  }
};

struct Ucb {
  double c = 0.1;
  static constexpr std::string_view name() { return "ucb"; }
  template <class T>
  KOKKOS_INLINE_FUNCTION T key(T score, id_t, id_t, index_t exposures, const PolicyRound& r) const {
    return score + static_cast<T>(c) * math::sqrt(static_cast<T>(r.log_t) / (T(1) + static_cast<T>(exposures)));
  }
};

template <class P, class T>
constexpr bool check_exploration_policy() {
  static_assert(std::is_trivially_copyable_v<P>,
                "seqrec::loop: a policy must be trivially copyable (it is captured into a kernel)");
  static_assert(
      requires(const P& p, T s, id_t u, id_t i, index_t n, const PolicyRound& r) {
        { p.template key<T>(s, u, i, n, r) } -> std::convertible_to<T>;
      },
      "seqrec::loop: a policy needs `template <class T> T key(T score, id_t user, id_t item, index_t exposures, "
      "const PolicyRound&) const` (KOKKOS_INLINE_FUNCTION)");
  static_assert(
      requires {
        { P::name() } -> std::convertible_to<std::string_view>;
      },
      "seqrec::loop: a policy needs `static std::string_view name()`");
  return true;
}

namespace detail {

// scores(b, i) = policy key of (users(b), i) for i >= 1; column 0 (padding) is left alone.
template <class T, ExecutionSpace Space, class Policy>
struct ApplyPolicy {
  Policy policy;
  PolicyRound round;
  View1<const id_t, Space> users;
  View1<const index_t, Space> exposures;  // [num_items + 1]
  View2<T, Space> scores;

  KOKKOS_INLINE_FUNCTION void operator()(index_t b, index_t i) const {
    if (i == 0) return;
    scores(b, i) = policy.template key<T>(scores(b, i), users(b), static_cast<id_t>(i), exposures(i), round);
  }
};

// scores(b, j) = policy key of (users(b), candidates(b, j)).
template <class T, ExecutionSpace Space, class Policy>
struct ApplyPolicyCandidates {
  Policy policy;
  PolicyRound round;
  View1<const id_t, Space> users;
  View2<const id_t, Space> candidates;
  View1<const index_t, Space> exposures;
  View2<T, Space> scores;

  KOKKOS_INLINE_FUNCTION void operator()(index_t b, index_t j) const {
    const id_t i = candidates(b, j);
    scores(b, j) = policy.template key<T>(scores(b, j), users(b), i, exposures(i), round);
  }
};

// A slate policy's greedy head: of row b's greedy list head(b, :) (best first, 0-padded), the first
// greedy_slots get keys 2 + k - r, above the random keys in [0, 1) and in greedy order.
template <class T, ExecutionSpace Space, class Policy>
struct SlateHead {
  Policy policy;
  PolicyRound round;
  View1<const id_t, Space> users;
  View2<const id_t, Space> head;
  View2<T, Space> scores;

  KOKKOS_INLINE_FUNCTION void operator()(index_t b) const {
    const index_t k = static_cast<index_t>(head.extent(1));
    const index_t greedy = policy.greedy_slots(users(b), k, round);
    for (index_t r = 0; r < greedy; ++r) {
      const id_t i = head(b, r);
      if (i > 0) scores(b, i) = T(2) + static_cast<T>(k - r);
    }
  }
};

}  // namespace detail

// Applies a policy's per-item keys to score rows [B x num_items+1] of `users`, in place. (A slate policy's keys
// are only its random part: PolicyScorer adds the greedy head.)
template <Scalar T, ExecutionSpace Space, class Policy>
void apply_policy(const Space& space, const Policy& policy, const PolicyRound& round, View1<const id_t, Space> users,
                  View1<const index_t, Space> exposures, View2<T, Space> scores) {
  static_assert(check_exploration_policy<Policy, T>());
  SEQREC_REQUIRE(static_cast<index_t>(exposures.extent(0)) >= static_cast<index_t>(scores.extent(1)),
                 "apply_policy: exposures has ", exposures.extent(0), " entries, the score rows ", scores.extent(1));
  const index_t rows = static_cast<index_t>(users.extent(0)), cols = static_cast<index_t>(scores.extent(1));
  if (rows == 0) return;
  Kokkos::parallel_for("seqrec::loop::apply_policy",
                       Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {0, 0}, {rows, cols}),
                       detail::ApplyPolicy<T, Space, Policy>{policy, round, users, exposures, scores});
}

// A full scorer whose rows are the policy's keys over another full scorer's scores: hand it to eval's top-K.
// A slate policy also needs the history (its greedy head is the top-k of the unseen items) and buffers
// head_items/head_scores of at least [B x k] (PolicyRanker provides them).
template <class Model, class Policy>
struct PolicyScorer {
  using scalar_type = typename Model::scalar_type;
  using execution_space = typename Model::execution_space;
  using memory_space = typename execution_space::memory_space;

  const Model* model;
  Policy policy;
  PolicyRound round;
  View1<const index_t, execution_space> exposures;
  const eval::History<execution_space>* history = nullptr;  // slate policies only
  View2<id_t, execution_space> head_items;
  View2<scalar_type, execution_space> head_scores;

  void score_all(const execution_space& space, View1<const id_t, execution_space> users,
                 View2<scalar_type, execution_space> scores) const {
    model->score_all(space, users, scores);
    if constexpr (SlatePolicy<Policy>) {
      using T = scalar_type;
      const index_t rows = static_cast<index_t>(users.extent(0));
      SEQREC_REQUIRE(history != nullptr && static_cast<index_t>(head_items.extent(0)) >= rows &&
                         head_scores.extent(0) == head_items.extent(0) && head_scores.extent(1) == head_items.extent(1),
                     "PolicyScorer: a slate policy (", Policy::name(),
                     ") needs the history and head buffers of at least [", rows, " x k]");
      if (rows == 0) return;
      // The greedy top-k of the unseen items, from the scores before they become keys.
      const auto r = Kokkos::make_pair(index_t(0), rows);
      const View2<id_t, execution_space> head = Kokkos::subview(head_items, r, Kokkos::ALL);
      eval::detail::rank_full_batch<T>(space, scores, users, View1<const id_t, execution_space>(), *history,
                                       View1<index_t, execution_space>(), head,
                                       View2<T, execution_space>(Kokkos::subview(head_scores, r, Kokkos::ALL)),
                                       View1<index_t, execution_space>(), -std::numeric_limits<T>::infinity(), 0);
      apply_policy<T>(space, policy, round, users, exposures, scores);
      Kokkos::parallel_for("seqrec::loop::slate_head", Kokkos::RangePolicy<execution_space>(space, 0, rows),
                           detail::SlateHead<T, execution_space, Policy>{
                               policy, round, users, View2<const id_t, execution_space>(head), scores});
    } else {
      apply_policy<scalar_type>(space, policy, round, users, exposures, scores);
    }
  }

  // The same keys over candidate lists (eval's sampled protocol); needs a model with score() and a policy
  // with per-item keys (a slate policy's head needs the full ranking).
  void score(const execution_space& space, View1<const id_t, execution_space> users,
             View2<const id_t, execution_space> candidates, View2<scalar_type, execution_space> scores) const {
    if constexpr (SlatePolicy<Policy>) {
      SEQREC_THROW(Errc::invalid_argument, "PolicyScorer::score: ", Policy::name(),
                   " is a slate policy (greedy head + random slots): it needs full rankings, use score_all");
    } else if constexpr (requires { model->score(space, users, candidates, scores); }) {
      model->score(space, users, candidates, scores);
      const index_t rows = static_cast<index_t>(candidates.extent(0)),
                    cols = static_cast<index_t>(candidates.extent(1));
      if (rows == 0 || cols == 0) return;
      Kokkos::parallel_for("seqrec::loop::apply_policy_candidates",
                           Kokkos::MDRangePolicy<execution_space, Kokkos::Rank<2>>(space, {0, 0}, {rows, cols}),
                           detail::ApplyPolicyCandidates<scalar_type, execution_space, Policy>{
                               policy, round, users, candidates, exposures, scores});
    } else {
      SEQREC_THROW(Errc::invalid_argument,
                   "PolicyScorer::score: the model has no score(space, users, candidates, "
                   "scores); use score_all");
    }
  }
};

// Top-K lists shown to `users` [B x k] (0-padded when fewer than k unseen items remain), the history
// excluded; buffers of the ranker reused across rounds.
template <Scalar T, ExecutionSpace Space>
class PolicyRanker {
 public:
  PolicyRanker(const Space& space, index_t num_items, index_t k, index_t batch_size = 256)
      : ranker_(space, num_items, batch_size, k) {}

  template <class Model, class Policy>
  View2<id_t, Space> recommend(const Space& space, const Model& model, const Policy& policy, const PolicyRound& round,
                               View1<const index_t, Space> exposures, View1<const id_t, Space> users,
                               const eval::History<Space>& seen) {
    PolicyScorer<Model, Policy> scorer{&model, policy, round, exposures, nullptr, {}, {}};
    if constexpr (SlatePolicy<Policy>) {
      if (head_items_.extent(0) == 0) {
        head_items_ =
            make_uninitialized<View2<id_t, Space>>(space, "loop::PolicyRanker::head_items", ranker_.batch_size(), k());
        head_scores_ =
            make_uninitialized<View2<T, Space>>(space, "loop::PolicyRanker::head_scores", ranker_.batch_size(), k());
      }
      scorer.history = &seen;
      scorer.head_items = head_items_;
      scorer.head_scores = head_scores_;
    }
    ranker_.recommend(space, scorer, users, seen);
    return ranker_.top_items();
  }

  // The keys of the last lists (top_items' order): scores for Greedy; for a slate policy, keys above 2 mark the
  // greedy head and keys in [0, 1) the random slots.
  View2<T, Space> top_keys() const { return ranker_.top_scores(); }
  index_t num_items() const { return ranker_.num_items(); }
  index_t k() const { return ranker_.top_k(); }

 private:
  eval::FullEvaluator<T, Space> ranker_;
  View2<id_t, Space> head_items_;  // slate policies: each batch row's greedy top-k
  View2<T, Space> head_scores_;
};

}  // namespace seqrec::loop
