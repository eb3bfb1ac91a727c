// Everything in seqrec/graph: the Boost.Graph interaction graph, k-core, co-occurrence, random walks and
// the CSR export. Host code; only the exported Csr views reach devices.
#pragma once

#include <seqrec/graph/cooccurrence.hpp>
#include <seqrec/graph/csr.hpp>
#include <seqrec/graph/interaction_graph.hpp>
#include <seqrec/graph/kcore.hpp>
#include <seqrec/graph/random_walk.hpp>
