// The auxiliary tasks MultiTaskRecommender trains next to the next item, on the same hidden states. A task
// owns its head and per-step buffers and offers, for the batch rows r = b * maxlen + t (targets(r) the item at
// the next position, 0 for padding):
//
//   forward(space, hidden, targets, batch, items, grad, step) -> LossValue; keeps the upstream gradient when grad
//   upstream()                                           the gradient the combinator's weight scales
//   backward(space, hidden, targets, items, dhidden, accumulate, batch)
//                                                        parameter gradients (the task's own, and the item
//                                                        table's where it reads it) and dL/dhidden
//   name, kind (TaskKind), has_hidden_gradient           whether dL/dhidden can be nonzero (GradNorm needs it)
//
//   AttributeTask  the next item's attributes, multi-label BCE (Beauty attributes, MovieLens genres)
//   RatingTask     the next item's rating, regression (MovieLens ratings: the interactions' weights)
//   ItemItemTask, UserUserTask: heads/joint_tasks.hpp
//
// MultiTaskRecommender checks each task against heads::AuxTask (heads/aux_task.hpp).
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/parameter.hpp>
#include <seqrec/core/random.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/data/attributes.hpp>
#include <seqrec/data/batch.hpp>
#include <seqrec/data/interactions.hpp>
#include <seqrec/heads/attribute_head.hpp>
#include <seqrec/heads/rating_head.hpp>
#include <seqrec/losses/combinators.hpp>
#include <seqrec/sequence/embedding.hpp>

#include <Kokkos_Core.hpp>

#include <cmath>
#include <limits>

namespace seqrec::heads {

template <Scalar T, ExecutionSpace Space>
class AttributeTask {
 public:
  using rows_type = View2<T, Space>;
  using const_rows_type = typename rows_type::const_type;
  using targets_type = Kokkos::View<const id_t*, typename Space::memory_space>;
  using data_type = data::ItemAttributes;
  static constexpr const char* name = "attributes";
  static constexpr losses::TaskKind kind = losses::TaskKind::classification;
  static constexpr bool has_hidden_gradient = true;

  AttributeTask() = default;
  AttributeTask(const Space& space, ParameterSet<T, Space>& params, index_t dim, index_t num_items,
                const data::ItemAttributes& attributes, index_t rows)
      : head_(space, params, "attributes", dim, attributes.num_attributes()) {
    SEQREC_REQUIRE(attributes.num_items() == num_items, "MultiTaskRecommender: the attributes cover ",
                   attributes.num_items(), " items, the model has ", num_items,
                   " (read them against the same interactions)");
    table_ = make_attribute_table(space, attributes);
    logits_ = make_uninitialized<rows_type>(space, "AttributeTask::logits", rows, attributes.num_attributes());
    dlogits_ = make_uninitialized<rows_type>(space, "AttributeTask::dlogits", rows, attributes.num_attributes());
  }

  void init(const Space& space, RandomStream rs) const { head_.init(space, rs); }
  const AttributeHead<T, Space>& head() const { return head_; }
  const AttributeTable<Space>& table() const { return table_; }

  losses::LossValue forward(const Space& space, const_rows_type hidden, targets_type targets,
                            const data::SequenceBatch<Space>&, const sequence::Embedding<T, Space>&, bool grad,
                            RandomStream = {}) {
    head_.forward(space, hidden, logits_);
    return head_.loss(space, logits_, targets, table_, grad ? dlogits_ : rows_type());
  }
  rows_type upstream() const { return dlogits_; }
  void backward(const Space& space, const_rows_type hidden, targets_type, const sequence::Embedding<T, Space>&,
                rows_type dhidden, bool accumulate, const data::SequenceBatch<Space>&) const {
    head_.backward(space, hidden, dlogits_, dhidden, accumulate);
  }

 private:
  AttributeHead<T, Space> head_;
  AttributeTable<Space> table_;
  rows_type logits_, dlogits_;
};

template <Scalar T, ExecutionSpace Space>
class RatingTask {
 public:
  using rows_type = View2<T, Space>;
  using const_rows_type = typename rows_type::const_type;
  using values_type = View1<T, Space>;
  using targets_type = Kokkos::View<const id_t*, typename Space::memory_space>;
  using data_type = data::Sequences;
  static constexpr const char* name = "rating";
  static constexpr losses::TaskKind kind = losses::TaskKind::regression;
  static constexpr bool has_hidden_gradient = true;

  RatingTask() = default;
  // train: the training sequences the batches are built from; their weights are the ratings (NaN = unknown).
  RatingTask(const Space& space, ParameterSet<T, Space>& params, index_t dim, index_t, const data::Sequences& train,
             index_t rows)
      : head_(space, params, "rating", dim) {
    SEQREC_REQUIRE(index_t(train.weights.size()) == train.size(), "RatingTask: ", train.size(),
                   " training interactions but ", train.weights.size(), " ratings");
    double sum = 0;
    for (float w : train.weights) {
      SEQREC_REQUIRE(std::isfinite(w), "RatingTask: a training rating is ", w);
      sum += w;
    }
    mean_ = train.size() > 0 ? sum / double(train.size()) : 0.0;
    offsets_ = make_uninitialized<View1<index_t, Space>>(space, "RatingTask::offsets", train.num_users() + 1);
    ratings_ = make_uninitialized<values_type>(space, "RatingTask::ratings", std::max<index_t>(1, train.size()));
    auto ho = Kokkos::create_mirror_view(offsets_);
    auto hr = Kokkos::create_mirror_view(ratings_);
    for (index_t u = 0; u <= train.num_users(); ++u) ho(u) = train.offsets[std::size_t(u)];
    for (index_t i = 0; i < train.size(); ++i) hr(i) = T(train.weights[std::size_t(i)]);
    Kokkos::deep_copy(space, offsets_, ho);
    Kokkos::deep_copy(space, ratings_, hr);
    row_ratings_ = make_uninitialized<values_type>(space, "RatingTask::row_ratings", rows);
    pred_ = make_uninitialized<values_type>(space, "RatingTask::pred", rows);
    dpred_ = make_uninitialized<values_type>(space, "RatingTask::dpred", rows);
    space.fence();
  }

  void init(const Space& space, RandomStream) const { head_.init(space, T(mean_)); }
  const RatingHead<T, Space>& head() const { return head_; }
  double mean_rating() const { return mean_; }
  // The ratings of the last forward's rows (NaN where padding).
  values_type row_ratings() const { return row_ratings_; }

  losses::LossValue forward(const Space& space, const_rows_type hidden, targets_type targets,
                            const data::SequenceBatch<Space>& batch, const sequence::Embedding<T, Space>& items,
                            bool grad, RandomStream = {}) {
    gather_ratings(space, batch);
    head_.forward(space, hidden, targets, items, pred_);
    return head_.loss(space, pred_, targets, row_ratings_, grad ? dpred_ : values_type());
  }
  values_type upstream() const { return dpred_; }
  void backward(const Space& space, const_rows_type hidden, targets_type targets,
                const sequence::Embedding<T, Space>& items, rows_type dhidden, bool accumulate,
                const data::SequenceBatch<Space>&) const {
    head_.backward(space, hidden, targets, items, dpred_, dhidden, accumulate);
  }

  // row (b, t) predicts the user's training item k = n_u - L + t (the last target is item n_u - 1).
  void gather_ratings(const Space& space, const data::SequenceBatch<Space>& batch) const {
    auto out = row_ratings_;
    const auto users = batch.users;
    const auto targets = batch.targets;
    const auto offsets = offsets_;
    const auto ratings = ratings_;
    const index_t L = batch.maxlen();
    const T nan = std::numeric_limits<T>::quiet_NaN();
    Kokkos::parallel_for(
        "seqrec::RatingTask::gather",
        Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {0, 0}, {batch.capacity(), L}),
        KOKKOS_LAMBDA(index_t b, index_t t) {
          const id_t u = users(b);
          T r = nan;
          if (u >= 0 && targets(b, t) != 0) {
            const index_t n = offsets(u + 1) - offsets(u), k = n - L + t;
            if (k >= 0 && k < n) r = ratings(offsets(u) + k);
          }
          out(b * L + t) = r;
        });
  }

 private:
  RatingHead<T, Space> head_;
  double mean_ = 0;
  View1<index_t, Space> offsets_;
  values_type ratings_, row_ratings_, pred_, dpred_;
};

}  // namespace seqrec::heads
