// One implicit-ALS users step (every user's k x k system against fixed item factors), the inner loop of
// ImplicitAls::fit, with both solvers: matrix-free conjugate gradient (3 steps, warm-started) and an exact
// Cholesky solve per row. Games-sized: 31013 users, 23715 items, about 9.5 interactions per user, k = 64.
#include "harness.hpp"
#include "inputs.hpp"

#include <seqrec/completion/als.hpp>
#include <seqrec/completion/rating_matrix.hpp>
#include <seqrec/data/interactions.hpp>

namespace seqrec::bench {
namespace {

void bench_als(Harness& h) {
  const index_t users = h.quick() ? 4000 : 31013, items = 23715, k = 64;
  const int cg_steps = 3;
  data::Interactions x;
  std::mt19937_64 g(17);
  for (index_t i = 1; i <= items; ++i) x.items.insert(i);
  for (index_t u = 0; u < users; ++u) {
    x.users.insert(u);
    const int n = std::uniform_int_distribution<int>(3, 16)(g);
    for (int j = 0; j < n; ++j) {
      x.user.push_back(id_t(u));
      x.item.push_back(skewed_item(g, items));
      x.weight.push_back(1.0f);
      x.time.push_back(j);
    }
  }
  h.for_each_backend([&](auto space, auto zero) {
    using Space = decltype(space);
    using T = decltype(zero);
    // Repeated pairs merge here, as in fit().
    const auto r = completion::make_rating_matrix<T>(space, x, completion::Weights::positive);
    // Two sets of item factors, used in turn: CG warm-starts from the user factors and stops once the residual
    // vanishes, so solving one system again and again would time ever fewer steps. Alternating, each call
    // starts from the other system's solution, as fit() starts each users step from the previous one's.
    View2<T, Space> Y[2], G[2];
    for (int v = 0; v < 2; ++v) {
      Y[v] = make_uninitialized<View2<T, Space>>(space, "als:Y", items + 1, k);
      G[v] = make_uninitialized<View2<T, Space>>(space, "als:G", k, k);
      fill_uniform(space, Y[v], RandomStream(5, 1 + std::uint64_t(v)), T(0), T(0.1));
      completion::detail::als_zero_row(space, Y[v], 0);
      completion::detail::als_gram(space, View2<const T, Space>(Y[v]), G[v]);
    }
    auto X = make_uninitialized<View2<T, Space>>(space, "als:X", users, k);
    fill_uniform(space, X, RandomStream(5, 9), T(0), T(0.1));
    int turn = 0;
    const double nnz = double(r.nnz()), kk = double(k), nu = double(users);
    // Compulsory traffic: the CSR, each interacted item's factor row once, X written, G.
    const double bytes = nnz * (sizeof(id_t) + sizeof(T) + kk * sizeof(T)) + nu * kk * sizeof(T) + kk * kk * sizeof(T);
    // CG: (steps + 1) products A p = G p + sum_i (c_i - 1) y_i (y_i . p) + reg p, plus the right-hand side.
    const double cg_flop = (cg_steps + 1) * (nu * 2 * kk * kk + 4 * nnz * kk) + 2 * nnz * kk;
    // Cholesky: A = G + sum (c - 1) y y^T, the factorisation and two triangular solves, the right-hand side.
    const double chol_flop = 2 * nnz * kk * kk + nu * (kk * kk * kk / 3 + 2 * kk * kk) + 2 * nnz * kk;
    const View1<const id_t, Space> all;
    const std::string s = shape({users, items, k});
    index_t bad = -1;  // a row whose solve went non-finite: the timing would not be of the whole step
    h.time(space, zero, "als_users_step_cg", s, cg_flop, bytes, [&] {
      bad = completion::detail::als_solve_rows<T, Space, completion::ConjugateGradient>(
          space, View2<const T, Space>(G[turn]), View2<const T, Space>(Y[turn]), r.by_user, all, X, T(1), T(0.01),
          false, cg_steps);
      turn ^= 1;
    });
    SEQREC_REQUIRE(bad < 0, "bench als: the CG solve of row ", bad, " went non-finite");
    h.time(space, zero, "als_users_step_cholesky", s, chol_flop, bytes, [&] {
      bad = completion::detail::als_solve_rows<T, Space, completion::Cholesky>(
          space, View2<const T, Space>(G[turn]), View2<const T, Space>(Y[turn]), r.by_user, all, X, T(1), T(0.01),
          false, cg_steps);
      turn ^= 1;
    });
    SEQREC_REQUIRE(bad < 0, "bench als: the Cholesky solve of row ", bad, " went non-finite");
  });
}

const Register reg_als(70, "als", &bench_als);

}  // namespace
}  // namespace seqrec::bench
