// Item-based k-nearest-neighbours (Sarwar et al. 2001; Deshpande & Karypis 2004): score(u, i) =
// Σ_{j in u's training row} w_uj · sim(j, i), with each item's similarity row cut to its top-k neighbours.
//
//   ItemKnn<float, Space>                          cosine over the (binary) user–item matrix
//   ItemKnn<float, Space, AsymmetricCosine>        sim(i, j) = c_ij / (n_i^α n_j^(1−α))   (Aiolli 2013)
//   ItemKnn<float, Space, Bm25Cosine>              cosine over BM25-reweighted user–item weights
//
// with c_ij = Σ_u w_ui w_uj (the weighted co-occurrence, |Ui ∩ Uj| on binary data) and n_i = Σ_u w_ui²
// (|Ui| on binary data), so α = 0.5 is the cosine; `shrink` is added to every denominator.
//
// fit: the co-occurrences are accumulated on the host (a sparse accumulator per item over by_item →
// by_user, items spread over the host threads), each item's top-k kept (itself excluded, ties to the
// smaller id) and sent to the device as a CSR sorted by neighbour id.
// score_all: one team per user zeroes its score row and scatters the neighbour rows of the user's items
// into it (the team owns the row: no atomics). score: per candidate, the sum of sim(j, c) found by binary
// search in each history item's neighbour row. Users without training interactions score 0 everywhere.
#pragma once

#include <seqrec/completion/rating_matrix.hpp>
#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/math.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/data/interactions.hpp>
#include <seqrec/graph/csr.hpp>

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace seqrec::completion {

// Similarity tags of ItemKnn.
struct Cosine {};            // c_ij / (sqrt(n_i) sqrt(n_j) + shrink)
struct AsymmetricCosine {};  // c_ij / (n_i^alpha n_j^(1 - alpha) + shrink)
struct Bm25Cosine {};        // cosine after BM25 weighting of the user–item matrix (implicit's bm25_weight)

namespace detail {

template <class S>
inline constexpr bool is_knn_similarity_v =
    std::is_same_v<S, Cosine> || std::is_same_v<S, AsymmetricCosine> || std::is_same_v<S, Bm25Cosine>;

template <class S>
constexpr const char* similarity_name() {
  if constexpr (std::is_same_v<S, Cosine>) return "Cosine";
  if constexpr (std::is_same_v<S, AsymmetricCosine>) return "AsymmetricCosine";
  return "Bm25Cosine";
}

// The host space that runs the co-occurrence accumulation: Space itself when it runs on the host (so a
// Serial model stays serial), else the default host space.
template <class Space>
using knn_host_space_t = std::conditional_t<Kokkos::SpaceAccessibility<Space, Kokkos::HostSpace>::accessible, Space,
                                            Kokkos::DefaultHostExecutionSpace>;

template <class Space>
knn_host_space_t<Space> knn_host_instance(const Space& space) {
  if constexpr (std::is_same_v<knn_host_space_t<Space>, Space>)
    return space;
  else
    return Kokkos::DefaultHostExecutionSpace();
}

// One item's neighbours: (similarity, id) pairs, best first then smaller id.
struct KnnCandidate {
  double sim;
  id_t id;
};
inline bool knn_better(const KnnCandidate& a, const KnnCandidate& b) {
  return a.sim != b.sim ? a.sim > b.sim : a.id < b.id;
}

// The top-k similarity rows of every item, computed on the host. wu / wi: the (reweighted) values of the
// by_user / by_item entries; row_scale(i) and col_scale(j) give the denominator row_scale(i) · col_scale(j)
// + shrink of sim(i, j). Rows come back sorted by neighbour id; row 0 (padding) is empty.
template <class HostSpace>
HostCsr<double> knn_similarities(const HostSpace& hs, const HostCsr<double>& by_user, const HostCsr<double>& by_item,
                                 const std::vector<double>& row_scale, const std::vector<double>& col_scale,
                                 double shrink, index_t k) {
  const index_t rows = by_item.rows();  // num_items + 1
  const index_t kk = std::min<index_t>(k, std::max<index_t>(rows - 2, 0));
  // Per item: up to kk slots, filled in parallel, compacted afterwards.
  std::vector<index_t> count(static_cast<std::size_t>(rows), 0);
  std::vector<id_t> slot_id(static_cast<std::size_t>(rows * kk));
  std::vector<double> slot_sim(static_cast<std::size_t>(rows * kk));
  // One accumulator per host thread (allocated once per fit), handed out by a unique token.
  Kokkos::Experimental::UniqueToken<HostSpace> token(hs);
  const int workers = static_cast<int>(token.size());
  std::vector<std::vector<double>> acc(workers, std::vector<double>(static_cast<std::size_t>(rows), 0.0));
  std::vector<std::vector<index_t>> stamp(workers, std::vector<index_t>(static_cast<std::size_t>(rows), -1));
  std::vector<std::vector<id_t>> touched(workers);
  std::vector<std::vector<KnnCandidate>> cand(workers);
  for (int t = 0; t < workers; ++t) {
    touched[t].reserve(static_cast<std::size_t>(rows));
    cand[t].reserve(static_cast<std::size_t>(rows));
  }
  Kokkos::parallel_for("seqrec::completion::ItemKnn::similarities",
                       Kokkos::RangePolicy<HostSpace, Kokkos::Schedule<Kokkos::Dynamic>>(hs, 1, rows), [&](index_t i) {
                         const int t = static_cast<int>(token.acquire());
                         auto& a = acc[t];
                         auto& mark = stamp[t];  // mark[j] == i: j already in `seen` for this item
                         auto& seen = touched[t];
                         auto& c = cand[t];
                         seen.clear();
                         c.clear();
                         for (index_t q = by_item.offsets[i]; q < by_item.offsets[i + 1]; ++q) {
                           const id_t u = by_item.indices[q];
                           const double w = by_item.values[q];
                           for (index_t p = by_user.offsets[u]; p < by_user.offsets[u + 1]; ++p) {
                             const id_t j = by_user.indices[p];
                             if (j == i) continue;
                             if (mark[j] != i) {
                               mark[j] = i;
                               seen.push_back(j);
                             }
                             a[j] += w * by_user.values[p];
                           }
                         }
                         for (id_t j : seen) {
                           const double dot = a[j];
                           a[j] = 0.0;
                           if (dot == 0.0) continue;
                           c.push_back({dot / (row_scale[i] * col_scale[j] + shrink), j});
                         }
                         if (static_cast<index_t>(c.size()) > kk) {
                           std::nth_element(c.begin(), c.begin() + kk, c.end(), knn_better);
                           c.resize(static_cast<std::size_t>(kk));
                         }
                         std::sort(c.begin(), c.end(),
                                   [](const KnnCandidate& x, const KnnCandidate& y) { return x.id < y.id; });
                         count[i] = static_cast<index_t>(c.size());
                         for (std::size_t s = 0; s < c.size(); ++s) {
                           slot_id[i * kk + s] = c[s].id;
                           slot_sim[i * kk + s] = c[s].sim;
                         }
                         token.release(t);
                       });
  hs.fence();
  HostCsr<double> out;
  out.offsets.assign(static_cast<std::size_t>(rows) + 1, 0);
  for (index_t i = 0; i < rows; ++i) out.offsets[i + 1] = out.offsets[i] + count[i];
  out.indices.resize(static_cast<std::size_t>(out.offsets[rows]));
  out.values.resize(out.indices.size());
  for (index_t i = 0; i < rows; ++i)
    for (index_t s = 0; s < count[i]; ++s) {
      out.indices[out.offsets[i] + s] = slot_id[i * kk + s];
      out.values[out.offsets[i] + s] = slot_sim[i * kk + s];
    }
  return out;
}

// scores(b, :) = Σ_{j in row users(b)} w_uj · sim(j, :). One team per row: zero it, then scatter one
// neighbour row at a time (neighbour ids are distinct within a row; a barrier separates rows). Returns the
// first row whose user is outside [0, num_users) (its scores are left 0), or -1.
template <class T, ExecutionSpace Space>
index_t knn_score_all(const Space& space, const graph::Csr<T, Space>& history, const graph::Csr<T, Space>& sim,
                      View1<const T, Space> prior, View1<const id_t, Space> users, View2<T, Space> scores) {
  using member_type = typename Kokkos::TeamPolicy<Space>::member_type;
  const index_t rows = static_cast<index_t>(users.extent(0)), cols = static_cast<index_t>(scores.extent(1));
  if (rows == 0) return -1;
  const index_t nu = history.rows();
  const auto ho = history.offsets;
  const auto hi = history.indices;
  const auto hv = history.values;
  const auto so = sim.offsets;
  const auto si = sim.indices;
  const auto sv = sim.values;
  constexpr bool host = Kokkos::SpaceAccessibility<Space, Kokkos::HostSpace>::accessible;
  index_t first_bad = rows;
  Kokkos::parallel_reduce(
      "seqrec::completion::ItemKnn::score_all",
      Kokkos::TeamPolicy<Space>(space, static_cast<int>(rows), host ? 1 : 128),
      KOKKOS_LAMBDA(const member_type& m, index_t& bad) {
        const index_t b = m.league_rank();
        const id_t u = users(b);
        Kokkos::parallel_for(Kokkos::TeamThreadRange(m, index_t(0), cols), [&](index_t c) { scores(b, c) = prior(c); });
        if (u < 0 || u >= nu) {
          Kokkos::single(Kokkos::PerTeam(m), [&]() {
            if (b < bad) bad = b;
          });
          return;
        }
        for (index_t p = ho(u); p < ho(u + 1); ++p) {
          const id_t j = hi(p);
          const T w = hv(p);
          m.team_barrier();  // the zeroing, or the previous neighbour row, is complete
          Kokkos::parallel_for(Kokkos::TeamThreadRange(m, so(j), so(j + 1)),
                               [&](index_t q) { scores(b, si(q)) += w * sv(q); });
        }
      },
      Kokkos::Min<index_t>(first_bad));
  return first_bad < rows ? first_bad : -1;
}

// scores(b, t) = Σ_{j in row users(b)} w_uj · sim(j, candidates(b, t)), sim found by binary search in j's
// sorted neighbour row. Returns -1, a flat candidate position b * C + t outside [0, num_items], or
// -(b + 2) for a user outside [0, num_users).
template <class T, ExecutionSpace Space>
index_t knn_score(const Space& space, const graph::Csr<T, Space>& history, const graph::Csr<T, Space>& sim,
                  View1<const T, Space> prior, View1<const id_t, Space> users, View2<const id_t, Space> candidates,
                  View2<T, Space> scores) {
  using member_type = typename Kokkos::TeamPolicy<Space>::member_type;
  const index_t rows = static_cast<index_t>(candidates.extent(0)), cols = static_cast<index_t>(candidates.extent(1));
  if (rows == 0) return -1;
  const index_t nu = history.rows(), ni = sim.rows() - 1;
  const auto ho = history.offsets;
  const auto hi = history.indices;
  const auto hv = history.values;
  const auto so = sim.offsets;
  const auto si = sim.indices;
  const auto sv = sim.values;
  constexpr bool host = Kokkos::SpaceAccessibility<Space, Kokkos::HostSpace>::accessible;
  index_t first_bad = rows * cols;
  Kokkos::parallel_reduce(
      "seqrec::completion::ItemKnn::score", Kokkos::TeamPolicy<Space>(space, static_cast<int>(rows), host ? 1 : 64),
      KOKKOS_LAMBDA(const member_type& m, index_t& bad) {
        const index_t b = m.league_rank();
        const id_t u = users(b);
        if (u < 0 || u >= nu) {
          Kokkos::single(Kokkos::PerTeam(m), [&]() {
            if (-(b + 2) < bad) bad = -(b + 2);
          });
          return;
        }
        Kokkos::parallel_for(Kokkos::TeamThreadRange(m, index_t(0), cols), [&](index_t t) {
          const id_t c = candidates(b, t);
          if (c < 0 || c > ni) {
            if (b * cols + t < bad) bad = b * cols + t;
            return;
          }
          T s = prior(c);
          for (index_t p = ho(u); p < ho(u + 1); ++p) {
            const id_t j = hi(p);
            index_t lo = so(j), up = so(j + 1);  // first neighbour id >= c in [lo, up)
            while (lo < up) {
              const index_t mid = lo + (up - lo) / 2;
              if (si(mid) < c)
                lo = mid + 1;
              else
                up = mid;
            }
            if (lo < so(j + 1) && si(lo) == c) s += hv(p) * sv(lo);
          }
          scores(b, t) = s;
        });
      },
      Kokkos::Min<index_t>(first_bad));
  return first_bad < rows * cols ? first_bad : -1;
}

}  // namespace detail

template <Scalar T, ExecutionSpace Space, class Similarity = Cosine>
class ItemKnn {
  static_assert(detail::is_knn_similarity_v<Similarity>,
                "seqrec::completion::ItemKnn: Similarity must be Cosine, AsymmetricCosine or Bm25Cosine");

 public:
  static constexpr const char* name = "itemknn";  // what --method / --blend call it (completion/registry.hpp)
  using scalar_type = T;
  using execution_space = Space;
  using memory_space = typename Space::memory_space;
  using similarity_type = Similarity;

  struct Options {
    index_t neighbours = 100;           // similarities kept per item (its top-k, itself excluded)
    double alpha = 0.5;                 // AsymmetricCosine's exponent on the row item; ignored by the others
    double shrink = 0.0;                // added to every similarity's denominator (damps rare co-occurrences)
    Weights weights = Weights::binary;  // binary: every observed pair counts 1; positive: the summed weights
    double bm25_k1 = 100.0;             // Bm25Cosine: term-frequency saturation (implicit's K1)
    double bm25_b = 0.8;                // Bm25Cosine: length normalisation (implicit's B)
    // Added to every score: popularity_fallback * (users of the item) / (users of the most popular item). Items
    // the user's neighbourhoods do not reach would otherwise all tie at 0 (and the evaluators rank the true item
    // last among ties); this orders them by popularity while staying below almost any similarity sum. 0: off.
    double popularity_fallback = 1e-6;
  };

  struct FitStats {
    std::vector<double> seconds;  // one entry: the whole fit (similarities, top-k, device copies), fenced
    index_t neighbour_entries = 0;
  };

  ItemKnn() : ItemKnn(Options{}) {}
  explicit ItemKnn(const Options& options) : options_(options) { validate(options_); }

  static void validate(const Options& o) {
    const char* who = "ItemKnn";
    SEQREC_REQUIRE(o.neighbours >= 1, who, ": Options::neighbours must be >= 1, got ", o.neighbours);
    SEQREC_REQUIRE(std::isfinite(o.alpha) && o.alpha >= 0.0 && o.alpha <= 1.0, who,
                   ": Options::alpha must lie in [0, 1], got ", o.alpha);
    SEQREC_REQUIRE(std::isfinite(o.shrink) && o.shrink >= 0.0, who, ": Options::shrink must be finite and >= 0, got ",
                   o.shrink);
    SEQREC_REQUIRE(o.weights == Weights::binary || o.weights == Weights::positive, who,
                   ": Options::weights must be Weights::binary or Weights::positive (similarities need non-negative "
                   "weights), got Weights::finite");
    SEQREC_REQUIRE(std::isfinite(o.bm25_k1) && o.bm25_k1 >= 0.0, who,
                   ": Options::bm25_k1 must be finite and >= 0, got ", o.bm25_k1);
    SEQREC_REQUIRE(std::isfinite(o.bm25_b) && o.bm25_b >= 0.0 && o.bm25_b <= 1.0, who,
                   ": Options::bm25_b must lie in [0, 1], got ", o.bm25_b);
    SEQREC_REQUIRE(std::isfinite(o.popularity_fallback) && o.popularity_fallback >= 0.0, who,
                   ": Options::popularity_fallback must be finite and >= 0, got ", o.popularity_fallback);
  }

  // ------------------------------------------------------------------ fit

  // Training interactions (e.g. Split::train), weighted by Options::weights.
  void fit(const Space& space, const data::Interactions& x) {
    fit(space, make_rating_matrix<T>(space, x, options_.weights));
  }

  // A matrix built elsewhere. Under Weights::binary every stored entry counts 1; under Weights::positive
  // its values are used and must be finite and > 0. Replaces any earlier fit only when it succeeds.
  void fit(const Space& space, const RatingMatrix<T, Space>& r) {
    const auto start = std::chrono::steady_clock::now();
    SEQREC_REQUIRE(r.num_items >= 1 && r.host_by_item.rows() == r.num_items + 1 && r.host_by_user.rows() == r.num_users,
                   "ItemKnn::fit: the rating matrix is empty or malformed (", r.num_users, " users, ", r.num_items,
                   " items)");
    const bool binary = options_.weights == Weights::binary;
    if (!binary)
      for (index_t u = 0; u < r.num_users; ++u)
        for (index_t p = r.host_by_user.offsets[u]; p < r.host_by_user.offsets[u + 1]; ++p) {
          const double w = static_cast<double>(r.host_by_user.values[p]);
          SEQREC_REQUIRE(std::isfinite(w) && w > 0, "ItemKnn::fit: user ", u, ", item ", r.host_by_user.indices[p],
                         " has weight ", w, "; Weights::positive needs finite weights > 0");
        }
    auto weights_of = [&](const HostCsr<T>& m) {
      HostCsr<double> d{m.offsets, m.indices, std::vector<double>(m.values.size(), 1.0)};
      if (!binary) std::copy(m.values.begin(), m.values.end(), d.values.begin());
      return d;
    };
    HostCsr<double> bu = weights_of(r.host_by_user);
    HostCsr<double> bi = weights_of(r.host_by_item);
    // Scoring weighs the user's items by the policy's weights (BM25 only shapes the similarities).
    std::vector<T> hv(bu.values.begin(), bu.values.end());
    if constexpr (std::is_same_v<Similarity, Bm25Cosine>) bm25(bu, bi, r.num_items);
    // n_i = Σ_u w_ui², the denominators' factors.
    const index_t rows = r.num_items + 1;
    std::vector<double> n2(static_cast<std::size_t>(rows), 0.0);
    for (index_t i = 0; i < rows; ++i)
      for (index_t q = bi.offsets[i]; q < bi.offsets[i + 1]; ++q) n2[i] += bi.values[q] * bi.values[q];
    const double a = std::is_same_v<Similarity, AsymmetricCosine> ? options_.alpha : 0.5;
    std::vector<double> row_scale(n2.size()), col_scale(n2.size());
    for (std::size_t i = 0; i < n2.size(); ++i) {
      row_scale[i] = std::pow(n2[i], a);
      col_scale[i] = std::pow(n2[i], 1.0 - a);
    }
    HostCsr<double> s = detail::knn_similarities(detail::knn_host_instance(space), bu, bi, row_scale, col_scale,
                                                 options_.shrink, options_.neighbours);
    for (index_t i = 0; i < rows; ++i)
      for (index_t q = s.offsets[i]; q < s.offsets[i + 1]; ++q)
        SEQREC_REQUIRE_CODE(std::isfinite(static_cast<T>(s.values[q])), Errc::numeric, "ItemKnn::fit: sim(", i, ", ",
                            s.indices[q], ") = ", s.values[q],
                            " is not finite in the scalar type (weights too large?)");
    std::vector<T> sv(s.values.begin(), s.values.end());
    auto sim = graph::make_csr<T>(space, s.offsets, s.indices, sv, {}, "completion::ItemKnn::neighbours");
    auto history = graph::make_csr<T>(space, bu.offsets, bu.indices, hv, {}, "completion::ItemKnn::history");
    index_t most = 1;
    for (index_t i = 1; i < rows; ++i) most = std::max(most, r.host_by_item.length(i));
    Kokkos::View<T*, Kokkos::HostSpace> prior("completion::ItemKnn::prior", static_cast<std::size_t>(rows));
    for (index_t i = 1; i < rows; ++i)
      prior(i) = static_cast<T>(options_.popularity_fallback * double(r.host_by_item.length(i)) / double(most));
    prior_ = to_space(space, prior);
    sim_ = std::move(sim);
    history_ = std::move(history);
    num_items_ = r.num_items;
    num_users_ = r.num_users;
    stats_ = FitStats{};
    stats_.neighbour_entries = s.nnz();
    stats_.seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }

  // ------------------------------------------------------------------ score

  // scores(b, j) = Σ_{i in users(b)'s training row} w_ui · sim(i, candidates(b, j)) + the candidate's
  // popularity fallback. Candidates in
  // [0, num_items] (0: padding, scores 0); users in [0, num_users). Throws out_of_range naming the first bad id.
  void score(const Space& space, View1<const id_t, Space> users, View2<const id_t, Space> candidates,
             View2<T, Space> scores) const {
    require_fitted("score");
    SEQREC_REQUIRE_EQ(candidates.extent(0), users.extent(0), "ItemKnn::score: candidate rows vs users");
    SEQREC_REQUIRE_SHAPE(scores, "ItemKnn::score: scores", static_cast<index_t>(candidates.extent(0)),
                         static_cast<index_t>(candidates.extent(1)));
    const index_t bad =
        detail::knn_score(space, history_, sim_, View1<const T, Space>(prior_), users, candidates, scores);
    if (bad == -1) return;
    if (bad < -1) {
      const index_t b = -(bad + 2);
      SEQREC_THROW(Errc::out_of_range, "ItemKnn::score: user ",
                   to_host(Kokkos::subview(users, Kokkos::make_pair(b, b + 1)))(0), " (row ", b, ") outside [0, ",
                   num_users_, ")");
    }
    const index_t cols = static_cast<index_t>(candidates.extent(1));
    auto hc = to_host(candidates);
    SEQREC_THROW(Errc::out_of_range, "ItemKnn::score: candidate ", bad % cols, " of row ", bad / cols, " is item ",
                 hc(bad / cols, bad % cols), ", outside [0, ", num_items_, "]");
  }

  // scores(b, i) for every item i in 0..num_items (item 0 scores 0; items with no neighbour in the row score
  // their popularity fallback only).
  void score_all(const Space& space, View1<const id_t, Space> users, View2<T, Space> scores) const {
    require_fitted("score_all");
    SEQREC_REQUIRE_SHAPE(scores, "ItemKnn::score_all: scores", static_cast<index_t>(users.extent(0)), num_items_ + 1);
    const index_t bad = detail::knn_score_all(space, history_, sim_, View1<const T, Space>(prior_), users, scores);
    if (bad >= 0)
      SEQREC_THROW(Errc::out_of_range, "ItemKnn::score_all: user ",
                   to_host(Kokkos::subview(users, Kokkos::make_pair(bad, bad + 1)))(0), " (row ", bad, ") outside [0, ",
                   num_users_, ")");
  }

  // ------------------------------------------------------------------ state

  bool fitted() const { return num_items_ > 0; }
  index_t num_items() const { return num_items_; }
  index_t num_users() const { return num_users_; }
  const Options& options() const { return options_; }
  const FitStats& stats() const { return stats_; }
  // Row i: item i's kept neighbours, ascending ids, with sim(i, neighbour); num_items + 1 rows, row 0 empty.
  const graph::Csr<T, Space>& neighbours() const { return sim_; }
  // Row u: user u's training items (ascending) with the weights scoring uses.
  const graph::Csr<T, Space>& history() const { return history_; }

 private:
  void require_fitted(const char* what) const { SEQREC_REQUIRE(fitted(), "ItemKnn::", what, ": call fit() first"); }

  // implicit's bm25_weight on the item × user matrix (items are the documents, users the terms):
  // w' = w (K1 + 1) / (K1 · L_i + w) · idf_u, L_i = (1 − B) + B · len_i / mean len, idf_u = log N − log(1 + n_u),
  // N = num_items, len_i = Σ_u w_ui, n_u = the number of u's items. Applied to both orientations alike.
  void bm25(HostCsr<double>& bu, HostCsr<double>& bi, index_t num_items) const {
    const double k1 = options_.bm25_k1, b = options_.bm25_b, n = static_cast<double>(num_items);
    std::vector<double> len(static_cast<std::size_t>(num_items) + 1, 0.0);
    double total = 0;
    for (index_t i = 1; i <= num_items; ++i) {
      for (index_t q = bi.offsets[i]; q < bi.offsets[i + 1]; ++q) len[i] += bi.values[q];
      total += len[i];
    }
    const double mean = total / n;
    auto weight = [&](id_t u, id_t i, double w) {
      const double idf = std::log(n) - std::log1p(static_cast<double>(bu.length(u)));
      const double norm = (1.0 - b) + b * len[i] / mean;
      return w * (k1 + 1.0) / (k1 * norm + w) * idf;
    };
    for (index_t i = 1; i <= num_items; ++i)
      for (index_t q = bi.offsets[i]; q < bi.offsets[i + 1]; ++q)
        bi.values[q] = weight(bi.indices[q], static_cast<id_t>(i), bi.values[q]);
    for (index_t u = 0; u < bu.rows(); ++u)
      for (index_t p = bu.offsets[u]; p < bu.offsets[u + 1]; ++p)
        bu.values[p] = weight(static_cast<id_t>(u), bu.indices[p], bu.values[p]);
  }

  Options options_;
  FitStats stats_;
  graph::Csr<T, Space> sim_;
  graph::Csr<T, Space> history_;
  View1<T, Space> prior_;  // [num_items + 1]: the popularity fallback of each item (0 for item 0)
  index_t num_items_ = 0;
  index_t num_users_ = 0;
};

}  // namespace seqrec::completion
