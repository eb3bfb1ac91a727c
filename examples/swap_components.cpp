// Swapping the sequence model is one template argument: the same training loop and scorer run SASRec's
// self-attention, a GRU (GRU4Rec-style) and an LSTM on MovieLens-100K (leave-one-out, sampled HR/NDCG@10).
//
//   build/bin/swap-components [epochs]
#include <seqrec/data/batch.hpp>
#include <seqrec/data/dataset_path.hpp>
#include <seqrec/data/negative_sampler.hpp>
#include <seqrec/data/readers.hpp>
#include <seqrec/data/split.hpp>
#include <seqrec/eval/sampled.hpp>
#include <seqrec/sequence/gru.hpp>
#include <seqrec/sequence/lstm.hpp>
#include <seqrec/sequence/recurrent_encoder.hpp>
#include <seqrec/sequence/sasrec_encoder.hpp>
#include <seqrec/sequential_recommender.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>

using Space = Kokkos::DefaultExecutionSpace;
using T = float;
namespace sq = seqrec::sequence;

// Everything below is written once for any encoder.
template <class Encoder, class Make>
void train_and_report(const char* name, const seqrec::data::Interactions& data, int epochs, Make&& make) {
  Space space;
  seqrec::RecommenderConfig cfg;
  cfg.dim = 64;
  cfg.batch = 128;
  seqrec::SequentialRecommender<Encoder> model(space, data.num_items(), cfg, /*seed=*/1, make);

  const auto split = seqrec::data::leave_one_out(data);
  const auto history = seqrec::data::make_user_history(space, split.train_sequences);
  seqrec::data::SequenceBatcher<Space> batcher(space, split.train_sequences,
                                               seqrec::data::UniformNegativeSampler<Space>(history));
  seqrec::data::EpochShuffler<Space> shuffler(
      space, seqrec::data::EpochShuffler<Space>::trainable_users(split.train_sequences), 1);
  seqrec::data::SequenceBatch<Space> batch(space, cfg.batch, model.maxlen(), 1);
  const auto t0 = std::chrono::steady_clock::now();
  for (int e = 0; e < epochs; ++e) {
    shuffler.shuffle(space, e);
    for (seqrec::index_t b = 0; b < shuffler.num_batches(cfg.batch); ++b) {
      batcher.build(space, shuffler.batch(b, cfg.batch), batch, seqrec::RandomStream(1, (e << 16) + b));
      model.train_step(space, batch, model.random().next());
    }
  }
  space.fence();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  // Test: input = training items + the validation item; 100 sampled negatives outside the history.
  model.set_scoring_windows(space, seqrec::data::Sequences::from(seqrec::data::with_held_out(split, true)));
  std::vector<seqrec::id_t> targets;
  for (auto u : split.evaluated_users) targets.push_back(split.test_item(u));
  const auto users = seqrec::eval::select_users(space, split.evaluated_users, targets);
  const auto cands = seqrec::eval::make_sampled_candidates(
      space, users, seqrec::eval::make_history(space, seqrec::data::Sequences::from(data)));
  seqrec::eval::SampledEvaluator<T, Space> evaluator(space, 101);
  const auto m = evaluator.evaluate(space, model, cands, {10});
  std::printf("{\"model\":\"%s\",\"epochs\":%d,\"train_seconds\":%.2f,\"test_hr10\":%.4f,\"test_ndcg10\":%.4f}\n", name,
              epochs, secs, m.hr_at(10), m.ndcg_at(10));
}

int main(int argc, char* argv[]) {
  Kokkos::ScopeGuard guard(argc, argv);
  const int epochs = argc > 1 ? std::atoi(argv[1]) : 20;
  try {
    const auto data = seqrec::data::read(seqrec::data::data_file("ml-100k/u.data"), seqrec::data::Format::ml100k);
    const sq::SelfAttentionConfig sa{/*maxlen=*/200, /*blocks=*/2, /*heads=*/1, /*dropout=*/0.2, 0};
    const sq::RecurrentConfig rc{/*maxlen=*/200, /*layers=*/1, /*dropout=*/0.2};
    train_and_report<sq::SelfAttentionEncoder<T, Space>>(
        "sasrec", data, epochs,
        [&](const Space& s, auto& p, seqrec::index_t d) { return sq::SelfAttentionEncoder<T, Space>(s, p, d, sa); });
    train_and_report<sq::RecurrentEncoder<sq::Gru<T, Space>>>(
        "gru", data, epochs, [&](const Space& s, auto& p, seqrec::index_t d) {
          return sq::RecurrentEncoder<sq::Gru<T, Space>>(s, p, d, rc);
        });
    train_and_report<sq::RecurrentEncoder<sq::Lstm<T, Space>>>(
        "lstm", data, epochs, [&](const Space& s, auto& p, seqrec::index_t d) {
          return sq::RecurrentEncoder<sq::Lstm<T, Space>>(s, p, d, rc);
        });
  } catch (const seqrec::Error& e) {
    std::fprintf(stderr, "swap-components: %s\n", e.what());
    return 1;
  }
  return 0;
}
