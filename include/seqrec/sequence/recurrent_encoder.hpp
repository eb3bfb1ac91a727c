// Recurrent sequence encoders (GRU4Rec-style with Gru, or Lstm): item embedding, dropout, a stack of
// recurrent layers, dropout. Same interface as SelfAttentionEncoder, so a recommender swaps one for the
// other with a template argument.
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/parameter.hpp>
#include <seqrec/core/random.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/sequence/dropout.hpp>
#include <seqrec/sequence/embedding.hpp>
#include <seqrec/sequence/encoder.hpp>

#include <Kokkos_Core.hpp>

#include <string>
#include <vector>

namespace seqrec::sequence {

struct RecurrentConfig {
  index_t maxlen = 50;
  index_t layers = 1;
  double dropout = 0.2;
};

// Layer: Gru<T, Space> or Lstm<T, Space> (any sequence::RecurrentLayer, sequence/encoder.hpp).
template <class Layer>
class RecurrentEncoder {
  static_assert(check_recurrent_layer<Layer>());

 public:
  using scalar_type = typename Layer::scalar_type;
  using execution_space = typename Layer::execution_space;
  using memory_space = typename execution_space::memory_space;
  using T = scalar_type;
  using Space = execution_space;
  using rows_type = View2<T, Space>;
  using const_rows_type = typename rows_type::const_type;
  using ids_type = Kokkos::View<const id_t**, Kokkos::LayoutRight, memory_space>;

  struct Workspace {
    std::vector<rows_type> x;  // x[0]: embedded input; x[i+1]: output of layer i (the last one is dropped into hidden)
    std::vector<typename Layer::Workspace> layers;
    rows_type grad_a, grad_b;
    index_t batch = 0, len = 0;
  };

  RecurrentEncoder() = default;
  RecurrentEncoder(const Space& space, ParameterSet<T, Space>& params, index_t dim, RecurrentConfig config,
                   const std::string& name = "rnn")
      : config_(config), drop_(T(config.dropout)), dim_(dim) {
    SEQREC_REQUIRE(config.layers > 0, "a recurrent encoder needs at least one layer, got ", config.layers);
    for (index_t i = 0; i < config.layers; ++i)
      layers_.emplace_back(space, params, name + ".layer" + std::to_string(i), dim, dim);
  }

  index_t dim() const { return dim_; }
  index_t maxlen() const { return config_.maxlen; }

  void init(const Space& space, RandomSource& rng) const {
    for (const auto& l : layers_) l.init(space, rng);
  }

  Workspace make_workspace(const Space& space, index_t batch) const {
    Workspace ws;
    const index_t rows = batch * maxlen();
    for (std::size_t i = 0; i < layers_.size(); ++i)
      ws.x.push_back(make_uninitialized<rows_type>(space, "Recurrent::x", rows, dim_));
    for (const auto& l : layers_) ws.layers.push_back(l.make_workspace(space, batch, maxlen()));
    ws.grad_a = make_uninitialized<rows_type>(space, "Recurrent::grad_a", rows, dim_);
    ws.grad_b = make_uninitialized<rows_type>(space, "Recurrent::grad_b", rows, dim_);
    ws.batch = batch;
    ws.len = maxlen();
    return ws;
  }

  void forward(const Space& space, ids_type ids, const Embedding<T, Space>& items, rows_type hidden,
               const Workspace& ws, bool train, RandomStream step) const {
    check(ids, hidden, ws);
    const index_t batch = ids.extent(0), len = ids.extent(1);
    items.forward(space, ids, View3<T, Space>(ws.x[0].data(), batch, len, dim_), T(1));
    if (train) drop_.forward(space, ws.x[0], ws.x[0], RandomStream(step.key(), 0));
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      rows_type out = i + 1 < layers_.size() ? ws.x[i + 1] : hidden;
      layers_[i].forward(space, ids, ws.x[i], out, ws.layers[i]);
    }
    if (train) drop_.forward(space, hidden, hidden, RandomStream(step.key(), 1));
  }

  // hidden must still hold forward's output (the last layer's state, after dropout).
  void backward(const Space& space, ids_type ids, const Embedding<T, Space>& items, const_rows_type dhidden,
                const Workspace& ws, bool train, RandomStream step) const {
    check(ids, dhidden, ws);
    const index_t batch = ids.extent(0), len = ids.extent(1);
    rows_type g = ws.grad_a, other = ws.grad_b;
    if (train)
      drop_.backward(space, dhidden, g, RandomStream(step.key(), 1));
    else
      Kokkos::deep_copy(space, g, dhidden);
    for (std::size_t i = layers_.size(); i-- > 0;) {
      layers_[i].backward(space, ids, ws.x[i], g, other, ws.layers[i]);
      std::swap(g, other);
    }
    if (train) drop_.backward(space, g, g, RandomStream(step.key(), 0));
    items.backward(space, ids, View3<T, Space>(g.data(), batch, len, dim_), T(1));
  }

 private:
  template <class H>
  void check(const ids_type& ids, const H& hidden, const Workspace& ws) const {
    SEQREC_REQUIRE_EQ(index_t(ids.extent(1)), maxlen(), "recurrent encoder window length");
    SEQREC_REQUIRE(ws.batch == index_t(ids.extent(0)), "recurrent encoder: workspace made for batch ", ws.batch,
                   ", got ", ids.extent(0));
    SEQREC_REQUIRE_SHAPE(hidden, "recurrent encoder hidden", index_t(ids.extent(0)) * maxlen(), dim_);
  }

  RecurrentConfig config_;
  Dropout<T, Space> drop_;
  index_t dim_ = 0;
  std::vector<Layer> layers_;
};

}  // namespace seqrec::sequence
