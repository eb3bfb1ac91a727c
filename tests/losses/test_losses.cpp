#include "support/backends.hpp"
#include "support/gradcheck.hpp"

#include <seqrec/losses/binary_cross_entropy.hpp>

#include <catch2/catch.hpp>

#include <cmath>

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
