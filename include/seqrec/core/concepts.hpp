// The concepts every seqrec component is checked against, and static_assert helpers that say in plain
// words what a type lacks (a failed concept in a long template error is hard to read).
#pragma once

#include <Kokkos_Core.hpp>

#include <concepts>
#include <type_traits>

namespace seqrec {

template <class E>
concept ExecutionSpace = Kokkos::is_execution_space<E>::value;

template <class M>
concept MemorySpace = Kokkos::is_memory_space<M>::value;

// Scalars seqrec computes in. half/bfloat16 on CUDA are planned; they will be added here.
template <class T>
concept Scalar = std::same_as<T, float> || std::same_as<T, double>;

template <class V>
concept KokkosView = Kokkos::is_view<V>::value;

template <class V, unsigned R>
concept ViewOfRank = KokkosView<V> &&(V::rank == R);

// True when host code may dereference memory of the space's memory space directly.
template <class Space>
inline constexpr bool is_host_accessible_v =
    Kokkos::SpaceAccessibility<Kokkos::HostSpace, typename Space::memory_space>::accessible;

// Every component exposes the scalar it computes in and where it runs.
template <class C>
concept Component = requires {
  typename C::scalar_type;
  typename C::execution_space;
  typename C::memory_space;
}
&&Scalar<typename C::scalar_type>&& ExecutionSpace<typename C::execution_space>;

namespace detail {
template <class C>
concept has_scalar_type = requires {
  typename C::scalar_type;
};
template <class C>
concept has_execution_space = requires {
  typename C::execution_space;
};
template <class C>
concept has_memory_space = requires {
  typename C::memory_space;
};
template <class T>
struct always_false : std::false_type {};
}  // namespace detail

// static_assert helpers. Call them at the top of a class template that takes the checked parameter:
// the first failing line names the missing piece.
template <class E>
constexpr bool check_execution_space() {
  static_assert(Kokkos::is_execution_space<E>::value,
                "seqrec: this template argument must be a Kokkos execution space "
                "(Kokkos::Serial, Kokkos::OpenMP, Kokkos::Cuda or Kokkos::DefaultExecutionSpace)");
  return true;
}

template <class T>
constexpr bool check_scalar() {
  static_assert(Scalar<T>, "seqrec: the scalar type must be float or double");
  return true;
}

template <class C>
constexpr bool check_component() {
  static_assert(detail::has_scalar_type<C>,
                "seqrec: a component must declare `using scalar_type = ...;` (float or double)");
  static_assert(detail::has_execution_space<C>,
                "seqrec: a component must declare `using execution_space = ...;` (a Kokkos execution space)");
  static_assert(detail::has_memory_space<C>,
                "seqrec: a component must declare `using memory_space = ...;` (its execution space's memory space)");
  if constexpr (detail::has_scalar_type<C> && detail::has_execution_space<C>) {
    check_scalar<typename C::scalar_type>();
    check_execution_space<typename C::execution_space>();
  }
  return true;
}

}  // namespace seqrec
