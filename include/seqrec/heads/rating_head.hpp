// RatingHead: the next item's rating as regression on the shared hidden state and item embedding,
//   r_hat(r) = sum_k h(r, k) w_k e(target(r), k) + b,
// a weighted dot product between the state and the target item's embedding (the same pair the next-item head
// scores), so the rating task shapes both the encoder and the item table. Loss: mean squared error over the
// rows with a target (target 0 is padding) and a rating; rows whose rating is NaN (unknown) are skipped.
// Initialised with w = 1 and b = the mean training rating, so the first predictions are sensible.
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/math.hpp>
#include <seqrec/core/parameter.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/losses/binary_cross_entropy.hpp>
#include <seqrec/sequence/embedding.hpp>

#include <Kokkos_Core.hpp>

#include <cmath>
#include <string>

namespace seqrec::heads {

template <Scalar T, ExecutionSpace Space>
class RatingHead {
 public:
  using scalar_type = T;
  using execution_space = Space;
  using memory_space = typename Space::memory_space;
  using rows_type = View2<T, Space>;
  using const_rows_type = typename rows_type::const_type;
  using values_type = View1<T, Space>;
  using targets_type = Kokkos::View<const id_t*, memory_space>;
  using ratings_type = Kokkos::View<const T*, memory_space>;

  RatingHead() = default;
  RatingHead(const Space& space, ParameterSet<T, Space>& params, const std::string& name, index_t dim)
      : w_(params.add(space, name + ".w", {dim})), b_(params.add(space, name + ".b", {1})) {}

  index_t dim() const { return w_.size(); }
  const Parameter<T, Space>& weight() const { return w_; }
  const Parameter<T, Space>& bias() const { return b_; }

  void init(const Space& space, T mean_rating) const {
    Kokkos::deep_copy(space, w_.value(), T(1));
    Kokkos::deep_copy(space, b_.value(), mean_rating);
  }

  // pred [rows]: 0 where target is padding.
  void forward(const Space& space, const_rows_type hidden, targets_type targets,
               const sequence::Embedding<T, Space>& items, values_type pred) const {
    check(hidden, targets, items);
    SEQREC_REQUIRE_EQ(index_t(pred.extent(0)), index_t(hidden.extent(0)), "RatingHead: predictions vs rows");
    const auto e = items.table();
    const auto w = w_.value();
    const auto b = b_.value();
    const index_t d = dim();
    Kokkos::parallel_for(
        "seqrec::RatingHead::forward", Kokkos::RangePolicy<Space>(space, 0, hidden.extent(0)),
        KOKKOS_LAMBDA(index_t r) {
          const id_t it = targets(r);
          T s = 0;
          if (it != 0) {
            for (index_t k = 0; k < d; ++k) s += hidden(r, k) * w(k) * e(it, k);
            s += b(0);
          }
          pred(r) = s;
        });
  }

  // Mean squared error over rows with a target and a finite rating, and d loss / d pred (dpred may be empty).
  losses::LossValue loss(const Space& space, values_type pred, targets_type targets, ratings_type ratings,
                         values_type dpred) const {
    const index_t rows = pred.extent(0);
    SEQREC_REQUIRE_EQ(index_t(targets.extent(0)), rows, "RatingHead: targets vs predictions");
    SEQREC_REQUIRE_EQ(index_t(ratings.extent(0)), rows, "RatingHead: ratings vs predictions");
    const bool grad = dpred.data() != nullptr;
    if (grad) SEQREC_REQUIRE_EQ(index_t(dpred.extent(0)), rows, "RatingHead: gradient vs predictions");
    double sum = 0;
    index_t count = 0;
    Kokkos::parallel_reduce(
        "seqrec::RatingHead::count", Kokkos::RangePolicy<Space>(space, 0, rows),
        KOKKOS_LAMBDA(index_t r, index_t & acc) { acc += (targets(r) != 0 && math::isfinite(ratings(r))) ? 1 : 0; },
        count);
    if (count == 0) {
      if (grad) Kokkos::deep_copy(space, dpred, T(0));
      return {};
    }
    const T scale = T(2) / T(count);
    Kokkos::parallel_reduce(
        "seqrec::RatingHead::mse", Kokkos::RangePolicy<Space>(space, 0, rows),
        KOKKOS_LAMBDA(index_t r, double& acc) {
          const bool valid = targets(r) != 0 && math::isfinite(ratings(r));
          const T diff = valid ? pred(r) - ratings(r) : T(0);
          acc += double(diff) * double(diff);
          if (grad) dpred(r) = scale * diff;
        },
        sum);
    return {sum / double(count), count};
  }

  // w.grad, b.grad and E.grad[target] accumulate; dhidden = dpred w * e_target, or += when `accumulate`.
  void backward(const Space& space, const_rows_type hidden, targets_type targets,
                const sequence::Embedding<T, Space>& items, values_type dpred, rows_type dhidden,
                bool accumulate = false) const {
    check(hidden, targets, items);
    SEQREC_REQUIRE_SHAPE(dhidden, "RatingHead dhidden", index_t(hidden.extent(0)), dim());
    const auto e = items.table();
    auto ge = items.grad();
    const auto w = w_.value();
    auto gw = w_.grad();
    auto gb = b_.grad();
    const index_t d = dim();
    Kokkos::parallel_for(
        "seqrec::RatingHead::backward", Kokkos::RangePolicy<Space>(space, 0, hidden.extent(0)),
        KOKKOS_LAMBDA(index_t r) {
          const id_t it = targets(r);
          const T g = it != 0 ? dpred(r) : T(0);
          for (index_t k = 0; k < d; ++k) {
            const T dh = g * w(k) * e(it, k);
            dhidden(r, k) = accumulate ? dhidden(r, k) + dh : dh;
          }
          if (g == T(0)) return;
          // Rows share w, b and (often) target rows: atomics.
          for (index_t k = 0; k < d; ++k) {
            Kokkos::atomic_add(&gw(k), g * hidden(r, k) * e(it, k));
            Kokkos::atomic_add(&ge(it, k), g * hidden(r, k) * w(k));
          }
          Kokkos::atomic_add(&gb(0), g);
        });
  }

  void check(const_rows_type hidden, targets_type targets, const sequence::Embedding<T, Space>& items) const {
    SEQREC_REQUIRE_EQ(index_t(hidden.extent(1)), dim(), "RatingHead: hidden dimension");
    SEQREC_REQUIRE_EQ(items.dim(), dim(), "RatingHead: item embedding dimension");
    SEQREC_REQUIRE_EQ(index_t(targets.extent(0)), index_t(hidden.extent(0)), "RatingHead: targets vs rows");
  }

 private:
  Parameter<T, Space> w_, b_;
};

}  // namespace seqrec::heads
