#include "support/backends.hpp"

#include <seqrec/completion/als.hpp>
#include <seqrec/completion/strategy.hpp>
#include <seqrec/data/interactions.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

// Inside seqrec's namespace: an unqualified id_t is seqrec::id_t, not POSIX's ::id_t.
namespace seqrec::test {

namespace {

using completion::Cholesky;
using completion::ConjugateGradient;
using completion::ImplicitAls;
using completion::ImplicitAlsOptions;
using completion::Weights;

static_assert(completion::check_completion_strategy<ImplicitAls<float, Kokkos::Serial>>());
static_assert(completion::check_completion_strategy<ImplicitAls<double, Kokkos::Serial, Cholesky>>());

struct Triple {
  int user, item;
  float weight;
};

// Users 0..num_users-1 and items 1..num_items are inserted first, so dense ids equal the numbers used here
// (and users / items without interactions exist).
data::Interactions make_data(int num_users, int num_items, const std::vector<Triple>& rows) {
  data::Interactions x;
  for (int u = 0; u < num_users; ++u) x.users.insert(u);
  for (int i = 1; i <= num_items; ++i) x.items.insert(100 + i);
  for (const auto& t : rows) x.push_back(id_t(t.user), id_t(t.item), t.weight, 0);
  x.has_weight = true;
  return x;
}

// 12 users, 15 items, weights 1..3 and a repeated pair (merged: weights add). User 11 and item 15 have no
// interactions.
data::Interactions small_data() {
  std::vector<Triple> rows;
  for (int u = 0; u < 11; ++u)
    for (int j = 0; j < 3 + u % 4; ++j) rows.push_back({u, 1 + (u * 7 + j * 5) % 14, float(1 + (u + j) % 3)});
  rows.push_back({2, 1 + (2 * 7) % 14, 2.0f});  // repeats (2, 1): weight 3 + 2
  return make_data(12, 15, rows);
}

// Two blocks: users 0-5 take items 1-5, users 6-11 items 6-10, each user missing one item of its block.
data::Interactions block_data() {
  std::vector<Triple> rows;
  for (int u = 0; u < 12; ++u) {
    const int base = u < 6 ? 1 : 6;
    for (int j = 0; j < 5; ++j)
      if (j != u % 5) rows.push_back({u, base + j, 1.0f});
  }
  return make_data(12, 10, rows);
}

// Dense confidence C and preference P [U x (I+1)] as the paper defines them (column 0 unused).
struct Dense {
  int users, items;
  std::vector<double> c, p;
  double conf(int u, int i) const { return c[std::size_t(u) * (items + 1) + i]; }
  double pref(int u, int i) const { return p[std::size_t(u) * (items + 1) + i]; }
};

Dense dense(const data::Interactions& x, double alpha, bool binary) {
  Dense d{int(x.num_users()), int(x.num_items()), {}, {}};
  std::vector<double> w(std::size_t(d.users) * (d.items + 1), 0.0);
  for (std::size_t e = 0; e < x.user.size(); ++e) {
    double& cell = w[std::size_t(x.user[e]) * (d.items + 1) + x.item[e]];
    cell = binary ? 1.0 : cell + x.weight[e];
  }
  d.c.resize(w.size());
  d.p.resize(w.size());
  for (std::size_t e = 0; e < w.size(); ++e) {
    d.c[e] = 1.0 + alpha * w[e];
    d.p[e] = w[e] != 0.0 ? 1.0 : 0.0;
  }
  return d;
}

using HostMatrix = std::vector<std::vector<double>>;

template <class V>
HostMatrix host_matrix(const V& v) {
  auto h = to_host(v);
  HostMatrix m(h.extent(0), std::vector<double>(h.extent(1)));
  for (std::size_t r = 0; r < h.extent(0); ++r)
    for (std::size_t c = 0; c < h.extent(1); ++c) m[r][c] = double(h(r, c));
  return m;
}

// Gaussian elimination with partial pivoting on a dense n x n system.
std::vector<double> gauss_solve(std::vector<std::vector<double>> A, std::vector<double> b) {
  const std::size_t n = b.size();
  for (std::size_t col = 0; col < n; ++col) {
    std::size_t piv = col;
    for (std::size_t r = col + 1; r < n; ++r)
      if (std::fabs(A[r][col]) > std::fabs(A[piv][col])) piv = r;
    std::swap(A[col], A[piv]);
    std::swap(b[col], b[piv]);
    for (std::size_t r = col + 1; r < n; ++r) {
      const double f = A[r][col] / A[col][col];
      for (std::size_t c = col; c < n; ++c) A[r][c] -= f * A[col][c];
      b[r] -= f * b[col];
    }
  }
  std::vector<double> x(n);
  for (std::size_t r = n; r-- > 0;) {
    double s = b[r];
    for (std::size_t c = r + 1; c < n; ++c) s -= A[r][c] * x[c];
    x[r] = s / A[r][r];
  }
  return x;
}

// The users step solved densely, over every (user, item) pair: (sum_i c_ui y_i y_i^T + reg I) x_u =
// sum_i c_ui p_ui y_i. by_item = true gives the items step (rows of `fixed` are users).
HostMatrix reference_step(const Dense& d, const HostMatrix& fixed, double reg, bool by_item) {
  const std::size_t k = fixed[0].size();
  const int rows = by_item ? d.items + 1 : d.users;
  const int others = by_item ? d.users : d.items + 1;
  HostMatrix out(rows, std::vector<double>(k, 0.0));
  for (int r = by_item ? 1 : 0; r < rows; ++r) {
    std::vector<std::vector<double>> A(k, std::vector<double>(k, 0.0));
    std::vector<double> b(k, 0.0);
    for (std::size_t a = 0; a < k; ++a) A[a][a] = reg;
    for (int o = by_item ? 0 : 1; o < others; ++o) {
      const double c = by_item ? d.conf(o, r) : d.conf(r, o);
      const double p = by_item ? d.pref(o, r) : d.pref(r, o);
      const auto& f = fixed[o];
      for (std::size_t a = 0; a < k; ++a) {
        b[a] += c * p * f[a];
        for (std::size_t e = 0; e < k; ++e) A[a][e] += c * f[a] * f[e];
      }
    }
    out[r] = gauss_solve(A, b);
  }
  return out;
}

// L over every pair, the definition itself.
double reference_loss(const Dense& d, const HostMatrix& X, const HostMatrix& Y, double reg) {
  double loss = 0;
  for (int u = 0; u < d.users; ++u)
    for (int i = 1; i <= d.items; ++i) {
      double s = 0;
      for (std::size_t c = 0; c < X[u].size(); ++c) s += X[u][c] * Y[i][c];
      loss += d.conf(u, i) * (d.pref(u, i) - s) * (d.pref(u, i) - s);
    }
  for (const auto* m : {&X, &Y})
    for (const auto& row : *m)
      for (double v : row) loss += reg * v * v;
  return loss;
}

double max_abs(const HostMatrix& m) {
  double a = 0;
  for (const auto& row : m)
    for (double v : row) a = std::max(a, std::fabs(v));
  return a;
}

double max_diff(const HostMatrix& a, const HostMatrix& b) {
  REQUIRE(a.size() == b.size());
  double d = 0;
  for (std::size_t r = 0; r < a.size(); ++r) {
    REQUIRE(a[r].size() == b[r].size());
    for (std::size_t c = 0; c < a[r].size(); ++c) d = std::max(d, std::fabs(a[r][c] - b[r][c]));
  }
  return d;
}

bool row_is_zero(const HostMatrix& m, std::size_t r) {
  return std::all_of(m[r].begin(), m[r].end(), [](double v) { return v == 0.0; });
}

template <class E>
Errc code_of(E&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.code();
  }
  FAIL("no exception");
  return Errc::invalid_argument;
}

ImplicitAlsOptions small_options(index_t k, int iterations) {
  ImplicitAlsOptions o;
  o.factors = k;
  o.reg = 0.1;
  o.alpha = 2.0;
  o.iterations = iterations;
  o.seed = 7;
  o.init_scale = 0.5;  // large enough that the first users step is far from trivial
  return o;
}

template <class T>
double solve_tolerance() {
  return sizeof(T) == 4 ? 2e-3 : 1e-8;
}

}  // namespace

TEMPLATE_TEST_CASE("ImplicitAls with Cholesky: each half-step is the dense least-squares solution", "[completion][als]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  const data::Interactions x = small_data();
  const auto opt = small_options(5, 1);
  const Dense d = dense(x, opt.alpha, false);

  ImplicitAls<T, Space, Cholesky> model(opt);
  model.fit(space, x);
  REQUIRE(model.fitted());
  CHECK(model.num_users() == 12);
  CHECK(model.num_items() == 15);
  const HostMatrix X1 = host_matrix(model.user_factors());
  const HostMatrix Y1 = host_matrix(model.item_factors());
  REQUIRE(X1.size() == 12);
  REQUIRE(Y1.size() == 16);
  REQUIRE(X1[0].size() == 5);

  // The items step of the fit, against the dense solve with the fitted X.
  const HostMatrix Y_ref = reference_step(d, X1, opt.reg, /*by_item=*/true);
  CHECK(max_diff(Y1, Y_ref) <= solve_tolerance<T>() * std::max(1.0, max_abs(Y_ref)));
  CHECK(row_is_zero(Y1, 0));   // padding
  CHECK(row_is_zero(Y1, 15));  // no interactions
  CHECK(row_is_zero(X1, 11));  // no interactions

  // A users step with the fitted Y (through fold_in over every user), against the dense solve.
  const auto r = completion::make_rating_matrix<T>(space, x, Weights::positive);
  std::vector<id_t> all(12);
  for (int u = 0; u < 12; ++u) all[u] = id_t(11 - u);  // any order
  model.fold_in(space, r, std::span<const id_t>(all));
  const HostMatrix X2 = host_matrix(model.user_factors());
  const HostMatrix X_ref = reference_step(d, Y1, opt.reg, /*by_item=*/false);
  CHECK(max_diff(X2, X_ref) <= solve_tolerance<T>() * std::max(1.0, max_abs(X_ref)));
  CHECK(max_diff(X2, X1) > 1e-3);  // the step did move (the test is not vacuous)
  CHECK(row_is_zero(X2, 11));
}

TEMPLATE_TEST_CASE("ImplicitAls: the loss is the implicit objective and never increases with Cholesky",
                   "[completion][als]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  const data::Interactions x = small_data();
  auto opt = small_options(4, 8);
  const Dense d = dense(x, opt.alpha, false);

  ImplicitAls<T, Space, Cholesky> model(opt);
  model.fit(space, x);
  const auto& loss = model.stats().loss;
  REQUIRE(loss.size() == 8);
  REQUIRE(model.stats().seconds.size() == 8);
  const double slack = sizeof(T) == 4 ? 1e-5 : 1e-12;
  for (std::size_t t = 1; t < loss.size(); ++t) {
    INFO("iteration " << t << ": " << loss[t - 1] << " -> " << loss[t]);
    CHECK(loss[t] <= loss[t - 1] * (1 + slack));
  }
  CHECK(loss.back() < loss.front());
  for (double s : model.stats().seconds) CHECK(s >= 0.0);

  // The trace form equals the sum over every pair.
  const double ref = reference_loss(d, host_matrix(model.user_factors()), host_matrix(model.item_factors()), opt.reg);
  const double tol = sizeof(T) == 4 ? 1e-4 : 1e-10;
  CHECK(loss.back() == Approx(ref).epsilon(tol));
  const auto r = completion::make_rating_matrix<T>(space, x, Weights::positive);
  CHECK(model.loss(space, r) == Approx(ref).epsilon(tol));
}

TEMPLATE_TEST_CASE("ImplicitAls: observed items rank above unobserved ones on a block-structured matrix",
                   "[completion][als]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  const data::Interactions x = block_data();
  ImplicitAlsOptions opt;
  opt.alpha = 5.0;
  opt.reg = 0.1;
  opt.iterations = 15;
  opt.seed = 3;

  // factors = 6: enough to fit each user's own items, which come first. factors = 2, the blocks' rank: users of
  // a block share their factors, so the block's items, taken or not, all come before the other block's (the
  // recommendation).
  auto check = [&](const auto& model) {
    const int k = int(model.factors());
    std::vector<id_t> ids(12);
    for (int u = 0; u < 12; ++u) ids[u] = id_t(u);
    auto users = from_vector<Space, id_t>(ids);
    View2<T, Space> all("test::scores", 12, 11);
    model.score_all(space, users, all);
    auto s = to_host(all);
    const HostMatrix X = host_matrix(model.user_factors()), Y = host_matrix(model.item_factors());
    for (int u = 0; u < 12; ++u) {
      const int base = u < 6 ? 1 : 6, other = u < 6 ? 6 : 1;
      double min_seen = 1e30, max_foreign = -1e30;
      for (int j = 0; j < 5; ++j) {
        if (j != u % 5) min_seen = std::min(min_seen, double(s(u, base + j)));
        max_foreign = std::max(max_foreign, double(s(u, other + j)));
      }
      const double missing = double(s(u, base + u % 5));
      INFO("k " << k << " user " << u << ": observed >= " << min_seen << ", missing " << missing
                << ", other block <= " << max_foreign);
      if (k == 2) {
        CHECK(min_seen > max_foreign + 0.5);
        CHECK(missing > max_foreign + 0.5);
      } else {
        CHECK(min_seen > std::max(missing, max_foreign) + 1e-3);
      }
      CHECK(s(u, 0) == T(0));  // padding
      for (int i = 0; i <= 10; ++i) {
        double dot = 0;
        for (int c = 0; c < k; ++c) dot += X[u][c] * Y[i][c];
        CHECK(double(s(u, i)) == Approx(dot).epsilon(1e-5).margin(1e-6));
      }
    }
    // score() agrees with score_all().
    auto pick = from_vector<Space, id_t>({3, 8});
    View2<id_t, Space> cand("test::cand", 2, 3);
    auto hc = Kokkos::create_mirror_view(cand);
    const int items[2][3] = {{1, 7, 4}, {10, 0, 2}};
    for (int b = 0; b < 2; ++b)
      for (int j = 0; j < 3; ++j) hc(b, j) = items[b][j];
    Kokkos::deep_copy(cand, hc);
    View2<T, Space> few("test::few", 2, 3);
    model.score(space, pick, cand, few);
    auto f = to_host(few);
    for (int b = 0; b < 2; ++b)
      for (int j = 0; j < 3; ++j)
        CHECK(double(f(b, j)) == Approx(double(s(b == 0 ? 3 : 8, items[b][j]))).epsilon(1e-5).margin(1e-6));
  };

  for (index_t k : {6, 2}) {
    opt.factors = k;
    ImplicitAls<T, Space, Cholesky> exact(opt);
    exact.fit(space, x);
    check(exact);
    ImplicitAls<T, Space> cg(opt);
    cg.fit(space, x);
    check(cg);
  }
}

TEMPLATE_TEST_CASE("ImplicitAls with conjugate gradient", "[completion][als]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  const data::Interactions x = small_data();

  SECTION("cg_steps = k solves exactly: the whole fit follows Cholesky's") {
    if constexpr (sizeof(T) == 8) {
      auto opt = small_options(5, 4);
      opt.cg_steps = 5;
      ImplicitAls<T, Space, Cholesky> exact(opt);
      ImplicitAls<T, Space, ConjugateGradient> cg(opt);
      exact.fit(space, x);
      cg.fit(space, x);
      const HostMatrix Xe = host_matrix(exact.user_factors()), Ye = host_matrix(exact.item_factors());
      CHECK(max_diff(host_matrix(cg.user_factors()), Xe) <= 1e-8 * std::max(1.0, max_abs(Xe)));
      CHECK(max_diff(host_matrix(cg.item_factors()), Ye) <= 1e-8 * std::max(1.0, max_abs(Ye)));
      for (std::size_t t = 0; t < 4; ++t) CHECK(cg.stats().loss[t] == Approx(exact.stats().loss[t]).epsilon(1e-10));
    }
  }

  SECTION("3 steps reduce the loss every iteration") {
    auto opt = small_options(8, 12);
    ImplicitAls<T, Space> cg(opt);
    cg.fit(space, x);
    const auto& loss = cg.stats().loss;
    REQUIRE(loss.size() == 12);
    const double slack = sizeof(T) == 4 ? 1e-5 : 1e-12;
    for (std::size_t t = 1; t < loss.size(); ++t) {
      INFO("iteration " << t << ": " << loss[t - 1] << " -> " << loss[t]);
      CHECK(loss[t] <= loss[t - 1] * (1 + slack));  // each CG step lowers its row's quadratic
    }
    CHECK(loss.back() < 0.9 * loss.front());
  }
}

TEMPLATE_TEST_CASE("ImplicitAls: the unrolled kernels for k = 32, 64, 128 solve exactly too", "[completion][als]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  const data::Interactions x = small_data();
  const auto r = completion::make_rating_matrix<T>(space, x, Weights::positive);
  std::vector<id_t> all(12);
  for (int u = 0; u < 12; ++u) all[u] = id_t((u * 5) % 12);  // every user, in groups of mixed lengths
  for (index_t k : {32, 64, 128}) {
    INFO("k = " << k);
    auto opt = small_options(k, 1);
    opt.init_scale = 0.2;
    const Dense d = dense(x, opt.alpha, false);
    ImplicitAls<T, Space, Cholesky> exact(opt);
    exact.fit(space, x);
    const HostMatrix Y = host_matrix(exact.item_factors());
    const HostMatrix X_ref = reference_step(d, Y, opt.reg, false);
    exact.fold_in(space, r, std::span<const id_t>(all));
    CHECK(max_diff(host_matrix(exact.user_factors()), X_ref) <= solve_tolerance<T>() * std::max(1.0, max_abs(X_ref)));
    if constexpr (sizeof(T) == 8) {
      // A^-1 b needs at most as many CG steps as A = G + reg I + ... has distinct eigenvalues: <= 17 here.
      opt.cg_steps = 40;
      ImplicitAls<T, Space> cg(opt);
      cg.fit(space, x);
      CHECK(max_diff(host_matrix(cg.item_factors()), Y) <= 1e-8 * std::max(1.0, max_abs(Y)));
      cg.fold_in(space, r, std::span<const id_t>(all));
      CHECK(max_diff(host_matrix(cg.user_factors()), X_ref) <= 1e-8 * std::max(1.0, max_abs(X_ref)));
      CHECK(row_is_zero(host_matrix(cg.user_factors()), 11));
    }
  }
}

TEMPLATE_TEST_CASE("ImplicitAls::fold_in updates the listed users only", "[completion][als]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  const data::Interactions x = small_data();

  auto same_users_step = [&](auto tag) {
    using Solver = decltype(tag);
    const auto r = completion::make_rating_matrix<T>(space, x, Weights::positive);
    ImplicitAls<T, Space, Solver> two(small_options(6, 2)), three(small_options(6, 3));
    two.fit(space, x);
    three.fit(space, x);
    std::vector<id_t> all(12);
    for (int u = 0; u < 12; ++u) all[u] = id_t(u);
    two.fold_in(space, r, std::span<const id_t>(all));
    // fold_in after 2 iterations is the users step of the third.
    const HostMatrix X3 = host_matrix(three.user_factors());
    CHECK(max_diff(host_matrix(two.user_factors()), X3) <= 1e-12 * std::max(1.0, max_abs(X3)));
  };
  SECTION("fold_in reproduces the users step of a fit (Cholesky)") { same_users_step(Cholesky{}); }
  SECTION("fold_in reproduces the users step of a fit (conjugate gradient)") { same_users_step(ConjugateGradient{}); }

  SECTION("new interactions of one user change that user's factors only") {
    const auto opt = small_options(5, 3);
    ImplicitAls<T, Space, Cholesky> model(opt);
    model.fit(space, x);
    const HostMatrix X = host_matrix(model.user_factors()), Y = host_matrix(model.item_factors());
    data::Interactions more = x;
    more.push_back(3, 15, 2.0f, 1);  // user 3 takes the item nobody had
    more.push_back(11, 2, 1.0f, 1);  // and the empty user 11 takes item 2
    const auto r = completion::make_rating_matrix<T>(space, more, Weights::positive);
    auto which = from_vector<Space, id_t>({11, 3});
    model.fold_in(space, r, View1<const id_t, Space>(which));
    const HostMatrix X2 = host_matrix(model.user_factors());
    CHECK(max_diff(host_matrix(model.item_factors()), Y) == 0.0);
    const HostMatrix ref = reference_step(dense(more, opt.alpha, false), Y, opt.reg, false);
    for (int u = 0; u < 12; ++u) {
      INFO("user " << u);
      if (u == 3 || u == 11) {
        for (int c = 0; c < 5; ++c) CHECK(X2[u][c] == Approx(ref[u][c]).margin(solve_tolerance<T>()));
        CHECK(!row_is_zero(X2, std::size_t(u)));
      } else {
        CHECK(X2[u] == X[u]);
      }
    }
  }
}

TEMPLATE_TEST_CASE("ImplicitAls: binary weights ignore the data's weights", "[completion][als]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  data::Interactions x = small_data(), ones = small_data();
  for (auto& w : x.weight) w = -3.5f;  // refused under Weights::positive, ignored under binary
  for (auto& w : ones.weight) w = 1.0f;
  auto opt = small_options(4, 3);
  opt.weights = Weights::binary;
  ImplicitAls<T, Space, Cholesky> binary(opt);
  binary.fit(space, x);
  opt.weights = Weights::positive;
  ImplicitAls<T, Space, Cholesky> positive(opt);
  // The repeated pair (2, 1) merges to 2 under positive weights: drop the repeat for an equal matrix.
  ones.user.pop_back();
  ones.item.pop_back();
  ones.weight.pop_back();
  ones.time.pop_back();
  positive.fit(space, ones);
  CHECK(max_diff(host_matrix(binary.user_factors()), host_matrix(positive.user_factors())) == 0.0);
  CHECK(max_diff(host_matrix(binary.item_factors()), host_matrix(positive.item_factors())) == 0.0);
}

TEMPLATE_TEST_CASE("ImplicitAls errors", "[completion][als]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  using Model = ImplicitAls<T, Space>;
  Space space;
  const data::Interactions x = small_data();

  SECTION("bad options name the option and the value") {
    auto with = [](auto change) {
      ImplicitAlsOptions o;
      change(o);
      return message_of([&] { Model m(o); });
    };
    CHECK_THAT(with([](auto& o) { o.factors = 0; }), Catch::Contains("Options::factors must be >= 1, got 0"));
    CHECK_THAT(with([](auto& o) { o.reg = -1; }), Catch::Contains("Options::reg must be finite and >= 0, got -1"));
    CHECK_THAT(with([](auto& o) { o.alpha = std::numeric_limits<double>::quiet_NaN(); }),
               Catch::Contains("Options::alpha must be finite and >= 0, got nan"));
    CHECK_THAT(with([](auto& o) { o.iterations = 0; }), Catch::Contains("Options::iterations must be >= 1, got 0"));
    CHECK_THAT(with([](auto& o) { o.cg_steps = -2; }), Catch::Contains("Options::cg_steps must be >= 1, got -2"));
    CHECK_THAT(with([](auto& o) { o.init_scale = 0; }), Catch::Contains("Options::init_scale must be finite and > 0"));
    CHECK_THAT(with([](auto& o) { o.weights = Weights::finite; }),
               Catch::Contains("Options::weights must be Weights::positive or Weights::binary"));
  }

  SECTION("bad weights and empty data") {
    Model model(small_options(4, 2));
    data::Interactions bad = x;
    bad.weight[5] = std::numeric_limits<float>::quiet_NaN();
    CHECK_THAT(message_of([&] { model.fit(space, bad); }), Catch::Contains("interaction 5") && Catch::Contains("nan"));
    bad.weight[5] = -1.0f;
    CHECK_THAT(message_of([&] { model.fit(space, bad); }),
               Catch::Contains("has weight -1; this strategy needs positive weights"));
    CHECK_FALSE(model.fitted());  // failed fits leave the model unfitted
    // A prepared matrix with a weight the confidence cannot take.
    const auto finite = completion::make_rating_matrix<T>(space, bad, Weights::finite);
    CHECK_THAT(message_of([&] { model.fit(space, finite); }),
               Catch::Contains("has weight -1 on item") && Catch::Contains("confidence needs weights > 0"));
    CHECK_THAT(message_of([&] { model.fit(space, make_data(3, 4, {})); }),
               Catch::Contains("no interactions to fit on"));
    CHECK_FALSE(model.fitted());
  }

  SECTION("scoring before fit, and ids out of range") {
    Model model(small_options(4, 2));
    auto users = from_vector<Space, id_t>({0});
    View2<T, Space> all("test::all", 1, 16);
    CHECK_THAT(message_of([&] { model.score_all(space, users, all); }),
               Catch::Contains("ImplicitAls::score_all: call fit() first"));
    View2<id_t, Space> cand("test::cand", 1, 2);
    View2<T, Space> few("test::few", 1, 2);
    CHECK_THAT(message_of([&] { model.score(space, users, cand, few); }),
               Catch::Contains("ImplicitAls::score: call fit() first"));
    const auto r = completion::make_rating_matrix<T>(space, x, Weights::positive);
    CHECK_THAT(message_of([&] { model.fold_in(space, r, std::span<const id_t>()); }),
               Catch::Contains("ImplicitAls::fold_in: call fit() first"));

    model.fit(space, x);
    auto bad_user = from_vector<Space, id_t>({12});
    CHECK_THAT(message_of([&] { model.score_all(space, bad_user, all); }),
               Catch::Contains("user 12 (row 0) outside [0, 12)"));
    CHECK_THAT(message_of([&] { model.score(space, bad_user, cand, few); }),
               Catch::Contains("user 12 (row 0) outside [0, 12)"));
    auto hc = Kokkos::create_mirror_view(cand);
    hc(0, 0) = 3;
    hc(0, 1) = 16;
    Kokkos::deep_copy(cand, hc);
    CHECK(code_of([&] { model.score(space, users, cand, few); }) == Errc::out_of_range);
    CHECK_THAT(message_of([&] { model.score(space, users, cand, few); }),
               Catch::Contains("candidate 1 of row 0 is item 16, outside [0, 15]"));

    const std::vector<id_t> out_of_range = {2, 40};
    CHECK_THAT(message_of([&] { model.fold_in(space, r, std::span<const id_t>(out_of_range)); }),
               Catch::Contains("fold_in: user 40 (entry 1) outside [0, 12)"));
    const std::vector<id_t> twice = {2, 5, 2};
    CHECK_THAT(message_of([&] { model.fold_in(space, r, std::span<const id_t>(twice)); }),
               Catch::Contains("user 2 is listed more than once"));
    const auto fewer_items = completion::make_rating_matrix<T>(space, make_data(12, 9, {{0, 1, 1.0f}}));
    CHECK(code_of([&] { model.fold_in(space, fewer_items, std::span<const id_t>(twice)); }) == Errc::shape_mismatch);
  }

  SECTION("a fit that overflows stops with a numeric error") {
    data::Interactions huge = x;
    huge.weight[0] = 1e30f;
    auto opt = small_options(4, 2);
    opt.alpha = 1e300;  // confidence overflows to inf in float and in double
    ImplicitAls<T, Space, Cholesky> exact(opt);
    CHECK(code_of([&] { exact.fit(space, huge); }) == Errc::numeric);
    CHECK_THAT(message_of([&] { exact.fit(space, huge); }), Catch::Contains("ImplicitAls::fit: "));
    CHECK_FALSE(exact.fitted());
    ImplicitAls<T, Space> cg(opt);
    CHECK(code_of([&] { cg.fit(space, huge); }) == Errc::numeric);
  }
}

}  // namespace seqrec::test
