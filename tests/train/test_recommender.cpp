#include "support/backends.hpp"

#include <seqrec/data/batch.hpp>
#include <seqrec/data/negative_sampler.hpp>
#include <seqrec/data/split.hpp>
#include <seqrec/eval/sampled.hpp>
#include <seqrec/sequence/gru.hpp>
#include <seqrec/sequence/lstm.hpp>
#include <seqrec/sequence/recurrent_encoder.hpp>
#include <seqrec/sequence/sasrec_encoder.hpp>
#include <seqrec/sequential_recommender.hpp>

#include <catch2/catch.hpp>

#include <vector>

namespace {
// 300 users walk the item ring 1..150 one step at a time from a random start: the next item is always the
// current one + 1, which a sequence model must learn and a popularity model cannot.
seqrec::data::Interactions ring_walks() {
  seqrec::data::Interactions x;
  seqrec::RandomStream rs(99, 0);
  const int items = 150;
  for (int u = 0; u < 300; ++u) {
    const int start = int(rs.below(2 * u, items)), len = 6 + int(rs.below(2 * u + 1, 8));
    for (int k = 0; k < len; ++k) {
      const auto uid = x.users.insert(u);
      const auto iid = x.items.insert(1 + (start + k) % items);
      x.push_back(uid, iid, 1.0f, k);
    }
  }
  x.sort_chronological();
  return x;
}

struct Outcome {
  std::vector<double> losses;
  double hr10 = 0;
};

template <class Model, class Space>
Outcome train_and_test(Model& model, const seqrec::data::Interactions& x, int epochs) {
  Space space;
  const auto split = seqrec::data::leave_one_out(x);
  auto history = seqrec::data::make_user_history(space, split.train_sequences);
  seqrec::data::SequenceBatcher<Space> batcher(space, split.train_sequences,
                                               seqrec::data::UniformNegativeSampler<Space>(history));
  seqrec::data::EpochShuffler<Space> shuffler(
      space, seqrec::data::EpochShuffler<Space>::trainable_users(split.train_sequences), 5);
  seqrec::data::SequenceBatch<Space> batch(space, 32, model.maxlen(), 1);
  Outcome out;
  for (int e = 0; e < epochs; ++e) {
    shuffler.shuffle(space, e);
    double sum = 0;
    for (seqrec::index_t b = 0; b < shuffler.num_batches(32); ++b) {
      batcher.build(space, shuffler.batch(b, 32), batch, seqrec::RandomStream(7, e * 1000 + b));
      sum += model.train_step(space, batch, model.random().next()).value;
    }
    out.losses.push_back(sum / shuffler.num_batches(32));
  }
  // Test: windows are train + validation items; candidates exclude the whole history.
  seqrec::data::Sequences scoring = split.train_sequences;
  {
    seqrec::data::Interactions tv = split.train;
    for (auto u : split.evaluated_users) tv.push_back(u, split.valid_item(u), 1.0f, 1 << 30);
    tv.sort_chronological();
    scoring = seqrec::data::Sequences::from(tv);
  }
  model.set_scoring_windows(space, scoring, 64);
  const auto full = seqrec::eval::make_history(space, seqrec::data::Sequences::from(x));
  std::vector<seqrec::id_t> targets;
  for (auto u : split.evaluated_users) targets.push_back(split.test_item(u));
  auto users = seqrec::eval::select_users(space, split.evaluated_users, targets);
  seqrec::eval::SampledOptions opt;
  opt.num_negatives = 50;
  auto cands = seqrec::eval::make_sampled_candidates(space, users, full, opt);
  seqrec::eval::SampledEvaluator<typename Model::scalar_type, Space> evaluator(space, 51, 64);
  out.hr10 = evaluator.evaluate(space, model, cands, {10}).hr_at(10);
  return out;
}
}  // namespace

TEMPLATE_TEST_CASE("SASRec, GRU and LSTM recommenders learn a deterministic next-item rule", "[train][recommender]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  if constexpr (std::is_same_v<T, float>) {
    Space space;
    const auto x = ring_walks();
    seqrec::RecommenderConfig cfg;
    cfg.dim = 16;
    cfg.batch = 32;
    cfg.adam.lr = 0.02;

    using Sasrec = seqrec::SequentialRecommender<seqrec::sequence::SelfAttentionEncoder<T, Space>>;
    seqrec::sequence::SelfAttentionConfig sa;
    sa.maxlen = 12;
    sa.blocks = 1;
    sa.dropout = 0.1;
    auto make_sa = [&](const Space& s, auto& params, seqrec::index_t dim) {
      return seqrec::sequence::SelfAttentionEncoder<T, Space>(s, params, dim, sa);
    };
    Sasrec sasrec(space, x.num_items(), cfg, 1, make_sa);
    const auto a = train_and_test<Sasrec, Space>(sasrec, x, 10);
    INFO("SASRec losses " << a.losses.front() << " -> " << a.losses.back() << ", HR@10 " << a.hr10);
    CHECK(a.losses.back() < 0.5 * a.losses.front());
    CHECK(a.hr10 > 0.9);

    // Same seed on Serial: the same trajectory to the last bit (every random draw is counter-based). On
    // threaded backends embedding gradients are added atomically, so the last bits may differ.
    if constexpr (std::is_same_v<Space, Kokkos::Serial>) {
      Sasrec again(space, x.num_items(), cfg, 1, make_sa);
      const auto b = train_and_test<Sasrec, Space>(again, x, 3);
      for (int e = 0; e < 3; ++e) CHECK(b.losses[e] == a.losses[e]);
    }

    seqrec::sequence::RecurrentConfig rc;
    rc.maxlen = 12;
    rc.dropout = 0.1;
    using Gru4Rec = seqrec::SequentialRecommender<seqrec::sequence::RecurrentEncoder<seqrec::sequence::Gru<T, Space>>>;
    Gru4Rec gru(space, x.num_items(), cfg, 2, [&](const Space& s, auto& params, seqrec::index_t dim) {
      return seqrec::sequence::RecurrentEncoder<seqrec::sequence::Gru<T, Space>>(s, params, dim, rc);
    });
    const auto g = train_and_test<Gru4Rec, Space>(gru, x, 10);
    INFO("GRU losses " << g.losses.front() << " -> " << g.losses.back() << ", HR@10 " << g.hr10);
    CHECK(g.hr10 > 0.9);

    using LstmRec = seqrec::SequentialRecommender<seqrec::sequence::RecurrentEncoder<seqrec::sequence::Lstm<T, Space>>>;
    LstmRec lstm(space, x.num_items(), cfg, 3, [&](const Space& s, auto& params, seqrec::index_t dim) {
      return seqrec::sequence::RecurrentEncoder<seqrec::sequence::Lstm<T, Space>>(s, params, dim, rc);
    });
    const auto l = train_and_test<LstmRec, Space>(lstm, x, 10);
    INFO("LSTM losses " << l.losses.front() << " -> " << l.losses.back() << ", HR@10 " << l.hr10);
    CHECK(l.hr10 > 0.9);
  }
}
