// Full ranking: each evaluated user's held-out item ranked against every item of the catalogue except the
// user's history (the items the model saw as input) and the padding item 0. The held-out item itself is never
// excluded, even when it also appears in the history.
//
// Per batch of users the scorer fills scores [B x num_items+1] (score_all, or score() over all items when the
// scorer has no score_all); one team per user then (one thread on host spaces), without sorting,
//   - counts the rank of the held-out item (tie rule of metrics.hpp: others scoring >= count against it);
//   - selects the user's top-K (K <= kMaxTopK): each thread of the team keeps a sorted list of K over a
//     strided part of the items, then the lists merge pairwise in log2(team size) rounds.
// Top-K order: score descending, ties broken by the smaller item id, NaN scores below every number; when
// fewer than K items are rankable the list is padded with item 0 (score -inf). The held-out item's rank can
// exceed its position in the list: ties count against it in the rank but are ordered by id in the list.
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/eval/metrics.hpp>
#include <seqrec/eval/sampled.hpp>

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

namespace seqrec::eval {

inline constexpr index_t kMaxTopK = 100;

namespace detail {

// Strict total order of the top-K lists: does (sa, ia) come before (sb, ib)?
template <class T>
KOKKOS_INLINE_FUNCTION bool ranks_before(T sa, id_t ia, T sb, id_t ib) {
  const bool na = !(sa == sa), nb = !(sb == sb);
  if (na || nb) return na && nb ? ia < ib : nb;
  return sa > sb || (sa == sb && ia < ib);
}

// Inserts (sv, iv) into the sorted list s/ids of n <= k entries; the caller has checked that it belongs
// (n < k, or it ranks before the last entry, which then drops out).
template <class T>
KOKKOS_INLINE_FUNCTION void topk_insert(T* s, id_t* ids, int& n, int k, T sv, id_t iv) {
  int pos = n < k ? n : k - 1;
  while (pos > 0 && ranks_before(sv, iv, s[pos - 1], ids[pos - 1])) {
    s[pos] = s[pos - 1];
    ids[pos] = ids[pos - 1];
    --pos;
  }
  s[pos] = sv;
  ids[pos] = iv;
  if (n < k) ++n;
}

// The first k of two sorted lists into out; returns its length.
template <class T>
KOKKOS_INLINE_FUNCTION int topk_merge(const T* sa, const id_t* ia, int na, const T* sb, const id_t* ib, int nb, T* so,
                                      id_t* io, int k) {
  int a = 0, b = 0, o = 0;
  while (o < k && (a < na || b < nb)) {
    if (b >= nb || (a < na && ranks_before(sa[a], ia[a], sb[b], ib[b]))) {
      so[o] = sa[a];
      io[o++] = ia[a++];
    } else {
      so[o] = sb[b];
      io[o++] = ib[b++];
    }
  }
  return o;
}

// Top-K selection over one thread's items, visited in increasing id order: every item already in the list has
// a smaller id than the next one, so once the list is full and its last score is a number, an item whose
// score is not above that number cannot enter (ties go to the smaller id; NaN ranks below numbers). That one
// comparison rejects almost every item.
template <class T, class Hist>
struct TopK {
  T* s;
  id_t* ids;
  int k, n = 0;
  bool full_of_numbers = false;
  T last = T(0);

  KOKKOS_INLINE_FUNCTION void offer(T sv, id_t item, id_t target, const Hist& hist, index_t lo, index_t hi) {
    if (full_of_numbers && !(sv > last)) return;
    if (n == k && !ranks_before(sv, item, s[k - 1], ids[k - 1])) return;
    if (item != target && contains_sorted(hist, lo, hi, item)) return;  // history items are not rankable
    topk_insert(s, ids, n, k, sv, item);
    last = s[k - 1];
    full_of_numbers = n == k && last == last;
  }
};

// Host spaces, one thread per user over the contiguous score row, the top-K list on the stack.
template <class T, ExecutionSpace Space>
void rank_full_batch_host(const Space& space,
                          Kokkos::View<const T**, Kokkos::LayoutRight, typename Space::memory_space> scores,
                          View1<const id_t, Space> users, View1<const id_t, Space> targets,
                          const History<Space>& history, View1<index_t, Space> ranks, View2<id_t, Space> top_items,
                          View2<T, Space> top_scores, View1<index_t, Space> nan_count, T lowest) {
  const index_t rows = static_cast<index_t>(scores.extent(0));
  const index_t num_items = history.num_items();
  const int k = static_cast<int>(top_items.extent(1));
  const bool with_rank = targets.extent(0) > 0;
  auto offsets = history.offsets();
  auto hist = history.items();
  Kokkos::parallel_for("seqrec::eval::full::rank_topk_host", Kokkos::RangePolicy<Space>(space, 0, rows),
                       [=](index_t b) {
                         const T* row = &scores(b, 0);
                         const id_t u = users(b);
                         const id_t t = with_rank ? targets(b) : id_t(0);
                         const index_t lo = offsets(u), hi = offsets(u + 1);
                         T s[kMaxTopK];
                         id_t ids[kMaxTopK];
                         TopK<T, decltype(hist)> top{s, ids, k};
                         // Chunks of 64 items: one vectorisable pass counts the items scoring >= the target's and takes
                         // the chunk's largest number; the top-K list only looks at a chunk that could change it.
                         constexpr index_t C = 64;
                         const T st = with_rank ? row[t] : T(0);
                         index_t above = 0;
                         for (index_t c0 = 1; c0 <= num_items; c0 += C) {
                           const index_t c1 = c0 + C <= num_items + 1 ? c0 + C : num_items + 1;
                           index_t count = 0;
                           T most = lowest;  // NaN never wins a `>`: the chunk's largest number
                           for (index_t i = c0; i < c1; ++i) {
                             const T x = row[i];
                             count += counts_against(x, st) ? 1 : 0;
                             most = x > most ? x : most;
                           }
                           above += count;
                           if (!top.full_of_numbers || most > top.last)
                             for (index_t i = c0; i < c1; ++i) top.offer(row[i], static_cast<id_t>(i), t, hist, lo, hi);
                         }
                         if (with_rank) {
                           above -= 1;  // the target itself (counts_against(st, st) holds, NaN or not)
                           for (index_t h = lo; h < hi; ++h) {
                             const id_t i = hist(h);
                             above -= (i != t && counts_against(row[i], st)) ? 1 : 0;
                           }
                           ranks(b) = above;
                           if (!(st == st)) Kokkos::atomic_add(&nan_count(0), index_t(1));
                         }
                         for (int j = 0; j < k; ++j) {
                           top_items(b, j) = j < top.n ? ids[j] : id_t(0);
                           top_scores(b, j) = j < top.n ? s[j] : lowest;
                         }
                       });
}

// One team per row b of the batch: rank of targets(b) (when targets is non-empty) into ranks(b), and the
// top-k of the user's rankable items into top_items/top_scores rows b.
template <class T, ExecutionSpace Space>
void rank_full_batch(const Space& space,
                     Kokkos::View<const T**, Kokkos::LayoutRight, typename Space::memory_space> scores,
                     View1<const id_t, Space> users, View1<const id_t, Space> targets, const History<Space>& history,
                     View1<index_t, Space> ranks, View2<id_t, Space> top_items, View2<T, Space> top_scores,
                     View1<index_t, Space> nan_count, T lowest, int team_size) {
  using member_type = typename Kokkos::TeamPolicy<Space>::member_type;
  using scratch_space = typename Space::scratch_memory_space;
  using ScratchT = Kokkos::View<T*, scratch_space, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
  using ScratchId = Kokkos::View<id_t*, scratch_space, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
  using ScratchInt = Kokkos::View<int*, scratch_space, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;

  const index_t rows = static_cast<index_t>(scores.extent(0));
  if (rows == 0) return;
  if constexpr (Kokkos::SpaceAccessibility<Space, Kokkos::HostSpace>::accessible) {
    if (team_size <= 1) {
      rank_full_batch_host<T>(space, scores, users, targets, history, ranks, top_items, top_scores, nan_count, lowest);
      return;
    }
  }
  const index_t num_items = history.num_items();
  const int k = static_cast<int>(top_items.extent(1));
  const bool with_rank = targets.extent(0) > 0;
  auto offsets = history.offsets();
  auto hist = history.items();

  auto policy = team_size > 0 ? Kokkos::TeamPolicy<Space>(space, static_cast<int>(rows), team_size)
                              : team_policy(space, rows, 32);
  const int nt = policy.team_size();
  const std::size_t lists = 2 * static_cast<std::size_t>(nt) * static_cast<std::size_t>(k);  // own + merge buffer
  const std::size_t bytes = ScratchT::shmem_size(lists) + ScratchId::shmem_size(lists) + ScratchInt::shmem_size(nt);
  const int level = bytes <= 16384 ? 0 : 1;
  policy.set_scratch_size(level, Kokkos::PerTeam(bytes));

  Kokkos::parallel_for(
      "seqrec::eval::full::rank_topk", policy, KOKKOS_LAMBDA(const member_type& m) {
        const index_t b = m.league_rank();
        const id_t u = users(b);
        const id_t t = with_rank ? targets(b) : id_t(0);  // 0: no target, every history item is excluded
        const index_t lo = offsets(u), hi = offsets(u + 1);

        if (with_rank) {
          const T st = scores(b, t);
          index_t above = 0, above_in_history = 0;
          Kokkos::parallel_reduce(
              Kokkos::TeamThreadRange(m, index_t(1), num_items + 1),
              [&](index_t i, index_t& acc) { acc += (i != t && counts_against(scores(b, i), st)) ? 1 : 0; }, above);
          Kokkos::parallel_reduce(
              Kokkos::TeamThreadRange(m, lo, hi),
              [&](index_t h, index_t& acc) {
                const id_t i = hist(h);
                acc += (i != t && counts_against(scores(b, i), st)) ? 1 : 0;
              },
              above_in_history);
          Kokkos::single(Kokkos::PerTeam(m), [&]() {
            ranks(b) = above - above_in_history;
            if (!(st == st)) Kokkos::atomic_add(&nan_count(0), index_t(1));
          });
        }

        const int tid = m.team_rank(), size = m.team_size();
        ScratchT sbuf(m.team_scratch(level), 2 * size * k);
        ScratchId ibuf(m.team_scratch(level), 2 * size * k);
        ScratchInt count(m.team_scratch(level), size);
        T* my_s = sbuf.data() + tid * k;
        id_t* my_i = ibuf.data() + tid * k;
        TopK<T, decltype(hist)> top{my_s, my_i, k};
        for (index_t i = 1 + tid; i <= num_items; i += size)
          top.offer(scores(b, i), static_cast<id_t>(i), t, hist, lo, hi);
        count(tid) = top.n;
        m.team_barrier();
        for (int stride = 1; stride < size; stride *= 2) {
          if (tid % (2 * stride) == 0 && tid + stride < size) {
            const int other = tid + stride;
            T* tmp_s = sbuf.data() + (size + tid) * k;
            id_t* tmp_i = ibuf.data() + (size + tid) * k;
            const int merged = topk_merge(my_s, my_i, count(tid), sbuf.data() + other * k, ibuf.data() + other * k,
                                          count(other), tmp_s, tmp_i, k);
            for (int j = 0; j < merged; ++j) {
              my_s[j] = tmp_s[j];
              my_i[j] = tmp_i[j];
            }
            count(tid) = merged;
          }
          m.team_barrier();
        }
        const int total = count(0);
        Kokkos::parallel_for(Kokkos::TeamThreadRange(m, 0, k), [&](int j) {
          top_items(b, j) = j < total ? ibuf(j) : id_t(0);
          top_scores(b, j) = j < total ? sbuf(j) : lowest;
        });
      });
}

// A candidate matrix whose every row is 0..num_items, for scorers without score_all.
template <ExecutionSpace Space>
void fill_all_items(const Space& space, View2<id_t, Space> items) {
  Kokkos::parallel_for(
      "seqrec::eval::full::all_items",
      Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(
          space, {0, 0}, {static_cast<index_t>(items.extent(0)), static_cast<index_t>(items.extent(1))}),
      KOKKOS_LAMBDA(index_t b, index_t i) { items(b, i) = static_cast<id_t>(i); });
}

}  // namespace detail

// Full-ranking evaluation and top-K recommendation with buffers allocated once: scores [batch x num_items+1],
// and per evaluated user its rank and top-K list.
template <Scalar T, ExecutionSpace Space>
class FullEvaluator {
 public:
  using scalar_type = T;
  using execution_space = Space;
  using memory_space = typename Space::memory_space;

  FullEvaluator(const Space& space, index_t num_items, index_t batch_size = 256, index_t top_k = 10)
      : num_items_(num_items), batch_size_(batch_size), top_k_(top_k) {
    SEQREC_REQUIRE(num_items >= 1, "FullEvaluator: num_items must be >= 1, got ", num_items);
    SEQREC_REQUIRE(batch_size >= 1, "FullEvaluator: batch_size must be >= 1, got ", batch_size);
    SEQREC_REQUIRE(top_k >= 1 && top_k <= kMaxTopK, "FullEvaluator: top_k must be in [1, ", kMaxTopK, "], got ", top_k);
    scores_ = make_uninitialized<View2<T, Space>>(space, "eval::FullEvaluator::scores", batch_size, num_items + 1);
    nan_count_ = make_zeros<View1<index_t, Space>>(space, "eval::FullEvaluator::nan_count", 1);
  }

  // Ranks every user of `users` against all items outside their history; coverage@K comes from the top-K
  // lists, so top_k must be at least the largest cutoff.
  template <class S>
  MetricSet evaluate(const Space& space, S&& scorer, const EvalUsers<Space>& users, const History<Space>& history,
                     const std::vector<int>& ks = {1, 5, 10}) {
    check_scorer<S, Space, T>();
    const auto cuts = detail::normalize_cutoffs(ks);
    SEQREC_REQUIRE(cuts.back() <= top_k_, "FullEvaluator: cutoff ", cuts.back(), " exceeds top_k ", top_k_,
                   " (coverage@K needs top-K lists at least that long: construct with a larger top_k)");
    SEQREC_REQUIRE_EQ(history.num_items(), num_items_, "FullEvaluator: history's num_items");
    detail::require_users_in(users, history, "FullEvaluator::evaluate");
    run(space, scorer, users.users, users.targets, history);
    MetricSet m = metrics_from_ranks(space, View1<const index_t, Space>(ranks_), num_items_, cuts);
    m.coverage = coverage(space, View2<const id_t, Space>(top_items_), num_items_, cuts);
    m.protocol = "full";
    m.nan_scores = to_host(nan_count_)(0);
    m.eligible_users = users.eligible;
    m.user_sample = users.sampled;
    m.user_seed = users.seed;
    return m;
  }

  // Top-K lists only (no held-out item): every history item is excluded. Results in top_items()/top_scores().
  template <class S>
  void recommend(const Space& space, S&& scorer, View1<const id_t, Space> users, const History<Space>& history) {
    check_scorer<S, Space, T>();
    SEQREC_REQUIRE_EQ(history.num_items(), num_items_, "FullEvaluator: history's num_items");
    auto hu = to_host(users);
    for (std::size_t b = 0; b < hu.extent(0); ++b)
      SEQREC_REQUIRE_CODE(hu(b) >= 0 && hu(b) < history.num_users(), Errc::out_of_range,
                          "FullEvaluator::recommend: user ", hu(b), " outside the history's [0, ", history.num_users(),
                          ")");
    run(space, scorer, users, View1<const id_t, Space>(), history);
  }

  View2<id_t, Space> top_items() const { return top_items_; }  // [users x top_k], 0-padded
  View2<T, Space> top_scores() const { return top_scores_; }   // [users x top_k], -inf where padded
  View1<index_t, Space> ranks() const { return ranks_; }       // of the last evaluate()
  index_t top_k() const { return top_k_; }
  // Threads per user's team: 0 (the default) means 1 on host spaces and 32 on GPUs. More threads per user
  // on a host space only pay off with few users and many threads.
  void set_team_size(int threads) {
    SEQREC_REQUIRE(threads >= 0, "FullEvaluator: team size must be >= 0 (0: default), got ", threads);
    team_size_ = threads;
  }
  int team_size() const { return team_size_; }
  index_t num_items() const { return num_items_; }
  index_t batch_size() const { return batch_size_; }

 private:
  template <class S>
  void run(const Space& space, S& scorer, View1<const id_t, Space> users, View1<const id_t, Space> targets,
           const History<Space>& history) {
    const index_t n = static_cast<index_t>(users.extent(0));
    const bool with_rank = targets.extent(0) > 0;
    if (static_cast<index_t>(top_items_.extent(0)) != n) {
      top_items_ = make_uninitialized<View2<id_t, Space>>(space, "eval::FullEvaluator::top_items", n, top_k_);
      top_scores_ = make_uninitialized<View2<T, Space>>(space, "eval::FullEvaluator::top_scores", n, top_k_);
    }
    if (with_rank && static_cast<index_t>(ranks_.extent(0)) != n)
      ranks_ = make_uninitialized<View1<index_t, Space>>(space, "eval::FullEvaluator::ranks", n);
    constexpr bool full = FullScorer<std::remove_reference_t<S>, Space, T>;
    if constexpr (!full) {
      if (all_items_.extent(0) == 0) {
        all_items_ = make_uninitialized<View2<id_t, Space>>(space, "eval::FullEvaluator::all_items", batch_size_,
                                                            num_items_ + 1);
        detail::fill_all_items(space, all_items_);
      }
    }
    Kokkos::deep_copy(space, nan_count_, index_t(0));
    const T lowest = -std::numeric_limits<T>::infinity();
    for (index_t b0 = 0; b0 < n; b0 += batch_size_) {
      const auto rows = Kokkos::make_pair(b0, std::min(n, b0 + batch_size_));
      const auto local = Kokkos::make_pair(index_t(0), rows.second - rows.first);
      const View1<const id_t, Space> ub = Kokkos::subview(users, rows);
      const View2<T, Space> sb = Kokkos::subview(scores_, local, Kokkos::ALL);
      if constexpr (full) {
        scorer.score_all(space, ub, sb);
      } else {
        const View2<const id_t, Space> all = Kokkos::subview(all_items_, local, Kokkos::ALL);
        scorer.score(space, ub, all, sb);
      }
      const View1<const id_t, Space> tb =
          with_rank ? View1<const id_t, Space>(Kokkos::subview(targets, rows)) : View1<const id_t, Space>();
      const View1<index_t, Space> rb =
          with_rank ? View1<index_t, Space>(Kokkos::subview(ranks_, rows)) : View1<index_t, Space>();
      const View2<id_t, Space> top_b = Kokkos::subview(top_items_, rows, Kokkos::ALL);
      const View2<T, Space> top_sb = Kokkos::subview(top_scores_, rows, Kokkos::ALL);
      detail::rank_full_batch<T>(space, sb, ub, tb, history, rb, top_b, top_sb, nan_count_, lowest, team_size_);
    }
  }

  index_t num_items_;
  index_t batch_size_;
  index_t top_k_;
  int team_size_ = 0;
  View2<T, Space> scores_;
  View2<id_t, Space> all_items_;  // only for scorers without score_all
  View1<index_t, Space> ranks_;
  View2<id_t, Space> top_items_;
  View2<T, Space> top_scores_;
  View1<index_t, Space> nan_count_;
};

// One-shot full-ranking evaluation; top-K lists as long as the largest cutoff (for coverage).
template <ExecutionSpace Space, class S, Scalar T = scorer_scalar_t<S>>
MetricSet evaluate_full(const Space& space, S&& scorer, const EvalUsers<Space>& users, const History<Space>& history,
                        index_t batch_size = 256, const std::vector<int>& ks = {1, 5, 10}) {
  check_scorer<S, Space, T>();
  const auto cuts = detail::normalize_cutoffs(ks);
  FullEvaluator<T, Space> evaluator(space, history.num_items(), batch_size, std::max<index_t>(cuts.back(), 1));
  return evaluator.evaluate(space, scorer, users, history, cuts);
}

}  // namespace seqrec::eval
