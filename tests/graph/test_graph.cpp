#include "support/backends.hpp"

#include <seqrec/graph.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace {

using seqrec::data::Interactions;

// (original user, original item, weight, time) -> Interactions with dense ids by first appearance.
struct Row {
  std::int64_t user, item;
  float weight;
  std::int64_t time;
};
Interactions make(const std::vector<Row>& rows) {
  Interactions x;
  for (const Row& r : rows) x.push_back(x.users.insert(r.user), x.items.insert(r.item), r.weight, r.time);
  x.has_weight = x.has_time = true;
  return x;
}

// Small example: 3 users, 4 items, out-of-order times, one repeat (user 10 takes item 100 twice).
Interactions small() {
  return make({{10, 100, 5.0f, 3},
               {10, 200, 4.0f, 1},
               {20, 200, 3.0f, 7},
               {10, 100, 2.0f, 9},
               {30, 300, 1.0f, 2},
               {20, 400, 2.5f, 4},
               {30, 200, 4.5f, 5}});
}
// Dense ids: users 10->0, 20->1, 30->2; items 100->1, 200->2, 300->3, 400->4.

std::optional<Interactions> load_games() {
  // $SEQREC_DATA, else ../shared/data beside the checkout (found from this file, not the working directory).
  const char* env = std::getenv("SEQREC_DATA");
  const std::filesystem::path root =
      env ? std::filesystem::path(env)
          : std::filesystem::path(__FILE__).parent_path() / ".." / ".." / ".." / "shared" / "data";
  std::ifstream in(root / "games" / "games.txt");
  if (!in) return std::nullopt;
  Interactions x;
  x.reserve(300000);
  std::int64_t u, i, line = 0;
  while (in >> u >> i) x.push_back(x.users.insert(u), x.items.insert(i), 1.0f, line++);
  return x;
}

// Reference k-core: drop users/items with fewer than k interactions until nothing changes.
std::set<std::pair<std::int64_t, std::int64_t>> naive_kcore_pairs(const Interactions& x, seqrec::index_t k,
                                                                  std::size_t* kept = nullptr) {
  std::vector<bool> alive(x.user.size(), true);
  for (bool changed = true; changed;) {
    changed = false;
    std::map<seqrec::id_t, seqrec::index_t> du, di;
    for (std::size_t e = 0; e < alive.size(); ++e)
      if (alive[e]) ++du[x.user[e]], ++di[x.item[e]];
    for (std::size_t e = 0; e < alive.size(); ++e)
      if (alive[e] && (du[x.user[e]] < k || di[x.item[e]] < k)) alive[e] = false, changed = true;
  }
  std::set<std::pair<std::int64_t, std::int64_t>> s;
  std::size_t n = 0;
  for (std::size_t e = 0; e < alive.size(); ++e)
    if (alive[e]) s.insert({x.users.original(x.user[e]), x.items.original(x.item[e])}), ++n;
  if (kept) *kept = n;
  return s;
}

}  // namespace

TEST_CASE("graph construction keeps every interaction with prev-weight and position", "[graph]") {
  const Interactions x = small();
  seqrec::graph::InteractionGraph g(x);
  CHECK(g.num_users() == 3);
  CHECK(g.num_items() == 4);
  CHECK(g.num_interactions() == 7);
  CHECK(boost::num_vertices(g.boost_graph()) == 7);
  CHECK(g.user_degree(0) == 3);
  CHECK(g.item_degree(1) == 2);  // parallel edges counted
  CHECK(g.item_degree(2) == 3);

  using I = seqrec::graph::Interaction;
  // user 10: (200, 4, t1), (100, 5, t3), (100, 2, t9)
  CHECK(g.history(0) == std::vector<I>{{0, 2, 4.0f, 0.0f, 1, 0}, {0, 1, 5.0f, 4.0f, 3, 1}, {0, 1, 2.0f, 5.0f, 9, 2}});
  // user 20: (400, 2.5, t4), (200, 3, t7)
  CHECK(g.history(1) == std::vector<I>{{1, 4, 2.5f, 0.0f, 4, 0}, {1, 2, 3.0f, 2.5f, 7, 1}});
  CHECK(g.history(2) == std::vector<I>{{2, 3, 1.0f, 0.0f, 2, 0}, {2, 2, 4.5f, 1.0f, 5, 1}});
  CHECK(g.seen_items(0) == std::vector<seqrec::id_t>{1, 2});
  CHECK(g.vertex(g.item_vertex(3)).kind == seqrec::graph::VertexKind::item);
  CHECK(g.vertex(g.item_vertex(3)).id == 3);

  // Round trip back to Interactions.
  const Interactions y = g.to_interactions();
  CHECK(y.size() == 7);
  CHECK(y.item == std::vector<seqrec::id_t>{2, 1, 1, 4, 2, 3, 2});
  CHECK(y.time == std::vector<std::int64_t>{1, 3, 9, 4, 7, 2, 5});
  CHECK(y.users.original(2) == 30);

  // Bad input is named.
  Interactions bad = x;
  bad.item[3] = 9;
  CHECK_THROWS_AS(seqrec::graph::InteractionGraph(bad), seqrec::Error);
  CHECK_THROWS_AS(g.user_vertex(3), seqrec::Error);
  CHECK_THROWS_AS(g.item_vertex(0), seqrec::Error);  // 0 is padding, not an item
}

TEST_CASE("incremental insertion grows the maps and keeps sequences chronological", "[graph]") {
  seqrec::graph::InteractionGraph g(small());
  // Append for a known user and a new item.
  auto r = g.add_interaction(20, 500, 1.5f, 10);
  CHECK(r.user == 1);
  CHECK(r.item == 5);
  CHECK(r.new_item);
  CHECK_FALSE(r.new_user);
  CHECK(r.position == 2);
  CHECK(g.num_items() == 5);
  CHECK(g.items().original(5) == 500);
  auto h = g.history(1);
  REQUIRE(h.size() == 3);
  CHECK(h[2].prev_weight == 3.0f);

  // Insert in the middle of user 10's sequence: later positions shift, the next prev_weight follows.
  r = g.add_interaction(10, 300, 7.0f, 5);
  CHECK(r.position == 2);
  h = g.history(0);
  REQUIRE(h.size() == 4);
  CHECK(h[1].item == 1);
  CHECK(h[2].item == 3);
  CHECK(h[2].prev_weight == 5.0f);
  CHECK(h[3].item == 1);
  CHECK(h[3].prev_weight == 7.0f);
  CHECK(h[3].position == 3);
  // Equal times go after the existing ones.
  r = g.add_interaction(10, 400, 1.0f, 3);
  CHECK(r.position == 2);

  // A brand-new user.
  r = g.add_interaction(99, 100, 1.0f, 0);
  CHECK(r.new_user);
  CHECK(r.user == 3);
  CHECK(r.position == 0);
  CHECK(g.num_users() == 4);
  CHECK(g.history(3)[0].prev_weight == 0.0f);
  CHECK(g.num_interactions() == 11);

  r = g.add_interaction_dense(2, 1, 1.0f, 100);
  CHECK(r.position == 2);
  CHECK_THROWS_AS(g.add_interaction_dense(7, 1, 1.0f, 0), seqrec::Error);
}

TEST_CASE("k-core matches a hand-computed result", "[graph][kcore]") {
  // Users a..d (originals 1..4), items 1..4; c takes item 3 twice. Every user and item starts with
  // two interactions except d.
  Interactions x = make({{1, 1, 1, 0},
                         {1, 4, 1, 1},  // a
                         {2, 1, 1, 0},
                         {2, 2, 1, 1},  // b
                         {3, 2, 1, 0},
                         {3, 3, 1, 1},
                         {3, 3, 1, 2},    // c
                         {4, 4, 1, 0}});  // d
  const Interactions k2 = seqrec::graph::kcore_filter(x, 2);
  // 2-core by hand: d (1) goes; item 4 is left with a (1) and goes; a is left with item 1 and goes; item 1
  // with b, goes; b with item 2, goes; item 2 with c, goes; c keeps item 3 twice (2), item 3 has 2.
  CHECK(k2.num_users() == 1);
  CHECK(k2.num_items() == 1);
  CHECK(k2.size() == 2);
  CHECK(k2.users.original(0) == 3);
  CHECK(k2.items.original(1) == 3);
  CHECK(k2.user == std::vector<seqrec::id_t>{0, 0});
  CHECK(k2.item == std::vector<seqrec::id_t>{1, 1});
  CHECK(k2.time == std::vector<std::int64_t>{1, 2});

  // k = 1 keeps everything (relabelled identically); k = 3 leaves nothing.
  const Interactions k1 = seqrec::graph::kcore_filter(x, 1);
  CHECK(k1.size() == x.size());
  CHECK(k1.num_users() == 4);
  CHECK(k1.num_items() == 4);
  CHECK(seqrec::graph::kcore_filter(x, 3).size() == 0);

  // Core numbers themselves.
  seqrec::graph::InteractionGraph g(x);
  const auto uc = g.user_core_numbers();
  CHECK(uc == std::vector<seqrec::index_t>{1, 1, 2, 1});
  CHECK(naive_kcore_pairs(x, 2) == std::set<std::pair<std::int64_t, std::int64_t>>{{3, 3}});
}

TEST_CASE("5-core of Games agrees with iterative filtering", "[graph][kcore][data]") {
  const auto games = load_games();
  if (!games) {
    WARN("games.txt not found under $SEQREC_DATA or ../shared/data: skipped");
    return;
  }
  const auto t0 = std::chrono::steady_clock::now();
  const Interactions k5 = seqrec::graph::kcore_filter(*games, 5);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::size_t kept = 0;
  const auto ref = naive_kcore_pairs(*games, 5, &kept);
  CHECK(static_cast<std::size_t>(k5.size()) == kept);
  std::set<std::pair<std::int64_t, std::int64_t>> got;
  std::map<seqrec::id_t, seqrec::index_t> du, di;
  for (seqrec::index_t e = 0; e < k5.size(); ++e) {
    got.insert({k5.users.original(k5.user[e]), k5.items.original(k5.item[e])});
    ++du[k5.user[e]];
    ++di[k5.item[e]];
  }
  CHECK(got == ref);
  CHECK(static_cast<seqrec::index_t>(du.size()) == k5.num_users());
  CHECK(static_cast<seqrec::index_t>(di.size()) == k5.num_items());
  for (auto [u, d] : du) REQUIRE(d >= 5);
  for (auto [i, d] : di) REQUIRE(d >= 5);
  WARN("Games " << games->size() << " interactions, " << games->num_users() << " users, " << games->num_items()
                << " items; 5-core: " << k5.size() << " interactions, " << k5.num_users() << " users, "
                << k5.num_items() << " items (graph + core numbers + filter " << ms << " ms)");
}

TEST_CASE("co-occurrence counts by hand", "[graph][cooccurrence]") {
  // user 0: 1 2 3 1 ; user 1: 2 3 ; user 2: 4
  Interactions x =
      make({{0, 1, 1, 0}, {0, 2, 1, 1}, {0, 3, 1, 2}, {0, 1, 1, 3}, {1, 2, 1, 0}, {1, 3, 1, 1}, {2, 4, 1, 0}});
  const auto s = seqrec::data::Sequences::from(x);
  const auto all = seqrec::graph::cooccurrence(s);
  // Pairs of positions: (1,2) x2 in user 0 (item 1 twice), (1,3) x2, (2,3) x1 + x1 in user 1.
  CHECK(all.count(1, 2) == 2);
  CHECK(all.count(2, 1) == 2);
  CHECK(all.count(1, 3) == 2);
  CHECK(all.count(2, 3) == 2);
  CHECK(all.count(3, 2) == 2);
  CHECK(all.count(1, 1) == 0);  // no diagonal
  CHECK(all.count(4, 1) == 0);
  CHECK(all.row(4).empty());
  CHECK(all.row(0).empty());
  CHECK(all.nnz() == 6);
  CHECK(std::vector<seqrec::id_t>(all.row(1).begin(), all.row(1).end()) == std::vector<seqrec::id_t>{2, 3});

  // Window 1: adjacent positions only. user 0: (1,2) (2,3) (3,1); user 1: (2,3).
  const auto w1 = seqrec::graph::cooccurrence(s, {.window = 1});
  CHECK(w1.count(1, 2) == 1);
  CHECK(w1.count(2, 3) == 2);
  CHECK(w1.count(1, 3) == 1);
  CHECK(w1.count(3, 1) == 1);

  // Once per user: the number of users who share the two items.
  const auto users = seqrec::graph::cooccurrence(s, {.once_per_user = true});
  CHECK(users.count(1, 2) == 1);
  CHECK(users.count(1, 3) == 1);
  CHECK(users.count(2, 3) == 2);

  // The graph overload agrees, and the device export carries the same CSR.
  seqrec::graph::InteractionGraph g(x);
  const auto from_graph = seqrec::graph::cooccurrence(g);
  CHECK(from_graph.offsets == all.offsets);
  CHECK(from_graph.items == all.items);
  CHECK(from_graph.counts == all.counts);
  auto dev = all.to_device<float>(Kokkos::DefaultHostExecutionSpace{});
  CHECK(dev.rows() == 5);
  CHECK(dev.nnz() == 6);
  CHECK(dev.values(0) == 2.0f);
  CHECK_THROWS_AS(seqrec::graph::cooccurrence(s, {.window = -1}), seqrec::Error);
}

TEST_CASE("random walk with restart suggests unseen items and is seeded", "[graph][rwr]") {
  // Two communities: users 0-2 share items 1-3, users 3-4 share items 4-5; user 0 lacks item 3.
  Interactions x = make({{0, 1, 1, 0},
                         {0, 2, 1, 1},  // user 0
                         {1, 1, 1, 0},
                         {1, 2, 1, 1},
                         {1, 3, 1, 2},  // user 1
                         {2, 2, 1, 0},
                         {2, 3, 1, 1},  // user 2
                         {3, 4, 1, 0},
                         {3, 5, 1, 1},
                         {4, 4, 1, 0},
                         {4, 5, 1, 1},
                         {4, 6, 1, 2}});
  seqrec::graph::InteractionGraph g(x);
  seqrec::RandomSource src(7);
  const auto rs = src.next();
  const auto a = seqrec::graph::random_walk_with_restart(g, 0, rs, {.steps = 5000, .top_n = 5});
  const auto b = seqrec::graph::random_walk_with_restart(g, 0, rs, {.steps = 5000, .top_n = 5});
  REQUIRE(a.size() == 1);  // item 3 is the only unseen item in user 0's component
  CHECK(a[0].item == 3);
  CHECK(a[0].score > 0.05);
  CHECK(a[0].score < 1.0);
  REQUIRE(b.size() == a.size());
  CHECK(b[0].item == a[0].item);
  CHECK(b[0].score == a[0].score);
  const auto c = seqrec::graph::random_walk_with_restart(g, 0, src.next(), {.steps = 5000, .top_n = 5});
  CHECK(c[0].score != a[0].score);  // another stream, another walk

  // User 3: unseen item 6 through user 4; weighted walks run too, scores sorted.
  const auto d = seqrec::graph::random_walk_with_restart(g, 3, rs, {.restart = 0.1, .steps = 2000, .weighted = true});
  REQUIRE(d.size() == 1);
  CHECK(d[0].item == 6);
  for (const auto& s : d) CHECK(s.item != 4);
  // A user with no interactions gets nothing; a user added later walks like the others.
  Interactions lonely = x;
  const seqrec::id_t nobody = lonely.users.insert(999);
  CHECK(seqrec::graph::random_walk_with_restart(seqrec::graph::InteractionGraph(lonely), nobody, rs).empty());
  CHECK(g.add_interaction(777, 1, 1.0f, 0).user == 5);
  CHECK_THROWS_AS(seqrec::graph::random_walk_with_restart(g, 0, rs, {.restart = 1.0}), seqrec::Error);

  // More candidates: ordering is by score.
  const auto e = seqrec::graph::random_walk_with_restart(g, 5, rs, {.steps = 4000, .top_n = 2});
  REQUIRE(e.size() == 2);
  CHECK(e[0].score >= e[1].score);
}

TEMPLATE_TEST_CASE("CSR export carries the graph on every backend", "[graph][csr]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  seqrec::graph::InteractionGraph g(small());
  const auto ui = g.template user_items<T>(space);
  CHECK(ui.rows() == 3);
  CHECK(ui.nnz() == 7);
  auto off = seqrec::to_host(ui.offsets);
  auto idx = seqrec::to_host(ui.indices);
  auto val = seqrec::to_host(ui.values);
  auto tim = seqrec::to_host(ui.times);
  const std::vector<seqrec::index_t> e_off{0, 3, 5, 7};
  const std::vector<seqrec::id_t> e_idx{2, 1, 1, 4, 2, 3, 2};
  const std::vector<double> e_val{4, 5, 2, 2.5, 3, 1, 4.5};
  const std::vector<std::int64_t> e_tim{1, 3, 9, 4, 7, 2, 5};
  for (int r = 0; r < 4; ++r) CHECK(off(r) == e_off[r]);
  for (int k = 0; k < 7; ++k) {
    CHECK(idx(k) == e_idx[k]);
    CHECK(double(val(k)) == e_val[k]);
    CHECK(tim(k) == e_tim[k]);
  }

  const auto iu = g.template item_users<T>(space);
  CHECK(iu.rows() == 5);  // row 0 is padding
  auto ioff = seqrec::to_host(iu.offsets);
  auto iidx = seqrec::to_host(iu.indices);
  auto ival = seqrec::to_host(iu.values);
  // item 1: user 0 twice (t3 w5, t9 w2); item 2: users 0, 1, 2; item 3: user 2; item 4: user 1.
  const std::vector<seqrec::index_t> ei_off{0, 0, 2, 5, 6, 7};
  const std::vector<seqrec::id_t> ei_idx{0, 0, 0, 1, 2, 2, 1};
  const std::vector<double> ei_val{5, 2, 4, 3, 4.5, 1, 2.5};
  for (int r = 0; r < 6; ++r) CHECK(ioff(r) == ei_off[r]);
  for (int k = 0; k < 7; ++k) {
    CHECK(iidx(k) == ei_idx[k]);
    CHECK(double(ival(k)) == ei_val[k]);
  }

  // The export reads on the device: degree sums in a kernel.
  const auto offsets = ui.offsets;
  seqrec::index_t total = 0;
  Kokkos::parallel_reduce(
      Kokkos::RangePolicy<Space>(space, 0, ui.rows()),
      KOKKOS_LAMBDA(seqrec::index_t u, seqrec::index_t & acc) { acc += offsets(u + 1) - offsets(u); }, total);
  CHECK(total == 7);

  // Sequences upload the same way.
  const auto seq = seqrec::graph::sequences_to_csr<T>(space, g.to_sequences());
  auto sidx = seqrec::to_host(seq.indices);
  for (int k = 0; k < 7; ++k) CHECK(sidx(k) == e_idx[k]);
  CHECK_THROWS_AS(seqrec::graph::make_csr<T>(space, std::vector<seqrec::index_t>{0, 2}, std::vector<seqrec::id_t>{1}),
                  seqrec::Error);
}
