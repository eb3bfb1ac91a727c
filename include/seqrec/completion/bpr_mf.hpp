// BPR-MF (Rendle et al., "BPR: Bayesian Personalized Ranking from Implicit Feedback", UAI 2009): matrix
// factorisation for implicit top-K, trained by SGD on ln σ(x_ui − x_uj) over triples (u, i, j) where u touched i
// and not j, with x_ui = p_u · q_i + b_i.
//
// Sampling (per epoch, samples_per_epoch draws, default the number of distinct training pairs):
//   (u, i)  a training pair drawn uniformly among the distinct (user, item) pairs of the merged matrix (so a
//           user is drawn in proportion to the length of their row, as in Rendle's LearnBPR and `implicit`);
//   j       uniform over the items not in u's row: uniform draws over [1, num_items] rejected by binary search
//           in u's sorted row of RatingMatrix::by_user. A user whose row holds every item has no negative:
//           such a sample is skipped (counted in FitStats::skipped).
// Every draw comes from a counter-based stream keyed by (seed, epoch, sample index), so a sample is the same
// whichever thread makes it. The updates are applied without locks ("Hogwild", as `implicit`'s BPR does): on
// Serial the epoch is one sequential pass and a fit is bit-for-bit reproducible; on OpenMP and CUDA concurrent
// samples may race on a shared row, which changes results in the last bits, not the method.
//
// Scoring goes through FactorTables (item bias as FactorTables::item_bias; no user bias or global term: they
// do not change a user's ranking). A user with no training interaction keeps the zero vector, so only the item
// biases rank items for them.
#pragma once

#include <seqrec/completion/factor_scores.hpp>
#include <seqrec/completion/rating_matrix.hpp>
#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/math.hpp>
#include <seqrec/core/random.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/data/interactions.hpp>
#include <seqrec/eval/sampled.hpp>

#include <Kokkos_Core.hpp>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace seqrec::completion {

struct BprMfOptions {
  index_t factors = 64;
  double lr = 0.05;
  double reg = 0.01;     // L2 weight on p_u, q_i, q_j (and b_i, b_j) in every update
  index_t epochs = 100;  // 0: initialise only
  bool item_bias = true;
  std::uint64_t seed = 0;
  double init_scale = 0.01;       // factors start N(0, init_scale^2); biases start 0
  index_t samples_per_epoch = 0;  // 0: the number of distinct training pairs (nnz)
};

namespace detail {

// Per-epoch sums over the samples, reduced from the kernel (operator+= is Kokkos' default join).
struct BprEpochSums {
  double loss = 0;     // sum of -ln σ(x_uij), x measured before the sample's update
  double correct = 0;  // samples with x_uij > 0
  double count = 0;    // samples applied
  double skipped = 0;  // samples whose user has no negative item

  KOKKOS_DEFAULTED_FUNCTION BprEpochSums() = default;
  KOKKOS_INLINE_FUNCTION void operator+=(const BprEpochSums& o) {
    loss += o.loss;
    correct += o.correct;
    count += o.count;
    skipped += o.skipped;
  }
  // Kokkos 3.4 joins through volatile references (plain assignments: C++20 deprecates volatile +=).
  KOKKOS_INLINE_FUNCTION void operator+=(const volatile BprEpochSums& o) volatile {
    loss = loss + o.loss;
    correct = correct + o.correct;
    count = count + o.count;
    skipped = skipped + o.skipped;
  }
};

inline constexpr std::uint64_t kBprInitStream = 0x4250522D494E4954ull;   // "BPR-INIT"
inline constexpr std::uint64_t kBprEpochStream = 0x4250522D45504F43ull;  // "BPR-EPOC" (+ epoch)

// The stream of sample s of `epoch`: counter 0 draws the pair, counters 1, 2, ... the negative candidates.
KOKKOS_INLINE_FUNCTION RandomStream bpr_sample_stream(std::uint64_t seed, index_t epoch, index_t s) {
  const RandomStream e(seed, kBprEpochStream + static_cast<std::uint64_t>(epoch));
  return RandomStream(e.key(), static_cast<std::uint64_t>(s));
}

// A negative item for the row items[lo, hi) (sorted, distinct, in [1, num_items]): uniform draws over
// [1, num_items] from rs at counters counter, counter + 1, ..., rejected while inside the row. Returns 0 when
// the row holds every item (no negative exists). Terminates with probability 1 otherwise.
template <class ItemsView>
KOKKOS_INLINE_FUNCTION id_t bpr_negative(const RandomStream& rs, std::uint64_t counter, const ItemsView& items,
                                         index_t lo, index_t hi, index_t num_items) {
  if (hi - lo >= num_items) return 0;
  for (;;) {
    const id_t j = static_cast<id_t>(1 + rs.below(counter++, static_cast<std::uint64_t>(num_items)));
    if (!eval::detail::contains_sorted(items, lo, hi, j)) return j;
  }
}

// Draws sample (u, i, j): a uniform position p in the nnz pairs of the by-user CSR, u = pair_user(p),
// i = items(p), then j = bpr_negative(...). Returns false (u, i set, j = 0) when u has no negative.
template <class OffsetsView, class ItemsView, class UsersView>
KOKKOS_INLINE_FUNCTION bool bpr_draw(const RandomStream& rs, const OffsetsView& offsets, const ItemsView& items,
                                     const UsersView& pair_user, index_t num_items, id_t& u, id_t& i, id_t& j) {
  const index_t nnz = static_cast<index_t>(items.extent(0));
  const index_t p = static_cast<index_t>(rs.below(0, static_cast<std::uint64_t>(nnz)));
  u = pair_user(p);
  i = items(p);
  j = bpr_negative(rs, 1, items, offsets(u), offsets(u + 1), num_items);
  return j != 0;
}

// One BPR step on (u, i, j), all updates from the values before the step:
//   x = p_u·(q_i − q_j) + b_i − b_j,  g = d ln σ(x)/dx = σ(−x)
//   p_u += lr (g (q_i − q_j) − reg p_u);  q_i += lr (g p_u − reg q_i);  q_j += lr (−g p_u − reg q_j)
//   b_i += lr (g − reg b_i);              b_j += lr (−g − reg b_j)        (when bias has extent > 0)
// Returns x. (i != j always: j is outside u's row, i inside.)
template <class T, class PView, class QView, class BView>
KOKKOS_INLINE_FUNCTION T bpr_step(const PView& P, const QView& Q, const BView& bias, id_t u, id_t i, id_t j, T lr,
                                  T reg) {
  const index_t k = static_cast<index_t>(P.extent(1));
  const bool has_bias = bias.extent(0) > 0;
  // Raw row pointers (rows are contiguous): the three rows are distinct (i != j; P and Q are different
  // tables), and saying so lets the compiler vectorise both loops.
  T* __restrict__ p = &P(u, 0);
  T* __restrict__ qi = &Q(i, 0);
  T* __restrict__ qj = &Q(j, 0);
  T x = has_bias ? T(bias(i) - bias(j)) : T(0);
  for (index_t c = 0; c < k; ++c) x += p[c] * (qi[c] - qj[c]);
  const T g = math::sigmoid(-x);
  for (index_t c = 0; c < k; ++c) {
    const T pu = p[c], a = qi[c], b = qj[c];
    p[c] = pu + lr * (g * (a - b) - reg * pu);
    qi[c] = a + lr * (g * pu - reg * a);
    qj[c] = b + lr * (-g * pu - reg * b);
  }
  if (has_bias) {
    const T bi = bias(i), bj = bias(j);
    bias(i) = bi + lr * (g - reg * bi);
    bias(j) = bj + lr * (-g - reg * bj);
  }
  return x;
}

// One epoch of Hogwild SGD: one thread per sample. (A free function: CUDA lambdas may not live in members.)
template <class T, ExecutionSpace Space>
BprEpochSums bpr_epoch(const Space& space, View2<T, Space> P, View2<T, Space> Q, View1<T, Space> bias,
                       View1<const index_t, Space> offsets, View1<const id_t, Space> items,
                       View1<const id_t, Space> pair_user, index_t num_items, index_t samples, std::uint64_t seed,
                       index_t epoch, T lr, T reg) {
  BprEpochSums sums;
  Kokkos::parallel_reduce(
      "seqrec::completion::BprMf::epoch", Kokkos::RangePolicy<Space>(space, 0, samples),
      KOKKOS_LAMBDA(index_t s, BprEpochSums & acc) {
        const RandomStream rs = bpr_sample_stream(seed, epoch, s);
        id_t u = 0, i = 0, j = 0;
        if (!bpr_draw(rs, offsets, items, pair_user, num_items, u, i, j)) {
          acc.skipped += 1;
          return;
        }
        const T x = bpr_step<T>(P, Q, bias, u, i, j, lr, reg);
        acc.loss -= static_cast<double>(math::log_sigmoid(x));
        acc.correct += x > T(0) ? 1.0 : 0.0;
        acc.count += 1;
      },
      sums);
  return sums;
}

// pair_user(p) = the user of position p of the by-user CSR.
template <ExecutionSpace Space>
void bpr_pair_users(const Space& space, View1<const index_t, Space> offsets, View1<id_t, Space> pair_user) {
  const index_t users = static_cast<index_t>(offsets.extent(0)) - 1;
  Kokkos::parallel_for(
      "seqrec::completion::BprMf::pair_users", Kokkos::RangePolicy<Space>(space, 0, users), KOKKOS_LAMBDA(index_t u) {
        for (index_t p = offsets(u); p < offsets(u + 1); ++p) pair_user(p) = static_cast<id_t>(u);
      });
}

// Zeroes the factor rows of users without interactions (they keep the zero vector) and of the padding item.
template <class T, ExecutionSpace Space>
void bpr_zero_unused_rows(const Space& space, View1<const index_t, Space> offsets, View2<T, Space> P,
                          View2<T, Space> Q) {
  const index_t users = static_cast<index_t>(P.extent(0)), k = static_cast<index_t>(P.extent(1));
  Kokkos::parallel_for(
      "seqrec::completion::BprMf::zero_rows", Kokkos::RangePolicy<Space>(space, 0, users + 1),
      KOKKOS_LAMBDA(index_t r) {
        if (r == users) {
          for (index_t c = 0; c < k; ++c) Q(0, c) = T(0);
        } else if (offsets(r + 1) == offsets(r)) {
          for (index_t c = 0; c < k; ++c) P(r, c) = T(0);
        }
      });
}

// Position of the first non-finite entry of a contiguous view, or -1.
template <class V, ExecutionSpace Space>
index_t bpr_first_nonfinite(const Space& space, const V& v) {
  const index_t n = static_cast<index_t>(v.size());
  if (n == 0) return -1;
  const auto* data = v.data();
  index_t first = n;
  Kokkos::parallel_reduce(
      "seqrec::completion::BprMf::check_finite", Kokkos::RangePolicy<Space>(space, 0, n),
      KOKKOS_LAMBDA(index_t p, index_t & bad) {
        if (!math::isfinite(data[p]) && p < bad) bad = p;
      },
      Kokkos::Min<index_t>(first));
  return first < n ? first : -1;
}

}  // namespace detail

template <Scalar T, ExecutionSpace Space>
class BprMf {
 public:
  static constexpr const char* name = "bpr";  // what --method / --blend call it (completion/registry.hpp)
  using scalar_type = T;
  using execution_space = Space;
  using memory_space = typename Space::memory_space;
  using Options = BprMfOptions;

  struct FitStats {
    std::vector<double> seconds;   // per epoch, fenced
    std::vector<double> loss;      // per epoch: mean -ln σ(x_uij) over the applied samples (x before the update)
    std::vector<double> accuracy;  // per epoch: fraction of applied samples with x_uij > 0
    std::vector<index_t> skipped;  // per epoch: samples whose user had every item (no negative)
    index_t samples_per_epoch = 0;
  };

  BprMf() : BprMf(Options{}) {}
  explicit BprMf(const Options& options) : options_(options) { validate(options_); }

  static void validate(const Options& o) {
    SEQREC_REQUIRE(o.factors >= 1, "BprMf: option factors must be >= 1, got ", o.factors);
    SEQREC_REQUIRE(std::isfinite(o.lr) && o.lr > 0, "BprMf: option lr must be finite and > 0, got ", o.lr);
    SEQREC_REQUIRE(std::isfinite(o.reg) && o.reg >= 0, "BprMf: option reg must be finite and >= 0, got ", o.reg);
    SEQREC_REQUIRE(o.epochs >= 0, "BprMf: option epochs must be >= 0, got ", o.epochs);
    SEQREC_REQUIRE(std::isfinite(o.init_scale) && o.init_scale >= 0,
                   "BprMf: option init_scale must be finite and >= 0, got ", o.init_scale);
    SEQREC_REQUIRE(o.samples_per_epoch >= 0, "BprMf: option samples_per_epoch must be >= 0 (0: nnz), got ",
                   o.samples_per_epoch);
  }

  // ------------------------------------------------------------------ fit

  // Training interactions (e.g. Split::train): weights ignored, repeats merged (Weights::binary).
  void fit(const Space& space, const data::Interactions& x) {
    fit(space, make_rating_matrix<T>(space, x, Weights::binary));
  }

  // A prebuilt training matrix (its values are ignored; each stored pair is one positive). Replaces any earlier
  // fit. Throws numeric naming the table and the epoch when a parameter becomes NaN or infinite.
  void fit(const Space& space, const RatingMatrix<T, Space>& r) {
    SEQREC_REQUIRE(r.nnz() > 0, "BprMf::fit: the training matrix has no interactions");
    SEQREC_REQUIRE(r.num_items >= 1, "BprMf::fit: num_items must be >= 1, got ", r.num_items);
    const Options& o = options_;
    const index_t k = o.factors, users = r.num_users, items = r.num_items;
    const index_t samples = o.samples_per_epoch > 0 ? o.samples_per_epoch : r.nnz();

    FactorTables<T, Space> f;
    f.user = make_uninitialized<View2<T, Space>>(space, "completion::BprMf::user_factors", users, k);
    f.item = make_uninitialized<View2<T, Space>>(space, "completion::BprMf::item_factors", items + 1, k);
    if (o.item_bias) f.item_bias = make_zeros<View1<T, Space>>(space, "completion::BprMf::item_bias", items + 1);
    const RandomStream init(o.seed, detail::kBprInitStream);
    fill_normal(space, f.user, RandomStream(init.key(), 0), T(0), static_cast<T>(o.init_scale));
    fill_normal(space, f.item, RandomStream(init.key(), 1), T(0), static_cast<T>(o.init_scale));
    const View1<const index_t, Space> offsets = r.by_user.offsets;
    const View1<const id_t, Space> row_items = r.by_user.indices;
    detail::bpr_zero_unused_rows(space, offsets, f.user, f.item);
    auto pair_user = make_uninitialized<View1<id_t, Space>>(space, "completion::BprMf::pair_user", r.nnz());
    detail::bpr_pair_users(space, offsets, pair_user);

    FitStats stats;
    stats.samples_per_epoch = samples;
    const T lr = static_cast<T>(o.lr), reg = static_cast<T>(o.reg);
    for (index_t epoch = 0; epoch < o.epochs; ++epoch) {
      const auto t0 = std::chrono::steady_clock::now();
      const detail::BprEpochSums s =
          detail::bpr_epoch<T>(space, f.user, f.item, f.item_bias, offsets, row_items,
                               View1<const id_t, Space>(pair_user), items, samples, o.seed, epoch, lr, reg);
      space.fence();
      stats.seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      stats.loss.push_back(s.count > 0 ? s.loss / s.count : 0.0);
      stats.accuracy.push_back(s.count > 0 ? s.correct / s.count : 0.0);
      stats.skipped.push_back(static_cast<index_t>(s.skipped));
      require_finite(space, f, epoch);
    }
    tables_ = f;
    stats_ = std::move(stats);
    num_items_ = items;
  }

  // ------------------------------------------------------------------ score

  // scores(b, j) = p_u · q_i + b_i for u = users(b), i = candidates(b, j). Throws out_of_range naming a user
  // outside [0, num_users) or a candidate outside [0, num_items].
  void score(const Space& space, View1<const id_t, Space> users, View2<const id_t, Space> candidates,
             View2<T, Space> scores) const {
    require_fitted("score");
    score_factors(space, tables_, users, candidates, scores, "BprMf::score");
  }

  // scores(b, i) for every item i in 0..num_items (one gemm). Reuses a workspace member: not for concurrent
  // calls on one object.
  void score_all(const Space& space, View1<const id_t, Space> users, View2<T, Space> scores) const {
    require_fitted("score_all");
    score_all_factors(space, tables_, users, scores, workspace_, "BprMf::score_all");
  }

  // ------------------------------------------------------------------ state

  bool fitted() const { return tables_.item.extent(0) > 0; }
  index_t num_items() const { return num_items_; }
  index_t num_users() const { return tables_.num_users(); }
  const Options& options() const { return options_; }
  const FitStats& stats() const { return stats_; }
  const FactorTables<T, Space>& tables() const { return tables_; }

 private:
  void require_fitted(const char* what) const { SEQREC_REQUIRE(fitted(), "BprMf::", what, ": call fit() first"); }

  void require_finite(const Space& space, const FactorTables<T, Space>& f, index_t epoch) const {
    auto check = [&](const auto& v, const char* name, index_t cols) {
      const index_t bad = detail::bpr_first_nonfinite(space, v);
      if (bad >= 0)
        SEQREC_THROW(Errc::numeric, "BprMf::fit: ", name, " row ", bad / cols, " became NaN or infinite in epoch ",
                     epoch, " (lower lr, currently ", options_.lr, ", or raise reg)");
    };
    check(f.user, "user factors", options_.factors);
    check(f.item, "item factors", options_.factors);
    check(f.item_bias, "item bias", 1);
  }

  Options options_;
  FactorTables<T, Space> tables_;
  mutable View2<T, Space> workspace_;
  FitStats stats_;
  index_t num_items_ = 0;
};

}  // namespace seqrec::completion
