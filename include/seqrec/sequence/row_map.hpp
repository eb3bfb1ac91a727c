// Compact rows for left-padded windows. On Games a window of 50 holds 9 items on average: layers that
// work row by row (embeddings, projections, norms, feed-forward, dropout) run on the real positions only,
// which is exact because padding positions are masked out of attention and of the loss.
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/view.hpp>

#include <Kokkos_Core.hpp>

namespace seqrec::sequence {

template <ExecutionSpace Space>
struct RowMap {
  using memory_space = typename Space::memory_space;
  using ids_type = Kokkos::View<const id_t**, Kokkos::LayoutRight, memory_space>;

  View2<index_t, Space> row_of;    // [batch, len]: compact row of (b, t), or -1 at padding
  View1<index_t, Space> source;    // [rows]: b * len + t of compact row r
  View1<id_t, Space> ids;          // [rows]: the item at compact row r
  View1<index_t, Space> position;  // [rows]: t of compact row r
  index_t rows = 0;                // real positions in the last build
  index_t batch = 0, len = 0;

  RowMap() = default;
  RowMap(const Space& space, index_t batch_, index_t len_) : batch(batch_), len(len_) {
    row_of = make_uninitialized<View2<index_t, Space>>(space, "RowMap::row_of", batch, len);
    source = make_uninitialized<View1<index_t, Space>>(space, "RowMap::source", batch * len);
    ids = make_uninitialized<View1<id_t, Space>>(space, "RowMap::ids", batch * len);
    position = make_uninitialized<View1<index_t, Space>>(space, "RowMap::position", batch * len);
  }

  // Numbers the non-padding positions in (b, t) order. Returns their count (a host value: fences).
  index_t build(const Space& space, ids_type in) {
    SEQREC_REQUIRE_SHAPE(in, "RowMap::build ids", batch, len);
    auto r_of = row_of;
    auto src = source;
    auto out_ids = ids;
    auto pos = position;
    const index_t L = len;
    index_t total = 0;
    Kokkos::parallel_scan(
        "seqrec::RowMap::build", Kokkos::RangePolicy<Space>(space, 0, batch * len),
        KOKKOS_LAMBDA(index_t i, index_t & next, bool final) {
          const id_t id = in(i / L, i % L);
          if (final) {
            r_of(i / L, i % L) = id != 0 ? next : index_t(-1);
            if (id != 0) {
              src(next) = i;
              out_ids(next) = id;
              pos(next) = i % L;
            }
          }
          next += id != 0 ? 1 : 0;
        },
        total);
    rows = total;
    return total;
  }
};

// The first n rows of a [capacity, cols] buffer, as the same view type.
template <class V>
V first_rows(const V& v, index_t n) {
  return V(v.data(), static_cast<std::size_t>(n), v.extent(1));
}

}  // namespace seqrec::sequence
