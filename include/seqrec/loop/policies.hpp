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
//   EpsilonGreedy   per user and round: with probability epsilon the whole list is K unseen items drawn
//                   uniformly (random keys), else the greedy list. (Per user, not per slot: a per-slot mix
//                   needs the greedy threshold, a second pass.)
//   Thompson        key = score + scale * N(0, 1) / sqrt(1 + exposures): a Gaussian posterior sample whose
//                   spread shrinks as the item is shown more (the uncertainty estimate of an item never shown
//                   is largest).
//   Ucb             key = score + c * sqrt(log(t) / (1 + exposures)), t = items shown so far + 1 (UCB1's bonus).
//
// `exposures` is how many times the item has been shown so far (to anyone), kept by the simulator.
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
#include <string_view>
#include <type_traits>

namespace seqrec::loop {

// What a policy may read about the round, captured into the kernel.
struct PolicyRound {
  RandomStream stream;  // fresh per round: RandomSource(seed).stream(round)
  double log_t = 0.0;   // log(total items shown before this round + 1), for UCB
  index_t num_items = 0;
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
  template <class T>
  KOKKOS_INLINE_FUNCTION T key(T score, id_t user, id_t item, index_t, const PolicyRound& r) const {
    // Counter user for the coin, a second stream for the items: the two never share a number.
    if (!(r.stream.uniform<double>(static_cast<std::uint64_t>(user)) < epsilon)) return score;
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

}  // namespace detail

// Applies a policy to score rows [B x num_items+1] of `users`, in place.
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
template <class Model, class Policy>
struct PolicyScorer {
  using scalar_type = typename Model::scalar_type;
  using execution_space = typename Model::execution_space;
  using memory_space = typename execution_space::memory_space;

  const Model* model;
  Policy policy;
  PolicyRound round;
  View1<const index_t, execution_space> exposures;

  void score_all(const execution_space& space, View1<const id_t, execution_space> users,
                 View2<scalar_type, execution_space> scores) const {
    model->score_all(space, users, scores);
    apply_policy<scalar_type>(space, policy, round, users, exposures, scores);
  }

  // The same keys over candidate lists (eval's sampled protocol); needs a model with score().
  void score(const execution_space& space, View1<const id_t, execution_space> users,
             View2<const id_t, execution_space> candidates, View2<scalar_type, execution_space> scores) const {
    if constexpr (requires { model->score(space, users, candidates, scores); }) {
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
    PolicyScorer<Model, Policy> scorer{&model, policy, round, exposures};
    ranker_.recommend(space, scorer, users, seen);
    return ranker_.top_items();
  }

  index_t num_items() const { return ranker_.num_items(); }
  index_t k() const { return ranker_.top_k(); }

 private:
  eval::FullEvaluator<T, Space> ranker_;
};

}  // namespace seqrec::loop
