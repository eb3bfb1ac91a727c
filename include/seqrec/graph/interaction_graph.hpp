// The weighted user–item interaction graph G = (V, E, W) on Boost.Graph (host only).
//
// Vertices are users and items (a bipartite graph); one edge per interaction, so a user who takes an
// item twice has two parallel edges. Each edge carries the weight at t, the user's previous weight at
// t−1 (the weight of the user's preceding interaction, 0 for the first), the time and the position in
// the user's chronological sequence. Ids follow data/interactions.hpp: users 0-based, items 1-based.
// The device sees the graph only through the CSR export (user_items / item_users).
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/data/interactions.hpp>
#include <seqrec/graph/csr.hpp>

#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/core_numbers.hpp>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

namespace seqrec::graph {

enum class VertexKind : std::uint8_t { user, item };

struct VertexData {
  VertexKind kind = VertexKind::user;
  id_t id = 0;  // dense user id (0-based) or item id (1-based)
};

struct EdgeData {
  float weight = 1.0f;       // at t
  float prev_weight = 0.0f;  // the user's weight at t−1; 0 for the user's first interaction
  std::int64_t time = 0;
  index_t position = 0;  // 0-based position in the user's chronological sequence
};

// One interaction as the graph stores it.
struct Interaction {
  id_t user = 0;
  id_t item = 0;
  float weight = 0.0f;
  float prev_weight = 0.0f;
  std::int64_t time = 0;
  index_t position = 0;

  friend bool operator==(const Interaction&, const Interaction&) = default;
};

// What add_interaction did.
struct Insertion {
  id_t user = 0;
  id_t item = 0;
  index_t position = 0;  // where it landed in the user's sequence
  bool new_user = false;
  bool new_item = false;
};

class InteractionGraph {
 public:
  // vecS out-edge lists allow the parallel edges of repeated interactions; vecS vertices keep
  // descriptors stable as vertices are only ever added.
  using graph_type = boost::adjacency_list<boost::vecS, boost::vecS, boost::undirectedS, VertexData, EdgeData>;
  using vertex_type = boost::graph_traits<graph_type>::vertex_descriptor;
  using edge_type = boost::graph_traits<graph_type>::edge_descriptor;

  InteractionGraph() = default;

  // Every user and item of x's maps becomes a vertex (also those without interactions). Ties in time keep
  // the order of x, as Interactions::sort_chronological does.
  explicit InteractionGraph(const data::Interactions& x)
      : users_(x.users), items_(x.items), has_weight_(x.has_weight), has_time_(x.has_time), source_(x.source) {
    SEQREC_REQUIRE(x.users.base() == 0 && x.items.base() == 1, "InteractionGraph: user ids must start at 0 and ",
                   "item ids at 1, got bases ", x.users.base(), " and ", x.items.base());
    const std::size_t n = x.user.size();
    SEQREC_REQUIRE(x.item.size() == n && x.weight.size() == n && x.time.size() == n,
                   "InteractionGraph: the arrays of Interactions differ in length (user ", n, ", item ", x.item.size(),
                   ", weight ", x.weight.size(), ", time ", x.time.size(), ")");
    const index_t nu = x.num_users(), ni = x.num_items();
    for (std::size_t k = 0; k < n; ++k) {
      SEQREC_REQUIRE_INDEX(x.user[k], nu, "InteractionGraph: user");
      SEQREC_REQUIRE_INDEX(x.item[k] - 1, ni, "InteractionGraph: item - 1 (items are 1-based)");
    }
    user_vertex_.reserve(static_cast<std::size_t>(nu));
    item_vertex_.reserve(static_cast<std::size_t>(ni));
    for (index_t u = 0; u < nu; ++u) user_vertex_.push_back(new_vertex(VertexKind::user, id_t(u)));
    for (index_t i = 1; i <= ni; ++i) item_vertex_.push_back(new_vertex(VertexKind::item, id_t(i)));

    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t(0));
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return x.user[a] != x.user[b] ? x.user[a] < x.user[b] : x.time[a] < x.time[b];
    });
    id_t prev_user = -1;
    index_t pos = 0;
    float prev_w = 0.0f;
    for (std::size_t k : order) {
      if (x.user[k] != prev_user) {
        prev_user = x.user[k];
        pos = 0;
        prev_w = 0.0f;
      }
      boost::add_edge(user_vertex(x.user[k]), item_vertex(x.item[k]), EdgeData{x.weight[k], prev_w, x.time[k], pos},
                      g_);
      prev_w = x.weight[k];
      ++pos;
    }
  }

  index_t num_users() const { return users_.size(); }
  index_t num_items() const { return items_.size(); }
  index_t num_interactions() const { return static_cast<index_t>(boost::num_edges(g_)); }
  const data::IdMap& users() const { return users_; }
  const data::IdMap& items() const { return items_; }
  bool has_weight() const { return has_weight_; }
  bool has_time() const { return has_time_; }
  const graph_type& boost_graph() const { return g_; }

  vertex_type user_vertex(id_t u) const {
    SEQREC_REQUIRE_INDEX(u, num_users(), "InteractionGraph: user");
    return user_vertex_[static_cast<std::size_t>(u)];
  }
  vertex_type item_vertex(id_t i) const {
    SEQREC_REQUIRE_INDEX(i - 1, num_items(), "InteractionGraph: item - 1 (items are 1-based)");
    return item_vertex_[static_cast<std::size_t>(i - 1)];
  }
  const VertexData& vertex(vertex_type v) const { return g_[v]; }
  const EdgeData& edge(edge_type e) const { return g_[e]; }

  // Number of interactions of a user / an item (parallel edges counted).
  index_t user_degree(id_t u) const { return static_cast<index_t>(boost::out_degree(user_vertex(u), g_)); }
  index_t item_degree(id_t i) const { return static_cast<index_t>(boost::out_degree(item_vertex(i), g_)); }

  // The user's interactions in chronological order (by position).
  std::vector<Interaction> history(id_t u) const {
    const vertex_type v = user_vertex(u);
    std::vector<Interaction> h(boost::out_degree(v, g_));
    for (auto [e, end] = boost::out_edges(v, g_); e != end; ++e) {
      const EdgeData& d = g_[*e];
      h[static_cast<std::size_t>(d.position)] = {
          u, g_[boost::target(*e, g_)].id, d.weight, d.prev_weight, d.time, d.position};
    }
    return h;
  }

  // Sorted, distinct items the user has touched.
  std::vector<id_t> seen_items(id_t u) const {
    const vertex_type v = user_vertex(u);
    std::vector<id_t> items;
    items.reserve(boost::out_degree(v, g_));
    for (auto [e, end] = boost::out_edges(v, g_); e != end; ++e) items.push_back(g_[boost::target(*e, g_)].id);
    std::sort(items.begin(), items.end());
    items.erase(std::unique(items.begin(), items.end()), items.end());
    return items;
  }

  // Adds one interaction given by original (file) ids; unknown users and items get the next dense ids, so
  // the maps grow. The interaction goes after every earlier-or-equal time of the user: positions of later
  // interactions shift by one and the next one's prev_weight becomes this weight.
  Insertion add_interaction(std::int64_t original_user, std::int64_t original_item, float weight, std::int64_t time) {
    Insertion r;
    r.new_user = users_.find(original_user) < 0;
    r.new_item = items_.find(original_item) < 0;
    r.user = users_.insert(original_user);
    r.item = items_.insert(original_item);
    if (r.new_user) user_vertex_.push_back(new_vertex(VertexKind::user, r.user));
    if (r.new_item) item_vertex_.push_back(new_vertex(VertexKind::item, r.item));
    const vertex_type v = user_vertex(r.user);
    // One pass: where the new interaction goes, and the one before it.
    index_t pos = 0;
    float prev_w = 0.0f;
    for (auto [e, end] = boost::out_edges(v, g_); e != end; ++e) {
      const EdgeData& d = g_[*e];
      if (d.time <= time) {
        if (d.position >= pos) {
          pos = d.position + 1;
          prev_w = d.weight;
        }
      }
    }
    for (auto [e, end] = boost::out_edges(v, g_); e != end; ++e) {
      EdgeData& d = g_[*e];
      if (d.position == pos) d.prev_weight = weight;
      if (d.position >= pos) ++d.position;
    }
    boost::add_edge(v, item_vertex(r.item), EdgeData{weight, prev_w, time, pos}, g_);
    r.position = pos;
    return r;
  }

  // Dense-id form for callers that already hold dense ids of existing users and items.
  Insertion add_interaction_dense(id_t user, id_t item, float weight, std::int64_t time) {
    SEQREC_REQUIRE_INDEX(user, num_users(), "add_interaction_dense: user");
    SEQREC_REQUIRE_INDEX(item - 1, num_items(), "add_interaction_dense: item - 1 (items are 1-based)");
    return add_interaction(users_.original(user), items_.original(item), weight, time);
  }

  // Boost.Graph core number of every vertex (index: vertex descriptor). A vertex is in the k-core when
  // its core number is >= k; with parallel edges, k counts interactions.
  std::vector<index_t> core_numbers() const {
    std::vector<index_t> core(boost::num_vertices(g_), 0);
    if (!core.empty())
      boost::core_numbers(g_, boost::make_iterator_property_map(core.begin(), boost::get(boost::vertex_index, g_)));
    return core;
  }
  std::vector<index_t> user_core_numbers() const { return per_kind(core_numbers(), user_vertex_); }
  std::vector<index_t> item_core_numbers() const {  // index i-1 for item i
    return per_kind(core_numbers(), item_vertex_);
  }

  // All interactions, sorted by (user, position).
  data::Interactions to_interactions() const {
    data::Interactions x;
    x.users = users_;
    x.items = items_;
    x.has_weight = has_weight_;
    x.has_time = has_time_;
    x.source = source_;
    x.reserve(static_cast<std::size_t>(num_interactions()));
    for (index_t u = 0; u < num_users(); ++u)
      for (const Interaction& h : history(id_t(u))) x.push_back(h.user, h.item, h.weight, h.time);
    return x;
  }
  data::Sequences to_sequences() const { return data::Sequences::from(to_interactions()); }

  // The k-core (SASRec / S3-Rec "5-core" with k = 5): repeatedly drop users and items with fewer than k
  // interactions until none is left. The result has dense ids again (in the order of the old dense ids);
  // its maps keep the original ids. Interactions come sorted by (user, time).
  data::Interactions kcore(index_t k) const {
    SEQREC_REQUIRE(k >= 0, "kcore: k must be >= 0, got ", k);
    const std::vector<index_t> core = core_numbers();
    auto keep = [&](vertex_type v) { return core[v] >= k; };
    data::Interactions out;
    out.has_weight = has_weight_;
    out.has_time = has_time_;
    out.source = source_;
    std::vector<id_t> new_item(static_cast<std::size_t>(num_items()) + 1, 0);
    for (index_t i = 1; i <= num_items(); ++i)
      if (keep(item_vertex_[static_cast<std::size_t>(i - 1)]))
        new_item[static_cast<std::size_t>(i)] = out.items.insert(items_.original(id_t(i)));
    for (index_t u = 0; u < num_users(); ++u) {
      if (!keep(user_vertex_[static_cast<std::size_t>(u)])) continue;
      const id_t nu = out.users.insert(users_.original(id_t(u)));
      for (const Interaction& h : history(id_t(u))) {
        const id_t ni = new_item[static_cast<std::size_t>(h.item)];
        if (ni > 0) out.push_back(nu, ni, h.weight, h.time);
      }
    }
    return out;
  }

  // user -> items: num_users rows, each the user's items in chronological order, with weights and times.
  template <class T = float, ExecutionSpace Space>
  Csr<T, Space> user_items(const Space& space) const {
    std::vector<index_t> offsets(static_cast<std::size_t>(num_users()) + 1, 0);
    std::vector<id_t> items;
    std::vector<float> weights;
    std::vector<std::int64_t> times;
    items.reserve(static_cast<std::size_t>(num_interactions()));
    weights.reserve(items.capacity());
    times.reserve(items.capacity());
    for (index_t u = 0; u < num_users(); ++u) {
      for (const Interaction& h : history(id_t(u))) {
        items.push_back(h.item);
        weights.push_back(h.weight);
        times.push_back(h.time);
      }
      offsets[static_cast<std::size_t>(u) + 1] = static_cast<index_t>(items.size());
    }
    return make_csr<T>(space, offsets, items, weights, times, "graph::user_items");
  }

  // item -> users: num_items + 1 rows so an item id indexes its row directly (row 0, padding, is empty);
  // each row's users ascending, a user's repeated interactions in time order.
  template <class T = float, ExecutionSpace Space>
  Csr<T, Space> item_users(const Space& space) const {
    std::vector<index_t> offsets(static_cast<std::size_t>(num_items()) + 2, 0);
    std::vector<id_t> users;
    std::vector<float> weights;
    std::vector<std::int64_t> times;
    struct Entry {
      id_t user;
      index_t position;
      float weight;
      std::int64_t time;
    };
    std::vector<Entry> row;
    for (index_t i = 1; i <= num_items(); ++i) {
      row.clear();
      const vertex_type v = item_vertex_[static_cast<std::size_t>(i - 1)];
      for (auto [e, end] = boost::out_edges(v, g_); e != end; ++e) {
        const EdgeData& d = g_[*e];
        row.push_back({g_[boost::target(*e, g_)].id, d.position, d.weight, d.time});
      }
      std::sort(row.begin(), row.end(), [](const Entry& a, const Entry& b) {
        return a.user != b.user ? a.user < b.user : a.position < b.position;
      });
      for (const Entry& r : row) {
        users.push_back(r.user);
        weights.push_back(r.weight);
        times.push_back(r.time);
      }
      offsets[static_cast<std::size_t>(i) + 1] = static_cast<index_t>(users.size());
    }
    return make_csr<T>(space, offsets, users, weights, times, "graph::item_users");
  }

 private:
  // add_vertex(g) then the bundle: add_vertex(property, g) trips a GCC maybe-uninitialized false positive
  // in Boost's named_graph under sanitizers.
  vertex_type new_vertex(VertexKind kind, id_t id) {
    const vertex_type v = boost::add_vertex(g_);
    g_[v] = VertexData{kind, id};
    return v;
  }
  static std::vector<index_t> per_kind(const std::vector<index_t>& core, const std::vector<vertex_type>& vertices) {
    std::vector<index_t> out(vertices.size());
    for (std::size_t k = 0; k < vertices.size(); ++k) out[k] = core[vertices[k]];
    return out;
  }

  graph_type g_;
  data::IdMap users_{0};
  data::IdMap items_{1};
  std::vector<vertex_type> user_vertex_;
  std::vector<vertex_type> item_vertex_;  // [i - 1] for item i
  bool has_weight_ = false;
  bool has_time_ = false;
  std::string source_;
};

}  // namespace seqrec::graph
