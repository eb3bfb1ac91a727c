#include "support/backends.hpp"
#include "support/gradcheck.hpp"

#include <seqrec/sequence/sasrec_encoder.hpp>

#include <catch2/catch.hpp>

namespace {
constexpr int B = 2, L = 4, D = 4;
const int kIds[B][L] = {{0, 3, 1, 5}, {2, 6, 6, 4}};
}  // namespace

TEMPLATE_TEST_CASE("SASRec encoder: causal, deterministic, gradients match finite differences",
                   "[sequence][sasrec][grad]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  seqrec::ParameterSet<T, Space> params;
  seqrec::RandomSource rng(3);
  seqrec::sequence::Embedding<T, Space> items(space, params, "items", 7, D);
  seqrec::sequence::SelfAttentionConfig cfg;
  cfg.maxlen = L;
  cfg.blocks = 2;
  cfg.heads = 2;
  cfg.dropout = 0.2;
  seqrec::sequence::SelfAttentionEncoder<T, Space> enc(space, params, D, cfg);
  items.init_normal(space, rng.next(), T(0.5));
  enc.init(space, rng);
  seqrec::View2<seqrec::id_t, Space> ids("ids", B, L);
  auto hi = Kokkos::create_mirror_view(ids);
  for (int b = 0; b < B; ++b)
    for (int t = 0; t < L; ++t) hi(b, t) = kIds[b][t];
  Kokkos::deep_copy(ids, hi);
  auto ws = enc.make_workspace(space, B);
  seqrec::View2<T, Space> h("h", B * L, D), h2("h2", B * L, D), r("r", B * L, D);
  seqrec::fill_uniform(space, r, rng.next(), T(-1), T(1));
  const auto step = rng.next();

  enc.forward(space, ids, items, h, ws, true, step);
  enc.forward(space, ids, items, h2, ws, true, step);
  auto a = seqrec::to_host(h), b2 = seqrec::to_host(h2);
  for (int i = 0; i < B * L; ++i)
    for (int k = 0; k < D; ++k) REQUIRE(a(i, k) == b2(i, k));  // same step stream, same result

  // Changing the item at position t+1 leaves h_t unchanged (the causal mask leaks nothing).
  hi(1, 2) = 1;
  Kokkos::deep_copy(ids, hi);
  enc.forward(space, ids, items, h2, ws, true, step);
  auto c = seqrec::to_host(h2);
  for (int k = 0; k < D; ++k) {
    CHECK(c(1 * L + 0, k) == a(1 * L + 0, k));
    CHECK(c(1 * L + 1, k) == a(1 * L + 1, k));
  }
  CHECK(c(1 * L + 2, 0) != a(1 * L + 2, 0));
  hi(1, 2) = kIds[1][2];
  Kokkos::deep_copy(ids, hi);

  if constexpr (std::is_same_v<T, double>) {
    auto loss = [&] {
      enc.forward(space, ids, items, h, ws, true, step);
      return seqrec::test::weighted_sum(space, h, r);
    };
    loss();
    params.zero_grad(space);
    enc.backward(space, ids, items, r, ws, true, step);
    for (const auto& p : params) seqrec::test::check_gradient(space, p.value(), p.grad(), loss, p.name(), 12);
  }
}

#include <seqrec/sequence/gru.hpp>
#include <seqrec/sequence/lstm.hpp>
#include <seqrec/sequence/recurrent_encoder.hpp>

namespace {
template <class Layer, class Space, class T>
void check_recurrent_encoder() {
  Space space;
  seqrec::ParameterSet<T, Space> params;
  seqrec::RandomSource rng(8);
  seqrec::sequence::Embedding<T, Space> items(space, params, "items", 7, D);
  seqrec::sequence::RecurrentConfig cfg;
  cfg.maxlen = L;
  cfg.layers = 2;
  cfg.dropout = 0.25;
  seqrec::sequence::RecurrentEncoder<Layer> enc(space, params, D, cfg);
  items.init_normal(space, rng.next(), T(0.5));
  enc.init(space, rng);
  seqrec::View2<seqrec::id_t, Space> ids("ids", B, L);
  auto hi = Kokkos::create_mirror_view(ids);
  for (int b = 0; b < B; ++b)
    for (int t = 0; t < L; ++t) hi(b, t) = kIds[b][t];
  Kokkos::deep_copy(ids, hi);
  auto ws = enc.make_workspace(space, B);
  seqrec::View2<T, Space> h("h", B * L, D), h2("h2", B * L, D), r("r", B * L, D);
  seqrec::fill_uniform(space, r, rng.next(), T(-1), T(1));
  const auto step = rng.next();
  enc.forward(space, ids, items, h, ws, true, step);
  auto a = seqrec::to_host(h);
  hi(1, 3) = 3;  // the last position changes: earlier states do not
  Kokkos::deep_copy(ids, hi);
  enc.forward(space, ids, items, h2, ws, true, step);
  auto c = seqrec::to_host(h2);
  for (int t = 0; t < 3; ++t)
    for (int k = 0; k < D; ++k) CHECK(c(1 * L + t, k) == a(1 * L + t, k));
  hi(1, 3) = kIds[1][3];
  Kokkos::deep_copy(ids, hi);
  if constexpr (std::is_same_v<T, double>) {
    auto loss = [&] {
      enc.forward(space, ids, items, h, ws, true, step);
      return seqrec::test::weighted_sum(space, h, r);
    };
    loss();
    params.zero_grad(space);
    enc.backward(space, ids, items, r, ws, true, step);
    for (const auto& p : params) seqrec::test::check_gradient(space, p.value(), p.grad(), loss, p.name(), 16);
  }
}
}  // namespace

TEMPLATE_TEST_CASE("recurrent encoders (GRU, LSTM stacks): causal, gradients match finite differences",
                   "[sequence][recurrent][grad]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  check_recurrent_encoder<seqrec::sequence::Gru<T, Space>, Space, T>();
  check_recurrent_encoder<seqrec::sequence::Lstm<T, Space>, Space, T>();
}
