#include "support/backends.hpp"

#include <seqrec/completion/als.hpp>
#include <seqrec/data/batch.hpp>
#include <seqrec/data/negative_sampler.hpp>
#include <seqrec/loop/growth.hpp>
#include <seqrec/loop/simulator.hpp>
#include <seqrec/sequence/sasrec_encoder.hpp>
#include <seqrec/sequential_recommender.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <numeric>
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

template <class T, class Space>
using Sasrec = SequentialRecommender<sequence::SelfAttentionEncoder<T, Space>>;

template <class T, class Space>
Sasrec<T, Space> small_sasrec(const Space& space, index_t items) {
  RecommenderConfig cfg;
  cfg.dim = 16;
  cfg.batch = 8;
  cfg.adam.lr = 0.01;
  const sequence::SelfAttentionConfig sa{8, 1, 1, 0.0, 0};
  return Sasrec<T, Space>(space, items, cfg, 5, [&](const Space& s, auto& params, index_t dim) {
    return sequence::SelfAttentionEncoder<T, Space>(s, params, dim, sa);
  });
}

// `users` users walking a ring of `items` items (next item = current + 1), `steps` items each.
data::Sequences ring_sequences(int users, int items, int steps) {
  data::Interactions x;
  for (int u = 0; u < users; ++u) x.users.insert(u);
  for (int i = 1; i <= items; ++i) x.items.insert(i);
  for (int u = 0; u < users; ++u)
    for (int j = 0; j < steps; ++j) x.push_back(id_t(u), id_t(1 + (u + j) % items), 1.0f, 100 * j + u);
  x.has_time = true;
  x.sort_chronological();
  return data::Sequences::from(x);
}

// `steps` training steps over s (negatives among the model's items); the losses.
template <class Model, class Space>
std::vector<double> train_steps(const Space& space, Model& m, const data::Sequences& s, int steps, std::uint64_t seed) {
  auto history = data::make_user_history(space, s);
  history.num_items = m.num_items();
  data::SequenceBatcher<Space> batcher(space, s, data::UniformNegativeSampler<Space>(history));
  data::EpochShuffler<Space> shuffler(space, data::EpochShuffler<Space>::trainable_users(s), seed);
  data::SequenceBatch<Space> batch(space, m.batch_size(), m.maxlen(), 1);
  const index_t nb = shuffler.num_batches(m.batch_size());
  std::vector<double> losses;
  for (int k = 0; k < steps; ++k) {
    if (k % nb == 0) shuffler.shuffle(space, std::uint64_t(k / nb));
    batcher.build(space, shuffler.batch(k % nb, m.batch_size()), batch, RandomStream(seed, std::uint64_t(k)));
    losses.push_back(m.train_step(space, batch, m.random().next()).value);
  }
  return losses;
}

// A copy of a flat buffer (to_host on host spaces returns the view itself).
template <class V>
std::vector<typename V::non_const_value_type> copy_of(const V& v) {
  auto h = to_host(v);
  return std::vector<typename V::non_const_value_type>(h.data(), h.data() + h.size());
}

template <class T, class Space, class Model>
std::vector<std::vector<T>> model_scores(const Space& space, Model& m, index_t users) {
  std::vector<id_t> ids(users);
  std::iota(ids.begin(), ids.end(), id_t(0));
  auto d = from_vector<Space>(ids);
  View2<T, Space> s("test::scores", users, m.num_items() + 1);
  m.score_all(space, View1<const id_t, Space>(d), s);
  auto h = to_host(s);
  std::vector<std::vector<T>> out(users, std::vector<T>(m.num_items() + 1));
  for (index_t u = 0; u < users; ++u)
    for (index_t i = 0; i <= m.num_items(); ++i) out[u][i] = h(u, i);
  return out;
}

// score() over the candidates 1..items for every user.
template <class T, class Space, class Model>
std::vector<std::vector<T>> candidate_scores(const Space& space, Model& m, index_t users, index_t items) {
  std::vector<id_t> ids(users);
  std::iota(ids.begin(), ids.end(), id_t(0));
  auto d = from_vector<Space>(ids);
  View2<id_t, Space> cand("test::cand", users, items);
  auto hc = Kokkos::create_mirror_view(cand);
  for (index_t u = 0; u < users; ++u)
    for (index_t j = 0; j < items; ++j) hc(u, j) = id_t(1 + j);
  Kokkos::deep_copy(cand, hc);
  View2<T, Space> s("test::cand_scores", users, items);
  m.score(space, View1<const id_t, Space>(d), View2<const id_t, Space>(cand), s);
  auto h = to_host(s);
  std::vector<std::vector<T>> out(users, std::vector<T>(items));
  for (index_t u = 0; u < users; ++u)
    for (index_t j = 0; j < items; ++j) out[u][j] = h(u, j);
  return out;
}

template <class T>
bool bits_equal(const std::vector<T>& a, const std::vector<T>& b, std::size_t n) {
  return a.size() >= n && b.size() >= n && std::memcmp(a.data(), b.data(), n * sizeof(T)) == 0;
}

}  // namespace

TEMPLATE_TEST_CASE("ParameterSet::replace_with_grown and Adam::resize_state keep the old entries", "[loop][growth]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  ParameterSet<T, Space> params;
  auto a = params.add(space, "a", {4, 3});
  auto b = params.add(space, "b", {5});
  fill_uniform(space, a.value(), RandomStream(1, 0), T(-1), T(1));
  fill_uniform(space, b.value(), RandomStream(1, 1), T(-1), T(1));
  train::Adam<T, Space> adam(space, params, train::AdamConfig{});
  for (int step = 0; step < 2; ++step) {
    fill_uniform(space, a.grad(), RandomStream(2, step), T(-1), T(1));
    fill_uniform(space, b.grad(), RandomStream(3, step), T(-1), T(1));
    adam.step(space);
  }
  const auto a_before = copy_of(a.value()), m_before = copy_of(adam.first_moment(0)),
             v_before = copy_of(adam.second_moment(0)), b_before = copy_of(b.value());

  ParameterSet<T, Space> scratch;
  auto grown = scratch.add(space, "a", {6, 3});
  Kokkos::deep_copy(space, Kokkos::subview(grown.value(), Kokkos::make_pair(index_t(12), index_t(18))), T(0.5));
  params.replace_with_grown(space, grown);
  adam.resize_state(space);
  const auto& now = params["a"];
  REQUIRE(now.shape() == std::vector<index_t>{6, 3});
  const auto a_after = copy_of(now.value()), m_after = copy_of(adam.first_moment(0)),
             v_after = copy_of(adam.second_moment(0));
  REQUIRE(a_after.size() == 18);
  REQUIRE(m_after.size() == 18);
  CHECK(bits_equal(a_before, a_after, 12));
  CHECK(bits_equal(m_before, m_after, 12));
  CHECK(bits_equal(v_before, v_after, 12));
  for (std::size_t j = 12; j < 18; ++j) {
    CHECK(a_after[j] == T(0.5));
    CHECK(m_after[j] == T(0));
    CHECK(v_after[j] == T(0));
  }
  CHECK(adam.steps() == 2);
  // The update now runs over the grown buffers: a zero gradient moves the new entries not at all, the old ones
  // by their moments; b is as before.
  params.zero_grad(space);
  adam.step(space);
  const auto a_next = copy_of(now.value());
  for (std::size_t j = 12; j < 18; ++j) CHECK(a_next[j] == T(0.5));
  bool old_moved = false;
  for (std::size_t j = 0; j < 12; ++j) old_moved = old_moved || a_next[j] != a_after[j];
  CHECK(old_moved);
  CHECK(copy_of(params["b"].value()) != b_before);

  auto wrong = scratch.add(space, "c", {6, 2});
  CHECK_THROWS_WITH(params.replace_with_grown(space, wrong), Catch::Contains("no parameter named 'c'"));
  ParameterSet<T, Space> other;
  CHECK_THROWS_WITH(params.replace_with_grown(space, other.add(space, "a", {6, 2})), Catch::Contains("does not grow"));
  CHECK_THROWS_WITH(params.replace_with_grown(space, other.add(space, "b", {3})), Catch::Contains("does not grow"));
}

TEMPLATE_TEST_CASE("SequentialRecommender::grow_items keeps old rows, moments and scores; new rows train",
                   "[loop][growth]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  const index_t users = 24;
  auto model = small_sasrec<T>(space, 20);
  const auto ring20 = ring_sequences(int(users), 20, 10);
  train_steps(space, model, ring20, 6, 1);
  model.set_scoring_windows(space, ring20);
  const auto params_before = [&] {
    std::vector<std::vector<T>> v;
    for (const auto& p : model.parameters()) v.push_back(copy_of(p.value()));
    return v;
  }();
  std::size_t items_index = 0;
  for (const auto& p : model.parameters()) {
    if (p.name() == "items") break;
    ++items_index;
  }
  REQUIRE(items_index < model.parameters().size());
  const auto m_before = copy_of(model.optimizer().first_moment(items_index));
  const auto v_before = copy_of(model.optimizer().second_moment(items_index));
  const auto scores_before = model_scores<T>(space, model, users);
  const auto cand_before = candidate_scores<T>(space, model, users, 20);
  const long long steps_before = model.optimizer().steps();

  model.grow_items(space, 23, 3);
  REQUIRE(model.num_items() == 23);
  REQUIRE(model.items().rows() == 24);
  // Old rows, every other parameter, old moments: bit-identical. New moments 0.
  std::size_t k = 0;
  for (const auto& p : model.parameters()) {
    const auto now = copy_of(p.value());
    CHECK(bits_equal(params_before[k], now, params_before[k].size()));
    if (k != items_index) CHECK(now.size() == params_before[k].size());
    ++k;
  }
  const auto table = copy_of(model.items().parameter().value());
  REQUIRE(table.size() == std::size_t(24 * 16));
  const auto m_after = copy_of(model.optimizer().first_moment(items_index));
  const auto v_after = copy_of(model.optimizer().second_moment(items_index));
  REQUIRE(m_after.size() == table.size());
  CHECK(bits_equal(m_before, m_after, m_before.size()));
  CHECK(bits_equal(v_before, v_after, v_before.size()));
  double sum2 = 0;
  for (std::size_t j = m_before.size(); j < table.size(); ++j) {
    CHECK(m_after[j] == T(0));
    CHECK(v_after[j] == T(0));
    CHECK(std::isfinite(double(table[j])));
    sum2 += double(table[j]) * double(table[j]);
  }
  const double rms = std::sqrt(sum2 / double(table.size() - m_before.size()));
  CHECK(rms > 0.25 * 0.5);  // N(0, 1/sqrt(16)) over 48 draws
  CHECK(rms < 0.25 * 1.6);
  CHECK(model.optimizer().steps() == steps_before);

  // Old users' scores over old items: bit-identical from the candidate scorer (one dot product per score); from
  // score_all (one vendor gemm over the whole table, whose rounding depends on the item count) equal to the
  // rounding (loop::IncrementalSequence scores in fixed-shape chunks, bit-identical). New items score finite numbers.
  const auto scores_after = model_scores<T>(space, model, users);
  const auto cand_after = candidate_scores<T>(space, model, users, 20);
  bool same = true, close = true, finite = true;
  for (index_t u = 0; u < users; ++u) {
    for (index_t i = 0; i < 20; ++i) same = same && std::memcmp(&cand_after[u][i], &cand_before[u][i], sizeof(T)) == 0;
    for (index_t i = 0; i <= 20; ++i)
      close = close && std::abs(double(scores_after[u][i]) - double(scores_before[u][i])) <=
                           tolerance<T>() * (1 + std::abs(double(scores_before[u][i])));
    for (index_t i = 21; i <= 23; ++i) finite = finite && std::isfinite(double(scores_after[u][i]));
  }
  CHECK(same);
  CHECK(close);
  CHECK(finite);

  // 20 -> 21 -> 23 grows the rows 20 -> 23 grows (fresh models: the same initialisation).
  auto direct = small_sasrec<T>(space, 20), stepwise = small_sasrec<T>(space, 20);
  direct.grow_items(space, 23, 3);
  stepwise.grow_items(space, 21, 3);
  stepwise.grow_items(space, 23, 3);
  CHECK(copy_of(direct.items().parameter().value()) == copy_of(stepwise.items().parameter().value()));
  CHECK_THROWS_WITH(direct.grow_items(space, 22, 3), Catch::Contains("cannot shrink"));

  // The grown model trains on a ring that takes the new items in: the loss falls, the new rows move.
  const auto ring23 = ring_sequences(int(users), 23, 10);
  const auto losses = train_steps(space, model, ring23, 60, 2);
  const double first = (losses[0] + losses[1] + losses[2]) / 3, last = (losses[57] + losses[58] + losses[59]) / 3;
  CHECK(last < 0.8 * first);
  const auto trained = copy_of(model.items().parameter().value());
  bool new_rows_moved = false;
  for (std::size_t j = m_before.size(); j < trained.size(); ++j)
    new_rows_moved = new_rows_moved || trained[j] != table[j];
  CHECK(new_rows_moved);
  model.parameters().require_finite(space, "after training the grown model");
}

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
