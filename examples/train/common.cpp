// seqrec-train's helpers that do not depend on the model type (compiled once).
#include "options.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <span>

namespace seqrec::tools {

Job g_job;
volatile std::sig_atomic_t g_stop_requested = 0;

double item_init_stddev(const Options& o, const data::Interactions& data) {
  // Glorot's spread for the [items + 1, dim] table, as the SASRec authors' code draws it: with it SASRec
  // reaches the paper's row on Games (README); the recurrent encoders keep 1/sqrt(dim) under auto.
  if (o.init_std == "xavier" || (o.init_std == "auto" && o.model == "sasrec"))
    return std::sqrt(2.0 / double(data.num_items() + 1 + o.dim));
  return o.init_std_value;
}

RecommenderConfig recommender_config(const Options& o, const data::Interactions& data) {
  RecommenderConfig cfg;
  cfg.dim = o.dim;
  cfg.batch = o.distributed == "data-parallel" ? o.batch / g_job.ranks : o.batch;
  cfg.init_stddev = item_init_stddev(o, data);
  cfg.negatives = o.negatives_per_position();
  cfg.adam.lr = o.lr;
  cfg.adam.l2 = o.l2;
  cfg.adam.clip_norm = o.clip;
  return cfg;
}

bool joint_aux(const std::vector<std::string>& aux) {
  return !aux.empty() &&
         std::all_of(aux.begin(), aux.end(), [](const std::string& a) { return a == "item-item" || a == "user-user"; });
}

bool agree(bool mine) {
#if defined(SEQREC_WITH_MPI)
  if (g_job.comm) {
    int v = mine ? 1 : 0;
    g_job.comm->broadcast(std::span<int>(&v, 1), 0, "control");
    return v != 0;
  }
#endif
  return mine;
}

std::optional<Reference> paper_reference(const std::string& data, const std::string& model) {
  std::string name = data;
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  const bool games = name.find("games") != std::string::npos || name.find("video") != std::string::npos;
  // SASRec's own file for MovieLens-1M is ml-1m.txt; also take ml1m, ml_1m and movielens-1m.
  const bool ml1m = name.find("ml-1m") != std::string::npos || name.find("ml1m") != std::string::npos ||
                    name.find("ml_1m") != std::string::npos || name.find("movielens-1m") != std::string::npos;
  if (games && model == "sasrec") return Reference{"SASRec paper (Games)", 0.7410, 0.5360};
  if (games && model == "gru4rec") return Reference{"GRU4Rec+ in SASRec paper (Games)", 0.6599, 0.4759};
  if (ml1m && model == "sasrec") return Reference{"SASRec paper (ML-1M)", 0.8245, 0.5905};
  return std::nullopt;
}

}  // namespace seqrec::tools
