// The training user–item matrix R that every completion strategy fits on, in both orientations: by user
// (row u: the items u touched, ascending, with the summed weights) and by item (row i: the users who touched
// i, ascending). Kept on the host (fitting code that runs there reads it directly) and on the device.
//
// Repeated (user, item) pairs are merged by summing their weights (play counts and repeat purchases add
// up); a strategy that needs one entry per rating (biased SVD) reads data::Interactions directly instead.
// Item ids are 1-based (0 is padding): by_item has num_items + 1 rows, row 0 empty.
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/data/interactions.hpp>
#include <seqrec/graph/csr.hpp>

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

namespace seqrec::completion {

// A host CSR: row r holds indices[offsets[r] .. offsets[r+1]) with matching values.
template <class T>
struct HostCsr {
  std::vector<index_t> offsets;
  std::vector<id_t> indices;
  std::vector<T> values;

  index_t rows() const { return offsets.empty() ? 0 : static_cast<index_t>(offsets.size()) - 1; }
  index_t nnz() const { return static_cast<index_t>(indices.size()); }
  index_t length(index_t r) const { return offsets[r + 1] - offsets[r]; }
};

// What a strategy accepts as weights. Checked when the matrix is built, naming the first bad interaction.
enum class Weights : std::uint8_t {
  finite,    // any finite value (explicit ratings may be 0 or negative after centring)
  positive,  // > 0 (implicit confidence, counts)
  binary,    // ignore the weights: every observed pair counts 1 (repeats still merge to 1)
};

template <Scalar T, ExecutionSpace Space>
struct RatingMatrix {
  using scalar_type = T;
  using execution_space = Space;
  using memory_space = typename Space::memory_space;

  index_t num_users = 0;
  index_t num_items = 0;  // item ids 1..num_items
  HostCsr<T> host_by_user;
  HostCsr<T> host_by_item;
  graph::Csr<T, Space> by_user;  // num_users rows
  graph::Csr<T, Space> by_item;  // num_items + 1 rows

  index_t nnz() const { return host_by_user.nnz(); }
  bool empty() const { return num_users == 0; }
};

namespace detail {

inline std::string describe_interaction(const data::Interactions& x, std::size_t k) {
  return seqrec::detail::concat(
      "interaction ", k, " (user ", x.users.size() > x.user[k] ? x.users.original(x.user[k]) : x.user[k], ", item ",
      x.item[k] >= 1 && x.item[k] <= x.items.size() ? x.items.original(x.item[k]) : x.item[k], ")");
}

}  // namespace detail

// Builds R from interactions (e.g. Split::train). Throws on a user or item id outside the id maps, a
// weight the policy forbids (NaN and infinities always), and on data with no interactions at all. Users
// and items without interactions are allowed: they get empty rows (a strategy scores them as it defines).
template <Scalar T, ExecutionSpace Space>
RatingMatrix<T, Space> make_rating_matrix(const Space& space, const data::Interactions& x,
                                          Weights policy = Weights::positive) {
  const std::size_t n = x.user.size();
  SEQREC_REQUIRE(x.item.size() == n && x.weight.size() == n, "make_rating_matrix: the arrays of Interactions (",
                 x.source, ") differ in length");
  SEQREC_REQUIRE(n > 0, "make_rating_matrix: no interactions to fit on", x.source.empty() ? "" : " (", x.source,
                 x.source.empty() ? "" : ")");
  const index_t users = x.num_users(), items = x.num_items();
  for (std::size_t k = 0; k < n; ++k) {
    SEQREC_REQUIRE_CODE(x.user[k] >= 0 && x.user[k] < users, Errc::out_of_range, "make_rating_matrix: interaction ", k,
                        " has user id ", x.user[k], ", outside [0, ", users, ")");
    SEQREC_REQUIRE_CODE(x.item[k] >= 1 && x.item[k] <= items, Errc::out_of_range, "make_rating_matrix: interaction ", k,
                        " has item id ", x.item[k], ", outside [1, ", items, "]");
    const float w = x.weight[k];
    SEQREC_REQUIRE(std::isfinite(w), "make_rating_matrix: ", detail::describe_interaction(x, k), " has weight ", w,
                   " (weights must be finite)");
    SEQREC_REQUIRE(policy != Weights::positive || w > 0, "make_rating_matrix: ", detail::describe_interaction(x, k),
                   " has weight ", w, "; this strategy needs positive weights (confidence or counts)");
  }
  // Sort entry positions by (user, item), merge repeats.
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t(0));
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return x.user[a] != x.user[b] ? x.user[a] < x.user[b] : x.item[a] < x.item[b];
  });
  RatingMatrix<T, Space> r;
  r.num_users = users;
  r.num_items = items;
  auto& bu = r.host_by_user;
  bu.offsets.assign(static_cast<std::size_t>(users) + 1, 0);
  bu.indices.reserve(n);
  bu.values.reserve(n);
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t e = order[k];
    const T w = policy == Weights::binary ? T(1) : static_cast<T>(x.weight[e]);
    if (k > 0 && x.user[order[k - 1]] == x.user[e] && x.item[order[k - 1]] == x.item[e]) {
      if (policy != Weights::binary) bu.values.back() += w;
      continue;
    }
    bu.indices.push_back(x.item[e]);
    bu.values.push_back(w);
    ++bu.offsets[static_cast<std::size_t>(x.user[e]) + 1];
  }
  std::partial_sum(bu.offsets.begin(), bu.offsets.end(), bu.offsets.begin());
  // Transpose: rows by item, users ascending within a row (a counting sort keeps the user order).
  auto& bi = r.host_by_item;
  bi.offsets.assign(static_cast<std::size_t>(items) + 2, 0);
  for (id_t i : bu.indices) ++bi.offsets[static_cast<std::size_t>(i) + 1];
  std::partial_sum(bi.offsets.begin(), bi.offsets.end(), bi.offsets.begin());
  bi.indices.resize(bu.indices.size());
  bi.values.resize(bu.values.size());
  std::vector<index_t> next(bi.offsets.begin(), bi.offsets.end() - 1);
  for (index_t u = 0; u < users; ++u)
    for (index_t p = bu.offsets[u]; p < bu.offsets[u + 1]; ++p) {
      const index_t q = next[static_cast<std::size_t>(bu.indices[p])]++;
      bi.indices[q] = u;
      bi.values[q] = bu.values[p];
    }
  r.by_user = graph::make_csr<T>(space, bu.offsets, bu.indices, bu.values, {}, "completion::R::by_user");
  r.by_item = graph::make_csr<T>(space, bi.offsets, bi.indices, bi.values, {}, "completion::R::by_item");
  return r;
}

}  // namespace seqrec::completion
