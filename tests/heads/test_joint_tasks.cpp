// Joint embedding tasks: the item-item pairs a batch yields, the skip-gram loss against a host reference and its
// finite-difference gradient on the item table; the user-user positives (largest Jaccard overlap), the InfoNCE
// loss against a host reference and its finite-difference gradient on the hidden states.
#include "support/backends.hpp"
#include "support/gradcheck.hpp"

#include <seqrec/heads/joint_tasks.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <set>
#include <vector>

namespace {

using Id = seqrec::id_t;
using seqrec::index_t;

// Fills a batch's users and inputs from host rows (targets are not read by the joint tasks).
template <class Space>
void fill_batch(seqrec::data::SequenceBatch<Space>& batch, const std::vector<Id>& users,
                const std::vector<std::vector<Id>>& inputs) {
  auto hu = Kokkos::create_mirror_view(batch.users);
  auto hi = Kokkos::create_mirror_view(batch.inputs);
  auto ht = Kokkos::create_mirror_view(batch.targets);
  for (std::size_t b = 0; b < users.size(); ++b) {
    hu(b) = users[b];
    for (std::size_t t = 0; t < inputs[b].size(); ++t) {
      hi(b, t) = inputs[b][t];
      ht(b, t) = inputs[b][t] == 0 ? 0 : 1;
    }
  }
  Kokkos::deep_copy(batch.users, hu);
  Kokkos::deep_copy(batch.inputs, hi);
  Kokkos::deep_copy(batch.targets, ht);
}

double softplus(double z) { return z > 0 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z)); }

}  // namespace

TEMPLATE_TEST_CASE("item-item task: window pairs, skip-gram loss and its gradient", "[heads][grad][multitask]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  using Task = seqrec::heads::ItemItemTask<T, Space>;
  Space space;
  constexpr index_t B = 3, L = 5, d = 19, n = 9;  // d > 16: CUDA backward's 16-dim chunks, one partial
  seqrec::ParameterSet<T, Space> params;
  seqrec::sequence::Embedding<T, Space> items(space, params, "items", n + 1, d);
  items.init_normal(space, seqrec::RandomStream(5, 0), T(0.6));
  Task task(space, params, d, n, typename Task::Options{2, 3}, B * L);
  seqrec::data::SequenceBatch<Space> batch(space, B, L, 1);
  const std::vector<std::vector<Id>> in = {{0, 0, 3, 4, 5}, {1, 2, 9, 2, 7}, {0, 0, 0, 0, 0}};
  fill_batch(batch, {0, 1, -1}, in);
  seqrec::View2<T, Space> hidden("hidden", B * L, d), dh("dh", B * L, d);
  seqrec::View1<Id, Space> targets("targets", B * L);
  const seqrec::RandomStream step(42, 7);
  const auto value = task.forward(space, hidden, targets, batch, items, true, step);

  // Pairs: every (center, item within 2 positions), both non-padding; 3 negatives in 1..n each.
  auto ids = seqrec::to_host(task.pair_ids());
  auto logits = seqrec::to_host(task.logits());
  auto dlogits = seqrec::to_host(task.upstream());
  auto e = seqrec::to_host(items.table());
  const int offsets[4] = {-2, -1, 1, 2};
  index_t pairs = 0;
  double ref = 0;
  for (index_t b = 0; b < B; ++b)
    for (index_t t = 0; t < L; ++t)
      for (int s = 0; s < 4; ++s) {
        const index_t r = b * L + t, u = t + offsets[s];
        const Id center = in[b][t];
        const Id context = (center != 0 && u >= 0 && u < L) ? in[b][u] : 0;
        CHECK(ids(r, s, 0) == context);
        if (context == 0) {
          for (int c = 0; c < 4; ++c) CHECK(dlogits(r, s, c) == T(0));
          continue;
        }
        ++pairs;
        for (int c = 0; c < 4; ++c) {
          const Id other = ids(r, s, c);
          CHECK((other >= 1 && other <= n));
          double x = 0;
          for (index_t k = 0; k < d; ++k) x += double(e(center, k)) * double(e(other, k));
          CHECK(logits(r, s, c) == Approx(x).epsilon(seqrec::test::tolerance<T>()).margin(1e-6));
          ref += c == 0 ? softplus(-x) : softplus(x);
        }
      }
  CHECK(pairs == 6 + 14);  // row 0: 3 items, 2 partners each; row 1: 5 items, 2 + 3 + 4 + 3 + 2 partners
  CHECK(value.count == pairs);
  CHECK(value.value == Approx(ref / double(pairs)).epsilon(seqrec::test::tolerance<T>()));

  // The negatives are the step's: the same stream draws the same ones, another stream others. (Host mirrors
  // of host views share their memory: copy.)
  const std::vector<Id> drawn(ids.data(), ids.data() + ids.size());
  task.forward(space, hidden, targets, batch, items, true, step);
  auto again = seqrec::to_host(task.pair_ids());
  auto first = std::vector<Id>(again.data(), again.data() + again.size());
  task.forward(space, hidden, targets, batch, items, true, seqrec::RandomStream(42, 8));
  auto other = seqrec::to_host(task.pair_ids());
  bool differs = false;
  for (std::size_t i = 0; i < first.size(); ++i) {
    CHECK(first[i] == drawn[i]);
    differs = differs || other.data()[i] != first[i];
  }
  CHECK(differs);

  if constexpr (std::is_same_v<T, double>) {
    auto loss = [&] { return task.forward(space, hidden, targets, batch, items, false, step).value; };
    params.zero_grad(space);
    task.forward(space, hidden, targets, batch, items, true, step);
    Kokkos::deep_copy(dh, T(3));
    task.backward(space, hidden, targets, items, dh, false, batch);
    seqrec::test::check_gradient(space, items.parameter().value(), items.parameter().grad(), loss, "items", 40);
    auto hdh = seqrec::to_host(dh);
    for (std::size_t i = 0; i < hdh.size(); ++i) CHECK(hdh.data()[i] == T(0));  // no gradient on the hidden states
  }
  // Without grad the upstream gradient is zero; a batch of padding has no pairs.
  task.forward(space, hidden, targets, batch, items, false, step);
  auto none = seqrec::to_host(task.upstream());
  for (std::size_t i = 0; i < none.size(); ++i) CHECK(none.data()[i] == T(0));
  fill_batch(batch, {-1, -1, -1}, {{0, 0, 0, 0, 0}, {0, 0, 0, 0, 0}, {0, 0, 0, 0, 0}});
  const auto empty = task.forward(space, hidden, targets, batch, items, true, step);
  CHECK((empty.count == 0 && empty.value == 0));
  CHECK_THROWS_AS(Task(space, params, d, n, typename Task::Options{0, 3}, B * L), seqrec::Error);
}

TEMPLATE_TEST_CASE("user-user task: Jaccard positives, InfoNCE loss and its gradient", "[heads][grad][multitask]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  using Task = seqrec::heads::UserUserTask<T, Space>;
  Space space;
  constexpr index_t B = 5, L = 3, d = 4;
  // Training item sets: users 0 and 1 share {1, 2} (Jaccard 2/4), 0 and 2 share {3} (1/5), user 3 shares nothing,
  // user 4 shares {2} with 0 (1/4) and 1 (1/3).
  seqrec::data::Sequences train;
  const std::vector<std::vector<Id>> sets = {{1, 2, 3, 1}, {2, 1, 5}, {3, 6, 7}, {8, 9}, {2, 10}};
  train.offsets = {0};
  train.num_items = 10;
  for (const auto& s : sets) {
    for (Id i : s) {
      train.items.push_back(i);
      train.weights.push_back(1);
      train.times.push_back(0);
    }
    train.offsets.push_back(index_t(train.items.size()));
  }
  seqrec::ParameterSet<T, Space> params;
  seqrec::sequence::Embedding<T, Space> items(space, params, "items", 11, d);
  Task task(space, params, d, 10, train, B * L);
  seqrec::data::SequenceBatch<Space> batch(space, B, L, 1);
  // Row b holds user order[b]; row 4 holds user 4 with only padding inputs, so it takes no part.
  const std::vector<Id> order = {1, 0, 3, 2, 4};
  fill_batch(batch, order, {{0, 2, 1}, {1, 2, 3}, {0, 8, 9}, {3, 6, 7}, {0, 0, 0}});
  seqrec::View2<T, Space> hidden("hidden", B * L, d), dh("dh", B * L, d);
  seqrec::fill_normal(space, hidden, seqrec::RandomStream(9, 1), T(0), T(1));
  seqrec::View1<Id, Space> targets("targets", B * L);
  const auto value = task.forward(space, hidden, targets, batch, items, true, seqrec::RandomStream());

  // Positives: row 0 (user 1) -> row 1 (user 0); row 1 -> row 0; row 2 (user 3) none; row 3 (user 2) -> row 1.
  auto pos = seqrec::to_host(task.positive());
  CHECK(pos(0) == 1);
  CHECK(pos(1) == 0);
  CHECK(pos(2) == -1);
  CHECK(pos(3) == 1);
  CHECK(pos(4) == -1);
  CHECK(task.last_positives() == 3);
  CHECK(value.count == 3);

  auto h = seqrec::to_host(hidden);
  const auto score = [&](index_t b, index_t c) {
    double s = 0;
    for (index_t k = 0; k < d; ++k) s += double(h(b * L + L - 1, k)) * double(h(c * L + L - 1, k));
    return s / std::sqrt(double(d));
  };
  double ref = 0;
  for (index_t b : {0, 1, 3}) {
    double z = 0;
    for (index_t c = 0; c < 4; ++c)
      if (c != b) z += std::exp(score(b, c));
    ref += std::log(z) - score(b, pos(b));
  }
  CHECK(value.value == Approx(ref / 3).epsilon(seqrec::test::tolerance<T>()));

  if constexpr (std::is_same_v<T, double>) {
    auto loss = [&] { return task.forward(space, hidden, targets, batch, items, false, seqrec::RandomStream()).value; };
    task.forward(space, hidden, targets, batch, items, true, seqrec::RandomStream());
    task.backward(space, hidden, targets, items, dh, false, batch);
    seqrec::test::check_gradient(space, hidden, dh, loss, "hidden", 60);
    auto hdh = seqrec::to_host(dh);
    for (index_t r = 0; r < B * L; ++r)
      for (index_t k = 0; k < d; ++k)
        if (r % L != L - 1 || r / L == 4) CHECK(hdh(r, k) == T(0));  // only the last positions of taking part rows
    seqrec::View2<T, Space> acc("acc", B * L, d);
    Kokkos::deep_copy(acc, T(1));
    task.forward(space, hidden, targets, batch, items, true, seqrec::RandomStream());  // the checks ran without grad
    task.backward(space, hidden, targets, items, acc, true, batch);
    auto ha = seqrec::to_host(acc);
    for (std::size_t i = 0; i < ha.size(); ++i) CHECK(ha.data()[i] == Approx(1 + hdh.data()[i]).epsilon(1e-12));
  }
  // Nobody shares anything: no positives, loss 0, zero gradient.
  fill_batch(batch, {3, 2, -1, -1, -1}, {{0, 8, 9}, {3, 6, 7}, {0, 0, 0}, {0, 0, 0}, {0, 0, 0}});
  const auto empty = task.forward(space, hidden, targets, batch, items, true, seqrec::RandomStream());
  CHECK((empty.count == 0 && empty.value == 0));
  auto g = seqrec::to_host(task.upstream());
  for (std::size_t i = 0; i < g.size(); ++i) CHECK(g.data()[i] == T(0));
  seqrec::View2<T, Space> wrong("wrong", B * L, d + 1);
  CHECK_THROWS_AS(task.forward(space, wrong, targets, batch, items, true, seqrec::RandomStream()), seqrec::Error);
}
