// The encoder each EncoderKind names, and how --maxlen, --blocks, --heads, --layers and --dropout build it.
#pragma once

#include "options.hpp"

#include <seqrec/heads/dot_product.hpp>
#include <seqrec/losses/registry.hpp>
#include <seqrec/sequence/gru.hpp>
#include <seqrec/sequence/lstm.hpp>
#include <seqrec/sequence/recurrent_encoder.hpp>
#include <seqrec/sequence/sasrec_encoder.hpp>
#include <seqrec/sequential_recommender.hpp>

#include <Kokkos_Core.hpp>

#include <string_view>
#include <utility>

namespace seqrec::tools {

template <class T, EncoderKind E>
struct EncoderOf;

template <class T>
struct EncoderOf<T, EncoderKind::sasrec> {
  using Space = Kokkos::DefaultExecutionSpace;
  using type = sequence::SelfAttentionEncoder<T, Space>;
  static constexpr const char* name = "sasrec";
  // make(space, params, dim): what the models call to build their encoder inside their parameter set.
  static auto factory(const Options& o) {
    const sequence::SelfAttentionConfig sa{o.maxlen, o.blocks, o.heads, o.dropout, 0};
    return [sa](const Space& s, auto& params, index_t dim) { return type(s, params, dim, sa); };
  }
};

template <class T, class Layer>
struct RecurrentEncoderOf {
  using Space = Kokkos::DefaultExecutionSpace;
  using type = sequence::RecurrentEncoder<Layer>;
  static auto factory(const Options& o) {
    const sequence::RecurrentConfig rc{o.maxlen, o.layers, o.dropout};
    return [rc](const Space& s, auto& params, index_t dim) { return type(s, params, dim, rc); };
  }
};

template <class T>
struct EncoderOf<T, EncoderKind::gru4rec> : RecurrentEncoderOf<T, sequence::Gru<T, Kokkos::DefaultExecutionSpace>> {
  static constexpr const char* name = "gru4rec";
};

template <class T>
struct EncoderOf<T, EncoderKind::lstm> : RecurrentEncoderOf<T, sequence::Lstm<T, Kokkos::DefaultExecutionSpace>> {
  static constexpr const char* name = "lstm";
};

template <std::size_t... I>
constexpr bool encoder_names_match(std::index_sequence<I...>) {
  return ((std::string_view(EncoderOf<float, encoder_kinds[I].first>::name) == encoder_kinds[I].second) && ...);
}
static_assert(encoder_names_match(std::make_index_sequence<encoder_kinds.size()>{}),
              "seqrec-train: EncoderOf<T, E>::name must be what encoder_kinds (options.hpp) calls E");

// The plain model: one type per encoder and scalar whatever --loss names (the loss is chosen at run time, so
// the training loop and the evaluation are compiled once per encoder, not once per loss).
template <class T, EncoderKind E>
using PlainModel =
    SequentialRecommender<typename EncoderOf<T, E>::type, heads::DotProduct<T, Kokkos::DefaultExecutionSpace>,
                          losses::RuntimeLoss<T, Kokkos::DefaultExecutionSpace>>;

// --loss and its parameters, for a catalogue of num_items.
template <class T>
losses::RuntimeLoss<T, Kokkos::DefaultExecutionSpace> loss_from(const Options& o, index_t num_items) {
  losses::LossOptions<T, Kokkos::DefaultExecutionSpace> lo;
  lo.negatives = o.negatives_per_position();
  lo.num_items = num_items;
  lo.gbce_t = o.gbce_t;
  lo.bpr_max_lambda = o.bpr_max_lambda;
  return losses::RuntimeLoss<T, Kokkos::DefaultExecutionSpace>::make(o.loss, lo);
}

}  // namespace seqrec::tools
