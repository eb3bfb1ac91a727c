#include "support/backends.hpp"

#include <seqrec/completion/factor_scores.hpp>
#include <seqrec/completion/popularity.hpp>
#include <seqrec/completion/rating_matrix.hpp>
#include <seqrec/completion/strategy.hpp>
#include <seqrec/data/interactions.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace seqrec::test {

namespace {

// Three users, four items; user 0 touched item 2 twice (weights 1 and 2), user 2 nothing.
data::Interactions small() {
  data::Interactions x;
  for (int u = 0; u < 3; ++u) x.users.insert(10 + u);
  for (int i = 1; i <= 4; ++i) x.items.insert(100 + i);
  x.push_back(0, 2, 1.0f, 0);
  x.push_back(1, 4, 3.0f, 1);
  x.push_back(0, 1, 0.5f, 2);
  x.push_back(0, 2, 2.0f, 3);
  x.push_back(1, 1, 1.0f, 4);
  return x;
}

template <class Space, class T>
View2<T, Space> dense(const std::vector<std::vector<double>>& rows) {
  View2<T, Space> v("test::dense", rows.size(), rows.empty() ? 0 : rows[0].size());
  auto h = Kokkos::create_mirror_view(v);
  for (std::size_t r = 0; r < rows.size(); ++r)
    for (std::size_t c = 0; c < rows[r].size(); ++c) h(r, c) = static_cast<T>(rows[r][c]);
  Kokkos::deep_copy(v, h);
  return v;
}

template <class Space>
View1<id_t, Space> ids(const std::vector<id_t>& v) {
  return from_vector<Space>(v, "test::ids");
}

}  // namespace

TEMPLATE_TEST_CASE("RatingMatrix merges repeats and holds both orientations", "[completion][rating_matrix]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  const auto r = completion::make_rating_matrix<T>(space, small());
  CHECK(r.num_users == 3);
  CHECK(r.num_items == 4);
  CHECK(r.nnz() == 4);  // (0,1) (0,2 merged) (1,1) (1,4)
  CHECK(r.host_by_user.offsets == std::vector<index_t>{0, 2, 4, 4});
  CHECK(r.host_by_user.indices == std::vector<id_t>{1, 2, 1, 4});
  CHECK(r.host_by_user.values == std::vector<T>{T(0.5), T(3), T(1), T(3)});
  CHECK(r.host_by_item.offsets == std::vector<index_t>{0, 0, 2, 3, 3, 4});
  CHECK(r.host_by_item.indices == std::vector<id_t>{0, 1, 0, 1});
  CHECK(r.host_by_item.values == std::vector<T>{T(0.5), T(1), T(3), T(3)});
  // The device copies hold the same.
  auto dev_idx = to_host(r.by_item.indices);
  auto dev_val = to_host(r.by_user.values);
  CHECK(dev_idx(3) == 1);
  CHECK(dev_val(1) == T(3));
  CHECK(r.by_user.rows() == 3);
  CHECK(r.by_item.rows() == 5);

  const auto b = completion::make_rating_matrix<T>(space, small(), completion::Weights::binary);
  CHECK(b.host_by_user.values == std::vector<T>{T(1), T(1), T(1), T(1)});
}

TEMPLATE_TEST_CASE("RatingMatrix rejects weights its strategy cannot use", "[completion][rating_matrix]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  auto x = small();
  x.weight[3] = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_WITH(completion::make_rating_matrix<T>(space, x, completion::Weights::finite),
                    Catch::Contains("interaction 3 (user 10, item 102)") && Catch::Contains("must be finite"));
  x = small();
  x.weight[1] = 0.0f;
  CHECK_THROWS_WITH(completion::make_rating_matrix<T>(space, x), Catch::Contains("needs positive weights"));
  CHECK_NOTHROW(completion::make_rating_matrix<T>(space, x, completion::Weights::finite));
  x.item[2] = 9;
  CHECK_THROWS_WITH(completion::make_rating_matrix<T>(space, x, completion::Weights::finite),
                    Catch::Contains("item id 9, outside [1, 4]"));
  data::Interactions none = small();
  none.user.clear(), none.item.clear(), none.weight.clear(), none.time.clear();
  CHECK_THROWS_WITH(completion::make_rating_matrix<T>(space, none), Catch::Contains("no interactions"));
}

TEMPLATE_TEST_CASE("Factor scores: dot products plus biases, gathered and by gemm alike", "[completion][factors]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  completion::FactorTables<T, Space> f;
  f.user = dense<Space, T>({{1, 2}, {-1, 0.5}, {0, 0}});
  f.item = dense<Space, T>({{0, 0}, {1, 0}, {0, 1}, {2, -1}});  // row 0: padding
  f.user_bias = from_vector<Space>(std::vector<T>{T(0.25), T(-1), T(0)}, "ub");
  f.item_bias = from_vector<Space>(std::vector<T>{T(0), T(0.5), T(0), T(-0.5)}, "ib");
  f.global = T(3);
  // Reference: mu + bu + bi + p.q
  auto expect = [&](int u, int i) {
    const double P[3][2] = {{1, 2}, {-1, 0.5}, {0, 0}}, Q[4][2] = {{0, 0}, {1, 0}, {0, 1}, {2, -1}};
    const double bu[3] = {0.25, -1, 0}, bi[4] = {0, 0.5, 0, -0.5};
    return 3 + bu[u] + bi[i] + P[u][0] * Q[i][0] + P[u][1] * Q[i][1];
  };
  const auto users = ids<Space>({1, 0, 2});
  View2<id_t, Space> cands("cands", 3, 2);
  {
    auto h = Kokkos::create_mirror_view(cands);
    const id_t c[3][2] = {{3, 1}, {2, 0}, {1, 3}};
    for (int b = 0; b < 3; ++b)
      for (int j = 0; j < 2; ++j) h(b, j) = c[b][j];
    Kokkos::deep_copy(cands, h);
  }
  View2<T, Space> s("s", 3, 2);
  completion::score_factors(space, f, View1<const id_t, Space>(users), View2<const id_t, Space>(cands), s, "test");
  auto hs = to_host(s);
  CHECK(hs(0, 0) == Approx(expect(1, 3)).epsilon(tolerance<T>()));
  CHECK(hs(0, 1) == Approx(expect(1, 1)).epsilon(tolerance<T>()));
  CHECK(hs(1, 0) == Approx(expect(0, 2)).epsilon(tolerance<T>()));
  CHECK(hs(2, 1) == Approx(expect(2, 3)).epsilon(tolerance<T>()));

  View2<T, Space> all("all", 3, 4), ws;
  completion::score_all_factors(space, f, View1<const id_t, Space>(users), all, ws, "test");
  auto ha = to_host(all);
  const int uid[3] = {1, 0, 2};
  for (int b = 0; b < 3; ++b)
    for (int i = 0; i < 4; ++i) CHECK(ha(b, i) == Approx(expect(uid[b], i)).epsilon(tolerance<T>()));

  // Bad ids are named.
  const auto bad_users = ids<Space>({0, 5, 1});
  CHECK_THROWS_WITH(completion::score_all_factors(space, f, View1<const id_t, Space>(bad_users), all, ws, "test"),
                    Catch::Contains("user 5 (row 1) outside [0, 3)"));
  CHECK_THROWS_WITH(completion::score_factors(space, f, View1<const id_t, Space>(bad_users),
                                              View2<const id_t, Space>(cands), s, "test"),
                    Catch::Contains("user 5 (row 1)"));
  {
    auto h = Kokkos::create_mirror_view(cands);
    Kokkos::deep_copy(h, cands);
    h(2, 0) = 7;
    Kokkos::deep_copy(cands, h);
  }
  CHECK_THROWS_WITH(
      completion::score_factors(space, f, View1<const id_t, Space>(users), View2<const id_t, Space>(cands), s, "test"),
      Catch::Contains("candidate 0 of row 2 is item 7, outside [0, 3]"));
  View2<T, Space> wrong("wrong", 3, 5);
  CHECK_THROWS_AS(completion::score_all_factors(space, f, View1<const id_t, Space>(users), wrong, ws, "test"), Error);
}

TEMPLATE_TEST_CASE("top_k recommends the best unseen items of any strategy", "[completion][top_k]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  static_assert(completion::check_completion_strategy<completion::PopRec<T, Space>>());
  // Popularity: item 1 twice, 2 twice (merged: once per user), 4 once, 3 never.
  completion::PopRec<T, Space> pop;
  pop.fit(space, small());
  const auto seen = eval::make_history(space, std::vector<index_t>{0, 2, 4, 4}, std::vector<id_t>{1, 2, 1, 4}, 4);
  const auto users = ids<Space>({0, 1, 2});
  const auto top = to_host(completion::top_k(space, pop, View1<const id_t, Space>(users), seen, 3));
  // counts: 1 -> 2, 2 -> 2, 4 -> 1, 3 -> 0. User 0 saw {1, 2}: 4, 3, then padding.
  CHECK(top(0, 0) == 4);
  CHECK(top(0, 1) == 3);
  CHECK(top(0, 2) == 0);
  CHECK(top(1, 0) == 2);  // saw {1, 4}
  CHECK(top(1, 1) == 3);
  CHECK(top(2, 0) == 1);  // saw nothing: ties broken by the smaller id
  CHECK(top(2, 1) == 2);
  CHECK(top(2, 2) == 4);
}

}  // namespace seqrec::test
