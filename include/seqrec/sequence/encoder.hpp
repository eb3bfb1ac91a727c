// What a sequence encoder provides (SelfAttentionEncoder, RecurrentEncoder), and what a recurrent layer provides
// to RecurrentEncoder (Gru, Lstm): the concepts of this area in one place, each with a static_assert helper that
// names the missing piece.
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/parameter.hpp>
#include <seqrec/core/random.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/sequence/embedding.hpp>

#include <concepts>
#include <string>

namespace seqrec {

template <class E>
concept SequenceEncoder = Component<E> &&
    requires(const E& e, const typename E::execution_space& space, typename E::ids_type ids,
             const sequence::Embedding<typename E::scalar_type, typename E::execution_space>& items,
             typename E::rows_type hidden, const typename E::Workspace& ws, RandomStream rs, RandomSource& rng,
             index_t n) {
  { e.make_workspace(space, n) } -> std::same_as<typename E::Workspace>;
  e.forward(space, ids, items, hidden, ws, true, rs);
  e.backward(space, ids, items, hidden, ws, true, rs);
  e.init(space, rng);
  { e.maxlen() } -> std::convertible_to<index_t>;
  { e.dim() } -> std::convertible_to<index_t>;
};

template <class E>
constexpr bool check_sequence_encoder() {
  check_component<E>();
  static_assert(SequenceEncoder<E>,
                "seqrec: a sequence encoder needs make_workspace(space, batch), forward(space, ids, items, hidden, "
                "workspace, train, stream), backward(same), init(space, rng), maxlen() and dim() "
                "(see sequence/sasrec_encoder.hpp)");
  return true;
}

namespace sequence {

// One recurrent layer over [batch * len, in] inputs: RecurrentEncoder stacks them.
template <class L>
concept RecurrentLayer = Component<L> && std::default_initializable<L> && std::constructible_from < L,
        const typename L::execution_space&, ParameterSet<typename L::scalar_type, typename L::execution_space>
&, const std::string&, index_t,
    index_t > &&requires(const L& l, const typename L::execution_space& space, typename L::ids_type ids,
                         typename L::const_rows_type x, typename L::rows_type h, const typename L::Workspace& ws,
                         RandomSource& rng, index_t n) {
  l.init(space, rng);
  { l.make_workspace(space, n, n) } -> std::same_as<typename L::Workspace>;
  l.forward(space, ids, x, h, ws);
  l.backward(space, ids, x, x, h, ws);
  { l.in() } -> std::convertible_to<index_t>;
  { l.hidden() } -> std::convertible_to<index_t>;
};

template <class L>
constexpr bool check_recurrent_layer() {
  check_component<L>();
  static_assert(RecurrentLayer<L>,
                "seqrec: a recurrent layer needs a constructor (space, params, name, in, hidden), init(space, rng), "
                "make_workspace(space, batch, len), forward(space, ids, x, h, workspace), backward(space, ids, x, dh, "
                "dx, workspace), in() and hidden() (see sequence/gru.hpp)");
  return true;
}

}  // namespace sequence
}  // namespace seqrec
