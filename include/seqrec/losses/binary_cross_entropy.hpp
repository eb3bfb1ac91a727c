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

namespace detail {

// BCE whose positive term is weighted by beta (1: BinaryCrossEntropy; < 1: GeneralizedBce, losses/gbce.hpp).
template <class T, class Space>
LossValue weighted_bce(const char* label, const Space& space, typename View2<T, Space>::const_type scores,
                       Kokkos::View<const id_t**, Kokkos::LayoutRight, typename Space::memory_space> cand,
                       View2<T, Space> dscores, T beta) {
  SEQREC_REQUIRE_SHAPE(scores, label, index_t(cand.extent(0)), index_t(cand.extent(1)));
  const index_t rows = cand.extent(0), nc = cand.extent(1);
  const bool grad = dscores.data() != nullptr;
  if (grad) SEQREC_REQUIRE_SHAPE(dscores, label, rows, nc);
  index_t count = 0;
  Kokkos::parallel_reduce(
      label, Kokkos::RangePolicy<Space>(space, 0, rows),
      KOKKOS_LAMBDA(index_t r, index_t & acc) { acc += cand(r, 0) != 0 ? 1 : 0; }, count);
  if (count == 0) {
    if (grad) Kokkos::deep_copy(space, dscores, T(0));
    return {};
  }
  const T inv = T(1) / T(count);
  double total = 0;
  Kokkos::parallel_reduce(
      label, Kokkos::RangePolicy<Space>(space, 0, rows),
      KOKKOS_LAMBDA(index_t r, double& acc) {
        const bool valid = cand(r, 0) != 0;
        for (index_t c = 0; c < nc; ++c) {
          const T s = scores(r, c);
          const bool use = valid && cand(r, c) != 0;
          if (use) acc += c == 0 ? -double(beta) * double(math::log_sigmoid(s)) : -double(math::log_sigmoid(-s));
          // d/ds -beta log sig(s) = beta (sig(s) - 1); d/ds -log sig(-s) = sig(s)
          if (grad) dscores(r, c) = use ? (c == 0 ? beta * (math::sigmoid(s) - T(1)) : math::sigmoid(s)) * inv : T(0);
        }
      },
      total);
  return {total / double(count), count};
}

}  // namespace detail

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
    return detail::weighted_bce<T>("seqrec::BinaryCrossEntropy", space, scores, cand, dscores, T(1));
  }
};

}  // namespace seqrec::losses
