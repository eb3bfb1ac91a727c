#include "support/backends.hpp"

#include <seqrec/completion/bpr_mf.hpp>
#include <seqrec/completion/strategy.hpp>
#include <seqrec/data/interactions.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

// Inside seqrec's namespace: an unqualified id_t is seqrec::id_t, not POSIX's ::id_t.
namespace seqrec::test {

namespace {

static_assert(completion::check_completion_strategy<completion::BprMf<float, Kokkos::Serial>>());
static_assert(completion::check_completion_strategy<completion::BprMf<double, Kokkos::DefaultExecutionSpace>>());

// Interactions over `num_items` items (dense id i = original 100 + i) from (user, item) pairs.
data::Interactions make_pairs(index_t num_users, index_t num_items, const std::vector<std::pair<int, int>>& pairs) {
  data::Interactions x;
  for (index_t u = 0; u < num_users; ++u) x.users.insert(u);
  for (index_t i = 1; i <= num_items; ++i) x.items.insert(100 + i);
  for (auto [u, i] : pairs) x.push_back(id_t(u), id_t(i), 1.0f, 0);
  return x;
}

// Two user groups and two item groups: users 0-3 touch items 1-4, users 4-7 items 5-8, each user all of their
// group's items but one ((u % 4) + 1 of the group), so the missing one has to be ranked by what the model learned.
data::Interactions blocks() {
  std::vector<std::pair<int, int>> pairs;
  for (int u = 0; u < 8; ++u) {
    const int first = u < 4 ? 1 : 5;
    for (int i = first; i < first + 4; ++i)
      if (i != first + u % 4) pairs.emplace_back(u, i);
  }
  return make_pairs(8, 8, pairs);
}

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

}  // namespace

TEMPLATE_TEST_CASE("BprMf separates a two-block matrix for every user", "[completion][bpr]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  completion::BprMfOptions o;
  o.factors = 4;
  o.epochs = 300;
  o.init_scale = 0.1;
  o.seed = 7;
  completion::BprMf<T, Space> model(o);
  CHECK_FALSE(model.fitted());
  model.fit(space, blocks());
  REQUIRE(model.fitted());
  CHECK(model.num_items() == 8);
  CHECK(model.num_users() == 8);

  const auto& s = model.stats();
  REQUIRE(s.seconds.size() == 300);
  REQUIRE(s.loss.size() == 300);
  CHECK(s.samples_per_epoch == 24);
  CHECK(s.skipped.back() == 0);
  CHECK(s.loss.back() < s.loss.front());
  CHECK(s.loss.front() == Approx(std::log(2.0)).epsilon(0.05));  // x ≈ 0 at the start: -ln σ(0)
  CHECK(s.accuracy.back() == 1.0);

  // score_all over every user: each group's items (trained and held back) above every item of the other group.
  auto users = from_vector<Space, id_t>({0, 1, 2, 3, 4, 5, 6, 7});
  View2<T, Space> all("test::scores", 8, 9);
  model.score_all(space, users, all);
  auto h = to_host(all);
  for (int u = 0; u < 8; ++u) {
    const int own = u < 4 ? 1 : 5, other = u < 4 ? 5 : 1;
    T worst_own = std::numeric_limits<T>::max(), best_other = std::numeric_limits<T>::lowest();
    for (int i = 0; i < 4; ++i) {
      worst_own = std::min(worst_own, h(u, own + i));
      best_other = std::max(best_other, h(u, other + i));
    }
    INFO("user " << u);
    CHECK(worst_own > best_other);
  }

  // score() agrees with score_all() on a candidate matrix.
  auto sub = from_vector<Space, id_t>({2, 6});
  auto cand = id_matrix<Space>({{1, 8, 0}, {5, 2, 7}});
  View2<T, Space> sc("test::scores", 2, 3);
  model.score(space, sub, cand, sc);
  auto hs = to_host(sc);
  const std::vector<std::vector<int>> c = {{1, 8, 0}, {5, 2, 7}};
  const int su[2] = {2, 6};
  for (int b = 0; b < 2; ++b)
    for (int j = 0; j < 3; ++j) CHECK(hs(b, j) == Approx(h(su[b], c[b][j])).epsilon(tolerance<T>()).margin(1e-6));
}

TEMPLATE_TEST_CASE("BprMf: one sample is the analytic BPR step", "[completion][bpr]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  const double lr = 0.3, reg = 0.05;

  SECTION("detail::bpr_step on hand-chosen values, with item bias") {
    Kokkos::View<double**, Kokkos::LayoutRight, Kokkos::HostSpace> P("P", 2, 3), Q("Q", 4, 3);
    Kokkos::View<double*, Kokkos::LayoutRight, Kokkos::HostSpace> b("b", 4);
    const double p[3] = {0.5, -1.0, 2.0}, qi[3] = {1.0, 0.25, -0.5}, qj[3] = {-0.5, 0.75, 0.125};
    for (int c = 0; c < 3; ++c) {
      P(1, c) = p[c];
      Q(2, c) = qi[c];
      Q(3, c) = qj[c];
    }
    b(2) = 0.2;
    b(3) = -0.1;
    double x = 0.2 - (-0.1);
    for (int c = 0; c < 3; ++c) x += p[c] * (qi[c] - qj[c]);  // 0.3 + 0.75 + 0.5 - 1.25 = 0.3
    REQUIRE(x == Approx(0.3));
    const double g = sigmoid(-x);
    const double got = completion::detail::bpr_step<double>(P, Q, b, 1, 2, 3, lr, reg);
    CHECK(got == Approx(x).epsilon(1e-14));
    for (int c = 0; c < 3; ++c) {
      CHECK(P(1, c) == Approx(p[c] + lr * (g * (qi[c] - qj[c]) - reg * p[c])).epsilon(1e-14));
      CHECK(Q(2, c) == Approx(qi[c] + lr * (g * p[c] - reg * qi[c])).epsilon(1e-14));
      CHECK(Q(3, c) == Approx(qj[c] + lr * (-g * p[c] - reg * qj[c])).epsilon(1e-14));
      CHECK(P(0, c) == 0.0);  // other rows untouched
      CHECK(Q(1, c) == 0.0);
    }
    CHECK(b(2) == Approx(0.2 + lr * (g - reg * 0.2)).epsilon(1e-14));
    CHECK(b(3) == Approx(-0.1 + lr * (-g - reg * -0.1)).epsilon(1e-14));
  }

  SECTION("fit with one sample of one epoch: from the initial tables (epochs = 0) by the analytic step") {
    // One user who touched item 1 of 2: the only triple is (0, 1, 2).
    const data::Interactions x = make_pairs(1, 2, {{0, 1}});
    completion::BprMfOptions o;
    o.factors = 3;
    o.init_scale = 0.7;
    o.lr = lr;
    o.reg = reg;
    o.seed = 11;
    o.samples_per_epoch = 1;
    o.epochs = 0;
    completion::BprMf<T, Space> init(o);
    init.fit(space, x);
    CHECK(init.stats().seconds.empty());
    o.epochs = 1;
    completion::BprMf<T, Space> one(o);
    one.fit(space, x);
    auto P0 = to_host(init.tables().user), Q0 = to_host(init.tables().item);
    auto b0 = to_host(init.tables().item_bias);
    auto P1 = to_host(one.tables().user), Q1 = to_host(one.tables().item);
    auto b1 = to_host(one.tables().item_bias);
    for (int c = 0; c < 3; ++c) {
      CHECK(Q0(0, c) == T(0));  // padding row
      CHECK(P0(0, c) != T(0));
    }
    double xu = double(b0(1)) - double(b0(2));
    for (int c = 0; c < 3; ++c) xu += double(P0(0, c)) * (double(Q0(1, c)) - double(Q0(2, c)));
    const double g = sigmoid(-xu);
    const double tol = sizeof(T) == 4 ? 1e-5 : 1e-13;
    for (int c = 0; c < 3; ++c) {
      const double p = P0(0, c), qi = Q0(1, c), qj = Q0(2, c);
      CHECK(double(P1(0, c)) == Approx(p + lr * (g * (qi - qj) - reg * p)).margin(tol));
      CHECK(double(Q1(1, c)) == Approx(qi + lr * (g * p - reg * qi)).margin(tol));
      CHECK(double(Q1(2, c)) == Approx(qj + lr * (-g * p - reg * qj)).margin(tol));
      CHECK(Q1(0, c) == T(0));
    }
    CHECK(double(b1(1)) == Approx(lr * g).margin(tol));
    CHECK(double(b1(2)) == Approx(-lr * g).margin(tol));
    REQUIRE(one.stats().loss.size() == 1);
    CHECK(one.stats().loss[0] == Approx(-std::log(sigmoid(xu))).margin(tol));
    CHECK(one.stats().accuracy[0] == (xu > 0 ? 1.0 : 0.0));
  }
}

TEMPLATE_TEST_CASE("BprMf: negatives never come from the user's row", "[completion][bpr][sampler]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;

  SECTION("bpr_negative by rejection: outside the row, every other item reached, 0 for a full row") {
    Kokkos::View<id_t*, Kokkos::HostSpace> row("row", 6);
    const id_t items[6] = {7, 2, 3, 5, 9, 4};  // row [1, 5) of this array is {2, 3, 5, 9}
    for (int k = 0; k < 6; ++k) row(k) = items[k];
    std::set<id_t> seen;
    for (index_t s = 0; s < 2000; ++s) {
      const RandomStream rs = completion::detail::bpr_sample_stream(3, 1, s);
      const id_t j = completion::detail::bpr_negative(rs, 1, row, 1, 5, 10);
      REQUIRE(j >= 1);
      REQUIRE(j <= 10);
      REQUIRE(j != 2);
      REQUIRE(j != 3);
      REQUIRE(j != 5);
      REQUIRE(j != 9);
      seen.insert(j);
    }
    CHECK(seen == std::set<id_t>{1, 4, 6, 7, 8, 10});
    // A row holding all 4 items has no negative.
    Kokkos::View<id_t*, Kokkos::HostSpace> full("full", 4);
    for (int k = 0; k < 4; ++k) full(k) = k + 1;
    CHECK(completion::detail::bpr_negative(completion::detail::bpr_sample_stream(0, 0, 0), 1, full, 0, 4, 4) == 0);
  }

  SECTION("bpr_draw on a rating matrix: (u, i) a training pair, j outside u's row; full rows skipped") {
    // User 2 touched every item: its samples are skipped, never given a false negative.
    const data::Interactions x =
        make_pairs(4, 5, {{0, 1}, {0, 4}, {1, 2}, {1, 3}, {1, 5}, {2, 1}, {2, 2}, {2, 3}, {2, 4}, {2, 5}, {3, 5}});
    const auto r = completion::make_rating_matrix<T>(space, x, completion::Weights::binary);
    const auto& hr = r.host_by_user;
    Kokkos::View<index_t*, Kokkos::HostSpace> offsets("offsets", hr.offsets.size());
    Kokkos::View<id_t*, Kokkos::HostSpace> items("items", hr.indices.size()), pair_user("pu", hr.indices.size());
    for (std::size_t k = 0; k < hr.offsets.size(); ++k) offsets(k) = hr.offsets[k];
    for (std::size_t k = 0; k < hr.indices.size(); ++k) items(k) = hr.indices[k];
    for (index_t u = 0; u < 4; ++u)
      for (index_t p = hr.offsets[u]; p < hr.offsets[u + 1]; ++p) pair_user(p) = id_t(u);
    index_t skipped = 0, drawn = 0;
    std::set<id_t> users_seen;
    for (index_t s = 0; s < 3000; ++s) {
      id_t u = -1, i = -1, j = -1;
      const bool ok = completion::detail::bpr_draw(completion::detail::bpr_sample_stream(5, 2, s), offsets, items,
                                                   pair_user, 5, u, i, j);
      REQUIRE(u >= 0);
      REQUIRE(u < 4);
      users_seen.insert(u);
      std::set<id_t> row(hr.indices.begin() + hr.offsets[u], hr.indices.begin() + hr.offsets[u + 1]);
      REQUIRE(row.count(i) == 1);
      if (!ok) {
        CHECK(u == 2);
        CHECK(j == 0);
        ++skipped;
        continue;
      }
      ++drawn;
      REQUIRE(j >= 1);
      REQUIRE(j <= 5);
      REQUIRE(row.count(j) == 0);
    }
    CHECK(users_seen.size() == 4);
    // User 2 holds 5 of the 11 pairs: about 5/11 of the samples are skipped.
    CHECK(double(skipped) / 3000 == Approx(5.0 / 11).margin(0.05));

    // The fit counts them too.
    completion::BprMfOptions o;
    o.factors = 2;
    o.epochs = 3;
    completion::BprMf<T, Space> model(o);
    model.fit(space, x);
    REQUIRE(model.stats().skipped.size() == 3);
    CHECK(model.stats().skipped[0] > 0);
    CHECK(model.stats().skipped[0] < 11);
  }
}

TEMPLATE_TEST_CASE("BprMf on Serial is deterministic", "[completion][bpr]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  if constexpr (!std::is_same_v<Space, Kokkos::Serial>) {
    SUCCEED("Hogwild updates race on threaded backends; determinism is a Serial property");
  } else {
    Space space;
    completion::BprMfOptions o;
    o.factors = 5;
    o.epochs = 20;
    o.seed = 3;
    auto fit = [&](std::uint64_t seed) {
      o.seed = seed;
      completion::BprMf<T, Space> m(o);
      m.fit(space, blocks());
      return m;
    };
    const auto a = fit(3), b = fit(3), c = fit(4);
    auto same = [](const auto& x, const auto& y) {
      auto hx = to_host(x);
      auto hy = to_host(y);
      return hx.size() == hy.size() && std::memcmp(hx.data(), hy.data(), hx.size() * sizeof(T)) == 0;
    };
    CHECK(same(a.tables().user, b.tables().user));
    CHECK(same(a.tables().item, b.tables().item));
    CHECK(same(a.tables().item_bias, b.tables().item_bias));
    CHECK(a.stats().loss == b.stats().loss);
    CHECK_FALSE(same(a.tables().user, c.tables().user));
  }
}

TEMPLATE_TEST_CASE("BprMf errors", "[completion][bpr][errors]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  using Model = completion::BprMf<T, Space>;
  auto users = from_vector<Space, id_t>({0});
  auto cand = id_matrix<Space>({{1, 2}});
  View2<T, Space> scores("test::scores", 1, 2);
  View2<T, Space> all("test::all", 1, 9);

  Model model;
  CHECK_THAT(message_of([&] { model.score(space, users, cand, scores); }),
             Catch::Contains("BprMf::score: call fit() first"));
  CHECK_THAT(message_of([&] { model.score_all(space, users, all); }),
             Catch::Contains("BprMf::score_all: call fit() first"));

  auto bad_option = [](auto set) {
    completion::BprMfOptions o;
    set(o);
    return message_of([&] { Model m(o); });
  };
  CHECK_THAT(bad_option([](auto& o) { o.factors = 0; }), Catch::Contains("option factors must be >= 1, got 0"));
  CHECK_THAT(bad_option([](auto& o) { o.lr = -0.1; }), Catch::Contains("option lr must be finite and > 0, got -0.1"));
  CHECK_THAT(bad_option([](auto& o) { o.reg = std::nan(""); }), Catch::Contains("option reg must be finite"));
  CHECK_THAT(bad_option([](auto& o) { o.epochs = -1; }), Catch::Contains("option epochs must be >= 0, got -1"));
  CHECK_THAT(bad_option([](auto& o) { o.samples_per_epoch = -5; }),
             Catch::Contains("option samples_per_epoch must be >= 0 (0: nnz), got -5"));

  data::Interactions nan_weight = blocks();
  nan_weight.weight[3] = std::nanf("");
  CHECK_THAT(message_of([&] { model.fit(space, nan_weight); }), Catch::Contains("interaction 3"));
  CHECK_FALSE(model.fitted());

  // A learning rate that blows the factors up stops the fit with a numeric error naming the table.
  completion::BprMfOptions wild;
  wild.factors = 3;
  wild.lr = 1e30;
  wild.reg = 1;
  wild.init_scale = 1;
  wild.epochs = 50;
  Model exploding(wild);
  try {
    exploding.fit(space, blocks());
    FAIL("no exception");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::numeric);
    CHECK_THAT(std::string(e.what()), Catch::Contains("became NaN or infinite in epoch"));
    CHECK_THAT(std::string(e.what()), Catch::Contains("factors row"));
  }
  CHECK_FALSE(exploding.fitted());

  model.fit(space, blocks());
  auto stranger = from_vector<Space, id_t>({8});
  CHECK_THAT(message_of([&] { model.score(space, stranger, cand, scores); }),
             Catch::Contains("BprMf::score: user 8 (row 0) outside [0, 8)"));
  CHECK_THAT(message_of([&] { model.score_all(space, stranger, all); }),
             Catch::Contains("BprMf::score_all: user 8 (row 0) outside [0, 8)"));
  auto far = id_matrix<Space>({{1, 9}});
  CHECK_THAT(message_of([&] { model.score(space, users, far, scores); }),
             Catch::Contains("candidate 1 of row 0 is item 9, outside [0, 8]"));
}

}  // namespace seqrec::test
