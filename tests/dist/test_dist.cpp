// Data-parallel training and federated averaging over MPI. Run under mpirun with 1 or 2 ranks (ctest does
// both); every check holds for any number of ranks.
#include "support/backends.hpp"

#include <seqrec/data/batch.hpp>
#include <seqrec/data/negative_sampler.hpp>
#include <seqrec/data/split.hpp>
#include <seqrec/dist.hpp>
#include <seqrec/sequence/gru.hpp>
#include <seqrec/sequence/recurrent_encoder.hpp>
#include <seqrec/sequence/sasrec_encoder.hpp>
#include <seqrec/sequential_recommender.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

namespace {

using seqrec::id_t;
using seqrec::index_t;

// 96 users walking an item ring of 40 (the next item is the current + 1), lengths 3 to 14.
seqrec::data::Interactions walks() {
  seqrec::data::Interactions x;
  seqrec::RandomStream rs(31, 0);
  for (int u = 0; u < 96; ++u) {
    const int start = int(rs.below(2 * u, 40)), len = 3 + int(rs.below(2 * u + 1, 12));
    for (int k = 0; k < len; ++k) x.push_back(x.users.insert(u), x.items.insert(1 + (start + k) % 40), 1.0f, k);
  }
  x.sort_chronological();
  return x;
}

template <class T, class Space>
using Sasrec = seqrec::SequentialRecommender<seqrec::sequence::SelfAttentionEncoder<T, Space>>;

template <class T, class Space>
Sasrec<T, Space> make_sasrec(const Space& space, index_t items, index_t batch) {
  seqrec::RecommenderConfig cfg;
  cfg.dim = 8;
  cfg.batch = batch;
  cfg.adam.lr = 0.01;
  seqrec::sequence::SelfAttentionConfig sa;
  sa.maxlen = 6;
  sa.blocks = 1;
  sa.dropout = 0;  // dropout masks are keyed by the row of the local batch, which differs between rank counts
  return Sasrec<T, Space>(space, items, cfg, 3, [&](const Space& s, auto& params, index_t dim) {
    return seqrec::sequence::SelfAttentionEncoder<T, Space>(s, params, dim, sa);
  });
}

template <class Space>
struct Data {
  seqrec::data::Split split;
  seqrec::data::SequenceBatcher<Space> batcher;
  seqrec::data::EpochShuffler<Space> shuffler;
  Data(const Space& space, const seqrec::data::Interactions& x, std::vector<id_t> users = {})
      : split(seqrec::data::leave_one_out(x)),
        batcher(
            space, split.train_sequences,
            seqrec::data::UniformNegativeSampler<Space>(seqrec::data::make_user_history(space, split.train_sequences))),
        shuffler(space,
                 users.empty() ? seqrec::data::EpochShuffler<Space>::trainable_users(split.train_sequences) : users,
                 9) {}
};

// Trains `epochs` epochs with global batch `global`; with a GradientSync each rank takes its slice of every
// global batch (model batch = global / ranks). Returns the loss of every step.
template <class Model, class Space, class Sync>
std::vector<double> train(const Space& space, Model& model, Data<Space>& d, index_t global, int epochs, Sync&& sync,
                          int rank, int ranks) {
  seqrec::data::SequenceBatch<Space> batch(space, model.batch_size(), model.maxlen(), 1);
  std::vector<double> losses;
  for (int e = 0; e < epochs; ++e) {
    d.shuffler.shuffle(space, e);
    for (index_t b = 0; b < d.shuffler.num_batches(global); ++b) {
      const auto all = d.shuffler.batch(b, global);
      const auto [lo, hi] = seqrec::dist::rank_slice(0, index_t(all.extent(0)), rank, ranks);
      d.batcher.build(space, Kokkos::subview(all, Kokkos::make_pair(lo, hi)), batch,
                      seqrec::RandomStream(5, std::uint64_t(e) * 1000 + std::uint64_t(b)));
      losses.push_back(model.train_step(space, batch, model.random().next(), sync).value);
    }
  }
  return losses;
}

template <class Params>
std::vector<double> flat(const Params& params) {
  std::vector<double> out;
  for (const auto& p : params) {
    auto h = seqrec::to_host(p.value());
    for (index_t i = 0; i < p.size(); ++i) out.push_back(double(h(i)));
  }
  return out;
}

// How far two runs' parameters may drift apart. In double, rounding stays below 1e-6 (the bound).
// In float, the ranks' partial sums (and, on threaded backends, atomic adds in varying order) round
// differently, and Adam turns an element whose gradient is pure rounding noise into a step of about +-lr
// either way: whole steps of lr (0.01) can differ while every loss agrees, so a few lr is the bound there.
// Serial in one process is deterministic: `serial` (0 for an exact check).
template <class T, class Space>
double parameter_tolerance(double serial, int ranks = 1) {
  if (sizeof(T) == 4 && (ranks > 1 || !std::is_same_v<Space, Kokkos::Serial>)) return 0.05;
  if (sizeof(T) == 8 && !std::is_same_v<Space, Kokkos::Serial>) return std::max(serial, 1e-6);
  return serial;
}

double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  REQUIRE(a.size() == b.size());
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

}  // namespace

TEMPLATE_TEST_CASE("Data-parallel ranks with global batch B follow one process with batch B", "[dist][data-parallel]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  seqrec::dist::Communicator world;
  const int R = world.size();
  const index_t B = 16;
  REQUIRE(B % R == 0);
  const auto x = walks();

  // The reference: one process, batch B, no communication (every rank computes it alike).
  auto ref = make_sasrec<T>(space, x.num_items(), B);
  Data<Space> d_ref(space, x);
  const auto ref_losses = train(space, ref, d_ref, B, 2, seqrec::NoGradientSync{}, 0, 1);

  auto model = make_sasrec<T>(space, x.num_items(), B / R);
  Data<Space> d(space, x);
  seqrec::dist::GradientSync<T, Space> sync(world);
  const auto losses = train(space, model, d, B, 2, sync, world.rank(), R);

  // Double on Serial: the 1e-6. Threaded backends add embedding gradients atomically (order varies);
  // float carries about 1e-7 relative per operation through a dozen Adam steps.
  const double tol = sizeof(T) == 8 ? 1e-6 : 2e-4;
  REQUIRE(losses.size() == ref_losses.size());
  for (std::size_t s = 0; s < losses.size(); ++s) {
    INFO("step " << s << " of " << losses.size() << ", " << R << " rank(s)");
    CHECK(std::abs(losses[s] - ref_losses[s]) <= tol * std::max(1.0, std::abs(ref_losses[s])));
  }
  CHECK(max_abs_diff(flat(model.parameters()), flat(ref.parameters())) <= parameter_tolerance<T, Space>(tol, R));
  CHECK(ref_losses.back() < ref_losses.front());

  // Every rank holds the same model: the largest difference from rank 0's parameters is 0 up to rounding.
  auto mine = flat(model.parameters());
  auto root = mine;
  world.broadcast(std::span<double>(root), 0, "test");
  CHECK(max_abs_diff(mine, root) <= tol);

  // What crossed: the loss pair, dense gradients, and embedding rows; the item table never whole.
  const auto& ledger = world.ledger();
  const auto steps = std::int64_t(losses.size());
  const auto& st = sync.stats();
  CHECK(st.steps == steps);
  if (R == 1) {  // nothing to exchange: the sync steps aside
    CHECK(ledger.total_bytes() == 0);
    return;
  }
  CHECK(ledger.bytes.count("gradients") == 1);
  CHECK(ledger.bytes.count("embedding_rows") == 1);
  CHECK(st.rows_sent > 0);
  CHECK(st.rows_sent <= steps * x.num_items());  // never row 0 (padding), at most every item once per step
  CHECK(st.sparse_bytes == st.rows_sent * std::int64_t(8 * sizeof(T) + sizeof(seqrec::id_t)));
  CHECK(ledger.bytes.at("embedding_rows") == st.sparse_bytes);
  CHECK(st.dense_bytes ==
        steps * (model.parameters().numel() - model.items().parameter().size()) * std::int64_t(sizeof(T)));
}

TEMPLATE_TEST_CASE("Data-parallel works for a recurrent encoder too", "[dist][data-parallel]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  seqrec::dist::Communicator world;
  const int R = world.size();
  const auto x = walks();
  using Gru = seqrec::SequentialRecommender<seqrec::sequence::RecurrentEncoder<seqrec::sequence::Gru<T, Space>>>;
  auto make = [&](index_t batch) {
    seqrec::RecommenderConfig cfg;
    cfg.dim = 8;
    cfg.batch = batch;
    seqrec::sequence::RecurrentConfig rc;
    rc.maxlen = 6;
    rc.dropout = 0;
    return Gru(space, x.num_items(), cfg, 4, [&](const Space& s, auto& params, index_t dim) {
      return seqrec::sequence::RecurrentEncoder<seqrec::sequence::Gru<T, Space>>(s, params, dim, rc);
    });
  };
  Gru ref = make(8), model = make(8 / R);
  Data<Space> d_ref(space, x), d(space, x);
  const auto a = train(space, ref, d_ref, 8, 1, seqrec::NoGradientSync{}, 0, 1);
  seqrec::dist::GradientSync<T, Space> sync(world);
  const auto b = train(space, model, d, 8, 1, sync, world.rank(), R);
  const double tol = sizeof(T) == 8 ? 1e-6 : 2e-4;
  for (std::size_t s = 0; s < a.size(); ++s) CHECK(std::abs(a[s] - b[s]) <= tol * std::max(1.0, std::abs(a[s])));
  CHECK(max_abs_diff(flat(model.parameters()), flat(ref.parameters())) <= parameter_tolerance<T, Space>(tol, R));
}

TEMPLATE_TEST_CASE("FedAvg with one client equals local training", "[dist][fedavg]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  seqrec::dist::Communicator self(MPI_COMM_SELF);  // a federation of one, on every rank
  const auto x = walks();
  auto local = make_sasrec<T>(space, x.num_items(), 8);
  auto fed = make_sasrec<T>(space, x.num_items(), 8);
  Data<Space> dl(space, x), df(space, x);
  seqrec::dist::FedAvg fedavg(self, fed.parameters(), {});
  for (int round = 0; round < 3; ++round) {
    // One local epoch per round (the trainer's epoch e is round e here).
    dl.shuffler.shuffle(space, round);
    df.shuffler.shuffle(space, round);
    seqrec::data::SequenceBatch<Space> b1(space, 8, 6, 1), b2(space, 8, 6, 1);
    for (index_t b = 0; b < dl.shuffler.num_batches(8); ++b) {
      dl.batcher.build(space, dl.shuffler.batch(b, 8), b1, seqrec::RandomStream(5, b));
      df.batcher.build(space, df.shuffler.batch(b, 8), b2, seqrec::RandomStream(5, b));
      local.train_step(space, b1, local.random().next());
      fed.train_step(space, b2, fed.random().next());
    }
    const auto r = fedavg.average(fed.parameters(), 123);
    CHECK(r.weight == 1.0);
    CHECK(r.update_norm > 0);
    CHECK(!r.clipped);
  }
  // Exact on Serial: one client's weighted model is the model itself.
  CHECK(max_abs_diff(flat(fed.parameters()), flat(local.parameters())) <= parameter_tolerance<T, Space>(0.0));
}

TEMPLATE_TEST_CASE("FedAvg weights clients by size and sends parameters only", "[dist][fedavg]", SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  seqrec::dist::Communicator world;
  const int R = world.size(), r = world.rank();
  seqrec::ParameterSet<T, Space> params;
  const auto& a = params.add(space, "a", {3, 4});
  const auto& b = params.add(space, "b", {5});
  Kokkos::deep_copy(a.value(), T(1));
  Kokkos::deep_copy(b.value(), T(-2));
  seqrec::dist::FedAvg fedavg(world, params, {});
  // Client r trains to a + (r + 1), b + 10 (r + 1) and holds (r + 1) examples: weight (r + 1) / sum.
  Kokkos::deep_copy(a.value(), T(1 + (r + 1)));
  Kokkos::deep_copy(b.value(), T(-2 + 10 * (r + 1)));
  world.ledger().clear();
  const auto round = fedavg.average(params, r + 1);
  const double total = R * (R + 1) / 2.0;
  double expect_step = 0;
  for (int k = 0; k < R; ++k) expect_step += (k + 1) * (k + 1) / total;  // sum_k w_k (k + 1)
  CHECK(round.weight == Approx((r + 1) / total));
  auto ha = seqrec::to_host(a.value());
  auto hb = seqrec::to_host(b.value());
  for (index_t i = 0; i < 12; ++i) CHECK(double(ha(i)) == Approx(1 + expect_step).epsilon(1e-6));
  for (index_t i = 0; i < 5; ++i) CHECK(double(hb(i)) == Approx(-2 + 10 * expect_step).epsilon(1e-6));

  // Parameters only: one update of exactly the parameters' size, and the client's size (one integer); a
  // federation of one sends nothing.
  const auto& ledger = world.ledger();
  CHECK(round.bytes_sent == ledger.total_bytes());
  if (R == 1) {
    CHECK(ledger.total_bytes() == 0);
    return;
  }
  CHECK(ledger.bytes.size() == 2);
  CHECK(ledger.bytes.at("parameters") == params.numel() * std::int64_t(sizeof(T)));
  CHECK(ledger.bytes.at("client_size") == std::int64_t(sizeof(std::int64_t)));
}

TEMPLATE_TEST_CASE("FedAvg clips each client's update and adds the same noise on every rank", "[dist][fedavg]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  seqrec::dist::Communicator world;
  const int R = world.size();
  seqrec::ParameterSet<T, Space> params;
  const auto& a = params.add(space, "a", {100});
  seqrec::dist::FedAvgOptions opt;
  opt.clip = 0.5;
  seqrec::dist::FedAvg clip_only(world, params, opt);
  Kokkos::deep_copy(a.value(), T(1));  // update norm 10, clipped to 0.5
  const auto r1 = clip_only.average(params, 1);
  CHECK(r1.update_norm == Approx(10.0));
  CHECK(r1.clipped);
  double norm = 0;
  for (auto v : flat(params)) norm += v * v;
  CHECK(std::sqrt(norm) == Approx(0.5).epsilon(1e-5));  // every client moved 0.5 along the same direction

  opt.noise_multiplier = 2;
  opt.seed = 77;
  seqrec::dist::FedAvg noisy(world, params, opt);
  const auto before = flat(params);
  const auto r2 = noisy.average(params, 1);  // no local change: the step is the noise alone
  CHECK(r2.noise_std == Approx(2 * 0.5 / R));
  auto after = flat(params);
  double sum2 = 0;
  for (std::size_t i = 0; i < after.size(); ++i) sum2 += (after[i] - before[i]) * (after[i] - before[i]);
  const double sd = std::sqrt(sum2 / double(after.size()));
  CHECK(sd > 0.6 * r2.noise_std);
  CHECK(sd < 1.4 * r2.noise_std);
  auto root = after;
  world.broadcast(std::span<double>(root), 0, "test");
  CHECK(max_abs_diff(after, root) == 0);

  CHECK_THROWS_WITH(seqrec::dist::FedAvg(world, params, seqrec::dist::FedAvgOptions{0, 1.0, 0}),
                    Catch::Contains("noise needs a clipping bound"));
}
