#include "support/backends.hpp"

#include <seqrec/completion/biased_svd.hpp>
#include <seqrec/completion/strategy.hpp>
#include <seqrec/data/interactions.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

// Inside seqrec's namespace: an unqualified id_t is seqrec::id_t, not POSIX's ::id_t.
namespace seqrec::test {

namespace {

static_assert(completion::check_completion_strategy<completion::BiasedSvd<float, Kokkos::Serial>>());
static_assert(completion::check_completion_strategy<completion::BiasedSvd<double, Kokkos::DefaultExecutionSpace>>());

// Ratings (user, item, rating) over num_users x num_items (dense item i = original 100 + i).
data::Interactions ratings(index_t num_users, index_t num_items, const std::vector<std::tuple<int, int, float>>& rows) {
  data::Interactions x;
  for (index_t u = 0; u < num_users; ++u) x.users.insert(u);
  for (index_t i = 1; i <= num_items; ++i) x.items.insert(100 + i);
  for (auto [u, i, r] : rows) x.push_back(id_t(u), id_t(i), r, 0);
  x.has_weight = true;
  return x;
}

// 3 users x 4 items, 8 ratings, one (user, item) pair rated twice (both rows count); user 2 rated only 5s.
data::Interactions tiny() {
  return ratings(3, 4, {{0, 1, 4}, {0, 2, 1}, {1, 1, 5}, {1, 3, 2}, {2, 1, 5}, {2, 4, 5}, {0, 2, 2}, {1, 4, 3}});
}

// A rank-2 rating matrix plus biases on 12 users x 10 items, 70% of the cells observed.
data::Interactions low_rank(int users = 12, int items = 10) {
  std::vector<std::tuple<int, int, float>> rows;
  for (int u = 0; u < users; ++u)
    for (int i = 1; i <= items; ++i) {
      if ((u * 7 + i * 3) % 10 >= 7) continue;
      const double a = std::sin(u + 1.0), b = std::cos(0.5 * u), c = std::cos(1.3 * i), d = std::sin(0.7 * i);
      const double r = 3.0 + 0.1 * (u % 3) - 0.1 * (i % 2) + a * c + b * d;
      rows.emplace_back(u, i, float(r));
    }
  return ratings(users, items, rows);
}

// The SGD reference of the test: Surprise's update, in double, over the orders given.
struct Reference {
  std::vector<std::vector<double>> P, Q;
  std::vector<double> bu, bi;
  double mu = 0;
  std::vector<double> rmse;

  void run(const data::Interactions& x, const completion::BiasedSvdOptions& o, index_t epochs) {
    const double lr = o.lr, reg = o.reg, lrb = o.lr_bias.value_or(o.lr), regb = o.reg_bias.value_or(o.reg);
    for (index_t e = 0; e < epochs; ++e) {
      double sse = 0;
      for (index_t k : completion::detail::svd_epoch_order(x.size(), o.seed, e, o.shuffle)) {
        const int u = x.user[k], i = x.item[k];
        double dot = 0;
        for (std::size_t c = 0; c < P[u].size(); ++c) dot += P[u][c] * Q[i][c];
        const double err = x.weight[k] - (mu + bu[u] + bi[i] + dot);
        sse += err * err;
        bu[u] += lrb * (err - regb * bu[u]);
        bi[i] += lrb * (err - regb * bi[i]);
        for (std::size_t c = 0; c < P[u].size(); ++c) {
          const double p = P[u][c], q = Q[i][c];
          P[u][c] += lr * (err * q - reg * p);
          Q[i][c] += lr * (err * p - reg * q);
        }
      }
      rmse.push_back(std::sqrt(sse / x.size()));
    }
  }
};

template <class Model>
Reference initial_tables(const Model& m) {
  Reference r;
  auto P = to_host(m.tables().user);
  auto Q = to_host(m.tables().item);
  auto bu = to_host(m.tables().user_bias);
  auto bi = to_host(m.tables().item_bias);
  r.P.assign(P.extent(0), std::vector<double>(P.extent(1)));
  r.Q.assign(Q.extent(0), std::vector<double>(Q.extent(1)));
  for (std::size_t u = 0; u < P.extent(0); ++u)
    for (std::size_t c = 0; c < P.extent(1); ++c) r.P[u][c] = P(u, c);
  for (std::size_t i = 0; i < Q.extent(0); ++i)
    for (std::size_t c = 0; c < Q.extent(1); ++c) r.Q[i][c] = Q(i, c);
  r.bu.assign(bu.data(), bu.data() + bu.size());
  r.bi.assign(bi.data(), bi.data() + bi.size());
  r.mu = m.global_mean();
  return r;
}

template <class Model>
void require_equal_tables(const Model& m, const Reference& r, double tol) {
  auto P = to_host(m.tables().user);
  auto Q = to_host(m.tables().item);
  auto bu = to_host(m.tables().user_bias);
  auto bi = to_host(m.tables().item_bias);
  for (std::size_t u = 0; u < P.extent(0); ++u) {
    CHECK(double(bu(u)) == Approx(r.bu[u]).margin(tol));
    for (std::size_t c = 0; c < P.extent(1); ++c) CHECK(double(P(u, c)) == Approx(r.P[u][c]).margin(tol));
  }
  for (std::size_t i = 0; i < Q.extent(0); ++i) {
    CHECK(double(bi(i)) == Approx(r.bi[i]).margin(tol));
    for (std::size_t c = 0; c < Q.extent(1); ++c) CHECK(double(Q(i, c)) == Approx(r.Q[i][c]).margin(tol));
  }
}

}  // namespace

TEST_CASE("BiasedSvd: svd_epoch_order is a deterministic seeded permutation", "[completion][svd]") {
  const auto a = completion::detail::svd_epoch_order(50, 9, 3, true);
  CHECK(a == completion::detail::svd_epoch_order(50, 9, 3, true));
  CHECK(a != completion::detail::svd_epoch_order(50, 9, 4, true));
  CHECK(a != completion::detail::svd_epoch_order(50, 10, 3, true));
  std::vector<index_t> sorted = a, identity(50);
  std::sort(sorted.begin(), sorted.end());
  std::iota(identity.begin(), identity.end(), index_t(0));
  CHECK(sorted == identity);
  CHECK(a != identity);
  CHECK(completion::detail::svd_epoch_order(50, 9, 3, false) == identity);
  CHECK(completion::detail::svd_epoch_order(0, 9, 3, true).empty());
}

TEMPLATE_TEST_CASE("BiasedSvd equals an SGD reference in the same order", "[completion][svd]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  const data::Interactions x = tiny();
  completion::BiasedSvdOptions o;
  o.factors = 2;
  o.lr = 0.05;
  o.reg = 0.1;
  o.lr_bias = 0.07;
  o.reg_bias = 0.03;
  o.init_std = 0.3;
  o.seed = 5;
  o.epochs = 0;
  completion::BiasedSvd<T, Space> init(o);
  init.fit(space, x);
  CHECK(double(init.global_mean()) == Approx(27.0 / 8).epsilon(1e-6));
  Reference ref = initial_tables(init);
  // Item 3 has one rating, all rows of the tables but the padding item are drawn.
  for (int c = 0; c < 2; ++c) {
    CHECK(ref.Q[0][c] == 0.0);
    CHECK(ref.Q[3][c] != 0.0);
  }
  const double tol = sizeof(T) == 4 ? 2e-5 : 1e-12;
  const index_t epochs = 7;

  for (const bool shuffle : {true, false}) {
    o.shuffle = shuffle;
    Reference r = ref;
    r.run(x, o, epochs);
    o.epochs = epochs;
    o.parallel = false;
    completion::BiasedSvd<T, Space> seq(o);
    seq.fit(space, x);
    INFO("sequential, shuffle " << shuffle);
    require_equal_tables(seq, r, tol);
    REQUIRE(seq.stats().rmse.size() == std::size_t(epochs));
    for (index_t e = 0; e < epochs; ++e) CHECK(seq.stats().rmse[e] == Approx(r.rmse[e]).margin(tol));
    CHECK(seq.stats().seconds.size() == std::size_t(epochs));

    // Hogwild on Serial is the same pass.
    if constexpr (std::is_same_v<Space, Kokkos::Serial>) {
      o.parallel = true;
      completion::BiasedSvd<T, Space> par(o);
      par.fit(space, x);
      INFO("parallel on Serial");
      require_equal_tables(par, r, tol);
    }
  }
}

TEMPLATE_TEST_CASE("BiasedSvd: training RMSE decreases; predict, clip and rmse()", "[completion][svd]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  for (const bool parallel : {false, true}) {
    // Hogwild needs more ratings than threads collide on: on 84 ratings two threads racing (and preempted on
    // a loaded machine) left the RMSE at 0.59 of 0.70 in one run of 19; 60 x 40 makes collisions rare.
    const bool races = parallel && !std::is_same_v<Space, Kokkos::Serial>;
    const data::Interactions x = races ? low_rank(60, 40) : low_rank();
    completion::BiasedSvdOptions o;
    o.factors = 4;
    o.epochs = 30;
    o.lr = 0.02;
    o.init_std = 0.1;
    o.parallel = parallel;
    completion::BiasedSvd<T, Space> m(o);
    m.fit(space, x);
    INFO("parallel " << parallel);
    const auto& rmse = m.stats().rmse;
    REQUIRE(rmse.size() == 30);
    // Strictly decreasing for the sequential pass; Hogwild on threads races, so only overall.
    for (std::size_t e = 1; !races && e < rmse.size(); ++e) CHECK(rmse[e] < rmse[e - 1]);
    CHECK(rmse.back() < 0.8 * rmse.front());
    CHECK(m.stats().loss.back() == Approx(rmse.back() * rmse.back()));
  }

  // Clipping: user 2 rated only 5s, as did item 1 and item 4 mostly, so their unclipped predictions pass 5.
  const data::Interactions t = tiny();
  completion::BiasedSvdOptions o;
  o.factors = 2;
  o.epochs = 200;
  o.lr = 0.05;
  o.reg = 0.0;
  completion::BiasedSvd<T, Space> m(o);
  m.fit(space, t);
  CHECK(m.rating_min() == T(1));
  CHECK(m.rating_max() == T(5));
  std::vector<id_t> us, is;
  for (int u = 0; u < 3; ++u)
    for (int i = 1; i <= 4; ++i) {
      us.push_back(u);
      is.push_back(i);
    }
  const auto du = from_vector<Space, id_t>(us), di = from_vector<Space, id_t>(is);
  View1<T, Space> out("test::out", us.size());
  m.predict(space, du, di, out);
  auto hp = to_host(out);
  View2<T, Space> all("test::all", 3, 5);
  m.score_all(space, from_vector<Space, id_t>({0, 1, 2}), all);
  auto ha = to_host(all);
  int clipped = 0;
  for (std::size_t b = 0; b < us.size(); ++b) {
    const T raw = ha(us[b], is[b]);
    CHECK(hp(b) == std::clamp(raw, T(1), T(5)));
    clipped += raw > T(5) ? 1 : 0;
  }
  CHECK(clipped > 0);
  completion::BiasedSvdOptions no_clip = o;
  no_clip.clip = false;
  completion::BiasedSvd<T, Space> raw_model(no_clip);
  raw_model.fit(space, t);
  raw_model.predict(space, du, di, out);
  auto hr = to_host(out);
  for (std::size_t b = 0; b < us.size(); ++b)
    CHECK(double(hr(b)) == Approx(double(ha(us[b], is[b]))).epsilon(tolerance<T>()));

  // rmse() against a host computation from the tables, with a user and an item unseen in training: the test
  // interactions extend the id maps (user 3, item 5), which the tables do not hold.
  data::Interactions test = t;
  test.user.clear();
  test.item.clear();
  test.weight.clear();
  test.time.clear();
  test.users.insert(3);
  test.items.insert(105);
  test.push_back(0, 3, 3.0f, 0);  // known user and item
  test.push_back(2, 2, 1.0f, 0);  // known: clipped prediction matters
  test.push_back(3, 1, 4.0f, 0);  // unknown user: mu + b_i
  test.push_back(1, 5, 2.0f, 0);  // unknown item: mu + b_u
  test.push_back(3, 5, 5.0f, 0);  // both unknown: mu
  const auto P = to_host(m.tables().user);
  const auto Q = to_host(m.tables().item);
  const auto bu = to_host(m.tables().user_bias);
  const auto bi = to_host(m.tables().item_bias);
  const double mu = m.global_mean();
  double sse = 0;
  for (index_t e = 0; e < test.size(); ++e) {
    const int u = test.user[e], i = test.item[e];
    double p = mu + (u < 3 ? double(bu(u)) : 0.0) + (i <= 4 ? double(bi(i)) : 0.0);
    if (u < 3 && i <= 4)
      for (int c = 0; c < 2; ++c) p += double(P(u, c)) * double(Q(i, c));
    p = std::clamp(p, 1.0, 5.0);
    sse += (test.weight[e] - p) * (test.weight[e] - p);
  }
  CHECK(m.rmse(space, test) == Approx(std::sqrt(sse / 5)).epsilon(sizeof(T) == 4 ? 1e-5 : 1e-12));
}

TEMPLATE_TEST_CASE("BiasedSvd errors", "[completion][svd][errors]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  using Model = completion::BiasedSvd<T, Space>;
  auto users = from_vector<Space, id_t>({0});
  auto items = from_vector<Space, id_t>({1});
  auto cand = id_matrix<Space>({{1, 2}});
  View2<T, Space> scores("test::scores", 1, 2);
  View2<T, Space> all("test::all", 1, 5);
  View1<T, Space> out("test::out", 1);

  Model model;
  CHECK_THAT(message_of([&] { model.score(space, users, cand, scores); }),
             Catch::Contains("BiasedSvd::score: call fit() first"));
  CHECK_THAT(message_of([&] { model.score_all(space, users, all); }),
             Catch::Contains("BiasedSvd::score_all: call fit() first"));
  CHECK_THAT(message_of([&] { model.predict(space, users, items, out); }),
             Catch::Contains("BiasedSvd::predict: call fit() first"));
  CHECK_THAT(message_of([&] { (void)model.rmse(space, tiny()); }),
             Catch::Contains("BiasedSvd::rmse: call fit() first"));

  auto bad_option = [](auto set) {
    completion::BiasedSvdOptions o;
    set(o);
    return message_of([&] { Model m(o); });
  };
  CHECK_THAT(bad_option([](auto& o) { o.factors = 0; }), Catch::Contains("option factors must be >= 1, got 0"));
  CHECK_THAT(bad_option([](auto& o) { o.lr = 0; }), Catch::Contains("option lr must be finite and > 0, got 0"));
  CHECK_THAT(bad_option([](auto& o) { o.reg = -1; }), Catch::Contains("option reg must be finite and >= 0, got -1"));
  CHECK_THAT(bad_option([](auto& o) { o.lr_bias = -2; }),
             Catch::Contains("option lr_bias must be finite and > 0, got -2"));
  CHECK_THAT(bad_option([](auto& o) { o.reg_bias = INFINITY; }), Catch::Contains("option reg_bias must be finite"));
  CHECK_THAT(bad_option([](auto& o) { o.epochs = -3; }), Catch::Contains("option epochs must be >= 0, got -3"));
  CHECK_THAT(bad_option([](auto& o) { o.init_std = -0.1; }), Catch::Contains("option init_std must be finite"));

  CHECK_NOTHROW(Model(completion::BiasedSvdOptions::movielens()));

  data::Interactions nan_rating = tiny();
  nan_rating.weight[5] = std::nanf("");
  CHECK_THAT(
      message_of([&] { model.fit(space, nan_rating); }),
      Catch::Contains("BiasedSvd::fit: interaction 5 (user 2, item 104) has rating nan (ratings must be finite)"));
  CHECK_FALSE(model.fitted());
  data::Interactions empty = ratings(2, 2, {});
  CHECK_THAT(message_of([&] { model.fit(space, empty); }), Catch::Contains("BiasedSvd::fit: no ratings"));
  data::Interactions bad_item = tiny();
  bad_item.item[2] = 7;
  CHECK_THAT(message_of([&] { model.fit(space, bad_item); }),
             Catch::Contains("interaction 2 has item id 7, outside [1, 4]"));

  // A learning rate that blows the model up stops the fit with a numeric error.
  for (const bool parallel : {false, true}) {
    completion::BiasedSvdOptions wild;
    wild.factors = 2;
    wild.lr = 1e20;
    wild.epochs = 30;
    wild.parallel = parallel;
    Model exploding(wild);
    try {
      exploding.fit(space, tiny());
      FAIL("no exception");
    } catch (const Error& e) {
      CHECK(e.code() == Errc::numeric);
      CHECK_THAT(std::string(e.what()), Catch::Contains("became NaN or infinite in epoch"));
    }
    CHECK_FALSE(exploding.fitted());
  }

  model.fit(space, tiny());
  auto stranger = from_vector<Space, id_t>({3});
  CHECK_THAT(message_of([&] { model.score(space, stranger, cand, scores); }),
             Catch::Contains("BiasedSvd::score: user 3 (row 0) outside [0, 3)"));
  CHECK_THAT(message_of([&] { model.score_all(space, stranger, all); }),
             Catch::Contains("BiasedSvd::score_all: user 3 (row 0) outside [0, 3)"));
  View1<T, Space> short_out("test::short", 0);
  CHECK_THAT(message_of([&] { model.predict(space, users, items, short_out); }),
             Catch::Contains("length of out vs users: expected 1, got 0"));
  data::Interactions nan_test = tiny();
  nan_test.weight[0] = std::nanf("");
  CHECK_THAT(message_of([&] { (void)model.rmse(space, nan_test); }),
             Catch::Contains("BiasedSvd::rmse: interaction 0 (user 0, item 101) has rating nan"));
}

}  // namespace seqrec::test
