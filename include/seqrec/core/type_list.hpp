// Compile-time lists of component types: the registries (losses/registry.hpp, ...) are type lists, and the
// tools, the run-time variants (losses::RuntimeLoss, RuntimeCombinator) and the conformance tests all read the
// same list, so a new component is one line in one list. Catch2's TEMPLATE_LIST_TEST_CASE takes them as they are.
#pragma once

#include <cstddef>
#include <string>
#include <type_traits>
#include <variant>

namespace seqrec {

template <class... Ts>
struct TypeList {
  static constexpr std::size_t size = sizeof...(Ts);
};

// f(std::type_identity<T>{}) for each T of the list, in order; stops at the first call returning true when f
// returns bool (a search), and returns whether one did.
template <class... Ts, class F>
constexpr bool for_each_type(TypeList<Ts...>, F&& f) {
  if constexpr (sizeof...(Ts) == 0) {
    return false;
  } else if constexpr ((std::is_same_v<decltype(f(std::type_identity<Ts>{})), bool> && ...)) {
    return (f(std::type_identity<Ts>{}) || ...);
  } else {
    (f(std::type_identity<Ts>{}), ...);
    return false;
  }
}

template <class List>
struct variant_of;
template <class... Ts>
struct variant_of<TypeList<Ts...>> {
  using type = std::variant<Ts...>;
};
// std::variant<Ts...> of TypeList<Ts...>.
template <class List>
using variant_of_t = typename variant_of<List>::type;

// "a, b or c": the names (T::name) of a list, for help texts and errors.
template <class... Ts>
std::string type_names(TypeList<Ts...>) {
  const char* names[] = {Ts::name...};
  std::string out;
  for (std::size_t i = 0; i < sizeof...(Ts); ++i) {
    if (i) out += i + 1 == sizeof...(Ts) ? " or " : ", ";
    out += names[i];
  }
  return out;
}

}  // namespace seqrec
