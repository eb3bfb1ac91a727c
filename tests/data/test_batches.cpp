#include "support/backends.hpp"

#include <seqrec/data/batch.hpp>
#include <seqrec/data/negative_sampler.hpp>
#include <seqrec/data/split.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <vector>

namespace {

using seqrec::data::Interactions;
using seqrec::data::Sequences;

// Sequences with items inserted 1..num_items first (dense id = original id).
Sequences sequences(int num_items, const std::vector<std::vector<int>>& rows) {
  Interactions x;
  for (int i = 1; i <= num_items; ++i) x.items.insert(i);
  std::int64_t t = 0;
  for (std::size_t u = 0; u < rows.size(); ++u) {
    const auto du = x.users.insert(static_cast<std::int64_t>(u));
    for (int i : rows[u]) x.push_back(du, i, 1.0f, t++);
  }
  return Sequences::from(x);
}

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

template <class Batch>
struct HostBatch {
  explicit HostBatch(const Batch& b)
      : users(seqrec::to_host(b.users)),
        inputs(seqrec::to_host(b.inputs)),
        targets(seqrec::to_host(b.targets)),
        negatives(seqrec::to_host(b.negatives)),
        lengths(seqrec::to_host(b.lengths)) {}
  decltype(seqrec::to_host(std::declval<Batch>().users)) users;
  decltype(seqrec::to_host(std::declval<Batch>().inputs)) inputs, targets;
  decltype(seqrec::to_host(std::declval<Batch>().negatives)) negatives;
  decltype(seqrec::to_host(std::declval<Batch>().lengths)) lengths;
};

}  // namespace

TEMPLATE_TEST_CASE("batches: left padding, targets shifted by one, valid negatives", "[data][batch]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  Space space;
  const int n_items = 12;
  const Sequences train = sequences(n_items, {{1, 2, 3, 4, 5, 6, 7, 8}, {3}, {}, {5, 9, 2}});
  const auto hist = seqrec::data::make_user_history(space, train);
  const seqrec::data::SequenceBatcher<Space> batcher(space, train, seqrec::data::UniformNegativeSampler<Space>(hist));
  seqrec::data::SequenceBatch<Space> batch(space, 6, 5, 2);
  CHECK(batch.capacity() == 6);
  CHECK(batch.maxlen() == 5);
  CHECK(batch.num_negatives() == 2);

  auto users = seqrec::test::from_vector<Space, seqrec::id_t>({0, 1, 2, 3});
  const seqrec::RandomStream rs(5, 9);
  batcher.build(space, users, batch, rs);
  CHECK(batch.size == 4);
  HostBatch h(batch);

  const std::vector<std::vector<int>> e_in{{3, 4, 5, 6, 7}, {0, 0, 0, 0, 0}, {0, 0, 0, 0, 0}, {0, 0, 0, 5, 9}};
  const std::vector<std::vector<int>> e_tg{{4, 5, 6, 7, 8}, {0, 0, 0, 0, 0}, {0, 0, 0, 0, 0}, {0, 0, 0, 9, 2}};
  const std::vector<int> e_len{5, 0, 0, 2, 0, 0};
  const std::vector<std::set<int>> seen{{1, 2, 3, 4, 5, 6, 7, 8}, {3}, {}, {2, 5, 9}};
  for (int b = 0; b < 6; ++b) {
    CHECK(h.users(b) == (b < 4 ? b : -1));
    CHECK(h.lengths(b) == e_len[b]);
    for (int t = 0; t < 5; ++t) {
      CHECK(h.inputs(b, t) == (b < 4 ? e_in[b][t] : 0));
      CHECK(h.targets(b, t) == (b < 4 ? e_tg[b][t] : 0));
      if (t + 1 < 5 && h.inputs(b, t) != 0) CHECK(h.targets(b, t) == h.inputs(b, t + 1));  // shifted by one
      for (int j = 0; j < 2; ++j) {
        const int neg = h.negatives(b, t, j);
        if (h.targets(b, t) == 0) {
          CHECK(neg == 0);
        } else {
          CHECK(neg >= 1);
          CHECK(neg <= n_items);
          CHECK(seen[b].count(neg) == 0);
        }
      }
    }
  }

  // Deterministic: the same stream gives the same batch; a user's negatives do not depend on where it
  // sits in the batch or on the backend.
  auto swapped = seqrec::test::from_vector<Space, seqrec::id_t>({3, 0});
  seqrec::data::SequenceBatch<Space> other(space, 2, 5, 2);
  batcher.build(space, swapped, other, rs);
  HostBatch o(other);
  for (int t = 0; t < 5; ++t)
    for (int j = 0; j < 2; ++j) {
      CHECK(o.negatives(1, t, j) == h.negatives(0, t, j));
      CHECK(o.negatives(0, t, j) == h.negatives(3, t, j));
    }
  const seqrec::data::SequenceBatcher<Kokkos::Serial> serial(
      Kokkos::Serial{}, train,
      seqrec::data::UniformNegativeSampler<Kokkos::Serial>(seqrec::data::make_user_history(Kokkos::Serial{}, train)));
  seqrec::data::SequenceBatch<Kokkos::Serial> ref(Kokkos::Serial{}, 6, 5, 2);
  serial.build(Kokkos::Serial{}, seqrec::test::from_vector<Kokkos::Serial, seqrec::id_t>({0, 1, 2, 3}), ref, rs);
  for (int b = 0; b < 6; ++b)
    for (int t = 0; t < 5; ++t)
      for (int j = 0; j < 2; ++j) REQUIRE(ref.negatives(b, t, j) == h.negatives(b, t, j));

  // The CSR constructor (from graph::sequences_to_csr) builds the same batch.
  const seqrec::data::SequenceBatcher<Space> from_csr(seqrec::graph::sequences_to_csr(space, train),
                                                      seqrec::data::UniformNegativeSampler<Space>(hist));
  seqrec::data::SequenceBatch<Space> third(space, 6, 5, 2);
  from_csr.build(space, users, third, rs);
  HostBatch c(third);
  for (int b = 0; b < 6; ++b)
    for (int t = 0; t < 5; ++t) CHECK(c.negatives(b, t, 1) == h.negatives(b, t, 1));

  auto too_many = seqrec::test::from_vector<Space, seqrec::id_t>({0, 1, 2, 3, 0, 1, 2});
  CHECK_THROWS_AS(batcher.build(space, too_many, batch, rs), seqrec::Error);
}

TEMPLATE_TEST_CASE("epoch shuffler: seeded permutations, batches cover every user", "[data][batch]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  Space space;
  const Sequences train = sequences(5, {{1, 2}, {3}, {1, 2, 3}, {}, {4, 5}, {5, 1}, {2, 2}});
  const auto eligible = seqrec::data::EpochShuffler<Space>::trainable_users(train);
  CHECK(eligible == std::vector<seqrec::id_t>{0, 2, 4, 5, 6});

  std::vector<seqrec::id_t> users(100);
  for (int u = 0; u < 100; ++u) users[u] = u;
  seqrec::data::EpochShuffler<Space> a(space, users, 17), b(space, users, 17);
  auto order0 = seqrec::to_host(a.order());
  std::vector<seqrec::id_t> first(order0.data(), order0.data() + 100);
  CHECK(std::is_permutation(first.begin(), first.end(), users.begin()));
  CHECK(first != users);

  a.shuffle(space, 1);
  auto order1 = seqrec::to_host(a.order());
  std::vector<seqrec::id_t> second(order1.data(), order1.data() + 100);
  CHECK(std::is_permutation(second.begin(), second.end(), users.begin()));
  CHECK(second != first);
  b.shuffle(space, 1);  // epoch e depends only on (seed, e)
  auto order1b = seqrec::to_host(b.order());
  CHECK(std::equal(second.begin(), second.end(), order1b.data()));
  a.shuffle(space, 0);
  auto again = seqrec::to_host(a.order());
  CHECK(std::equal(first.begin(), first.end(), again.data()));

  CHECK(a.num_batches(32) == 4);
  std::vector<seqrec::id_t> seen;
  for (seqrec::index_t k = 0; k < a.num_batches(32); ++k) {
    auto sub = a.batch(k, 32);
    CHECK(sub.extent(0) == (k < 3 ? 32u : 4u));
    auto hs = seqrec::to_host(sub);
    for (std::size_t i = 0; i < hs.extent(0); ++i) seen.push_back(hs(i));
  }
  CHECK(std::is_permutation(seen.begin(), seen.end(), users.begin()));
  CHECK_THROWS_AS(a.batch(4, 32), seqrec::Error);
}

TEMPLATE_TEST_CASE("Games: a SASRec epoch of batches 128 x 50 stays valid", "[data][batch][games]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  if (!std::is_same_v<T, float>) return;  // the scalar plays no part here: run each backend once
  const auto games = load_games();
  if (!games) {
    WARN("games.txt not found under $SEQREC_DATA or ../shared/data: skipped");
    return;
  }
  Space space;
  const auto split = seqrec::data::leave_one_out(*games);
  const auto hist = seqrec::data::make_user_history(space, split.train_sequences);
  const seqrec::data::SequenceBatcher<Space> batcher(space, split.train_sequences,
                                                     seqrec::data::UniformNegativeSampler<Space>(hist));
  seqrec::data::EpochShuffler<Space> shuffler(
      space, seqrec::data::EpochShuffler<Space>::trainable_users(split.train_sequences), 2018);
  seqrec::data::SequenceBatch<Space> batch(space, 128, 50, 1);
  seqrec::RandomSource source(2018);
  const auto& s = split.train_sequences;

  // One epoch; check every batch on the host, time the builds alone.
  double build_ms = 0;
  seqrec::index_t positions = 0;
  const auto rs = source.next();
  for (seqrec::index_t k = 0; k < shuffler.num_batches(128); ++k) {
    space.fence();
    const auto t0 = std::chrono::steady_clock::now();
    batcher.build(space, shuffler.batch(k, 128), batch, rs);
    space.fence();
    build_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    HostBatch h(batch);
    for (seqrec::index_t b = 0; b < batch.size; ++b) {
      const auto u = h.users(b);
      const auto begin = s.offsets[u], n = s.length(u);
      REQUIRE(h.lengths(b) == std::min<seqrec::index_t>(n - 1, 50));
      REQUIRE(h.targets(b, 49) == s.items[begin + n - 1]);
      for (int t = 50 - int(h.lengths(b)); t < 50; ++t) {
        const auto neg = h.negatives(b, t, 0);
        REQUIRE(neg >= 1);
        REQUIRE(neg <= s.num_items);
        REQUIRE(std::find(s.items.begin() + begin, s.items.begin() + begin + n, neg) == s.items.begin() + begin + n);
        ++positions;
      }
    }
  }
  WARN("Games LOO train: " << shuffler.size() << " users in " << shuffler.num_batches(128) << " batches of 128 x 50, "
                           << positions << " real positions; build " << build_ms / double(shuffler.num_batches(128))
                           << " ms per batch (" << build_ms << " ms per epoch) on " << Space::name() << " with "
                           << Space().concurrency() << " threads");
}
