// Binary cross-entropy with sampled negatives (SASRec): for each row whose positive candidate (column 0)
// is not padding, loss_r = -log sigmoid(s_r0) - sum_{c>0, cand != 0} log(1 - sigmoid(s_rc)), averaged over
// those rows. Padding rows (no target) contribute nothing.
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/math.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/losses/loss.hpp>

#include <Kokkos_Core.hpp>

namespace seqrec::losses {

template <Scalar T, ExecutionSpace Space>
class BinaryCrossEntropy {
 public:
  static constexpr const char* name = "bce";
  using scalar_type = T;
  using execution_space = Space;
  using memory_space = typename Space::memory_space;
  using scores_type = View2<T, Space>;
  using candidates_type = Kokkos::View<const id_t**, Kokkos::LayoutRight, memory_space>;

  // Value and d loss / d scores (written to dscores; may be empty to skip the gradient).
  LossValue forward_backward(const Space& space, typename scores_type::const_type scores, candidates_type cand,
                             scores_type dscores) const {
    SEQREC_REQUIRE_SHAPE(scores, "BinaryCrossEntropy scores", index_t(cand.extent(0)), index_t(cand.extent(1)));
    const index_t rows = cand.extent(0), nc = cand.extent(1);
    index_t count = 0;
    Kokkos::parallel_reduce(
        "seqrec::BinaryCrossEntropy::count", Kokkos::RangePolicy<Space>(space, 0, rows),
        KOKKOS_LAMBDA(index_t r, index_t & acc) { acc += cand(r, 0) != 0 ? 1 : 0; }, count);
    if (count == 0) {
      if (dscores.data() != nullptr) Kokkos::deep_copy(space, dscores, T(0));
      return {};
    }
    const T inv = T(1) / T(count);
    const bool grad = dscores.data() != nullptr;
    double total = 0;
    Kokkos::parallel_reduce(
        "seqrec::BinaryCrossEntropy::forward_backward", Kokkos::RangePolicy<Space>(space, 0, rows),
        KOKKOS_LAMBDA(index_t r, double& acc) {
          const bool valid = cand(r, 0) != 0;
          for (index_t c = 0; c < nc; ++c) {
            const T s = scores(r, c);
            const bool use = valid && cand(r, c) != 0;
            if (use) acc += c == 0 ? -double(math::log_sigmoid(s)) : -double(math::log_sigmoid(-s));
            // d/ds -log sig(s) = sig(s) - 1; d/ds -log sig(-s) = sig(s)
            if (grad) dscores(r, c) = use ? (math::sigmoid(s) - (c == 0 ? T(1) : T(0))) * inv : T(0);
          }
        },
        total);
    return {total / double(count), count};
  }
};

}  // namespace seqrec::losses
