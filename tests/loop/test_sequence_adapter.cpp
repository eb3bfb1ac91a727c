// A sequence model in the feedback loop: IncrementalSequence trains, updates on the users with new items only,
// grows the item table when new items appear, and the loop's guarantees (nothing seen is shown, the graph grows by
// the accepted count) hold with it.
#include "support/backends.hpp"

#include <seqrec/loop/policies.hpp>
#include <seqrec/loop/sequence_adapter.hpp>
#include <seqrec/loop/simulator.hpp>
#include <seqrec/sequence/sasrec_encoder.hpp>
#include <seqrec/sequential_recommender.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
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

// The ring of 30 with its last 3 items late: user u walks 1..27 for 10 steps (times 100 j + u), then takes two of
// items 28..30 (times 1000 + ...), so a cut at 0.8 leaves 28..30 out of the training interactions.
seqrec::data::Interactions late_ring() {
  seqrec::data::Interactions x;
  for (int u = 0; u < 60; ++u) x.users.insert(u);
  for (int i = 1; i <= 30; ++i) x.items.insert(i);
  for (int u = 0; u < 60; ++u) {
    for (int j = 0; j < 10; ++j) x.push_back(id_t(u), id_t(1 + (u + j) % 27), 1.0f, 100 * j + u);
    x.push_back(id_t(u), id_t(28 + u % 3), 1.0f, 1000 + u);
    x.push_back(id_t(u), id_t(28 + (u + 1) % 3), 1.0f, 1100 + u);
  }
  x.has_time = true;
  return x;
}

// x without the interactions of items above `max_item` (the id maps kept).
seqrec::data::Interactions without_items_above(const seqrec::data::Interactions& x, id_t max_item) {
  seqrec::data::Interactions y;
  y.users = x.users;
  y.items = x.items;
  y.has_time = x.has_time;
  for (index_t e = 0; e < x.size(); ++e)
    if (x.item[e] <= max_item) y.push_back(x.user[e], x.item[e], x.weight[e], x.time[e]);
  return y;
}

template <class T>
bool same_bits(T a, T b) {
  return std::memcmp(&a, &b, sizeof(T)) == 0;
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

  // An item beyond the model's table grows it.
  seqrec::data::Interactions grown = none;
  grown.items.insert(999);
  grown.push_back(0, seqrec::id_t(grown.items.size()), 1.0f, 1 << 20);
  seq.update(space, grown);
  CHECK(seq.table_items() == 31);
  CHECK(seq.num_items() == 31);
  CHECK(seq.growths() == 1);
}

TEMPLATE_TEST_CASE("IncrementalSequence grows the item table; old users' scores stay until they get new data",
                   "[loop][sequence][growth]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  const auto x = late_ring();
  const auto train = without_items_above(x, 27);
  auto model = make<T>(space, 27);
  seqrec::loop::IncrementalSequence<Sasrec<T, Space>> seq(model, {5, 0, 9});  // no steps: scores move by data only
  seq.fit(space, train);
  REQUIRE(seq.table_items() == 27);
  REQUIRE(seq.num_items() == 30);  // the catalogue of the id map
  CHECK(seq.growths() == 0);
  const auto before = scores_of<decltype(seq), T>(space, seq, {0, 5, 7}, 30);
  for (int b = 0; b < 3; ++b) {
    for (int i = 1; i <= 27; ++i) CHECK(std::isfinite(double(before[b * 31 + i])));
    for (int i = 28; i <= 30; ++i) CHECK(before[b * 31 + i] == -std::numeric_limits<T>::infinity());
  }

  // User 5 takes the new item 29: the table grows to 29 (28 and 29), 30 still has no row.
  seqrec::data::Interactions added;
  added.users = train.users;
  added.items = train.items;
  added.push_back(5, 29, 1.0f, 5000);
  seq.update(space, added);
  CHECK(seq.table_items() == 29);
  CHECK(model.num_items() == 29);
  CHECK(seq.growths() == 1);
  CHECK(seq.items_grown() == 2);
  const auto after = scores_of<decltype(seq), T>(space, seq, {0, 5, 7}, 30);
  bool old_same = true, user5_changed = false;
  for (int i = 1; i <= 27; ++i) {
    old_same = old_same && same_bits(after[0 * 31 + i], before[0 * 31 + i]) &&
               same_bits(after[2 * 31 + i], before[2 * 31 + i]);
    user5_changed = user5_changed || !same_bits(after[1 * 31 + i], before[1 * 31 + i]);
  }
  CHECK(old_same);       // users 0 and 7 got no new data
  CHECK(user5_changed);  // user 5's window ends with item 29 now
  for (int b = 0; b < 3; ++b) {
    CHECK(std::isfinite(double(after[b * 31 + 28])));
    CHECK(std::isfinite(double(after[b * 31 + 29])));
    CHECK(after[b * 31 + 30] == -std::numeric_limits<T>::infinity());
  }
}

TEMPLATE_TEST_CASE("A grown sequence model trains on its new items and runs the loop", "[loop][sequence][growth]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  const auto x = late_ring();
  auto model = make<T>(space, 27);
  seqrec::loop::IncrementalSequence<Sasrec<T, Space>> seq(model, {10, 3, 9});

  seqrec::loop::SimulatorOptions so;
  so.cut = 0.8;  // 576 of 720 interactions, all before time 1000: items 1..27 only
  so.rounds = 4;
  so.k = 5;
  so.window = 2;
  seqrec::loop::FeedbackLoop<T, Space> sim(x, so);
  seq.fit(space, sim.train());
  REQUIRE(seq.table_items() == 27);
  REQUIRE(seq.num_items() == 30);

  // Greedy never shows an item without a row (-inf); per-slot epsilon-greedy shows them, users accept them, the
  // table grows and the new rows train.
  index_t accepted = 0, new_accepted = 0;
  bool greedy_showed_new = false;
  const auto metrics = sim.run(space, seq, seqrec::loop::EpsilonGreedy{0.6}, [&](const seqrec::loop::RoundRecord& r) {
    accepted += r.metrics.accepted;
    for (index_t e = 0; e < r.accepted.size(); ++e) new_accepted += r.accepted.item[e] > 27 ? 1 : 0;
  });
  REQUIRE(metrics.size() == 4);
  CHECK(new_accepted > 0);
  CHECK(seq.table_items() >= 28);
  CHECK(seq.growths() >= 1);
  CHECK(sim.graph().num_interactions() == sim.train().size() + accepted);
  CHECK(seq.steps_taken() > 10 * 4);
  model.parameters().require_finite(space, "after the loop");
  const auto s = scores_of<decltype(seq), T>(space, seq, {0, 1, 2}, 30);
  for (int b = 0; b < 3; ++b)
    for (int i = 1; i <= seq.table_items(); ++i) CHECK(std::isfinite(double(s[b * 31 + i])));

  // A greedy run from the same start (a fresh model) shows no item beyond the table.
  auto model2 = make<T>(space, 27);
  seqrec::loop::IncrementalSequence<Sasrec<T, Space>> seq2(model2, {10, 0, 9});
  seq2.fit(space, sim.train());
  sim.run(space, seq2, seqrec::loop::Greedy{}, [&](const seqrec::loop::RoundRecord& r) {
    for (const seqrec::id_t i : r.shown) greedy_showed_new = greedy_showed_new || i > 27;
  });
  CHECK_FALSE(greedy_showed_new);
  CHECK(seq2.table_items() == 27);
}

TEMPLATE_TEST_CASE("IncrementalSequence's chunked scores equal the model's", "[loop][sequence][growth]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  // 1100 items: two full chunks of 512 and a padded tail of 77 rows.
  auto x = ring();
  for (int i = 31; i <= 1100; ++i) x.items.insert(i);
  auto model = make<T>(space, 1100);
  seqrec::loop::IncrementalSequence<Sasrec<T, Space>> seq(model, {1, 0, 9});
  seq.fit(space, x);
  REQUIRE(seq.num_items() == 1100);
  const std::vector<seqrec::id_t> users{0, 3, 59};
  const auto chunked = scores_of<decltype(seq), T>(space, seq, users, 1100);
  seqrec::View1<seqrec::id_t, Space> u("users", users.size());
  auto hu = Kokkos::create_mirror_view(u);
  for (std::size_t i = 0; i < users.size(); ++i) hu(i) = users[i];
  Kokkos::deep_copy(u, hu);
  seqrec::View2<T, Space> s("scores", users.size(), 1101);
  model.score_all(space, seqrec::View1<const seqrec::id_t, Space>(u), s);
  auto h = seqrec::to_host(s);
  bool close = true;
  for (std::size_t b = 0; b < users.size(); ++b)
    for (int i = 0; i <= 1100; ++i) {
      const double want = double(h(b, i)), got = double(chunked[b * 1101 + i]);
      close = close && std::abs(got - want) <= seqrec::test::tolerance<T>() * (1 + std::abs(want));
    }
  CHECK(close);
}
