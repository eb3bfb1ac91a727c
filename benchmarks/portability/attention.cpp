// Kernel family "attention": one SASRec self-attention block (LN, Q/K/V/O projections, causal attention,
// FFN) forward and backward in training mode, and the bare causal attention it wraps, on SASRec's Games
// shape (batch 128, window 50, d 50, dropout 0.5 as seqrec-train uses for Games) over left-padded windows.
//
// Rows are the real positions only (RowMap), as the encoder runs them, so the shape names them last:
// batch x len x d x heads x real_rows. flop counts the matrix products actually done on those rows:
//   projections Q, K, V, O     4 * 2 N d^2
//   FFN (hidden = d)           2 * 2 N d^2
//   scores QK^T and P V        2 * 2 P d, P = sum over windows of n(n+1)/2 causal (query, key) pairs (not L^2)
// and backward exactly twice that (each product has two gradient products; attention has dP, dQ, dK, dV).
// Norms, softmax and dropout are not counted. bytes is compulsory traffic only: inputs, outputs and
// weights once (backward: x, dy, dx, weights, and gradients read and written).
#include "harness.hpp"
#include "inputs.hpp"

#include <seqrec/core/parameter.hpp>
#include <seqrec/core/random.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/sequence/causal_attention.hpp>
#include <seqrec/sequence/row_map.hpp>
#include <seqrec/sequence/self_attention.hpp>

namespace seqrec::bench {
namespace {

constexpr index_t kItems = 23715;  // Games
constexpr double kDropout = 0.5;   // seqrec-train's default, the SASRec paper's rate for Games

// Causal (query, key) pairs over the real positions of left-padded windows: n(n+1)/2 per window.
template <class Ids>
double causal_pairs(const Ids& ids) {
  const auto h = to_host(ids);
  double pairs = 0;
  for (std::size_t b = 0; b < h.extent(0); ++b) {
    double n = 0;
    for (std::size_t t = 0; t < h.extent(1); ++t) n += h(b, t) != 0 ? 1 : 0;
    pairs += n * (n + 1) / 2;
  }
  return pairs;
}

template <class Space, class T>
void run_shape(Harness& h, const Space& space, index_t batch, index_t len, index_t dim, index_t heads, bool bare) {
  const auto ids = padded_ids(space, batch, len, kItems, 1000 + std::uint64_t(batch));
  sequence::RowMap<Space> map(space, batch, len);
  const index_t n = map.build(space, ids);
  const typename sequence::CausalAttention<T, Space>::row_map_type row_of = map.row_of;
  const double N = double(n), d = double(dim), P = causal_pairs(ids), s = sizeof(T);
  const std::string sh = shape({batch, len, dim, heads, n});
  RandomSource rng(42);
  auto rows = [&](const char* label) {
    auto v = make_uninitialized<View2<T, Space>>(space, label, n, dim);
    fill_uniform(space, v, rng.next(), T(-1), T(1));
    return v;
  };

  ParameterSet<T, Space> params;
  sequence::SelfAttentionBlock<T, Space> block(space, params, "block", dim, heads, T(kDropout));
  block.init_xavier(space, rng);
  const auto ws = block.make_workspace(space, batch, len);
  const auto x = rows("bench:x"), y = rows("bench:y"), dy = rows("bench:dy"), dx = rows("bench:dx");
  const typename sequence::SelfAttentionBlock<T, Space>::Streams rs{rng.next(), rng.next(), rng.next()};
  const double W = double(params.numel());
  const double block_flop = 2 * N * d * d * (4 + 2) + 4 * P * d;
  h.time(space, T{}, "attention_block_forward", sh, block_flop, (2 * N * d + W) * s,
         [&] { block.forward(space, row_of, x, y, ws, /*train=*/true, rs); });
  // Backward reuses the activations of this forward (backward leaves them intact, so every repetition
  // sees the same workspace); parameter gradients just keep accumulating.
  block.forward(space, row_of, x, y, ws, true, rs);
  h.time(space, T{}, "attention_block_backward", sh, 2 * block_flop, (3 * N * d + 3 * W) * s,
         [&] { block.backward(space, row_of, x, dy, dx, ws, true, rs); });

  if (!bare) return;
  // The attention core alone (no projections): q, k, v in; out and the saved probabilities [B, H, L, L] out.
  const sequence::CausalAttention<T, Space> attn(heads, T(kDropout));
  const auto q = rows("bench:q"), k = rows("bench:k"), v = rows("bench:v"), out = rows("bench:out");
  const auto dq = rows("bench:dq"), dk = rows("bench:dk"), dv = rows("bench:dv");
  const auto probs = attn.make_probs(space, batch, len), dscores = attn.make_probs(space, batch, len);
  const RandomStream ars = rng.next();
  const double probs_size = double(batch * heads * len * len);
  h.time(space, T{}, "causal_attention_forward", sh, 4 * P * d, (4 * N * d + probs_size) * s,
         [&] { attn.forward(space, row_of, q, k, v, out, probs, true, ars); });
  attn.forward(space, row_of, q, k, v, out, probs, true, ars);
  // Reads q, k, v, dout and probs, writes dq, dk, dv (dscores is scratch, not counted).
  h.time(space, T{}, "causal_attention_backward", sh, 8 * P * d, (7 * N * d + probs_size) * s,
         [&] { attn.backward(space, row_of, q, k, v, dy, probs, dscores, dq, dk, dv, true, ars); });
}

void bench_attention(Harness& h) {
  h.for_each_backend([&](auto space, auto zero) {
    using Space = decltype(space);
    using T = decltype(zero);
    const index_t batch = h.quick() ? 32 : 128, len = 50, dim = 50;
    run_shape<Space, T>(h, space, batch, len, dim, /*heads=*/1, /*bare=*/true);
    run_shape<Space, T>(h, space, batch, len, dim, /*heads=*/2, /*bare=*/false);
  });
}

const Register reg_attention(40, "attention", &bench_attention);

}  // namespace
}  // namespace seqrec::bench
