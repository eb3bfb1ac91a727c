#include "support/backends.hpp"

#include <seqrec/completion/als.hpp>
#include <seqrec/loop/growth.hpp>
#include <seqrec/loop/simulator.hpp>

#include <catch2/catch.hpp>

#include <cstring>
#include <vector>

namespace seqrec::test {

namespace {

template <class T, class Space>
View2<T, Space> table_of(index_t rows, index_t cols, std::uint64_t seed) {
  auto v = View2<T, Space>("test::table", rows, cols);
  fill_uniform(Space{}, v, RandomStream(seed, 0), T(-1), T(1));
  Space{}.fence();
  return v;
}

template <class V>
bool same_bits(const V& a, const V& b, index_t rows) {
  auto ha = to_host(a);
  auto hb = to_host(b);
  const std::size_t bytes = std::size_t(rows) * ha.extent(1) * sizeof(typename V::value_type);
  return std::memcmp(ha.data(), hb.data(), bytes) == 0;
}

// Users 0..U-1, items 1..I (original ids 100 + i); user u takes items with (u + i) % 3 == 0.
data::Interactions block_data(int users, int items) {
  data::Interactions x;
  for (int u = 0; u < users; ++u) x.users.insert(u);
  for (int i = 1; i <= items; ++i) x.items.insert(100 + i);
  for (int u = 0; u < users; ++u)
    for (int i = 1; i <= items; ++i)
      if ((u + i) % 3 == 0) x.push_back(id_t(u), id_t(i), 1.0f + float(i % 2), u * 100 + i);
  x.has_weight = x.has_time = true;
  return x;
}

template <class T, class Space, class M>
std::vector<std::vector<T>> all_scores(const M& model, index_t users) {
  Space space;
  std::vector<id_t> ids(users);
  for (index_t u = 0; u < users; ++u) ids[u] = id_t(u);
  auto d = from_vector<Space>(ids);
  View2<T, Space> s("test::scores", users, model.num_items() + 1);
  model.score_all(space, View1<const id_t, Space>(d), s);
  auto h = to_host(s);
  std::vector<std::vector<T>> out(users, std::vector<T>(model.num_items() + 1));
  for (index_t u = 0; u < users; ++u)
    for (index_t i = 0; i <= model.num_items(); ++i) out[u][i] = h(u, i);
  return out;
}

}  // namespace

TEMPLATE_TEST_CASE("grow_rows keeps old rows bit-identical and seeds new ones", "[loop][growth]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  auto old = table_of<T, Space>(10, 6, 1);
  auto zeros = loop::grow_rows(space, View2<const T, Space>(old), 15);
  REQUIRE(zeros.extent(0) == 15);
  REQUIRE(zeros.extent(1) == 6);
  CHECK(same_bits(View2<T, Space>(old), zeros, 10));
  auto hz = to_host(zeros);
  for (index_t r = 10; r < 15; ++r)
    for (index_t c = 0; c < 6; ++c) CHECK(hz(r, c) == T(0));

  loop::GrowOptions normal{loop::GrowInit::normal, 0.5, 7};
  auto direct = loop::grow_rows(space, View2<const T, Space>(old), 15, normal);
  auto step = loop::grow_rows(
      space, View2<const T, Space>(loop::grow_rows(space, View2<const T, Space>(old), 12, normal)), 15, normal);
  CHECK(same_bits(View2<T, Space>(old), direct, 10));
  CHECK(same_bits(direct, step, 15));  // 10 -> 12 -> 15 equals 10 -> 15
  auto hd = to_host(direct);
  double sum2 = 0;
  for (index_t r = 10; r < 15; ++r)
    for (index_t c = 0; c < 6; ++c) sum2 += double(hd(r, c)) * double(hd(r, c));
  CHECK(sum2 > 0);
  CHECK(std::sqrt(sum2 / 30) < 1.5);  // about 0.5
  CHECK_THROWS_WITH(loop::grow_rows(space, View2<const T, Space>(old), 9), Catch::Contains("cannot shrink"));
}

TEMPLATE_TEST_CASE("grow_factor_tables keeps every old score", "[loop][growth]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  completion::FactorTables<T, Space> f{table_of<T, Space>(5, 4, 2), table_of<T, Space>(8, 4, 3),
                                       View1<T, Space>("test::ub", 5), View1<T, Space>("test::ib", 8), T(0.5)};
  Kokkos::deep_copy(f.user_bias, T(0.25));
  Kokkos::deep_copy(f.item_bias, T(-0.125));
  auto g = loop::grow_factor_tables(space, f, 9, 10, loop::GrowOptions{loop::GrowInit::normal, 0.1, 3});
  CHECK(g.num_users() == 9);
  CHECK(g.num_items() == 10);
  CHECK(g.global == f.global);
  CHECK(same_bits(f.user, g.user, 5));
  CHECK(same_bits(f.item, g.item, 8));
  auto ub = to_host(g.user_bias);
  CHECK(ub(4) == T(0.25));
  CHECK(ub(5) == T(0));
  auto ib = to_host(g.item_bias);
  CHECK(ib(7) == T(-0.125));
  CHECK(ib(8) == T(0));
}

TEMPLATE_TEST_CASE("als_fold_in matches ImplicitAls::fold_in", "[loop][growth]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  const auto x = block_data(12, 9);
  completion::ImplicitAlsOptions opt;
  opt.factors = 4;
  opt.iterations = 5;
  opt.reg = 0.1;
  completion::ImplicitAls<T, Space> a(opt), b(opt);
  a.fit(space, x);
  b.fit(space, x);
  data::Interactions more = x;
  more.push_back(2, 1, 3.0f, 5000);
  more.push_back(5, 2, 1.0f, 5001);
  const auto r = completion::make_rating_matrix<T>(space, more, opt.weights);
  const std::vector<id_t> users{2, 5};
  a.fold_in(space, r, std::span<const id_t>(users));
  loop::als_fold_in(space, b.tables(), r, std::span<const id_t>(users), opt);
  auto ha = to_host(a.user_factors());
  auto hb = to_host(b.user_factors());
  for (index_t u = 0; u < 12; ++u)
    for (index_t c = 0; c < 4; ++c)
      CHECK(double(hb(u, c)) == Approx(double(ha(u, c))).epsilon(tolerance<T>()).margin(1e-6));
}

TEMPLATE_TEST_CASE("after growth, old users' scores stay until they get new data", "[loop][growth]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  const auto x = block_data(12, 9);
  completion::ImplicitAlsOptions opt;
  opt.factors = 4;
  opt.iterations = 5;
  opt.reg = 0.1;
  loop::IncrementalAls<T, Space> model(opt);
  model.fit(space, x);
  const auto before = all_scores<T, Space>(model, 12);
  REQUIRE_FALSE(model.grown());

  // A new user (original id 50) takes a new item (original 200) and an old item 3.
  data::Interactions added;
  added.users = x.users;
  added.items = x.items;
  const id_t nu = added.users.insert(50), ni = added.items.insert(200);
  REQUIRE(nu == 12);
  REQUIRE(ni == 10);
  added.push_back(nu, ni, 1.0f, 9000);
  added.push_back(nu, 3, 1.0f, 9001);
  model.update(space, added);
  REQUIRE(model.grown());
  REQUIRE(model.num_users() == 13);
  REQUIRE(model.num_items() == 10);
  const auto after = all_scores<T, Space>(model, 13);
  for (index_t u = 0; u < 12; ++u) {
    for (index_t i = 1; i <= 9; ++i) CHECK(after[u][i] == before[u][i]);  // bit-identical
    CHECK(after[u][10] == T(0));                                          // the new item's row is 0
  }
  bool new_user_scored = false;
  for (index_t i = 1; i <= 9; ++i) new_user_scored = new_user_scored || after[12][i] != T(0);
  CHECK(new_user_scored);  // folded in from its item 3

  // Old user 4 gets new data: only its row changes.
  data::Interactions more;
  more.users = added.users;
  more.items = added.items;
  more.push_back(4, 1, 2.0f, 9100);
  model.update(space, more);
  const auto later = all_scores<T, Space>(model, 13);
  for (index_t u = 0; u < 13; ++u) {
    bool changed = false;
    for (index_t i = 1; i <= 10; ++i) changed = changed || later[u][i] != after[u][i];
    CHECK(changed == (u == 4));
  }
}

}  // namespace seqrec::test
