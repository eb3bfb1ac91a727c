// Mean squared error for rating regression: predictions [R], targets [R] and an optional weight per row
// [R] (empty: every row weighs 1). A row with weight 0 (padding, unrated) is skipped; the others count:
//   loss = sum_r w_r (p_r - y_r)^2 / count,   d loss / d p_r = 2 w_r (p_r - y_r) / count,
// with count the number of rows of non-zero weight. With a 0/1 mask this is the plain mean over rated rows;
// for a weighted mean sum w (p - y)^2 / sum w, scale the weights so that they sum to count.
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/losses/binary_cross_entropy.hpp>

#include <Kokkos_Core.hpp>

namespace seqrec::losses {

template <Scalar T, ExecutionSpace Space>
class MeanSquaredError {
 public:
  using scalar_type = T;
  using execution_space = Space;
  using memory_space = typename Space::memory_space;
  using values_type = View1<T, Space>;
  using const_values_type = typename values_type::const_type;

  // Value and d loss / d predictions (written to dpred; may be empty to skip the gradient).
  LossValue forward_backward(const Space& space, const_values_type pred, const_values_type target,
                             const_values_type weight, values_type dpred) const {
    const index_t rows = pred.extent(0);
    SEQREC_REQUIRE_SHAPE(target, "MeanSquaredError targets", rows);
    const bool grad = dpred.data() != nullptr, weighted = weight.data() != nullptr;
    if (weighted) SEQREC_REQUIRE_SHAPE(weight, "MeanSquaredError weights", rows);
    if (grad) SEQREC_REQUIRE_SHAPE(dpred, "MeanSquaredError dpred", rows);
    index_t count = rows;
    if (weighted)
      Kokkos::parallel_reduce(
          "seqrec::MeanSquaredError::count", Kokkos::RangePolicy<Space>(space, 0, rows),
          KOKKOS_LAMBDA(index_t r, index_t & acc) { acc += weight(r) != T(0) ? 1 : 0; }, count);
    if (count == 0) {
      if (grad) Kokkos::deep_copy(space, dpred, T(0));
      return {};
    }
    const T scale = T(2) / T(count);
    double total = 0;
    Kokkos::parallel_reduce(
        "seqrec::MeanSquaredError::forward_backward", Kokkos::RangePolicy<Space>(space, 0, rows),
        KOKKOS_LAMBDA(index_t r, double& acc) {
          const T w = weighted ? weight(r) : T(1);
          const T e = pred(r) - target(r);
          if (w != T(0)) acc += double(w) * double(e) * double(e);
          if (grad) dpred(r) = w != T(0) ? scale * w * e : T(0);
        },
        total);
    return {total / double(count), count};
  }

  // Without weights: every row counts.
  LossValue forward_backward(const Space& space, const_values_type pred, const_values_type target,
                             values_type dpred) const {
    return forward_backward(space, pred, target, const_values_type(), dpred);
  }
};

}  // namespace seqrec::losses
