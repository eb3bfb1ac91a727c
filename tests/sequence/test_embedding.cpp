#include "support/backends.hpp"
#include "support/gradcheck.hpp"

#include <seqrec/sequence/embedding.hpp>
#include <seqrec/sequence/positional.hpp>

#include <catch2/catch.hpp>

namespace {
template <class Space>
seqrec::View2<seqrec::id_t, Space> make_ids(std::initializer_list<std::initializer_list<int>> rows) {
  seqrec::View2<seqrec::id_t, Space> ids("ids", rows.size(), rows.begin()->size());
  auto h = Kokkos::create_mirror_view(ids);
  int b = 0;
  for (auto r : rows) {
    int t = 0;
    for (int v : r) h(b, t++) = v;
    ++b;
  }
  Kokkos::deep_copy(ids, h);
  return ids;
}
}  // namespace

TEMPLATE_TEST_CASE("embedding looks up scaled rows, zeros padding, scatter-adds gradients", "[sequence][embedding]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  seqrec::ParameterSet<T, Space> params;
  seqrec::sequence::Embedding<T, Space> emb(space, params, "items", 5, 3);
  emb.init_normal(space, seqrec::RandomStream(1, 1), T(1));
  auto ids = make_ids<Space>({{0, 2, 2}, {4, 0, 2}});
  seqrec::View3<T, Space> out("out", 2, 3, 3);
  emb.forward(space, ids, out, T(2));
  auto h = seqrec::to_host(out);
  auto tab = seqrec::to_host(emb.table());
  for (int k = 0; k < 3; ++k) {
    CHECK(tab(0, k) == T(0));  // padding row zeroed after init
    CHECK(h(0, 0, k) == T(0));
    CHECK(h(0, 1, k) == T(2) * tab(2, k));
    CHECK(h(1, 0, k) == T(2) * tab(4, k));
  }
  seqrec::View3<T, Space> dout("dout", 2, 3, 3);
  Kokkos::deep_copy(dout, T(1));
  emb.backward(space, ids, dout, T(2));
  auto g = seqrec::to_host(emb.grad());
  CHECK(g(0, 0) == T(0));
  CHECK(g(2, 1) == T(6));  // three occurrences of item 2, scale 2
  CHECK(g(4, 2) == T(2));
  CHECK(g(1, 0) == T(0));
  CHECK_THROWS_AS(emb.forward(space, ids, seqrec::View3<T, Space>("bad", 2, 3, 4), T(1)), seqrec::Error);
}

TEMPLATE_TEST_CASE("embedding and positional gradients match finite differences", "[sequence][embedding][grad]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  if constexpr (std::is_same_v<T, double>) {
    Space space;
    seqrec::ParameterSet<T, Space> params;
    seqrec::sequence::Embedding<T, Space> emb(space, params, "items", 6, 4);
    seqrec::sequence::PositionalEmbedding<T, Space> pos(space, params, "pos", 3, 4);
    emb.init_normal(space, seqrec::RandomStream(2, 1), T(1));
    pos.init_normal(space, seqrec::RandomStream(2, 2), T(1));
    auto ids = make_ids<Space>({{0, 3, 5}, {1, 3, 3}, {0, 0, 2}});
    seqrec::View3<T, Space> y("y", 3, 3, 4), r("r", 3, 3, 4);
    seqrec::fill_uniform(space, r, seqrec::RandomStream(2, 3), T(-1), T(1));
    const T scale = T(1.7);
    auto loss = [&] {
      emb.forward(space, ids, y, scale);
      pos.forward(space, ids, y);
      return seqrec::test::weighted_sum(space, y, r);
    };
    loss();
    params.zero_grad(space);
    emb.backward(space, ids, r, scale);
    pos.backward(space, ids, r);
    seqrec::test::check_gradient(space, emb.parameter().value(), emb.parameter().grad(), loss, "items");
    seqrec::test::check_gradient(space, pos.parameter().value(), pos.parameter().grad(), loss, "pos");
    // Padding positions get no positional gradient: column 0 of rows 0 and 2 are padding, row 1 is not.
    auto gp = seqrec::to_host(pos.parameter().grad());
    auto hr = seqrec::to_host(r);
    CHECK(gp(0) == Approx(hr(1, 0, 0)));
  }
}
