// The host-side record every reader produces and every split, graph and sampler consumes.
//
// Id conventions (all of seqrec follows them):
//   users: dense 0 .. num_users()-1
//   items: dense 1 .. num_items(); 0 is the padding item of sequence models, never a real item, so item
//          tables have num_items()+1 rows.
// The original ids from the file are kept in IdMap and come back in every output.
#pragma once

#include <seqrec/core/error.hpp>
#include <seqrec/core/view.hpp>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <string>
#include <unordered_map>
#include <vector>

namespace seqrec::data {

// Original (file) id <-> dense id. Dense ids are assigned in order of first appearance, from `base`.
class IdMap {
 public:
  explicit IdMap(id_t base = 0) : base_(base) {}

  // The dense id of `original`, assigning the next one when it is new.
  id_t insert(std::int64_t original) {
    auto [it, added] = dense_.try_emplace(original, static_cast<id_t>(base_ + originals_.size()));
    if (added) {
      SEQREC_REQUIRE_CODE(originals_.size() < std::size_t(INT32_MAX - base_), Errc::out_of_range,
                          "more than 2^31 distinct ids");
      originals_.push_back(original);
    }
    return it->second;
  }
  // The dense id of `original`, or -1 when unknown.
  id_t find(std::int64_t original) const {
    auto it = dense_.find(original);
    return it == dense_.end() ? id_t(-1) : it->second;
  }
  id_t dense(std::int64_t original) const {
    const id_t d = find(original);
    SEQREC_REQUIRE_CODE(d >= 0, Errc::out_of_range, "unknown original id ", original);
    return d;
  }
  std::int64_t original(id_t dense) const {
    SEQREC_REQUIRE_INDEX(dense - base_, originals_.size(), "dense id");
    return originals_[static_cast<std::size_t>(dense - base_)];
  }
  index_t size() const { return static_cast<index_t>(originals_.size()); }
  id_t base() const { return base_; }
  const std::vector<std::int64_t>& originals() const { return originals_; }
  void reserve(std::size_t n) {
    dense_.reserve(n);
    originals_.reserve(n);
  }

 private:
  id_t base_;
  std::unordered_map<std::int64_t, id_t> dense_;
  std::vector<std::int64_t> originals_;
};

// Interactions as parallel arrays (structure of arrays: readers append, sorts permute, kernels copy).
struct Interactions {
  std::vector<id_t> user;          // dense, 0-based
  std::vector<id_t> item;          // dense, 1-based
  std::vector<float> weight;       // rating / play count / 1 for implicit data
  std::vector<std::int64_t> time;  // unix seconds, or the line order where the file has no time
  IdMap users{0};
  IdMap items{1};
  bool has_weight = false;  // the file gave weights or ratings
  bool has_time = false;    // the file gave timestamps (else time is the order in the file)
  std::string source;       // where it came from, for messages

  index_t size() const { return static_cast<index_t>(user.size()); }
  index_t num_users() const { return users.size(); }
  index_t num_items() const { return items.size(); }

  void reserve(std::size_t n) {
    user.reserve(n);
    item.reserve(n);
    weight.reserve(n);
    time.reserve(n);
  }
  void push_back(id_t u, id_t i, float w, std::int64_t t) {
    user.push_back(u);
    item.push_back(i);
    weight.push_back(w);
    time.push_back(t);
  }

  // Orders by (user, time), ties kept in file order (a stable sort), so each user's sequence is
  // contiguous and chronological.
  void sort_chronological() {
    std::vector<std::size_t> order(user.size());
    std::iota(order.begin(), order.end(), std::size_t(0));
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return user[a] != user[b] ? user[a] < user[b] : time[a] < time[b];
    });
    apply(order);
  }

  // Keeps entry order[k] at position k.
  void apply(const std::vector<std::size_t>& order) {
    auto permute = [&](auto& v) {
      std::remove_reference_t<decltype(v)> out(order.size());
      for (std::size_t k = 0; k < order.size(); ++k) out[k] = v[order[k]];
      v.swap(out);
    };
    permute(user);
    permute(item);
    permute(weight);
    permute(time);
  }
};

// Per-user chronological item sequences in CSR form (host): user u's items are
// items[offsets[u] .. offsets[u+1]). Built from Interactions sorted with sort_chronological().
struct Sequences {
  std::vector<index_t> offsets;  // num_users + 1
  std::vector<id_t> items;
  std::vector<float> weights;
  std::vector<std::int64_t> times;
  index_t num_items = 0;  // item ids are 1..num_items

  index_t num_users() const { return offsets.empty() ? 0 : static_cast<index_t>(offsets.size()) - 1; }
  index_t length(index_t u) const { return offsets[u + 1] - offsets[u]; }
  index_t size() const { return static_cast<index_t>(items.size()); }

  static Sequences from(const Interactions& x) {
    Sequences s;
    s.num_items = x.num_items();
    s.offsets.assign(static_cast<std::size_t>(x.num_users()) + 1, 0);
    for (std::size_t k = 0; k < x.user.size(); ++k) {
      SEQREC_REQUIRE(k == 0 || x.user[k - 1] <= x.user[k],
                     "Sequences::from: interactions must be sorted by user (call sort_chronological())");
      ++s.offsets[static_cast<std::size_t>(x.user[k]) + 1];
    }
    for (std::size_t u = 0; u + 1 < s.offsets.size(); ++u) s.offsets[u + 1] += s.offsets[u];
    s.items = x.item;
    s.weights = x.weight;
    s.times = x.time;
    return s;
  }
};

}  // namespace seqrec::data
