// Sequence-model training batches built on the device from the users' training sequences (CSR):
// left-padded input windows, next-item targets and sampled negatives per position, the SASRec recipe.
// Output views are allocated once per batch shape (SequenceBatch) and refilled; nothing is allocated per
// batch.
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/random.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/data/interactions.hpp>
#include <seqrec/data/negative_sampler.hpp>
#include <seqrec/graph/csr.hpp>

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

namespace seqrec::data {

// One batch of `capacity` rows. Row b belongs to users(b) (-1 for rows past `size`, which are all
// padding). Of its maxlen positions the last lengths(b) are real, the rest padding (item 0):
//   inputs(b, t)          the item at t
//   targets(b, t)         the item after it (0 where inputs is padding)
//   negatives(b, t, j)    j-th negative for position t, never in the user's history (0 where padding)
template <ExecutionSpace Space>
struct SequenceBatch {
  using execution_space = Space;
  using memory_space = typename Space::memory_space;

  View1<id_t, Space> users;
  View2<id_t, Space> inputs;
  View2<id_t, Space> targets;
  View3<id_t, Space> negatives;
  View1<index_t, Space> lengths;
  index_t size = 0;  // rows filled by the last build

  SequenceBatch() = default;
  SequenceBatch(const Space& space, index_t capacity, index_t maxlen, index_t num_negatives = 1) {
    SEQREC_REQUIRE(capacity > 0 && maxlen > 0 && num_negatives >= 0, "SequenceBatch: capacity (", capacity,
                   ") and maxlen (", maxlen, ") must be positive and num_negatives (", num_negatives, ") >= 0");
    users = make_uninitialized<View1<id_t, Space>>(space, "SequenceBatch::users", capacity);
    inputs = make_uninitialized<View2<id_t, Space>>(space, "SequenceBatch::inputs", capacity, maxlen);
    targets = make_uninitialized<View2<id_t, Space>>(space, "SequenceBatch::targets", capacity, maxlen);
    negatives =
        make_uninitialized<View3<id_t, Space>>(space, "SequenceBatch::negatives", capacity, maxlen, num_negatives);
    lengths = make_uninitialized<View1<index_t, Space>>(space, "SequenceBatch::lengths", capacity);
  }

  index_t capacity() const { return static_cast<index_t>(inputs.extent(0)); }
  index_t maxlen() const { return static_cast<index_t>(inputs.extent(1)); }
  index_t num_negatives() const { return static_cast<index_t>(negatives.extent(2)); }

  // The shape a model was built for, or a clear error naming `who`.
  void require_shape(index_t want_capacity, index_t want_maxlen, index_t want_negatives, const char* who) const {
    SEQREC_REQUIRE(capacity() == want_capacity && maxlen() == want_maxlen && num_negatives() == want_negatives, who,
                   ": batch is ", capacity(), "x", maxlen(), "x", num_negatives(), ", the model expects ",
                   want_capacity, "x", want_maxlen, "x", want_negatives);
  }
};

// Fills SequenceBatch from the training sequences and a uniform negative sampler. For a user with
// training sequence s of length n, the window holds the last min(n - 1, maxlen) items of s[0 .. n-2],
// right-aligned, and each target is the next item of s (so the last target is s[n-1]); a user with one
// item or none gives an all-padding row.
//
// The negative for the target s[k] of user u, j-th of n_neg, is draw (offsets[u] + k) * n_neg + j of the
// stream: it depends on the interaction, not on the batch it lands in, the batch size or the thread count.
template <ExecutionSpace Space>
class SequenceBatcher {
 public:
  using execution_space = Space;
  using memory_space = typename Space::memory_space;

  SequenceBatcher() = default;
  // train: chronological training sequences (uploaded here). sampler: what negatives avoid (for SASRec,
  // make_user_history(space, train)).
  SequenceBatcher(const Space& space, const Sequences& train, UniformNegativeSampler<Space> sampler)
      : sampler_(std::move(sampler)) {
    auto csr =
        graph::make_csr<float>(space, train.offsets, train.items, std::vector<float>{}, {}, "SequenceBatcher::train");
    offsets_ = csr.offsets;
    items_ = csr.indices;
    check();
  }
  // From a device CSR already made (graph::sequences_to_csr or InteractionGraph::user_items).
  template <class T>
  SequenceBatcher(const graph::Csr<T, Space>& train, UniformNegativeSampler<Space> sampler)
      : offsets_(train.offsets), items_(train.indices), sampler_(std::move(sampler)) {
    check();
  }

  index_t num_users() const { return offsets_.extent(0) == 0 ? 0 : static_cast<index_t>(offsets_.extent(0)) - 1; }
  const UniformNegativeSampler<Space>& sampler() const { return sampler_; }

  // users: a rank-1 view of up to batch.capacity() user ids on Space (e.g. EpochShuffler::batch). Fills
  // every row of `batch`, sets batch.size. Asynchronous on `space`.
  template <class UserView>
  void build(const Space& space, const UserView& users, SequenceBatch<Space>& batch, RandomStream rs) const {
    static_assert(Kokkos::is_view<UserView>::value && UserView::rank == 1 &&
                      std::is_same_v<typename UserView::non_const_value_type, id_t>,
                  "SequenceBatcher::build: users must be a rank-1 View of id_t");
    static_assert(Kokkos::SpaceAccessibility<Space, typename UserView::memory_space>::accessible,
                  "SequenceBatcher::build: users must be accessible from the execution space");
    const auto rows = static_cast<index_t>(users.extent(0));
    SEQREC_REQUIRE(rows <= batch.capacity(), "SequenceBatcher::build: ", rows, " users do not fit a batch of capacity ",
                   batch.capacity());
    batch.size = rows;
    const auto offsets = offsets_;
    const auto items = items_;
    const auto sampler = sampler_;
    const auto out_users = batch.users;
    const auto inputs = batch.inputs;
    const auto targets = batch.targets;
    const auto negatives = batch.negatives;
    const auto lengths = batch.lengths;
    const index_t maxlen = batch.maxlen(), n_neg = batch.num_negatives();
    // One thread per (row, position): every output element is written exactly once.
    Kokkos::parallel_for(
        "seqrec::SequenceBatcher::build",
        Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {0, 0}, {batch.capacity(), maxlen}),
        KOKKOS_LAMBDA(index_t b, index_t t) {
          if (b >= rows) {
            if (t == 0) {
              out_users(b) = -1;
              lengths(b) = 0;
            }
            inputs(b, t) = 0;
            targets(b, t) = 0;
            for (index_t j = 0; j < n_neg; ++j) negatives(b, t, j) = 0;
            return;
          }
          const id_t u = users(b);
          SEQREC_DEVICE_ASSERT(u >= 0 && index_t(u) + 1 < index_t(offsets.extent(0)),
                               "SequenceBatcher::build: user out of range");
          const index_t begin = offsets(u), n = offsets(u + 1) - begin;
          const index_t m = n > 1 ? (n - 1 < maxlen ? n - 1 : maxlen) : 0;  // real positions
          const index_t pad = maxlen - m;
          if (t == 0) {
            out_users(b) = u;
            lengths(b) = m;
          }
          if (t < pad) {
            inputs(b, t) = 0;
            targets(b, t) = 0;
            for (index_t j = 0; j < n_neg; ++j) negatives(b, t, j) = 0;
            return;
          }
          const index_t src = begin + (n - 1 - m) + (t - pad);  // flat index of the input item
          inputs(b, t) = items(src);
          targets(b, t) = items(src + 1);
          for (index_t j = 0; j < n_neg; ++j)
            negatives(b, t, j) = sampler(u, rs, static_cast<std::uint64_t>((src + 1) * n_neg + j));
        });
  }

 private:
  void check() const {
    SEQREC_REQUIRE_EQ(num_users(), sampler_.num_users(), "SequenceBatcher: users in the sampler's history vs train");
  }

  View1<index_t, Space> offsets_;
  View1<id_t, Space> items_;
  UniformNegativeSampler<Space> sampler_;
};

// A seeded permutation of the training users per epoch. Epoch e's order depends only on (seed, e), so a
// run resumed at epoch e sees the same order. One device buffer, refilled by shuffle().
template <ExecutionSpace Space>
class EpochShuffler {
 public:
  using execution_space = Space;
  using memory_space = typename Space::memory_space;

  EpochShuffler() = default;
  EpochShuffler(const Space& space, std::vector<id_t> users, std::uint64_t seed)
      : users_(std::move(users)), seed_(seed) {
    order_ = make_uninitialized<View1<id_t, Space>>(space, "EpochShuffler::order", users_.size());
    host_ = Kokkos::create_mirror_view(order_);
    shuffle(space, 0);
  }

  // Users with at least min_length training items (SASRec trains on users with more than one).
  static std::vector<id_t> trainable_users(const Sequences& train, index_t min_length = 2) {
    std::vector<id_t> out;
    for (index_t u = 0; u < train.num_users(); ++u)
      if (train.length(u) >= min_length) out.push_back(id_t(u));
    return out;
  }

  // Permutes the users for `epoch` (Fisher–Yates on the host, copied to the device on `space`).
  void shuffle(const Space& space, std::uint64_t epoch) {
    space.fence();  // the previous copy out of host_ has finished
    const RandomStream rs(seed_, epoch);
    for (std::size_t k = 0; k < users_.size(); ++k) host_(k) = users_[k];
    for (std::size_t i = users_.size(); i > 1; --i) {
      const auto j = static_cast<std::size_t>(rs.below(i - 1, i));
      std::swap(host_(i - 1), host_(j));
    }
    Kokkos::deep_copy(space, order_, host_);
    epoch_ = epoch;
  }

  index_t size() const { return static_cast<index_t>(users_.size()); }
  std::uint64_t epoch() const { return epoch_; }
  index_t num_batches(index_t batch_size) const {
    SEQREC_REQUIRE(batch_size > 0, "EpochShuffler::num_batches: batch_size must be positive, got ", batch_size);
    return (size() + batch_size - 1) / batch_size;
  }
  View1<id_t, Space> order() const { return order_; }
  // Users of batch b (the last batch may be short).
  auto batch(index_t b, index_t batch_size) const {
    SEQREC_REQUIRE_INDEX(b, num_batches(batch_size), "EpochShuffler::batch: batch");
    const index_t lo = b * batch_size, hi = std::min(size(), lo + batch_size);
    return Kokkos::subview(order_, Kokkos::make_pair(lo, hi));
  }

 private:
  std::vector<id_t> users_;
  std::uint64_t seed_ = 0;
  std::uint64_t epoch_ = 0;
  View1<id_t, Space> order_;
  typename View1<id_t, Space>::HostMirror host_;
};

}  // namespace seqrec::data
