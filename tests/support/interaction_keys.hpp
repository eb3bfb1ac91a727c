// Interactions as a multiset of (user, item, time, weight): order-free comparison of what two sets hold
// (splits that move interactions between parts must neither lose nor invent one).
#pragma once

#include <seqrec/data/interactions.hpp>

#include <cstdint>
#include <set>
#include <tuple>

namespace seqrec::test {

using InteractionKey = std::tuple<seqrec::id_t, seqrec::id_t, std::int64_t, float>;

inline std::multiset<InteractionKey> interaction_keys(const data::Interactions& x) {
  std::multiset<InteractionKey> s;
  for (index_t k = 0; k < x.size(); ++k) s.insert({x.user[k], x.item[k], x.time[k], x.weight[k]});
  return s;
}

}  // namespace seqrec::test
