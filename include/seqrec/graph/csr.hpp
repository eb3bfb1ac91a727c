// Compressed sparse rows in Kokkos Views: the form in which the interaction graph and user sequences
// reach the device. No Boost here, so device code (samplers, batches) can include it under nvcc.
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/data/interactions.hpp>

#include <Kokkos_Core.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace seqrec::graph {

// Row r holds indices[offsets[r] .. offsets[r+1]) with matching values and times. values and times
// have extent 0 when they were not exported.
template <class T, ExecutionSpace Space>
struct Csr {
  using value_type = T;
  using execution_space = Space;
  using memory_space = typename Space::memory_space;

  View1<index_t, Space> offsets;     // rows + 1
  View1<id_t, Space> indices;        // nnz
  View1<T, Space> values;            // nnz or 0
  View1<std::int64_t, Space> times;  // nnz or 0

  index_t rows() const { return offsets.extent(0) == 0 ? 0 : static_cast<index_t>(offsets.extent(0)) - 1; }
  index_t nnz() const { return static_cast<index_t>(indices.extent(0)); }
  bool has_values() const { return values.extent(0) != 0 || nnz() == 0; }
  bool has_times() const { return times.extent(0) != 0 || nnz() == 0; }
};

namespace detail {

// Copies a host vector into a new view of `space` (converting the element type when it differs).
template <class To, ExecutionSpace Space, class From>
View1<To, Space> copy_to_space(const Space& space, const std::vector<From>& host, const std::string& label) {
  auto dev = make_uninitialized<View1<To, Space>>(space, label, host.size());
  auto mirror = Kokkos::create_mirror_view(dev);
  for (std::size_t k = 0; k < host.size(); ++k) mirror(k) = static_cast<To>(host[k]);
  Kokkos::deep_copy(space, dev, mirror);
  return dev;
}

inline void check_csr(const std::vector<index_t>& offsets, std::size_t nnz, std::size_t values, std::size_t times,
                      const std::string& label) {
  SEQREC_REQUIRE(!offsets.empty(), label, ": offsets must hold rows + 1 entries, got none");
  SEQREC_REQUIRE(offsets.front() == 0, label, ": offsets must start at 0, got ", offsets.front());
  for (std::size_t r = 0; r + 1 < offsets.size(); ++r)
    SEQREC_REQUIRE(offsets[r] <= offsets[r + 1], label, ": offsets decrease at row ", r);
  SEQREC_REQUIRE_EQ(static_cast<std::size_t>(offsets.back()), nnz, label + ": last offset vs number of indices");
  SEQREC_REQUIRE(values == 0 || values == nnz, label, ": ", values, " values for ", nnz, " indices");
  SEQREC_REQUIRE(times == 0 || times == nnz, label, ": ", times, " times for ", nnz, " indices");
}

}  // namespace detail

// A device CSR from host arrays. `values` and `times` may be empty. Fences `space` before returning, so
// the host arrays may go away.
template <class T, ExecutionSpace Space, class V = T>
Csr<T, Space> make_csr(const Space& space, const std::vector<index_t>& offsets, const std::vector<id_t>& indices,
                       const std::vector<V>& values = {}, const std::vector<std::int64_t>& times = {},
                       const std::string& label = "csr") {
  detail::check_csr(offsets, indices.size(), values.size(), times.size(), label);
  Csr<T, Space> c;
  c.offsets = detail::copy_to_space<index_t>(space, offsets, label + "::offsets");
  c.indices = detail::copy_to_space<id_t>(space, indices, label + "::indices");
  c.values = detail::copy_to_space<T>(space, values, label + "::values");
  c.times = detail::copy_to_space<std::int64_t>(space, times, label + "::times");
  space.fence();
  return c;
}

// Each user's chronological sequence (items, weights, times) as a device CSR with num_users rows.
template <class T = float, ExecutionSpace Space>
Csr<T, Space> sequences_to_csr(const Space& space, const data::Sequences& s, const std::string& label = "sequences") {
  return make_csr<T>(space, s.offsets, s.items, s.weights, s.times, label);
}

}  // namespace seqrec::graph
