#include "support/backends.hpp"
#include "support/gradcheck.hpp"

#include <seqrec/sequence/causal_attention.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

namespace {
// Windows of length 5, left-padded; window 1 has a padding hole at position 3 (a masked key/query).
constexpr int B = 3, L = 5;
const int kIds[B][L] = {{0, 0, 4, 7, 2}, {3, 1, 8, 0, 5}, {0, 0, 0, 0, 6}};

// Row map where position (b, t) keeps row b*L + t (padding: -1), so q/k/v can stay [B*L, dim].
template <class Space>
seqrec::View2<seqrec::index_t, Space> identity_rows() {
  seqrec::View2<seqrec::index_t, Space> rows("rows", B, L);
  auto h = Kokkos::create_mirror_view(rows);
  for (int b = 0; b < B; ++b)
    for (int t = 0; t < L; ++t) h(b, t) = kIds[b][t] == 0 ? -1 : b * L + t;
  Kokkos::deep_copy(rows, h);
  return rows;
}

template <class Space>
seqrec::View2<seqrec::id_t, Space> window_ids() {
  seqrec::View2<seqrec::id_t, Space> ids("ids", B, L);
  auto h = Kokkos::create_mirror_view(ids);
  for (int b = 0; b < B; ++b)
    for (int t = 0; t < L; ++t) h(b, t) = kIds[b][t];
  Kokkos::deep_copy(ids, h);
  return ids;
}

// Plain host reference without dropout.
template <class HV>
std::vector<double> reference(const HV& q, const HV& k, const HV& v, int heads, int dim) {
  const int dh = dim / heads;
  std::vector<double> out(B * L * dim, 0.0);
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < heads; ++h)
      for (int i = 0; i < L; ++i) {
        if (kIds[b][i] == 0) continue;
        std::vector<double> s(L, -1e300);
        double mx = -1e300;
        for (int j = 0; j <= i; ++j) {
          if (kIds[b][j] == 0) continue;
          double d = 0;
          for (int c = 0; c < dh; ++c) d += double(q(b * L + i, h * dh + c)) * k(b * L + j, h * dh + c);
          s[j] = d / std::sqrt(double(dh));
          mx = std::max(mx, s[j]);
        }
        double z = 0;
        for (int j = 0; j <= i; ++j)
          if (kIds[b][j] != 0) z += std::exp(s[j] - mx);
        for (int j = 0; j <= i; ++j) {
          if (kIds[b][j] == 0) continue;
          const double p = std::exp(s[j] - mx) / z;
          for (int c = 0; c < dh; ++c) out[(b * L + i) * dim + h * dh + c] += p * v(b * L + j, h * dh + c);
        }
      }
  return out;
}
}  // namespace

TEMPLATE_TEST_CASE("causal attention matches a host reference and masks padding", "[sequence][attention]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  const int dim = 6;
  for (int heads : {1, 2, 3}) {
    INFO("heads = " << heads);
    seqrec::sequence::CausalAttention<T, Space> attn(heads, T(0.2));
    auto ids = identity_rows<Space>();
    seqrec::View2<T, Space> q("q", B * L, dim), k("k", B * L, dim), v("v", B * L, dim), out("out", B * L, dim);
    seqrec::fill_normal(space, q, seqrec::RandomStream(1, 1), T(0), T(1));
    seqrec::fill_normal(space, k, seqrec::RandomStream(1, 2), T(0), T(1));
    seqrec::fill_normal(space, v, seqrec::RandomStream(1, 3), T(0), T(1));
    auto probs = attn.make_probs(space, B, L);
    attn.forward(space, ids, q, k, v, out, probs, /*train=*/false, seqrec::RandomStream(1, 4));
    auto hq = seqrec::to_host(q), hk = seqrec::to_host(k), hv = seqrec::to_host(v), ho = seqrec::to_host(out);
    const auto ref = reference(hq, hk, hv, heads, dim);
    for (int r = 0; r < B * L; ++r)
      for (int c = 0; c < dim; ++c)
        CHECK(ho(r, c) == Approx(ref[r * dim + c]).epsilon(seqrec::test::tolerance<T>()).margin(1e-6));
    // Probabilities of each valid query sum to one; padding queries have none.
    auto hp = seqrec::to_host(probs);
    for (int b = 0; b < B; ++b)
      for (int i = 0; i < L; ++i) {
        double s = 0;
        for (int j = 0; j < L; ++j) s += hp(b, 0, i, j);
        CHECK(s == Approx(kIds[b][i] == 0 ? 0.0 : 1.0).margin(1e-5));
      }

    // Causality: changing keys and values after position 2 leaves outputs up to 2 unchanged; changing a
    // padding position's key changes nothing at all.
    auto hk2 = Kokkos::create_mirror_view(k);
    Kokkos::deep_copy(hk2, k);
    auto hv2 = Kokkos::create_mirror_view(v);
    Kokkos::deep_copy(hv2, v);
    for (int c = 0; c < dim; ++c) {
      hk2(1 * L + 3, c) += T(5);  // window 1, padding hole
      hk2(0 * L + 4, c) += T(3);  // window 0, future of positions <= 3
      hv2(0 * L + 4, c) -= T(2);
    }
    Kokkos::deep_copy(k, hk2);
    Kokkos::deep_copy(v, hv2);
    seqrec::View2<T, Space> out2("out2", B * L, dim);
    attn.forward(space, ids, q, k, v, out2, probs, false, seqrec::RandomStream(1, 4));
    auto ho2 = seqrec::to_host(out2);
    for (int c = 0; c < dim; ++c) {
      for (int i = 0; i < 4; ++i) CHECK(ho2(0 * L + i, c) == ho(0 * L + i, c));
      for (int i = 0; i < L; ++i) CHECK(ho2(1 * L + i, c) == ho(1 * L + i, c));
      CHECK(ho2(0 * L + 4, c) != ho(0 * L + 4, c));
    }
  }
}

TEMPLATE_TEST_CASE("causal attention gradients match finite differences", "[sequence][attention][grad]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  if constexpr (std::is_same_v<T, double>) {
    Space space;
    const int dim = 4;
    for (bool train : {false, true}) {
      INFO("train = " << train);
      seqrec::sequence::CausalAttention<T, Space> attn(2, T(0.3));
      auto ids = identity_rows<Space>();
      seqrec::View2<T, Space> q("q", B * L, dim), k("k", B * L, dim), v("v", B * L, dim), out("out", B * L, dim),
          r("r", B * L, dim), dq("dq", B * L, dim), dk("dk", B * L, dim), dv("dv", B * L, dim);
      seqrec::fill_normal(space, q, seqrec::RandomStream(2, 1), T(0), T(1));
      seqrec::fill_normal(space, k, seqrec::RandomStream(2, 2), T(0), T(1));
      seqrec::fill_normal(space, v, seqrec::RandomStream(2, 3), T(0), T(1));
      seqrec::fill_uniform(space, r, seqrec::RandomStream(2, 4), T(-1), T(1));
      auto probs = attn.make_probs(space, B, L), ds = attn.make_probs(space, B, L);
      const seqrec::RandomStream rs(2, 5);
      auto loss = [&] {
        attn.forward(space, ids, q, k, v, out, probs, train, rs);
        return seqrec::test::weighted_sum(space, out, r);
      };
      loss();
      attn.backward(space, ids, q, k, v, r, probs, ds, dq, dk, dv, train, rs);
      seqrec::test::check_gradient(space, q, dq, loss, "q", 200);
      seqrec::test::check_gradient(space, k, dk, loss, "k", 200);
      seqrec::test::check_gradient(space, v, dv, loss, "v", 200);
    }
  }
}

#include <seqrec/sequence/self_attention.hpp>

TEMPLATE_TEST_CASE("self-attention block on real positions: causal, gradients match finite differences",
                   "[sequence][attention][grad]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  const int dim = 4;
  seqrec::ParameterSet<T, Space> params;
  seqrec::RandomSource rng(21);
  seqrec::sequence::SelfAttentionBlock<T, Space> block(space, params, "block0", dim, 2, T(0.25));
  block.init_xavier(space, rng);
  for (const auto& p : params)  // non-trivial norms and biases
    if (p.rank() == 1) seqrec::fill_uniform(space, p.value(), rng.next(), T(0.5), T(1.2));
  auto ids = window_ids<Space>();
  seqrec::sequence::RowMap<Space> map(space, B, L);
  const seqrec::index_t n = map.build(space, ids);
  REQUIRE(n == 8);  // real positions of kIds, numbered in (window, position) order
  CHECK(seqrec::to_host(map.row_of)(1, 4) == 6);
  CHECK(seqrec::to_host(map.row_of)(1, 3) == -1);
  CHECK(seqrec::to_host(map.source)(6) == 1 * L + 4);
  CHECK(seqrec::to_host(map.ids)(7) == 6);
  auto rows = seqrec::to_host(map.row_of);
  auto ws = block.make_workspace(space, B, L);
  seqrec::View2<T, Space> x("x", n, dim), y("y", n, dim), r("r", n, dim), dx("dx", n, dim);
  seqrec::fill_normal(space, x, rng.next(), T(0), T(1));
  seqrec::fill_uniform(space, r, rng.next(), T(-1), T(1));
  const typename seqrec::sequence::SelfAttentionBlock<T, Space>::Streams rs{rng.next(), rng.next(), rng.next()};
  const auto row_of = map.row_of;

  block.forward(space, row_of, x, y, ws, true, rs);
  auto y0 = seqrec::to_host(y);
  // Changing the input at window 0, position 4 leaves the states of every other position unchanged.
  auto hx = Kokkos::create_mirror_view(x);
  Kokkos::deep_copy(hx, x);
  const auto changed = rows(0, 4);
  for (int c = 0; c < dim; ++c) hx(changed, c) += T(1.5);
  seqrec::View2<T, Space> x2("x2", n, dim), y2("y2", n, dim);
  Kokkos::deep_copy(x2, hx);
  block.forward(space, row_of, x2, y2, ws, true, rs);
  auto h2 = seqrec::to_host(y2);
  for (int i = 0; i < n; ++i)
    for (int c = 0; c < dim; ++c)
      if (i != changed) CHECK(h2(i, c) == y0(i, c));
  CHECK(h2(changed, 0) != y0(changed, 0));

  if constexpr (std::is_same_v<T, double>) {
    for (bool train : {false, true}) {
      INFO("train = " << train);
      auto loss = [&] {
        block.forward(space, row_of, x, y, ws, train, rs);
        return seqrec::test::weighted_sum(space, y, r);
      };
      loss();
      params.zero_grad(space);
      block.backward(space, row_of, x, r, dx, ws, train, rs);
      seqrec::test::check_gradient(space, x, dx, loss, "x", 60);
      for (const auto& p : params) seqrec::test::check_gradient(space, p.value(), p.grad(), loss, p.name(), 24);
    }
  }
}
