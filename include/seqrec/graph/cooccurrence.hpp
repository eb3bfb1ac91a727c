// Item–item co-occurrence counts within users' histories, as a sparse host CSR (the input of item-kNN
// and of item–item auxiliary tasks).
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/data/interactions.hpp>
#include <seqrec/graph/csr.hpp>
#include <seqrec/graph/interaction_graph.hpp>

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

namespace seqrec::graph {

struct CooccurrenceOptions {
  // Count a pair only when the two positions are at most `window` apart in the user's sequence;
  // 0 counts every pair of the history.
  index_t window = 0;
  // Count a pair at most once per user (the number of users who share the two items) instead of once per
  // pair of positions.
  bool once_per_user = false;
};

// Symmetric counts, diagonal left out. Row a (item id, 1-based) holds the items co-occurring with a in
// ascending order: items[offsets[a] .. offsets[a+1]); row 0 (padding) is empty.
struct Cooccurrence {
  std::vector<index_t> offsets;  // num_items + 2
  std::vector<id_t> items;
  std::vector<std::uint32_t> counts;
  index_t num_items = 0;

  index_t nnz() const { return static_cast<index_t>(items.size()); }
  std::span<const id_t> row(id_t a) const {
    SEQREC_REQUIRE_INDEX(a, num_items + 1, "Cooccurrence::row: item");
    return {items.data() + offsets[a], static_cast<std::size_t>(offsets[a + 1] - offsets[a])};
  }
  std::span<const std::uint32_t> row_counts(id_t a) const {
    SEQREC_REQUIRE_INDEX(a, num_items + 1, "Cooccurrence::row_counts: item");
    return {counts.data() + offsets[a], static_cast<std::size_t>(offsets[a + 1] - offsets[a])};
  }
  // The count of (a, b); 0 when they never co-occur.
  std::uint32_t count(id_t a, id_t b) const {
    const auto r = row(a);
    const auto it = std::lower_bound(r.begin(), r.end(), b);
    return it != r.end() && *it == b ? counts[static_cast<std::size_t>(offsets[a] + (it - r.begin()))] : 0u;
  }
  template <class T = float, ExecutionSpace Space>
  Csr<T, Space> to_device(const Space& space) const {
    return make_csr<T>(space, offsets, items, counts, {}, "graph::cooccurrence");
  }
};

// Row by row (a sparse product S^T S restricted to the window): for each item, walk its occurrences and
// their neighbours in the sequence, accumulate into a dense scratch row, emit the touched entries sorted.
// Memory is O(nnz + num_items); time is the number of counted pairs.
inline Cooccurrence cooccurrence(const data::Sequences& s, CooccurrenceOptions opt = {}) {
  SEQREC_REQUIRE(opt.window >= 0, "cooccurrence: window must be >= 0, got ", opt.window);
  const index_t ni = s.num_items, nu = s.num_users();
  for (id_t i : s.items) SEQREC_REQUIRE_INDEX(i - 1, ni, "cooccurrence: item - 1 (items are 1-based)");
  // item -> (flat position) incidence, ordered by user then position.
  std::vector<index_t> occ_off(static_cast<std::size_t>(ni) + 2, 0);
  for (id_t i : s.items) ++occ_off[static_cast<std::size_t>(i) + 1];
  for (std::size_t k = 1; k < occ_off.size(); ++k) occ_off[k] += occ_off[k - 1];
  std::vector<index_t> occ(s.items.size()), occ_user(s.items.size());
  {
    std::vector<index_t> fill(occ_off.begin(), occ_off.end() - 1);
    for (index_t u = 0; u < nu; ++u)
      for (index_t p = s.offsets[u]; p < s.offsets[u + 1]; ++p) {
        const auto slot = static_cast<std::size_t>(fill[static_cast<std::size_t>(s.items[p])]++);
        occ[slot] = p;
        occ_user[slot] = u;
      }
  }
  Cooccurrence c;
  c.num_items = ni;
  c.offsets.assign(static_cast<std::size_t>(ni) + 2, 0);
  std::vector<std::uint32_t> acc(static_cast<std::size_t>(ni) + 1, 0);
  std::vector<index_t> last_user(static_cast<std::size_t>(ni) + 1, -1);
  std::vector<id_t> touched;
  for (id_t a = 1; a <= ni; ++a) {
    touched.clear();
    for (index_t k = occ_off[a]; k < occ_off[a + 1]; ++k) {
      const index_t p = occ[k], u = occ_user[k];
      const index_t begin = s.offsets[u], end = s.offsets[u + 1];
      const index_t lo = opt.window > 0 ? std::max(begin, p - opt.window) : begin;
      const index_t hi = opt.window > 0 ? std::min(end, p + opt.window + 1) : end;
      for (index_t q = lo; q < hi; ++q) {
        const id_t b = s.items[q];
        if (b == a) continue;
        if (opt.once_per_user) {
          if (last_user[b] == u) continue;
          last_user[b] = u;
        }
        if (acc[b]++ == 0) touched.push_back(b);
      }
    }
    std::sort(touched.begin(), touched.end());
    for (id_t b : touched) {
      c.items.push_back(b);
      c.counts.push_back(acc[b]);
      acc[b] = 0;
      last_user[b] = -1;
    }
    c.offsets[static_cast<std::size_t>(a) + 1] = static_cast<index_t>(c.items.size());
  }
  return c;
}

inline Cooccurrence cooccurrence(const InteractionGraph& g, CooccurrenceOptions opt = {}) {
  return cooccurrence(g.to_sequences(), opt);
}

}  // namespace seqrec::graph
