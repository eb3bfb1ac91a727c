#include "support/backends.hpp"

#include <seqrec/completion/item_knn.hpp>
#include <seqrec/completion/strategy.hpp>
#include <seqrec/data/interactions.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

// Inside seqrec's namespace: an unqualified id_t is seqrec::id_t, not POSIX's ::id_t.
namespace seqrec::test {

namespace {

using completion::AsymmetricCosine;
using completion::Bm25Cosine;
using completion::Cosine;
using completion::ItemKnn;
using completion::Weights;

static_assert(completion::check_completion_strategy<ItemKnn<float, Kokkos::Serial>>());
static_assert(completion::check_completion_strategy<ItemKnn<double, Kokkos::DefaultExecutionSpace, Bm25Cosine>>());

// Users 0..3 (and user 4, known but without interactions) x items 1..5 (item 5 never seen):
//   u0: 1 2 3     u1: 1 3     u2: 2 3 4     u3: 1 4
// Item sets U1 = {0,1,3}, U2 = {0,2}, U3 = {0,1,2}, U4 = {2,3}; co-occurrences c12 = 1, c13 = 2, c14 = 1,
// c23 = 2, c24 = 1, c34 = 1. Weights (for Weights::positive) differ per pair; u1's item 3 appears twice.
struct Entry {
  int u, i;
  float w;
};
const std::vector<Entry> kEntries = {{0, 1, 2.0f}, {0, 2, 1.0f}, {0, 3, 3.0f}, {1, 1, 1.0f}, {1, 3, 0.5f}, {2, 2, 4.0f},
                                     {2, 3, 1.0f}, {2, 4, 2.0f}, {3, 1, 1.5f}, {3, 4, 1.0f}, {1, 3, 1.5f}};
constexpr int kUsers = 5, kItems = 5;

data::Interactions hand_made(const std::vector<Entry>& entries = kEntries) {
  data::Interactions x;
  for (int u = 0; u < kUsers; ++u) x.users.insert(u);
  for (int i = 1; i <= kItems; ++i) x.items.insert(100 + i);
  for (auto e : entries) x.push_back(id_t(e.u), id_t(e.i), e.w, 0);
  x.has_weight = true;
  return x;
}

using Dense = std::vector<std::vector<double>>;  // [user][item], items 0..kItems (column 0 unused)

Dense dense_matrix(bool binary) {
  Dense r(kUsers, std::vector<double>(kItems + 1, 0.0));
  for (auto e : kEntries) r[e.u][e.i] = binary ? 1.0 : r[e.u][e.i] + e.w;
  return r;
}

// implicit's bm25_weight on the item x user matrix, written out densely.
Dense bm25(const Dense& r, double k1, double b) {
  const double n = kItems;
  std::vector<double> len(kItems + 1, 0.0);
  double total = 0;
  for (int i = 1; i <= kItems; ++i) {
    for (int u = 0; u < kUsers; ++u) len[i] += r[u][i];
    total += len[i];
  }
  Dense out = r;
  for (int u = 0; u < kUsers; ++u) {
    int items_of_u = 0;
    for (int i = 1; i <= kItems; ++i) items_of_u += r[u][i] != 0.0;
    const double idf = std::log(n) - std::log1p(items_of_u);
    for (int i = 1; i <= kItems; ++i)
      if (r[u][i] != 0.0) {
        const double norm = (1 - b) + b * len[i] / (total / n);
        out[u][i] = r[u][i] * (k1 + 1) / (k1 * norm + r[u][i]) * idf;
      }
  }
  return out;
}

// sim(i, j) = c_ij / (n_i^a n_j^(1-a) + shrink), i != j, 0 where c_ij = 0.
Dense similarities(const Dense& r, double a, double shrink) {
  Dense s(kItems + 1, std::vector<double>(kItems + 1, 0.0));
  std::vector<double> n2(kItems + 1, 0.0);
  for (int i = 1; i <= kItems; ++i)
    for (int u = 0; u < kUsers; ++u) n2[i] += r[u][i] * r[u][i];
  for (int i = 1; i <= kItems; ++i)
    for (int j = 1; j <= kItems; ++j) {
      double c = 0;
      for (int u = 0; u < kUsers; ++u) c += r[u][i] * r[u][j];
      if (i != j && c != 0.0) s[i][j] = c / (std::pow(n2[i], a) * std::pow(n2[j], 1 - a) + shrink);
    }
  return s;
}

// Keeps each row's k largest (ties to the smaller id).
Dense truncate(Dense s, int k) {
  for (int i = 1; i <= kItems; ++i) {
    std::vector<std::pair<double, int>> row;
    for (int j = 1; j <= kItems; ++j)
      if (s[i][j] != 0.0) row.push_back({-s[i][j], j});
    std::sort(row.begin(), row.end());
    for (std::size_t q = static_cast<std::size_t>(k); q < row.size(); ++q) s[i][row[q].second] = 0.0;
  }
  return s;
}

// The model's neighbour rows as a dense matrix; also checks every row is sorted and excludes the item itself.
template <class Model>
Dense neighbours_dense(const Model& m) {
  auto o = to_host(m.neighbours().offsets);
  auto idx = to_host(m.neighbours().indices);
  auto val = to_host(m.neighbours().values);
  REQUIRE(o.extent(0) == kItems + 2);
  CHECK(o(1) == 0);  // padding row empty
  Dense s(kItems + 1, std::vector<double>(kItems + 1, 0.0));
  for (int i = 1; i <= kItems; ++i)
    for (index_t q = o(i); q < o(i + 1); ++q) {
      CHECK(idx(q) != i);
      if (q > o(i)) CHECK(idx(q - 1) < idx(q));
      s[i][idx(q)] = val(q);
    }
  return s;
}

void check_close(const Dense& got, const Dense& want, double tol) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i)
    for (std::size_t j = 0; j < got[i].size(); ++j) {
      INFO("entry (" << i << ", " << j << ")");
      CHECK(got[i][j] == Approx(want[i][j]).margin(tol).epsilon(tol));
    }
}

}  // namespace

TEMPLATE_TEST_CASE("ItemKnn similarities of a hand-made matrix", "[completion][item_knn]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  const double tol = tolerance<T>();
  Space space;
  const data::Interactions x = hand_made();

  SECTION("cosine on binary data: c_ij / sqrt(|Ui| |Uj|)") {
    ItemKnn<T, Space> model;
    model.fit(space, x);
    REQUIRE(model.fitted());
    CHECK(model.num_items() == kItems);
    CHECK(model.num_users() == kUsers);
    const Dense s = neighbours_dense(model);
    // By hand: |U1| = |U3| = 3, |U2| = |U4| = 2.
    CHECK(s[1][3] == Approx(2.0 / 3.0).epsilon(tol));
    CHECK(s[2][3] == Approx(2.0 / std::sqrt(6.0)).epsilon(tol));
    CHECK(s[2][4] == Approx(0.5).epsilon(tol));
    CHECK(s[1][2] == Approx(1.0 / std::sqrt(6.0)).epsilon(tol));
    CHECK(s[4][3] == Approx(1.0 / std::sqrt(6.0)).epsilon(tol));
    CHECK(s[1][5] == 0.0);
    check_close(s, similarities(dense_matrix(true), 0.5, 0.0), tol);
    CHECK(model.stats().neighbour_entries == 12);
    REQUIRE(model.stats().seconds.size() == 1);
  }

  SECTION("cosine on positive weights, with shrink") {
    typename ItemKnn<T, Space>::Options o;
    o.weights = Weights::positive;
    o.shrink = 2.0;
    ItemKnn<T, Space> model(o);
    model.fit(space, x);
    check_close(neighbours_dense(model), similarities(dense_matrix(false), 0.5, 2.0), tol);
  }

  SECTION("asymmetric cosine: c_ij / (|Ui|^alpha |Uj|^(1-alpha)); alpha = 0.5 is the cosine") {
    typename ItemKnn<T, Space, AsymmetricCosine>::Options o;
    o.alpha = 0.8;
    ItemKnn<T, Space, AsymmetricCosine> model(o);
    model.fit(space, x);
    const Dense s = neighbours_dense(model);
    CHECK(s[1][2] == Approx(1.0 / (std::pow(3.0, 0.8) * std::pow(2.0, 0.2))).epsilon(tol));
    CHECK(s[2][1] == Approx(1.0 / (std::pow(2.0, 0.8) * std::pow(3.0, 0.2))).epsilon(tol));
    check_close(s, similarities(dense_matrix(true), 0.8, 0.0), tol);

    o.alpha = 0.5;
    ItemKnn<T, Space, AsymmetricCosine> half(o);
    half.fit(space, x);
    ItemKnn<T, Space> cosine;
    cosine.fit(space, x);
    check_close(neighbours_dense(half), neighbours_dense(cosine), tol);
  }

  SECTION("BM25 cosine: implicit's bm25_weight (K1 = 100, B = 0.8), then cosine") {
    ItemKnn<T, Space, Bm25Cosine> model;
    model.fit(space, x);
    const Dense w = bm25(dense_matrix(true), 100.0, 0.8);
    check_close(neighbours_dense(model), similarities(w, 0.5, 0.0), tol);

    typename ItemKnn<T, Space, Bm25Cosine>::Options o;
    o.weights = Weights::positive;
    o.bm25_k1 = 1.2;
    o.bm25_b = 0.5;
    ItemKnn<T, Space, Bm25Cosine> weighted(o);
    weighted.fit(space, x);
    const Dense ww = bm25(dense_matrix(false), 1.2, 0.5);
    const Dense expect = similarities(ww, 0.5, 0.0);
    check_close(neighbours_dense(weighted), expect, tol);
    // BM25 changes the similarities, so the test above is not the plain cosine in disguise.
    CHECK(std::abs(expect[1][3] - similarities(dense_matrix(false), 0.5, 0.0)[1][3]) > 1e-3);
  }

  SECTION("top-k keeps each item's largest similarities, ties to the smaller id") {
    typename ItemKnn<T, Space>::Options o;
    o.neighbours = 2;
    ItemKnn<T, Space> model(o);
    model.fit(space, x);
    const Dense s = neighbours_dense(model);
    // Item 1: sim 2 = sim 4 = 1/sqrt(6) < sim 3 = 2/3: keeps 3 and 2 (the smaller of the tied ids).
    CHECK(s[1][3] > 0);
    CHECK(s[1][2] > 0);
    CHECK(s[1][4] == 0.0);
    // Item 3: 2/sqrt(6) (item 2) > 2/3 (item 1) > 1/sqrt(6) (item 4).
    CHECK(s[3][2] > 0);
    CHECK(s[3][1] > 0);
    CHECK(s[3][4] == 0.0);
    check_close(s, truncate(similarities(dense_matrix(true), 0.5, 0.0), 2), tol);
    CHECK(model.stats().neighbour_entries == 8);
  }
}

TEMPLATE_TEST_CASE("ItemKnn popularity fallback: unreached items ordered by popularity, below every similarity",
                   "[completion][item_knn]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  const data::Interactions x = hand_made();
  typename ItemKnn<T, Space>::Options plain, with;
  plain.popularity_fallback = 0.0;
  with.popularity_fallback = 1e-3;
  ItemKnn<T, Space> a(plain), b(with);
  a.fit(space, x);
  b.fit(space, x);
  // Users of each item (distinct), from the binary matrix.
  const Dense r = dense_matrix(true);
  std::vector<double> users_of(kItems + 1, 0.0);
  for (int u = 0; u < kUsers; ++u)
    for (int i = 1; i <= kItems; ++i) users_of[i] += r[u][i] > 0 ? 1.0 : 0.0;
  const double most = *std::max_element(users_of.begin(), users_of.end());
  std::vector<id_t> all_users(kUsers);
  for (int u = 0; u < kUsers; ++u) all_users[u] = u;
  auto users = from_vector<Space, id_t>(all_users);
  View2<T, Space> sa("test::a", kUsers, kItems + 1), sb("test::b", kUsers, kItems + 1);
  a.score_all(space, users, sa);
  b.score_all(space, users, sb);
  auto ha = to_host(sa);
  auto hb = to_host(sb);
  for (int u = 0; u < kUsers; ++u) {
    CHECK(hb(u, 0) == T(0));
    for (int i = 1; i <= kItems; ++i) {
      INFO("user " << u << ", item " << i);
      CHECK(double(hb(u, i)) == Approx(double(ha(u, i)) + 1e-3 * users_of[i] / most).margin(1e-6));
    }
  }
  CHECK_THAT(message_of([] {
               typename ItemKnn<T, Space>::Options o;
               o.popularity_fallback = -1;
               ItemKnn<T, Space> m(o);
             }),
             Catch::Contains("Options::popularity_fallback must be finite and >= 0, got -1"));
}

TEMPLATE_TEST_CASE("ItemKnn scores: score_all against a host reference, score at the candidates",
                   "[completion][item_knn]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  const double tol = tolerance<T>();
  Space space;
  const data::Interactions x = hand_made();

  for (int k : {100, 2}) {
    for (bool binary : {true, false}) {
      DYNAMIC_SECTION("neighbours " << k << (binary ? ", binary" : ", positive weights")) {
        typename ItemKnn<T, Space, AsymmetricCosine>::Options o;
        o.neighbours = k;
        o.alpha = 0.3;
        o.weights = binary ? Weights::binary : Weights::positive;
        o.popularity_fallback = 0.0;  // the plain neighbourhood sums (the fallback has its own test)
        ItemKnn<T, Space, AsymmetricCosine> model(o);
        model.fit(space, x);
        const Dense r = dense_matrix(binary);
        const Dense s = truncate(similarities(r, 0.3, 0.0), k);
        // reference(u, i) = Σ_j r(u, j) s(j, i); user 4 has no history and scores 0.
        Dense ref(kUsers, std::vector<double>(kItems + 1, 0.0));
        for (int u = 0; u < kUsers; ++u)
          for (int i = 1; i <= kItems; ++i)
            for (int j = 1; j <= kItems; ++j) ref[u][i] += r[u][j] * s[j][i];

        const std::vector<id_t> order = {3, 0, 4, 2, 1, 0};
        auto users = from_vector<Space, id_t>(order);
        View2<T, Space> all("test::scores", order.size(), kItems + 1);
        Kokkos::deep_copy(all, T(7));  // score_all must overwrite every entry
        model.score_all(space, users, all);
        auto h = to_host(all);
        for (std::size_t b = 0; b < order.size(); ++b)
          for (int i = 0; i <= kItems; ++i) {
            INFO("row " << b << " (user " << order[b] << "), item " << i);
            CHECK(double(h(b, i)) == Approx(ref[order[b]][i]).margin(tol).epsilon(tol));
          }
        for (int i = 0; i <= kItems; ++i) CHECK(h(2, i) == T(0));  // user 4: no history

        auto cand =
            id_matrix<Space>({{4, 1, 0, 5}, {3, 3, 2, 1}, {1, 2, 3, 4}, {5, 4, 3, 2}, {2, 5, 1, 0}, {0, 1, 2, 3}});
        View2<T, Space> sc("test::scores", order.size(), 4);
        model.score(space, users, cand, sc);
        auto hs = to_host(sc);
        auto hc = to_host(cand);
        for (std::size_t b = 0; b < order.size(); ++b)
          for (int j = 0; j < 4; ++j) {
            INFO("row " << b << ", candidate " << j);
            CHECK(double(hs(b, j)) == Approx(double(h(b, hc(b, j)))).margin(tol).epsilon(tol));
          }
      }
    }
  }
}

TEMPLATE_TEST_CASE("ItemKnn errors: options, fit, scoring", "[completion][item_knn]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  using Model = ItemKnn<T, Space, AsymmetricCosine>;
  Space space;

  SECTION("bad options name the option and the value") {
    auto bad = [](auto change) {
      typename Model::Options o;
      change(o);
      return message_of([&] { Model m(o); });
    };
    CHECK_THAT(bad([](auto& o) { o.neighbours = 0; }), Catch::Contains("Options::neighbours must be >= 1, got 0"));
    CHECK_THAT(bad([](auto& o) { o.alpha = 1.5; }), Catch::Contains("Options::alpha must lie in [0, 1], got 1.5"));
    CHECK_THAT(bad([](auto& o) { o.alpha = std::nan(""); }), Catch::Contains("Options::alpha"));
    CHECK_THAT(bad([](auto& o) { o.shrink = -1; }), Catch::Contains("Options::shrink must be finite and >= 0, got -1"));
    CHECK_THAT(bad([](auto& o) { o.weights = Weights::finite; }),
               Catch::Contains("Options::weights must be Weights::binary or Weights::positive"));
    CHECK_THAT(bad([](auto& o) { o.bm25_b = 2; }), Catch::Contains("Options::bm25_b must lie in [0, 1], got 2"));
    CHECK_THAT(bad([](auto& o) { o.bm25_k1 = -3; }), Catch::Contains("Options::bm25_k1"));
  }

  SECTION("fit rejects NaN, non-positive weights under Weights::positive, and empty data") {
    typename Model::Options o;
    o.weights = Weights::positive;
    Model model(o);
    data::Interactions x = hand_made();
    x.weight[3] = std::numeric_limits<float>::quiet_NaN();
    CHECK_THAT(message_of([&] { model.fit(space, x); }), Catch::Contains("weights must be finite"));
    x.weight[3] = 0.0f;
    CHECK_THAT(message_of([&] { model.fit(space, x); }), Catch::Contains("needs positive weights"));
    CHECK_FALSE(model.fitted());
    CHECK_THAT(message_of([&] { model.fit(space, hand_made({})); }), Catch::Contains("no interactions to fit on"));
    // Binary data ignores the weights' values, but never a NaN.
    Model binary;
    x.weight[3] = std::numeric_limits<float>::quiet_NaN();
    CHECK_THAT(message_of([&] { binary.fit(space, x); }), Catch::Contains("weights must be finite"));
  }

  SECTION("scoring before fit, users and candidates out of range, wrong shapes") {
    Model model;
    auto users = from_vector<Space, id_t>({0, 1});
    auto cand = id_matrix<Space>({{1, 2}, {3, 6}});
    View2<T, Space> scores("test::scores", 2, 2);
    View2<T, Space> all("test::all", 2, kItems + 1);
    CHECK_THAT(message_of([&] { model.score(space, users, cand, scores); }),
               Catch::Contains("ItemKnn::score: call fit() first"));
    CHECK_THAT(message_of([&] { model.score_all(space, users, all); }),
               Catch::Contains("ItemKnn::score_all: call fit() first"));

    model.fit(space, hand_made());
    CHECK_THAT(message_of([&] { model.score(space, users, cand, scores); }),
               Catch::Contains("candidate 1 of row 1 is item 6, outside [0, 5]"));
    auto stranger = from_vector<Space, id_t>({0, 5});
    auto ok = id_matrix<Space>({{1, 2}, {3, 4}});
    CHECK_THAT(message_of([&] { model.score(space, stranger, ok, scores); }),
               Catch::Contains("user 5 (row 1) outside [0, 5)"));
    CHECK_THAT(message_of([&] { model.score_all(space, stranger, all); }),
               Catch::Contains("user 5 (row 1) outside [0, 5)"));
    View2<T, Space> wrong("test::wrong", 2, kItems);
    CHECK_THAT(message_of([&] { model.score_all(space, users, wrong); }),
               Catch::Contains("expected [2, 6], got [2, 5]"));
  }
}

}  // namespace seqrec::test
