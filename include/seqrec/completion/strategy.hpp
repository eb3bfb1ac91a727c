// The CompletionStrategy concept: what every strategy of seqrec::completion offers, so strategies swap by
// template argument (mlpack's CFType<DecompositionPolicy> idea, without its virtual layers), and the generic
// top-K recommendation over any of them.
//
//   fit(space, const data::Interactions& train)           learn from the training interactions
//   score(space, users [B], candidates [B x C], scores)     eval::Scorer (the sampled protocol)
//   score_all(space, users [B], scores [B x num_items+1])   eval::FullScorer (full ranking)
//   num_items()
//
// Every strategy declares scalar_type / execution_space / memory_space and documents how it scores a user
// it saw no interaction of (factor models: the zero vector, so only biases remain; neighbourhood models: 0).
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/data/interactions.hpp>
#include <seqrec/eval/full.hpp>
#include <seqrec/eval/sampled.hpp>

#include <Kokkos_Core.hpp>

#include <concepts>

namespace seqrec::completion {

template <class C>
concept CompletionStrategy = Component<C> &&
    requires(C& c, const C& cc, const typename C::execution_space& space, const data::Interactions& x,
             View1<const id_t, typename C::execution_space> users,
             View2<const id_t, typename C::execution_space> candidates,
             View2<typename C::scalar_type, typename C::execution_space> scores) {
  c.fit(space, x);
  cc.score(space, users, candidates, scores);
  cc.score_all(space, users, scores);
  { cc.num_items() } -> std::convertible_to<index_t>;
};

// static_assert helper: the first failing line names what the strategy lacks.
template <class C>
constexpr bool check_completion_strategy() {
  check_component<C>();
  using Space = typename C::execution_space;
  using T = typename C::scalar_type;
  static_assert(
      requires(C & c, const Space& space, const data::Interactions& x) { c.fit(space, x); },
      "seqrec::completion: a strategy needs `fit(const Space&, const data::Interactions& train)`");
  static_assert(eval::Scorer<const C, Space, T>,
                "seqrec::completion: a strategy needs a const `score(space, users [B], candidates [B x C], scores [B x "
                "C])` (the eval::Scorer of the sampled protocol)");
  static_assert(eval::FullScorer<const C, Space, T>,
                "seqrec::completion: a strategy needs a const `score_all(space, users [B], scores [B x num_items+1])` "
                "(the eval::FullScorer of full ranking)");
  static_assert(
      requires(const C& c) {
        { c.num_items() } -> std::convertible_to<index_t>;
      },
      "seqrec::completion: a strategy needs `index_t num_items() const`");
  return true;
}

// Top-k items for each of `users` by any scorer, excluding each user's `seen` items (e.g. the training
// history): [B x k] item ids, best first, 0-padded when fewer than k are left. Ties go to the smaller id.
template <class S, ExecutionSpace Space, Scalar T = eval::scorer_scalar_t<S>>
View2<id_t, Space> top_k(const Space& space, S&& scorer, View1<const id_t, Space> users,
                         const eval::History<Space>& seen, index_t k, index_t batch_size = 256) {
  eval::FullEvaluator<T, Space> ranker(space, seen.num_items(), batch_size, k);
  ranker.recommend(space, scorer, users, seen);
  return ranker.top_items();
}

}  // namespace seqrec::completion
