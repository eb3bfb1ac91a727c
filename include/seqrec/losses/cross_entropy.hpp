// Softmax cross-entropy, over the whole catalogue or over sampled candidates.
//
// CrossEntropy: logits [R, N+1] (from heads::FullSoftmax), targets [R] in 1..N, 0 for a padding row.
//   loss_r = logsumexp_{c >= 1} logits(r, c) - logits(r, target_r), averaged over rows with a target.
//   Column 0 (the padding item) is never part of the softmax, whatever it holds (FullSoftmax puts -inf).
//   d loss / d logits(r, c) = (softmax_c - [c == target_r]) / count; 0 in column 0 and in padding rows.
//
// SampledSoftmax: scores [R, 1+K] over candidates [R, 1+K] (column 0 the positive, K sampled negatives),
//   as for BinaryCrossEntropy: a row whose positive id is 0 is padding, a negative with id 0 is left out.
//   With a log-probability view log_q [R, 1+K] (log Q of each candidate under the sampler), every
//   candidate's logit is corrected to s - log_q before the softmax (the log-Q correction of Jean et al.
//   2015 / Yi et al. 2019). The correction can also be configured once, as a table of log Q per item id
//   (SampledSoftmax(item_log_q)). Accidental hits (a negative equal to the positive) are not removed.
//
// Both are max-subtracted, so logits of any magnitude give finite values; the value is summed in double.
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/math.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/losses/binary_cross_entropy.hpp>

#include <Kokkos_Core.hpp>

namespace seqrec::losses {

namespace detail {

// The first row whose target is outside [0, nc); called only when one is (the error path). It returns, and
// the caller copies the id back and throws, the same shape as PopRec::fit's error path, which passes on CUDA
// (this one, throwing from inside the function that launched the search, crashed there; see issue 4).
template <class Space, class Targets>
index_t first_bad_target(const Space& space, const Targets& targets, index_t nc) {
  const index_t rows = static_cast<index_t>(targets.extent(0));
  index_t first = rows;
  Kokkos::parallel_reduce(
      "seqrec::CrossEntropy::find_bad_target", Kokkos::RangePolicy<Space>(space, 0, rows),
      KOKKOS_LAMBDA(index_t r, index_t & v) {
        const id_t t = targets(r);
        if ((t < 0 || t >= nc) && r < v) v = r;
      },
      Kokkos::Min<index_t>(first));
  return first;
}

}  // namespace detail

template <Scalar T, ExecutionSpace Space>
class CrossEntropy {
 public:
  static constexpr const char* name = "ce";
  using scalar_type = T;
  using execution_space = Space;
  using memory_space = typename Space::memory_space;
  using scores_type = View2<T, Space>;
  using targets_type = Kokkos::View<const id_t*, Kokkos::LayoutRight, memory_space>;

  // Value and d loss / d logits (written to dlogits; may be empty to skip the gradient).
  // Throws seqrec::Error (out_of_range) for a target outside [0, N].
  LossValue forward_backward(const Space& space, typename scores_type::const_type logits, targets_type targets,
                             scores_type dlogits) const {
    const index_t rows = targets.extent(0), nc = logits.extent(1);
    SEQREC_REQUIRE_SHAPE(logits, "CrossEntropy logits", rows, nc);
    const bool grad = dlogits.data() != nullptr;
    if (grad) SEQREC_REQUIRE_SHAPE(dlogits, "CrossEntropy dlogits", rows, nc);
    // Counted rows; a target out of range adds rows + 1, so any makes the sum exceed rows.
    const index_t bad = rows + 1;
    index_t count = 0;
    Kokkos::parallel_reduce(
        "seqrec::CrossEntropy::count", Kokkos::RangePolicy<Space>(space, 0, rows),
        KOKKOS_LAMBDA(index_t r, index_t & acc) {
          const id_t t = targets(r);
          acc += t == 0 ? 0 : (t > 0 && t < nc ? 1 : bad);
        },
        count);
    if (count > rows) {
      const index_t first = detail::first_bad_target(space, targets, nc);
      id_t t = 0;
      Kokkos::deep_copy(space, Kokkos::View<id_t, Kokkos::HostSpace>(&t), Kokkos::subview(targets, first));
      space.fence();
      SEQREC_THROW(Errc::out_of_range, "CrossEntropy: target ", t, " of row ", first, " out of range [0, ", nc, ")");
    }
    if (count == 0) {
      if (grad) Kokkos::deep_copy(space, dlogits, T(0));
      return {};
    }
    const T inv = T(1) / T(count);
    using policy_type = Kokkos::TeamPolicy<Space>;
    using member_type = typename policy_type::member_type;
    double total = 0;
    Kokkos::parallel_reduce(
        "seqrec::CrossEntropy::forward_backward", policy_type(space, rows, Kokkos::AUTO),
        KOKKOS_LAMBDA(const member_type& m, double& acc) {
          const index_t r = m.league_rank();
          const id_t t = targets(r);
          if (t == 0) {
            if (grad) Kokkos::parallel_for(Kokkos::TeamThreadRange(m, nc), [&](index_t c) { dlogits(r, c) = T(0); });
            return;
          }
          T mx = 0;
          Kokkos::parallel_reduce(
              Kokkos::TeamThreadRange(m, index_t(1), nc),
              [&](index_t c, T& v) {
                const T x = logits(r, c);
                if (x > v) v = x;
              },
              Kokkos::Max<T>(mx));
          double se = 0;
          Kokkos::parallel_reduce(
              Kokkos::TeamThreadRange(m, index_t(1), nc),
              [&](index_t c, double& v) { v += double(math::exp(logits(r, c) - mx)); }, se);
          Kokkos::single(Kokkos::PerTeam(m), [&]() { acc += math::log(se) - (double(logits(r, t)) - double(mx)); });
          if (grad) {
            const T inv_se = T(1.0 / se);
            Kokkos::parallel_for(Kokkos::TeamThreadRange(m, nc), [&](index_t c) {
              dlogits(r, c) = c == 0 ? T(0) : (math::exp(logits(r, c) - mx) * inv_se - (c == t ? T(1) : T(0))) * inv;
            });
          }
        },
        total);
    return {total / double(count), count};
  }
};

template <Scalar T, ExecutionSpace Space>
class SampledSoftmax {
 public:
  static constexpr const char* name = "sampled-softmax";
  using scalar_type = T;
  using execution_space = Space;
  using memory_space = typename Space::memory_space;
  using scores_type = View2<T, Space>;
  using candidates_type = Kokkos::View<const id_t**, Kokkos::LayoutRight, memory_space>;
  using item_log_q_type = Kokkos::View<const T*, Kokkos::LayoutRight, memory_space>;

  SampledSoftmax() = default;
  // item_log_q [N + 1]: log Q(i) of the sampler that draws the negatives (e.g. log of the popularity sampler's
  // probabilities), applied to every candidate by its id. Empty: no correction. A uniform sampler shifts every
  // logit by the same constant, which the softmax cancels, so it needs none.
  explicit SampledSoftmax(item_log_q_type item_log_q) : item_log_q_(item_log_q) {}
  item_log_q_type item_log_q() const { return item_log_q_; }

  // Value and d loss / d scores (written to dscores; may be empty to skip the gradient).
  LossValue forward_backward(const Space& space, typename scores_type::const_type scores, candidates_type cand,
                             scores_type dscores) const {
    return run(space, scores, cand, typename scores_type::const_type(), dscores);
  }

  // The same with the log-Q correction given per candidate: log_q [R, 1+K] holds log Q(candidate) (may be empty:
  // the item table given at construction, if any, applies).
  LossValue forward_backward(const Space& space, typename scores_type::const_type scores, candidates_type cand,
                             typename scores_type::const_type log_q, scores_type dscores) const {
    return run(space, scores, cand, log_q, dscores);
  }

  // Public only because nvcc refuses device lambdas inside private member functions.
  LossValue run(const Space& space, typename scores_type::const_type scores, candidates_type cand,
                typename scores_type::const_type log_q, scores_type dscores) const {
    const index_t rows = cand.extent(0), nc = cand.extent(1);
    SEQREC_REQUIRE_SHAPE(scores, "SampledSoftmax scores", rows, nc);
    const bool grad = dscores.data() != nullptr, corrected = log_q.data() != nullptr;
    const bool by_item = !corrected && item_log_q_.data() != nullptr;
    if (grad) SEQREC_REQUIRE_SHAPE(dscores, "SampledSoftmax dscores", rows, nc);
    if (corrected) SEQREC_REQUIRE_SHAPE(log_q, "SampledSoftmax log_q", rows, nc);
    index_t count = 0;
    Kokkos::parallel_reduce(
        "seqrec::SampledSoftmax::count", Kokkos::RangePolicy<Space>(space, 0, rows),
        KOKKOS_LAMBDA(index_t r, index_t & acc) { acc += cand(r, 0) != 0 ? 1 : 0; }, count);
    if (count == 0) {
      if (grad) Kokkos::deep_copy(space, dscores, T(0));
      return {};
    }
    const T inv = T(1) / T(count);
    const auto item_q = item_log_q_;
    const index_t table_rows = item_q.extent(0);
    double total = 0;
    Kokkos::parallel_reduce(
        "seqrec::SampledSoftmax::forward_backward", Kokkos::RangePolicy<Space>(space, 0, rows),
        KOKKOS_LAMBDA(index_t r, double& acc) {
          if (cand(r, 0) == 0) {
            if (grad)
              for (index_t c = 0; c < nc; ++c) dscores(r, c) = T(0);
            return;
          }
          auto logit = [&](index_t c) {
            if (corrected) return scores(r, c) - log_q(r, c);
            const id_t it = cand(r, c);
            return by_item && it < table_rows ? scores(r, c) - item_q(it) : scores(r, c);
          };
          T mx = logit(0);
          for (index_t c = 1; c < nc; ++c)
            if (cand(r, c) != 0) mx = math::fmax(mx, logit(c));
          double se = 0;
          for (index_t c = 0; c < nc; ++c)
            if (cand(r, c) != 0) se += double(math::exp(logit(c) - mx));
          acc += math::log(se) - (double(logit(0)) - double(mx));
          if (grad) {
            const T inv_se = T(1.0 / se);
            for (index_t c = 0; c < nc; ++c)
              dscores(r, c) =
                  cand(r, c) == 0 ? T(0) : (math::exp(logit(c) - mx) * inv_se - (c == 0 ? T(1) : T(0))) * inv;
          }
        },
        total);
    return {total / double(count), count};
  }

 private:
  item_log_q_type item_log_q_;
};

}  // namespace seqrec::losses
