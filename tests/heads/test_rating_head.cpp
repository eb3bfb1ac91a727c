// RatingHead: predictions against a host reference, the masked MSE and its gradient, finite-difference
// gradients of hidden, w, b and the item embedding (double), accumulate, and shape errors.
#include "support/backends.hpp"
#include "support/gradcheck.hpp"

#include <seqrec/heads/rating_head.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

TEMPLATE_TEST_CASE("rating head: predictions, masked MSE and gradients", "[heads][grad][multitask]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  seqrec::ParameterSet<T, Space> params;
  seqrec::sequence::Embedding<T, Space> items(space, params, "items", 6, 3);
  items.init_normal(space, seqrec::RandomStream(3, 0), T(0.7));
  seqrec::heads::RatingHead<T, Space> head(space, params, "rating", 3);
  head.init(space, T(3.5));
  seqrec::fill_normal(space, head.weight().value(), seqrec::RandomStream(3, 1), T(1), T(0.3));
  const seqrec::index_t rows = 6;
  seqrec::View2<T, Space> hidden("hidden", rows, 3), dh("dh", rows, 3);
  seqrec::View1<T, Space> pred("pred", rows), dpred("dpred", rows), none;
  seqrec::fill_normal(space, hidden, seqrec::RandomStream(3, 2), T(0), T(1));
  // Rows: item 1 (rated 4), padding, item 2 (5), item 3 (rating unknown: NaN), item 4 (1), item 1 again (2).
  auto targets = seqrec::test::from_vector<Space, seqrec::id_t>({1, 0, 2, 3, 4, 1}, "targets");
  const T nan = std::numeric_limits<T>::quiet_NaN();
  auto ratings = seqrec::test::from_vector<Space, T>({4, 3, 5, nan, 1, 2}, "ratings");
  head.forward(space, hidden, targets, items, pred);
  const auto value = head.loss(space, pred, targets, ratings, dpred);
  CHECK(value.count == 4);

  auto hh = seqrec::to_host(hidden);
  auto he = seqrec::to_host(items.table());
  auto hw = seqrec::to_host(head.weight().value());
  auto hp = seqrec::to_host(pred);
  auto hd = seqrec::to_host(dpred);
  const int target[6] = {1, 0, 2, 3, 4, 1};
  const double rating[6] = {4, 3, 5, NAN, 1, 2};
  double ref = 0;
  for (int r = 0; r < 6; ++r) {
    double p = 0;
    if (target[r] != 0) {
      p = 3.5;
      for (int k = 0; k < 3; ++k) p += double(hh(r, k)) * double(hw(k)) * double(he(target[r], k));
    }
    CHECK(hp(r) == Approx(p).epsilon(seqrec::test::tolerance<T>()).margin(1e-6));
    const bool valid = target[r] != 0 && std::isfinite(rating[r]);
    if (valid) ref += (p - rating[r]) * (p - rating[r]);
    CHECK(hd(r) == Approx(valid ? 2 * (p - rating[r]) / 4 : 0.0).epsilon(seqrec::test::tolerance<T>()).margin(1e-6));
  }
  CHECK(value.value == Approx(ref / 4).epsilon(seqrec::test::tolerance<T>()));

  if constexpr (std::is_same_v<T, double>) {
    auto loss = [&] {
      head.forward(space, hidden, targets, items, pred);
      return head.loss(space, pred, targets, ratings, none).value;
    };
    params.zero_grad(space);
    loss();
    head.loss(space, pred, targets, ratings, dpred);
    head.backward(space, hidden, targets, items, dpred, dh);
    seqrec::test::check_gradient(space, hidden, dh, loss, "hidden");
    seqrec::test::check_gradient(space, head.weight().value(), head.weight().grad(), loss, "w");
    seqrec::test::check_gradient(space, head.bias().value(), head.bias().grad(), loss, "b");
    seqrec::test::check_gradient(space, items.parameter().value(), items.parameter().grad(), loss, "items");
    seqrec::View2<T, Space> acc("acc", rows, 3);
    Kokkos::deep_copy(acc, T(1));
    head.backward(space, hidden, targets, items, dpred, acc, true);
    auto ha = seqrec::to_host(acc);
    auto hdh = seqrec::to_host(dh);
    for (int r = 0; r < 6; ++r)
      for (int k = 0; k < 3; ++k) CHECK(ha(r, k) == Approx(1 + hdh(r, k)).epsilon(1e-12));
  }

  // Nothing rated: loss 0, gradient 0.
  auto unrated = seqrec::test::from_vector<Space, seqrec::id_t>({0, 0, 0, 3, 0, 0}, "unrated");  // row 3: NaN rating
  Kokkos::deep_copy(dpred, T(7));
  const auto empty = head.loss(space, pred, unrated, ratings, dpred);
  CHECK((empty.count == 0 && empty.value == 0));
  auto hz = seqrec::to_host(dpred);
  for (int r = 0; r < 6; ++r) CHECK(hz(r) == T(0));

  seqrec::View2<T, Space> wrong_hidden("wrong", rows, 2), wrong_dh("wrong", 5, 3);
  seqrec::View1<T, Space> wrong_pred("wrong", 5);
  CHECK_THROWS_AS(head.forward(space, wrong_hidden, targets, items, pred), seqrec::Error);
  CHECK_THROWS_AS(head.forward(space, hidden, targets, items, wrong_pred), seqrec::Error);
  CHECK_THROWS_AS(head.backward(space, hidden, targets, items, dpred, wrong_dh), seqrec::Error);
  CHECK_THROWS_AS(head.loss(space, wrong_pred, targets, ratings, dpred), seqrec::Error);
}
