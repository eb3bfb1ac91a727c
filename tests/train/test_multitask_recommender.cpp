// MultiTaskRecommender: SASRec with the next-item task and the next item's attributes on one encoder.
// Checks that a zero-weighted attribute task leaves SequentialRecommender's trajectory as it is, that the
// attribute loss falls in training, that every combinator reports finite weights per epoch, and that a NaN
// loss is a clear Errc::numeric error.
#include "support/backends.hpp"

#include <seqrec/data/batch.hpp>
#include <seqrec/data/negative_sampler.hpp>
#include <seqrec/data/split.hpp>
#include <seqrec/eval/full.hpp>
#include <seqrec/eval/sampled.hpp>
#include <seqrec/losses/bpr.hpp>
#include <seqrec/losses/registry.hpp>
#include <seqrec/multitask_recommender.hpp>
#include <seqrec/sequence/sasrec_encoder.hpp>
#include <seqrec/sequential_recommender.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

namespace {

using seqrec::id_t;
using seqrec::index_t;
namespace sl = seqrec::losses;

constexpr int kItems = 60, kBatch = 32;

// 200 users walk the item ring 1..60 one step at a time (the next item is the current one + 1); item i has
// attributes i % 6 and 6 + i % 4, so the next item's attributes follow from the current item.
seqrec::data::Interactions ring_walks() {
  seqrec::data::Interactions x;
  seqrec::RandomStream rs(17, 0);
  for (int u = 0; u < 200; ++u) {
    const int start = int(rs.below(2 * u, kItems)), len = 6 + int(rs.below(2 * u + 1, 6));
    for (int k = 0; k < len; ++k) {
      const auto uid = x.users.insert(u);
      const auto iid = x.items.insert(1 + (start + k) % kItems);
      x.push_back(uid, iid, 1.0f, k);
    }
  }
  x.sort_chronological();
  return x;
}

// Attributes by dense item id (the ring's original ids are remapped by the interactions' IdMap).
seqrec::data::ItemAttributes ring_attributes(const seqrec::data::Interactions& x) {
  seqrec::data::ItemAttributes a;
  for (int k = 0; k < 10; ++k) a.attributes.insert(k);
  a.offsets = {0, 0};  // padding item
  for (index_t i = 1; i <= x.num_items(); ++i) {
    const auto original = x.items.original(id_t(i));
    a.values.push_back(id_t(original % 6));
    a.values.push_back(id_t(6 + original % 4));
    a.offsets.push_back(index_t(a.values.size()));
  }
  return a;
}

template <class T, class Space>
struct Setup {
  Space space;
  seqrec::data::Interactions x = ring_walks();
  seqrec::data::ItemAttributes attributes = ring_attributes(x);
  seqrec::data::Split split = seqrec::data::leave_one_out(x);
  seqrec::data::UserHistory<Space> history = seqrec::data::make_user_history(space, split.train_sequences);
  seqrec::data::SequenceBatcher<Space> batcher{space, split.train_sequences,
                                               seqrec::data::UniformNegativeSampler<Space>(history)};
  seqrec::data::EpochShuffler<Space> shuffler{
      space, seqrec::data::EpochShuffler<Space>::trainable_users(split.train_sequences), 5};
  seqrec::data::SequenceBatch<Space> batch{space, kBatch, 10, 1};
  seqrec::RecommenderConfig cfg;
  seqrec::sequence::SelfAttentionConfig sa;

  Setup() {
    cfg.dim = 16;
    cfg.batch = kBatch;
    cfg.adam.lr = 0.01;
    sa.maxlen = 10;
    sa.blocks = 1;
    sa.dropout = 0.1;
  }
  auto make_encoder() const {
    return [sa = sa](const Space& s, auto& params, index_t dim) {
      return seqrec::sequence::SelfAttentionEncoder<T, Space>(s, params, dim, sa);
    };
  }

  // Trains `epochs` epochs; per step the returned loss; `on_epoch(model)` after each epoch.
  template <class Model, class OnEpoch>
  std::vector<double> train(Model& model, int epochs, OnEpoch&& on_epoch) {
    std::vector<double> losses;
    for (int e = 0; e < epochs; ++e) {
      shuffler.shuffle(space, e);
      for (index_t b = 0; b < shuffler.num_batches(kBatch); ++b) {
        batcher.build(space, shuffler.batch(b, kBatch), batch, seqrec::RandomStream(7, e * 1000 + b));
        losses.push_back(model.train_step(space, batch, model.random().next()).value);
      }
      on_epoch(model);
    }
    return losses;
  }

  // A fixed batch (the first users, fixed negatives) to measure task losses on.
  void probe_batch() {
    shuffler.shuffle(space, 999);
    batcher.build(space, shuffler.batch(0, kBatch), batch, seqrec::RandomStream(8, 0));
  }
};

template <class Space, class T>
std::vector<T> host_copy(const seqrec::View1<T, Space>& v) {
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), v);
  return std::vector<T>(h.data(), h.data() + h.size());
}

}  // namespace

TEMPLATE_TEST_CASE("multi-task recommender: a zero-weighted attribute task keeps SASRec's trajectory",
                   "[train][multitask][recommender]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  using Encoder = seqrec::sequence::SelfAttentionEncoder<T, Space>;
  Setup<T, Space> s;
  seqrec::SequentialRecommender<Encoder> plain(s.space, s.x.num_items(), s.cfg, 11, s.make_encoder());
  seqrec::MultiTaskRecommender<Encoder, sl::Weighted<2>> multi(s.space, s.x.num_items(), s.cfg, 11, s.attributes,
                                                               sl::Weighted<2>({1.0, 0.0}), s.make_encoder());
  const auto a = s.train(plain, 3, [](auto&) {});
  const auto b = s.train(multi, 3, [](auto& m) { m.end_epoch(); });
  REQUIRE(a.size() == b.size());
  // Serial: bit for bit. Threaded backends add embedding gradients atomically: the last bits may differ.
  const double tol = std::is_same_v<Space, Kokkos::Serial> ? 0.0 : (sizeof(T) == 4 ? 1e-3 : 1e-8);
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(b[i] == Approx(a[i]).epsilon(tol).margin(tol));
  CHECK(multi.last_task_losses()[1] > 0);  // the attribute task ran; it only had no weight

  // The same next-item parameters (the attribute head's come last) and the same scores.
  auto pa = plain.parameters().begin();
  for (const auto& p : multi.parameters()) {
    if (p.name().rfind("attributes", 0) == 0) continue;
    REQUIRE(pa != plain.parameters().end());
    CHECK(p.name() == pa->name());
    const auto va = host_copy<Space>(pa->value()), vb = host_copy<Space>(p.value());
    REQUIRE(va.size() == vb.size());
    double worst = 0;
    for (std::size_t i = 0; i < va.size(); ++i) worst = std::max(worst, std::abs(double(va[i]) - double(vb[i])));
    INFO(p.name());
    CHECK(worst <= (tol == 0 ? 0.0 : 10 * tol));
    ++pa;
  }
  CHECK(pa == plain.parameters().end());

  plain.set_scoring_windows(s.space, s.split.train_sequences, 64);
  multi.set_scoring_windows(s.space, s.split.train_sequences, 64);
  auto users = seqrec::test::from_vector<Space, seqrec::id_t>({0, 3, 7, 11});
  seqrec::View2<T, Space> sa("sa", 4, s.x.num_items() + 1), sb("sb", 4, s.x.num_items() + 1);
  plain.score_all(s.space, users, sa);
  multi.score_all(s.space, users, sb);
  auto ha = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), sa);
  auto hb = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), sb);
  for (int u = 0; u < 4; ++u)
    for (index_t i = 1; i <= s.x.num_items(); ++i)
      CHECK(hb(u, i) == Approx(ha(u, i)).epsilon(10 * tol).margin(10 * tol));
}

TEMPLATE_TEST_CASE("multi-task model: head, next-item loss and optimizer are policies",
                   "[train][multitask][recommender]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  using Encoder = seqrec::sequence::SelfAttentionEncoder<T, Space>;
  using Head = seqrec::heads::DotProduct<T, Space>;
  using Attr = seqrec::heads::AttributeTask<T, Space>;
  constexpr index_t negatives = 8;
  Setup<T, Space> s;
  s.cfg.negatives = negatives;
  s.batch = seqrec::data::SequenceBatch<Space>(s.space, kBatch, 10, negatives);

  // BPR-max with its regulariser, and the attribute task at weight 0: the plain model's trajectory.
  using BprMax = sl::BprMax<T, Space>;
  seqrec::SequentialRecommender<Encoder, Head, BprMax> plain(s.space, s.x.num_items(), s.cfg, 11, s.make_encoder(),
                                                             {.loss = BprMax(T(0.5))});
  seqrec::MultiTaskModel<Encoder, sl::Weighted<2>, std::tuple<Attr>, Head, BprMax> multi(
      s.space, s.x.num_items(), s.cfg, 11, s.attributes, sl::Weighted<2>({1.0, 0.0}), s.make_encoder(),
      {.loss = BprMax(T(0.5))});
  const auto a = s.train(plain, 2, [](auto&) {});
  const auto b = s.train(multi, 2, [](auto& m) { m.end_epoch(); });
  REQUIRE(a.size() == b.size());
  const double tol = std::is_same_v<Space, Kokkos::Serial> ? 0.0 : (sizeof(T) == 4 ? 1e-3 : 1e-8);
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(b[i] == Approx(a[i]).epsilon(tol).margin(tol));
  // A different regulariser is a different objective: the policy instance is the one used.
  seqrec::MultiTaskModel<Encoder, sl::Weighted<2>, std::tuple<Attr>, Head, BprMax> other(
      s.space, s.x.num_items(), s.cfg, 11, s.attributes, sl::Weighted<2>({1.0, 0.0}), s.make_encoder(),
      {.loss = BprMax(T(2))});
  const auto c = s.train(other, 1, [](auto& m) { m.end_epoch(); });
  CHECK(c.front() != a.front());

  // Chosen at run time: sampled softmax learns the next item beside the attributes.
  using Runtime = sl::RuntimeLoss<T, Space>;
  using Model = seqrec::MultiTaskModel<Encoder, sl::UncertaintyWeighting<2>, std::tuple<Attr>, Head, Runtime>;
  sl::LossOptions<T, Space> lo;
  lo.negatives = negatives;
  lo.num_items = s.x.num_items();
  Model ssm(s.space, s.x.num_items(), s.cfg, 3, s.attributes, sl::UncertaintyWeighting<2>(), s.make_encoder(),
            {.loss = Runtime::make("sampled-softmax", lo)});
  CHECK(ssm.loss().name() == "sampled-softmax");
  s.probe_batch();
  const auto first = ssm.evaluate_losses(s.space, s.batch);
  s.train(ssm, 5, [](auto& m) { m.end_epoch(); });
  s.probe_batch();
  const auto last = ssm.evaluate_losses(s.space, s.batch);
  INFO("sampled softmax " << first[0] << " -> " << last[0] << ", attributes " << first[1] << " -> " << last[1]);
  CHECK(first[0] > 0.8 * std::log(double(1 + negatives)));  // near uniform over target + negatives at the start
  CHECK(last[0] < 0.5 * first[0]);
  CHECK(last[1] < 0.6 * first[1]);

  // The whole-catalogue softmax is refused by name (the combinator weights the sampled candidates' gradient).
  try {
    Model ce(s.space, s.x.num_items(), s.cfg, 3, s.attributes, sl::UncertaintyWeighting<2>(), s.make_encoder(),
             {.loss = Runtime::make("ce", lo)});
    FAIL("a catalogue loss was accepted");
  } catch (const seqrec::Error& e) {
    CHECK_THAT(e.what(), Catch::Contains("ce is a catalogue loss"));
  }
}

TEMPLATE_TEST_CASE("multi-task recommender: the attribute loss falls and every combinator logs its weights",
                   "[train][multitask][recommender]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  using Encoder = seqrec::sequence::SelfAttentionEncoder<T, Space>;
  using Model = seqrec::MultiTaskRecommender<Encoder, seqrec::RuntimeCombinator<2>>;
  for (const std::string name : {"sum", "weighted", "uncertainty", "gradnorm", "dwa"}) {
    Setup<T, Space> s;
    const auto combinator =
        seqrec::RuntimeCombinator<2>::make(name, name == "weighted" ? std::vector{1.0, 0.5} : std::vector<double>{});
    Model model(s.space, s.x.num_items(), s.cfg, 3, s.attributes, combinator, s.make_encoder());
    CHECK(model.combinator_name() == name);
    s.probe_batch();
    const auto first = model.evaluate_losses(s.space, s.batch);
    std::vector<sl::TaskValues<2>> weights, means;
    s.train(model, 6, [&](auto& m) {
      means.push_back(m.end_epoch());
      weights.push_back(m.task_weights());
    });
    s.probe_batch();
    const auto last = model.evaluate_losses(s.space, s.batch);
    INFO(name << ": next item " << first[0] << " -> " << last[0] << ", attributes " << first[1] << " -> " << last[1]
              << "; final weights " << weights.back()[0] << ", " << weights.back()[1]);
    CHECK(last[0] < 0.8 * first[0]);
    CHECK(last[1] < 0.6 * first[1]);
    CHECK(last[1] < 0.49);  // below the base rates' BCE (2 of 10 attributes: 0.500): it predicts per item
    CHECK(means.back()[1] < means.front()[1]);
    for (const auto& w : weights)
      for (double v : w) CHECK((std::isfinite(v) && v > 0));
    if (name == "sum") CHECK(weights.back() == sl::TaskValues<2>{1.0, 1.0});
    if (name == "weighted") CHECK(weights.back() == sl::TaskValues<2>{1.0, 0.5});
    if (name == "uncertainty" || name == "gradnorm" || name == "dwa")
      CHECK(weights.back() != sl::TaskValues<2>{1.0, 1.0});
    if (name == "gradnorm" || name == "dwa") CHECK(weights.back()[0] + weights.back()[1] == Approx(2.0));
  }
}

TEMPLATE_TEST_CASE("multi-task recommender: evaluators take it; NaN and misaligned attributes are clear errors",
                   "[train][multitask][recommender]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  using Encoder = seqrec::sequence::SelfAttentionEncoder<T, Space>;
  using Model = seqrec::MultiTaskRecommender<Encoder, sl::UncertaintyWeighting<2>>;
  Setup<T, Space> s;
  Model model(s.space, s.x.num_items(), s.cfg, 5, s.attributes, sl::UncertaintyWeighting<2>(0.05), s.make_encoder());
  static_assert(seqrec::eval::Scorer<Model, Space, T>);
  static_assert(seqrec::eval::FullScorer<Model, Space, T>);
  s.train(model, 2, [](auto& m) { m.end_epoch(); });

  // Sampled and full-ranking evaluation run on it as on SequentialRecommender.
  model.set_scoring_windows(s.space, s.split.train_sequences, 64);
  std::vector<seqrec::id_t> targets;
  for (auto u : s.split.evaluated_users) targets.push_back(s.split.valid_item(u));
  auto users = seqrec::eval::select_users(s.space, s.split.evaluated_users, targets);
  const auto full_history = seqrec::eval::make_history(s.space, seqrec::data::Sequences::from(s.x));
  seqrec::eval::SampledOptions opt;
  opt.num_negatives = 20;
  const auto cands = seqrec::eval::make_sampled_candidates(s.space, users, full_history, opt);
  seqrec::eval::SampledEvaluator<T, Space> ev(s.space, 21, 64);
  const auto m = ev.evaluate(s.space, model, cands, {10});
  CHECK((m.ndcg_at(10) > 0 && m.ndcg_at(10) <= 1));
  const auto f = seqrec::eval::evaluate_full(s.space, model, users,
                                             seqrec::eval::make_history(s.space, s.split.train_sequences), 64, {10});
  CHECK((f.ndcg_at(10) >= 0 && f.ndcg_at(10) <= 1));

  // A NaN in the item table makes both losses NaN: Errc::numeric, not a silent step.
  const auto& items = *std::find_if(model.parameters().begin(), model.parameters().end(),
                                    [](const auto& p) { return p.name() == "items"; });
  Kokkos::deep_copy(items.value(), std::numeric_limits<T>::quiet_NaN());
  s.probe_batch();
  try {
    model.train_step(s.space, s.batch, model.random().next());
    FAIL("no error on a NaN loss");
  } catch (const seqrec::Error& e) {
    CHECK(e.code() == seqrec::Errc::numeric);
  }

  // Attributes read against other interactions (fewer items) are refused up front.
  auto short_attributes = s.attributes;
  short_attributes.offsets.pop_back();
  short_attributes.values.resize(std::size_t(short_attributes.offsets.back()));
  CHECK_THROWS_AS(
      Model(s.space, s.x.num_items(), s.cfg, 5, short_attributes, sl::UncertaintyWeighting<2>(), s.make_encoder()),
      seqrec::Error);
}

TEMPLATE_TEST_CASE("multi-task recommender: a checkpoint keeps the combinator's state",
                   "[train][multitask][recommender]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  using Encoder = seqrec::sequence::SelfAttentionEncoder<T, Space>;
  using Model = seqrec::MultiTaskRecommender<Encoder, seqrec::RuntimeCombinator<2>>;
  const auto path = std::filesystem::temp_directory_path() / "seqrec_test_multitask_combinator.ckpt";
  for (const std::string name : {"uncertainty", "gradnorm", "dwa", "weighted", "sum"}) {
    INFO(name);
    Setup<T, Space> s;
    const auto make = [&] { return seqrec::RuntimeCombinator<2>::make(name); };
    Model model(s.space, s.x.num_items(), s.cfg, 3, s.attributes, make(), s.make_encoder());
    s.train(model, 3, [](auto& m) { m.end_epoch(); });
    model.save(path, 3);
    const auto saved = model.combinator().state();
    if (name == "uncertainty" || name == "gradnorm" || name == "dwa")
      CHECK(model.task_weights() != sl::TaskValues<2>{1.0, 1.0});

    Model again(s.space, s.x.num_items(), s.cfg, 99, s.attributes, make(), s.make_encoder());
    CHECK(again.load(path) == 3);
    CHECK(again.task_weights() == model.task_weights());
    CHECK(again.combinator().state() == saved);
    // Both continue identically (Serial: bit for bit; threaded backends add gradients atomically).
    const double tol = std::is_same_v<Space, Kokkos::Serial> ? 0.0 : (sizeof(T) == 4 ? 1e-3 : 1e-8);
    const auto a = s.train(model, 1, [](auto& m) { m.end_epoch(); });
    const auto b = s.train(again, 1, [](auto& m) { m.end_epoch(); });
    for (std::size_t i = 0; i < a.size(); ++i) CHECK(b[i] == Approx(a[i]).epsilon(tol).margin(tol));
    for (int k = 0; k < 2; ++k) CHECK(again.task_weights()[k] == Approx(model.task_weights()[k]).epsilon(tol + 1e-12));

    // Another combinator, or a damaged state file, is a clear error.
    const std::string other = name == "sum" ? "dwa" : "sum";
    Model wrong(s.space, s.x.num_items(), s.cfg, 3, s.attributes, seqrec::RuntimeCombinator<2>::make(other),
                s.make_encoder());
    CHECK_THROWS_WITH(wrong.load(path), Catch::Contains("trained with combinator " + name));
    {
      std::ofstream out(Model::combinator_path(path));
      out << "seqrec-combinator 1\n" << name << "\n" << saved.size() + 1 << "\n1\n";
    }
    CHECK_THROWS_AS(again.load(path), seqrec::Error);
    std::filesystem::remove(Model::combinator_path(path));
    CHECK_THROWS_WITH(again.load(path), Catch::Contains("cannot read the combinator state"));
    std::filesystem::remove(path);
  }
}

TEMPLATE_TEST_CASE("multi-task recommender: the next item's rating as a regression task",
                   "[train][multitask][recommender]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  using Encoder = seqrec::sequence::SelfAttentionEncoder<T, Space>;
  using Rating = seqrec::heads::RatingTask<T, Space>;
  using Model = seqrec::MultiTaskRecommender<Encoder, sl::Sum<2>, Rating>;
  Setup<T, Space> s;
  // Ratings that follow the item: 1 + original id % 5.
  for (std::size_t k = 0; k < s.x.item.size(); ++k) s.x.weight[k] = float(1 + s.x.items.original(s.x.item[k]) % 5);
  s.split = seqrec::data::leave_one_out(s.x);
  Model model(s.space, s.x.num_items(), s.cfg, 3, s.split.train_sequences, sl::Sum<2>(), s.make_encoder());
  CHECK(std::string(Model::task_names[1]) == "rating");
  CHECK(model.aux().mean_rating() > 1);
  s.probe_batch();
  const auto first = model.evaluate_losses(s.space, s.batch);
  // Each row's rating is its target's.
  auto tg = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), s.batch.targets);
  auto rr = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), model.aux().row_ratings());
  int rated = 0;
  for (index_t b = 0; b < kBatch; ++b)
    for (index_t t = 0; t < 10; ++t) {
      const auto target = tg(b, t);
      if (target == 0) {
        CHECK(std::isnan(double(rr(b * 10 + t))));
        continue;
      }
      CHECK(rr(b * 10 + t) == T(1 + s.x.items.original(target) % 5));
      ++rated;
    }
  CHECK(rated > 100);
  s.train(model, 8, [](auto& m) { m.end_epoch(); });
  s.probe_batch();
  const auto last = model.evaluate_losses(s.space, s.batch);
  INFO("next item " << first[0] << " -> " << last[0] << ", rating MSE " << first[1] << " -> " << last[1]);
  CHECK(last[0] < 0.8 * first[0]);
  CHECK(last[1] < 0.5 * first[1]);
  CHECK(last[1] < 1.0);  // below the ratings' variance (2): it predicts per item
}

TEST_CASE("run-time combinator: uncertainty weighting scales a regression task by 1/(2σ²)", "[train][multitask]") {
  using RC = seqrec::RuntimeCombinator<2>;
  constexpr std::array kinds{sl::TaskKind::classification, sl::TaskKind::regression};
  CHECK(RC::make("uncertainty").weights() == sl::TaskValues<2>{1.0, 1.0});
  CHECK(RC::make("uncertainty", {}, kinds).weights() == sl::TaskValues<2>{1.0, 0.5});
  // The other combinators have no notion of task kind.
  CHECK(RC::make("sum", {}, kinds).weights() == sl::TaskValues<2>{1.0, 1.0});
  CHECK(RC::make("weighted", {2.0, 3.0}, kinds).weights() == sl::TaskValues<2>{2.0, 3.0});
  CHECK_THROWS_WITH(RC::make("softmax"), Catch::Contains("unknown combinator 'softmax'"));
}

TEMPLATE_TEST_CASE("multi-task recommender: joint item-item and user-user tasks", "[train][multitask][recommender]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  using Encoder = seqrec::sequence::SelfAttentionEncoder<T, Space>;
  using ItemItem = seqrec::heads::ItemItemTask<T, Space>;
  using UserUser = seqrec::heads::UserUserTask<T, Space>;
  using Model = seqrec::MultiTaskRecommender<Encoder, seqrec::RuntimeCombinator<3>, ItemItem, UserUser>;
  static_assert(Model::num_tasks == 3);
  CHECK(std::string(Model::task_names[1]) == "item_item");
  CHECK(std::string(Model::task_names[2]) == "user_user");
  Setup<T, Space> s;
  const typename Model::aux_data_type data{typename ItemItem::Options{2, 3}, s.split.train_sequences};

  // Zero weights on both: the next-item trajectory of plain SASRec with the same seed.
  {
    seqrec::SequentialRecommender<Encoder> plain(s.space, s.x.num_items(), s.cfg, 11, s.make_encoder());
    Model multi(s.space, s.x.num_items(), s.cfg, 11, data, seqrec::RuntimeCombinator<3>::make("weighted", {1, 0, 0}),
                s.make_encoder());
    const auto a = s.train(plain, 2, [](auto&) {});
    const auto b = s.train(multi, 2, [](auto& m) { m.end_epoch(); });
    REQUIRE(a.size() == b.size());
    const double tol = std::is_same_v<Space, Kokkos::Serial> ? 0.0 : (sizeof(T) == 4 ? 1e-3 : 1e-8);
    for (std::size_t i = 0; i < a.size(); ++i) CHECK(b[i] == Approx(a[i]).epsilon(tol).margin(tol));
    CHECK(multi.last_task_losses()[1] > 0);
    CHECK(multi.last_task_losses()[2] > 0);
  }

  // Summed: every task's loss falls. The ring's neighbours co-occur, and users on overlapping arcs share items.
  Model model(s.space, s.x.num_items(), s.cfg, 3, data, seqrec::RuntimeCombinator<3>::make("sum"), s.make_encoder());
  s.probe_batch();
  const auto first = model.evaluate_losses(s.space, s.batch);
  CHECK(model.template task<1>().last_positives() > kBatch / 2);
  std::vector<sl::TaskValues<3>> means;
  s.train(model, 8, [&](auto& m) { means.push_back(m.end_epoch()); });
  s.probe_batch();
  const auto last = model.evaluate_losses(s.space, s.batch);
  INFO("next item " << first[0] << " -> " << last[0] << ", item-item " << first[1] << " -> " << last[1]
                    << ", user-user " << first[2] << " -> " << last[2]);
  CHECK(last[0] < 0.8 * first[0]);
  CHECK(last[1] < 0.95 * first[1]);
  CHECK(last[2] < 0.5 * first[2]);
  CHECK(means.back()[2] < means.front()[2]);
  // The same training without weight on the joint tasks leaves their losses higher: it is the tasks that fit them.
  Model zero(s.space, s.x.num_items(), s.cfg, 3, data, seqrec::RuntimeCombinator<3>::make("weighted", {1, 0, 0}),
             s.make_encoder());
  s.train(zero, 8, [&](auto& m) { m.end_epoch(); });
  s.probe_batch();
  const auto unweighted = zero.evaluate_losses(s.space, s.batch);
  INFO("without weight: item-item " << unweighted[1] << ", user-user " << unweighted[2]);
  CHECK(last[1] < unweighted[1] - 0.1);
  CHECK(last[2] < unweighted[2] - 0.3);

  // GradNorm balances gradients on the hidden states; the item-item task has none.
  CHECK_THROWS_WITH(
      Model(s.space, s.x.num_items(), s.cfg, 3, data, seqrec::RuntimeCombinator<3>::make("gradnorm"), s.make_encoder()),
      Catch::Contains("item-item task has none"));
}
