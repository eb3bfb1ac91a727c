// seqrec-train's pieces: the command line's options, the MPI job, and the entry point of each model variant.
// Each variant (plain, context, multi-task, joint tasks) is compiled once per encoder in its own translation
// unit (examples/CMakeLists.txt), so no unit instantiates every encoder x variant and the tool builds in
// parallel; main() (seqrec_train.cpp) parses, checks and dispatches.
#pragma once

#include <seqrec/data/interactions.hpp>
#include <seqrec/data/split.hpp>
#include <seqrec/sequential_recommender.hpp>
#if defined(SEQREC_WITH_MPI)
#include <seqrec/dist/communicator.hpp>
#endif

#include <array>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace seqrec::tools {

using Clock = std::chrono::steady_clock;
inline double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

struct Options {
  std::string data = "games/games.txt";  // as given (resolved by main)
  std::string format = "sasrec";
  std::string model = "sasrec";
  int maxlen = 50, dim = 50, blocks = 2, heads = 1, layers = 1, batch = 128, epochs = 200, patience = 20;
  int blas_threads = 0;
  int eval_every = 1, threads = 0, negatives = 100, max_eval_users = 0;
  double time_limit = 0;  // seconds of training; 0: none
  int eval_batch = 256;
  double dropout = 0.5, lr = 0.001, l2 = 0.0, clip = 0.0;
  // Item embedding N(0, s) at the start: auto (xavier for sasrec, 1/sqrt(dim) for the recurrent encoders),
  // xavier, or a number (0: 1/sqrt(dim)).
  std::string init_std = "auto";
  double init_std_value = 0;  // ... the number, parsed once in main
  std::uint64_t seed = 42;
  std::string eval = "both";
  std::string checkpoint;
  bool resume = false;
  bool json_only = false;
  bool scalar_double = false;
  std::string blend;        // completion strategy blended with the trained model ("": none)
  int cold = 5;             // the blend report's cold users: at most this many training interactions
  std::string distributed;  // "", data-parallel or fedavg (under mpirun)
  int local_epochs = 1;     // fedavg: local epochs per round
  double fed_clip = 0, fed_noise = 0;
  std::vector<std::string> aux;  // auxiliary tasks (multi-task training)
  std::string attributes;        // item attribute file (--attributes, as given; for genres: u.item)
  std::string attributes_path;   // ... resolved against $SEQREC_DATA
  std::string context;           // context-aware head: time, user or time+user ("": plain head)
  std::string users;             // MovieLens user file for --context user (as given)
  std::string users_path;        // ... resolved against $SEQREC_DATA
  std::string combinator;        // how the task losses combine ("": uncertainty, or weighted with --weights)
  std::vector<double> weights;   // --weights for the weighted combinator, one per task
  int joint_window = 2;          // --aux item-item: co-occurrence window
  int joint_negatives = 5;       // --aux item-item: sampled items per pair
  int tail = 5;                  // long-tail report: test items with at most this many training interactions
  std::string item_features;     // --item-features FILE.npy (as given)
  std::string item_features_path, item_feature_ids_path;  // resolved
  std::string projection = "linear";
  int projection_hidden = 256;
  bool features_only = false;   // P(X) alone, no learned item embedding
  double cold_items = 0;        // fraction of items held out of training entirely (0: none)
  std::string loss = "bce";     // the next-item loss (losses::Losses: bce, bpr, bpr-max, top1-max, sampled-softmax,
                                // gbce, ce)
  int train_negatives = 0;      // sampled negatives per training position (0: the loss's default)
  double gbce_t = 0.75;         // gbce: calibration t (gSASRec)
  double bpr_max_lambda = 1.0;  // bpr-max: score regulariser

  // Training negatives per position: as given, or 1 for BCE (SASRec's protocol), 256 for the softmax-type and
  // gBCE losses (gSASRec / SASRec+'s sampled setting), 32 for the pairwise ones (GRU4Rec's mini-batch size scale);
  // 1 (unused) for ce.
  int negatives_per_position() const {
    if (train_negatives > 0) return train_negatives;
    if (loss == "sampled-softmax" || loss == "gbce") return 256;
    if (loss == "bpr-max" || loss == "top1-max" || loss == "bpr") return 32;
    return 1;
  }

  // The combinator --combinator names, or its default: uncertainty weighting, which did at least as well as
  // the plain sum in every multi-task run measured (docs/multitask-context.md, docs/joint-features.md);
  // weighted when --weights is given.
  std::string combinator_or_default() const {
    return !combinator.empty() ? combinator : (weights.empty() ? "uncertainty" : "weighted");
  }
};

// The item table's initial spread for --init-std (auto, xavier or a number).
double item_init_stddev(const Options& o, const data::Interactions& data);
// The model's configuration from the options (data-parallel: this rank's slice of the batch).
RecommenderConfig recommender_config(const Options& o, const data::Interactions& data);
// --aux item-item / user-user: the joint embedding tasks (heads/joint_tasks.hpp).
bool joint_aux(const std::vector<std::string>& aux);

// This process's place in an MPI job (one rank, no communicator, when not distributed).
struct Job {
  int rank = 0, ranks = 1;
#if defined(SEQREC_WITH_MPI)
  dist::Communicator* comm = nullptr;
#endif
  bool root() const { return rank == 0; }
};
extern Job g_job;
// SIGINT/SIGTERM end training at the next epoch boundary; the best weights are still restored and tested.
extern volatile std::sig_atomic_t g_stop_requested;

// Rank 0 decides (early stopping, time limit, signals) and every rank follows, so no rank waits in a
// collective the others left.
bool agree(bool mine);

// Published numbers on the same data and protocol (../shared/data/README.md), to print beside ours.
struct Reference {
  const char* name;
  double hr10, ndcg10;
};
std::optional<Reference> paper_reference(const std::string& data, const std::string& model);

// The encoders --model names, in one list that the --model check, its help and the dispatch read
// (EncoderOf<T, E>::name, encoders.hpp, is checked against it).
enum class EncoderKind { sasrec, gru4rec, lstm };
inline constexpr std::array<std::pair<EncoderKind, const char*>, 3> encoder_kinds{
    {{EncoderKind::sasrec, "sasrec"}, {EncoderKind::gru4rec, "gru4rec"}, {EncoderKind::lstm, "lstm"}}};

// The variants, one translation unit per encoder each (examples/train/<variant>.cpp). `data` is the whole
// data set as read; each variant splits it.
template <class T, EncoderKind E>
int train_plain(const Options& o, const data::Interactions& data);  // the next item alone (+ features, blend, MPI)
template <EncoderKind E>
int train_context(const Options& o, const data::Interactions& data);  // the context-gated head
template <EncoderKind E>
int train_multitask(const Options& o, const data::Interactions& data);  // + attributes, genres or rating
template <EncoderKind E>
int train_joint(const Options& o, const data::Interactions& data);  // + item-item and/or user-user

}  // namespace seqrec::tools
