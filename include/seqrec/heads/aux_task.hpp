// What an auxiliary task provides to MultiTaskRecommender (the protocol: heads/aux_tasks.hpp; the tasks there and in
// heads/joint_tasks.hpp are the references). Checked on the model's scalar and backend, so a task written for
// float/OpenMP is told plainly when a double/Serial model uses it.
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/parameter.hpp>
#include <seqrec/core/random.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/data/batch.hpp>
#include <seqrec/losses/combinators.hpp>
#include <seqrec/losses/loss.hpp>
#include <seqrec/sequence/embedding.hpp>

#include <concepts>

namespace seqrec::heads {

namespace detail {
template <class A>
concept aux_task_traits = requires {
  typename A::data_type;
  { A::name } -> std::convertible_to<const char*>;
  { A::kind } -> std::convertible_to<losses::TaskKind>;
  { A::has_hidden_gradient } -> std::convertible_to<bool>;
};
template <class A, class T, class Space>
concept aux_task_constructor = requires(const Space& space, ParameterSet<T, Space>& params, index_t n,
                                        const typename A::data_type& data) {
  A(space, params, n, n, data, n);  // (space, params, dim, num_items, data, rows)
};
}  // namespace detail

template <class A, class T, class Space>
concept AuxTask = Scalar<T> && ExecutionSpace<Space> && detail::aux_task_traits<A> &&
    detail::aux_task_constructor<A, T, Space> &&
    requires(A& a, const Space& space, View2<const T, Space> hidden,
             Kokkos::View<const id_t*, typename Space::memory_space> targets, const data::SequenceBatch<Space>& batch,
             const sequence::Embedding<T, Space>& items, View2<T, Space> dhidden, RandomStream rs) {
  a.init(space, rs);
  { a.forward(space, hidden, targets, batch, items, true, rs) } -> std::same_as<losses::LossValue>;
  { a.upstream() } -> KokkosView;
  a.backward(space, hidden, targets, items, dhidden, true, batch);
};

template <class A, class T, class Space>
constexpr bool check_aux_task() {
  static_assert(detail::aux_task_traits<A>,
                "seqrec: an auxiliary task needs `static constexpr const char* name`, `static constexpr "
                "losses::TaskKind kind`, `static constexpr bool has_hidden_gradient` and `using data_type` (what it "
                "learns from; see heads/aux_tasks.hpp)");
  if constexpr (detail::aux_task_traits<A>) {
    static_assert(detail::aux_task_constructor<A, T, Space>,
                  "seqrec: an auxiliary task needs a constructor (space, params, dim, num_items, const data_type&, "
                  "rows) on the model's scalar and backend");
    static_assert(!detail::aux_task_constructor<A, T, Space> || AuxTask<A, T, Space>,
                  "seqrec: an auxiliary task needs init(space, stream), forward(space, hidden, targets, batch, items, "
                  "grad, stream) -> LossValue, upstream() -> the View its loss gradient is in (the combinator scales "
                  "it) and backward(space, hidden, targets, items, dhidden, accumulate, batch)");
  }
  return true;
}

}  // namespace seqrec::heads
