// Random walk with restart on the user–item graph: candidate items for a user (sparse completion, cold
// or short histories). Host only; seeded with a counter-based RandomStream, so a seed gives one answer.
#pragma once

#include <seqrec/core/error.hpp>
#include <seqrec/core/random.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/graph/interaction_graph.hpp>

#include <boost/graph/adjacency_list.hpp>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace seqrec::graph {

struct RandomWalkOptions {
  double restart = 0.3;   // probability of jumping back to the start user before each step
  index_t steps = 10000;  // edges walked in total
  index_t top_n = 10;     // items returned
  bool weighted = false;  // follow edges in proportion to their weight instead of uniformly
};

struct ScoredItem {
  id_t item = 0;
  double score = 0.0;  // share of the walk's item visits
};

namespace detail {

// The k-th out-edge's target, k uniform or weight-proportional; draws one number at `counter`.
inline InteractionGraph::vertex_type walk_step(const InteractionGraph::graph_type& g, InteractionGraph::vertex_type v,
                                               const RandomStream& rs, std::uint64_t counter, bool weighted) {
  const auto [first, last] = boost::out_edges(v, g);
  const auto degree = static_cast<std::uint64_t>(boost::out_degree(v, g));
  if (!weighted) {
    auto e = first;
    std::advance(e, static_cast<std::ptrdiff_t>(rs.below(counter, degree)));
    return boost::target(*e, g);
  }
  double total = 0.0;
  for (auto e = first; e != last; ++e) total += std::max(0.0, double(g[*e].weight));
  if (!(total > 0.0)) {  // all weights zero: fall back to uniform
    auto e = first;
    std::advance(e, static_cast<std::ptrdiff_t>(rs.below(counter, degree)));
    return boost::target(*e, g);
  }
  double x = rs.uniform<double>(counter) * total;
  auto chosen = first;
  for (auto e = first; e != last; ++e) {
    const double w = std::max(0.0, double(g[*e].weight));
    if (w <= 0.0) continue;
    chosen = e;
    if (x < w) break;
    x -= w;
  }
  return boost::target(*chosen, g);
}

}  // namespace detail

// Walks from `user`: before each step, with probability `restart` go back to the user; then follow an
// edge (user -> item or item -> user). Items are scored by their share of visits; the top_n items the
// user has not interacted with come back, best first (ties: smaller item id first). Empty when the user
// has no interactions.
inline std::vector<ScoredItem> random_walk_with_restart(const InteractionGraph& graph, id_t user, RandomStream rs,
                                                        const RandomWalkOptions& opt = {}) {
  SEQREC_REQUIRE(opt.restart >= 0.0 && opt.restart < 1.0, "random_walk_with_restart: restart must be in [0, 1), got ",
                 opt.restart);
  SEQREC_REQUIRE(opt.steps >= 0, "random_walk_with_restart: steps must be >= 0, got ", opt.steps);
  SEQREC_REQUIRE(opt.top_n >= 0, "random_walk_with_restart: top_n must be >= 0, got ", opt.top_n);
  const auto& g = graph.boost_graph();
  const auto start = graph.user_vertex(user);
  if (boost::out_degree(start, g) == 0 || opt.top_n == 0) return {};
  std::vector<std::uint64_t> visits(static_cast<std::size_t>(graph.num_items()) + 1, 0);
  std::uint64_t item_visits = 0;
  auto v = start;
  for (index_t step = 0; step < opt.steps; ++step) {
    const auto c = 2 * static_cast<std::uint64_t>(step);  // two draws per step: restart, edge
    if (v != start && rs.uniform<double>(c) < opt.restart) v = start;
    v = detail::walk_step(g, v, rs, c + 1, opt.weighted);  // every vertex reached has an edge back
    const VertexData& d = g[v];
    if (d.kind == VertexKind::item) {
      ++visits[static_cast<std::size_t>(d.id)];
      ++item_visits;
    }
  }
  for (id_t i : graph.seen_items(user)) visits[static_cast<std::size_t>(i)] = 0;
  std::vector<ScoredItem> out;
  for (std::size_t i = 1; i < visits.size(); ++i)
    if (visits[i] > 0) out.push_back({id_t(i), double(visits[i]) / double(item_visits)});
  const auto n = std::min<std::size_t>(out.size(), static_cast<std::size_t>(opt.top_n));
  std::partial_sort(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n), out.end(),
                    [](const ScoredItem& a, const ScoredItem& b) {
                      return a.score != b.score ? a.score > b.score : a.item < b.item;
                    });
  out.resize(n);
  return out;
}

}  // namespace seqrec::graph
