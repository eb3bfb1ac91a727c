#include "support/backends.hpp"
#include "support/gradcheck.hpp"

#include <seqrec/sequence/gru.hpp>
#include <seqrec/sequence/lstm.hpp>

#include <catch2/catch.hpp>

#include <cmath>

namespace {
constexpr int B = 3, L = 4, IN = 3, H = 2;
const int kIds[B][L] = {{0, 0, 5, 2}, {1, 2, 3, 4}, {0, 7, 0, 9}};  // window 2 has a padding hole

template <class Space>
seqrec::View2<seqrec::id_t, Space> ids_view() {
  seqrec::View2<seqrec::id_t, Space> ids("ids", B, L);
  auto h = Kokkos::create_mirror_view(ids);
  for (int b = 0; b < B; ++b)
    for (int t = 0; t < L; ++t) h(b, t) = kIds[b][t];
  Kokkos::deep_copy(ids, h);
  return ids;
}

double sig(double x) { return 1 / (1 + std::exp(-x)); }

// Host reference of one cell over all windows: returns h [B*L, H].
template <class Cell, class HX, class HP>
std::vector<double> reference(const HX& x, const HP& wi, const HP& bi, const HP& wh, const HP& bh, int gates,
                              Cell cell) {
  std::vector<double> out(B * L * H, 0.0);
  for (int b = 0; b < B; ++b) {
    std::vector<double> h(H, 0.0), c(H, 0.0);
    for (int t = 0; t < L; ++t) {
      const int row = b * L + t;
      if (kIds[b][t] != 0) {
        std::vector<double> xi(gates * H), hh(gates * H);
        for (int j = 0; j < gates * H; ++j) {
          xi[j] = bi(j);
          hh[j] = bh(j);
          for (int k = 0; k < IN; ++k) xi[j] += double(x(row, k)) * wi(k * gates * H + j);
          for (int k = 0; k < H; ++k) hh[j] += h[k] * wh(k * gates * H + j);
        }
        cell(xi, hh, h, c);
      }
      for (int k = 0; k < H; ++k) out[row * H + k] = h[k];
    }
  }
  return out;
}

template <class Layer, class Space, class T>
void check_layer(const char* name, int gates, bool lstm) {
  Space space;
  seqrec::ParameterSet<T, Space> params;
  seqrec::RandomSource rng(17);
  Layer layer(space, params, name, IN, H);
  layer.init(space, rng);
  for (const auto& p : params)
    if (p.rank() == 1) seqrec::fill_uniform(space, p.value(), rng.next(), T(-0.5), T(0.5));
  auto ids = ids_view<Space>();
  auto ws = layer.make_workspace(space, B, L);
  seqrec::View2<T, Space> x("x", B * L, IN), h("h", B * L, H), r("r", B * L, H), dx("dx", B * L, IN);
  seqrec::fill_normal(space, x, rng.next(), T(0), T(1));
  seqrec::fill_uniform(space, r, rng.next(), T(-1), T(1));
  layer.forward(space, ids, x, h, ws);

  auto hx = seqrec::to_host(x), hh = seqrec::to_host(h);
  auto wi = seqrec::to_host(params[std::string(name) + ".input.weight"].value());
  auto bi = seqrec::to_host(params[std::string(name) + ".input.bias"].value());
  auto wh = seqrec::to_host(params[std::string(name) + ".recurrent.weight"].value());
  auto bh = seqrec::to_host(params[std::string(name) + ".recurrent.bias"].value());
  std::vector<double> ref;
  if (!lstm) {
    ref = reference(hx, wi, bi, wh, bh, gates, [](auto& xi, auto& hh2, auto& h2, auto&) {
      for (int k = 0; k < H; ++k) {
        const double rr = sig(xi[k] + hh2[k]), z = sig(xi[H + k] + hh2[H + k]);
        const double n = std::tanh(xi[2 * H + k] + rr * hh2[2 * H + k]);
        h2[k] = (1 - z) * n + z * h2[k];
      }
    });
  } else {
    ref = reference(hx, wi, bi, wh, bh, gates, [](auto& xi, auto& hh2, auto& h2, auto& c2) {
      for (int k = 0; k < H; ++k) {
        const double i = sig(xi[k] + hh2[k]), f = sig(xi[H + k] + hh2[H + k]);
        const double g = std::tanh(xi[2 * H + k] + hh2[2 * H + k]), o = sig(xi[3 * H + k] + hh2[3 * H + k]);
        c2[k] = f * c2[k] + i * g;
        h2[k] = o * std::tanh(c2[k]);
      }
    });
  }
  for (int row = 0; row < B * L; ++row)
    for (int k = 0; k < H; ++k) CHECK(hh(row, k) == Approx(ref[row * H + k]).epsilon(1e-4).margin(1e-6));
  CHECK(hh(0, 0) == T(0));  // before the first item the state is zero

  if constexpr (std::is_same_v<T, double>) {
    auto loss = [&] {
      layer.forward(space, ids, x, h, ws);
      return seqrec::test::weighted_sum(space, h, r);
    };
    loss();
    params.zero_grad(space);
    layer.backward(space, ids, x, r, dx, ws);
    seqrec::test::check_gradient(space, x, dx, loss, "x");
    for (const auto& p : params) seqrec::test::check_gradient(space, p.value(), p.grad(), loss, p.name());
  }
}
}  // namespace

TEMPLATE_TEST_CASE("GRU matches a host reference and its gradients match finite differences", "[sequence][gru][grad]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  check_layer<seqrec::sequence::Gru<T, Space>, Space, T>("gru", 3, false);
}

TEMPLATE_TEST_CASE("LSTM matches a host reference and its gradients match finite differences", "[sequence][lstm][grad]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  check_layer<seqrec::sequence::Lstm<T, Space>, Space, T>("lstm", 4, true);
}
