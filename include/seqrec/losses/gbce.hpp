// Generalised binary cross-entropy (gBCE, Petrov & Macdonald, "gSASRec", RecSys 2023): BCE with sampled
// negatives whose positive term is raised to the power beta,
//   loss_r = -beta log sigmoid(s_r0) - sum_{c>0, cand != 0} log(1 - sigmoid(s_rc)),
// averaged over rows with a positive. With few negatives out of many items, plain BCE over-estimates the
// positive's probability; beta < 1 counters it. The paper sets beta = alpha (t (1 - 1/alpha) + 1/alpha) with
// alpha = K / (N - 1) the sampling rate and t in [0, 1] the calibration (t = 0: beta = 1, plain BCE;
// t = 1: beta = alpha); GeneralizedBce::for_sampling(K, N, t) computes it.
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/math.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/losses/binary_cross_entropy.hpp>
#include <seqrec/losses/loss.hpp>

#include <Kokkos_Core.hpp>

#include <cmath>

namespace seqrec::losses {

template <Scalar T, ExecutionSpace Space>
class GeneralizedBce {
 public:
  static constexpr const char* name = "gbce";
  using scalar_type = T;
  using execution_space = Space;
  using memory_space = typename Space::memory_space;
  using scores_type = View2<T, Space>;
  using candidates_type = Kokkos::View<const id_t**, Kokkos::LayoutRight, memory_space>;

  explicit GeneralizedBce(double beta = 1.0) : beta_(beta) {
    SEQREC_REQUIRE(std::isfinite(beta) && beta > 0 && beta <= 1, "GeneralizedBce: beta must be in (0, 1], got ", beta);
  }
  // beta for K negatives per positive out of N items and calibration t in [0, 1] (the paper's default 0.75).
  static GeneralizedBce for_sampling(index_t negatives, index_t num_items, double t = 0.75) {
    SEQREC_REQUIRE(negatives > 0 && num_items > negatives, "GeneralizedBce: need 0 < negatives (", negatives,
                   ") < items (", num_items, ")");
    SEQREC_REQUIRE(t >= 0 && t <= 1, "GeneralizedBce: the calibration t must be in [0, 1], got ", t);
    const double alpha = double(negatives) / double(num_items - 1);
    return GeneralizedBce(alpha * (t * (1 - 1 / alpha) + 1 / alpha));
  }
  double beta() const { return beta_; }

  // Value and d loss / d scores (written to dscores; may be empty to skip the gradient).
  LossValue forward_backward(const Space& space, typename scores_type::const_type scores, candidates_type cand,
                             scores_type dscores) const {
    return detail::weighted_bce<T>("seqrec::GeneralizedBce", space, scores, cand, dscores, T(beta_));
  }

 private:
  double beta_;
};

}  // namespace seqrec::losses
