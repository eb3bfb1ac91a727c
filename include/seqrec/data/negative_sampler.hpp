// Device-side negative samplers: items a user never touched, uniformly (the SASRec protocol) or in
// proportion to popularity. Each draw is a pure function of (seed, stream, counter, user), so the samples
// are the same on Serial and OpenMP whatever the thread count, and in any kernel that calls them.
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/random.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/data/interactions.hpp>

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

namespace seqrec::data {

// Each user's distinct items, ascending, on the device: the set a negative must avoid.
template <ExecutionSpace Space>
struct UserHistory {
  View1<index_t, Space> offsets;  // num_users + 1
  View1<id_t, Space> items;       // sorted and distinct within a row
  index_t num_items = 0;          // item ids are 1..num_items
  index_t max_length = 0;         // longest row

  index_t num_users() const { return offsets.extent(0) == 0 ? 0 : static_cast<index_t>(offsets.extent(0)) - 1; }
};

namespace detail {

template <ExecutionSpace Space>
UserHistory<Space> upload_history(const Space& space, std::vector<std::vector<id_t>>& rows, index_t num_items) {
  UserHistory<Space> h;
  h.num_items = num_items;
  h.offsets = make_uninitialized<View1<index_t, Space>>(space, "UserHistory::offsets", rows.size() + 1);
  auto off = Kokkos::create_mirror_view(h.offsets);
  off(0) = 0;
  for (std::size_t u = 0; u < rows.size(); ++u) {
    auto& r = rows[u];
    std::sort(r.begin(), r.end());
    r.erase(std::unique(r.begin(), r.end()), r.end());
    off(u + 1) = off(u) + static_cast<index_t>(r.size());
    h.max_length = std::max(h.max_length, static_cast<index_t>(r.size()));
  }
  h.items = make_uninitialized<View1<id_t, Space>>(space, "UserHistory::items", off(rows.size()));
  auto it = Kokkos::create_mirror_view(h.items);
  for (std::size_t u = 0; u < rows.size(); ++u) std::copy(rows[u].begin(), rows[u].end(), it.data() + off(u));
  Kokkos::deep_copy(space, h.offsets, off);
  Kokkos::deep_copy(space, h.items, it);
  space.fence();  // the mirrors die here
  return h;
}

// True when x is in the sorted range a[0..n).
KOKKOS_INLINE_FUNCTION bool contains_sorted(const id_t* a, index_t n, id_t x) {
  index_t lo = 0, hi = n;
  while (lo < hi) {
    const index_t mid = lo + (hi - lo) / 2;
    if (a[mid] < x)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < n && a[lo] == x;
}

// The r-th (0-based) item of 1..N missing from the sorted distinct h[0..n). Items below h[i] that are
// missing number h[i] - 1 - i, nondecreasing in i: count the h[i] with h[i] - 1 - i <= r.
KOKKOS_INLINE_FUNCTION id_t kth_missing(const id_t* h, index_t n, index_t r) {
  index_t lo = 0, hi = n;
  while (lo < hi) {
    const index_t mid = lo + (hi - lo) / 2;
    if (index_t(h[mid]) - 1 - mid <= r)
      lo = mid + 1;
    else
      hi = mid;
  }
  return static_cast<id_t>(r + 1 + lo);
}

// Counter layout: draw `counter` of a sampler owns the 64 sub-counters counter*64 + 0..63.
inline constexpr std::uint64_t sub_counters = 64;

template <class V>
constexpr void check_output_view() {
  static_assert(Kokkos::is_view<V>::value && V::rank == 2, "seqrec negative samplers: `out` must be a rank-2 View");
  static_assert(std::is_same_v<typename V::non_const_value_type, id_t> && !std::is_const_v<typename V::value_type>,
                "seqrec negative samplers: `out` must hold (writable) id_t");
}

}  // namespace detail

// Histories from sequences (for training negatives: the training sequences; SASRec avoids the user's
// training items).
template <ExecutionSpace Space>
UserHistory<Space> make_user_history(const Space& space, const Sequences& s) {
  std::vector<std::vector<id_t>> rows(static_cast<std::size_t>(s.num_users()));
  for (index_t u = 0; u < s.num_users(); ++u) {
    rows[static_cast<std::size_t>(u)].assign(s.items.begin() + s.offsets[u], s.items.begin() + s.offsets[u + 1]);
    for (id_t i : rows[static_cast<std::size_t>(u)])
      SEQREC_REQUIRE_INDEX(i - 1, s.num_items, "make_user_history: item - 1 (items are 1-based)");
  }
  return detail::upload_history(space, rows, s.num_items);
}

// Histories from all interactions, in any order (for evaluation negatives: history, validation and test
// items all excluded).
template <ExecutionSpace Space>
UserHistory<Space> make_user_history(const Space& space, const Interactions& x) {
  std::vector<std::vector<id_t>> rows(static_cast<std::size_t>(x.num_users()));
  SEQREC_REQUIRE_EQ(x.item.size(), x.user.size(), "make_user_history: number of items vs users");
  for (std::size_t k = 0; k < x.user.size(); ++k) {
    SEQREC_REQUIRE_INDEX(x.user[k], x.num_users(), "make_user_history: user");
    SEQREC_REQUIRE_INDEX(x.item[k] - 1, x.num_items(), "make_user_history: item - 1 (items are 1-based)");
    rows[static_cast<std::size_t>(x.user[k])].push_back(x.item[k]);
  }
  return detail::upload_history(space, rows, x.num_items());
}

// Uniform over the items the user never touched: rejection sampling (draw from 1..N, binary search in the
// user's sorted items; histories are short against N, so one draw nearly always does), and after
// `max_rejections` misses an exact draw by rank among the missing items, so dense histories still finish
// in bounded time. Trivially copyable: capture it into kernels and call operator() on the device.
template <ExecutionSpace Space>
class UniformNegativeSampler {
 public:
  using execution_space = Space;
  using memory_space = typename Space::memory_space;
  static constexpr int max_rejections = 32;

  UniformNegativeSampler() = default;
  explicit UniformNegativeSampler(const UserHistory<Space>& h)
      : offsets_(h.offsets), items_(h.items), num_items_(h.num_items) {
    SEQREC_REQUIRE(h.num_items > 0, "UniformNegativeSampler: there are no items");
    SEQREC_REQUIRE(h.max_length < h.num_items, "UniformNegativeSampler: a user has touched all ", h.num_items,
                   " items, so no negative exists for them");
  }

  index_t num_users() const { return offsets_.extent(0) == 0 ? 0 : static_cast<index_t>(offsets_.extent(0)) - 1; }
  index_t num_items() const { return num_items_; }

  // Draw `counter` of stream rs for `user`: an item in 1..N not in the user's history.
  KOKKOS_INLINE_FUNCTION id_t operator()(id_t user, const RandomStream& rs, std::uint64_t counter) const {
    SEQREC_DEVICE_ASSERT(user >= 0 && index_t(user) + 1 < index_t(offsets_.extent(0)),
                         "UniformNegativeSampler: user out of range");
    const index_t begin = offsets_(user), n = offsets_(user + 1) - begin;
    const id_t* h = items_.data() + begin;
    const std::uint64_t base = counter * detail::sub_counters;
    const auto num = static_cast<std::uint64_t>(num_items_);
    for (int a = 0; a < max_rejections; ++a) {
      const auto item = static_cast<id_t>(1 + rs.below(base + std::uint64_t(a), num));
      if (!detail::contains_sorted(h, n, item)) return item;
    }
    const auto r = static_cast<index_t>(rs.below(base + detail::sub_counters - 1, num - std::uint64_t(n)));
    return detail::kth_missing(h, n, r);
  }

  // out(b, j) = draw b * out.extent(1) + j for user users(b).
  template <class UserView, class OutView>
  void sample(const Space& space, const UserView& users, const OutView& out, RandomStream rs) const {
    detail::check_output_view<OutView>();
    SEQREC_REQUIRE_EQ(out.extent(0), users.extent(0), "UniformNegativeSampler::sample: rows of out vs users");
    const auto self = *this;
    const auto cols = static_cast<index_t>(out.extent(1));
    Kokkos::parallel_for(
        "seqrec::UniformNegativeSampler::sample",
        Kokkos::RangePolicy<Space>(space, 0, static_cast<index_t>(out.extent(0)) * cols), KOKKOS_LAMBDA(index_t k) {
          const index_t b = k / cols, j = k % cols;
          out(b, j) = self(users(b), rs, static_cast<std::uint64_t>(k));
        });
  }

 private:
  View1<index_t, Space> offsets_;
  View1<id_t, Space> items_;
  index_t num_items_ = 0;
};

// In proportion to item weights (popularity counts, optionally raised to a power), restricted to items
// the user never touched: Vose alias table built on the host, sampled on the device in O(1) per draw,
// with rejection against the history; after `max_rejections` misses an exact weighted scan over the
// missing items (O(N), for users who hold most of the popularity mass). T: the alias probabilities.
template <ExecutionSpace Space, class T = double>
class PopularityNegativeSampler {
 public:
  using execution_space = Space;
  using memory_space = typename Space::memory_space;
  static constexpr int max_rejections = 31;  // two sub-counters per attempt, the last pair for the scan

  PopularityNegativeSampler() = default;
  // weights[i] for item i = 1..N (weights[0], the padding item, is ignored); >= 0, not all zero.
  PopularityNegativeSampler(const Space& space, const UserHistory<Space>& h, const std::vector<double>& weights)
      : offsets_(h.offsets), items_(h.items), num_items_(h.num_items) {
    const index_t n = h.num_items;
    SEQREC_REQUIRE(n > 0, "PopularityNegativeSampler: there are no items");
    SEQREC_REQUIRE_EQ(static_cast<index_t>(weights.size()), n + 1,
                      "PopularityNegativeSampler: weights size (num_items + 1, index 0 unused)");
    SEQREC_REQUIRE(h.max_length < n, "PopularityNegativeSampler: a user has touched all ", n,
                   " items, so no negative exists for them");
    double total = 0.0;
    for (index_t i = 1; i <= n; ++i) {
      SEQREC_REQUIRE(weights[i] >= 0.0 && std::isfinite(weights[i]), "PopularityNegativeSampler: weight of item ", i,
                     " must be finite and >= 0, got ", weights[i]);
      total += weights[i];
    }
    SEQREC_REQUIRE(total > 0.0, "PopularityNegativeSampler: all item weights are zero");
    // Vose's alias method: column k (item k + 1) keeps itself with prob[k], else gives alias[k].
    std::vector<double> scaled(static_cast<std::size_t>(n));
    for (index_t k = 0; k < n; ++k) scaled[k] = weights[k + 1] * double(n) / total;
    std::vector<double> prob(static_cast<std::size_t>(n), 1.0);
    std::vector<id_t> alias(static_cast<std::size_t>(n));
    std::vector<index_t> small, large;
    for (index_t k = 0; k < n; ++k) {
      alias[k] = static_cast<id_t>(k + 1);
      (scaled[k] < 1.0 ? small : large).push_back(k);
    }
    while (!small.empty() && !large.empty()) {
      const index_t s = small.back(), l = large.back();
      small.pop_back();
      prob[s] = scaled[s];
      alias[s] = static_cast<id_t>(l + 1);
      scaled[l] -= 1.0 - scaled[s];
      if (scaled[l] < 1.0) {
        large.pop_back();
        small.push_back(l);
      }
    }
    // Whatever is left has probability 1 up to rounding.
    prob_ = make_uninitialized<View1<T, Space>>(space, "PopularityNegativeSampler::prob", n);
    alias_ = make_uninitialized<View1<id_t, Space>>(space, "PopularityNegativeSampler::alias", n);
    weights_ = make_uninitialized<View1<T, Space>>(space, "PopularityNegativeSampler::weights", n + 1);
    auto hp = Kokkos::create_mirror_view(prob_);
    auto ha = Kokkos::create_mirror_view(alias_);
    auto hw = Kokkos::create_mirror_view(weights_);
    for (index_t k = 0; k < n; ++k) {
      hp(k) = static_cast<T>(prob[k]);
      ha(k) = alias[k];
    }
    hw(0) = T(0);
    for (index_t i = 1; i <= n; ++i) hw(i) = static_cast<T>(weights[i] / total);
    Kokkos::deep_copy(space, prob_, hp);
    Kokkos::deep_copy(space, alias_, ha);
    Kokkos::deep_copy(space, weights_, hw);
    space.fence();  // the mirrors die here
  }

  // Interaction counts per item raised to `power` (word2vec uses 0.75), index 0 unused.
  static std::vector<double> item_counts(const Interactions& x, double power = 1.0) {
    std::vector<double> w(static_cast<std::size_t>(x.num_items()) + 1, 0.0);
    for (id_t i : x.item) {
      SEQREC_REQUIRE_INDEX(i - 1, x.num_items(), "PopularityNegativeSampler::item_counts: item - 1");
      w[static_cast<std::size_t>(i)] += 1.0;
    }
    if (power != 1.0)
      for (auto& v : w) v = std::pow(v, power);
    w[0] = 0.0;
    return w;
  }

  index_t num_users() const { return offsets_.extent(0) == 0 ? 0 : static_cast<index_t>(offsets_.extent(0)) - 1; }
  index_t num_items() const { return num_items_; }

  KOKKOS_INLINE_FUNCTION id_t operator()(id_t user, const RandomStream& rs, std::uint64_t counter) const {
    SEQREC_DEVICE_ASSERT(user >= 0 && index_t(user) + 1 < index_t(offsets_.extent(0)),
                         "PopularityNegativeSampler: user out of range");
    const index_t begin = offsets_(user), n = offsets_(user + 1) - begin;
    const id_t* h = items_.data() + begin;
    const std::uint64_t base = counter * detail::sub_counters;
    const auto num = static_cast<std::uint64_t>(num_items_);
    for (int a = 0; a < max_rejections; ++a) {
      const auto k = static_cast<index_t>(rs.below(base + 2 * std::uint64_t(a), num));
      const id_t item = rs.uniform<T>(base + 2 * std::uint64_t(a) + 1) < prob_(k) ? id_t(k + 1) : alias_(k);
      if (!detail::contains_sorted(h, n, item)) return item;
    }
    return scan(h, n, rs, base + detail::sub_counters - 2);
  }

  template <class UserView, class OutView>
  void sample(const Space& space, const UserView& users, const OutView& out, RandomStream rs) const {
    detail::check_output_view<OutView>();
    SEQREC_REQUIRE_EQ(out.extent(0), users.extent(0), "PopularityNegativeSampler::sample: rows of out vs users");
    const auto self = *this;
    const auto cols = static_cast<index_t>(out.extent(1));
    Kokkos::parallel_for(
        "seqrec::PopularityNegativeSampler::sample",
        Kokkos::RangePolicy<Space>(space, 0, static_cast<index_t>(out.extent(0)) * cols), KOKKOS_LAMBDA(index_t k) {
          const index_t b = k / cols, j = k % cols;
          out(b, j) = self(users(b), rs, static_cast<std::uint64_t>(k));
        });
  }

 private:
  // Exact weighted draw over the missing items; uniform over them when they weigh nothing.
  KOKKOS_INLINE_FUNCTION id_t scan(const id_t* h, index_t n, const RandomStream& rs, std::uint64_t c) const {
    T total = 0;
    for (index_t i = 1, j = 0; i <= num_items_; ++i) {
      if (j < n && h[j] == i) {
        ++j;
        continue;
      }
      total += weights_(i);
    }
    if (!(total > T(0)))
      return detail::kth_missing(h, n, static_cast<index_t>(rs.below(c, std::uint64_t(num_items_ - n))));
    T x = rs.uniform<T>(c + 1) * total;
    id_t last = 0;
    for (index_t i = 1, j = 0; i <= num_items_; ++i) {
      if (j < n && h[j] == i) {
        ++j;
        continue;
      }
      if (weights_(i) <= T(0)) continue;
      last = static_cast<id_t>(i);
      if (x < weights_(i)) return last;
      x -= weights_(i);
    }
    return last;  // rounding ran past the end
  }

  View1<index_t, Space> offsets_;
  View1<id_t, Space> items_;
  View1<T, Space> prob_;
  View1<id_t, Space> alias_;
  View1<T, Space> weights_;  // normalised, index 0 unused: for the scan only
  index_t num_items_ = 0;
};

}  // namespace seqrec::data
