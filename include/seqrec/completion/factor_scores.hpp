// Scores of latent-factor models (implicit ALS, BPR-MF, biased SVD): score(u, i) = p_u · q_i + b_i + b_u + mu,
// each bias optional. Shared by every factor strategy so they rank and evaluate alike.
//
//   score    one team per user row: the candidates' dot products (vector lanes over the factors);
//   score_all the users' factor rows gathered into a workspace, then one gemm [B x k] * [k x num_items+1]
//             through the linear-algebra dispatch (BLAS / cuBLAS), then the biases added.
// Both check ids on the device and report the first bad one on the host.
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/linalg.hpp>
#include <seqrec/core/view.hpp>

#include <Kokkos_Core.hpp>

#include <string>

namespace seqrec::completion {

// A factor model's parameters as the scoring code reads them. item_bias and user_bias may be empty (extent
// 0): no bias. Item row 0 is the padding item (its score is whatever its row gives; evaluators ignore it).
template <class T, ExecutionSpace Space>
struct FactorTables {
  View2<T, Space> user;       // [num_users x k]
  View2<T, Space> item;       // [num_items + 1 x k]
  View1<T, Space> user_bias;  // [num_users] or empty
  View1<T, Space> item_bias;  // [num_items + 1] or empty
  T global = T(0);            // added to every score

  index_t num_users() const { return static_cast<index_t>(user.extent(0)); }
  index_t num_items() const { return item.extent(0) == 0 ? 0 : static_cast<index_t>(item.extent(0)) - 1; }
  index_t factors() const { return static_cast<index_t>(user.extent(1)); }
};

namespace detail {

// scores(b, j) = tables' score of (users(b), candidates(b, j)); returns the first bad flat position
// (b * C + j for a candidate, or -(b + 2) for a user id outside the tables) or -1 when all were in range.
template <class T, ExecutionSpace Space>
index_t factor_score(const Space& space, const FactorTables<T, Space>& f, View1<const id_t, Space> users,
                     View2<const id_t, Space> candidates, View2<T, Space> scores) {
  using member_type = typename Kokkos::TeamPolicy<Space>::member_type;
  const index_t rows = static_cast<index_t>(candidates.extent(0)), cols = static_cast<index_t>(candidates.extent(1));
  if (rows == 0) return -1;
  const index_t k = f.factors(), nu = f.num_users(), ni = f.num_items();
  const bool ub = f.user_bias.extent(0) > 0, ib = f.item_bias.extent(0) > 0;
  const auto P = f.user;
  const auto Q = f.item;
  const auto bu = f.user_bias;
  const auto bi = f.item_bias;
  const T mu = f.global;
  constexpr bool host = Kokkos::SpaceAccessibility<Space, Kokkos::HostSpace>::accessible;
  const int vector = host ? 1 : 32;
  index_t first_bad = rows * cols;
  Kokkos::parallel_reduce(
      "seqrec::completion::factor_score",
      Kokkos::TeamPolicy<Space>(space, static_cast<int>(rows), host ? 1 : 4, vector),
      KOKKOS_LAMBDA(const member_type& m, index_t& bad) {
        const index_t b = m.league_rank();
        const id_t u = users(b);
        if (u < 0 || u >= nu) {
          Kokkos::single(Kokkos::PerTeam(m), [&]() {
            if (-(b + 2) < bad) bad = -(b + 2);
          });
          return;
        }
        const T base = mu + (ub ? bu(u) : T(0));
        Kokkos::parallel_for(Kokkos::TeamThreadRange(m, index_t(0), cols), [&](index_t j) {
          const id_t i = candidates(b, j);
          if (i < 0 || i > ni) {
            Kokkos::single(Kokkos::PerThread(m), [&]() {
              if (b * cols + j < bad) bad = b * cols + j;
            });
            return;
          }
          T dot = T(0);
          Kokkos::parallel_reduce(
              Kokkos::ThreadVectorRange(m, index_t(0), k), [&](index_t c, T& acc) { acc += P(u, c) * Q(i, c); }, dot);
          Kokkos::single(Kokkos::PerThread(m), [&]() { scores(b, j) = dot + base + (ib ? bi(i) : T(0)); });
        });
      },
      Kokkos::Min<index_t>(first_bad));
  return first_bad < rows * cols ? first_bad : -1;
}

// gathered(b, :) = P(users(b), :); returns the first row with a user outside [0, num_users), or -1.
template <class T, ExecutionSpace Space>
index_t gather_user_rows(const Space& space, View2<const T, Space> P, View1<const id_t, Space> users,
                         View2<T, Space> gathered) {
  const index_t rows = static_cast<index_t>(users.extent(0)), k = static_cast<index_t>(P.extent(1));
  const index_t nu = static_cast<index_t>(P.extent(0));
  if (rows == 0) return -1;
  index_t first_bad = rows;
  Kokkos::parallel_reduce(
      "seqrec::completion::gather_user_rows", Kokkos::RangePolicy<Space>(space, 0, rows),
      KOKKOS_LAMBDA(index_t b, index_t & bad) {
        const id_t u = users(b);
        if (u < 0 || u >= nu) {
          if (b < bad) bad = b;
          for (index_t c = 0; c < k; ++c) gathered(b, c) = T(0);
          return;
        }
        for (index_t c = 0; c < k; ++c) gathered(b, c) = P(u, c);
      },
      Kokkos::Min<index_t>(first_bad));
  return first_bad < rows ? first_bad : -1;
}

template <class T, ExecutionSpace Space>
void add_biases(const Space& space, const FactorTables<T, Space>& f, View1<const id_t, Space> users,
                View2<T, Space> scores) {
  const bool ub = f.user_bias.extent(0) > 0, ib = f.item_bias.extent(0) > 0;
  if (!ub && !ib && f.global == T(0)) return;
  const auto bu = f.user_bias;
  const auto bi = f.item_bias;
  const T mu = f.global;
  Kokkos::parallel_for(
      "seqrec::completion::add_biases",
      Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(
          space, {0, 0}, {static_cast<index_t>(scores.extent(0)), static_cast<index_t>(scores.extent(1))}),
      KOKKOS_LAMBDA(index_t b, index_t i) { scores(b, i) += mu + (ub ? bu(users(b)) : T(0)) + (ib ? bi(i) : T(0)); });
}

}  // namespace detail

// Scores [B x C] of candidate items for users; throws out_of_range naming the first bad user or candidate.
template <class T, ExecutionSpace Space>
void score_factors(const Space& space, const FactorTables<T, Space>& f, View1<const id_t, Space> users,
                   View2<const id_t, Space> candidates, View2<T, Space> scores, const char* who) {
  SEQREC_REQUIRE_EQ(candidates.extent(0), users.extent(0), std::string(who) + ": candidate rows vs users");
  SEQREC_REQUIRE_SHAPE(scores, std::string(who) + ": scores", static_cast<index_t>(candidates.extent(0)),
                       static_cast<index_t>(candidates.extent(1)));
  const index_t bad = detail::factor_score(space, f, users, candidates, scores);
  if (bad == -1) return;
  if (bad < -1) {
    const index_t b = -(bad + 2);
    SEQREC_THROW(Errc::out_of_range, who, ": user ", to_host(Kokkos::subview(users, Kokkos::make_pair(b, b + 1)))(0),
                 " (row ", b, ") outside [0, ", f.num_users(), ")");
  }
  const index_t cols = static_cast<index_t>(candidates.extent(1));
  auto hc = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), candidates);
  SEQREC_THROW(Errc::out_of_range, who, ": candidate ", bad % cols, " of row ", bad / cols, " is item ",
               hc(bad / cols, bad % cols), ", outside [0, ", f.num_items(), "]");
}

// Scores [B x num_items+1] of every item for users. `workspace` holds the gathered user rows; it is
// (re)allocated when it has fewer than B rows.
template <class T, ExecutionSpace Space>
void score_all_factors(const Space& space, const FactorTables<T, Space>& f, View1<const id_t, Space> users,
                       View2<T, Space> scores, View2<T, Space>& workspace, const char* who) {
  const index_t rows = static_cast<index_t>(users.extent(0));
  SEQREC_REQUIRE_SHAPE(scores, std::string(who) + ": scores", rows, f.num_items() + 1);
  if (rows == 0) return;
  if (static_cast<index_t>(workspace.extent(0)) < rows || workspace.extent(1) != f.user.extent(1))
    workspace = make_uninitialized<View2<T, Space>>(space, "completion::factor_workspace", rows, f.factors());
  const View2<T, Space> g = Kokkos::subview(workspace, Kokkos::make_pair(index_t(0), rows), Kokkos::ALL);
  const index_t bad = detail::gather_user_rows(space, View2<const T, Space>(f.user), users, g);
  if (bad >= 0)
    SEQREC_THROW(Errc::out_of_range, who, ": user ",
                 to_host(Kokkos::subview(users, Kokkos::make_pair(bad, bad + 1)))(0), " (row ", bad, ") outside [0, ",
                 f.num_users(), ")");
  linalg::gemm(space, linalg::Trans::N, linalg::Trans::T, T(1), View2<const T, Space>(g), View2<const T, Space>(f.item),
               T(0), scores);
  detail::add_biases(space, f, users, scores);
}

}  // namespace seqrec::completion
