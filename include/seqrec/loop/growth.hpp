// Growing embedding and factor tables when new users and items appear during the feedback loop, without
// retraining from scratch.
//
//   grow_rows(space, table, rows, init)        a [rows x d] copy of table [n x d], rows >= n: rows 0..n-1
//                                              bit-identical, new rows zeros or seeded normal
//   grow_factor_tables(space, tables, U, I)    the same for a factor model's user / item tables and biases (item
//                                              row 0, the padding item, stays 0)
//   als_fold_in(space, tables, r, users, opt)  ImplicitAls's users step for `users` on any (grown) tables: what
//                                              ImplicitAls::fold_in does, for tables the fitted model no longer
//                                              owns
//
// New rows are seeded per row (the counter is the row's flat offset), so growing 10 -> 12 -> 15 rows gives the
// same new rows as 10 -> 15 with the same seed. With zero rows, a new item scores 0 for every user and a new user
// 0 on every item until fold-in gives it data; old users' scores over old items never change by growth.
#pragma once

#include <seqrec/completion/als.hpp>
#include <seqrec/completion/factor_scores.hpp>
#include <seqrec/completion/rating_matrix.hpp>
#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/random.hpp>
#include <seqrec/core/view.hpp>

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace seqrec::loop {

enum class GrowInit : std::uint8_t { zeros, normal };

struct GrowOptions {
  GrowInit init = GrowInit::zeros;
  double stddev = 0.01;  // normal only
  std::uint64_t seed = 0;
};

namespace detail {

template <class T, ExecutionSpace Space>
struct FillNewRows {
  View2<T, Space> out;
  index_t first_row;
  RandomStream stream;
  T stddev;
  bool normal;

  KOKKOS_INLINE_FUNCTION void operator()(index_t r, index_t c) const {
    const index_t row = first_row + r;
    const auto counter = static_cast<std::uint64_t>(row * static_cast<index_t>(out.extent(1)) + c);
    out(row, c) = normal ? stddev * stream.normal<T>(counter) : T(0);
  }
};

}  // namespace detail

// [rows x d]: the old rows copied as they are, new rows initialised by `opt`.
template <class T, ExecutionSpace Space>
View2<std::remove_const_t<T>, Space> grow_rows(const Space& space, View2<T, Space> table, index_t rows,
                                               const GrowOptions& opt = {}) {
  using U = std::remove_const_t<T>;
  const index_t n = static_cast<index_t>(table.extent(0)), d = static_cast<index_t>(table.extent(1));
  SEQREC_REQUIRE(rows >= n, "grow_rows: the table '", table.label(), "' has ", n, " rows, cannot shrink to ", rows);
  auto out = make_uninitialized<View2<U, Space>>(space, table.label().empty() ? "loop::grown" : table.label(), rows, d);
  if (n > 0) Kokkos::deep_copy(space, Kokkos::subview(out, Kokkos::make_pair(index_t(0), n), Kokkos::ALL), table);
  if (rows > n && d > 0)
    Kokkos::parallel_for("seqrec::loop::grow_rows",
                         Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {0, 0}, {rows - n, d}),
                         detail::FillNewRows<U, Space>{out, n, RandomStream(opt.seed, 0x67726f77ull),
                                                       static_cast<U>(opt.stddev), opt.init == GrowInit::normal});
  return out;
}

// [rows]: old entries copied, new ones 0 (biases start neutral).
template <class T, ExecutionSpace Space>
View1<std::remove_const_t<T>, Space> grow_vector(const Space& space, View1<T, Space> v, index_t rows) {
  using U = std::remove_const_t<T>;
  const index_t n = static_cast<index_t>(v.extent(0));
  SEQREC_REQUIRE(rows >= n, "grow_vector: '", v.label(), "' has ", n, " entries, cannot shrink to ", rows);
  auto out = make_zeros<View1<U, Space>>(space, v.label().empty() ? "loop::grown" : v.label(), rows);
  if (n > 0) Kokkos::deep_copy(space, Kokkos::subview(out, Kokkos::make_pair(index_t(0), n)), v);
  return out;
}

// A factor model's tables grown to num_users users and num_items items (num_items + 1 item rows). Empty biases
// stay empty. The new item rows take a seed stream of their own, so users and items never share numbers.
template <class T, ExecutionSpace Space>
completion::FactorTables<T, Space> grow_factor_tables(const Space& space, const completion::FactorTables<T, Space>& f,
                                                      index_t num_users, index_t num_items,
                                                      const GrowOptions& opt = {}) {
  SEQREC_REQUIRE(num_users >= f.num_users() && num_items >= f.num_items(), "grow_factor_tables: tables of ",
                 f.num_users(), " users and ", f.num_items(), " items cannot shrink to ", num_users, " and ",
                 num_items);
  GrowOptions item_opt = opt;
  item_opt.seed = opt.seed ^ 0x6974656d73ull;  // "items"
  completion::FactorTables<T, Space> g;
  g.user = grow_rows(space, f.user, num_users, opt);
  g.item = grow_rows(space, f.item, num_items + 1, item_opt);
  if (f.user_bias.extent(0) > 0) g.user_bias = grow_vector(space, f.user_bias, num_users);
  if (f.item_bias.extent(0) > 0) g.item_bias = grow_vector(space, f.item_bias, num_items + 1);
  g.global = f.global;
  return g;
}

// ImplicitAls's users step for `users` (each listed once, each a row of r) on tables that may have outgrown the
// fitted model: the item Gram matrix is recomputed from tables.item, then each user's factors are solved from
// its row of r with the items fixed (CG warm-starts from the current factors, as ImplicitAls::fold_in).
template <class T, ExecutionSpace Space>
void als_fold_in(const Space& space, const completion::FactorTables<T, Space>& tables,
                 const completion::RatingMatrix<T, Space>& r, std::span<const id_t> users,
                 const completion::ImplicitAlsOptions& opt, bool cholesky = false) {
  SEQREC_REQUIRE(r.num_users <= tables.num_users() && r.num_items == tables.num_items(), "als_fold_in: the matrix is ",
                 r.num_users, " x ", r.num_items, ", the tables hold ", tables.num_users(), " users and ",
                 tables.num_items(), " items (grow them first)");
  if (users.empty()) return;
  std::vector<id_t> sorted(users.begin(), users.end());
  std::sort(sorted.begin(), sorted.end());
  SEQREC_REQUIRE(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end(),
                 "als_fold_in: a user is listed more than once");
  SEQREC_REQUIRE_CODE(sorted.front() >= 0 && sorted.back() < r.num_users, Errc::out_of_range,
                      "als_fold_in: users must be in [0, ", r.num_users, "), got ", sorted.front(), " .. ",
                      sorted.back());
  const index_t k = tables.factors();
  auto gram = make_uninitialized<View2<T, Space>>(space, "loop::als_fold_in::gram", k, k);
  completion::detail::als_gram(space, View2<const T, Space>(tables.item), gram);
  Kokkos::View<const id_t*, Kokkos::HostSpace, Kokkos::MemoryUnmanaged> host(users.data(), users.size());
  auto which = make_uninitialized<View1<id_t, Space>>(space, "loop::als_fold_in::users", users.size());
  Kokkos::deep_copy(space, which, host);
  const bool binary = opt.weights == completion::Weights::binary;
  const auto solve = [&](auto solver) {
    return completion::detail::als_solve_rows<T, Space, decltype(solver)>(
        space, View2<const T, Space>(gram), View2<const T, Space>(tables.item), r.by_user,
        View1<const id_t, Space>(which), tables.user, static_cast<T>(opt.alpha), static_cast<T>(opt.reg), binary,
        opt.cg_steps);
  };
  const index_t bad = cholesky ? solve(completion::Cholesky{}) : solve(completion::ConjugateGradient{});
  space.fence();
  SEQREC_REQUIRE_CODE(bad < 0, Errc::numeric, "als_fold_in: the solve for user ", bad, " broke down (reg = ", opt.reg,
                      ")");
}

}  // namespace seqrec::loop
