// Shared by the recurrent layers: the rows of one time step in a [batch*len, cols] matrix.
#pragma once

#include <seqrec/core/view.hpp>

#include <Kokkos_Core.hpp>

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

}  // namespace seqrec::sequence::detail
