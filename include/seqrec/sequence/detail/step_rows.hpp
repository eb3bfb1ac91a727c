// Shared by the recurrent layers: the rows of one time step in a [batch*len, cols] matrix.
#pragma once

#include <seqrec/core/error.hpp>
#include <seqrec/core/view.hpp>

#include <Kokkos_Core.hpp>

#include <string>

namespace seqrec::sequence::detail {

// Rows b*len + t (b = 0..batch-1) as a [batch, cols] strided view, which gemm accepts directly (unit
// column stride, leading dimension len*cols).
template <class V>
auto step_rows(const V& v, index_t t, index_t len) {
  using S = Kokkos::View<typename V::value_type**, Kokkos::LayoutStride, typename V::memory_space,
                         Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
  const index_t batch = v.extent(0) / len, cols = v.extent(1);
  return S(v.data() + t * cols, Kokkos::LayoutStride(batch, len * cols, cols, 1));
}

// Shapes a recurrent layer's forward/backward need: x [batch*len, in], h [batch*len, hidden], and a
// workspace made for these windows.
template <class Ids, class X, class H, class W>
void check_recurrent(const char* layer, const Ids& ids, const X& x, const H& h, const W& ws, index_t in,
                     index_t hidden) {
  const index_t rows = index_t(ids.extent(0)) * index_t(ids.extent(1));
  SEQREC_REQUIRE_SHAPE(x, std::string(layer) + " input", rows, in);
  SEQREC_REQUIRE_SHAPE(h, std::string(layer) + " state", rows, hidden);
  SEQREC_REQUIRE(ws.batch == index_t(ids.extent(0)) && ws.len == index_t(ids.extent(1)), layer, ": workspace made for ",
                 ws.batch, "x", ws.len, " windows, got ", ids.extent(0), "x", ids.extent(1));
}

}  // namespace seqrec::sequence::detail
