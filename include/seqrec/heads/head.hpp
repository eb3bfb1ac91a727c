// What a next-item head provides: scores of hidden states against candidate items (sampled candidates in
// training, the evaluation's candidates in scoring) and against the whole catalogue (full-softmax training,
// full-ranking evaluation), each with its backward pass into the hidden states and the item table.
// heads::DotProduct is the reference; a head with parameters of its own registers them in the model's
// ParameterSet from its constructor.
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/sequence/embedding.hpp>

#include <concepts>

namespace seqrec::heads {

template <class H>
concept Head = Component<H> &&
    requires(const H& h, const typename H::execution_space& space,
             View2<const typename H::scalar_type, typename H::execution_space> hidden,
             View2<const id_t, typename H::execution_space> cand,
             View2<typename H::scalar_type, typename H::execution_space> out,
             const sequence::Embedding<typename H::scalar_type, typename H::execution_space>& items) {
  h.forward(space, hidden, cand, out, items);
  h.backward(space, hidden, cand, out, out, items);
  h.forward_all(space, hidden, out, items);
  h.backward_all(space, hidden, out, out, items);
};

template <class H>
constexpr bool check_head() {
  check_component<H>();
  static_assert(Head<H>,
                "seqrec: a head needs forward(space, hidden, candidates, scores, items), backward(space, hidden, "
                "candidates, dscores, dhidden, items), forward_all(space, hidden, scores [R, N+1], items) and "
                "backward_all(space, hidden, dscores, dhidden, items) (see heads/dot_product.hpp)");
  return true;
}

}  // namespace seqrec::heads
