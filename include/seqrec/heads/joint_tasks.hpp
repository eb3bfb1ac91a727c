// Joint embedding tasks: auxiliary tasks that train the shared representations beyond the next item, with
// MultiTaskRecommender's task interface (heads/aux_tasks.hpp):
//
//   ItemItemTask  items that co-occur within `window` positions of a user's sequence should score high under
//                 the shared item embedding, e_i . e_j, against `negatives` uniformly sampled items
//                 (skip-gram with negative sampling, BCE). It trains the item table directly and gives no
//                 gradient to the encoder's hidden states.
//   UserUserTask  users who share items should have similar representations: h_u is the encoder's state at
//                 the last position of u's batch row; within a batch, u's positive is the other user with the
//                 largest Jaccard overlap of training items, and the loss is InfoNCE over the batch,
//                 -log softmax_c(h_u . h_c / sqrt(d)) at the positive. Users who share nothing with anyone in
//                 the batch contribute nothing (on sparse data, few batch users have a positive: the count is
//                 in last_positives()).
//
// Both draw on the training data only (the batch windows and the training sequences), never on held-out items.
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/math.hpp>
#include <seqrec/core/parameter.hpp>
#include <seqrec/core/random.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/data/batch.hpp>
#include <seqrec/data/interactions.hpp>
#include <seqrec/data/negative_sampler.hpp>
#include <seqrec/losses/binary_cross_entropy.hpp>
#include <seqrec/losses/combinators.hpp>
#include <seqrec/sequence/embedding.hpp>

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

namespace seqrec::heads {

namespace detail {
// A batch row takes part in the user-user task when it holds a known user with at least one input.
template <ExecutionSpace Space>
struct BatchUserRows {
  View1<const id_t, Space> users;
  View2<const id_t, Space> inputs;
  index_t num_users, L;
  KOKKOS_INLINE_FUNCTION bool operator()(index_t b) const {
    const id_t u = users(b);
    return u >= 0 && u < num_users && inputs(b, L - 1) != 0;
  }
};
}  // namespace detail

template <Scalar T, ExecutionSpace Space>
class ItemItemTask {
 public:
  using rows_type = View2<T, Space>;
  using const_rows_type = typename rows_type::const_type;
  using pairs_type = View3<T, Space>;
  using targets_type = Kokkos::View<const id_t*, typename Space::memory_space>;
  struct Options {
    index_t window = 2;     // context items at offsets -window..-1 and 1..window
    index_t negatives = 5;  // uniformly sampled items per positive pair
  };
  using data_type = Options;
  static constexpr const char* name = "item_item";
  static constexpr losses::TaskKind kind = losses::TaskKind::classification;
  static constexpr bool has_hidden_gradient = false;

  ItemItemTask() = default;
  ItemItemTask(const Space& space, ParameterSet<T, Space>&, index_t, index_t num_items, const Options& opt,
               index_t rows)
      : opt_(opt), num_items_(num_items) {
    SEQREC_REQUIRE(opt.window > 0 && opt.negatives > 0, "ItemItemTask: window (", opt.window, ") and negatives (",
                   opt.negatives, ") must be positive");
    SEQREC_REQUIRE(num_items > 0, "ItemItemTask: there are no items");
    const index_t slots = 2 * opt.window, cols = 1 + opt.negatives;
    ids_ = make_uninitialized<View3<id_t, Space>>(space, "ItemItemTask::ids", rows, slots, cols);
    logits_ = make_uninitialized<pairs_type>(space, "ItemItemTask::logits", rows, slots, cols);
    dlogits_ = make_uninitialized<pairs_type>(space, "ItemItemTask::dlogits", rows, slots, cols);
  }

  void init(const Space&, RandomStream) const {}
  const Options& options() const { return opt_; }
  // ids(r, s, 0): the context item of row r's slot s (0: no pair); ids(r, s, 1 + q): its negatives.
  View3<const id_t, Space> pair_ids() const { return ids_; }
  pairs_type logits() const { return logits_; }

  losses::LossValue forward(const Space& space, const_rows_type, targets_type, const data::SequenceBatch<Space>& batch,
                            const sequence::Embedding<T, Space>& items, bool grad, RandomStream step) {
    const index_t L = batch.maxlen(), w = opt_.window, m = opt_.negatives, slots = 2 * w;
    SEQREC_REQUIRE(index_t(ids_.extent(0)) >= batch.capacity() * L, "ItemItemTask: ", batch.capacity() * L,
                   " rows, built for ", ids_.extent(0));
    SEQREC_REQUIRE_EQ(items.rows(), num_items_ + 1, "ItemItemTask: item table rows");
    const auto inputs = batch.inputs;
    auto ids = ids_;
    const std::uint64_t n = std::uint64_t(num_items_);
    const index_t rows = batch.capacity() * L;
    index_t count = 0;
    Kokkos::parallel_reduce(
        "seqrec::ItemItemTask::pairs", Kokkos::RangePolicy<Space>(space, 0, rows),
        KOKKOS_LAMBDA(index_t r, index_t & acc) {
          const index_t b = r / L, t = r % L;
          const id_t center = inputs(b, t);
          for (index_t s = 0; s < slots; ++s) {
            const index_t delta = s < w ? s - w : s - w + 1;
            const index_t u = t + delta;
            const id_t context = (center != 0 && u >= 0 && u < L) ? inputs(b, u) : 0;
            ids(r, s, 0) = context;
            for (index_t q = 0; q < m; ++q)
              ids(r, s, 1 + q) = context == 0 ? 0 : id_t(1 + step.below(std::uint64_t((r * slots + s) * m + q), n));
            acc += context != 0 ? 1 : 0;
          }
        },
        count);
    if (count == 0) {
      Kokkos::deep_copy(space, dlogits_, T(0));
      return {0.0, 0};
    }
    const auto e = items.table();
    auto logits = logits_;
    auto dlogits = dlogits_;
    const index_t d = items.dim(), cols = 1 + m;
    const T inv = grad ? T(1.0 / double(count)) : T(0);  // without grad, dlogits stays zero
    double total = 0;
    Kokkos::parallel_reduce(
        "seqrec::ItemItemTask::loss", Kokkos::RangePolicy<Space>(space, 0, rows),
        KOKKOS_LAMBDA(index_t r, double& acc) {
          const index_t b = r / L, t = r % L;
          const id_t center = inputs(b, t);
          for (index_t s = 0; s < slots; ++s)
            for (index_t c = 0; c < cols; ++c) {
              const id_t other = ids(r, s, c);
              T x = 0, g = 0;
              if (other != 0) {
                for (index_t k = 0; k < d; ++k) x += e(center, k) * e(other, k);
                // BCE with label 1 for the context item, 0 for the negatives: softplus(-x) or softplus(x).
                const T z = c == 0 ? -x : x;
                acc += double(z > 0 ? z + math::log1p(math::exp(-z)) : math::log1p(math::exp(z)));
                g = (T(1) / (T(1) + math::exp(-x)) - (c == 0 ? T(1) : T(0))) * inv;
              }
              logits(r, s, c) = x;
              dlogits(r, s, c) = g;
            }
        },
        total);
    return {total / double(count), count};
  }
  pairs_type upstream() const { return dlogits_; }

  // The item table's gradient; the hidden states get none (dhidden is zeroed unless `accumulate`).
  void backward(const Space& space, const_rows_type, targets_type, const sequence::Embedding<T, Space>& items,
                rows_type dhidden, bool accumulate, const data::SequenceBatch<Space>& batch) const {
    if (!accumulate) Kokkos::deep_copy(space, dhidden, T(0));
    const auto inputs = batch.inputs;
    const auto ids = ids_;
    const auto dlogits = dlogits_;
    const auto e = items.table();
    auto ge = items.grad();
    const index_t L = batch.maxlen(), slots = 2 * opt_.window, cols = 1 + opt_.negatives, d = items.dim();
    const index_t rows = batch.capacity() * L;
    if constexpr (std::is_same_v<typename Space::memory_space, Kokkos::HostSpace>) {
      // On CPU threads a float atomic is a compare-and-swap loop, and these were most of an epoch. Each
      // thread instead owns the item rows i with i % threads == its rank, scans every pair and adds only to
      // the rows it owns: no atomics, and the same sums in the same order for a given thread count.
      const index_t owners = index_t(space.concurrency());
      Kokkos::parallel_for("seqrec::ItemItemTask::backward_owned", Kokkos::RangePolicy<Space>(space, 0, owners),
                           [=](index_t o) {
                             for (index_t r = 0; r < rows; ++r) {
                               const id_t center = inputs(r / L, r % L);
                               if (center == 0) continue;
                               const bool own_center = center % owners == o;
                               for (index_t s = 0; s < slots; ++s)
                                 for (index_t c = 0; c < cols; ++c) {
                                   const id_t other = ids(r, s, c);
                                   const T g = dlogits(r, s, c);
                                   if (other == 0 || g == T(0)) continue;
                                   if (own_center)
                                     for (index_t k = 0; k < d; ++k) ge(center, k) += g * e(other, k);
                                   if (other % owners == o)
                                     for (index_t k = 0; k < d; ++k) ge(other, k) += g * e(center, k);
                                 }
                             }
                           });
    } else {
      Kokkos::parallel_for(
          "seqrec::ItemItemTask::backward", Kokkos::RangePolicy<Space>(space, 0, rows), KOKKOS_LAMBDA(index_t r) {
            const id_t center = inputs(r / L, r % L);
            if (center == 0) return;
            // The center's gradient sums over all of the row's pairs: kept in registers, chunk by chunk of the
            // dimension, and added once. Other rows share items, so the pairs' other items take atomics, as
            // Embedding::backward.
            for (index_t k0 = 0; k0 < d; k0 += index_t(backward_chunk)) {
              const index_t kn = d - k0 < index_t(backward_chunk) ? d - k0 : index_t(backward_chunk);
              T acc[backward_chunk] = {};
              for (index_t s = 0; s < slots; ++s)
                for (index_t c = 0; c < cols; ++c) {
                  const id_t other = ids(r, s, c);
                  const T g = dlogits(r, s, c);
                  if (other == 0 || g == T(0)) continue;
                  for (index_t k = 0; k < kn; ++k) {
                    acc[k] += g * e(other, k0 + k);
                    Kokkos::atomic_add(&ge(other, k0 + k), g * e(center, k0 + k));
                  }
                }
              for (index_t k = 0; k < kn; ++k) Kokkos::atomic_add(&ge(center, k0 + k), acc[k]);
            }
          });
    }
  }

 private:
  static constexpr index_t backward_chunk = 16;  // the center's gradient, in registers, this many dims at a time
  Options opt_;
  index_t num_items_ = 0;
  View3<id_t, Space> ids_;
  pairs_type logits_, dlogits_;
};

template <Scalar T, ExecutionSpace Space>
class UserUserTask {
 public:
  using rows_type = View2<T, Space>;
  using const_rows_type = typename rows_type::const_type;
  using targets_type = Kokkos::View<const id_t*, typename Space::memory_space>;
  using data_type = data::Sequences;
  static constexpr const char* name = "user_user";
  static constexpr losses::TaskKind kind = losses::TaskKind::classification;
  static constexpr bool has_hidden_gradient = true;

  UserUserTask() = default;
  // train: the training sequences the batches are built from (their item sets define who shares items).
  UserUserTask(const Space& space, ParameterSet<T, Space>&, index_t dim, index_t num_items,
               const data::Sequences& train, index_t rows)
      : dim_(dim) {
    SEQREC_REQUIRE(dim > 0 && rows > 0, "UserUserTask: dim (", dim, ") and rows (", rows, ") must be positive");
    SEQREC_REQUIRE(train.num_items <= num_items, "UserUserTask: the training sequences have ", train.num_items,
                   " items, the model ", num_items);
    // Each user's distinct training items, sorted, for the overlaps: the negative sampler's history.
    const auto history = data::make_user_history(space, train);
    offsets_ = history.offsets;
    items_ = history.items;
  }

  void init(const Space&, RandomStream) const {}
  // Batch rows that had a positive in the last forward.
  index_t last_positives() const { return positives_; }
  // positive(b): the batch row chosen as b's positive (-1: none); similarity(b, c): the batch scores / sqrt(d).
  View1<const index_t, Space> positive() const { return pos_; }
  View2<const T, Space> similarity() const { return sim_; }

  losses::LossValue forward(const Space& space, const_rows_type hidden, targets_type,
                            const data::SequenceBatch<Space>& batch, const sequence::Embedding<T, Space>&, bool grad,
                            RandomStream) {
    const index_t B = batch.capacity(), L = batch.maxlen(), d = dim_;
    SEQREC_REQUIRE_SHAPE(hidden, "UserUserTask hidden", B * L, d);
    if (index_t(sim_.extent(0)) != B) {  // once: the batch capacity is fixed for a model
      sim_ = make_uninitialized<rows_type>(space, "UserUserTask::similarity", B, B);
      g_ = make_uninitialized<rows_type>(space, "UserUserTask::g", B, B);
      pos_ = make_uninitialized<View1<index_t, Space>>(space, "UserUserTask::positive", B);
    }
    const auto users = batch.users;
    const auto inputs = batch.inputs;
    const auto offsets = offsets_;
    const auto items = items_;
    const index_t num_users = index_t(offsets_.extent(0)) - 1;
    auto pos = pos_;
    auto sim = sim_;
    const T scale = T(1.0 / std::sqrt(double(d)));
    const detail::BatchUserRows<Space> valid{users, inputs, num_users, L};
    // Positive: the row of largest Jaccard overlap with b (the first on ties); scores h_b . h_c / sqrt(d).
    Kokkos::parallel_for(
        "seqrec::UserUserTask::pairs", Kokkos::RangePolicy<Space>(space, 0, B), KOKKOS_LAMBDA(index_t b) {
          index_t best = -1;
          double best_j = 0;
          const bool vb = valid(b);
          const id_t ub = users(b);
          for (index_t c = 0; c < B; ++c) {
            T s = 0;
            if (vb && c != b && valid(c)) {
              for (index_t k = 0; k < d; ++k) s += hidden(b * L + L - 1, k) * hidden(c * L + L - 1, k);
              const id_t uc = users(c);
              if (uc != ub) {
                index_t i = offsets(ub), j = offsets(uc), shared = 0;
                const index_t ie = offsets(ub + 1), je = offsets(uc + 1);
                while (i < ie && j < je) {
                  const id_t x = items(i), y = items(j);
                  shared += x == y ? 1 : 0;
                  i += x <= y ? 1 : 0;
                  j += y <= x ? 1 : 0;
                }
                const index_t uni = (ie - offsets(ub)) + (je - offsets(uc)) - shared;
                const double jac = uni > 0 ? double(shared) / double(uni) : 0.0;
                if (jac > best_j) {
                  best_j = jac;
                  best = c;
                }
              }
            }
            sim(b, c) = s * scale;
          }
          pos(b) = best;
        });
    index_t count = 0;
    Kokkos::parallel_reduce(
        "seqrec::UserUserTask::count", Kokkos::RangePolicy<Space>(space, 0, B),
        KOKKOS_LAMBDA(index_t b, index_t & acc) { acc += pos(b) >= 0 ? 1 : 0; }, count);
    positives_ = count;
    auto g = g_;
    if (count == 0) {
      Kokkos::deep_copy(space, g_, T(0));
      return {0.0, 0};
    }
    const T inv = grad ? T(1.0 / double(count)) : T(0);
    double total = 0;
    // loss_b = logsumexp_{c valid, c != b} s_bc - s_b,pos;  g(b, c) = (softmax_bc - [c = pos]) / count.
    Kokkos::parallel_reduce(
        "seqrec::UserUserTask::loss", Kokkos::RangePolicy<Space>(space, 0, B),
        KOKKOS_LAMBDA(index_t b, double& acc) {
          const index_t p = pos(b);
          if (p < 0) {
            for (index_t c = 0; c < B; ++c) g(b, c) = T(0);
            return;
          }
          T mx = sim(b, p);
          for (index_t c = 0; c < B; ++c)
            if (c != b && valid(c)) mx = sim(b, c) > mx ? sim(b, c) : mx;
          T z = 0;
          for (index_t c = 0; c < B; ++c)
            if (c != b && valid(c)) z += math::exp(sim(b, c) - mx);
          acc += double(mx + math::log(z) - sim(b, p));
          for (index_t c = 0; c < B; ++c) {
            const T soft = (c != b && valid(c)) ? math::exp(sim(b, c) - mx) / z : T(0);
            g(b, c) = (soft - (c == p ? T(1) : T(0))) * inv;
          }
        },
        total);
    return {total / double(count), count};
  }
  rows_type upstream() const { return g_; }

  // dh_b = (sum_c (g(b,c) + g(c,b)) h_c) / sqrt(d) on each row's last position; other rows get 0 (or keep theirs
  // when `accumulate`).
  void backward(const Space& space, const_rows_type hidden, targets_type, const sequence::Embedding<T, Space>&,
                rows_type dhidden, bool accumulate, const data::SequenceBatch<Space>& batch) const {
    const index_t B = batch.capacity(), L = batch.maxlen(), d = dim_;
    SEQREC_REQUIRE_SHAPE(dhidden, "UserUserTask dhidden", B * L, d);
    const auto g = g_;
    const T scale = T(1.0 / std::sqrt(double(d)));
    Kokkos::parallel_for(
        "seqrec::UserUserTask::backward", Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {0, 0}, {B * L, d}),
        KOKKOS_LAMBDA(index_t r, index_t k) {
          const index_t b = r / L;
          T v = 0;
          if (r % L == L - 1)
            for (index_t c = 0; c < B; ++c) v += (g(b, c) + g(c, b)) * hidden(c * L + L - 1, k);
          v *= scale;
          dhidden(r, k) = accumulate ? dhidden(r, k) + v : v;
        });
  }

 private:
  index_t dim_ = 0;
  index_t positives_ = 0;
  View1<index_t, Space> offsets_;
  View1<id_t, Space> items_;
  View1<index_t, Space> pos_;
  rows_type sim_, g_;
};

}  // namespace seqrec::heads
