// View aliases and allocation helpers. All seqrec tensors are LayoutRight (row-major, like the PyTorch
// and NumPy data they are compared with); the memory space follows the execution space.
#pragma once

#include <seqrec/core/concepts.hpp>

#include <Kokkos_Core.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace seqrec {

using index_t = std::int64_t;  // extents and loop indices
using id_t = std::int32_t;     // user and item ids inside kernels (datasets stay below 2^31 ids)

template <class T, ExecutionSpace Space>
using View1 = Kokkos::View<T*, Kokkos::LayoutRight, typename Space::memory_space>;
template <class T, ExecutionSpace Space>
using View2 = Kokkos::View<T**, Kokkos::LayoutRight, typename Space::memory_space>;
template <class T, ExecutionSpace Space>
using View3 = Kokkos::View<T***, Kokkos::LayoutRight, typename Space::memory_space>;
template <class T, ExecutionSpace Space>
using View4 = Kokkos::View<T****, Kokkos::LayoutRight, typename Space::memory_space>;

// Same data, seen read-only.
template <class V>
using ConstView = typename V::const_type;

// Unmanaged views over memory owned elsewhere (workspaces carved from one buffer).
template <class T, ExecutionSpace Space>
using Unmanaged2 =
    Kokkos::View<T**, Kokkos::LayoutRight, typename Space::memory_space, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;

namespace detail {
inline std::string label(std::string_view name) {
  // Built by append, not from a by-value std::string: g++ 12 warns falsely (-Wmaybe-uninitialized) there.
  constexpr std::string_view prefix = "seqrec::";
  std::string out;
  out.reserve(prefix.size() + name.size());
  if (name.substr(0, prefix.size()) != prefix) out.append(prefix);
  out.append(name);
  return out;
}
}  // namespace detail

// Allocate without initialisation, for buffers the next kernel overwrites. The label gets a "seqrec::"
// prefix so Kokkos tools attribute memory to seqrec.
template <class ViewType, ExecutionSpace Space, class... Extents>
ViewType make_uninitialized(const Space& space, std::string_view label, Extents... extents) {
  return ViewType(Kokkos::view_alloc(space, Kokkos::WithoutInitializing, detail::label(label)),
                  static_cast<std::size_t>(extents)...);
}

// Allocate and zero on `space` (the zeroing runs on that instance; fence it before reading elsewhere).
template <class ViewType, ExecutionSpace Space, class... Extents>
ViewType make_zeros(const Space& space, std::string_view label, Extents... extents) {
  return ViewType(Kokkos::view_alloc(space, detail::label(label)), static_cast<std::size_t>(extents)...);
}

// A host copy of any view (no copy when it already lives on the host). Fences.
template <class V>
auto to_host(const V& v) {
  return Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, v);
}

// A device copy of a host view, in the memory space of `Space`.
template <ExecutionSpace Space, class V>
auto to_space(const Space&, const V& v) {
  return Kokkos::create_mirror_view_and_copy(typename Space::memory_space{}, v);
}

// Number of elements of a view of any rank.
template <class V>
KOKKOS_INLINE_FUNCTION index_t numel(const V& v) {
  return static_cast<index_t>(v.size());
}

}  // namespace seqrec
