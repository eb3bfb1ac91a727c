#include "support/backends.hpp"
#include "support/ring_walks.hpp"

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
using seqrec::test::train_and_test;
// 300 users on a ring of 150 items.
seqrec::data::Interactions ring_walks() { return seqrec::test::ring_walks({.users = 300, .items = 150, .seed = 99}); }
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
    const auto a = train_and_test<Sasrec, Space>(sasrec, x, 10, 32, 1);
    INFO("SASRec losses " << a.losses.front() << " -> " << a.losses.back() << ", HR@10 " << a.hr10);
    CHECK(a.losses.back() < 0.5 * a.losses.front());
    CHECK(a.hr10 > 0.9);

    // Same seed on Serial: the same trajectory to the last bit (every random draw is counter-based). On
    // threaded backends embedding gradients are added atomically, so the last bits may differ.
    if constexpr (std::is_same_v<Space, Kokkos::Serial>) {
      Sasrec again(space, x.num_items(), cfg, 1, make_sa);
      const auto b = train_and_test<Sasrec, Space>(again, x, 3, 32, 1);
      for (int e = 0; e < 3; ++e) CHECK(b.losses[e] == a.losses[e]);
    }

    seqrec::sequence::RecurrentConfig rc;
    rc.maxlen = 12;
    rc.dropout = 0.1;
    using Gru4Rec = seqrec::SequentialRecommender<seqrec::sequence::RecurrentEncoder<seqrec::sequence::Gru<T, Space>>>;
    Gru4Rec gru(space, x.num_items(), cfg, 2, [&](const Space& s, auto& params, seqrec::index_t dim) {
      return seqrec::sequence::RecurrentEncoder<seqrec::sequence::Gru<T, Space>>(s, params, dim, rc);
    });
    const auto g = train_and_test<Gru4Rec, Space>(gru, x, 10, 32, 1);
    INFO("GRU losses " << g.losses.front() << " -> " << g.losses.back() << ", HR@10 " << g.hr10);
    CHECK(g.hr10 > 0.9);

    using LstmRec = seqrec::SequentialRecommender<seqrec::sequence::RecurrentEncoder<seqrec::sequence::Lstm<T, Space>>>;
    LstmRec lstm(space, x.num_items(), cfg, 3, [&](const Space& s, auto& params, seqrec::index_t dim) {
      return seqrec::sequence::RecurrentEncoder<seqrec::sequence::Lstm<T, Space>>(s, params, dim, rc);
    });
    const auto l = train_and_test<LstmRec, Space>(lstm, x, 10, 32, 1);
    INFO("LSTM losses " << l.losses.front() << " -> " << l.losses.back() << ", HR@10 " << l.hr10);
    CHECK(l.hr10 > 0.9);
  }
}
