#include "support/backends.hpp"

#include <seqrec/completion/ease.hpp>
#include <seqrec/completion/strategy.hpp>
#include <seqrec/core/random.hpp>
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

using completion::Ease;
using completion::EaseSolver;
using completion::Weights;

static_assert(completion::check_completion_strategy<Ease<float, Kokkos::Serial>>());
static_assert(completion::check_completion_strategy<Ease<double, Kokkos::DefaultExecutionSpace>>());

struct Entry {
  int u, i;
  float w;
};

// A catalogue of `items` items and `users` users (the last one without interactions) from entries.
data::Interactions make(int users, int items, const std::vector<Entry>& entries) {
  data::Interactions x;
  for (int u = 0; u < users; ++u) x.users.insert(u);
  for (int i = 1; i <= items; ++i) x.items.insert(100 + i);
  for (auto e : entries) x.push_back(id_t(e.u), id_t(e.i), e.w, 0);
  x.has_weight = true;
  return x;
}

// The 4x5 matrix of the item-kNN tests (item 5 unseen, user 4 without interactions), with weights.
const std::vector<Entry> kHand = {{0, 1, 2.0f}, {0, 2, 1.0f}, {0, 3, 3.0f}, {1, 1, 1.0f}, {1, 3, 0.5f}, {2, 2, 4.0f},
                                  {2, 3, 1.0f}, {2, 4, 2.0f}, {3, 1, 1.5f}, {3, 4, 1.0f}, {1, 3, 1.5f}};

// 40 users x 30 items, about a quarter of the pairs, weights in [0.5, 2.5); user 39 without interactions.
std::vector<Entry> random_entries() {
  const RandomStream rs(7, 11);
  std::vector<Entry> e;
  std::uint64_t k = 0;
  for (int u = 0; u < 39; ++u)
    for (int i = 1; i <= 30; ++i)
      if (rs.below(k++, 4) == 0) e.push_back({u, i, 0.5f + 2.0f * float(rs.below(k++, 1000)) / 1000.0f});
  return e;
}

using Dense = std::vector<std::vector<double>>;

Dense dense_x(int users, int items, const std::vector<Entry>& entries, bool binary) {
  Dense r(users, std::vector<double>(items + 1, 0.0));
  for (auto e : entries) r[e.u][e.i] = binary ? 1.0 : r[e.u][e.i] + e.w;
  return r;
}

// Gauss–Jordan with partial pivoting, in double.
Dense inverse(Dense a) {
  const std::size_t n = a.size();
  Dense inv(n, std::vector<double>(n, 0.0));
  for (std::size_t i = 0; i < n; ++i) inv[i][i] = 1.0;
  for (std::size_t p = 0; p < n; ++p) {
    std::size_t best = p;
    for (std::size_t r = p + 1; r < n; ++r)
      if (std::abs(a[r][p]) > std::abs(a[best][p])) best = r;
    std::swap(a[p], a[best]);
    std::swap(inv[p], inv[best]);
    const double d = a[p][p];
    for (std::size_t c = 0; c < n; ++c) {
      a[p][c] /= d;
      inv[p][c] /= d;
    }
    for (std::size_t r = 0; r < n; ++r)
      if (r != p) {
        const double f = a[r][p];
        if (f == 0.0) continue;
        for (std::size_t c = 0; c < n; ++c) {
          a[r][c] -= f * a[p][c];
          inv[r][c] -= f * inv[p][c];
        }
      }
  }
  return inv;
}

// B over items 0..items (row and column 0 zero): G = XᵀX + λI, P = G⁻¹, B = I − P diag(1/diag P).
Dense reference_b(const Dense& x, int items, double lambda) {
  Dense g(items, std::vector<double>(items, 0.0));
  for (const auto& row : x)
    for (int i = 1; i <= items; ++i)
      for (int j = 1; j <= items; ++j) g[i - 1][j - 1] += row[i] * row[j];
  for (int i = 0; i < items; ++i) g[i][i] += lambda;
  const Dense p = inverse(g);
  Dense b(items + 1, std::vector<double>(items + 1, 0.0));
  for (int i = 1; i <= items; ++i)
    for (int j = 1; j <= items; ++j) b[i][j] = i == j ? 0.0 : -p[i - 1][j - 1] / p[j - 1][j - 1];
  return b;
}

// Both solvers where LAPACK is usable, else the portable one only (still tested, forced).
template <class Model>
std::vector<EaseSolver> solvers() {
  if constexpr (Model::has_lapack) return {EaseSolver::lapack, EaseSolver::portable};
  return {EaseSolver::portable};
}

}  // namespace

TEMPLATE_TEST_CASE("Ease: B against a double reference, for LAPACK and the portable solver", "[completion][ease]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  using Model = Ease<T, Space>;
  Space space;
  // Double: 1e-8 as asked; float: relative to B's largest entry (G's condition number is modest here).
  const double tol = sizeof(T) == 8 ? 1e-8 : 2e-4;

  struct Case {
    const char* name;
    int users, items;
    std::vector<Entry> entries;
    double lambda;
    bool binary;
    index_t block;
  };
  const std::vector<Case> cases = {
      {"hand 4x5, binary, lambda 0.5, block 2", 5, 5, kHand, 0.5, true, 2},
      {"hand 4x5, weighted, lambda 3, block 128", 5, 5, kHand, 3.0, false, 128},
      {"random 40x30, weighted, lambda 1, block 8", 40, 30, random_entries(), 1.0, false, 8},
      {"random 40x30, binary, lambda 10, block 7", 40, 30, random_entries(), 10.0, true, 7},
  };
  for (const auto& c : cases)
    for (EaseSolver solver : solvers<Model>()) {
      DYNAMIC_SECTION(c.name << ", solver " << completion::to_string(solver)) {
        typename Model::Options o;
        o.lambda = c.lambda;
        o.weights = c.binary ? Weights::binary : Weights::positive;
        o.solver = solver;
        o.block = c.block;
        Model model(o);
        model.fit(space, make(c.users, c.items, c.entries));
        REQUIRE(model.fitted());
        CHECK(model.num_items() == c.items);
        CHECK(model.stats().used_lapack == (solver == EaseSolver::lapack));
        REQUIRE(model.stats().seconds.size() == 1);
        const Dense x = dense_x(c.users, c.items, c.entries, c.binary);
        const Dense want = reference_b(x, c.items, c.lambda);
        double scale = 0;
        for (const auto& row : want)
          for (double v : row) scale = std::max(scale, std::abs(v));
        REQUIRE(scale > 1e-3);  // B is not trivially 0
        auto b = to_host(model.weights());
        REQUIRE(b.extent(0) == std::size_t(c.items + 1));
        REQUIRE(b.extent(1) == std::size_t(c.items + 1));
        for (int i = 0; i <= c.items; ++i) {
          CHECK(b(i, i) == T(0));  // exactly: diag(B) = 0
          CHECK(b(0, i) == T(0));  // padding row and column
          CHECK(b(i, 0) == T(0));
          for (int j = 0; j <= c.items; ++j) {
            INFO("B(" << i << ", " << j << ")");
            CHECK(std::abs(double(b(i, j)) - want[i][j]) <= tol * std::max(1.0, scale));
          }
        }

        // score_all = X B for every user (the last one has no interactions: 0); score gathers it.
        std::vector<id_t> order;
        for (int u = c.users - 1; u >= 0; --u) order.push_back(id_t(u));
        auto users = from_vector<Space, id_t>(order);
        View2<T, Space> all("test::scores", order.size(), c.items + 1);
        Kokkos::deep_copy(all, T(7));
        model.score_all(space, users, all);
        auto h = to_host(all);
        View2<id_t, Space> cand("test::cand", order.size(), 3);
        auto hc = Kokkos::create_mirror_view(cand);
        for (std::size_t r = 0; r < order.size(); ++r) {
          const int u = order[r];
          for (int i = 0; i <= c.items; ++i) {
            double want_score = 0;
            for (int j = 1; j <= c.items; ++j) want_score += x[u][j] * want[j][i];
            INFO("user " << u << ", item " << i);
            CHECK(std::abs(double(h(r, i)) - want_score) <= tol * std::max(1.0, scale) * 8);
          }
          hc(r, 0) = id_t(1 + r % c.items);
          hc(r, 1) = 0;
          hc(r, 2) = id_t(c.items - r % c.items);
        }
        for (int i = 0; i <= c.items; ++i) CHECK(h(0, i) == T(0));  // the user without interactions
        Kokkos::deep_copy(cand, hc);
        View2<T, Space> sc("test::sc", order.size(), 3);
        model.score(space, users, cand, sc);
        auto hs = to_host(sc);
        for (std::size_t r = 0; r < order.size(); ++r)
          for (int j = 0; j < 3; ++j) CHECK(hs(r, j) == Approx(h(r, hc(r, j))).margin(1e-12));
      }
    }
}

TEMPLATE_TEST_CASE("Ease errors: options, memory cap, fit, scoring", "[completion][ease]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  using Model = Ease<T, Space>;
  Space space;
  const data::Interactions x = make(5, 5, kHand);

  SECTION("bad options name the option and the value") {
    auto bad = [](auto change) {
      typename Model::Options o;
      change(o);
      return message_of([&] { Model m(o); });
    };
    CHECK_THAT(bad([](auto& o) { o.lambda = 0; }), Catch::Contains("Options::lambda must be finite and > 0, got 0"));
    CHECK_THAT(bad([](auto& o) { o.lambda = std::nan(""); }), Catch::Contains("Options::lambda"));
    CHECK_THAT(bad([](auto& o) { o.max_memory_gb = -1; }),
               Catch::Contains("Options::max_memory_gb must be finite and > 0, got -1"));
    CHECK_THAT(bad([](auto& o) { o.block = 0; }), Catch::Contains("Options::block must be >= 1, got 0"));
    if constexpr (!Model::has_lapack)
      CHECK_THAT(bad([](auto& o) { o.solver = EaseSolver::lapack; }),
                 Catch::Contains("EaseSolver::lapack is unavailable"));
  }

  SECTION("the memory cap names the items and the bytes, before allocating") {
    typename Model::Options o;
    o.solver = EaseSolver::portable;
    o.block = 2;
    o.max_memory_gb = 1e-7;  // 100 bytes
    Model model(o);
    // (5+1)^2 + 2*5*2 + 2*2 = 60 elements.
    const std::string msg = message_of([&] { model.fit(space, x); });
    CHECK_THAT(msg, Catch::Contains("matrix of 5 items needs " + std::to_string(60 * sizeof(T)) + " bytes"));
    CHECK_THAT(msg, Catch::Contains("above Options::max_memory_gb = 1e-07"));
    CHECK_FALSE(model.fitted());
    CHECK(model.bytes_needed(23715) == std::int64_t((23716ll * 23716 + 2 * 23715 * 2 + 4) * sizeof(T)));
    o.max_memory_gb = 1e-6;
    Model fits(o);
    fits.fit(space, x);
    CHECK(fits.stats().bytes == std::int64_t(60 * sizeof(T)));
  }

  SECTION("fit rejects NaN weights and empty data; a failed fit keeps the model unfitted") {
    Model model;
    data::Interactions bad = x;
    bad.weight[2] = std::numeric_limits<float>::infinity();
    CHECK_THAT(message_of([&] { model.fit(space, bad); }), Catch::Contains("weights must be finite"));
    bad.weight[2] = std::numeric_limits<float>::quiet_NaN();
    CHECK_THAT(message_of([&] { model.fit(space, bad); }), Catch::Contains("weights must be finite"));
    CHECK_THAT(message_of([&] { model.fit(space, make(2, 3, {})); }), Catch::Contains("no interactions to fit on"));
    CHECK_FALSE(model.fitted());
  }

  SECTION("scoring before fit, users and candidates out of range, wrong shapes") {
    Model model;
    auto users = from_vector<Space, id_t>({0, 1});
    auto cand = id_matrix<Space>({{1, 2}, {3, 6}});
    View2<T, Space> scores("test::scores", 2, 2);
    View2<T, Space> all("test::all", 2, 6);
    CHECK_THAT(message_of([&] { model.score(space, users, cand, scores); }),
               Catch::Contains("Ease::score: call fit() first"));
    CHECK_THAT(message_of([&] { model.score_all(space, users, all); }),
               Catch::Contains("Ease::score_all: call fit() first"));
    model.fit(space, x);
    CHECK_THAT(message_of([&] { model.score(space, users, cand, scores); }),
               Catch::Contains("candidate 1 of row 1 is item 6, outside [0, 5]"));
    auto stranger = from_vector<Space, id_t>({-1, 0});
    auto ok = id_matrix<Space>({{1, 2}, {3, 4}});
    CHECK_THAT(message_of([&] { model.score(space, stranger, ok, scores); }),
               Catch::Contains("user -1 (row 0) outside [0, 5)"));
    CHECK_THAT(message_of([&] { model.score_all(space, stranger, all); }),
               Catch::Contains("user -1 (row 0) outside [0, 5)"));
    View2<T, Space> wrong("test::wrong", 3, 6);
    CHECK_THAT(message_of([&] { model.score_all(space, users, wrong); }),
               Catch::Contains("expected [2, 6], got [3, 6]"));
  }
}

}  // namespace seqrec::test
