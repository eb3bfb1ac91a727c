// The smallest whole experiment: SASRec on MovieLens-100K (leave-one-out), trained by the library's Trainer for a
// few epochs (early stopping on validation NDCG@10, best weights kept), then HR/NDCG@10 on the sampled protocol
// (100 negatives) and on full ranking. One model type, so it compiles in well under a minute (README: compile
// times).
//
//   build/bin/minimal-sasrec [epochs]
#include <seqrec/data/dataset_path.hpp>
#include <seqrec/data/readers.hpp>
#include <seqrec/data/split.hpp>
#include <seqrec/sequence/sasrec_encoder.hpp>
#include <seqrec/sequential_recommender.hpp>
#include <seqrec/train/trainer.hpp>

#include <cstdio>
#include <cstdlib>
#include <iostream>

int main(int argc, char* argv[]) {
  Kokkos::ScopeGuard guard(argc, argv);
  using Space = Kokkos::DefaultExecutionSpace;
  using Encoder = seqrec::sequence::SelfAttentionEncoder<float, Space>;
  using Model = seqrec::SequentialRecommender<Encoder>;
  namespace d = seqrec::data;
  const int epochs = argc > 1 ? std::atoi(argv[1]) : 20;
  try {
    Space space;
    const auto split = d::leave_one_out(d::read(d::data_file("ml-100k/u.data"), d::Format::ml100k));
    const seqrec::sequence::SelfAttentionConfig sa{/*maxlen=*/200, /*blocks=*/2, /*heads=*/1, /*dropout=*/0.2, 0};
    seqrec::RecommenderConfig cfg;  // d 50, batch 128, one negative per position, Adam 1e-3
    Model model(space, split.train.num_items(), cfg, /*seed=*/1,
                [&](const Space& s, auto& p, seqrec::index_t dim) { return Encoder(s, p, dim, sa); });

    // Training: shuffled users, left-padded windows, sampled negatives; a JSON line per epoch on stderr.
    seqrec::train::TrainerOptions opt;
    opt.epochs = epochs;
    seqrec::train::TrainerHooks hooks;
    hooks.on_epoch = seqrec::train::JsonLines(std::cerr);
    seqrec::train::Trainer<Model> trainer(space, split, opt, hooks);
    const auto fit = trainer.fit(model);

    // Test: input = training items + the validation item; the test item against 100 negatives, and against all.
    const auto test = trainer.evaluate(model, seqrec::eval::Part::test, seqrec::eval::Protocol::both);
    std::printf(
        "{\"model\":\"sasrec\",\"epochs\":%d,\"best_epoch\":%d,\"test_hr10\":%.4f,\"test_ndcg10\":%.4f,"
        "\"full_test_hr10\":%.4f,\"full_test_ndcg10\":%.4f}\n",
        fit.epochs, fit.best_epoch, test.sampled->hr_at(10), test.sampled->ndcg_at(10), test.full->hr_at(10),
        test.full->ndcg_at(10));
  } catch (const seqrec::Error& e) {
    std::fprintf(stderr, "minimal-sasrec: %s\n", e.what());
    return 1;
  }
  return 0;
}
