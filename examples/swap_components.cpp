// Swapping the sequence model is one template argument: the same experiment (build, fit with early stopping,
// evaluate on both protocols, print) runs SASRec's self-attention, a GRU (GRU4Rec-style) and an LSTM on
// MovieLens-100K, leave-one-out. `experiment` is the part to copy.
//
//   build/bin/swap-components [epochs]
#include <seqrec/data/dataset_path.hpp>
#include <seqrec/data/readers.hpp>
#include <seqrec/data/split.hpp>
#include <seqrec/sequence/gru.hpp>
#include <seqrec/sequence/lstm.hpp>
#include <seqrec/sequence/recurrent_encoder.hpp>
#include <seqrec/sequence/sasrec_encoder.hpp>
#include <seqrec/sequential_recommender.hpp>
#include <seqrec/train/trainer.hpp>

#include <cstdio>
#include <cstdlib>

using Space = Kokkos::DefaultExecutionSpace;
using T = float;
namespace sq = seqrec::sequence;

// One whole experiment, for any encoder: `make(space, params, dim)` builds it inside the model.
template <class Encoder, class Make>
void experiment(const char* name, const seqrec::data::Split& split, int epochs, Make&& make) {
  Space space;
  seqrec::RecommenderConfig cfg;  // d 50, batch 128, one negative per position, Adam 1e-3
  cfg.dim = 64;
  using Model = seqrec::SequentialRecommender<Encoder>;
  Model model(space, split.train.num_items(), cfg, /*seed=*/1, make);
  seqrec::train::TrainerOptions opt;  // validation: sampled NDCG@10, 100 negatives
  opt.epochs = epochs;
  opt.patience = 5;
  seqrec::train::Trainer<Model> trainer(space, split, opt);
  const auto fit = trainer.fit(model);  // leaves the best validation epoch's weights in the model
  const auto test = trainer.evaluate(model, seqrec::eval::Part::test);  // sampled and full ranking
  std::printf(
      "{\"model\":\"%s\",\"epochs\":%d,\"best_epoch\":%d,\"seconds_per_epoch\":%.2f,\"test_hr10\":%.4f,"
      "\"test_ndcg10\":%.4f,\"test_mrr\":%.4f,\"full_test_hr10\":%.4f,\"full_test_ndcg10\":%.4f}\n",
      name, fit.epochs, fit.best_epoch, fit.seconds_per_epoch(), test.sampled->hr_at(10), test.sampled->ndcg_at(10),
      test.sampled->mrr, test.full->hr_at(10), test.full->ndcg_at(10));
}

int main(int argc, char* argv[]) {
  Kokkos::ScopeGuard guard(argc, argv);
  const int epochs = argc > 1 ? std::atoi(argv[1]) : 20;
  try {
    namespace d = seqrec::data;
    const auto split = d::leave_one_out(d::read(d::data_file("ml-100k/u.data"), d::Format::ml100k));
    const sq::SelfAttentionConfig sa{/*maxlen=*/200, /*blocks=*/2, /*heads=*/1, /*dropout=*/0.2, 0};
    const sq::RecurrentConfig rc{/*maxlen=*/200, /*layers=*/1, /*dropout=*/0.2};
    using Sasrec = sq::SelfAttentionEncoder<T, Space>;
    using Gru = sq::RecurrentEncoder<sq::Gru<T, Space>>;
    using Lstm = sq::RecurrentEncoder<sq::Lstm<T, Space>>;
    experiment<Sasrec>("sasrec", split, epochs,
                       [&](const Space& s, auto& p, auto dim) { return Sasrec(s, p, dim, sa); });
    experiment<Gru>("gru", split, epochs, [&](const Space& s, auto& p, auto dim) { return Gru(s, p, dim, rc); });
    experiment<Lstm>("lstm", split, epochs, [&](const Space& s, auto& p, auto dim) { return Lstm(s, p, dim, rc); });
  } catch (const seqrec::Error& e) {
    std::fprintf(stderr, "swap-components: %s\n", e.what());
    return 1;
  }
  return 0;
}
