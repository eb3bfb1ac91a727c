// SequentialRecommender with item features: scores are h . (E + P(X)) (or h . P(X)), the training gradient
// reaches E and the projection (finite differences, double), and items never seen in training are ranked by
// their features: a cold item of the type that follows is ranked first among the cold items far above chance.
#include "support/backends.hpp"
#include "support/gradcheck.hpp"

#include <seqrec/data/batch.hpp>
#include <seqrec/data/negative_sampler.hpp>
#include <seqrec/data/split.hpp>
#include <seqrec/sequence/sasrec_encoder.hpp>
#include <seqrec/sequential_recommender.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

namespace {

using Id = seqrec::id_t;
using seqrec::index_t;

constexpr int kItems = 60, kTypes = 6, kF = 8, kBatch = 32, kLen = 10;

// Item i has type i % 6. Cold items (one per type) never appear in training.
bool is_cold(int i) { return i == 6 || i == 13 || i == 20 || i == 27 || i == 34 || i == 41; }

// Users walk warm items whose type goes up by one at every step. Original ids equal dense ids: item ids are
// inserted 1..60 first.
seqrec::data::Interactions typed_walks(int users) {
  seqrec::data::Interactions x;
  for (int i = 1; i <= kItems; ++i) x.items.insert(i);
  seqrec::RandomStream rs(23, 0);
  std::uint64_t c = 0;
  for (int u = 0; u < users; ++u) {
    int item = 0;
    do item = 1 + int(rs.below(c++, kItems));
    while (is_cold(item));
    const int len = 8 + int(rs.below(c++, 5));
    for (int k = 0; k < len; ++k) {
      x.push_back(x.users.insert(u), x.items.dense(item), 1.0f, k);
      const int type = (item + 1) % kTypes;
      do item = type + kTypes * int(rs.below(c++, kItems / kTypes));
      while (item == 0 || is_cold(item));
    }
  }
  x.sort_chronological();
  return x;
}

// One-hot type in the first 6 columns, small noise in the last 2; row 0 zeros.
template <class T, class Space>
seqrec::View2<T, Space> type_features(const Space& space) {
  seqrec::View2<T, Space> x("features", kItems + 1, kF);
  auto h = Kokkos::create_mirror_view(x);
  seqrec::RandomStream rs(29, 0);
  for (int i = 1; i <= kItems; ++i) {
    h(i, i % kTypes) = T(1);
    for (int k = kTypes; k < kF; ++k) h(i, k) = T(0.1) * rs.normal<T>(std::uint64_t(i * kF + k));
  }
  Kokkos::deep_copy(space, x, h);
  space.fence();
  return x;
}

template <class T, class Space>
struct Setup {
  Space space;
  seqrec::data::Interactions x;
  seqrec::data::Sequences train;
  seqrec::data::UserHistory<Space> history;
  seqrec::data::SequenceBatcher<Space> batcher;
  seqrec::data::EpochShuffler<Space> shuffler;
  seqrec::data::SequenceBatch<Space> batch{space, kBatch, kLen, 1};
  seqrec::RecommenderConfig cfg;
  seqrec::sequence::SelfAttentionConfig sa;

  explicit Setup(int users)
      : x(typed_walks(users)),
        train(seqrec::data::Sequences::from(x)),
        history(seqrec::data::make_user_history(space, train)),
        batcher(space, train, seqrec::data::UniformNegativeSampler<Space>(history)),
        shuffler(space, seqrec::data::EpochShuffler<Space>::trainable_users(train), 5) {
    cfg.dim = 16;
    cfg.batch = kBatch;
    cfg.adam.lr = 0.01;
    sa.maxlen = kLen;
    sa.blocks = 1;
    sa.dropout = 0;
  }
  auto make_encoder() const {
    return [sa = sa](const Space& s, auto& params, index_t dim) {
      return seqrec::sequence::SelfAttentionEncoder<T, Space>(s, params, dim, sa);
    };
  }
  template <class Model>
  void train_epochs(Model& model, int epochs) {
    for (int e = 0; e < epochs; ++e) {
      shuffler.shuffle(space, e);
      for (index_t b = 0; b < shuffler.num_batches(kBatch); ++b) {
        batcher.build(space, shuffler.batch(b, kBatch), batch, seqrec::RandomStream(7, e * 1000 + b));
        model.train_step(space, batch, model.random().next());
      }
    }
  }
};

// Share of users whose highest-scoring cold item has the type that follows their last item's.
template <class Model, class Setup>
double cold_accuracy(Model& model, Setup& s) {
  using Space = decltype(s.space);
  using T = typename Model::scalar_type;
  const index_t n = s.train.num_users();
  model.set_scoring_windows(s.space, s.train, n);
  std::vector<Id> all(std::size_t(n), 0);
  for (index_t u = 0; u < n; ++u) all[std::size_t(u)] = Id(u);
  auto users = seqrec::test::from_vector<Space, Id>(all);
  seqrec::View2<T, Space> scores("scores", n, kItems + 1);
  model.score_all(s.space, users, scores);
  auto h = seqrec::to_host(scores);
  int right = 0;
  for (index_t u = 0; u < n; ++u) {
    const Id last = s.train.items[std::size_t(s.train.offsets[std::size_t(u) + 1] - 1)];
    const int want = int((s.x.items.original(last) + 1) % kTypes);
    int best = 0;
    for (int i = 1; i <= kItems; ++i)
      if (is_cold(i) && (best == 0 || h(u, s.x.items.dense(i)) > h(u, s.x.items.dense(best)))) best = i;
    right += best % kTypes == want ? 1 : 0;
  }
  return double(right) / double(n);
}

}  // namespace

TEMPLATE_TEST_CASE("recommender with item features: scores, gradients, cold items", "[train][features]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  using Encoder = seqrec::sequence::SelfAttentionEncoder<T, Space>;
  using Model = seqrec::SequentialRecommender<Encoder>;
  using Input = seqrec::ItemFeatureInput<T, Space>;
  Setup<T, Space> s(300);
  const auto features = type_features<T>(s.space);

  SECTION("scores are h . (E + X W + b), or h . (X W + b) without the embedding") {
    for (bool with_embedding : {true, false}) {
      Input in{features, {}, with_embedding};
      in.projection.init_scale = 1.0;
      Model model(s.space, kItems, s.cfg, 5, s.make_encoder(), in);
      CHECK(model.has_item_features());
      s.train_epochs(model, 1);  // the projection's bias moves off zero
      model.set_scoring_windows(s.space, s.train, 64);
      auto users = seqrec::test::from_vector<Space, Id>({0, 4, 9});
      seqrec::View2<T, Space> scores("scores", 3, kItems + 1);
      model.score_all(s.space, users, scores);
      auto hs = seqrec::to_host(scores);
      auto st = seqrec::to_host(model.last_states(s.space, users));
      auto e = seqrec::to_host(model.items().table());
      const auto& fc = model.feature_projection()->output();
      auto w = seqrec::to_host(fc.weight().template view<2>());
      auto b = seqrec::to_host(fc.bias().value());
      auto xf = seqrec::to_host(features);
      for (int r = 0; r < 3; ++r)
        for (int i = 0; i <= kItems; ++i) {
          double ref = 0;
          for (int k = 0; k < s.cfg.dim; ++k) {
            double v = with_embedding ? double(e(i, k)) : 0.0;
            if (i > 0) {
              v += double(b(k));
              for (int f = 0; f < kF; ++f) v += double(xf(i, f)) * double(w(f, k));
            }
            ref += double(st(r, k)) * v;
          }
          CHECK(hs(r, i) == Approx(ref).epsilon(10 * seqrec::test::tolerance<T>()).margin(1e-5));
        }
    }
  }

  SECTION("the training gradient reaches E and the projection (finite differences, double)") {
    if constexpr (std::is_same_v<T, double>) {
      for (bool with_embedding : {true, false}) {
        auto cfg = s.cfg;
        cfg.adam.lr = 1e-300;  // the steps below measure the loss; they must not move the parameters
        Model model(s.space, kItems, cfg, 5, s.make_encoder(), Input{features, {}, with_embedding});
        s.shuffler.shuffle(s.space, 0);
        s.batcher.build(s.space, s.shuffler.batch(0, kBatch), s.batch, seqrec::RandomStream(7, 0));
        const seqrec::RandomStream step(3, 3);
        auto loss = [&] { return model.train_step(s.space, s.batch, step).value; };
        loss();
        const auto& fc = model.feature_projection()->output();
        // Copies: on host backends a mirror shares the gradient's memory, and every loss() rewrites it.
        seqrec::View1<T, Space> gw("gw", fc.weight().size()), gb("gb", fc.bias().size()),
            ge("ge", model.items().parameter().size());
        Kokkos::deep_copy(gw, fc.weight().grad());
        Kokkos::deep_copy(gb, fc.bias().grad());
        Kokkos::deep_copy(ge, model.items().parameter().grad());
        seqrec::test::check_gradient(s.space, fc.weight().value(), gw, loss, "projection weight", 40);
        seqrec::test::check_gradient(s.space, fc.bias().value(), gb, loss, "projection bias");
        if (with_embedding) {
          seqrec::test::check_gradient(s.space, model.items().parameter().value(), ge, loss, "items", 40);
        } else {
          auto h = seqrec::to_host(ge);
          for (std::size_t i = 0; i < h.size(); ++i) CHECK(h.data()[i] == 0.0);  // E takes no part
        }
      }
    }
  }

  SECTION("cold items are ranked by their features") {
    Model plain(s.space, kItems, s.cfg, 5, s.make_encoder());
    Model featured(s.space, kItems, s.cfg, 5, s.make_encoder(), Input{features, {}, true});
    s.train_epochs(plain, 25);
    s.train_epochs(featured, 25);
    const double a_plain = cold_accuracy(plain, s), a_features = cold_accuracy(featured, s);
    INFO("right type among the 6 cold items: plain " << a_plain << ", with features " << a_features);
    CHECK(a_features > 0.8);
    CHECK(a_plain < 0.5);
    // Checkpoints carry the projection: a loaded model scores as the saved one.
    const auto path = std::filesystem::temp_directory_path() / "seqrec_test_features.ckpt";
    featured.save(path, 25);
    Model loaded(s.space, kItems, s.cfg, 99, s.make_encoder(), Input{features, {}, true});
    CHECK(loaded.load(path) == 25);
    CHECK(cold_accuracy(loaded, s) == a_features);
    std::filesystem::remove(path);
  }

  SECTION("held-out items as new ones: zero rows with features, fresh draws without") {
    Model featured(s.space, kItems, s.cfg, 5, s.make_encoder(), Input{features, {}, true});
    s.train_epochs(featured, 25);
    const std::vector<Id> cold{6, 13, 20, 27, 34, 41};
    featured.reset_item_rows(s.space, cold, true, 1);
    Model plain(s.space, kItems, s.cfg, 5, s.make_encoder());
    const auto before = seqrec::to_host(plain.items().table());
    const std::vector<double> kept(before.data(), before.data() + before.size());  // host mirrors alias
    plain.reset_item_rows(s.space, cold, false, 1);
    auto ef = seqrec::to_host(featured.items().table());
    auto ep = seqrec::to_host(plain.items().table());
    const seqrec::RandomStream rs(1, 0x6e6577ull);
    for (int i = 0; i <= kItems; ++i)
      for (int k = 0; k < s.cfg.dim; ++k) {
        if (!is_cold(i)) {
          CHECK(double(ep(i, k)) == kept[std::size_t(i * s.cfg.dim + k)]);  // other rows untouched
          continue;
        }
        CHECK(ef(i, k) == T(0));
        CHECK(ep(i, k) == plain.item_init_stddev() * rs.normal<T>(std::uint64_t(i * s.cfg.dim + k)));
      }
    // The features alone still rank the cold items: the representation was rebuilt.
    CHECK(cold_accuracy(featured, s) > 0.8);
    CHECK_THROWS_WITH(plain.reset_item_rows(s.space, {Id(kItems + 1)}, true, 1), Catch::Contains("is not in 1..60"));
  }

  SECTION("errors") {
    seqrec::View2<T, Space> short_features("short", kItems, kF);
    CHECK_THROWS_WITH(Model(s.space, kItems, s.cfg, 5, s.make_encoder(), Input{short_features, {}, true}),
                      Catch::Contains("item features have 60 rows, the model needs num_items + 1 = 61"));
    Model model(s.space, kItems, s.cfg, 5, s.make_encoder(), Input{features, {}, true});
    CHECK_THROWS_WITH(model.grow_items(s.space, kItems + 5, 1), Catch::Contains("growing it is not supported"));
  }
}
