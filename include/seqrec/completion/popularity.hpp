// PopRec: the non-personalised baseline of the SASRec paper. Every user gets the same scores, the number of
// training interactions of each item (repeats counted), so the most popular items come first.
//
// It has the shape every completion strategy in seqrec::completion shares:
//   fit(space, training data)                          learn from interactions (here: count them on the device);
//   score(space, users, candidates, scores)            the eval::Scorer of the sampled protocol;
//   score_all(space, users, scores[B x num_items+1])   the eval::FullScorer of full ranking.
//
// Scores are the raw counts as T (exact in float up to 2^24 interactions per item), so equal counts give
// exactly equal scores and the evaluators' tie rule (ties count against the true item) applies to them.
// The padding item 0 scores 0, like an item never seen in training.
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/data/interactions.hpp>

#include <Kokkos_Core.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace seqrec::completion {

namespace detail {

// counts(i) += 1 for every items(k); returns the position of the first id outside [1, num_items], or -1.
// (Free functions: CUDA lambdas may not live in private members or constructors.)
template <ExecutionSpace Space>
index_t count_items(const Space& space, View1<const id_t, Space> items, View1<index_t, Space> counts,
                    index_t num_items) {
  const index_t n = static_cast<index_t>(items.extent(0));
  index_t first_bad = n;
  Kokkos::parallel_reduce(
      "seqrec::completion::PopRec::count", Kokkos::RangePolicy<Space>(space, 0, n),
      KOKKOS_LAMBDA(index_t k, index_t & bad) {
        const id_t i = items(k);
        if (i < 1 || i > num_items) {
          if (k < bad) bad = k;
        } else {
          Kokkos::atomic_add(&counts(i), index_t(1));
        }
      },
      Kokkos::Min<index_t>(first_bad));
  return first_bad < n ? first_bad : -1;
}

template <class T, ExecutionSpace Space>
void counts_to_scores(const Space& space, View1<const index_t, Space> counts, View1<T, Space> popularity) {
  Kokkos::parallel_for(
      "seqrec::completion::PopRec::to_scalar", Kokkos::RangePolicy<Space>(space, 0, counts.extent(0)),
      KOKKOS_LAMBDA(index_t i) { popularity(i) = static_cast<T>(counts(i)); });
}

// scores(b, j) = popularity(candidates(b, j)); returns the flat position b * C + j of the first candidate
// outside [0, num_items] (left unscored), or -1. One flat range: the reduction works on every backend.
template <class T, ExecutionSpace Space>
index_t gather_scores(const Space& space, View1<const T, Space> popularity, View2<const id_t, Space> candidates,
                      View2<T, Space> scores) {
  const index_t rows = static_cast<index_t>(candidates.extent(0)), cols = static_cast<index_t>(candidates.extent(1));
  const index_t n = rows * cols;
  const index_t max_id = static_cast<index_t>(popularity.extent(0)) - 1;
  if (n == 0) return -1;
  index_t first_bad = n;
  Kokkos::parallel_reduce(
      "seqrec::completion::PopRec::score", Kokkos::RangePolicy<Space>(space, 0, n),
      KOKKOS_LAMBDA(index_t k, index_t & bad) {
        const index_t b = k / cols, j = k - b * cols;
        const id_t i = candidates(b, j);
        if (i < 0 || i > max_id) {
          if (k < bad) bad = k;
        } else {
          scores(b, j) = popularity(i);
        }
      },
      Kokkos::Min<index_t>(first_bad));
  return first_bad < n ? first_bad : -1;
}

template <class T, ExecutionSpace Space>
void broadcast_scores(const Space& space, View1<const T, Space> popularity, View2<T, Space> scores) {
  Kokkos::parallel_for(
      "seqrec::completion::PopRec::score_all",
      Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(
          space, {0, 0}, {static_cast<index_t>(scores.extent(0)), static_cast<index_t>(scores.extent(1))}),
      KOKKOS_LAMBDA(index_t b, index_t i) { scores(b, i) = popularity(i); });
}

}  // namespace detail

template <Scalar T, ExecutionSpace Space>
class PopRec {
 public:
  static constexpr const char* name = "poprec";  // what --method / --blend call it (completion/registry.hpp)
  using scalar_type = T;
  using execution_space = Space;
  using memory_space = typename Space::memory_space;

  PopRec() = default;

  // ------------------------------------------------------------------ fit

  // Counts `items` (device ids, each in [1, num_items]; repeats count). Replaces any earlier fit. Throws
  // out_of_range naming the position and the id of the first one outside.
  void fit(const Space& space, View1<const id_t, Space> items, index_t num_items) {
    SEQREC_REQUIRE(num_items >= 1, "PopRec::fit: num_items must be >= 1, got ", num_items);
    auto counts = make_zeros<View1<index_t, Space>>(space, "completion::PopRec::counts", num_items + 1);
    const index_t bad = detail::count_items(space, items, counts, num_items);
    if (bad >= 0) {
      id_t id = 0;
      Kokkos::deep_copy(space, Kokkos::View<id_t, Kokkos::HostSpace>(&id), Kokkos::subview(items, bad));
      space.fence();
      SEQREC_THROW(Errc::out_of_range, "PopRec::fit: interaction ", bad, " has item ", id, " outside [1, ", num_items,
                   "]");
    }
    auto popularity = make_uninitialized<View1<T, Space>>(space, "completion::PopRec::popularity", num_items + 1);
    detail::counts_to_scores<T>(space, View1<const index_t, Space>(counts), popularity);
    counts_ = counts;
    popularity_ = popularity;
    num_items_ = num_items;
    num_interactions_ = static_cast<index_t>(items.extent(0));
  }

  // Host item ids (each in [1, num_items]), copied to the device and counted there.
  void fit(const Space& space, std::span<const id_t> items, index_t num_items) {
    Kokkos::View<const id_t*, Kokkos::HostSpace, Kokkos::MemoryUnmanaged> host(items.data(), items.size());
    auto device = make_uninitialized<View1<id_t, Space>>(space, "completion::PopRec::fit_items", items.size());
    Kokkos::deep_copy(space, device, host);
    fit(space, View1<const id_t, Space>(device), num_items);  // its reduction fences before `items` may go
  }

  // Training interactions (e.g. Split::train): every row counts, over the whole catalogue of x's item map, so
  // items seen only in held-out data score 0.
  void fit(const Space& space, const data::Interactions& x) {
    fit(space, std::span<const id_t>(x.item), x.num_items());
  }

  // Sequences (e.g. Split::train_sequences): every position counts.
  void fit(const Space& space, const data::Sequences& s) { fit(space, std::span<const id_t>(s.items), s.num_items); }

  // ------------------------------------------------------------------ score

  // scores(b, j) = popularity of candidates(b, j) (the same for every user). Candidate ids must lie in
  // [0, num_items] (0: padding, scores 0); throws out_of_range naming the user and the id otherwise. Waits for
  // the kernel (its check reduces to the host).
  void score(const Space& space, View1<const id_t, Space> users, View2<const id_t, Space> candidates,
             View2<T, Space> scores) const {
    require_fitted("score");
    SEQREC_REQUIRE_EQ(candidates.extent(0), users.extent(0), "PopRec::score: candidate rows vs users");
    SEQREC_REQUIRE_SHAPE(scores, "PopRec::score: scores", static_cast<index_t>(candidates.extent(0)),
                         static_cast<index_t>(candidates.extent(1)));
    const index_t bad = detail::gather_scores<T>(space, View1<const T, Space>(popularity_), candidates, scores);
    if (bad >= 0) {
      const index_t cols = static_cast<index_t>(candidates.extent(1));
      id_t user = 0, id = 0;
      Kokkos::deep_copy(space, Kokkos::View<id_t, Kokkos::HostSpace>(&user), Kokkos::subview(users, bad / cols));
      Kokkos::deep_copy(space, Kokkos::View<id_t, Kokkos::HostSpace>(&id),
                        Kokkos::subview(candidates, bad / cols, bad % cols));
      space.fence();
      SEQREC_THROW(Errc::out_of_range, "PopRec::score: candidate ", bad % cols, " of user ", user, " (row ", bad / cols,
                   ") is item ", id, ", outside [0, ", num_items_, "]");
    }
  }

  // scores(b, i) = popularity of item i, for i in 0..num_items, every row alike.
  void score_all(const Space& space, View1<const id_t, Space> users, View2<T, Space> scores) const {
    require_fitted("score_all");
    SEQREC_REQUIRE_SHAPE(scores, "PopRec::score_all: scores", static_cast<index_t>(users.extent(0)), num_items_ + 1);
    detail::broadcast_scores<T>(space, View1<const T, Space>(popularity_), scores);
  }

  // ------------------------------------------------------------------ state

  bool fitted() const { return popularity_.extent(0) > 0; }
  index_t num_items() const { return num_items_; }
  index_t num_interactions() const { return num_interactions_; }    // counted by the last fit
  View1<const index_t, Space> counts() const { return counts_; }    // [num_items+1], exact; counts(0) = 0
  View1<const T, Space> popularity() const { return popularity_; }  // [num_items+1], the scores

 private:
  void require_fitted(const char* what) const { SEQREC_REQUIRE(fitted(), "PopRec::", what, ": call fit() first"); }

  View1<index_t, Space> counts_;
  View1<T, Space> popularity_;
  index_t num_items_ = 0;
  index_t num_interactions_ = 0;
};

}  // namespace seqrec::completion
