// k-core filtering of interaction data (the "5-core" of SASRec / S3-Rec preprocessing).
#pragma once

#include <seqrec/core/view.hpp>
#include <seqrec/data/interactions.hpp>
#include <seqrec/graph/interaction_graph.hpp>

namespace seqrec::graph {

// Repeatedly drops users and items with fewer than k interactions (repeats counted) until every user
// and item left has at least k, through Boost.Graph's core_numbers on the bipartite graph. Returns new
// Interactions with dense ids again (relative order of the old dense ids kept) and the original ids in
// its maps, sorted by (user, time).
inline data::Interactions kcore_filter(const data::Interactions& x, index_t k) { return InteractionGraph(x).kcore(k); }

}  // namespace seqrec::graph
