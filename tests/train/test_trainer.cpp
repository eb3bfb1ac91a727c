#include "support/backends.hpp"

#include <seqrec/data/split.hpp>
#include <seqrec/sequence/sasrec_encoder.hpp>
#include <seqrec/sequential_recommender.hpp>
#include <seqrec/train/trainer.hpp>

#include <catch2/catch.hpp>

#include <unistd.h>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

using Catch::Matchers::Contains;
namespace train = seqrec::train;

namespace {

// 60 users on a ring of 80 items, 6..10 interactions each: every user is validated and tested.
seqrec::data::Split ring_split() {
  seqrec::data::Interactions x;
  for (int u = 0; u < 60; ++u)
    for (int k = 0; k < 6 + u % 5; ++k) x.push_back(x.users.insert(u), x.items.insert(1 + (3 * u + k) % 80), 1.0f, k);
  x.sort_chronological();
  return seqrec::data::leave_one_out(x);
}

template <class T, class Space>
using Model = seqrec::SequentialRecommender<seqrec::sequence::SelfAttentionEncoder<T, Space>>;

template <class T, class Space>
Model<T, Space> make_model(const Space& space, seqrec::index_t num_items, std::uint64_t seed,
                           seqrec::index_t negatives = 1) {
  seqrec::RecommenderConfig cfg;
  cfg.dim = 8;
  cfg.batch = 16;
  cfg.negatives = negatives;
  seqrec::sequence::SelfAttentionConfig sa;
  sa.maxlen = 8;
  sa.blocks = 1;
  sa.dropout = 0.3;
  return Model<T, Space>(space, num_items, cfg, seed, [&](const Space& s, auto& p, seqrec::index_t d) {
    return seqrec::sequence::SelfAttentionEncoder<T, Space>(s, p, d, sa);
  });
}

train::TrainerOptions small_options() {
  train::TrainerOptions o;
  o.epochs = 10;
  o.patience = 10;
  o.seed = 7;
  o.eval.negatives = 20;  // the catalogue has 80 items
  return o;
}

template <class M>
std::vector<std::vector<double>> host_parameters(const M& model) {
  std::vector<std::vector<double>> out;
  for (const auto& p : model.parameters()) {
    auto h = seqrec::to_host(p.value());
    out.emplace_back(h.data(), h.data() + h.size());
  }
  return out;
}

std::filesystem::path temp_path(const std::string& name) {
  return std::filesystem::temp_directory_path() / ("seqrec_test_" + std::to_string(::getpid()) + "_" + name);
}
void remove_checkpoint(const std::filesystem::path& p) {
  for (const char* suffix : {"", ".best", ".trainer"}) std::filesystem::remove(p.string() + suffix);
}

}  // namespace

TEMPLATE_TEST_CASE("Trainer stops after `patience` epochs without gain and restores the best weights",
                   "[train][trainer]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  const auto split = ring_split();
  auto model = make_model<T>(space, split.train.num_items(), 3);
  auto o = small_options();
  o.patience = 2;
  o.min_delta = 2;  // no NDCG gains by 2: epoch 1 stays the best, whatever the backend's rounding
  std::vector<int> epochs;
  std::vector<std::vector<double>> best, last;
  train::TrainerHooks hooks;
  hooks.on_epoch = [&](const train::EpochRecord& r) {
    epochs.push_back(r.epoch);
    CHECK(r.validated);
    CHECK(std::isfinite(r.loss));
    CHECK(r.seconds >= 0);
    CHECK(r.best_epoch == 1);
    CHECK(r.improved == (r.epoch == 1));
    if (r.improved) best = host_parameters(model);
    last = host_parameters(model);
  };
  train::Trainer<Model<T, Space>> trainer(space, split, o, hooks);
  const auto fit = trainer.fit(model);
  CHECK(fit.stopped == train::StopReason::patience);
  CHECK(fit.epochs == 3);
  CHECK(fit.epochs_trained == 3);
  CHECK(fit.best_epoch == 1);
  CHECK(epochs == std::vector<int>{1, 2, 3});  // once per epoch, in order
  CHECK(fit.best_value == fit.best_valid.ndcg_at(10));
  CHECK(fit.best_valid.count == seqrec::index_t(split.evaluated_users.size()));
  // The model holds epoch 1's weights again, not epoch 3's.
  const auto now = host_parameters(model);
  REQUIRE(now.size() == best.size());
  for (std::size_t i = 0; i < now.size(); ++i) CHECK(now[i] == best[i]);
  CHECK(last != best);

  // Both protocols on the test items, every evaluated user.
  const auto test = trainer.evaluate(model, seqrec::eval::Part::test);
  REQUIRE(test.sampled);
  REQUIRE(test.full);
  CHECK(test.sampled->count == seqrec::index_t(split.evaluated_users.size()));
  CHECK(test.full->count == test.sampled->count);
  CHECK(test.sampled->candidates == 21);
  CHECK(test.full->hr_at(10) <= test.sampled->hr_at(10));  // more competitors, never an easier rank
}

TEMPLATE_TEST_CASE("Trainer honours the time limit and stop requests", "[train][trainer]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  const auto split = ring_split();
  auto model = make_model<T>(space, split.train.num_items(), 3);
  {
    auto o = small_options();
    o.time_limit = 1e-9;
    train::Trainer<Model<T, Space>> trainer(space, split, o);
    const auto fit = trainer.fit(model);
    CHECK(fit.stopped == train::StopReason::time_limit);
    CHECK(fit.epochs == 1);
    CHECK(fit.best_epoch == 1);
  }
  {
    int polled = 0;
    train::TrainerHooks hooks;
    hooks.stop_requested = [&] { return ++polled == 2; };
    int progress = 0;
    hooks.on_batch = [&](const train::BatchProgress& p) {
      CHECK(p.batches == 4);  // 60 users, 16 per batch
      CHECK(p.batch_users == 16);
      ++progress;
    };
    std::ostringstream lines;
    hooks.on_epoch = train::JsonLines(lines);
    train::Trainer<Model<T, Space>> trainer(space, split, small_options(), hooks);
    const auto fit = trainer.fit(model);
    CHECK(fit.stopped == train::StopReason::requested);
    CHECK(fit.epochs == 2);
    CHECK(progress == 8);
    const auto text = lines.str();
    CHECK(std::count(text.begin(), text.end(), '\n') == 2);
    CHECK_THAT(text, Contains("\"epoch\":2") && Contains("\"valid_ndcg10\"") && Contains("\"valid_hr10\"") &&
                         Contains("\"loss\"") && Contains("\"eval_seconds\""));
  }
}

TEMPLATE_TEST_CASE("Trainer refuses bad options", "[train][trainer]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  using Tr = train::Trainer<Model<T, Space>>;
  Space space;
  const auto split = ring_split();
  auto bad = [&](auto edit) {
    auto o = small_options();
    edit(o);
    return seqrec::test::message_of([&] { Tr(space, split, o); });
  };
  CHECK_THAT(bad([](auto& o) { o.patience = 0; }), Contains("patience must be positive, got 0"));
  CHECK_THAT(bad([](auto& o) { o.patience = -3; }), Contains("patience must be positive, got -3"));
  CHECK_THAT(bad([](auto& o) { o.epochs = 0; }), Contains("epochs must be positive"));
  CHECK_THAT(bad([](auto& o) { o.eval_every = 0; }), Contains("eval_every must be positive"));
  CHECK_THAT(bad([](auto& o) { o.passes = 0; }), Contains("passes must be positive"));
  CHECK_THAT(bad([](auto& o) { o.time_limit = -1; }), Contains("time_limit must be >= 0"));
  CHECK_THAT(bad([](auto& o) { o.min_delta = -0.1; }), Contains("min_delta must be >= 0"));
  CHECK_THAT(bad([](auto& o) { o.metric.k = 0; }), Contains("cutoff must be positive"));
  CHECK_THAT(bad([](auto& o) { o.resume = true; }), Contains("resume needs a checkpoint path"));
  CHECK_THAT(bad([](auto& o) { o.eval.negatives = 100; }), Contains("fewer than 100 items outside their history"));
}

TEMPLATE_TEST_CASE("Trainer builds batches with the model's negatives per position", "[train][trainer]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  const auto split = ring_split();
  auto model = make_model<T>(space, split.train.num_items(), 3, /*negatives=*/4);
  auto o = small_options();
  o.epochs = 1;
  train::Trainer<Model<T, Space>> trainer(space, split, o);  // o.negatives (1) is for models that do not say
  const auto fit = trainer.fit(model);                       // the model checks each batch's shape
  CHECK(fit.epochs == 1);
  CHECK(model.candidates().extent(1) == 5);
}

TEMPLATE_TEST_CASE("Trainer resumed from a checkpoint on Serial ends bit-identical to an uninterrupted fit",
                   "[train][trainer]", (seqrec::test::On<Kokkos::Serial, float>),
                   (seqrec::test::On<Kokkos::Serial, double>)) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  const auto split = ring_split();
  // min_delta 2: the best epoch is 1, so the resumed fit must take the best weights from the checkpoint's
  // companion file; min_delta 0: whatever validation picks.
  for (double min_delta : {0.0, 2.0}) {
    INFO("min_delta " << min_delta);
    const auto straight_path = temp_path("trainer_straight.bin"), path = temp_path("trainer_resume.bin");
    auto o = small_options();
    o.epochs = 4;
    o.min_delta = min_delta;
    std::vector<std::vector<double>> at4_straight, at4_resumed;

    auto straight = make_model<T>(space, split.train.num_items(), 5);
    o.checkpoint = straight_path;  // written, as in the resumed run, so both do the same work
    train::TrainerHooks hooks;
    hooks.on_epoch = [&](const train::EpochRecord& r) {
      if (r.epoch == 4) at4_straight = host_parameters(straight);
    };
    const auto a = train::Trainer<Model<T, Space>>(space, split, o, hooks).fit(straight);

    auto first = make_model<T>(space, split.train.num_items(), 5);
    auto o2 = o;
    o2.epochs = 2;
    o2.checkpoint = path;
    const auto b1 = train::Trainer<Model<T, Space>>(space, split, o2).fit(first);
    CHECK(b1.epochs == 2);

    auto resumed = make_model<T>(space, split.train.num_items(), 6);  // another seed: all state from the file
    o2.epochs = 4;
    o2.resume = true;
    hooks.on_epoch = [&](const train::EpochRecord& r) {
      if (r.epoch == 4) at4_resumed = host_parameters(resumed);
    };
    const auto b = train::Trainer<Model<T, Space>>(space, split, o2, hooks).fit(resumed);
    CHECK(b.first_epoch == 3);
    CHECK(b.epochs == 4);
    CHECK(b.epochs_trained == 2);
    CHECK(b.best_epoch == a.best_epoch);
    CHECK(b.best_value == a.best_value);
    CHECK(b.best_valid.ndcg_at(10) == a.best_valid.ndcg_at(10));
    if (min_delta > 0) CHECK(a.best_epoch == 1);
    REQUIRE(!at4_straight.empty());
    CHECK(at4_resumed == at4_straight);  // training continued exactly
    const auto pa = host_parameters(straight), pb = host_parameters(resumed);
    REQUIRE(pa.size() == pb.size());
    for (std::size_t i = 0; i < pa.size(); ++i) CHECK(pa[i] == pb[i]);  // and the same best weights restored
    remove_checkpoint(straight_path);
    remove_checkpoint(path);
  }
}
