// Kernel family "recurrent": one GRU and one LSTM layer forward and backward on the shape seqrec-train's
// gru4rec and lstm models run by default (batch 128, window 50, in = hidden = 50, one layer) over
// left-padded windows. Shape: batch x len x in x hidden.
//
// The layers run every position, padding included (padding only carries the state), so flop counts all
// N = batch*len rows. With G gates (GRU 3, LSTM 4) and the products the layers actually do:
//   forward    input projections 2 N in G h   + recurrent steps 2 batch (len-1) h G h   (step 0 has h = 0)
//   backward   2 N in G h (dW_in) + 2 N in G h (dx) + 2 N h G h (dW_h) + 2 batch (len-1) G h h (carry)
// i.e. backward is about twice forward. Gate nonlinearities are not counted. bytes is compulsory traffic:
// x, the states h and the weights once (backward: x, dh, dx, weights, and gradients read and written).
#include "harness.hpp"
#include "inputs.hpp"

#include <seqrec/core/parameter.hpp>
#include <seqrec/core/random.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/sequence/gru.hpp>
#include <seqrec/sequence/lstm.hpp>

#include <string>

namespace seqrec::bench {
namespace {

constexpr index_t kItems = 23715;  // Games

template <class Layer, class Space, class T>
void run_layer(Harness& h, const Space& space, const std::string& name, index_t gates, index_t batch, index_t len,
               index_t in, index_t hidden) {
  const auto ids = padded_ids(space, batch, len, kItems, 2000 + std::uint64_t(batch));
  const index_t n = batch * len;
  RandomSource rng(43);
  ParameterSet<T, Space> params;
  const Layer layer(space, params, name, in, hidden);
  layer.init(space, rng);
  const auto ws = layer.make_workspace(space, batch, len);
  auto x = make_uninitialized<View2<T, Space>>(space, "bench:x", n, in);
  auto dx = make_uninitialized<View2<T, Space>>(space, "bench:dx", n, in);
  auto y = make_uninitialized<View2<T, Space>>(space, "bench:h", n, hidden);
  auto dy = make_uninitialized<View2<T, Space>>(space, "bench:dh", n, hidden);
  fill_uniform(space, x, rng.next(), T(-1), T(1));
  fill_uniform(space, dy, rng.next(), T(-1), T(1));

  const double N = double(n), B = double(batch), L = double(len), I = double(in), H = double(hidden), G = double(gates);
  const double W = double(params.numel()), s = sizeof(T);
  const double forward_flop = 2 * N * I * G * H + 2 * B * (L - 1) * H * G * H;
  const double backward_flop = 4 * N * I * G * H + 2 * N * H * G * H + 2 * B * (L - 1) * G * H * H;
  const std::string sh = shape({batch, len, in, hidden});
  h.time(space, T{}, name + "_forward", sh, forward_flop, (N * (I + H) + W) * s,
         [&] { layer.forward(space, ids, x, y, ws); });
  // Backward reads the gates and states this forward saved (it does not overwrite them).
  layer.forward(space, ids, x, y, ws);
  h.time(space, T{}, name + "_backward", sh, backward_flop, (N * (2 * I + H) + 3 * W) * s,
         [&] { layer.backward(space, ids, x, dy, dx, ws); });
}

void bench_recurrent(Harness& h) {
  h.for_each_backend([&](auto space, auto zero) {
    using Space = decltype(space);
    using T = decltype(zero);
    const index_t batch = h.quick() ? 32 : 128, len = 50, dim = 50;
    run_layer<sequence::Gru<T, Space>, Space, T>(h, space, "gru", 3, batch, len, dim, dim);
    run_layer<sequence::Lstm<T, Space>, Space, T>(h, space, "lstm", 4, batch, len, dim, dim);
  });
}

const Register reg_recurrent(50, "recurrent", &bench_recurrent);

}  // namespace
}  // namespace seqrec::bench
