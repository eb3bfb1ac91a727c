// One SASRec self-attention block over left-padded windows:
//   n1  = LN1(x)                      queries are normalised, keys and values are not
//   a   = Wo · Attention(Wq n1, Wk x, Wv x)
//   m   = n1 + a                      the residual adds to the normalised queries
//   y   = FFN(LN2(m))                 FFN carries its own residual
// Rows are the real positions only (RowMap): SASRec zeroes padding rows after every block, which is
// the same as never computing them, since attention masks padding keys.
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/parameter.hpp>
#include <seqrec/core/random.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/sequence/causal_attention.hpp>
#include <seqrec/sequence/feed_forward.hpp>
#include <seqrec/sequence/layer_norm.hpp>
#include <seqrec/sequence/linear.hpp>
#include <seqrec/sequence/row_map.hpp>

#include <Kokkos_Core.hpp>

#include <string>

namespace seqrec::sequence {

template <Scalar T, ExecutionSpace Space>
class SelfAttentionBlock {
 public:
  using scalar_type = T;
  using execution_space = Space;
  using memory_space = typename Space::memory_space;
  using rows_type = View2<T, Space>;
  using const_rows_type = typename rows_type::const_type;
  using row_map_type = typename CausalAttention<T, Space>::row_map_type;
  using stats_type = typename LayerNorm<T, Space>::stats_type;

  // What forward keeps for backward, and backward's scratch; sized for `batch` windows of `len`.
  struct Workspace {
    rows_type n1, q, k, v, ctx, m, n2;  // forward activations [rows, dim]
    rows_type g1, g2, g3, g4;           // backward scratch [rows, dim]
    stats_type s1, s2;
    typename CausalAttention<T, Space>::probs_type probs, dscores;
    typename FeedForward<T, Space>::Workspace ffn;
    index_t batch = 0, len = 0;
  };

  SelfAttentionBlock() = default;
  SelfAttentionBlock(const Space& space, ParameterSet<T, Space>& params, const std::string& name, index_t dim,
                     index_t heads, T dropout, index_t ffn_hidden = 0)
      : ln1_(space, params, name + ".ln1", dim),
        wq_(space, params, name + ".wq", dim, dim),
        wk_(space, params, name + ".wk", dim, dim),
        wv_(space, params, name + ".wv", dim, dim),
        wo_(space, params, name + ".wo", dim, dim),
        attn_(heads, dropout),
        ln2_(space, params, name + ".ln2", dim),
        ffn_(space, params, name + ".ffn", dim, ffn_hidden > 0 ? ffn_hidden : dim, dropout) {
    SEQREC_REQUIRE(dim % heads == 0, "self-attention: dim ", dim, " must be a multiple of heads ", heads);
  }

  index_t dim() const { return ln1_.dim(); }

  void init_xavier(const Space& space, RandomSource& rng) const {
    wq_.init_xavier(space, rng.next());
    wk_.init_xavier(space, rng.next());
    wv_.init_xavier(space, rng.next());
    wo_.init_xavier(space, rng.next());
    ffn_.init_xavier(space, rng);
  }

  Workspace make_workspace(const Space& space, index_t batch, index_t len) const {
    const index_t rows = batch * len, d = dim();
    auto r = [&](const char* label) { return make_uninitialized<rows_type>(space, label, rows, d); };
    return Workspace{r("Block::n1"),
                     r("Block::q"),
                     r("Block::k"),
                     r("Block::v"),
                     r("Block::ctx"),
                     r("Block::m"),
                     r("Block::n2"),
                     r("Block::g1"),
                     r("Block::g2"),
                     r("Block::g3"),
                     r("Block::g4"),
                     ln1_.make_stats(space, rows),
                     ln2_.make_stats(space, rows),
                     attn_.make_probs(space, batch, len),
                     attn_.make_probs(space, batch, len),
                     ffn_.make_workspace(space, rows),
                     batch,
                     len};
  }

  // Dropout streams of one step for this block (derive them from the step's stream; pass the same to backward).
  struct Streams {
    RandomStream attention, ffn1, ffn2;
  };

  // x: [rows, dim] (the real positions of the windows, see RowMap) -> y (must not alias x).
  void forward(const Space& space, row_map_type row_of, const_rows_type x, rows_type y, const Workspace& ws, bool train,
               const Streams& rs) const {
    SEQREC_REQUIRE(ws.batch == index_t(row_of.extent(0)) && ws.len == index_t(row_of.extent(1)),
                   "SelfAttentionBlock: workspace made for ", ws.batch, "x", ws.len, " windows, got ", row_of.extent(0),
                   "x", row_of.extent(1));
    const index_t n = x.extent(0);
    const auto n1 = first_rows(ws.n1, n), q = first_rows(ws.q, n), k = first_rows(ws.k, n), v = first_rows(ws.v, n),
               ctx = first_rows(ws.ctx, n), m = first_rows(ws.m, n), n2 = first_rows(ws.n2, n);
    ln1_.forward(space, x, n1, ws.s1);
    wq_.forward(space, n1, q);
    wk_.forward(space, x, k);
    wv_.forward(space, x, v);
    attn_.forward(space, row_of, q, k, v, ctx, ws.probs, train, rs.attention);
    wo_.forward(space, ctx, m);
    add_into(space, m, n1);
    ln2_.forward(space, m, n2, ws.s2);
    ffn_.forward(space, n2, y, ws.ffn, train, rs.ffn1, rs.ffn2);
  }

  // dx from dy (dx must alias neither dy nor x), accumulating parameter gradients.
  void backward(const Space& space, row_map_type row_of, const_rows_type x, const_rows_type dy, rows_type dx,
                const Workspace& ws, bool train, const Streams& rs) const {
    const index_t n = x.extent(0);
    const auto n1 = first_rows(ws.n1, n), q = first_rows(ws.q, n), k = first_rows(ws.k, n), v = first_rows(ws.v, n),
               ctx = first_rows(ws.ctx, n), m = first_rows(ws.m, n), n2 = first_rows(ws.n2, n);
    const auto g1 = first_rows(ws.g1, n), g2 = first_rows(ws.g2, n), g3 = first_rows(ws.g3, n),
               g4 = first_rows(ws.g4, n);
    ffn_.backward(space, n2, dy, g2, g3, ws.ffn, train, rs.ffn1, rs.ffn2);  // g2 = d n2
    ln2_.backward(space, m, g2, g1, ws.s2);                                 // g1 = d m = d n1 (residual) = d a
    wo_.backward(space, ctx, g1, g2);                                       // g2 = d ctx
    attn_.backward(space, row_of, q, k, v, g2, ws.probs, ws.dscores, g3, g4, dx, train,
                   rs.attention);  // g3 = dq, g4 = dk, dx = dv
    // dx is x's gradient through k and v; g1 accumulates n1's gradient (residual + query projection).
    wv_.backward(space, x, dx, g2);                        // g2 = dv Wv^T
    wk_.backward(space, x, g4, g2, /*accumulate=*/true);   // g2 += dk Wk^T
    wq_.backward(space, n1, g3, g1, /*accumulate=*/true);  // g1 += dq Wq^T
    ln1_.backward(space, x, g1, dx, ws.s1);                // dx = d x through LN1
    add_into(space, dx, g2);
  }

  // y += x. Public only because nvcc refuses device lambdas inside private member functions.
  static void add_into(const Space& space, rows_type y, const_rows_type x) {
    Kokkos::parallel_for(
        "seqrec::SelfAttentionBlock::add",
        Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {0, 0}, {y.extent(0), y.extent(1)}),
        KOKKOS_LAMBDA(index_t r, index_t c) { y(r, c) += x(r, c); });
  }

 private:
  LayerNorm<T, Space> ln1_;
  Linear<T, Space> wq_, wk_, wv_, wo_;
  CausalAttention<T, Space> attn_;
  LayerNorm<T, Space> ln2_;
  FeedForward<T, Space> ffn_;
};

}  // namespace seqrec::sequence
