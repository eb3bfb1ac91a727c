#include "support/backends.hpp"

#include <seqrec/data/batch.hpp>
#include <seqrec/data/negative_sampler.hpp>
#include <seqrec/sequence/sasrec_encoder.hpp>
#include <seqrec/sequential_recommender.hpp>
#include <seqrec/train/checkpoint.hpp>
#include <seqrec/train/sgd.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

using Catch::Matchers::Contains;

namespace {
std::filesystem::path temp_path(const std::string& name) {
  return std::filesystem::temp_directory_path() / ("seqrec_test_" + std::to_string(::getpid()) + "_" + name);
}
}  // namespace

TEMPLATE_TEST_CASE("checkpoints round-trip parameters and optimizer state and reject mismatches", "[train][checkpoint]",
                   SEQREC_TEST_BACKENDS) {
  using Space = typename TestType::space;
  using T = typename TestType::scalar;
  Space space;
  const auto path = temp_path("ckpt.bin");
  seqrec::ParameterSet<T, Space> params;
  auto a = params.add(space, "a", {3, 4});
  auto b = params.add(space, "b", {5});
  seqrec::fill_uniform(space, a.value(), seqrec::RandomStream(1, 1), T(-1), T(1));
  seqrec::fill_uniform(space, b.value(), seqrec::RandomStream(1, 2), T(-1), T(1));
  seqrec::train::Adam<T, Space> adam(space, params, {});
  Kokkos::deep_copy(a.grad(), T(0.5));
  Kokkos::deep_copy(b.grad(), T(-2));
  adam.step(space);
  seqrec::train::save_checkpoint(path, params, &adam, {7, 5, 99});

  seqrec::ParameterSet<T, Space> other;
  auto a2 = other.add(space, "a", {3, 4});
  auto b2 = other.add(space, "b", {5});
  seqrec::train::Adam<T, Space> adam2(space, other, {});
  const auto state = seqrec::train::load_checkpoint(path, other, &adam2);
  CHECK(state.epoch == 7);
  CHECK(state.seed == 5);
  CHECK(state.streams_used == 99);
  CHECK(adam2.steps() == 1);
  auto ha = seqrec::to_host(a.value()), ha2 = seqrec::to_host(a2.value());
  for (int i = 0; i < 12; ++i) CHECK(ha2(i) == ha(i));
  auto m = seqrec::to_host(adam.second_moment(1)), m2 = seqrec::to_host(adam2.second_moment(1));
  for (int i = 0; i < 5; ++i) CHECK(m2(i) == m(i));

  // Mismatches are named.
  seqrec::ParameterSet<T, Space> wrong_shape;
  wrong_shape.add(space, "a", {4, 3});
  wrong_shape.add(space, "b", {5});
  CHECK_THROWS_WITH(seqrec::train::load_checkpoint(path, wrong_shape, nullptr),
                    Contains("parameter 'a' has shape [3, 4] in the checkpoint, [4, 3] in the model"));
  seqrec::ParameterSet<T, Space> wrong_name;
  wrong_name.add(space, "a", {3, 4});
  wrong_name.add(space, "c", {5});
  CHECK_THROWS_WITH(seqrec::train::load_checkpoint(path, wrong_name, nullptr),
                    Contains("is 'b' in the checkpoint, 'c' in the model"));
  seqrec::ParameterSet<std::conditional_t<sizeof(T) == 4, double, float>, Space> wrong_type;
  wrong_type.add(space, "a", {3, 4});
  wrong_type.add(space, "b", {5});
  CHECK_THROWS_WITH(seqrec::train::load_checkpoint(path, wrong_type, nullptr), Contains("parameters, the model is"));
  // Another optimizer's state does not load into this one.
  seqrec::train::Sgd<T, Space> sgd(space, other, {});
  using SgdT = seqrec::train::Sgd<T, Space>;
  CHECK_THROWS_WITH((seqrec::train::load_checkpoint<T, Space, SgdT>(path, other, &sgd)),
                    Contains("optimizer buffers, the optimizer keeps"));

  // A flipped byte fails the checksum; a truncated file is refused; nothing was modified by failed loads.
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(60);
    f.put('\x7f');
  }
  CHECK_THROWS_WITH(seqrec::train::load_checkpoint(path, other, &adam2), Contains("checksum mismatch"));
  std::filesystem::resize_file(path, 20);
  CHECK_THROWS_AS(seqrec::train::load_checkpoint(path, other, &adam2), seqrec::Error);
  CHECK_THROWS_WITH(seqrec::train::load_checkpoint(temp_path("missing.bin"), other, &adam2),
                    Contains("cannot open checkpoint"));
  auto again = seqrec::to_host(a2.value());
  for (int i = 0; i < 12; ++i) CHECK(again(i) == ha(i));
  std::filesystem::remove(path);
  // No temporary files are left behind.
  for (const auto& e : std::filesystem::directory_iterator(std::filesystem::temp_directory_path()))
    CHECK_FALSE(e.path().filename().string().starts_with(".seqrec_test_" + std::to_string(::getpid())));
}

TEST_CASE("resuming from a checkpoint on Serial continues exactly as an uninterrupted run", "[train][checkpoint]") {
  using Space = Kokkos::Serial;
  using T = double;
  Space space;
  // 60 users on a ring of 80 items.
  seqrec::data::Interactions x;
  for (int u = 0; u < 60; ++u)
    for (int k = 0; k < 6 + u % 5; ++k) x.push_back(x.users.insert(u), x.items.insert(1 + (3 * u + k) % 80), 1.0f, k);
  x.sort_chronological();
  const auto seqs = seqrec::data::Sequences::from(x);
  auto history = seqrec::data::make_user_history(space, seqs);
  seqrec::data::SequenceBatcher<Space> batcher(space, seqs, seqrec::data::UniformNegativeSampler<Space>(history));
  seqrec::RecommenderConfig cfg;
  cfg.dim = 8;
  cfg.batch = 16;
  seqrec::sequence::SelfAttentionConfig sa;
  sa.maxlen = 8;
  sa.blocks = 1;
  sa.dropout = 0.3;
  using Model = seqrec::SequentialRecommender<seqrec::sequence::SelfAttentionEncoder<T, Space>>;
  auto make = [&](const Space& s, auto& p, seqrec::index_t d) {
    return seqrec::sequence::SelfAttentionEncoder<T, Space>(s, p, d, sa);
  };
  seqrec::data::EpochShuffler<Space> shuffler(space, seqrec::data::EpochShuffler<Space>::trainable_users(seqs), 3);
  seqrec::data::SequenceBatch<Space> batch(space, cfg.batch, sa.maxlen, 1);
  auto epoch = [&](Model& m, int e) {
    shuffler.shuffle(space, e);
    for (seqrec::index_t b = 0; b < shuffler.num_batches(cfg.batch); ++b) {
      batcher.build(space, shuffler.batch(b, cfg.batch), batch, seqrec::RandomStream(11, e * 100 + b));
      m.train_step(space, batch, m.random().next());
    }
  };
  const auto path = temp_path("resume.bin");
  Model straight(space, x.num_items(), cfg, 5, make);
  for (int e = 0; e < 4; ++e) {
    epoch(straight, e);
    if (e == 1) straight.save(path, e + 1);
  }
  Model resumed(space, x.num_items(), cfg, 6, make);  // another seed: everything must come from the file
  const auto start = resumed.load(path);
  CHECK(start == 2);
  for (int e = int(start); e < 4; ++e) epoch(resumed, e);
  auto p1 = straight.parameters().begin(), p2 = resumed.parameters().begin();
  for (; p1 != straight.parameters().end(); ++p1, ++p2) {
    auto v1 = seqrec::to_host(p1->value()), v2 = seqrec::to_host(p2->value());
    INFO(p1->name());
    for (std::size_t i = 0; i < v1.size(); ++i) REQUIRE(v1(i) == v2(i));
  }
  std::filesystem::remove(path);
}
