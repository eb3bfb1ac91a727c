// Synthetic inputs shaped like the Games data (benchmarks time kernels, not data loading): skewed item
// popularity, left-padded sequences, short user histories. Deterministic for a seed.
#pragma once

#include <seqrec/core/view.hpp>

#include <Kokkos_Core.hpp>

#include <cmath>
#include <random>

namespace seqrec::bench {

// A popularity-skewed item id in [1, items]: u^3 puts about half the draws on the 20% most popular ids.
inline id_t skewed_item(std::mt19937_64& g, index_t items) {
  const double u = std::uniform_real_distribution<double>(0, 1)(g);
  return static_cast<id_t>(1 + std::min<index_t>(items - 1, index_t(double(items) * u * u * u)));
}

// [rows x len] item ids, each row left-padded with 0 to a random length in [len/5, len], as SASRec's batches.
template <class Space>
Kokkos::View<id_t**, Kokkos::LayoutRight, typename Space::memory_space> padded_ids(const Space& space, index_t rows,
                                                                                   index_t len, index_t items,
                                                                                   std::uint64_t seed) {
  Kokkos::View<id_t**, Kokkos::LayoutRight, Kokkos::HostSpace> h("bench:ids", rows, len);
  std::mt19937_64 g(seed);
  for (index_t r = 0; r < rows; ++r) {
    const index_t n = std::uniform_int_distribution<index_t>(std::max<index_t>(1, len / 5), len)(g);
    for (index_t t = 0; t < len; ++t) h(r, t) = t < len - n ? 0 : skewed_item(g, items);
  }
  return to_space(space, h);
}

}  // namespace seqrec::bench
