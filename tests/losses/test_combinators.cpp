#include "support/backends.hpp"

#include <seqrec/losses/combinators.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <cmath>
#include <ratio>

namespace sl = seqrec::losses;

TEST_CASE("sum and weighted combinators are exact", "[losses][multitask]") {
  const sl::TaskValues<3> losses{0.5, 2.0, 4.0};
  sl::Sum<3> sum;
  CHECK(sum.combine(losses) == 6.5);
  CHECK(sum.weights() == sl::TaskValues<3>{1, 1, 1});
  CHECK(sum.name() == "sum");

  sl::Weighted<3> w({1.0, 0.5, 0.25});
  CHECK(w.combine(losses) == 0.5 + 1.0 + 1.0);
  w.set_weights({2.0, 0.0, 1.0});
  CHECK(w.combine(losses) == 1.0 + 4.0);
  CHECK(w.weights() == sl::TaskValues<3>{2.0, 0.0, 1.0});
  CHECK_THROWS_AS(w.set_weights({1.0, -1.0, 1.0}), seqrec::Error);
  CHECK_THROWS_AS(w.set_weights({1.0, NAN, 1.0}), seqrec::Error);
  w.update(losses, {});  // fixed weights: nothing moves
  w.end_epoch(losses);
  CHECK(w.weights() == sl::TaskValues<3>{2.0, 0.0, 1.0});

  sl::FixedWeights<std::ratio<1>, std::ratio<1, 2>, std::ratio<3, 4>> f;
  static_assert(decltype(f)::num_tasks == 3);
  static_assert(decltype(f)::fixed[2] == 0.75);
  CHECK(f.combine(losses) == 0.5 + 1.0 + 3.0);
}

TEST_CASE("uncertainty weighting: value and log-variance gradient match finite differences", "[losses][multitask]") {
  using Kind = sl::TaskKind;
  sl::UncertaintyWeighting<3> u({Kind::classification, Kind::regression, Kind::classification}, 0.1);
  const sl::TaskValues<3> s{0.3, -0.7, 1.1}, losses{0.9, 2.5, 0.05};
  u.set_log_variances(s);
  const double total = u.combine(losses);
  const double ref = (std::exp(-0.3) * 0.9 + 0.3) + 0.5 * (std::exp(0.7) * 2.5 - 0.7) + (std::exp(-1.1) * 0.05 + 1.1);
  CHECK(total == Approx(ref).epsilon(1e-14));
  const auto grad = u.log_variance_gradient();
  const auto w = u.weights();
  CHECK(w[1] == Approx(0.5 * std::exp(0.7)));
  for (std::size_t k = 0; k < 3; ++k) {
    const double eps = 1e-6;
    auto up = s, down = s;
    up[k] += eps;
    down[k] -= eps;
    u.set_log_variances(up);
    const double lu = u.combine(losses);
    u.set_log_variances(down);
    const double ld = u.combine(losses);
    INFO("task " << k);
    CHECK(grad[k] == Approx((lu - ld) / (2 * eps)).epsilon(1e-7).margin(1e-9));
    // d total / d L_k is the weight that scales task k's gradient.
    auto lu2 = losses, ld2 = losses;
    lu2[k] += eps;
    ld2[k] -= eps;
    u.set_log_variances(s);
    const double a = u.combine(lu2), b = u.combine(ld2);
    CHECK(w[k] == Approx((a - b) / (2 * eps)).epsilon(1e-7));
  }
  // SGD on s converges to exp(s_k) = L_k (the optimum of a_k (exp(-s) L + s)).
  u.set_log_variances({0, 0, 0});
  for (int i = 0; i < 3000; ++i) u.update({0.9, 2.5, 0.5}, {});
  CHECK(std::exp(u.log_variances()[0]) == Approx(0.9).epsilon(1e-4));
  CHECK(std::exp(u.log_variances()[1]) == Approx(2.5).epsilon(1e-4));
  CHECK(std::exp(u.log_variances()[2]) == Approx(0.5).epsilon(1e-4));
  CHECK_THROWS_AS(u.combine({1.0, NAN, 1.0}), seqrec::Error);
}

TEST_CASE("dynamic weight average from known loss histories", "[losses][multitask]") {
  sl::DynamicWeightAverage<2> dwa(2.0);
  CHECK(dwa.weights() == sl::TaskValues<2>{1, 1});
  dwa.end_epoch({1.0, 1.0});
  CHECK(dwa.weights() == sl::TaskValues<2>{1, 1});  // one epoch: no ratio yet
  dwa.end_epoch({0.5, 0.9});                        // r = (0.5, 0.9)
  {
    const double e0 = std::exp(0.5 / 2), e1 = std::exp(0.9 / 2);
    CHECK(dwa.weights()[0] == Approx(2 * e0 / (e0 + e1)).epsilon(1e-14));
    CHECK(dwa.weights()[1] == Approx(2 * e1 / (e0 + e1)).epsilon(1e-14));
    CHECK(dwa.weights()[0] + dwa.weights()[1] == Approx(2.0));
    CHECK(dwa.weights()[1] > dwa.weights()[0]);  // the task that improved less gets more weight
  }
  dwa.end_epoch({0.25, 0.9});  // r = (0.5, 1.0)
  {
    const double e0 = std::exp(0.25), e1 = std::exp(0.5);
    CHECK(dwa.weights()[0] == Approx(2 * e0 / (e0 + e1)).epsilon(1e-14));
    CHECK(dwa.combine({1.0, 1.0}) == Approx(2.0));
  }
  // Equal ratios give equal weights whatever the temperature; a large temperature flattens.
  sl::DynamicWeightAverage<3> flat(1e6);
  flat.end_epoch({3, 2, 1});
  flat.end_epoch({1, 2, 3});
  for (double w : flat.weights()) CHECK(w == Approx(1.0).epsilon(1e-5));
  CHECK_THROWS_AS(sl::DynamicWeightAverage<2>(0.0), seqrec::Error);
}

TEST_CASE("GradNorm moves weights toward balanced gradient norms", "[losses][multitask]") {
  // alpha = 0: the target is equal G_k = w_k g_k. Task 0's gradient is 4x task 1's: w_0 must fall, w_1 rise.
  sl::GradNorm<2> gn(0.0, 0.01);
  const sl::TaskValues<2> norms{4.0, 1.0}, losses{1.0, 1.0};
  auto imbalance = [&] {
    const auto w = gn.weights();
    return std::abs(w[0] * norms[0] - w[1] * norms[1]);
  };
  const double before = imbalance();
  gn.update(losses, norms);
  CHECK(gn.started());
  CHECK(gn.weights()[0] < 1.0);
  CHECK(gn.weights()[1] > 1.0);
  CHECK(gn.weights()[0] + gn.weights()[1] == Approx(2.0));
  CHECK(imbalance() < before);
  for (int i = 0; i < 500; ++i) gn.update(losses, norms);
  // Balanced within the step size: w_0 * 4 ~ w_1 * 1 with w_0 + w_1 = 2 -> w_0 = 0.4, w_1 = 1.6.
  CHECK(gn.weights()[0] == Approx(0.4).margin(0.05));
  CHECK(gn.weights()[1] == Approx(1.6).margin(0.05));

  // alpha > 0: with equal norms, the task whose loss fell less (task 1) gets the larger weight.
  sl::GradNorm<2> slow(1.5, 0.01);
  slow.update({2.0, 2.0}, {1.0, 1.0});  // L(0)
  for (int i = 0; i < 20; ++i) slow.update({0.5, 1.8}, {1.0, 1.0});
  CHECK(slow.weights()[1] > slow.weights()[0]);
  CHECK(slow.initial_losses() == sl::TaskValues<2>{2.0, 2.0});
  CHECK_THROWS_AS(sl::GradNorm<2>().update({0.0, 1.0}, {1.0, 1.0}), seqrec::Error);
  CHECK_THROWS_AS(sl::GradNorm<2>().update({1.0, 1.0}, {NAN, 1.0}), seqrec::Error);
}

TEMPLATE_TEST_CASE("scale_gradients scales each task's upstream gradient by its weight; gradient_norm",
                   "[losses][multitask]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  seqrec::View2<T, Space> a("a", 3, 2);
  seqrec::View1<T, Space> b("b", 4);
  Kokkos::deep_copy(a, T(2));
  Kokkos::deep_copy(b, T(-1));
  sl::Weighted<2> w({0.5, 3.0});
  sl::scale_gradients(space, w, a, b);
  auto ha = seqrec::to_host(a);
  auto hb = seqrec::to_host(b);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 2; ++j) CHECK(ha(i, j) == T(1));
  for (int i = 0; i < 4; ++i) CHECK(hb(i) == T(-3));
  CHECK(sl::gradient_norm(space, a) == Approx(std::sqrt(6.0)).epsilon(seqrec::test::tolerance<T>()));
  CHECK(sl::gradient_norm(space, b) == Approx(6.0).epsilon(seqrec::test::tolerance<T>()));
  sl::Sum<2> s;  // weight 1: untouched
  sl::scale_gradients(space, s, a, b);
  CHECK(seqrec::to_host(b)(0) == T(-3));
  // A strided subview is refused rather than scaled wrongly.
  auto column = Kokkos::subview(a, Kokkos::ALL, 1);
  CHECK_THROWS_AS(sl::scale_view(space, column, 2.0), seqrec::Error);
}
