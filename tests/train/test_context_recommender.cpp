// ContextRecommender and ContextTable: the context rows a training step and a scoring call use are the
// table's rows of the predicted interactions; a context that decides the next item is learned (the plain
// model cannot do better than chance there); scores agree between score and score_all and survive a
// checkpoint; bad inputs are clear errors.
#include "support/backends.hpp"

#include <seqrec/context_recommender.hpp>
#include <seqrec/data/batch.hpp>
#include <seqrec/data/negative_sampler.hpp>
#include <seqrec/data/split.hpp>
#include <seqrec/losses/registry.hpp>
#include <seqrec/sequence/gru.hpp>
#include <seqrec/sequence/recurrent_encoder.hpp>
#include <seqrec/sequence/sasrec_encoder.hpp>
#include <seqrec/sequential_recommender.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <vector>

namespace {

using seqrec::index_t;
namespace sh = seqrec::heads;

constexpr int kUsers = 96, kBatch = 32, kLen = 8;

// Every user alternates a filler item (1..8, random) with a signal item, 11 + the weekday of the signal's
// time. Gaps are random (1 to 60 hours), so the history says nothing about the next signal item; only the
// context (weekday) does. Seven signal items: a user's history misses some, so they are sampled negatives.
constexpr int kSignals = 7;
seqrec::data::Interactions weekday_signals() {
  seqrec::data::Interactions x;
  x.has_time = true;
  seqrec::RandomStream rs(23, 0);
  for (int u = 0; u < kUsers; ++u) {
    std::int64_t t = 1'000'000 + 86400 * u;
    for (int k = 0; k < 10; ++k) {
      t += 3600 * (1 + std::int64_t(rs.below(std::uint64_t(u * 100 + k), 60)));
      const int item = k % 2 == 0 ? 1 + int(rs.below(std::uint64_t(u * 100 + 50 + k), 8))
                                  : 11 + int(seqrec::heads::context::weekday_of(t));
      x.push_back(x.users.insert(u), x.items.insert(item), 1.0f, t);
    }
  }
  x.sort_chronological();
  return x;
}

seqrec::data::UserInfo some_users(index_t n) {
  seqrec::data::UserInfo info;
  info.occupations = {"a", "b", "c"};
  for (index_t u = 0; u < n; ++u) {
    info.age.push_back(u % 3 == 0 ? -1 : std::int32_t(15 + 7 * (u % 8)));
    info.gender.push_back(u % 2 ? 'F' : 'M');
    info.occupation.push_back(seqrec::id_t(u % 4) - 1);
  }
  return info;
}

template <class Space>
sh::ContextTable<Space> table_of(const Space& space, const seqrec::data::Interactions& x, const char* what,
                                 const seqrec::data::UserInfo* users) {
  return sh::ContextTable<Space>::build(space, seqrec::data::Sequences::from(x), users,
                                        sh::ContextSchema::parse(what, users ? 3 : 0));
}

}  // namespace

TEMPLATE_TEST_CASE("context table: rows are the encoded contexts of each interaction", "[heads][context]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  Space space;
  const auto x = weekday_signals();
  const auto users = some_users(x.num_users());
  const auto full = seqrec::data::Sequences::from(x);
  const auto table = table_of(space, x, "time+user", &users);
  REQUIRE(table.num_fields() == 6);
  REQUIRE(table.num_users() == x.num_users());
  REQUIRE(table.num_interactions() == full.size());
  for (index_t u = 0; u < table.num_users(); u += 7) {
    for (index_t k = 0; k <= full.length(u); ++k) {
      sh::ContextFeatures f{-1, -1, users.age[u], users.gender[u], users.occupation[u]};
      if (k < full.length(u)) {
        f.timestamp = full.times[full.offsets[u] + k];
        f.previous_timestamp = k > 0 ? full.times[full.offsets[u] + k - 1] : -1;
      }
      std::vector<seqrec::id_t> want(6);
      table.schema().encode(f, want);
      const auto row = table.row(u, k);
      CHECK(std::vector<seqrec::id_t>(row.begin(), row.end()) == want);
      if (k == full.length(u)) CHECK((row[0] == 0 && row[1] == 0 && row[2] == 0));  // time after the last: unknown
    }
  }
  // The device copy holds the same rows.
  auto ids = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), table.ids());
  auto off = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), table.offsets());
  for (index_t f = 0; f < 6; ++f) {
    CHECK(ids(off(5) + 2, f) == table.row(5, 2)[f]);
    CHECK(ids(table.num_interactions() + 5, f) == table.row(5, full.length(5))[f]);
  }

  auto no_time = seqrec::data::Sequences::from(x);
  no_time.times.clear();
  CHECK_THROWS_WITH(sh::ContextTable<Space>::build(space, no_time, nullptr, sh::ContextSchema::parse("time", 0)),
                    Catch::Contains("timestamp per interaction"));
  CHECK_THROWS_WITH(table_of(space, x, "user", nullptr), Catch::Contains("needs the users' attributes"));
}

TEMPLATE_TEST_CASE("context recommender: training and scoring read the predicted interaction's context",
                   "[train][context][recommender]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  using Encoder = seqrec::sequence::RecurrentEncoder<seqrec::sequence::Gru<T, Space>>;
  Space space;
  const auto x = weekday_signals();
  const auto users = some_users(x.num_users());
  const auto split = seqrec::data::leave_one_out(x);
  seqrec::RecommenderConfig cfg;
  cfg.dim = 8;
  cfg.batch = kBatch;
  const seqrec::sequence::RecurrentConfig rc{kLen, 1, 0.0};
  auto make = [rc](const Space& s, auto& params, index_t dim) { return Encoder(s, params, dim, rc); };
  seqrec::ContextRecommender<Encoder> model(space, x.num_items(), cfg, 3, table_of(space, x, "time+user", &users),
                                            split.train_sequences, make);
  const auto& table = model.context_table();

  const auto history = seqrec::data::make_user_history(space, split.train_sequences);
  seqrec::data::SequenceBatcher<Space> batcher(space, split.train_sequences,
                                               seqrec::data::UniformNegativeSampler<Space>(history));
  seqrec::data::SequenceBatch<Space> batch(space, kBatch, kLen, 1);
  auto some = seqrec::test::from_vector<Space, seqrec::id_t>({4, 0, 17, 95, 33});
  batcher.build(space, some, batch, seqrec::RandomStream(1, 1));
  model.train_step(space, batch, model.random().next());
  auto ctx = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), model.training_contexts());
  auto targets = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), batch.targets);
  const auto& train = split.train_sequences;
  int checked = 0;
  for (index_t b = 0; b < 5; ++b) {
    const index_t u = std::vector<index_t>{4, 0, 17, 95, 33}[b], n = train.length(u);
    for (index_t t = 0; t < kLen; ++t) {
      const index_t r = b * kLen + t, k = n - kLen + t;  // the target's index in u's training sequence
      if (targets(b, t) == 0) {
        for (index_t f = 0; f < table.num_fields(); ++f) CHECK(ctx(r, f) == 0);
        continue;
      }
      REQUIRE(k >= 1);
      CHECK(train.items[train.offsets[u] + k] == targets(b, t));
      for (index_t f = 0; f < table.num_fields(); ++f) CHECK(ctx(r, f) == table.row(u, k)[f]);
      ++checked;
    }
  }
  CHECK(checked == 5 * 7);  // 8 training items each: 7 targets

  // Scoring with training + validation items reads the test interaction's context (row n + 1).
  const auto windows = seqrec::data::Sequences::from(seqrec::data::with_held_out(split, true));
  model.set_scoring_windows(space, windows, 16);
  auto req = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), model.gather_request(space, some));
  for (index_t b = 0; b < 5; ++b) {
    const index_t u = std::vector<index_t>{4, 0, 17, 95, 33}[b];
    REQUIRE(windows.length(u) == train.length(u) + 1);
    for (index_t f = 0; f < table.num_fields(); ++f) CHECK(req(b, f) == table.row(u, train.length(u) + 1)[f]);
  }
}

TEMPLATE_TEST_CASE("context recommender: learns a next item that only the context decides",
                   "[train][context][recommender]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  using Encoder = seqrec::sequence::SelfAttentionEncoder<T, Space>;
  Space space;
  const auto x = weekday_signals();
  const auto split = seqrec::data::leave_one_out(x);  // every test item is a signal item (the 10th)
  seqrec::RecommenderConfig cfg;
  cfg.dim = 16;
  cfg.batch = kBatch;
  cfg.adam.lr = 0.01;
  seqrec::sequence::SelfAttentionConfig sa;
  sa.maxlen = kLen;
  sa.blocks = 1;
  sa.dropout = 0.0;
  auto make = [sa](const Space& s, auto& params, index_t dim) {
    return seqrec::sequence::SelfAttentionEncoder<T, Space>(s, params, dim, sa);
  };
  seqrec::ContextRecommender<Encoder> ctx_model(space, x.num_items(), cfg, 5, table_of(space, x, "time", nullptr),
                                                split.train_sequences, make);
  seqrec::SequentialRecommender<Encoder> plain(space, x.num_items(), cfg, 5, make);

  const auto history = seqrec::data::make_user_history(space, split.train_sequences);
  seqrec::data::SequenceBatcher<Space> batcher(space, split.train_sequences,
                                               seqrec::data::UniformNegativeSampler<Space>(history));
  seqrec::data::EpochShuffler<Space> shuffler(
      space, seqrec::data::EpochShuffler<Space>::trainable_users(split.train_sequences), 9);
  seqrec::data::SequenceBatch<Space> batch(space, kBatch, kLen, 1);
  for (int e = 0; e < 40; ++e) {
    shuffler.shuffle(space, e);
    for (index_t b = 0; b < shuffler.num_batches(kBatch); ++b) {
      batcher.build(space, shuffler.batch(b, kBatch), batch, seqrec::RandomStream(2, e * 100 + b));
      ctx_model.train_step(space, batch, ctx_model.random().next());
      plain.train_step(space, batch, plain.random().next());
    }
  }
  // Test: is the true signal item the best of the seven?
  const auto windows = seqrec::data::Sequences::from(seqrec::data::with_held_out(split, true));
  std::vector<seqrec::id_t> ids(kUsers);
  for (int u = 0; u < kUsers; ++u) ids[u] = u;
  auto users = seqrec::test::from_vector<Space, seqrec::id_t>(ids);
  std::vector<seqrec::id_t> signal(kSignals);
  for (int j = 0; j < kSignals; ++j) signal[j] = x.items.dense(11 + j);
  auto accuracy = [&](auto& model) {
    model.set_scoring_windows(space, windows, kUsers);
    seqrec::View2<T, Space> all("all", kUsers, x.num_items() + 1);
    model.score_all(space, users, all);
    auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), all);
    // score agrees with score_all on the signal items.
    seqrec::View2<seqrec::id_t, Space> cand("cand", kUsers, kSignals);
    auto hc = Kokkos::create_mirror_view(cand);
    for (int u = 0; u < kUsers; ++u)
      for (int j = 0; j < kSignals; ++j) hc(u, j) = signal[j];
    Kokkos::deep_copy(cand, hc);
    seqrec::View2<T, Space> some_scores("some", kUsers, kSignals);
    model.score(space, users, cand, some_scores);
    auto hs = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), some_scores);
    int right = 0;
    for (int u = 0; u < kUsers; ++u) {
      int best = 0;
      for (int j = 0; j < kSignals; ++j) {
        CHECK(hs(u, j) == Approx(h(u, signal[j])).epsilon(1e-4).margin(1e-5));
        if (h(u, signal[j]) > h(u, signal[best])) best = j;
      }
      right += signal[best] == split.test_item(u) ? 1 : 0;
    }
    return double(right) / kUsers;
  };
  const double with_context = accuracy(ctx_model), without = accuracy(plain);
  INFO("context " << with_context << ", plain " << without);
  CHECK(with_context >= 0.8);
  CHECK(without <= 0.4);  // the history carries no signal: near chance (1/7)

  // A checkpoint restores the same scores.
  const auto path = std::filesystem::temp_directory_path() / "seqrec_test_context_recommender.ckpt";
  ctx_model.save(path, 60);
  seqrec::ContextRecommender<Encoder> again(space, x.num_items(), cfg, 77, table_of(space, x, "time", nullptr),
                                            split.train_sequences, make);
  CHECK(again.load(path) == 60);
  std::filesystem::remove(path);
  CHECK(accuracy(again) == with_context);
}

TEST_CASE("context recommender: clear errors", "[train][context][recommender]") {
  using Space = Kokkos::Serial;
  using Encoder = seqrec::sequence::RecurrentEncoder<seqrec::sequence::Gru<float, Space>>;
  Space space;
  const auto x = weekday_signals();
  const auto split = seqrec::data::leave_one_out(x);
  seqrec::RecommenderConfig cfg;
  cfg.dim = 8;
  const seqrec::sequence::RecurrentConfig rc{kLen, 1, 0.0};
  auto make = [rc](const Space& s, auto& params, index_t dim) { return Encoder(s, params, dim, rc); };
  // A table over fewer interactions than training has.
  auto shorter = x;
  shorter.user.resize(5), shorter.item.resize(5), shorter.weight.resize(5), shorter.time.resize(5);
  auto small = sh::ContextTable<Space>::build(space, seqrec::data::Sequences::from(shorter), nullptr,
                                              sh::ContextSchema::parse("time", 0));
  CHECK_THROWS_WITH(
      seqrec::ContextRecommender<Encoder>(space, x.num_items(), cfg, 1, small, split.train_sequences, make),
      Catch::Contains("users of the training sequences") || Catch::Contains("interactions with a context"));
  seqrec::ContextRecommender<Encoder> model(space, x.num_items(), cfg, 1, table_of(space, x, "time", nullptr),
                                            split.train_sequences, make);
  seqrec::View2<float, Space> scores("s", 1, x.num_items() + 1);
  auto users = seqrec::test::from_vector<Space, seqrec::id_t>({0});
  CHECK_THROWS_WITH(model.score_all(space, users, scores), Catch::Contains("set_scoring_windows"));

  // The loss chosen at run time: a candidate loss trains as the static one does (same seed, same steps, same values);
  // the whole-catalogue softmax is refused by name (the context head gates each sampled candidate).
  using Runtime = seqrec::losses::RuntimeLoss<float, Space>;
  using RuntimeContext = seqrec::ContextRecommender<Encoder, Runtime>;
  CHECK_THROWS_WITH(RuntimeContext(space, x.num_items(), cfg, 1, table_of(space, x, "time", nullptr),
                                   split.train_sequences, make, 0, Runtime::make("ce")),
                    Catch::Contains("ce is a catalogue loss"));
  RuntimeContext chosen(space, x.num_items(), cfg, 1, table_of(space, x, "time", nullptr), split.train_sequences, make,
                        0, Runtime::make("bce"));
  const auto history = seqrec::data::make_user_history(space, split.train_sequences);
  seqrec::data::SequenceBatcher<Space> batcher(space, split.train_sequences,
                                               seqrec::data::UniformNegativeSampler<Space>(history));
  seqrec::data::EpochShuffler<Space> shuffler(
      space, seqrec::data::EpochShuffler<Space>::trainable_users(split.train_sequences), 9);
  seqrec::data::SequenceBatch<Space> batch(space, cfg.batch, kLen, 1);
  for (int e = 0; e < 3; ++e) {
    shuffler.shuffle(space, e);
    for (index_t b = 0; b < shuffler.num_batches(cfg.batch); ++b) {
      batcher.build(space, shuffler.batch(b, cfg.batch), batch, seqrec::RandomStream(2, e * 100 + b));
      const double a = model.train_step(space, batch, model.random().next()).value;
      CHECK(chosen.train_step(space, batch, chosen.random().next()).value == a);
    }
  }
}
