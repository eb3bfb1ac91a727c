#include "support/backends.hpp"
#include "support/gradcheck.hpp"

#include <seqrec/heads/dot_product.hpp>

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
  auto hs = seqrec::to_host(scores), hh = seqrec::to_host(hidden), he = seqrec::to_host(items.table());
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
