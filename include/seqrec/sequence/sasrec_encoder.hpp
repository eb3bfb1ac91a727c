// The SASRec encoder (Kang & McAuley, 2018): scaled item embedding + learned positions, dropout, a stack
// of causal self-attention blocks and a final layer norm. Items come from a shared Embedding that the
// output head reuses, so the encoder takes it as an argument rather than owning it.
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/math.hpp>
#include <seqrec/core/parameter.hpp>
#include <seqrec/core/random.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/sequence/dropout.hpp>
#include <seqrec/sequence/embedding.hpp>
#include <seqrec/sequence/layer_norm.hpp>
#include <seqrec/sequence/positional.hpp>
#include <seqrec/sequence/row_map.hpp>
#include <seqrec/sequence/self_attention.hpp>

#include <Kokkos_Core.hpp>

#include <cmath>
#include <string>
#include <vector>

namespace seqrec::sequence {

struct SelfAttentionConfig {
  index_t maxlen = 50;
  index_t blocks = 2;
  index_t heads = 1;
  double dropout = 0.5;
  index_t ffn_hidden = 0;  // 0: same as the embedding dimension
};

template <Scalar T, ExecutionSpace Space>
class SelfAttentionEncoder {
 public:
  using scalar_type = T;
  using execution_space = Space;
  using memory_space = typename Space::memory_space;
  using rows_type = View2<T, Space>;
  using const_rows_type = typename rows_type::const_type;
  using ids_type = Kokkos::View<const id_t**, Kokkos::LayoutRight, memory_space>;
  using block_type = SelfAttentionBlock<T, Space>;

  struct Workspace {
    mutable RowMap<Space> map;  // rebuilt by every forward from the batch's ids
    rows_type out;              // final states of the real positions
    std::vector<rows_type> x;   // x[0]: embedded input, x[i+1]: output of block i (real positions only)
    std::vector<typename block_type::Workspace> blocks;
    typename LayerNorm<T, Space>::stats_type final_stats;
    rows_type grad_a, grad_b;
    index_t batch = 0, len = 0;
  };

  SelfAttentionEncoder() = default;
  SelfAttentionEncoder(const Space& space, ParameterSet<T, Space>& params, index_t dim, SelfAttentionConfig config)
      : config_(config),
        pos_(space, params, "sasrec.positions", config.maxlen, dim),
        drop_(T(config.dropout)),
        final_ln_(space, params, "sasrec.final_ln", dim) {
    SEQREC_REQUIRE(config.blocks > 0, "SASRec needs at least one block, got ", config.blocks);
    for (index_t i = 0; i < config.blocks; ++i)
      blocks_.emplace_back(space, params, "sasrec.block" + std::to_string(i), dim, config.heads, T(config.dropout),
                           config.ffn_hidden);
  }

  index_t dim() const { return pos_.dim(); }
  index_t maxlen() const { return config_.maxlen; }
  const SelfAttentionConfig& config() const { return config_; }

  void init(const Space& space, RandomSource& rng) const {
    pos_.init_normal(space, rng.next(), T(1) / math::sqrt(T(dim())));
    for (const auto& b : blocks_) b.init_xavier(space, rng);
  }

  Workspace make_workspace(const Space& space, index_t batch) const {
    Workspace ws;
    const index_t rows = batch * maxlen();
    for (index_t i = 0; i <= index_t(blocks_.size()); ++i)
      ws.x.push_back(make_uninitialized<rows_type>(space, "SASRec::x", rows, dim()));
    for (const auto& b : blocks_) ws.blocks.push_back(b.make_workspace(space, batch, maxlen()));
    ws.final_stats = final_ln_.make_stats(space, rows);
    ws.map = RowMap<Space>(space, batch, maxlen());
    ws.out = make_uninitialized<rows_type>(space, "SASRec::out", rows, dim());
    ws.grad_a = make_uninitialized<rows_type>(space, "SASRec::grad_a", rows, dim());
    ws.grad_b = make_uninitialized<rows_type>(space, "SASRec::grad_b", rows, dim());
    ws.batch = batch;
    ws.len = maxlen();
    return ws;
  }

  // hidden [batch*maxlen, dim]: the representation after each position (row b*maxlen + t; zero at padding).
  // Internally only the real positions are computed (RowMap).
  void forward(const Space& space, ids_type ids, const Embedding<T, Space>& items, rows_type hidden,
               const Workspace& ws, bool train, RandomStream step) const {
    check(ids, hidden, ws);
    const index_t n = ws.map.build(space, ids), d = dim();
    const auto row_of = ws.map.row_of;
    const auto x0 = first_rows(ws.x[0], n);
    items.forward_rows(space, Kokkos::subview(ws.map.ids, std::make_pair(index_t(0), n)), x0, math::sqrt(T(d)));
    pos_.forward_rows(space, Kokkos::subview(ws.map.position, std::make_pair(index_t(0), n)), x0);
    if (train) drop_.forward(space, x0, x0, stream(step, 0));
    for (std::size_t i = 0; i < blocks_.size(); ++i)
      blocks_[i].forward(space, row_of, first_rows(ws.x[i], n), first_rows(ws.x[i + 1], n), ws.blocks[i], train,
                         block_streams(step, i));
    const auto out = first_rows(ws.out, n);
    final_ln_.forward(space, first_rows(ws.x.back(), n), out, ws.final_stats);
    // Scatter the real rows into the padded layout the heads read.
    Kokkos::deep_copy(space, hidden, T(0));
    const auto source = ws.map.source;
    Kokkos::parallel_for(
        "seqrec::SASRec::scatter", Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {0, 0}, {n, d}),
        KOKKOS_LAMBDA(index_t r, index_t k) { hidden(source(r), k) = out(r, k); });
  }

  // Accumulates gradients of every parameter, the shared item embedding's included, from d hidden. Uses
  // the row map of the preceding forward on the same ids.
  void backward(const Space& space, ids_type ids, const Embedding<T, Space>& items, const_rows_type dhidden,
                const Workspace& ws, bool train, RandomStream step) const {
    check(ids, dhidden, ws);
    const index_t n = ws.map.rows, d = dim();
    const auto row_of = ws.map.row_of;
    const auto source = ws.map.source;
    const auto dout = first_rows(ws.out, n);  // forward's output is no longer needed
    Kokkos::parallel_for(
        "seqrec::SASRec::gather", Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {0, 0}, {n, d}),
        KOKKOS_LAMBDA(index_t r, index_t k) { dout(r, k) = dhidden(source(r), k); });
    rows_type g = first_rows(ws.grad_a, n), other = first_rows(ws.grad_b, n);
    final_ln_.backward(space, first_rows(ws.x.back(), n), dout, g, ws.final_stats);
    for (std::size_t i = blocks_.size(); i-- > 0;) {
      blocks_[i].backward(space, row_of, first_rows(ws.x[i], n), g, other, ws.blocks[i], train, block_streams(step, i));
      std::swap(g, other);
    }
    if (train) drop_.backward(space, g, g, stream(step, 0));
    pos_.backward_rows(space, row_of, g);
    items.backward_rows(space, Kokkos::subview(ws.map.ids, std::make_pair(index_t(0), n)), g, math::sqrt(T(d)));
  }

 private:
  // Independent dropout streams per step and per use, derived from the step's stream.
  static RandomStream stream(RandomStream step, std::uint64_t k) { return RandomStream(step.key(), k); }
  static typename block_type::Streams block_streams(RandomStream step, std::size_t i) {
    return {stream(step, 3 * i + 1), stream(step, 3 * i + 2), stream(step, 3 * i + 3)};
  }
  template <class H>
  void check(const ids_type& ids, const H& hidden, const Workspace& ws) const {
    SEQREC_REQUIRE_EQ(index_t(ids.extent(1)), maxlen(), "SASRec window length");
    SEQREC_REQUIRE(ws.batch == index_t(ids.extent(0)), "SASRec: workspace made for batch ", ws.batch, ", got ",
                   ids.extent(0));
    SEQREC_REQUIRE_SHAPE(hidden, "SASRec hidden", index_t(ids.extent(0)) * maxlen(), dim());
  }

  SelfAttentionConfig config_;
  PositionalEmbedding<T, Space> pos_;
  Dropout<T, Space> drop_;
  std::vector<block_type> blocks_;
  LayerNorm<T, Space> final_ln_;
};

}  // namespace seqrec::sequence
