// Blend<SequenceModel, Completion>: a sequence model's scores mixed with a completion strategy's, per user,
//
//   score(u, i) = α(n_u) · norm_u(seq(u, i)) + (1 − α(n_u)) · norm_u(completion(u, i)),
//   α(n) = alpha_min + (alpha_max − alpha_min) · n / (n + half_length),
//
// where n_u is the length of u's training history: users with short histories lean on the completion
// strategy, long ones on the sequence model. norm_u standardises each user's row over the items scored
// (z-score by default), so two models whose scores live on different scales can be mixed. Both parts are
// any eval::Scorer (and FullScorer for score_all) over the same space and scalar; the blend is one too, so
// the evaluators and completion::top_k take it as they take its parts.
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/math.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/data/interactions.hpp>
#include <seqrec/eval/sampled.hpp>

#include <Kokkos_Core.hpp>

#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

namespace seqrec::completion {

enum class Normalization : std::uint8_t {
  zscore,  // (s − mean) / std over the row (std 0: the row becomes 0)
  minmax,  // (s − min) / (max − min) (max == min: 0)
  none,    // raw scores
};

struct BlendOptions {
  double alpha_min = 0.0;    // weight of the sequence model for a user with no history
  double alpha_max = 1.0;    // ... and its limit for very long histories
  double half_length = 5.0;  // history length at which α is halfway between the two
  Normalization normalization = Normalization::zscore;

  void validate() const {
    SEQREC_REQUIRE(alpha_min >= 0 && alpha_min <= 1, "BlendOptions: alpha_min must be in [0, 1], got ", alpha_min);
    SEQREC_REQUIRE(alpha_max >= 0 && alpha_max <= 1, "BlendOptions: alpha_max must be in [0, 1], got ", alpha_max);
    SEQREC_REQUIRE(half_length >= 0, "BlendOptions: half_length must be >= 0, got ", half_length);
  }
  // The sequence model's weight for a history of n items (host reference of the kernel's formula).
  double alpha(double n) const {
    return n + half_length > 0 ? alpha_min + (alpha_max - alpha_min) * n / (n + half_length) : alpha_max;
  }
};

// Every user's training-history length [num_users] on the device.
template <ExecutionSpace Space>
View1<index_t, Space> history_lengths(const Space& space, const data::Sequences& s) {
  Kokkos::View<index_t*, Kokkos::HostSpace> h("seqrec::completion::history_lengths", s.num_users());
  for (index_t u = 0; u < s.num_users(); ++u) h(u) = s.length(u);
  return to_space(space, h);
}

namespace detail {

// Row statistics for the normalisation: (shift, scale) with norm(s) = (s − shift) · scale.
template <class T>
struct RowNorm {
  T shift, scale;
};

template <class T, class Member, class Row>
KOKKOS_INLINE_FUNCTION RowNorm<T> row_norm(const Member& m, const Row& row, index_t first, index_t last,
                                           Normalization how) {
  if (how == Normalization::none || last <= first) return {T(0), T(1)};
  if (how == Normalization::zscore) {
    double sum = 0, sq = 0;
    Kokkos::parallel_reduce(
        Kokkos::TeamThreadRange(m, first, last), [&](index_t j, double& acc) { acc += double(row(j)); }, sum);
    const double mean = sum / double(last - first);
    Kokkos::parallel_reduce(
        Kokkos::TeamThreadRange(m, first, last),
        [&](index_t j, double& acc) {
          const double d = double(row(j)) - mean;
          acc += d * d;
        },
        sq);
    const double sd = math::sqrt(sq / double(last - first));
    return {T(mean), sd > 0 ? T(1.0 / sd) : T(0)};
  }
  T lo = row(first), hi = row(first);
  Kokkos::parallel_reduce(
      Kokkos::TeamThreadRange(m, first, last), [&](index_t j, T& acc) { acc = row(j) < acc ? row(j) : acc; },
      Kokkos::Min<T>(lo));
  Kokkos::parallel_reduce(
      Kokkos::TeamThreadRange(m, first, last), [&](index_t j, T& acc) { acc = row(j) > acc ? row(j) : acc; },
      Kokkos::Max<T>(hi));
  return {lo, hi > lo ? T(1) / (hi - lo) : T(0)};
}

// scores(b, j) = α(n_u) z_seq + (1 − α(n_u)) z_comp over columns [first, cols); columns before `first`
// (the padding item of full rows) get 0. Returns the first row whose user is outside `lengths`, or -1.
template <class T, ExecutionSpace Space>
index_t blend_rows(const Space& space, View2<T, Space> scores, View2<const T, Space> other,
                   View1<const id_t, Space> users, View1<const index_t, Space> lengths, index_t first, BlendOptions o) {
  using member_type = typename Kokkos::TeamPolicy<Space>::member_type;
  const index_t rows = static_cast<index_t>(scores.extent(0)), cols = static_cast<index_t>(scores.extent(1));
  if (rows == 0) return -1;
  const index_t nu = static_cast<index_t>(lengths.extent(0));
  constexpr bool host = Kokkos::SpaceAccessibility<Space, Kokkos::HostSpace>::accessible;
  const T amin = T(o.alpha_min), amax = T(o.alpha_max), half = T(o.half_length);
  const Normalization how = o.normalization;
  index_t first_bad = rows;
  Kokkos::parallel_reduce(
      "seqrec::completion::Blend::rows", Kokkos::TeamPolicy<Space>(space, static_cast<int>(rows), host ? 1 : 128),
      KOKKOS_LAMBDA(const member_type& m, index_t& bad) {
        const index_t b = m.league_rank();
        const id_t u = users(b);
        if (u < 0 || u >= nu) {
          Kokkos::single(Kokkos::PerTeam(m), [&]() {
            if (b < bad) bad = b;
          });
          return;
        }
        const auto seq = Kokkos::subview(scores, b, Kokkos::ALL);
        const auto comp = Kokkos::subview(other, b, Kokkos::ALL);
        const RowNorm<T> ns = row_norm<T>(m, seq, first, cols, how);
        const RowNorm<T> nc = row_norm<T>(m, comp, first, cols, how);
        const T n = T(lengths(u));
        const T a = n + half > T(0) ? amin + (amax - amin) * n / (n + half) : amax;
        m.team_barrier();  // every thread has read the rows' statistics before any overwrites seq
        Kokkos::parallel_for(Kokkos::TeamThreadRange(m, index_t(0), cols), [&](index_t j) {
          seq(j) = j < first ? T(0) : a * (seq(j) - ns.shift) * ns.scale + (T(1) - a) * (comp(j) - nc.shift) * nc.scale;
        });
      },
      Kokkos::Min<index_t>(first_bad));
  return first_bad < rows ? first_bad : -1;
}

}  // namespace detail

template <class SequenceModel, class Completion>
class Blend {
 public:
  using scalar_type = eval::scorer_scalar_t<SequenceModel>;
  using execution_space = typename SequenceModel::execution_space;
  using memory_space = typename execution_space::memory_space;
  using T = scalar_type;
  using Space = execution_space;
  static_assert(std::is_same_v<scalar_type, eval::scorer_scalar_t<Completion>>,
                "seqrec::completion::Blend: the sequence model and the completion strategy must score in the same "
                "scalar type");
  static_assert(std::is_same_v<execution_space, typename Completion::execution_space>,
                "seqrec::completion::Blend: the sequence model and the completion strategy must run on the same "
                "execution space");
  static_assert(eval::check_scorer<SequenceModel, Space, T>() && eval::check_scorer<Completion, Space, T>());

  // Keeps references to both parts (they must outlive the blend) and every user's history length.
  Blend(SequenceModel& sequence, Completion& completion, View1<const index_t, Space> history_lengths,
        BlendOptions options = {})
      : seq_(&sequence), comp_(&completion), lengths_(history_lengths), options_(options) {
    options_.validate();
  }

  void score(const Space& space, View1<const id_t, Space> users, View2<const id_t, Space> candidates,
             View2<T, Space> scores) const {
    SEQREC_REQUIRE_SHAPE(scores, "Blend::score: scores", static_cast<index_t>(candidates.extent(0)),
                         static_cast<index_t>(candidates.extent(1)));
    auto other = workspace(space, scores.extent(0), scores.extent(1));
    seq_->score(space, users, candidates, scores);
    comp_->score(space, users, candidates, other);
    combine(space, users, scores, other, 0, "Blend::score");
  }

  // Full rows: column 0 (padding) is left out of the normalisation and scores 0.
  void score_all(const Space& space, View1<const id_t, Space> users, View2<T, Space> scores)
      const requires eval::FullScorer<SequenceModel, Space, T> && eval::FullScorer<Completion, Space, T> {
    auto other = workspace(space, scores.extent(0), scores.extent(1));
    seq_->score_all(space, users, scores);
    comp_->score_all(space, users, other);
    combine(space, users, scores, other, 1, "Blend::score_all");
  }

  const BlendOptions& options() const { return options_; }
  void set_options(const BlendOptions& o) {
    o.validate();
    options_ = o;
  }
  SequenceModel& sequence_model() const { return *seq_; }
  Completion& completion() const { return *comp_; }

 private:
  View2<T, Space> workspace(const Space& space, std::size_t rows, std::size_t cols) const {
    if (work_.extent(0) < rows || work_.extent(1) != cols)
      work_ = make_uninitialized<View2<T, Space>>(space, "completion::Blend::other", rows, cols);
    return Kokkos::subview(work_, Kokkos::make_pair(std::size_t(0), rows), Kokkos::ALL);
  }

  void combine(const Space& space, View1<const id_t, Space> users, View2<T, Space> scores, View2<T, Space> other,
               index_t first, const char* who) const {
    const index_t bad =
        detail::blend_rows<T>(space, scores, View2<const T, Space>(other), users, lengths_, first, options_);
    if (bad >= 0)
      SEQREC_THROW(Errc::out_of_range, who, ": user ",
                   to_host(Kokkos::subview(users, Kokkos::make_pair(bad, bad + 1)))(0), " (row ", bad,
                   ") has no history length (lengths cover [0, ", lengths_.extent(0), "))");
  }

  SequenceModel* seq_;
  Completion* comp_;
  View1<const index_t, Space> lengths_;
  BlendOptions options_;
  mutable View2<T, Space> work_;
};

// The blend weights' search: every point of a small grid is scored by `metric(blend)` (the caller's validation
// metric, e.g. NDCG@10 of the blend on validation candidates) and the best is set on the blend and returned.
struct BlendGrid {
  std::vector<double> alpha_min{0.0, 0.25, 0.5, 0.75};
  std::vector<double> alpha_max{0.75, 0.9, 1.0};
  std::vector<double> half_length{1.0, 4.0, 16.0};
};
struct BlendChoice {
  BlendOptions options;
  double value = -1;  // the metric of the chosen point
};

template <class B, class Metric>
BlendChoice choose_blend_options(B& blend, Metric&& metric, const BlendGrid& grid = {}) {
  SEQREC_REQUIRE(!grid.alpha_min.empty() && !grid.alpha_max.empty() && !grid.half_length.empty(),
                 "choose_blend_options: the grid is empty");
  BlendChoice best;
  for (double amin : grid.alpha_min)
    for (double amax : grid.alpha_max)
      for (double half : grid.half_length) {
        if (amax < amin) continue;
        BlendOptions bo;
        bo.alpha_min = amin;
        bo.alpha_max = amax;
        bo.half_length = half;
        blend.set_options(bo);
        const double v = metric(blend);
        if (v > best.value) best = {bo, v};
      }
  blend.set_options(best.options);
  return best;
}

}  // namespace seqrec::completion
