// Ranking metrics from the 0-based rank of a held-out item among a user's candidates: HR@K, NDCG@K, MRR,
// Recall@K (several held-out items per user) and catalogue coverage@K, accumulated in double.
//
// The rank rule, shared by every protocol in seqrec::eval, is conservative about ties:
//
//   rank = #{ other candidates c : !(score[c] < score[true]) }
//
// i.e. candidates scoring strictly higher plus every OTHER candidate scoring equal. A constant model gets the
// worst rank (never a free hit), and NaN counts against the model as well: a NaN candidate beats the true
// item, and a true item scored NaN gets the worst rank (MetricSet::nan_scores counts those users).
//
// Reductions are exact and deterministic: the device builds an integer histogram of ranks and the host sums
// it in a fixed order, so a MetricSet is bit-identical on Serial, OpenMP (any thread count) and CUDA for the
// same ranks. Nothing here needs nlohmann-json; its JSON form lives in report.hpp.
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/view.hpp>

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <iomanip>
#include <ostream>
#include <span>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace seqrec::eval {

// ------------------------------------------------------------------------------------ per-rank values

// The tie rule above, for kernels and host code alike: does `candidate` count against `truth`?
template <class T>
KOKKOS_INLINE_FUNCTION bool counts_against(T candidate, T truth) {
  return !(candidate < truth);
}

inline bool hit_at(index_t rank, int k) { return rank < k; }
// 1 / log2(rank + 2): 1 at rank 0.
inline double dcg_gain(index_t rank) { return 1.0 / std::log2(static_cast<double>(rank) + 2.0); }
inline double ndcg_at(index_t rank, int k) { return rank < k ? dcg_gain(rank) : 0.0; }
inline double reciprocal_rank(index_t rank) { return 1.0 / (static_cast<double>(rank) + 1.0); }

// Rank of scores[truth] among `scores` by the rule above (host reference).
template <class T>
index_t rank_of(std::span<const T> scores, std::size_t truth) {
  SEQREC_REQUIRE_INDEX(static_cast<index_t>(truth), scores.size(), "rank_of: true candidate");
  index_t rank = 0;
  for (std::size_t c = 0; c < scores.size(); ++c)
    if (c != truth && counts_against(scores[c], scores[truth])) ++rank;
  return rank;
}

namespace detail {
// Cutoffs sorted, without repeats; each must be positive.
inline std::vector<int> normalize_cutoffs(const std::vector<int>& ks) {
  SEQREC_REQUIRE(!ks.empty(), "at least one cutoff K is needed");
  for (int k : ks) SEQREC_REQUIRE(k > 0, "cutoffs K must be positive, got ", k);
  std::vector<int> out(ks);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}
}  // namespace detail

// ------------------------------------------------------------------------------------ results

// Means over the evaluated users, one entry per cutoff in `ks`, plus where the users and candidates came
// from (so a reported number says which protocol produced it).
struct MetricSet {
  std::string protocol;          // "sampled", "full", or what the caller names it
  std::vector<int> ks;           // ascending
  std::vector<double> hr;        // hit rate: some held-out item ranked < K
  std::vector<double> ndcg;      // DCG / ideal DCG, gain 1/log2(rank+2)
  std::vector<double> recall;    // held-out items ranked < K / held-out items (= hr with one per user)
  std::vector<double> coverage;  // distinct items in any user's top-K / catalogue size; empty if not computed
  double mrr = 0;                // 1 / (best rank + 1)
  index_t count = 0;             // users evaluated
  index_t nan_scores = 0;        // users whose true item scored NaN (ranked last)
  index_t candidates = 0;        // candidates per user (1 + negatives) in the sampled protocol; 0 otherwise
  std::uint64_t candidate_seed = 0;
  index_t eligible_users = 0;    // users that could be evaluated, before any sampling
  bool user_sample = false;      // true: a seeded sample of eligible_users; false: all of them
  std::uint64_t user_seed = 0;

  double hr_at(int k) const { return at(hr, k, "HR"); }
  double ndcg_at(int k) const { return at(ndcg, k, "NDCG"); }
  double recall_at(int k) const { return at(recall, k, "Recall"); }
  double coverage_at(int k) const {
    SEQREC_REQUIRE(!coverage.empty(), "coverage was not computed for this metric set (protocol '", protocol, "')");
    return at(coverage, k, "Coverage");
  }
  bool has(int k) const { return std::find(ks.begin(), ks.end(), k) != ks.end(); }

  // ("HR@10", value) pairs in a stable order: HR, NDCG, Recall, Coverage per K, then MRR.
  std::vector<std::pair<std::string, double>> named() const {
    std::vector<std::pair<std::string, double>> out;
    auto add = [&](const char* name, const std::vector<double>& v) {
      for (std::size_t i = 0; i < v.size() && i < ks.size(); ++i)
        out.emplace_back(std::string(name) + "@" + std::to_string(ks[i]), v[i]);
    };
    add("HR", hr);
    add("NDCG", ndcg);
    add("Recall", recall);
    add("Coverage", coverage);
    out.emplace_back("MRR", mrr);
    return out;
  }

  // One human line: "HR@10 0.7410  NDCG@10 0.5360  MRR 0.4921  (sampled: 10000 of 31013 users, seed 7; ...)".
  std::string summary() const {
    std::ostringstream os;
    os << std::fixed << std::setprecision(4);
    for (std::size_t i = 0; i < ks.size(); ++i) os << "HR@" << ks[i] << ' ' << hr[i] << "  ";
    for (std::size_t i = 0; i < ks.size(); ++i) os << "NDCG@" << ks[i] << ' ' << ndcg[i] << "  ";
    for (std::size_t i = 0; i < coverage.size() && i < ks.size(); ++i)
      os << "Cov@" << ks[i] << ' ' << coverage[i] << "  ";
    os << "MRR " << mrr << "  (" << (protocol.empty() ? "ranks" : protocol) << ": " << count << " users";
    if (user_sample) os << ", a sample of " << eligible_users << " eligible, seed " << user_seed;
    else if (eligible_users > 0) os << ", all eligible";
    if (candidates > 0) os << "; " << candidates << " candidates, seed " << candidate_seed;
    if (nan_scores > 0) os << "; " << nan_scores << " NaN true scores";
    os << ')';
    return os.str();
  }

 private:
  double at(const std::vector<double>& v, int k, const char* what) const {
    for (std::size_t i = 0; i < ks.size() && i < v.size(); ++i)
      if (ks[i] == k) return v[i];
    SEQREC_THROW(Errc::invalid_argument, what, "@", k, " was not computed (cutoffs: ",
                 seqrec::detail::shape_string(ks), ")");
  }
};

inline std::ostream& operator<<(std::ostream& os, const MetricSet& m) { return os << m.summary(); }

// Host accumulator, in double, in the order users are added. One held-out item per user: add(rank).
// Several held-out items of one user, each ranked against the same candidate list (other held-out items
// included, as a top-K list would show them): add_user(ranks), with
//   HR@K = any rank < K, Recall@K = hits / n, NDCG@K = sum_{rank<K} gain(rank) / sum_{i<min(n,K)} gain(i),
//   MRR = 1 / (min rank + 1).
class MetricAccumulator {
 public:
  explicit MetricAccumulator(const std::vector<int>& ks = {1, 5, 10})
      : ks_(detail::normalize_cutoffs(ks)), hr_(ks_.size()), ndcg_(ks_.size()), recall_(ks_.size()) {}

  void add(index_t rank) {
    SEQREC_REQUIRE(rank >= 0, "ranks are 0-based and non-negative, got ", rank);
    for (std::size_t i = 0; i < ks_.size(); ++i) {
      const double h = hit_at(rank, ks_[i]) ? 1.0 : 0.0;
      hr_[i] += h;
      recall_[i] += h;
      ndcg_[i] += ndcg_at(rank, ks_[i]);
    }
    mrr_ += reciprocal_rank(rank);
    ++count_;
  }

  void add_user(std::span<const index_t> ranks) {
    SEQREC_REQUIRE(!ranks.empty(), "add_user: a user needs at least one held-out item");
    index_t best = ranks[0];
    for (index_t r : ranks) {
      SEQREC_REQUIRE(r >= 0, "ranks are 0-based and non-negative, got ", r);
      best = std::min(best, r);
    }
    const auto n = static_cast<index_t>(ranks.size());
    for (std::size_t i = 0; i < ks_.size(); ++i) {
      const int k = ks_[i];
      index_t hits = 0;
      double dcg = 0, ideal = 0;
      for (index_t r : ranks) {
        if (r >= k) continue;
        ++hits;
        dcg += dcg_gain(r);
      }
      for (index_t j = 0; j < std::min<index_t>(n, k); ++j) ideal += dcg_gain(j);
      hr_[i] += hits > 0 ? 1.0 : 0.0;
      recall_[i] += static_cast<double>(hits) / static_cast<double>(n);
      ndcg_[i] += dcg / ideal;
    }
    mrr_ += reciprocal_rank(best);
    ++count_;
  }

  // hist[r] = number of users (one held-out item each) with rank r. Summed bin by bin in order.
  void add_histogram(std::span<const index_t> hist) {
    for (std::size_t r = 0; r < hist.size(); ++r)
      SEQREC_REQUIRE(hist[r] >= 0, "add_histogram: negative count in bin ", r);
    for (std::size_t i = 0; i < ks_.size(); ++i) {
      double hits = 0, dcg = 0;
      for (std::size_t r = 0; r < hist.size() && r < static_cast<std::size_t>(ks_[i]); ++r) {
        hits += static_cast<double>(hist[r]);
        dcg += static_cast<double>(hist[r]) * dcg_gain(static_cast<index_t>(r));
      }
      hr_[i] += hits;
      recall_[i] += hits;
      ndcg_[i] += dcg;
    }
    for (std::size_t r = 0; r < hist.size(); ++r) {
      mrr_ += static_cast<double>(hist[r]) * reciprocal_rank(static_cast<index_t>(r));
      count_ += hist[r];
    }
  }

  const std::vector<int>& ks() const { return ks_; }
  index_t count() const { return count_; }

  MetricSet result() const {
    MetricSet m;
    m.ks = ks_;
    const double n = count_ > 0 ? static_cast<double>(count_) : 1.0;  // no users: all zeros
    for (std::size_t i = 0; i < ks_.size(); ++i) {
      m.hr.push_back(hr_[i] / n);
      m.ndcg.push_back(ndcg_[i] / n);
      m.recall.push_back(recall_[i] / n);
    }
    m.mrr = mrr_ / n;
    m.count = count_;
    return m;
  }

 private:
  std::vector<int> ks_;
  std::vector<double> hr_, ndcg_, recall_;
  double mrr_ = 0;
  index_t count_ = 0;
};

// Host metrics of a list of ranks (one held-out item each).
inline MetricSet metrics_from_ranks(std::span<const index_t> ranks, const std::vector<int>& ks = {1, 5, 10}) {
  MetricAccumulator acc(ks);
  for (index_t r : ranks) acc.add(r);
  return acc.result();
}

// ------------------------------------------------------------------------------------ coverage

// Catalogue coverage@K for each K: distinct items among the first K entries of any list / num_items.
// `lists` is row-major [users x list_length]; entries outside [1, num_items] (padding 0) are ignored.
inline std::vector<double> coverage_from_lists(std::span<const id_t> lists, index_t list_length, index_t num_items,
                                               const std::vector<int>& ks) {
  SEQREC_REQUIRE(num_items > 0, "coverage: num_items must be positive, got ", num_items);
  SEQREC_REQUIRE(list_length >= 0 && (list_length == 0 ? lists.empty() : lists.size() % list_length == 0),
                 "coverage: ", lists.size(), " entries are not whole lists of length ", list_length);
  const auto cuts = detail::normalize_cutoffs(ks);
  std::vector<index_t> first(static_cast<std::size_t>(num_items) + 1, INT_MAX);
  for (std::size_t e = 0; e < lists.size(); ++e) {
    const id_t item = lists[e];
    if (item >= 1 && item <= num_items) first[item] = std::min<index_t>(first[item], e % list_length);
  }
  std::vector<double> out;
  for (int k : cuts) {
    index_t n = 0;
    for (index_t i = 1; i <= num_items; ++i) n += first[i] < k;
    out.push_back(static_cast<double>(n) / static_cast<double>(num_items));
  }
  return out;
}

// The same on the device, for lists [users x K] of a space; the per-item first position is found with an
// atomic min and counted on the host (exact, deterministic).
template <ExecutionSpace Space>
std::vector<double> coverage(const Space& space, Kokkos::View<const id_t**, Kokkos::LayoutRight,
                                                              typename Space::memory_space> lists,
                             index_t num_items, const std::vector<int>& ks) {
  SEQREC_REQUIRE(num_items > 0, "coverage: num_items must be positive, got ", num_items);
  const auto cuts = detail::normalize_cutoffs(ks);
  auto first = make_uninitialized<View1<int, Space>>(space, "eval::coverage::first", num_items + 1);
  Kokkos::deep_copy(space, first, INT_MAX);
  const index_t users = static_cast<index_t>(lists.extent(0)), len = static_cast<index_t>(lists.extent(1));
  Kokkos::parallel_for(
      "seqrec::eval::coverage", Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {0, 0}, {users, len}),
      KOKKOS_LAMBDA(index_t u, index_t j) {
        const id_t item = lists(u, j);
        if (item >= 1 && item <= num_items) Kokkos::atomic_fetch_min(&first(item), static_cast<int>(j));
      });
  auto h = to_host(first);
  std::vector<double> out;
  for (int k : cuts) {
    index_t n = 0;
    for (index_t i = 1; i <= num_items; ++i) n += h(i) < k;
    out.push_back(static_cast<double>(n) / static_cast<double>(num_items));
  }
  return out;
}

// ------------------------------------------------------------------------------------ device ranks

// hist[r] = how many entries of `ranks` equal r, for r in [0, num_bins). Throws (out_of_range) when a rank
// falls outside, which means num_bins is not the number of candidates. Fences.
template <ExecutionSpace Space>
std::vector<index_t> rank_histogram(
    const Space& space, Kokkos::View<const index_t*, Kokkos::LayoutRight, typename Space::memory_space> ranks,
    index_t num_bins) {
  SEQREC_REQUIRE(num_bins > 0, "rank_histogram: num_bins must be positive, got ", num_bins);
  auto hist = make_zeros<View1<index_t, Space>>(space, "eval::rank_histogram", num_bins);
  index_t outside = 0;
  Kokkos::parallel_reduce(
      "seqrec::eval::rank_histogram", Kokkos::RangePolicy<Space>(space, 0, ranks.extent(0)),
      KOKKOS_LAMBDA(index_t i, index_t & bad) {
        const index_t r = ranks(i);
        if (r < 0 || r >= num_bins) ++bad;
        else Kokkos::atomic_add(&hist(r), index_t(1));
      },
      outside);
  SEQREC_REQUIRE_CODE(outside == 0, Errc::out_of_range, "rank_histogram: ", outside, " ranks outside [0, ", num_bins,
                      ")");
  auto h = to_host(hist);
  return std::vector<index_t>(h.data(), h.data() + num_bins);
}

// Metrics of device ranks (one held-out item each), reduced through rank_histogram.
template <ExecutionSpace Space>
MetricSet metrics_from_ranks(const Space& space,
                             Kokkos::View<const index_t*, Kokkos::LayoutRight, typename Space::memory_space> ranks,
                             index_t num_candidates, const std::vector<int>& ks = {1, 5, 10}) {
  MetricAccumulator acc(ks);
  acc.add_histogram(rank_histogram(space, ranks, num_candidates));
  return acc.result();
}

}  // namespace seqrec::eval
