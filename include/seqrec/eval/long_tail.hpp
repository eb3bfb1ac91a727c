// The long tail of a leave-one-out split: the evaluated users whose held-out item is rare in training, where
// the data is thin and popularity cannot carry a model. Rank them with HoldoutEvaluator::evaluate_users:
//
//   const auto tail = eval::long_tail_users(split, eval::Part::test, 5);
//   auto m = evaluator.evaluate_users(space, model, eval::Part::test, eval::Protocol::both, tail);
//
// Host only.
#pragma once

#include <seqrec/core/error.hpp>
#include <seqrec/data/split.hpp>
#include <seqrec/eval/holdout.hpp>

#include <cstddef>
#include <vector>

namespace seqrec::eval {

// The evaluated users (ascending) whose `part` item has at most `max_count` training interactions.
inline std::vector<id_t> long_tail_users(const data::Split& split, Part part, index_t max_count) {
  SEQREC_REQUIRE(max_count >= 0, "long_tail_users: max_count must be >= 0, got ", max_count);
  std::vector<index_t> count(std::size_t(split.train_sequences.num_items) + 1, 0);
  for (auto item : split.train_sequences.items) ++count[std::size_t(item)];
  std::vector<id_t> out;
  for (auto u : split.evaluated_users) {
    const id_t item = part == Part::valid ? split.valid_item(u) : split.test_item(u);
    if (count[std::size_t(item)] <= max_count) out.push_back(u);
  }
  return out;
}

}  // namespace seqrec::eval
