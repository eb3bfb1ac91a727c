// A sequence model in the feedback loop: IncrementalSequence trains, updates on the users with new items only,
// and the loop's guarantees (nothing seen is shown, the graph grows by the accepted count) hold with it.
#include "support/backends.hpp"

#include <seqrec/loop/policies.hpp>
#include <seqrec/loop/sequence_adapter.hpp>
#include <seqrec/loop/simulator.hpp>
#include <seqrec/sequence/sasrec_encoder.hpp>
#include <seqrec/sequential_recommender.hpp>

#include <catch2/catch.hpp>

#include <vector>

namespace {

using seqrec::id_t;
using seqrec::index_t;

// 60 users walking an item ring of 30 (next item = current + 1), 12 steps each at times 100 j + u.
seqrec::data::Interactions ring() {
  seqrec::data::Interactions x;
  for (int u = 0; u < 60; ++u) x.users.insert(u);
  for (int i = 1; i <= 30; ++i) x.items.insert(i);
  for (int u = 0; u < 60; ++u)
    for (int j = 0; j < 12; ++j) x.push_back(id_t(u), id_t(1 + (u + j) % 30), 1.0f, 100 * j + u);
  x.has_time = true;
  return x;
}

template <class T, class Space>
using Sasrec = seqrec::SequentialRecommender<seqrec::sequence::SelfAttentionEncoder<T, Space>>;

template <class T, class Space>
Sasrec<T, Space> make(const Space& space, index_t items) {
  seqrec::RecommenderConfig cfg;
  cfg.dim = 16;
  cfg.batch = 16;
  cfg.adam.lr = 0.01;
  const seqrec::sequence::SelfAttentionConfig sa{8, 1, 1, 0.0, 0};
  return Sasrec<T, Space>(space, items, cfg, 5, [&](const Space& s, auto& params, index_t dim) {
    return seqrec::sequence::SelfAttentionEncoder<T, Space>(s, params, dim, sa);
  });
}

template <class Adapter, class T, class Space>
std::vector<T> scores_of(const Space& space, const Adapter& a, std::vector<id_t> users, index_t items) {
  seqrec::View1<id_t, Space> u("users", users.size());
  auto hu = Kokkos::create_mirror_view(u);
  for (std::size_t i = 0; i < users.size(); ++i) hu(i) = users[i];
  Kokkos::deep_copy(u, hu);
  seqrec::View2<T, Space> s("scores", users.size(), items + 1);
  a.score_all(space, seqrec::View1<const id_t, Space>(u), s);
  auto h = seqrec::to_host(s);
  return std::vector<T>(h.data(), h.data() + h.size());
}

}  // namespace

static_assert(seqrec::loop::check_loop_model<seqrec::loop::IncrementalSequence<Sasrec<float, Kokkos::Serial>>>());

TEMPLATE_TEST_CASE("A sequence model learns, updates on new data only, and runs the feedback loop", "[loop][sequence]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  const auto x = ring();
  auto model = make<T>(space, x.num_items());
  seqrec::loop::IncrementalSequence<Sasrec<T, Space>> seq(model, {15, 3, 9});

  seqrec::loop::SimulatorOptions so;
  so.cut = 0.6;
  so.rounds = 3;
  so.k = 3;
  so.window = 2;
  seqrec::loop::FeedbackLoop<T, Space> sim(x, so);
  seq.fit(space, sim.train());
  CHECK(seq.steps_taken() == 15 * 4);  // 60 trainable users, batch 16

  // No new data: nothing trains, the scores stay as they were, to the bit.
  const auto before = scores_of<decltype(seq), T>(space, seq, {0, 7, 31}, x.num_items());
  seqrec::data::Interactions none;
  none.users = sim.train().users;
  none.items = sim.train().items;
  seq.update(space, none);
  CHECK(seq.steps_taken() == 60);
  CHECK(scores_of<decltype(seq), T>(space, seq, {0, 7, 31}, x.num_items()) == before);

  // The loop: the ring is learnt, so the next item is shown and accepted; every update takes 3 steps.
  index_t accepted = 0;
  const auto metrics = sim.run(space, seq, seqrec::loop::Greedy{},
                               [&](const seqrec::loop::RoundRecord& r) { accepted += r.metrics.accepted; });
  REQUIRE(metrics.size() == 3);
  CHECK(metrics.front().acceptance_rate > 0.2);  // 1 in 3 shown would be the next item on a learnt ring
  CHECK(sim.graph().num_interactions() == sim.train().size() + accepted);
  CHECK(seq.steps_taken() >= 60 + 3 * 3 - 3);  // a round with nothing accepted takes no step

  // Items beyond the model's table are refused with a clear message.
  seqrec::data::Interactions grown = none;
  grown.items.insert(999);
  grown.push_back(0, seqrec::id_t(grown.items.size()), 1.0f, 1 << 20);
  CHECK_THROWS_WITH(seq.update(space, grown), Catch::Contains("new items need a grown table"));
}
