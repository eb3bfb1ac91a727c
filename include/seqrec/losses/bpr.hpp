// Pairwise ranking losses over candidate scores [R, 1+K] (column 0 the positive, K sampled negatives),
// laid out as for BinaryCrossEntropy: a row whose positive id is 0 is padding and contributes nothing, a
// negative with id 0 is left out. A row counts when it has a positive and at least one negative; the
// value is the mean over counted rows, and d loss / d scores is 0 for padding rows and padded negatives.
//
// Bpr      loss_r = 1/K_r sum_j -log sigmoid(s_p - s_j)                              (Rendle et al. 2009)
// BprMax   loss_r = -log(sum_j w_j sigmoid(s_p - s_j)) + lambda sum_j w_j s_j^2     (Hidasi & Karatzoglou
// Top1Max  loss_r = sum_j w_j (sigmoid(s_j - s_p) + sigmoid(s_j^2))                   2018, GRU4Rec+)
// with w = softmax over the row's negative scores. BprMax takes its log-sum through log-sum-exp, so
// scores of any magnitude (1e4 and beyond) give finite values and gradients.
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/math.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/losses/binary_cross_entropy.hpp>

#include <Kokkos_Core.hpp>

#include <cmath>

namespace seqrec::losses {

namespace detail {

// The pieces every pairwise loss shares: shape checks, the row count, the empty case and the sweep.
// Kernel(r, scores, cand, dscores_or_empty, inv_count) -> double (the row's loss); it writes the row's
// gradient when dscores is not empty. Only rows that count are passed to it.
template <class T, class Space, class Kernel>
LossValue pairwise_loss(const char* name, const char* dname, const char* label, const Space& space,
                        typename View2<T, Space>::const_type scores,
                        Kokkos::View<const id_t**, Kokkos::LayoutRight, typename Space::memory_space> cand,
                        View2<T, Space> dscores, Kernel kernel) {
  const index_t rows = cand.extent(0), nc = cand.extent(1);
  SEQREC_REQUIRE_SHAPE(scores, name, rows, nc);
  const bool grad = dscores.data() != nullptr;
  if (grad) SEQREC_REQUIRE_SHAPE(dscores, dname, rows, nc);
  index_t count = 0;
  Kokkos::parallel_reduce(
      label, Kokkos::RangePolicy<Space>(space, 0, rows),
      KOKKOS_LAMBDA(index_t r, index_t & acc) {
        bool neg = false;
        for (index_t c = 1; c < nc && !neg; ++c) neg = cand(r, c) != 0;
        acc += cand(r, 0) != 0 && neg ? 1 : 0;
      },
      count);
  if (count == 0) {
    if (grad) Kokkos::deep_copy(space, dscores, T(0));
    return {};
  }
  const T inv = T(1) / T(count);
  double total = 0;
  Kokkos::parallel_reduce(
      label, Kokkos::RangePolicy<Space>(space, 0, rows),
      KOKKOS_LAMBDA(index_t r, double& acc) {
        bool neg = false;
        for (index_t c = 1; c < nc && !neg; ++c) neg = cand(r, c) != 0;
        if (cand(r, 0) == 0 || !neg) {
          if (grad)
            for (index_t c = 0; c < nc; ++c) dscores(r, c) = T(0);
          return;
        }
        acc += kernel(r, scores, cand, dscores, inv);
      },
      total);
  return {total / double(count), count};
}

// sigmoid'(x) = sigmoid(x) (1 - sigmoid(x)) = sigmoid(x) sigmoid(-x), without cancellation.
template <class T>
KOKKOS_INLINE_FUNCTION T sigmoid_prime(T x) {
  return math::sigmoid(x) * math::sigmoid(-x);
}

// Softmax weights of the negatives: their max and the normaliser sum_j exp(s_j - max).
template <class S, class C>
KOKKOS_INLINE_FUNCTION void negative_softmax(index_t r, const S& s, const C& cand, typename S::non_const_value_type& mx,
                                             typename S::non_const_value_type& z) {
  using T = typename S::non_const_value_type;
  const index_t nc = cand.extent(1);
  bool first = true;
  mx = T(0);
  for (index_t c = 1; c < nc; ++c)
    if (cand(r, c) != 0) {
      mx = first ? s(r, c) : math::fmax(mx, s(r, c));
      first = false;
    }
  z = T(0);
  for (index_t c = 1; c < nc; ++c)
    if (cand(r, c) != 0) z += math::exp(s(r, c) - mx);
}

}  // namespace detail

template <Scalar T, ExecutionSpace Space>
class Bpr {
 public:
  static constexpr const char* name = "bpr";
  using scalar_type = T;
  using execution_space = Space;
  using memory_space = typename Space::memory_space;
  using scores_type = View2<T, Space>;
  using candidates_type = Kokkos::View<const id_t**, Kokkos::LayoutRight, memory_space>;

  // Value and d loss / d scores (written to dscores; may be empty to skip the gradient).
  LossValue forward_backward(const Space& space, typename scores_type::const_type scores, candidates_type cand,
                             scores_type dscores) const {
    return detail::pairwise_loss<T>(
        "Bpr scores", "Bpr dscores", "seqrec::Bpr::forward_backward", space, scores, cand, dscores,
        KOKKOS_LAMBDA(index_t r, const typename scores_type::const_type& s, const candidates_type& cd,
                      const scores_type& ds, T inv) {
          const index_t nc = cd.extent(1);
          index_t k = 0;
          for (index_t c = 1; c < nc; ++c) k += cd(r, c) != 0 ? 1 : 0;
          const T inv_k = T(1) / T(k);
          const T sp = s(r, 0);
          double loss = 0;
          T dpos = 0;
          for (index_t c = 1; c < nc; ++c) {
            const bool use = cd(r, c) != 0;
            const T d = sp - s(r, c);
            if (use) loss -= double(math::log_sigmoid(d));
            // d/dd -log sigmoid(d) = -sigmoid(-d)
            const T g = use ? math::sigmoid(-d) * inv_k * inv : T(0);
            dpos -= g;
            if (ds.data() != nullptr) ds(r, c) = g;
          }
          if (ds.data() != nullptr) ds(r, 0) = dpos;
          return loss / double(k);
        });
  }
};

template <Scalar T, ExecutionSpace Space>
class BprMax {
 public:
  static constexpr const char* name = "bpr-max";
  using scalar_type = T;
  using execution_space = Space;
  using memory_space = typename Space::memory_space;
  using scores_type = View2<T, Space>;
  using candidates_type = Kokkos::View<const id_t**, Kokkos::LayoutRight, memory_space>;

  // lambda: weight of the score regulariser sum_j w_j s_j^2 (GRU4Rec's bpreg; 1 there by default).
  explicit BprMax(T lambda = T(1)) : lambda_(lambda) {
    SEQREC_REQUIRE(std::isfinite(double(lambda)) && lambda >= T(0),
                   "BprMax: lambda must be finite and non-negative, got ", lambda);
  }
  T lambda() const { return lambda_; }

  // Value and d loss / d scores (written to dscores; may be empty to skip the gradient).
  LossValue forward_backward(const Space& space, typename scores_type::const_type scores, candidates_type cand,
                             scores_type dscores) const {
    const T lam = lambda_;
    return detail::pairwise_loss<T>(
        "BprMax scores", "BprMax dscores", "seqrec::BprMax::forward_backward", space, scores, cand, dscores,
        KOKKOS_LAMBDA(index_t r, const typename scores_type::const_type& s, const candidates_type& cd,
                      const scores_type& ds, T inv) {
          const index_t nc = cd.extent(1);
          const T sp = s(r, 0);
          T mx = 0, z = 1;
          detail::negative_softmax(r, s, cd, mx, z);
          // log A = log sum_j w_j sigmoid(sp - s_j) = logsumexp_j(u_j) - log z, u_j = s_j - mx + log sigmoid(sp - s_j)
          T umx = T(0);
          bool first = true;
          for (index_t c = 1; c < nc; ++c)
            if (cd(r, c) != 0) {
              const T u = s(r, c) - mx + math::log_sigmoid(sp - s(r, c));
              umx = first ? u : math::fmax(umx, u);
              first = false;
            }
          T zu = 0, reg = 0;
          for (index_t c = 1; c < nc; ++c)
            if (cd(r, c) != 0) {
              const T sj = s(r, c);
              zu += math::exp(sj - mx + math::log_sigmoid(sp - sj) - umx);
              reg += math::exp(sj - mx) / z * sj * sj;
            }
          const double log_a = double(umx) + double(math::log(zu)) - double(math::log(z));
          if (ds.data() != nullptr) {
            // With q_j = w_j sigmoid_j / A:  d/dsp = -sum_j q_j (1 - sigmoid_j),
            // d/ds_j = w_j - q_j sigmoid_j + lambda w_j (2 s_j + s_j^2 - reg).
            T dpos = 0;
            for (index_t c = 1; c < nc; ++c) {
              if (cd(r, c) == 0) {
                ds(r, c) = T(0);
                continue;
              }
              const T sj = s(r, c), d = sp - sj;
              const T w = math::exp(sj - mx) / z;
              const T q = math::exp(sj - mx + math::log_sigmoid(d) - umx) / zu;
              dpos -= q * math::sigmoid(-d);
              ds(r, c) = (w - q * math::sigmoid(d) + lam * w * (T(2) * sj + sj * sj - reg)) * inv;
            }
            ds(r, 0) = dpos * inv;
          }
          return -log_a + double(lam) * double(reg);
        });
  }

 private:
  T lambda_;
};

template <Scalar T, ExecutionSpace Space>
class Top1Max {
 public:
  static constexpr const char* name = "top1-max";
  using scalar_type = T;
  using execution_space = Space;
  using memory_space = typename Space::memory_space;
  using scores_type = View2<T, Space>;
  using candidates_type = Kokkos::View<const id_t**, Kokkos::LayoutRight, memory_space>;

  // Value and d loss / d scores (written to dscores; may be empty to skip the gradient).
  LossValue forward_backward(const Space& space, typename scores_type::const_type scores, candidates_type cand,
                             scores_type dscores) const {
    return detail::pairwise_loss<T>(
        "Top1Max scores", "Top1Max dscores", "seqrec::Top1Max::forward_backward", space, scores, cand, dscores,
        KOKKOS_LAMBDA(index_t r, const typename scores_type::const_type& s, const candidates_type& cd,
                      const scores_type& ds, T inv) {
          const index_t nc = cd.extent(1);
          const T sp = s(r, 0);
          T mx = 0, z = 1;
          detail::negative_softmax(r, s, cd, mx, z);
          double loss = 0;
          for (index_t c = 1; c < nc; ++c)
            if (cd(r, c) != 0) {
              const T sj = s(r, c);
              loss += double(math::exp(sj - mx) / z) * double(math::sigmoid(sj - sp) + math::sigmoid(sj * sj));
            }
          if (ds.data() != nullptr) {
            // g_j = sigmoid(s_j - sp) + sigmoid(s_j^2), G = sum_j w_j g_j:
            // d/dsp = -sum_j w_j sigmoid'(s_j - sp), d/ds_j = w_j (g_j - G + sigmoid'(s_j - sp) + 2 s_j
            // sigmoid'(s_j^2)).
            const T big_g = T(loss);
            T dpos = 0;
            for (index_t c = 1; c < nc; ++c) {
              if (cd(r, c) == 0) {
                ds(r, c) = T(0);
                continue;
              }
              const T sj = s(r, c), d = sj - sp;
              const T w = math::exp(sj - mx) / z;
              const T g = math::sigmoid(d) + math::sigmoid(sj * sj);
              const T sd = detail::sigmoid_prime(d);
              dpos -= w * sd;
              ds(r, c) = w * (g - big_g + sd + T(2) * sj * detail::sigmoid_prime(sj * sj)) * inv;
            }
            ds(r, 0) = dpos * inv;
          }
          return loss;
        });
  }
};

}  // namespace seqrec::losses
