#include "support/backends.hpp"

#include <seqrec/train/adagrad.hpp>
#include <seqrec/train/adam.hpp>
#include <seqrec/train/sgd.hpp>

#include <catch2/catch.hpp>

#include <cmath>

TEMPLATE_TEST_CASE("Adam follows the reference update and minimises a quadratic", "[train][adam]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  seqrec::ParameterSet<T, Space> params;
  auto w = params.add(space, "w", {3});
  Kokkos::deep_copy(w.value(), seqrec::test::from_vector<Space, T>({1, -2, 3}));
  seqrec::train::AdamConfig cfg;
  cfg.lr = 0.1;
  cfg.l2 = 0.01;
  seqrec::train::Adam<T, Space> adam(space, params, cfg);
  // Reference on the host, loss = 0.5 * |w - target|^2.
  const double target[3] = {0.5, 0.5, -1};
  double ref[3] = {1, -2, 3}, m[3] = {}, v[3] = {};
  for (int t = 1; t <= 300; ++t) {
    auto hw = seqrec::to_host(w.value());
    auto hg = Kokkos::create_mirror_view(w.grad());
    for (int j = 0; j < 3; ++j) hg(j) = hw(j) - T(target[j]);
    Kokkos::deep_copy(w.grad(), hg);
    adam.step(space);
    for (int j = 0; j < 3; ++j) {
      const double g = (ref[j] - target[j]) + 0.01 * ref[j];
      m[j] = 0.9 * m[j] + 0.1 * g;
      v[j] = 0.98 * v[j] + 0.02 * g * g;
      ref[j] -= 0.1 * (m[j] / (1 - std::pow(0.9, t))) / (std::sqrt(v[j] / (1 - std::pow(0.98, t))) + 1e-8);
    }
    if (t == 1 || t == 300) {
      auto now = seqrec::to_host(w.value());
      for (int j = 0; j < 3; ++j) CHECK(now(j) == Approx(ref[j]).epsilon(sizeof(T) == 4 ? 1e-4 : 1e-10).margin(1e-5));
    }
  }
  auto final_w = seqrec::to_host(w.value());
  for (int j = 0; j < 3; ++j) CHECK(final_w(j) == Approx(target[j] / 1.01).margin(0.02));
  CHECK(adam.steps() == 300);
  CHECK_THROWS_AS((seqrec::train::Adam<T, Space>(space, params, seqrec::train::AdamConfig{-1.0})), seqrec::Error);
}

TEMPLATE_TEST_CASE("Adam clips the global gradient norm", "[train][adam]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  seqrec::ParameterSet<T, Space> params;
  auto a = params.add(space, "a", {2});
  auto b = params.add(space, "b", {1});
  Kokkos::deep_copy(a.grad(), T(3));  // norm sqrt(9 + 9 + 16) = sqrt(34)
  Kokkos::deep_copy(b.grad(), T(4));
  seqrec::train::AdamConfig cfg;
  cfg.clip_norm = 1.0;
  seqrec::train::Adam<T, Space> adam(space, params, cfg);
  CHECK(adam.step(space) == Approx(std::sqrt(34.0)));
  // First Adam step moves each weight by about lr * sign(g) whatever the clip: check the moment instead.
  auto m = seqrec::to_host(adam.first_moment(1));
  CHECK(m(0) == Approx(0.1 * 4 / std::sqrt(34.0)).epsilon(1e-5));
}

TEMPLATE_TEST_CASE("SGD with momentum and Adagrad follow their reference updates", "[train][sgd][adagrad]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  STATIC_REQUIRE(seqrec::train::Optimizer<seqrec::train::Adam<T, Space>>);
  STATIC_REQUIRE(seqrec::train::Optimizer<seqrec::train::Sgd<T, Space>>);
  STATIC_REQUIRE(seqrec::train::Optimizer<seqrec::train::Adagrad<T, Space>>);
  Space space;
  const double target[3] = {0.5, 0.5, -1};
  auto run = [&](auto& opt, auto& params, auto& w, auto update) {
    double ref[3] = {1, -2, 3}, st[3] = {0.1, 0.1, 0.1};
    for (int t = 1; t <= 50; ++t) {
      auto hw = seqrec::to_host(w.value());
      auto hg = Kokkos::create_mirror_view(w.grad());
      for (int j = 0; j < 3; ++j) hg(j) = hw(j) - T(target[j]);
      Kokkos::deep_copy(w.grad(), hg);
      opt.step(space);
      for (int j = 0; j < 3; ++j) update(ref[j], st[j], ref[j] - target[j] + 0.01 * ref[j]);
    }
    auto now = seqrec::to_host(w.value());
    for (int j = 0; j < 3; ++j) CHECK(now(j) == Approx(ref[j]).epsilon(sizeof(T) == 4 ? 1e-4 : 1e-10).margin(1e-5));
    (void)params;
  };
  {
    seqrec::ParameterSet<T, Space> params;
    auto w = params.add(space, "w", {3});
    Kokkos::deep_copy(w.value(), seqrec::test::from_vector<Space, T>({1, -2, 3}));
    seqrec::train::SgdConfig cfg;
    cfg.lr = 0.05;
    cfg.momentum = 0.9;
    cfg.nesterov = true;
    cfg.l2 = 0.01;
    seqrec::train::Sgd<T, Space> sgd(space, params, cfg);
    run(sgd, params, w, [](double& x, double& v, double g) {
      v = (v == 0.1 ? 0.0 : v);  // velocity starts at zero
      v = 0.9 * v + g;
      x -= 0.05 * (g + 0.9 * v);
      if (v == 0.1) v = 0.1000000001;
    });
    CHECK(sgd.steps() == 50);
  }
  {
    seqrec::ParameterSet<T, Space> params;
    auto w = params.add(space, "w", {3});
    Kokkos::deep_copy(w.value(), seqrec::test::from_vector<Space, T>({1, -2, 3}));
    seqrec::train::AdagradConfig cfg;
    cfg.lr = 0.5;
    cfg.initial_accumulator = 0.1;
    cfg.l2 = 0.01;
    seqrec::train::Adagrad<T, Space> ada(space, params, cfg);
    run(ada, params, w, [](double& x, double& acc, double g) {
      acc += g * g;
      x -= 0.5 * g / (std::sqrt(acc) + 1e-10);
    });
  }
  seqrec::ParameterSet<T, Space> params;
  params.add(space, "w", {3});
  CHECK_THROWS_AS((seqrec::train::Sgd<T, Space>(space, params, seqrec::train::SgdConfig{0.1, 1.5})), seqrec::Error);
  CHECK_THROWS_AS((seqrec::train::Adagrad<T, Space>(space, params, seqrec::train::AdagradConfig{-1.0})), seqrec::Error);
}
