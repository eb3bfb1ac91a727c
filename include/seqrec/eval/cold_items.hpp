// Candidates for the cold-item protocol (data/cold_split.hpp): each evaluated user's first cold item is ranked
// against every other cold item, none of which the model saw in training. The result is a SampledCandidates,
// so the sampled protocol's evaluator ranks it:
//
//   auto split = data::cold_item_split(x, 0.2, seed);
//   ... train on split.warm ...
//   auto cands = eval::make_cold_candidates(space, split);
//   model.set_scoring_windows(space, split.history, eval_batch);
//   SampledEvaluator<T, Space> evaluator(space, cands.num_candidates(), eval_batch);
//   auto metrics = evaluator.evaluate(space, model, cands, {1, 5, 10});
//
// Unlike the sampled protocol nothing is excluded for being in the user's history: a cold item never is.
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/data/cold_split.hpp>
#include <seqrec/eval/sampled.hpp>

#include <Kokkos_Core.hpp>

#include <cstddef>
#include <vector>

namespace seqrec::eval {

// [evaluated users x cold items]: row b is users[b]'s target in column 0, then the other cold items ascending.
// Built on the host (once per run) and copied over. Throws when the split evaluates no user.
template <ExecutionSpace Space>
SampledCandidates<Space> make_cold_candidates(const Space& space, const data::ColdItemSplit& split) {
  SEQREC_REQUIRE(!split.users.empty(),
                 "make_cold_candidates: expected at least 1 evaluated user (a warm interaction before a cold one), "
                 "got 0");
  SEQREC_REQUIRE_EQ(split.targets.size(), split.users.size(), "make_cold_candidates: targets vs users");
  const std::size_t n = split.users.size(), cols = split.cold_items.size();
  const index_t num_items = static_cast<index_t>(split.is_cold.size()) - 1;

  SampledCandidates<Space> out;
  out.users = select_users(space, split.users, split.targets, 0, split.seed);
  out.num_items = num_items;
  out.seed = split.seed;
  out.distinct = true;
  out.items = make_uninitialized<View2<id_t, Space>>(space, "eval::ColdCandidates::items", n, cols);
  auto h = Kokkos::create_mirror_view(out.items);
  for (std::size_t b = 0; b < n; ++b) {
    const id_t t = split.targets[b];
    SEQREC_REQUIRE(t >= 1 && t <= num_items && split.is_cold[static_cast<std::size_t>(t)],
                   "make_cold_candidates: expected a cold target for user ", split.users[b], ", got item ", t);
    h(b, 0) = t;
    std::size_t j = 1;
    for (id_t i : split.cold_items)
      if (i != t) h(b, j++) = i;
  }
  Kokkos::deep_copy(space, out.items, h);
  space.fence();  // h may be freed on return before the copy ran
  return out;
}

}  // namespace seqrec::eval
