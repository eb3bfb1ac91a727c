#include "support/backends.hpp"
#include "support/gradcheck.hpp"

#include <seqrec/sequence/feature_projection.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <type_traits>
#include <vector>

namespace seqrec::test {

namespace {

using Catch::Contains;
using sequence::FeatureProjectionConfig;
using sequence::ProjectionKind;

constexpr index_t kRows = 7, kFeatures = 4, kDim = 3, kHidden = 5;  // 6 items + padding

// Random features whose padding row is NOT zero: the projection must ignore row 0 whatever it holds.
template <class T, class Space>
View2<T, Space> random_features(const Space& space, RandomSource& rng) {
  View2<T, Space> x("test::features", kRows, kFeatures);
  fill_normal(space, x, rng.next(), T(0), T(1));
  space.fence();
  return x;
}

FeatureProjectionConfig config_of(ProjectionKind kind) {
  FeatureProjectionConfig c;
  c.kind = kind;
  c.hidden = kHidden;
  return c;
}

// Every parameter (biases included) uniform in [-0.5, 0.5), so forward values exercise each term.
template <class T, class Space>
void randomize(const Space& space, const ParameterSet<T, Space>& params, RandomSource& rng) {
  for (const auto& p : params) fill_uniform(space, p.value(), rng.next(), T(-0.5), T(0.5));
  space.fence();
}

// Host reference of P(X) in double, rows 1.. (row 0 zeros).
template <class T, class Space>
std::vector<std::vector<double>> reference(const sequence::FeatureProjection<T, Space>& proj) {
  const auto x = to_host(proj.features());
  auto layer = [](const std::vector<std::vector<double>>& in, const sequence::Linear<T, Space>& l, bool relu) {
    const auto w = to_host(l.weight().template view<2>());
    std::vector<double> b(static_cast<std::size_t>(l.out()), 0.0);
    if (l.has_bias()) {
      const auto hb = to_host(l.bias().value());
      for (index_t k = 0; k < l.out(); ++k) b[k] = double(hb(k));
    }
    std::vector<std::vector<double>> out(in.size(), std::vector<double>(static_cast<std::size_t>(l.out())));
    for (std::size_t r = 0; r < in.size(); ++r)
      for (index_t k = 0; k < l.out(); ++k) {
        double s = b[k];
        for (index_t j = 0; j < l.in(); ++j) s += in[r][j] * double(w(j, k));
        out[r][k] = relu ? std::max(s, 0.0) : s;
      }
    return out;
  };
  std::vector<std::vector<double>> in(static_cast<std::size_t>(kRows - 1), std::vector<double>(kFeatures));
  for (index_t r = 1; r < kRows; ++r)
    for (index_t j = 0; j < kFeatures; ++j) in[r - 1][j] = double(x(r, j));
  if (proj.kind() == ProjectionKind::mlp) in = layer(in, proj.input(), true);
  auto out = layer(in, proj.output(), false);
  out.insert(out.begin(), std::vector<double>(static_cast<std::size_t>(proj.dim()), 0.0));
  return out;
}

template <class T>
bool close(double a, double b) {
  return std::abs(a - b) <= tolerance<T>() * (1 + std::abs(b));
}

}  // namespace

TEMPLATE_TEST_CASE("feature projection: parameters, shapes and argument checks", "[sequence][feature_projection]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  RandomSource rng(3);
  const auto x = random_features<T>(space, rng);

  ParameterSet<T, Space> lp;
  sequence::FeatureProjection<T, Space> lin(space, lp, "proj", x, kDim);
  CHECK(lin.kind() == ProjectionKind::linear);
  CHECK(lin.rows() == kRows);
  CHECK(lin.features_dim() == kFeatures);
  CHECK(lin.dim() == kDim);
  CHECK(lin.hidden() == 0);
  REQUIRE(lp.size() == 2);
  CHECK(lp["proj.fc.weight"].shape() == std::vector<index_t>{kFeatures, kDim});
  CHECK(lp["proj.fc.bias"].shape() == std::vector<index_t>{kDim});

  ParameterSet<T, Space> mp;
  sequence::FeatureProjection<T, Space> mlp(space, mp, "proj", x, kDim, config_of(ProjectionKind::mlp));
  CHECK(mlp.kind() == ProjectionKind::mlp);
  CHECK(mlp.hidden() == kHidden);
  REQUIRE(mp.size() == 4);
  CHECK(mp["proj.fc1.weight"].shape() == std::vector<index_t>{kFeatures, kHidden});
  CHECK(mp["proj.fc1.bias"].shape() == std::vector<index_t>{kHidden});
  CHECK(mp["proj.fc2.weight"].shape() == std::vector<index_t>{kHidden, kDim});
  CHECK(mp["proj.fc2.bias"].shape() == std::vector<index_t>{kDim});

  ParameterSet<T, Space> np;
  auto no_bias = config_of(ProjectionKind::mlp);
  no_bias.bias = false;
  sequence::FeatureProjection<T, Space> nb(space, np, "nb", x, kDim, no_bias);
  CHECK(np.size() == 2);

  // Outputs of the wrong shape, and bad configurations.
  View2<T, Space> wrong("test::wrong", kRows - 1, kDim);
  CHECK_THROWS_WITH(lin.forward(space, wrong), Contains("FeatureProjection::forward out") && Contains("[7, 3]"));
  CHECK_THROWS_WITH(mlp.forward_add(space, wrong), Contains("forward_add table"));
  CHECK_THROWS_WITH(mlp.backward(space, wrong), Contains("backward dout"));
  ParameterSet<T, Space> bad;
  using Proj = sequence::FeatureProjection<T, Space>;  // no template commas inside the macros
  const View2<T, Space> no_columns("test::none", kRows, 0);
  CHECK_THROWS_WITH(Proj(space, bad, "b", x, 0), Contains("dim must be positive"));
  auto zero_hidden = config_of(ProjectionKind::mlp);
  zero_hidden.hidden = 0;
  CHECK_THROWS_WITH(Proj(space, bad, "b", x, kDim, zero_hidden), Contains("hidden size must be positive"));
  CHECK_THROWS_WITH(Proj(space, bad, "b", no_columns, 2), Contains("at least one column"));

  CHECK(sequence::parse_projection_kind("linear") == ProjectionKind::linear);
  CHECK(sequence::parse_projection_kind("mlp") == ProjectionKind::mlp);
  CHECK(sequence::to_string(ProjectionKind::mlp) == "mlp");
  CHECK_THROWS_WITH(sequence::parse_projection_kind("deep"), Contains("'deep'"));
}

TEMPLATE_TEST_CASE("feature projection: forward and forward_add against a host reference",
                   "[sequence][feature_projection]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  for (auto kind : {ProjectionKind::linear, ProjectionKind::mlp}) {
    INFO(sequence::to_string(kind));
    RandomSource rng(17);
    const auto x = random_features<T>(space, rng);
    ParameterSet<T, Space> params;
    sequence::FeatureProjection<T, Space> proj(space, params, "proj", x, kDim, config_of(kind));
    randomize(space, params, rng);
    const auto ref = reference(proj);

    // forward over an output full of garbage: every entry is written, row 0 with zeros.
    View2<T, Space> out("test::out", kRows, kDim);
    Kokkos::deep_copy(out, T(42));
    proj.forward(space, out);
    auto h = to_host(out);
    for (index_t r = 0; r < kRows; ++r)
      for (index_t k = 0; k < kDim; ++k) {
        INFO("row " << r << ", column " << k << ": " << h(r, k) << " vs " << ref[r][k]);
        CHECK(close<T>(double(h(r, k)), ref[r][k]));
      }
    for (index_t k = 0; k < kDim; ++k) CHECK(h(0, k) == T(0));

    // forward_add adds the same, leaving the padding row of the table as it was.
    View2<T, Space> table("test::table", kRows, kDim);
    fill_uniform(space, table, rng.next(), T(-1), T(1));
    const auto before = Kokkos::create_mirror(table);  // a copy even on host spaces (a mirror view would alias)
    Kokkos::deep_copy(before, table);
    proj.forward_add(space, table);
    auto after = to_host(table);
    for (index_t r = 0; r < kRows; ++r)
      for (index_t k = 0; k < kDim; ++k) CHECK(close<T>(double(after(r, k)), double(before(r, k)) + ref[r][k]));
    for (index_t k = 0; k < kDim; ++k) CHECK(after(0, k) == before(0, k));
  }
}

TEMPLATE_TEST_CASE("feature projection: init is small, biases zero", "[sequence][feature_projection]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  RandomSource rng(5);
  const auto x = random_features<T>(space, rng);
  ParameterSet<T, Space> params;
  sequence::FeatureProjection<T, Space> proj(space, params, "proj", x, kDim, config_of(ProjectionKind::mlp));
  randomize(space, params, rng);  // init must overwrite everything
  proj.init(space, rng.next());
  auto max_abs = [&](const auto& v) {
    const auto h = to_host(v);
    double m = 0;
    for (std::size_t i = 0; i < h.extent(0); ++i) m = std::max(m, std::abs(double(h(i))));
    return m;
  };
  const double glorot1 = std::sqrt(6.0 / double(kFeatures + kHidden)),
               glorot2 = std::sqrt(6.0 / double(kHidden + kDim));
  CHECK(max_abs(params["proj.fc1.weight"].value()) <= glorot1);
  CHECK(max_abs(params["proj.fc1.weight"].value()) > 0.1 * glorot1);
  CHECK(max_abs(params["proj.fc2.weight"].value()) <= 0.1 * glorot2);
  CHECK(max_abs(params["proj.fc2.weight"].value()) > 0);
  CHECK(max_abs(params["proj.fc1.bias"].value()) == 0);
  CHECK(max_abs(params["proj.fc2.bias"].value()) == 0);

  // The same stream gives the same weights; init_scale 0 gives a projection of zeros.
  ParameterSet<T, Space> again;
  sequence::FeatureProjection<T, Space> twin(space, again, "proj", x, kDim, config_of(ProjectionKind::mlp));
  twin.init(space, RandomSource(5).stream(1));
  proj.init(space, RandomSource(5).stream(1));
  const auto a = to_host(params["proj.fc2.weight"].value()), b = to_host(again["proj.fc2.weight"].value());
  for (std::size_t i = 0; i < a.extent(0); ++i) CHECK(a(i) == b(i));
  ParameterSet<T, Space> zp;
  auto zero = config_of(ProjectionKind::linear);
  zero.init_scale = 0;
  sequence::FeatureProjection<T, Space> z(space, zp, "z", x, kDim, zero);
  z.init(space, rng.next());
  View2<T, Space> out("test::out", kRows, kDim);
  z.forward(space, out);
  CHECK(max_abs(Kokkos::subview(to_host(out), 3, Kokkos::ALL)) == 0);
}

TEMPLATE_TEST_CASE("feature projection gradients match finite differences, padding row gets none",
                   "[sequence][feature_projection][grad]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  if constexpr (std::is_same_v<T, double>) {
    Space space;
    for (auto kind : {ProjectionKind::linear, ProjectionKind::mlp})
      for (bool through_add : {false, true}) {
        INFO(sequence::to_string(kind) << (through_add ? ", forward_add" : ", forward"));
        RandomSource rng(29);
        const auto x = random_features<T>(space, rng);
        ParameterSet<T, Space> params;
        sequence::FeatureProjection<T, Space> proj(space, params, "proj", x, kDim, config_of(kind));
        randomize(space, params, rng);
        // r's padding row is non-zero: were it passed on, the bias gradients would be off by it.
        View2<T, Space> y("test::y", kRows, kDim), base("test::base", kRows, kDim), r("test::r", kRows, kDim);
        fill_uniform(space, base, rng.next(), T(-1), T(1));
        fill_uniform(space, r, rng.next(), T(-1), T(1));
        auto loss = [&] {
          if (through_add) {
            Kokkos::deep_copy(space, y, base);
            proj.forward_add(space, y);
          } else {
            proj.forward(space, y);
          }
          return weighted_sum(space, y, r);
        };
        loss();
        params.zero_grad(space);
        proj.backward(space, r);
        for (const auto& p : params) check_gradient(space, p.value(), p.grad(), loss, p.name());

        // Backward accumulates: a second call doubles every gradient.
        std::vector<double> once;
        for (const auto& p : params) {
          const auto g = to_host(p.grad());
          for (std::size_t i = 0; i < g.extent(0); ++i) once.push_back(g(i));
        }
        proj.backward(space, r);
        std::size_t j = 0;
        for (const auto& p : params) {
          const auto g = to_host(p.grad());
          for (std::size_t i = 0; i < g.extent(0); ++i) CHECK(g(i) == Approx(2 * once[j++]).margin(1e-14));
        }
      }
  }
}

}  // namespace seqrec::test
