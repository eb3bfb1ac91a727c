// A synthetic sequential task and one train-then-test loop, shared by the model tests.
// ring_walks: users walk the item ring 1..items one step at a time from a random start, so the next item is always
// the current one + 1, which a sequence model must learn and a popularity model cannot.
// train_and_test: plain epochs of shuffle -> batch -> train_step (the loop itself, not train::Trainer, so a model
// test does not depend on the trainer), then HR@10 of the held-out item, sampled (50 negatives) and full ranking.
#pragma once

#include <seqrec/core/random.hpp>
#include <seqrec/data/batch.hpp>
#include <seqrec/data/interactions.hpp>
#include <seqrec/data/negative_sampler.hpp>
#include <seqrec/data/split.hpp>
#include <seqrec/eval/full.hpp>
#include <seqrec/eval/sampled.hpp>

#include <vector>

namespace seqrec::test {

struct RingWalks {
  int users = 200, items = 120;
  std::uint64_t seed = 77;
};

inline data::Interactions ring_walks(const RingWalks& w = {}) {
  data::Interactions x;
  RandomStream rs(w.seed, 0);
  for (int u = 0; u < w.users; ++u) {
    const int start = int(rs.below(2 * u, w.items)), len = 6 + int(rs.below(2 * u + 1, 8));
    for (int k = 0; k < len; ++k) x.push_back(x.users.insert(u), x.items.insert(1 + (start + k) % w.items), 1.0f, k);
  }
  x.sort_chronological();
  return x;
}

struct TrainOutcome {
  std::vector<double> losses;  // mean training loss per epoch
  double hr10 = 0, full_hr10 = 0;
};

template <class Model, class Space>
TrainOutcome train_and_test(Model& model, const data::Interactions& x, int epochs, index_t batch_rows,
                            index_t negatives) {
  Space space;
  const auto split = data::leave_one_out(x);
  auto history = data::make_user_history(space, split.train_sequences);
  data::SequenceBatcher<Space> batcher(space, split.train_sequences, data::UniformNegativeSampler<Space>(history));
  data::EpochShuffler<Space> shuffler(space, data::EpochShuffler<Space>::trainable_users(split.train_sequences), 5);
  data::SequenceBatch<Space> batch(space, batch_rows, model.maxlen(), negatives);
  TrainOutcome out;
  for (int e = 0; e < epochs; ++e) {
    shuffler.shuffle(space, e);
    double sum = 0;
    for (index_t b = 0; b < shuffler.num_batches(batch_rows); ++b) {
      batcher.build(space, shuffler.batch(b, batch_rows), batch, RandomStream(7, e * 1000 + b));
      sum += model.train_step(space, batch, model.random().next()).value;
    }
    out.losses.push_back(sum / shuffler.num_batches(batch_rows));
  }
  // Test: windows are train + validation items; candidates exclude the whole history.
  data::Interactions tv = split.train;
  for (auto u : split.evaluated_users) tv.push_back(u, split.valid_item(u), 1.0f, 1 << 30);
  tv.sort_chronological();
  const auto scoring = data::Sequences::from(tv);
  model.set_scoring_windows(space, scoring, 64);
  std::vector<id_t> targets;
  for (auto u : split.evaluated_users) targets.push_back(split.test_item(u));
  auto users = eval::select_users(space, split.evaluated_users, targets);
  eval::SampledOptions opt;
  opt.num_negatives = 50;
  auto cands = eval::make_sampled_candidates(space, users, eval::make_history(space, data::Sequences::from(x)), opt);
  eval::SampledEvaluator<typename Model::scalar_type, Space> evaluator(space, 51, 64);
  out.hr10 = evaluator.evaluate(space, model, cands, {10}).hr_at(10);
  out.full_hr10 = eval::evaluate_full(space, model, users, eval::make_history(space, scoring), 64, {10}).hr_at(10);
  return out;
}

}  // namespace seqrec::test
