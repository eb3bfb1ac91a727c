#include "support/backends.hpp"
#include "support/gradcheck.hpp"

#include <seqrec/heads/dot_product.hpp>
#include <seqrec/heads/head.hpp>

#include <catch2/catch.hpp>

TEMPLATE_TEST_CASE("dot-product head scores candidates and back-propagates to both sides", "[heads][grad]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  seqrec::ParameterSet<T, Space> params;
  seqrec::sequence::Embedding<T, Space> items(space, params, "items", 7, 3);
  items.init_normal(space, seqrec::RandomStream(4, 1), T(1));
  seqrec::View2<T, Space> hidden("hidden", 4, 3), scores("scores", 4, 3), r("r", 4, 3), dh("dh", 4, 3);
  seqrec::fill_normal(space, hidden, seqrec::RandomStream(4, 2), T(0), T(1));
  seqrec::fill_uniform(space, r, seqrec::RandomStream(4, 3), T(-1), T(1));
  seqrec::View2<seqrec::id_t, Space> cand("cand", 4, 3);
  auto hc = Kokkos::create_mirror_view(cand);
  const int ids[4][3] = {{1, 5, 6}, {2, 2, 0}, {0, 3, 4}, {6, 1, 1}};
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 3; ++j) hc(i, j) = ids[i][j];
  Kokkos::deep_copy(cand, hc);
  seqrec::heads::DotProduct<T, Space> head;
  head.forward(space, hidden, cand, scores, items);
  auto hs = seqrec::to_host(scores), hh = seqrec::to_host(hidden);
  auto he = seqrec::to_host(items.table());  // another view type (unmanaged): its own declaration for nvcc
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 3; ++j) {
      double ref = 0;
      for (int k = 0; k < 3; ++k) ref += double(hh(i, k)) * (ids[i][j] ? he(ids[i][j], k) : 0.0);
      CHECK(hs(i, j) == Approx(ref).epsilon(seqrec::test::tolerance<T>()).margin(1e-6));
    }
  CHECK(hs(1, 2) == T(0));
  if constexpr (std::is_same_v<T, double>) {
    auto loss = [&] {
      head.forward(space, hidden, cand, scores, items);
      return seqrec::test::weighted_sum(space, scores, r);
    };
    loss();
    params.zero_grad(space);
    head.backward(space, hidden, cand, r, dh, items);
    seqrec::test::check_gradient(space, hidden, dh, loss, "hidden");
    seqrec::test::check_gradient(space, items.parameter().value(), items.parameter().grad(), loss, "items");
  }
}

// ---- full softmax over the whole item table ----

#include <seqrec/heads/full_softmax.hpp>
#include <seqrec/losses/cross_entropy.hpp>

#include <cmath>

TEMPLATE_TEST_CASE("full-softmax head scores every item, masks padding and back-propagates through gemm",
                   "[heads][grad]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  seqrec::ParameterSet<T, Space> params;
  seqrec::sequence::Embedding<T, Space> items(space, params, "items", 6, 3);  // 5 items + padding
  items.init_normal(space, seqrec::RandomStream(5, 1), T(1));
  seqrec::View2<T, Space> hidden("hidden", 4, 3), logits("logits", 4, 6), r("r", 4, 6), dh("dh", 4, 3);
  seqrec::fill_normal(space, hidden, seqrec::RandomStream(5, 2), T(0), T(1));
  seqrec::fill_uniform(space, r, seqrec::RandomStream(5, 3), T(-1), T(1));
  seqrec::heads::FullSoftmax<T, Space> head;
  head.forward(space, hidden, logits, items);
  auto hl = seqrec::to_host(logits);
  auto hh = seqrec::to_host(hidden);
  auto he = seqrec::to_host(items.table());
  for (int i = 0; i < 4; ++i) {
    CHECK(std::isinf(double(hl(i, 0))));
    CHECK(hl(i, 0) < T(0));
    for (int j = 1; j < 6; ++j) {
      double ref = 0;
      for (int k = 0; k < 3; ++k) ref += double(hh(i, k)) * double(he(j, k));
      CHECK(hl(i, j) == Approx(ref).epsilon(seqrec::test::tolerance<T>()).margin(1e-6));
    }
  }
  // Backward against host references: dhidden = dlogits E, dE = dlogits^T hidden (column / row 0 left out).
  params.zero_grad(space);
  head.backward(space, hidden, r, dh, items);
  auto hr = seqrec::to_host(r);
  auto hdh = seqrec::to_host(dh);
  auto hg = seqrec::to_host(items.grad());
  for (int i = 0; i < 4; ++i)
    for (int k = 0; k < 3; ++k) {
      double ref = 0;
      for (int j = 1; j < 6; ++j) ref += double(hr(i, j)) * double(he(j, k));
      CHECK(hdh(i, k) == Approx(ref).epsilon(seqrec::test::tolerance<T>()).margin(1e-6));
    }
  for (int k = 0; k < 3; ++k) CHECK(hg(0, k) == T(0));
  for (int j = 1; j < 6; ++j)
    for (int k = 0; k < 3; ++k) {
      double ref = 0;
      for (int i = 0; i < 4; ++i) ref += double(hr(i, j)) * double(hh(i, k));
      CHECK(hg(j, k) == Approx(ref).epsilon(seqrec::test::tolerance<T>()).margin(1e-6));
    }
  if constexpr (std::is_same_v<T, double>) {
    // Through the full cross-entropy, so the -inf padding column is exercised end to end; row 2 is padding.
    auto targets = seqrec::test::from_vector<Space, seqrec::id_t>({2, 5, 0, 1}, "targets");
    seqrec::losses::CrossEntropy<T, Space> ce;
    seqrec::View2<T, Space> dl("dl", 4, 6), none;
    auto loss = [&] {
      head.forward(space, hidden, logits, items);
      return ce.forward_backward(space, logits, targets, none).value;
    };
    head.forward(space, hidden, logits, items);
    ce.forward_backward(space, logits, targets, dl);
    params.zero_grad(space);
    head.backward(space, hidden, dl, dh, items);
    seqrec::test::check_gradient(space, hidden, dh, loss, "hidden");
    seqrec::test::check_gradient(space, items.parameter().value(), items.parameter().grad(), loss, "items");
  }
  seqrec::View2<T, Space> wrong_logits("wrong", 4, 5), wrong_hidden("wrong", 4, 2), wrong_dh("wrong", 3, 3);
  CHECK_THROWS_AS(head.forward(space, hidden, wrong_logits, items), seqrec::Error);
  CHECK_THROWS_AS(head.forward(space, wrong_hidden, logits, items), seqrec::Error);
  CHECK_THROWS_AS(head.backward(space, hidden, wrong_logits, dh, items), seqrec::Error);
  CHECK_THROWS_AS(head.backward(space, hidden, r, wrong_dh, items), seqrec::Error);
}

TEMPLATE_TEST_CASE("dot-product head against every item: forward_all and backward_all", "[heads][grad]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  seqrec::ParameterSet<T, Space> params;
  seqrec::sequence::Embedding<T, Space> items(space, params, "items", 7, 4);  // 6 items + padding
  items.init_normal(space, seqrec::RandomStream(8, 1), T(1));
  seqrec::View2<T, Space> hidden("hidden", 5, 4), all("all", 5, 7), dh("dh", 5, 4), r("r", 5, 7);
  seqrec::fill_normal(space, hidden, seqrec::RandomStream(8, 2), T(0), T(1));
  seqrec::fill_uniform(space, r, seqrec::RandomStream(8, 3), T(-1), T(1));
  STATIC_REQUIRE(seqrec::heads::Head<seqrec::heads::DotProduct<T, Space>>);
  seqrec::heads::DotProduct<T, Space> head;
  head.forward_all(space, hidden, all, items);
  // The same scores as forward over candidates 0..6 of every row (0: padding scores 0).
  seqrec::View2<seqrec::id_t, Space> cand("cand", 5, 7);
  auto hc = Kokkos::create_mirror_view(cand);
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 7; ++j) hc(i, j) = j;
  Kokkos::deep_copy(cand, hc);
  seqrec::View2<T, Space> some("some", 5, 7);
  head.forward(space, hidden, cand, some, items);
  auto ha = seqrec::to_host(all);
  auto hs = seqrec::to_host(some);
  for (int i = 0; i < 5; ++i) {
    CHECK(ha(i, 0) == T(0));
    for (int j = 1; j < 7; ++j) CHECK(ha(i, j) == Approx(double(hs(i, j))).epsilon(10 * seqrec::test::tolerance<T>()));
  }
  if constexpr (std::is_same_v<T, double>) {
    auto loss = [&] {
      head.forward_all(space, hidden, all, items);
      return seqrec::test::weighted_sum(space, all, r);
    };
    params.zero_grad(space);
    head.backward_all(space, hidden, r, dh, items);
    auto hg = seqrec::to_host(items.grad());
    for (int k = 0; k < 4; ++k) CHECK(hg(0, k) == T(0));  // the padding row takes no gradient
    // Column 0 of the upstream gradient is ignored, so the check zeroes it in r as the head does.
    Kokkos::deep_copy(space, Kokkos::subview(r, Kokkos::ALL, 0), T(0));
    seqrec::test::check_gradient(space, hidden, dh, loss, "hidden");
    seqrec::test::check_gradient(space, items.parameter().value(), items.parameter().grad(), loss, "items");
  }
  seqrec::View2<T, Space> wrong("wrong", 5, 6);
  CHECK_THROWS_AS(head.forward_all(space, hidden, wrong, items), seqrec::Error);
  CHECK_THROWS_AS(head.backward_all(space, hidden, wrong, dh, items), seqrec::Error);
}
