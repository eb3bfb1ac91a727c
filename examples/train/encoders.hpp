// The encoder each EncoderKind names, and how --maxlen, --blocks, --heads, --layers and --dropout build it.
#pragma once

#include "options.hpp"

#include <seqrec/sequence/gru.hpp>
#include <seqrec/sequence/lstm.hpp>
#include <seqrec/sequence/recurrent_encoder.hpp>
#include <seqrec/sequence/sasrec_encoder.hpp>

#include <Kokkos_Core.hpp>

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

}  // namespace seqrec::tools
