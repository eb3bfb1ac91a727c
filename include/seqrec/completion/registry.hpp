// The completion strategies as one type list: what --method and --blend name, and what a tool dispatches over.
// A new strategy: its header (a CompletionStrategy with a static `name`) and one line in Strategies.
#pragma once

#include <seqrec/completion/als.hpp>
#include <seqrec/completion/biased_svd.hpp>
#include <seqrec/completion/bpr_mf.hpp>
#include <seqrec/completion/ease.hpp>
#include <seqrec/completion/item_knn.hpp>
#include <seqrec/completion/popularity.hpp>
#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/type_list.hpp>

#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace seqrec::completion {

template <Scalar T, ExecutionSpace Space>
using Strategies = TypeList<PopRec<T, Space>, ItemKnn<T, Space>, ImplicitAls<T, Space>, BprMf<T, Space>,
                            BiasedSvd<T, Space>, Ease<T, Space>>;

template <Scalar T, ExecutionSpace Space>
std::string strategy_names() {
  return type_names(Strategies<T, Space>{});
}

template <Scalar T, ExecutionSpace Space>
std::vector<std::string> strategy_name_list() {
  std::vector<std::string> out;
  for_each_type(Strategies<T, Space>{}, [&](auto id) { out.push_back(decltype(id)::type::name); });
  return out;
}

// f(std::type_identity<S>{}) for the strategy called `name`, returning what f returns; an unknown name throws
// invalid_argument with the list of names (never a fallback to another strategy).
template <Scalar T, ExecutionSpace Space, class F>
auto with_strategy(const std::string& name, F&& f) {
  using First = std::type_identity<PopRec<T, Space>>;
  using R = decltype(f(First{}));
  std::optional<R> out;
  const bool found = for_each_type(Strategies<T, Space>{}, [&](auto id) {
    if (name != decltype(id)::type::name) return false;
    out.emplace(f(id));
    return true;
  });
  SEQREC_REQUIRE(found, "unknown completion strategy '", name, "' (", strategy_names<T, Space>(), ")");
  return std::move(*out);
}

}  // namespace seqrec::completion
