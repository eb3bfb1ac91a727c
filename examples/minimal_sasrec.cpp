// The smallest whole experiment: SASRec on MovieLens-100K (leave-one-out), a few epochs, then HR/NDCG@10 on the
// sampled protocol (100 negatives) and on full ranking. One model type, so it compiles in well under a minute
// (README: compile times).
//
//   build/bin/minimal-sasrec [epochs]
#include <seqrec/data/batch.hpp>
#include <seqrec/data/dataset_path.hpp>
#include <seqrec/data/negative_sampler.hpp>
#include <seqrec/data/readers.hpp>
#include <seqrec/data/split.hpp>
#include <seqrec/eval/full.hpp>
#include <seqrec/eval/sampled.hpp>
#include <seqrec/sequence/sasrec_encoder.hpp>
#include <seqrec/sequential_recommender.hpp>

#include <cstdio>
#include <cstdlib>

int main(int argc, char* argv[]) {
  Kokkos::ScopeGuard guard(argc, argv);
  using Space = Kokkos::DefaultExecutionSpace;
  using Encoder = seqrec::sequence::SelfAttentionEncoder<float, Space>;
  namespace d = seqrec::data;
  const int epochs = argc > 1 ? std::atoi(argv[1]) : 20;
  try {
    Space space;
    const auto data = d::read(d::data_file("ml-100k/u.data"), d::Format::ml100k);
    const auto split = d::leave_one_out(data);
    const seqrec::sequence::SelfAttentionConfig sa{/*maxlen=*/200, /*blocks=*/2, /*heads=*/1, /*dropout=*/0.2, 0};
    seqrec::RecommenderConfig cfg;  // d 50, batch 128, Adam 1e-3
    seqrec::SequentialRecommender<Encoder> model(
        space, data.num_items(), cfg, /*seed=*/1,
        [&](const Space& s, auto& p, seqrec::index_t dim) { return Encoder(s, p, dim, sa); });

    // Training: shuffled users, left-padded windows, one sampled negative per position.
    d::SequenceBatcher<Space> batcher(
        space, split.train_sequences,
        d::UniformNegativeSampler<Space>(d::make_user_history(space, split.train_sequences)));
    d::EpochShuffler<Space> shuffler(space, d::EpochShuffler<Space>::trainable_users(split.train_sequences), 1);
    d::SequenceBatch<Space> batch(space, cfg.batch, sa.maxlen, 1);
    for (int e = 1; e <= epochs; ++e) {
      shuffler.shuffle(space, e);
      double loss = 0;
      for (seqrec::index_t b = 0; b < shuffler.num_batches(cfg.batch); ++b) {
        batcher.build(space, shuffler.batch(b, cfg.batch), batch, seqrec::RandomStream(1, (e << 16) + b));
        loss += model.train_step(space, batch, model.random().next()).value;
      }
      std::fprintf(stderr, "epoch %d loss %.4f\n", e, loss / double(shuffler.num_batches(cfg.batch)));
    }

    // Test: input = training items + the validation item; the test item against 100 negatives, and against all.
    const auto windows = d::Sequences::from(d::with_held_out(split, true));
    model.set_scoring_windows(space, windows);
    std::vector<seqrec::id_t> targets;
    for (auto u : split.evaluated_users) targets.push_back(split.test_item(u));
    const auto users = seqrec::eval::select_users(space, split.evaluated_users, targets);
    const auto cands = seqrec::eval::make_sampled_candidates(
        space, users, seqrec::eval::make_history(space, d::Sequences::from(data)));
    const auto sampled = seqrec::eval::SampledEvaluator<float, Space>(space, 101).evaluate(space, model, cands, {10});
    const auto full =
        seqrec::eval::evaluate_full(space, model, users, seqrec::eval::make_history(space, windows), 256, {10});
    std::printf(
        "{\"model\":\"sasrec\",\"epochs\":%d,\"test_hr10\":%.4f,\"test_ndcg10\":%.4f,\"full_test_hr10\":%.4f,"
        "\"full_test_ndcg10\":%.4f}\n",
        epochs, sampled.hr_at(10), sampled.ndcg_at(10), full.hr_at(10), full.ndcg_at(10));
  } catch (const seqrec::Error& e) {
    std::fprintf(stderr, "minimal-sasrec: %s\n", e.what());
    return 1;
  }
  return 0;
}
