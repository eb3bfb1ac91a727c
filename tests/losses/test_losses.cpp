#include "support/backends.hpp"
#include "support/gradcheck.hpp"

#include <seqrec/losses/binary_cross_entropy.hpp>
#include <seqrec/losses/bpr.hpp>
#include <seqrec/losses/cross_entropy.hpp>
#include <seqrec/losses/gbce.hpp>
#include <seqrec/losses/mse.hpp>
#include <seqrec/losses/registry.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

TEMPLATE_TEST_CASE("binary cross-entropy with sampled negatives: value and gradient", "[losses][grad]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  // Row 1 has no target (padding): it contributes nothing. Row 2 has a padding negative.
  const int ids[3][3] = {{4, 2, 9}, {0, 3, 5}, {7, 0, 1}};
  const double s[3][3] = {{2.0, -1.0, 0.5}, {9.0, 9.0, 9.0}, {-0.3, 4.0, 30.0}};
  seqrec::View2<seqrec::id_t, Space> cand("cand", 3, 3);
  seqrec::View2<T, Space> scores("scores", 3, 3), ds("ds", 3, 3);
  auto hc = Kokkos::create_mirror_view(cand);
  auto hs = Kokkos::create_mirror_view(scores);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      hc(i, j) = ids[i][j];
      hs(i, j) = T(s[i][j]);
    }
  Kokkos::deep_copy(cand, hc);
  Kokkos::deep_copy(scores, hs);
  seqrec::losses::BinaryCrossEntropy<T, Space> bce;
  auto lv = bce.forward_backward(space, scores, cand, ds);
  auto ls = [](double x) { return -std::log1p(std::exp(-x)); };  // log sigmoid
  const double ref = (-(ls(2.0) + ls(1.0) + ls(-0.5)) - (ls(-0.3) + ls(-30.0))) / 2;
  CHECK(lv.count == 2);
  CHECK(lv.value == Approx(ref).epsilon(1e-5));
  auto hd = seqrec::to_host(ds);
  auto sig = [](double x) { return 1 / (1 + std::exp(-x)); };
  CHECK(hd(0, 0) == Approx((sig(2.0) - 1) / 2).epsilon(1e-5));
  CHECK(hd(0, 1) == Approx(sig(-1.0) / 2).epsilon(1e-5));
  CHECK(hd(1, 0) == T(0));
  CHECK(hd(2, 1) == T(0));
  CHECK(hd(2, 2) == Approx(sig(30.0) / 2).epsilon(1e-5));
  if constexpr (std::is_same_v<T, double>) {
    seqrec::View2<T, Space> none;
    auto loss = [&] { return bce.forward_backward(space, scores, cand, none).value; };
    seqrec::test::check_gradient(space, scores, ds, loss, "scores");
  }
}

// ---- softmax cross-entropy, pairwise ranking losses, mean squared error ----

namespace {

// A [rows, cols] view of Space filled from row-major host values (converted to V's value type).
template <class V, class Src>
V loss_test_view(const char* label, std::size_t rows, std::size_t cols, const Src& src) {
  V v(std::string(label), rows, cols);
  auto h = Kokkos::create_mirror_view(v);
  for (std::size_t i = 0; i < rows; ++i)
    for (std::size_t j = 0; j < cols; ++j) h(i, j) = typename V::value_type(src[i * cols + j]);
  Kokkos::deep_copy(v, h);
  return v;
}

// Host references in double, over the scores as stored in T.
double ref_log_sigmoid(double x) { return x >= 0 ? -std::log1p(std::exp(-x)) : x - std::log1p(std::exp(x)); }
double ref_sigmoid(double x) { return 1 / (1 + std::exp(-x)); }

// Negatives of row r (cand != 0, column > 0) as (score) list.
template <class HS, class HC>
std::vector<double> ref_negatives(const HS& hs, const HC& hc, int r) {
  std::vector<double> out;
  for (int c = 1; c < int(hc.extent(1)); ++c)
    if (hc(r, c) != 0) out.push_back(double(hs(r, c)));
  return out;
}

std::vector<double> ref_softmax(const std::vector<double>& x) {
  const double m = *std::max_element(x.begin(), x.end());
  double z = 0;
  for (double v : x) z += std::exp(v - m);
  std::vector<double> w;
  for (double v : x) w.push_back(std::exp(v - m) / z);
  return w;
}

enum class Pairwise { bpr, bpr_max, top1_max };

// Mean over counted rows of the pairwise losses, computed naively (no log-sum-exp for BPR-max).
template <class HS, class HC>
double ref_pairwise(Pairwise kind, const HS& hs, const HC& hc, double lambda, int* count) {
  double total = 0;
  *count = 0;
  for (int r = 0; r < int(hc.extent(0)); ++r) {
    const auto neg = ref_negatives(hs, hc, r);
    if (hc(r, 0) == 0 || neg.empty()) continue;
    ++*count;
    const double sp = double(hs(r, 0));
    const auto w = ref_softmax(neg);
    double l = 0;
    if (kind == Pairwise::bpr) {
      for (double sj : neg) l -= ref_log_sigmoid(sp - sj);
      l /= double(neg.size());
    } else if (kind == Pairwise::bpr_max) {
      double a = 0, reg = 0;
      for (std::size_t j = 0; j < neg.size(); ++j) {
        a += w[j] * ref_sigmoid(sp - neg[j]);
        reg += w[j] * neg[j] * neg[j];
      }
      l = -std::log(a) + lambda * reg;
    } else {
      for (std::size_t j = 0; j < neg.size(); ++j)
        l += w[j] * (ref_sigmoid(neg[j] - sp) + ref_sigmoid(neg[j] * neg[j]));
    }
    total += l;
  }
  return *count ? total / *count : 0;
}

}  // namespace

TEMPLATE_TEST_CASE("full softmax cross-entropy: value, gradient, padding rows, large logits", "[losses][grad]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  using V = seqrec::View2<T, Space>;
  Space space;
  const double ninf = -std::numeric_limits<double>::infinity();
  // 4 rows over 5 items (+ padding column 0, which must be ignored whatever it holds); row 2 is padding.
  const std::vector<double> s = {ninf, 0.5, -1.0, 2.0, 0.3, 0.0, 7.0, 1.5, 1.5, -0.7, -2.0, 3.0,
                                 9.0,  9.0, 9.0,  9.0, 9.0, 9.0, 3.0, 0.1, 0.2, 0.3,  0.4,  -0.5};
  const int t[4] = {3, 1, 0, 5};
  auto logits = loss_test_view<V>("logits", 4, 6, s);
  auto tv = seqrec::test::from_vector<Space, seqrec::id_t>({3, 1, 0, 5}, "targets");
  V dl("dl", 4, 6);
  seqrec::losses::CrossEntropy<T, Space> ce;
  const auto lv = ce.forward_backward(space, logits, tv, dl);
  auto hs = seqrec::to_host(logits);
  auto hd = seqrec::to_host(dl);
  double ref = 0;
  for (int r : {0, 1, 3}) {
    double m = -1e300, z = 0;
    for (int c = 1; c < 6; ++c) m = std::max(m, double(hs(r, c)));
    for (int c = 1; c < 6; ++c) z += std::exp(double(hs(r, c)) - m);
    ref += m + std::log(z) - double(hs(r, t[r]));
    for (int c = 0; c < 6; ++c) {
      const double g = c == 0 ? 0.0 : (std::exp(double(hs(r, c)) - m) / z - (c == t[r])) / 3;
      CHECK(hd(r, c) == Approx(g).epsilon(1e-5).margin(1e-7));
    }
  }
  CHECK(lv.count == 3);
  CHECK(lv.value == Approx(ref / 3).epsilon(1e-5));
  for (int c = 0; c < 6; ++c) CHECK(hd(2, c) == T(0));
  if constexpr (std::is_same_v<T, double>) {
    V none;
    auto loss = [&] { return ce.forward_backward(space, logits, tv, none).value; };
    seqrec::test::check_gradient(space, logits, dl, loss, "logits");
  }
  // Logits of +-1e4 stay finite.
  const std::vector<double> big = {0.0, 1e4, -1e4, 1e4 - 1, 0.0, -1e4, 1e4, -1e4};
  auto lb = loss_test_view<V>("big", 2, 4, big);
  V db("db", 2, 4);
  auto tb = seqrec::test::from_vector<Space, seqrec::id_t>({1, 1}, "tb");
  const auto lvb = ce.forward_backward(space, lb, tb, db);
  CHECK(std::isfinite(lvb.value));
  // Row 0: log(1 + e^-1); row 1: target at -1e4 against a 1e4 logit: 2e4.
  CHECK(lvb.value == Approx((std::log1p(std::exp(-1.0)) + 2e4) / 2).epsilon(1e-6));
  auto hdb = seqrec::to_host(db);
  for (int i = 0; i < 8; ++i) CHECK(std::isfinite(double(hdb.data()[i])));
  CHECK(hdb(1, 1) == Approx(-0.5).epsilon(1e-6));
  // Errors: logits rows vs targets, dlogits shape, target out of range.
  V wrong("wrong", 3, 6);
  CHECK_THROWS_AS(ce.forward_backward(space, wrong, tv, V()), seqrec::Error);
  CHECK_THROWS_AS(ce.forward_backward(space, logits, tv, wrong), seqrec::Error);
  Kokkos::deep_copy(Kokkos::subview(tv, 1), 6);
  try {
    ce.forward_backward(space, logits, tv, V());
    FAIL("no error for a target out of range");
  } catch (const seqrec::Error& e) {
    CHECK(e.code() == seqrec::Errc::out_of_range);
    CHECK_THAT(e.message(), Catch::Contains("target 6 of row 1"));
  }
}

TEMPLATE_TEST_CASE("sampled softmax with and without the log-Q correction", "[losses][grad]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  using V = seqrec::View2<T, Space>;
  Space space;
  // Row 1 is padding; row 2 has a padded negative.
  const std::vector<int> ids = {4, 2, 9, 1, 0, 3, 5, 8, 7, 0, 1, 6};
  const std::vector<double> s = {2.0, -1.0, 0.5, 1.0, 9.0, 9.0, 9.0, 9.0, -0.3, 4.0, 3.0, -2.0};
  const std::vector<double> q = {-1.0, -2.0, -0.5, -3.0, -1.0, -1.0, -1.0, -1.0, -2.5, -0.1, -1.2, -4.0};
  auto cand = loss_test_view<seqrec::View2<seqrec::id_t, Space>>("cand", 3, 4, ids);
  auto scores = loss_test_view<V>("scores", 3, 4, s);
  auto logq = loss_test_view<V>("logq", 3, 4, q);
  V ds("ds", 3, 4), none;
  seqrec::losses::SampledSoftmax<T, Space> ss;
  auto hs = seqrec::to_host(scores);
  auto hq = seqrec::to_host(logq);
  for (bool corrected : {false, true}) {
    INFO("log-Q correction: " << corrected);
    const auto lv =
        corrected ? ss.forward_backward(space, scores, cand, logq, ds) : ss.forward_backward(space, scores, cand, ds);
    auto hd = seqrec::to_host(ds);
    double ref = 0;
    for (int r : {0, 2}) {
      std::vector<double> z;
      std::vector<int> cols;
      for (int c = 0; c < 4; ++c)
        if (ids[r * 4 + c] != 0) {
          z.push_back(double(hs(r, c)) - (corrected ? double(hq(r, c)) : 0.0));
          cols.push_back(c);
        }
      double m = *std::max_element(z.begin(), z.end()), se = 0;
      for (double v : z) se += std::exp(v - m);
      ref += m + std::log(se) - z[0];
      for (std::size_t j = 0; j < z.size(); ++j)
        CHECK(hd(r, cols[j]) == Approx((std::exp(z[j] - m) / se - (j == 0)) / 2).epsilon(1e-5).margin(1e-7));
    }
    CHECK(lv.count == 2);
    CHECK(lv.value == Approx(ref / 2).epsilon(1e-6));
    CHECK(hd(2, 1) == T(0));
    for (int c = 0; c < 4; ++c) CHECK(hd(1, c) == T(0));
    if constexpr (std::is_same_v<T, double>) {
      auto loss = [&] {
        return (corrected ? ss.forward_backward(space, scores, cand, logq, none)
                          : ss.forward_backward(space, scores, cand, none))
            .value;
      };
      seqrec::test::check_gradient(space, scores, ds, loss, "scores");
    }
  }
  const std::vector<double> big = {-1e4, 1e4, 1e4, -1e4, 1e4, -1e4, 0, 0, 0, 0, 0, 0};
  auto sb = loss_test_view<V>("big", 3, 4, big);
  const auto lvb = ss.forward_backward(space, sb, cand, ds);
  CHECK(std::isfinite(lvb.value));
  CHECK(lvb.value == Approx((2e4 + std::log(2.0) + std::log(3.0)) / 2).epsilon(1e-6));
  CHECK_THROWS_AS(ss.forward_backward(space, V("wrong", 3, 3), cand, none), seqrec::Error);
  CHECK_THROWS_AS(ss.forward_backward(space, scores, cand, V("wrong", 2, 4), ds), seqrec::Error);
  CHECK_THROWS_AS(ss.forward_backward(space, scores, cand, V("wrong", 3, 5)), seqrec::Error);
}

TEMPLATE_TEST_CASE("BPR, BPR-max and TOP1-max: value, gradient, padding, large scores", "[losses][grad]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  using V = seqrec::View2<T, Space>;
  Space space;
  // Row 1: padding (no positive); row 2: one padded negative; row 3: no negatives at all (not counted).
  const std::vector<int> ids = {4, 2, 9, 1, 0, 3, 5, 8, 7, 0, 1, 6, 3, 0, 0, 0, 5, 6, 7, 8};
  const std::vector<double> s = {1.2, -1.0, 0.5, 1.0, 9.0, 9.0, 9.0,  9.0,  -0.3, 4.0,
                                 0.8, -1.5, 2.0, 1.0, 1.0, 1.0, 0.25, 0.75, -0.4, 1.1};
  auto cand = loss_test_view<seqrec::View2<seqrec::id_t, Space>>("cand", 5, 4, ids);
  auto scores = loss_test_view<V>("scores", 5, 4, s);
  V ds("ds", 5, 4), none;
  auto hs = seqrec::to_host(scores);
  auto hc = seqrec::to_host(cand);
  const double lambda = 0.5;
  const seqrec::losses::Bpr<T, Space> bpr;
  const seqrec::losses::BprMax<T, Space> bpr_max(T(0.5));
  const seqrec::losses::Top1Max<T, Space> top1_max;
  auto run = [&](Pairwise kind, V scores_, V ds_) {
    switch (kind) {
      case Pairwise::bpr:
        return bpr.forward_backward(space, scores_, cand, ds_);
      case Pairwise::bpr_max:
        return bpr_max.forward_backward(space, scores_, cand, ds_);
      default:
        return top1_max.forward_backward(space, scores_, cand, ds_);
    }
  };
  for (auto kind : {Pairwise::bpr, Pairwise::bpr_max, Pairwise::top1_max}) {
    INFO("loss " << int(kind));
    const auto lv = run(kind, scores, ds);
    int count = 0;
    const double ref = ref_pairwise(kind, hs, hc, lambda, &count);
    CHECK(lv.count == 3);
    CHECK(count == 3);
    CHECK(lv.value == Approx(ref).epsilon(1e-5));
    auto hd = seqrec::to_host(ds);
    for (int c = 0; c < 4; ++c) {
      CHECK(hd(1, c) == T(0));
      CHECK(hd(3, c) == T(0));
    }
    CHECK(hd(2, 1) == T(0));
    if constexpr (std::is_same_v<T, double>) {
      auto loss = [&] { return run(kind, scores, none).value; };
      seqrec::test::check_gradient(space, scores, ds, loss, "scores");
    } else {
      // float gradient against the double host reference, by central differences of the reference.
      const double eps = 1e-4;
      auto hsd = Kokkos::View<double**, Kokkos::HostSpace>("hsd", 5, 4);
      for (int i = 0; i < 5; ++i)
        for (int j = 0; j < 4; ++j) hsd(i, j) = double(hs(i, j));
      for (int i : {0, 2, 4})
        for (int j = 0; j < 4; ++j) {
          const double x0 = hsd(i, j);
          hsd(i, j) = x0 + eps;
          const double up = ref_pairwise(kind, hsd, hc, lambda, &count);
          hsd(i, j) = x0 - eps;
          const double down = ref_pairwise(kind, hsd, hc, lambda, &count);
          hsd(i, j) = x0;
          CHECK(hd(i, j) == Approx((up - down) / (2 * eps)).epsilon(1e-3).margin(1e-5));
        }
    }
    // Scores of +-1e4 stay finite.
    const std::vector<double> big = {1e4, -1e4, 1e4, -1e4, 0, 0, 0,    0,   -1e4, 1e4,
                                     1e4, -1e4, 1e4, 0,    0, 0, -1e4, 1e4, 1e4,  -1e4};
    auto sb = loss_test_view<V>("big", 5, 4, big);
    V db("db", 5, 4);
    const auto lvb = run(kind, sb, db);
    CHECK(std::isfinite(lvb.value));
    auto hdb = seqrec::to_host(db);
    for (int i = 0; i < 20; ++i) CHECK(std::isfinite(double(hdb.data()[i])));
    CHECK_THROWS_AS(run(kind, V("wrong", 5, 3), none), seqrec::Error);
    CHECK_THROWS_AS(run(kind, scores, V("wrong", 4, 4)), seqrec::Error);
  }
  CHECK_THROWS_AS((seqrec::losses::BprMax<T, Space>(T(-1))), seqrec::Error);
}

TEMPLATE_TEST_CASE("mean squared error with a row mask", "[losses][grad]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  using V = seqrec::View1<T, Space>;
  Space space;
  auto pred = seqrec::test::from_vector<Space, T>({T(3.5), T(1.0), T(4.25), T(2.0)}, "pred");
  auto target = seqrec::test::from_vector<Space, T>({T(4), T(5), T(4), T(1)}, "target");
  auto mask = seqrec::test::from_vector<Space, T>({T(1), T(0), T(2), T(1)}, "mask");
  V dp("dp", 4), none;
  seqrec::losses::MeanSquaredError<T, Space> mse;
  auto lv = mse.forward_backward(space, pred, target, mask, dp);
  CHECK(lv.count == 3);
  CHECK(lv.value == Approx((0.25 + 2 * 0.0625 + 1.0) / 3).epsilon(1e-6));
  auto hd = seqrec::to_host(dp);
  CHECK(hd(0) == Approx(2 * -0.5 / 3).epsilon(1e-6));
  CHECK(hd(1) == T(0));
  CHECK(hd(2) == Approx(2 * 2 * 0.25 / 3).epsilon(1e-6));
  CHECK(hd(3) == Approx(2 * 1.0 / 3).epsilon(1e-6));
  lv = mse.forward_backward(space, pred, target, dp);
  CHECK(lv.count == 4);
  CHECK(lv.value == Approx((0.25 + 16 + 0.0625 + 1.0) / 4).epsilon(1e-6));
  if constexpr (std::is_same_v<T, double>) {
    mse.forward_backward(space, pred, target, mask, dp);
    auto loss = [&] { return mse.forward_backward(space, pred, target, mask, none).value; };
    seqrec::test::check_gradient(space, pred, dp, loss, "pred");
  }
  auto zero = seqrec::test::from_vector<Space, T>({T(0), T(0), T(0), T(0)}, "zero");
  lv = mse.forward_backward(space, pred, target, zero, dp);
  CHECK(lv.count == 0);
  CHECK(lv.value == 0.0);
  CHECK(seqrec::to_host(dp)(0) == T(0));
  CHECK_THROWS_AS(mse.forward_backward(space, pred, V("short", 3), none), seqrec::Error);
  CHECK_THROWS_AS(mse.forward_backward(space, pred, target, V("short", 3), none), seqrec::Error);
  CHECK_THROWS_AS(mse.forward_backward(space, pred, target, V("short", 3)), seqrec::Error);
}

// ---- gBCE, the per-item log-Q table, the registry ----

TEMPLATE_TEST_CASE("gBCE: value and gradient, beta 1 is BCE, beta from the sampling rate", "[losses][grad]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  using V = seqrec::View2<T, Space>;
  Space space;
  const std::vector<int> ids = {4, 2, 9, 0, 3, 5, 7, 0, 1};
  const std::vector<double> s = {2.0, -1.0, 0.5, 9.0, 9.0, 9.0, -0.3, 4.0, 30.0};
  auto cand = loss_test_view<seqrec::View2<seqrec::id_t, Space>>("cand", 3, 3, ids);
  auto scores = loss_test_view<V>("scores", 3, 3, s);
  V ds("ds", 3, 3), dbce("dbce", 3, 3), none;
  const double beta = 0.3;
  seqrec::losses::GeneralizedBce<T, Space> g(beta);
  const auto lv = g.forward_backward(space, scores, cand, ds);
  const double ref = (-(beta * ref_log_sigmoid(2.0) + ref_log_sigmoid(1.0) + ref_log_sigmoid(-0.5)) -
                      (beta * ref_log_sigmoid(-0.3) + ref_log_sigmoid(-30.0))) /
                     2;
  CHECK(lv.count == 2);
  CHECK(lv.value == Approx(ref).epsilon(1e-5));
  auto hd = seqrec::to_host(ds);
  CHECK(hd(0, 0) == Approx(beta * (ref_sigmoid(2.0) - 1) / 2).epsilon(1e-5));
  CHECK(hd(0, 1) == Approx(ref_sigmoid(-1.0) / 2).epsilon(1e-5));
  for (int c = 0; c < 3; ++c) CHECK(hd(1, c) == T(0));
  CHECK(hd(2, 1) == T(0));
  if constexpr (std::is_same_v<T, double>) {
    auto loss = [&] { return g.forward_backward(space, scores, cand, none).value; };
    seqrec::test::check_gradient(space, scores, ds, loss, "scores");
  }
  // beta = 1 is BinaryCrossEntropy exactly.
  const auto one = seqrec::losses::GeneralizedBce<T, Space>(1.0).forward_backward(space, scores, cand, ds);
  const auto bce = seqrec::losses::BinaryCrossEntropy<T, Space>().forward_backward(space, scores, cand, dbce);
  CHECK(one.value == Approx(bce.value).epsilon(1e-12));
  auto h1 = seqrec::to_host(ds);
  auto hb = seqrec::to_host(dbce);
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c) CHECK(h1(r, c) == hb(r, c));
  // gSASRec's beta: alpha (t (1 - 1/alpha) + 1/alpha), alpha = K / (N - 1); t = 0 gives 1, t = 1 gives alpha.
  CHECK(seqrec::losses::GeneralizedBce<T, Space>::for_sampling(256, 10001, 0.75).beta() ==
        Approx(0.0256 * (0.75 * (1 - 1 / 0.0256) + 1 / 0.0256)));
  CHECK(seqrec::losses::GeneralizedBce<T, Space>::for_sampling(10, 101, 0.0).beta() == Approx(1.0));
  CHECK(seqrec::losses::GeneralizedBce<T, Space>::for_sampling(10, 101, 1.0).beta() == Approx(0.1));
  using G = seqrec::losses::GeneralizedBce<T, Space>;
  CHECK_THROWS_AS(G(0.0), seqrec::Error);
  CHECK_THROWS_AS(G::for_sampling(10, 101, 1.5), seqrec::Error);
  CHECK_THROWS_AS(g.forward_backward(space, V("wrong", 3, 2), cand, none), seqrec::Error);
}

TEMPLATE_TEST_CASE("sampled softmax: a per-item log-Q table is the per-candidate correction by id", "[losses][grad]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  using V = seqrec::View2<T, Space>;
  Space space;
  const std::vector<int> ids = {4, 2, 9, 1, 0, 3, 5, 8, 7, 0, 1, 6};
  const std::vector<double> s = {2.0, -1.0, 0.5, 1.0, 9.0, 9.0, 9.0, 9.0, -0.3, 4.0, 3.0, -2.0};
  std::vector<T> item_q(10);
  for (int i = 0; i < 10; ++i) item_q[std::size_t(i)] = T(-0.3 * i - 1);  // log Q(i) of a skewed sampler
  std::vector<double> per_cand(ids.size());
  for (std::size_t j = 0; j < ids.size(); ++j) per_cand[j] = double(item_q[std::size_t(ids[j])]);
  auto cand = loss_test_view<seqrec::View2<seqrec::id_t, Space>>("cand", 3, 4, ids);
  auto scores = loss_test_view<V>("scores", 3, 4, s);
  auto logq = loss_test_view<V>("logq", 3, 4, per_cand);
  V by_id("by_id", 3, 4), by_cand("by_cand", 3, 4), plain("plain", 3, 4);
  const seqrec::losses::SampledSoftmax<T, Space> table(seqrec::test::from_vector<Space>(item_q, "item_q"));
  const seqrec::losses::SampledSoftmax<T, Space> none;
  const auto a = table.forward_backward(space, scores, cand, by_id);
  const auto b = none.forward_backward(space, scores, cand, logq, by_cand);
  const auto c = none.forward_backward(space, scores, cand, plain);
  CHECK(a.value == b.value);
  CHECK(a.value != Approx(c.value));  // the correction matters for a skewed sampler
  auto ha = seqrec::to_host(by_id);
  auto hb = seqrec::to_host(by_cand);
  for (int r = 0; r < 3; ++r)
    for (int k = 0; k < 4; ++k) CHECK(ha(r, k) == hb(r, k));
  // The registry hands the options' table to the loss.
  seqrec::losses::LossOptions<T, Space> o;
  o.item_log_q = seqrec::test::from_vector<Space>(item_q, "item_q");
  const auto made = seqrec::losses::make_loss(std::type_identity<seqrec::losses::SampledSoftmax<T, Space>>{}, o);
  CHECK(made.item_log_q().data() == o.item_log_q.data());
}

TEMPLATE_TEST_CASE("the registry: every loss has a distinct name and satisfies its concept", "[losses]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  std::vector<std::string> names;
  seqrec::for_each_type(seqrec::losses::Losses<T, Space>{}, [&](auto id) {
    using L = typename decltype(id)::type;
    STATIC_REQUIRE(seqrec::losses::Loss<L>);
    STATIC_REQUIRE(seqrec::losses::CandidateLoss<L> != seqrec::losses::CatalogueLoss<L>);
    names.push_back(L::name);
  });
  CHECK(names.size() == seqrec::losses::Losses<T, Space>::size);
  std::sort(names.begin(), names.end());
  CHECK(std::adjacent_find(names.begin(), names.end()) == names.end());
  STATIC_REQUIRE(seqrec::losses::VisitableLoss<seqrec::losses::RuntimeLoss<T, Space>>);
  STATIC_REQUIRE(!seqrec::losses::Loss<seqrec::losses::LossValue>);
}
