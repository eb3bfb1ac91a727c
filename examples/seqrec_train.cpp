// seqrec-train: train and evaluate a sequential recommender (SASRec, GRU4Rec-style GRU, LSTM) on a real
// dataset with the leave-one-out protocol. Progress goes to stderr; stdout gets JSON lines (one per
// evaluation) and, last, one JSON object with the final metrics.
//
//   seqrec-train --data games/games.txt --format sasrec --model sasrec --epochs 200 --patience 20
//   seqrec-train --data beauty/beauty.txt --format user-lines --aux attributes --combinator uncertainty
//   seqrec-train --data ml-100k/u.data --format ml-100k --aux genres            (next item + its genres)
//   seqrec-train --data ml-100k/u.data --format ml-100k --context time+user     (context-aware head)
#include <seqrec/completion/als.hpp>
#include <seqrec/completion/blend.hpp>
#include <seqrec/completion/bpr_mf.hpp>
#include <seqrec/completion/ease.hpp>
#include <seqrec/completion/item_knn.hpp>
#include <seqrec/completion/popularity.hpp>
#include <seqrec/context_recommender.hpp>
#include <seqrec/core.hpp>
#include <seqrec/data/attributes.hpp>
#include <seqrec/data/batch.hpp>
#include <seqrec/data/cold_split.hpp>
#include <seqrec/data/dataset_path.hpp>
#include <seqrec/data/item_features.hpp>
#include <seqrec/data/negative_sampler.hpp>
#include <seqrec/data/readers.hpp>
#include <seqrec/data/split.hpp>
#include <seqrec/eval/cold_items.hpp>
#include <seqrec/eval/full.hpp>
#include <seqrec/eval/report.hpp>
#include <seqrec/eval/sampled.hpp>
#include <seqrec/multitask_recommender.hpp>
#include <seqrec/sequence/gru.hpp>
#include <seqrec/sequence/lstm.hpp>
#include <seqrec/sequence/recurrent_encoder.hpp>
#include <seqrec/sequence/sasrec_encoder.hpp>
#include <seqrec/sequential_recommender.hpp>
#if defined(SEQREC_WITH_MPI)
#include <seqrec/dist.hpp>
#endif

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

// SIGINT/SIGTERM end training at the next epoch boundary; the best weights are still restored and tested.
volatile std::sig_atomic_t g_stop_requested = 0;
extern "C" void request_stop(int) { g_stop_requested = 1; }
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

struct Options {
  std::string data = "games/games.txt";
  std::string format = "sasrec";
  std::string model = "sasrec";
  int maxlen = 50, dim = 50, blocks = 2, heads = 1, layers = 1, batch = 128, epochs = 200, patience = 20;
  int blas_threads = 0;
  int eval_every = 1, threads = 0, negatives = 100, max_eval_users = 0;
  double time_limit = 0;  // seconds of training; 0: none
  int eval_batch = 256;
  double dropout = 0.5, lr = 0.001, l2 = 0.0, clip = 0.0;
  std::string init_std = "0";  // item embedding N(0, s) at the start: a number (0: 1/sqrt(dim)) or xavier
  double init_std_value = 0;   // ... the number, parsed once in main
  std::uint64_t seed = 42;
  std::string eval = "sampled";
  std::string checkpoint;
  bool resume = false;
  bool json_only = false;
  bool scalar_double = false;
  std::string blend;        // completion strategy blended with the trained model ("": none)
  int cold = 5;             // the blend report's cold users: at most this many training interactions
  std::string distributed;  // "", data-parallel or fedavg (under mpirun)
  int local_epochs = 1;     // fedavg: local epochs per round
  double fed_clip = 0, fed_noise = 0;
  std::vector<std::string> aux;  // auxiliary tasks (multi-task training): attributes or genres
  std::string attributes;        // item attribute file (--attributes, as given; for genres: u.item)
  std::string attributes_path;   // ... resolved against $SEQREC_DATA
  std::string context;           // context-aware head: time, user or time+user ("": plain head)
  std::string users;             // MovieLens user file for --context user (as given)
  std::string users_path;        // ... resolved against $SEQREC_DATA
  std::string combinator;        // how the task losses combine ("": sum, or weighted when --weights is given)
  std::vector<double> weights;   // --weights for the weighted combinator, one per task
  int joint_window = 2;          // --aux item-item: co-occurrence window
  int joint_negatives = 5;       // --aux item-item: sampled items per pair
  int tail = 5;                  // long-tail report: test items with at most this many training interactions
  std::string item_features;     // --item-features FILE.npy (as given)
  std::string item_features_path, item_feature_ids_path;  // resolved
  std::string projection = "linear";
  int projection_hidden = 256;
  bool features_only = false;  // P(X) alone, no learned item embedding
  double cold_items = 0;       // fraction of items held out of training entirely (0: none)
};

// --init-std: a number, or xavier (Glorot's spread for the [items + 1, dim] table).
double item_init_stddev(const Options& o, const seqrec::data::Interactions& data) {
  if (o.init_std == "xavier") return std::sqrt(2.0 / double(data.num_items() + 1 + o.dim));
  return o.init_std_value;
}

// --aux item-item / user-user: the joint embedding tasks (heads/joint_tasks.hpp).
bool joint_aux(const std::vector<std::string>& aux) {
  return !aux.empty() &&
         std::all_of(aux.begin(), aux.end(), [](const std::string& a) { return a == "item-item" || a == "user-user"; });
}

// The plain next-item model: the only one --blend and --distributed take (their code is instantiated for it alone).
template <class M>
struct IsPlain : std::false_type {};
template <class E>
struct IsPlain<seqrec::SequentialRecommender<E>> : std::true_type {};

// This process's place in an MPI job (one rank, no communicator, when not distributed).
struct Job {
  int rank = 0, ranks = 1;
#if defined(SEQREC_WITH_MPI)
  seqrec::dist::Communicator* comm = nullptr;
#endif
  bool root() const { return rank == 0; }
};
Job g_job;

// Rank 0 decides (early stopping, time limit, signals) and every rank follows, so no rank waits in a
// collective the others left.
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

// Windows for scoring: the training items of every user, plus (for test) the validation item.
seqrec::data::Sequences with_items(const seqrec::data::Split& split, bool add_valid, bool add_test) {
  return seqrec::data::Sequences::from(seqrec::data::with_held_out(split, add_valid, add_test));
}

// The sequences of users u with u mod ranks == rank; every other row empty (a FedAvg client's data).
seqrec::data::Sequences only_users(const seqrec::data::Sequences& all, int rank, int ranks) {
  seqrec::data::Sequences out;
  out.num_items = all.num_items;
  out.offsets.assign(1, 0);
  for (seqrec::index_t u = 0; u < all.num_users(); ++u) {
    if (u % ranks == rank) {
      const auto lo = all.offsets[u], hi = all.offsets[u + 1];
      out.items.insert(out.items.end(), all.items.begin() + lo, all.items.begin() + hi);
      if (!all.weights.empty())
        out.weights.insert(out.weights.end(), all.weights.begin() + lo, all.weights.begin() + hi);
      if (!all.times.empty()) out.times.insert(out.times.end(), all.times.begin() + lo, all.times.begin() + hi);
    }
    out.offsets.push_back(seqrec::index_t(out.items.size()));
  }
  return out;
}

// Published numbers on the same data and protocol (../shared/data/README.md), to print beside ours.
struct Reference {
  const char* name;
  double hr10, ndcg10;
};
std::optional<Reference> paper_reference(const std::string& data, const std::string& model) {
  if (data.find("games") == std::string::npos) return std::nullopt;
  if (model == "sasrec") return Reference{"SASRec paper (Games)", 0.7410, 0.5360};
  if (model == "gru4rec") return Reference{"GRU4Rec+ in SASRec paper", 0.6599, 0.4759};
  return std::nullopt;
}

// The trained model blended with a completion strategy (completion/blend.hpp). The blend's weights are chosen
// on validation NDCG@10 over a small grid (the strategy fitted on training items); then the strategy is refitted
// with the validation items and the model, the strategy and the blend are tested on the same candidates, for
// all evaluated users and for those with at most --cold training interactions.
template <class Model, class Completion>
nlohmann::json blend_report(const Options& o, Model& model, Completion& completion, const seqrec::data::Split& split,
                            const seqrec::data::Sequences& valid_windows, const seqrec::data::Sequences& test_windows,
                            const seqrec::eval::History<typename Model::execution_space>& full_history) {
  using Space = typename Model::execution_space;
  using T = typename Model::scalar_type;
  namespace c = seqrec::completion;
  Space space;
  const auto t0 = Clock::now();
  const auto lengths = c::history_lengths(space, split.train_sequences);
  c::Blend blend(model, completion, seqrec::View1<const seqrec::index_t, Space>(lengths));
  seqrec::eval::SampledOptions so;
  so.num_negatives = o.negatives;
  so.seed = o.seed + 7;  // candidates of their own, drawn alike for the three scorers
  std::vector<seqrec::id_t> vt, tt, cold_users, cold_vt, cold_tt;
  for (auto u : split.evaluated_users) {
    vt.push_back(split.valid_item(u));
    tt.push_back(split.test_item(u));
    if (split.train_sequences.length(u) <= o.cold) {
      cold_users.push_back(u);
      cold_vt.push_back(vt.back());
      cold_tt.push_back(tt.back());
    }
  }
  seqrec::eval::SampledEvaluator<T, Space> ev(space, 1 + o.negatives, o.eval_batch);
  auto candidates = [&](const std::vector<seqrec::id_t>& users, const std::vector<seqrec::id_t>& targets) {
    return seqrec::eval::make_sampled_candidates(space, seqrec::eval::select_users(space, users, targets, 0, o.seed),
                                                 full_history, so);
  };
  // Validation: the strategy on training items, the grid of blend weights.
  completion.fit(space, seqrec::data::with_held_out(split, false));
  model.set_scoring_windows(space, valid_windows, o.eval_batch);
  const auto valid_cands = candidates(split.evaluated_users, vt);
  c::BlendOptions best;
  double best_ndcg = -1;
  for (double amin : {0.0, 0.25, 0.5, 0.75})
    for (double amax : {0.75, 0.9, 1.0})
      for (double half : {1.0, 4.0, 16.0}) {
        if (amax < amin) continue;
        c::BlendOptions bo;
        bo.alpha_min = amin;
        bo.alpha_max = amax;
        bo.half_length = half;
        blend.set_options(bo);
        const double v = ev.evaluate(space, blend, valid_cands, {10}).ndcg_at(10);
        if (v > best_ndcg) best_ndcg = v, best = bo;
      }
  blend.set_options(best);
  // Test: the strategy refitted with the validation items; the three scorers on the same candidates.
  completion.fit(space, seqrec::data::with_held_out(split, true));
  model.set_scoring_windows(space, test_windows, o.eval_batch);
  nlohmann::json out = {{"blend_with", o.blend},
                        {"blend_alpha_min", best.alpha_min},
                        {"blend_alpha_max", best.alpha_max},
                        {"blend_half_length", best.half_length},
                        {"blend_valid_ndcg10", best_ndcg},
                        {"cold_max_history", o.cold},
                        {"cold_users", cold_users.size()}};
  auto test_on = [&](const std::vector<seqrec::id_t>& users, const std::vector<seqrec::id_t>& targets,
                     const std::string& tag) {
    const auto cands = candidates(users, targets);
    const auto ms = ev.evaluate(space, model, cands, {10});
    const auto mc = ev.evaluate(space, completion, cands, {10});
    const auto mb = ev.evaluate(space, blend, cands, {10});
    for (auto [name, m] : {std::pair{"model", &ms}, std::pair{"completion", &mc}, std::pair{"blend", &mb}}) {
      out[tag + name + "_hr10"] = m->hr_at(10);
      out[tag + name + "_ndcg10"] = m->ndcg_at(10);
    }
  };
  test_on(split.evaluated_users, tt, "blend_test_");
  if (!cold_users.empty()) test_on(cold_users, cold_tt, "blend_cold_test_");
  out["blend_seconds"] = seconds_since(t0);
  if (!o.json_only) {
    auto f = [&](const std::string& k) { return out.contains(k) ? out[k].get<double>() : NAN; };
    std::fprintf(stderr,
                 "blend with %s (alpha %.2f..%.2f, half length %.0f; chosen on validation):\n"
                 "  all users  NDCG@10: model %.4f  %s %.4f  blend %.4f\n"
                 "  cold users (<= %d training items, %zu users) NDCG@10: model %.4f  %s %.4f  blend %.4f\n",
                 o.blend.c_str(), best.alpha_min, best.alpha_max, best.half_length, f("blend_test_model_ndcg10"),
                 o.blend.c_str(), f("blend_test_completion_ndcg10"), f("blend_test_blend_ndcg10"), o.cold,
                 cold_users.size(), f("blend_cold_test_model_ndcg10"), o.blend.c_str(),
                 f("blend_cold_test_completion_ndcg10"), f("blend_cold_test_blend_ndcg10"));
  }
  return out;
}

template <class Model>
nlohmann::json run_blend(const Options& o, Model& model, const seqrec::data::Split& split,
                         const seqrec::data::Sequences& valid_windows, const seqrec::data::Sequences& test_windows,
                         const seqrec::eval::History<typename Model::execution_space>& full_history) {
  using Space = typename Model::execution_space;
  using T = typename Model::scalar_type;
  namespace c = seqrec::completion;
  auto go = [&](auto&& strategy) {
    return blend_report(o, model, strategy, split, valid_windows, test_windows, full_history);
  };
  if (o.blend == "poprec") return go(c::PopRec<T, Space>());
  if (o.blend == "als") return go(c::ImplicitAls<T, Space>());
  if (o.blend == "bpr") return go(c::BprMf<T, Space>());
  if (o.blend == "ease") return go(c::Ease<T, Space>());
  return go(c::ItemKnn<T, Space>());
}

// `cold`: items held out of `data` entirely (--cold-items); their ranking is reported at the end.
template <class Model>
int run(const Options& o, const seqrec::data::Interactions& data, Model& model, const char* model_name,
        const seqrec::data::ColdItemSplit* cold = nullptr) {
  using Space = typename Model::execution_space;
  using T = typename Model::scalar_type;
  Space space;
  const bool tty = isatty(fileno(stderr)) && !o.json_only;
  constexpr bool multitask = requires(Model & m) {
    m.end_epoch();
    m.task_weights();
  };
  constexpr bool plain = IsPlain<Model>::value;
  const auto split = seqrec::data::leave_one_out(data);
  const bool data_parallel = o.distributed == "data-parallel", fedavg = o.distributed == "fedavg";
  // FedAvg: this rank is a client that holds only its users' training sequences (users u = rank mod ranks).
  const seqrec::data::Sequences client_train =
      fedavg ? only_users(split.train_sequences, g_job.rank, g_job.ranks) : seqrec::data::Sequences{};
  const auto& train_seqs = fedavg ? client_train : split.train_sequences;
  const auto train_history = seqrec::data::make_user_history(space, train_seqs);
  seqrec::data::SequenceBatcher<Space> batcher(space, train_seqs,
                                               seqrec::data::UniformNegativeSampler<Space>(train_history));
  seqrec::data::EpochShuffler<Space> shuffler(space, seqrec::data::EpochShuffler<Space>::trainable_users(train_seqs),
                                              o.seed);
  // Data-parallel: the model's batch is this rank's slice of a global batch of --batch users.
  seqrec::data::SequenceBatch<Space> batch(space, model.batch_size(), o.maxlen, 1);
  std::int64_t client_examples = 0;  // training positions of this client (FedAvg's weight)
  for (seqrec::index_t u = 0; u < train_seqs.num_users(); ++u)
    client_examples += std::max<seqrec::index_t>(0, train_seqs.length(u) - 1);
#if defined(SEQREC_WITH_MPI)
  std::optional<seqrec::dist::GradientSync<T, Space>> sync;
  std::optional<seqrec::dist::FedAvg<seqrec::ParameterSet<T, Space>>> fed;
  if (data_parallel) sync.emplace(*g_job.comm);
  if (fedavg)
    fed.emplace(*g_job.comm, model.parameters(), seqrec::dist::FedAvgOptions{o.fed_clip, o.fed_noise, o.seed});
  seqrec::dist::FedAvgRound last_round;
#endif

  // Fixed candidates (seeded) for validation and test: every epoch and every model sees the same ones.
  const auto full_history = seqrec::eval::make_history(space, seqrec::data::Sequences::from(data));
  std::vector<seqrec::id_t> valid_targets, test_targets;
  for (auto u : split.evaluated_users) {
    valid_targets.push_back(split.valid_item(u));
    test_targets.push_back(split.test_item(u));
  }
  auto valid_users = seqrec::eval::select_users(space, split.evaluated_users, valid_targets, o.max_eval_users, o.seed);
  auto test_users = seqrec::eval::select_users(space, split.evaluated_users, test_targets, o.max_eval_users, o.seed);
  seqrec::eval::SampledOptions so;
  so.num_negatives = o.negatives;
  so.seed = o.seed;
  const auto valid_cands = seqrec::eval::make_sampled_candidates(space, valid_users, full_history, so);
  const auto test_cands = seqrec::eval::make_sampled_candidates(space, test_users, full_history, so);
  seqrec::eval::SampledEvaluator<T, Space> evaluator(space, 1 + o.negatives, o.eval_batch);
  const auto valid_windows = with_items(split, false, false);
  const auto test_windows = with_items(split, true, false);

  // Best weights by validation NDCG@10, restored at the end (early stopping with patience).
  std::vector<seqrec::View1<T, Space>> best;
  for (const auto& p : model.parameters())
    best.push_back(seqrec::make_uninitialized<seqrec::View1<T, Space>>(space, "best:" + p.name(), p.size()));
  auto snapshot = [&](bool restore) {
    std::size_t i = 0;
    for (const auto& p : model.parameters()) {
      if (restore)
        Kokkos::deep_copy(space, p.value(), best[i]);
      else
        Kokkos::deep_copy(space, best[i], p.value());
      ++i;
    }
    space.fence();
  };

  const seqrec::index_t nb = shuffler.num_batches(o.batch);
  if (!o.distributed.empty() && !o.json_only)
    std::fprintf(stderr, "seqrec-train: %s over %d MPI ranks (rank %d: %lld training users%s)\n", o.distributed.c_str(),
                 g_job.ranks, g_job.rank, (long long)shuffler.size(),
                 data_parallel ? ", a slice of every global batch" : ", its own");
  if (g_job.root())
    std::fprintf(stderr, "seqrec-train: %s on %s (%lld users, %lld items, %lld interactions), %s, %d threads, %s\n",
                 model_name, o.data.c_str(), (long long)data.num_users(), (long long)data.num_items(),
                 (long long)data.size(), Space::name(), Space::concurrency(), sizeof(T) == 4 ? "float" : "double");
  double best_ndcg = -1, train_seconds = 0;
  int best_epoch = 0, epochs_run = 0, epochs_trained = 0;  // trained: in this process (after a resume)
  std::vector<double> last_task_losses;                    // multi-task: the last epoch's mean task losses
  seqrec::eval::MetricSet best_valid;
  int first_epoch = 1;
  std::string stopped = "epochs";  // why training ended: epochs | patience | time_limit | signal
  if (o.resume && !o.checkpoint.empty() && std::filesystem::exists(o.checkpoint)) {
    first_epoch = int(model.load(o.checkpoint)) + 1;
    best_epoch = first_epoch - 1;  // early stopping counts from here; the best weights so far are these
    snapshot(false);
    if (!o.json_only) std::fprintf(stderr, "resumed from %s after epoch %d\n", o.checkpoint.c_str(), first_epoch - 1);
  }
  for (int epoch = first_epoch; epoch <= o.epochs; ++epoch) {
    const auto t0 = Clock::now();
    double loss_sum = 0;
    for (int local = 0; local < (fedavg ? o.local_epochs : 1); ++local) {
      // FedAvg's round r runs local epochs (r - 1) E + 1 .. r E of the client's own order.
      shuffler.shuffle(space, fedavg ? std::uint64_t((epoch - 1) * o.local_epochs + local + 1) : std::uint64_t(epoch));
      loss_sum = 0;
      for (seqrec::index_t b = 0; b < nb; ++b) {
        const auto users = shuffler.batch(b, o.batch);
        const auto rs = seqrec::RandomStream(o.seed, (epoch << 20) + b);
        if (data_parallel) {
#if defined(SEQREC_WITH_MPI)
          if constexpr (plain) {
            const auto [lo, hi] =
                seqrec::dist::rank_slice(0, seqrec::index_t(users.extent(0)), g_job.rank, g_job.ranks);
            batcher.build(space, Kokkos::subview(users, Kokkos::make_pair(lo, hi)), batch, rs);
            loss_sum += model.train_step(space, batch, model.random().next(), *sync).value;
          }
#endif
        } else {
          batcher.build(space, users, batch, rs);
          loss_sum += model.train_step(space, batch, model.random().next()).value;
        }
        if (tty && (b % 8 == 0 || b + 1 == nb)) {
          const double s = seconds_since(t0), rate = double(b + 1) * o.batch / s;
          std::fprintf(stderr, "\repoch %3d [%-30s] %3d%% loss %.4f  %.0f users/s  ETA %.0fs ", epoch,
                       std::string(std::size_t(30.0 * (b + 1) / nb), '=').c_str(), int(100.0 * (b + 1) / nb),
                       loss_sum / double(b + 1), rate, (nb - b - 1) * o.batch / rate);
        }
      }
    }
#if defined(SEQREC_WITH_MPI)
    if (fedavg) last_round = fed->average(model.parameters(), client_examples);
#endif
    space.fence();
    const double epoch_seconds = seconds_since(t0);
    train_seconds += epoch_seconds;
    epochs_run = epoch;
    ++epochs_trained;
    if (tty) std::fprintf(stderr, "\n");
    nlohmann::json line = {{"epoch", epoch}, {"loss", loss_sum / nb}, {"seconds", epoch_seconds}};
    if constexpr (multitask) {
      // Mean task losses of the epoch (DWA sets the next epoch's weights from them) and the weights now.
      const auto means = model.end_epoch();
      const auto w = model.task_weights();
      line["task_losses"] = means;
      last_task_losses.assign(means.begin(), means.end());
      line["task_weights"] = w;
      if (!o.json_only) {
        std::string tasks;
        for (std::size_t k = 0; k < Model::num_tasks; ++k) {
          char buf[160];
          std::snprintf(buf, sizeof buf, "%s%s loss %.4f weight %.4f", k ? ", " : "", Model::task_names[k], means[k],
                        w[k]);
          tasks += buf;
        }
        std::fprintf(stderr, "epoch %3d tasks (%s): %s\n", epoch, model.combinator_name().c_str(), tasks.c_str());
      }
    }
#if defined(SEQREC_WITH_MPI)
    if (fedavg) {
      line["client_weight"] = last_round.weight;
      line["update_norm"] = last_round.update_norm;
      line["clipped"] = last_round.clipped;
      line["round_bytes_sent"] = last_round.bytes_sent;
    }
#endif
    if (epoch % o.eval_every == 0 || epoch == o.epochs) {
      const auto te = Clock::now();
      model.set_scoring_windows(space, valid_windows, o.eval_batch);
      const auto m = evaluator.evaluate(space, model, valid_cands, {1, 5, 10});
      line["valid_hr10"] = m.hr_at(10);
      line["valid_ndcg10"] = m.ndcg_at(10);
      line["eval_seconds"] = seconds_since(te);
      if (m.ndcg_at(10) > best_ndcg) {
        best_ndcg = m.ndcg_at(10);
        best_epoch = epoch;
        best_valid = m;
        snapshot(false);
      }
      if (!o.json_only)
        std::fprintf(stderr, "epoch %3d loss %.4f  valid HR@10 %.4f NDCG@10 %.4f  (%.2fs train, best %d)\n", epoch,
                     loss_sum / nb, m.hr_at(10), m.ndcg_at(10), epoch_seconds, best_epoch);
    }
    if (!o.checkpoint.empty() && g_job.root()) model.save(o.checkpoint, epoch);  // one rank writes
    std::cout << line.dump() << std::endl;
    if (agree(epoch - best_epoch >= o.patience)) {
      if (!o.json_only) std::fprintf(stderr, "early stop: no validation gain for %d epochs\n", o.patience);
      stopped = "patience";
      break;
    }
    if (agree(o.time_limit > 0 && train_seconds >= o.time_limit)) {
      if (!o.json_only) std::fprintf(stderr, "stop: --time-limit %.0f s reached after epoch %d\n", o.time_limit, epoch);
      stopped = "time_limit";
      break;
    }
    if (agree(g_stop_requested != 0)) {
      if (!o.json_only) std::fprintf(stderr, "stop: signal received, ending after epoch %d\n", epoch);
      stopped = "signal";
      break;
    }
  }
  if (best_ndcg >= 0)
    snapshot(true);
  else {  // stopped before any validation: validate and test the weights as they are
    best_epoch = epochs_run;
    model.set_scoring_windows(space, valid_windows, o.eval_batch);
    best_valid = evaluator.evaluate(space, model, valid_cands, {1, 5, 10});
  }
  model.set_scoring_windows(space, test_windows, o.eval_batch);
  const auto test = evaluator.evaluate(space, model, test_cands, {1, 5, 10});
  nlohmann::json out = {{"model", model_name},
                        {"data", o.data},
                        {"backend", Space::name()},
                        {"threads", Space::concurrency()},
                        {"scalar", sizeof(T) == 4 ? "float" : "double"},
                        {"seed", o.seed},
                        {"init_std", item_init_stddev(o, data)},
                        {"epochs", epochs_run},
                        {"stopped", stopped},
                        {"best_epoch", best_epoch},
                        {"seconds_per_epoch", train_seconds / std::max(1, epochs_trained)},
                        {"train_seconds", train_seconds},
                        {"valid_hr10", best_valid.hr_at(10)},
                        {"valid_ndcg10", best_valid.ndcg_at(10)},
                        {"test_hr10", test.hr_at(10)},
                        {"test_ndcg10", test.ndcg_at(10)},
                        {"test_mrr", test.mrr},
                        {"evaluated_users", test.count},
                        {"negatives", o.negatives}};
  // The long tail: users whose test item has at most --tail training interactions (where the data is thin).
  std::vector<seqrec::index_t> item_count(std::size_t(data.num_items()) + 1, 0);
  for (auto it : split.train_sequences.items) ++item_count[std::size_t(it)];
  std::vector<seqrec::id_t> tail_users, tail_targets;
  for (auto u : split.evaluated_users)
    if (item_count[std::size_t(split.test_item(u))] <= o.tail) {
      tail_users.push_back(u);
      tail_targets.push_back(split.test_item(u));
    }
  out["tail_max"] = o.tail;
  out["tail_users"] = tail_users.size();
  if (!tail_users.empty()) {
    const auto tu = seqrec::eval::select_users(space, tail_users, tail_targets, 0, o.seed);
    const auto tm = evaluator.evaluate(space, model, seqrec::eval::make_sampled_candidates(space, tu, full_history, so),
                                       {1, 5, 10});
    out["tail_test_hr10"] = tm.hr_at(10);
    out["tail_test_ndcg10"] = tm.ndcg_at(10);
  }
  if constexpr (multitask) {
    out["aux"] = o.aux;
    if (!o.attributes.empty()) out["attributes"] = o.attributes;
    out["combinator"] = model.combinator_name();
    out["task_weights"] = model.task_weights();
    out["task_names"] = std::vector<std::string>(Model::task_names.begin(), Model::task_names.end());
    if (!last_task_losses.empty()) out["task_losses"] = last_task_losses;
  }
  if (!o.context.empty()) {
    out["context"] = o.context;
    if (!o.users.empty()) out["users"] = o.users;
  }
  if (!o.distributed.empty()) {
    out["distributed"] = o.distributed;
    out["ranks"] = g_job.ranks;
#if defined(SEQREC_WITH_MPI)
    if (sync) {
      const auto& st = sync->stats();
      const double steps = double(std::max<std::int64_t>(1, st.steps));
      out["bytes_per_step"] = double(st.dense_bytes + st.sparse_bytes) / steps;
      out["dense_bytes_per_step"] = double(st.dense_bytes) / steps;
      out["sparse_bytes_per_step"] = double(st.sparse_bytes) / steps;
      out["sync_seconds_per_epoch"] = st.seconds / std::max(1, epochs_trained);
    }
    if (fed) {
      out["local_epochs"] = o.local_epochs;
      out["client_examples"] = client_examples;
      out["fed_clip"] = o.fed_clip;
      out["noise_multiplier"] = o.fed_noise;
      out["noise_std"] = last_round.noise_std;
      out["round_bytes_sent"] = last_round.bytes_sent;
    }
#endif
  }
  if (o.eval == "full" || o.eval == "both") {
    const auto te = Clock::now();
    const auto users = seqrec::eval::select_users(space, split.evaluated_users, test_targets, o.max_eval_users, o.seed);
    // Full ranking excludes the user's history except the held-out test item.
    const auto m = seqrec::eval::evaluate_full(space, model, users, seqrec::eval::make_history(space, test_windows),
                                               o.eval_batch, {10});
    out["full_test_hr10"] = m.hr_at(10);
    out["full_test_ndcg10"] = m.ndcg_at(10);
    if (!tail_users.empty()) {
      const auto mt = seqrec::eval::evaluate_full(
          space, model, seqrec::eval::select_users(space, tail_users, tail_targets, 0, o.seed),
          seqrec::eval::make_history(space, test_windows), o.eval_batch, {10});
      out["full_tail_test_hr10"] = mt.hr_at(10);
      out["full_tail_test_ndcg10"] = mt.ndcg_at(10);
    }
    out["full_eval_seconds"] = seconds_since(te);
  }
  if constexpr (plain)
    if (!o.blend.empty()) out.update(run_blend(o, model, split, valid_windows, test_windows, full_history));
  if constexpr (plain) {
    if (cold) {  // last: it sets the model's scoring windows to the histories before each user's first cold item
      const auto cands = seqrec::eval::make_cold_candidates(space, *cold);
      seqrec::eval::SampledEvaluator<T, Space> cold_eval(space, cands.num_candidates(), o.eval_batch);
      model.set_scoring_windows(space, cold->history, o.eval_batch);
      // As trained: the cold rows of E only ever took gradients as sampled negatives.
      const auto trained = cold_eval.evaluate(space, model, cands, {10});
      // As new items: no learned row (zeros with features: the item is its projected features; fresh random
      // draws without, as a model without features can only do).
      model.reset_item_rows(space, cold->cold_items, model.has_item_features(), o.seed + 0x636f6c64ull);
      const auto cm = cold_eval.evaluate(space, model, cands, {1, 5, 10});
      out["cold_fraction"] = o.cold_items;
      out["cold_items"] = cold->cold_items.size();
      out["cold_users"] = cm.count;
      out["cold_rows"] = model.has_item_features() ? "zero" : "random";
      out["cold_hr10"] = cm.hr_at(10);
      out["cold_ndcg10"] = cm.ndcg_at(10);
      out["cold_mrr"] = cm.mrr;
      out["cold_trained_hr10"] = trained.hr_at(10);
      out["cold_trained_ndcg10"] = trained.ndcg_at(10);
      if (!o.json_only)
        std::fprintf(stderr,
                     "cold items (%zu held out, %lld users, ranked among all of them): as new items HR@10 %.4f  "
                     "NDCG@10 %.4f; with the rows as trained HR@10 %.4f  NDCG@10 %.4f\n",
                     cold->cold_items.size(), (long long)cm.count, cm.hr_at(10), cm.ndcg_at(10), trained.hr_at(10),
                     trained.ndcg_at(10));
    }
  }
  if (!o.item_features.empty()) {
    out["item_features"] = o.item_features;
    out["projection"] = o.projection;
    out["features_only"] = o.features_only;
  }
  if (!o.json_only) {
    std::fprintf(stderr,
                 "test (best epoch %d, sampled: 1 + %d negatives, %lld users): HR@10 %.4f  NDCG@10 %.4f"
                 "  | %.2f s/epoch\n",
                 best_epoch, o.negatives, (long long)test.count, test.hr_at(10), test.ndcg_at(10),
                 train_seconds / std::max(1, epochs_trained));
    if (const auto ref = paper_reference(o.data, o.model); ref && o.negatives == 100) {
      seqrec::eval::SummaryTable table({"HR@10", "NDCG@10"});
      table.add(ref->name, {{"HR@10", ref->hr10}, {"NDCG@10", ref->ndcg10}});
      table.add(std::string("seqrec ") + model_name, {{"HR@10", test.hr_at(10)}, {"NDCG@10", test.ndcg_at(10)}});
      table.reference(ref->name);
      std::ostringstream os;
      table.print(os);
      std::fprintf(stderr, "%s", os.str().c_str());
      out["paper_hr10"] = ref->hr10;
      out["paper_ndcg10"] = ref->ndcg10;
    }
  }
  std::cout << out.dump() << std::endl;
  return 0;
}

// Calls body(type_identity<Encoder>, make_encoder, name) with the encoder --model names.
template <class T, class Body>
int with_encoder(const Options& o, Body&& body) {
  using Space = Kokkos::DefaultExecutionSpace;
  if (o.model == "sasrec") {
    using Encoder = seqrec::sequence::SelfAttentionEncoder<T, Space>;
    const seqrec::sequence::SelfAttentionConfig sa{o.maxlen, o.blocks, o.heads, o.dropout, 0};
    return body(
        std::type_identity<Encoder>{},
        [sa](const Space& s, auto& params, seqrec::index_t dim) { return Encoder(s, params, dim, sa); }, "sasrec");
  }
  const seqrec::sequence::RecurrentConfig rc{o.maxlen, o.layers, o.dropout};
  if (o.model == "gru4rec") {
    using Encoder = seqrec::sequence::RecurrentEncoder<seqrec::sequence::Gru<T, Space>>;
    return body(
        std::type_identity<Encoder>{},
        [rc](const Space& s, auto& params, seqrec::index_t dim) { return Encoder(s, params, dim, rc); }, "gru4rec");
  }
  using Encoder = seqrec::sequence::RecurrentEncoder<seqrec::sequence::Lstm<T, Space>>;
  return body(
      std::type_identity<Encoder>{},
      [rc](const Space& s, auto& params, seqrec::index_t dim) { return Encoder(s, params, dim, rc); }, "lstm");
}

template <class T>
int dispatch(const Options& o, const seqrec::data::Interactions& data) {
  using Space = Kokkos::DefaultExecutionSpace;
  Space space;
  seqrec::RecommenderConfig cfg;
  cfg.dim = o.dim;
  cfg.batch = o.distributed == "data-parallel" ? o.batch / g_job.ranks : o.batch;
  cfg.init_stddev = item_init_stddev(o, data);
  cfg.adam.lr = o.lr;
  cfg.adam.l2 = o.l2;
  cfg.adam.clip_norm = o.clip;
  return with_encoder<T>(o, [&]<class Encoder>(std::type_identity<Encoder>, auto make, const char* name) {
    if constexpr (std::is_same_v<T, float>) {  // --double takes the plain model only (compile time)
      if (!o.context.empty()) {                // the context-aware head in place of the plain one
        std::optional<seqrec::data::UserInfo> users;
        if (!o.users_path.empty()) users = seqrec::data::read_ml100k_users(o.users_path, data);
        auto sorted = data;
        sorted.sort_chronological();
        const auto schema =
            seqrec::heads::ContextSchema::parse(o.context, users ? seqrec::index_t(users->occupations.size()) : 0);
        auto table = seqrec::heads::ContextTable<Space>::build(space, seqrec::data::Sequences::from(sorted),
                                                               users ? &*users : nullptr, schema);
        if (!o.json_only)
          std::fprintf(stderr, "context %s: %lld fields, %lld values\n", o.context.c_str(),
                       (long long)schema.num_fields(), (long long)schema.total());
        const auto split = seqrec::data::leave_one_out(data);
        seqrec::ContextRecommender<Encoder> model(space, data.num_items(), cfg, o.seed, std::move(table),
                                                  split.train_sequences, make);
        return run(o, data, model, name);
      }
      using Combinator = seqrec::RuntimeCombinator<2>;
      const std::string combinator = !o.combinator.empty() ? o.combinator : (o.weights.empty() ? "sum" : "weighted");
      if (joint_aux(o.aux)) {  // joint item-item and/or user-user tasks (main() puts item-item first)
        using ItemItem = seqrec::heads::ItemItemTask<T, Space>;
        using UserUser = seqrec::heads::UserUserTask<T, Space>;
        const auto split = seqrec::data::leave_one_out(data);
        const typename ItemItem::Options io{o.joint_window, o.joint_negatives};
        if (o.aux.size() == 2) {
          using Combinator3 = seqrec::RuntimeCombinator<3>;
          seqrec::MultiTaskRecommender<Encoder, Combinator3, ItemItem, UserUser> model(
              space, data.num_items(), cfg, o.seed, std::tuple{io, split.train_sequences},
              Combinator3::make(combinator, o.weights), make);
          return run(o, data, model, name);
        }
        if (o.aux[0] == "item-item") {
          seqrec::MultiTaskRecommender<Encoder, Combinator, ItemItem> model(
              space, data.num_items(), cfg, o.seed, io, Combinator::make(combinator, o.weights), make);
          return run(o, data, model, name);
        }
        seqrec::MultiTaskRecommender<Encoder, Combinator, UserUser> model(
            space, data.num_items(), cfg, o.seed, split.train_sequences, Combinator::make(combinator, o.weights), make);
        return run(o, data, model, name);
      }
      if (!o.aux.empty() && o.aux[0] == "rating") {  // next item + the next item's rating (the data's weights)
        const auto split = seqrec::data::leave_one_out(data);
        seqrec::MultiTaskRecommender<Encoder, Combinator, seqrec::heads::RatingTask<T, Space>> model(
            space, data.num_items(), cfg, o.seed, split.train_sequences,
            Combinator::make(
                combinator, o.weights,
                std::array{seqrec::losses::TaskKind::classification, seqrec::losses::TaskKind::regression}),
            make);
        if (!o.json_only) std::fprintf(stderr, "rating: mean training rating %.3f\n", model.aux().mean_rating());
        return run(o, data, model, name);
      }
      if (!o.aux.empty()) {  // next item + the next item's attributes (or genres) on one encoder
        const auto attributes = o.aux[0] == "genres" ? seqrec::data::read_ml100k_items(o.attributes_path, data).genres
                                                     : seqrec::data::read_item_attributes_json(o.attributes_path, data);
        if (!o.json_only)
          std::fprintf(stderr, "%s: %lld of %lld items have some of %lld attributes (%lld file items skipped)\n",
                       o.aux[0].c_str(), (long long)attributes.covered_items(), (long long)data.num_items(),
                       (long long)attributes.num_attributes(), (long long)attributes.skipped_items);
        seqrec::MultiTaskRecommender<Encoder, Combinator> model(space, data.num_items(), cfg, o.seed, attributes,
                                                                Combinator::make(combinator, o.weights), make);
        return run(o, data, model, name);
      }
    }
    // The plain model, with item features and a cold-item split when asked.
    std::optional<seqrec::data::ColdItemSplit> cold;
    if (o.cold_items > 0) {
      auto sorted = data;
      sorted.sort_chronological();
      cold = seqrec::data::cold_item_split(sorted, o.cold_items, o.seed);
      if (!o.json_only)
        std::fprintf(
            stderr, "cold items: %zu of %lld held out of training (%lld interactions), %lld users to rank them\n",
            cold->cold_items.size(), (long long)data.num_items(), (long long)cold->removed, (long long)cold->evaluated);
    }
    const auto& train_data = cold ? cold->warm : data;
    std::optional<seqrec::ItemFeatureInput<T, Space>> features;
    if (!o.item_features.empty()) {
      const auto f = seqrec::data::read_item_features(
          o.item_features_path, data.items,
          o.item_feature_ids_path.empty() ? std::nullopt
                                          : std::optional<std::filesystem::path>(o.item_feature_ids_path));
      seqrec::sequence::FeatureProjectionConfig pc;
      pc.kind = seqrec::sequence::parse_projection_kind(o.projection);
      pc.hidden = o.projection_hidden;
      features = seqrec::ItemFeatureInput<T, Space>{f.template to_device<T, Space>(space), pc, !o.features_only};
      if (!o.json_only)
        std::fprintf(stderr, "item features: %lld x %lld (%s), %s projection%s\n", (long long)f.num_items,
                     (long long)f.dim, f.dtype.c_str(), o.projection.c_str(),
                     o.features_only ? ", no learned item embedding" : " added to the item embedding");
    }
    seqrec::SequentialRecommender<Encoder> model(space, data.num_items(), cfg, o.seed, make, features);
    return run(o, train_data, model, name, cold ? &*cold : nullptr);
  });
}

// A bad command line: the reason, exit status 2.
int fail(const std::string& why) {
  std::fprintf(stderr, "seqrec-train: %s\n", why.c_str());
  return 2;
}

// A file as given when it exists (or is absolute), else under $SEQREC_DATA. Throws seqrec::Error when neither has it.
std::string resolve_file(const std::string& given) {
  std::filesystem::path path(given);
  if (!path.is_absolute() && !std::filesystem::exists(path)) path = seqrec::data::data_file(given);
  return path.string();
}

}  // namespace

int main(int argc, char* argv[]) {
  Options o;
  CLI::App app{"seqrec-train: train and evaluate a sequential recommender (leave-one-out)"};
  app.add_option("--data", o.data, "data file, absolute or relative to $SEQREC_DATA (default ../shared/data)");
  app.add_option("--format", o.format, "sasrec | user-lines | ml-100k | ml-1m | csv");
  app.add_option("--model", o.model, "sasrec | gru4rec | lstm")->check(CLI::IsMember({"sasrec", "gru4rec", "lstm"}));
  app.add_option("--maxlen", o.maxlen, "window length")->check(CLI::PositiveNumber);
  app.add_option("--dim", o.dim, "embedding dimension")->check(CLI::PositiveNumber);
  app.add_option("--blocks", o.blocks, "self-attention blocks (sasrec)")->check(CLI::PositiveNumber);
  app.add_option("--heads", o.heads, "attention heads (sasrec)")->check(CLI::PositiveNumber);
  app.add_option("--layers", o.layers, "recurrent layers (gru4rec, lstm)")->check(CLI::PositiveNumber);
  app.add_option("--dropout", o.dropout, "dropout rate")->check(CLI::Range(0.0, 0.95));
  app.add_option("--init-std", o.init_std,
                 "initial spread s of the item embedding, N(0, s): a number (0: 1/sqrt(dim)) or xavier, "
                 "sqrt(2 / (items + 1 + dim)), the spread of the SASRec paper's Xavier-uniform table");
  app.add_option("--lr", o.lr, "Adam learning rate (betas 0.9, 0.98)")->check(CLI::PositiveNumber);
  app.add_option("--l2", o.l2, "L2 on every parameter");
  app.add_option("--clip", o.clip, "gradient-norm clipping (0: none)");
  app.add_option("--batch", o.batch, "users per batch")->check(CLI::PositiveNumber);
  app.add_option("--epochs", o.epochs, "maximum epochs")->check(CLI::PositiveNumber);
  app.add_option("--patience", o.patience, "epochs without validation NDCG@10 gain before stopping");
  app.add_option("--time-limit", o.time_limit, "stop training after this many seconds (at an epoch boundary)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--eval-batch", o.eval_batch, "users scored at once when evaluating")->check(CLI::PositiveNumber);
  app.add_option("--eval-every", o.eval_every, "evaluate every N epochs")->check(CLI::PositiveNumber);
  app.add_option("--eval", o.eval, "sampled | full | both")->check(CLI::IsMember({"sampled", "full", "both"}));
  app.add_option("--negatives", o.negatives, "sampled negatives per evaluated user")->check(CLI::PositiveNumber);
  app.add_option("--max-eval-users", o.max_eval_users, "evaluate a seeded sample of users (0: all)");
  app.add_option("--seed", o.seed, "seed of everything random");
  app.add_option("--threads", o.threads, "OpenMP threads (0: Kokkos default)");
  app.add_option("--blas-threads", o.blas_threads, "OpenBLAS threads (default 1)");
  app.add_option("--checkpoint", o.checkpoint, "write a checkpoint here after every epoch (atomically)");
  app.add_flag("--resume", o.resume, "continue from --checkpoint when it exists");
  app.add_flag("--json", o.json_only, "JSON lines only (no human progress)");
  app.add_flag("--double", o.scalar_double, "compute in double");
  app.add_option("--blend", o.blend, "after training, blend the model with a completion strategy and report it")
      ->check(CLI::IsMember({"poprec", "itemknn", "als", "bpr", "ease"}));
  app.add_option("--cold", o.cold, "the blend report's cold users: at most this many training interactions")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--distributed", o.distributed,
                 "under mpirun: data-parallel (a slice of each global --batch per rank) or fedavg (each rank a "
                 "client with its own users)")
      ->check(CLI::IsMember({"data-parallel", "fedavg"}));
  app.add_option("--local-epochs", o.local_epochs, "fedavg: local epochs per round (an --epochs epoch is a round)")
      ->check(CLI::PositiveNumber);
  app.add_option("--fed-clip", o.fed_clip, "fedavg: clip each client's update to this L2 norm (0: none)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--fed-noise", o.fed_noise, "fedavg: Gaussian noise multiplier on the clipped average")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--aux", o.aux,
                 "auxiliary task trained with the next item: attributes (item attribute JSON), genres "
                 "(MovieLens-100K u.item), rating (the data's ratings, regression), item-item (co-occurring items, "
                 "on the item embedding) or user-user (users who share items); item-item and user-user combine")
      ->check(CLI::IsMember({"attributes", "genres", "rating", "item-item", "user-user"}));
  app.add_option("--attributes", o.attributes,
                 "item attributes: {\"item\": [attribute ids]} JSON for --aux attributes (default for Beauty: "
                 "beauty/beauty_item2attributes.json), u.item for --aux genres (default ml-100k/u.item)");
  app.add_option("--context", o.context,
                 "context-aware head: time (gap, hour, weekday), user (age, gender, "
                 "occupation) or time+user")
      ->check(CLI::IsMember({"time", "user", "time+user"}));
  app.add_option("--users", o.users, "MovieLens-100K u.user for --context user (default ml-100k/u.user)");
  app.add_option("--combinator", o.combinator, "how the task losses combine (default sum)")
      ->check(CLI::IsMember({"sum", "weighted", "uncertainty", "gradnorm", "dwa"}));
  app.add_option("--weights", o.weights, "task weights for --combinator weighted, e.g. 1,0.5 (next item first)")
      ->delimiter(',');
  app.add_option("--joint-window", o.joint_window, "--aux item-item: items within this many positions co-occur")
      ->check(CLI::PositiveNumber);
  app.add_option("--joint-negatives", o.joint_negatives, "--aux item-item: sampled items per co-occurring pair")
      ->check(CLI::PositiveNumber);
  app.add_option("--tail", o.tail, "long-tail report: test items with at most this many training interactions")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--item-features", o.item_features,
                 "item feature matrix (.npy, rows = the ids in FILE.ids.npy, e.g. scripts/encode_item_features.py)");
  app.add_option("--item-feature-ids", o.item_feature_ids_path,
                 "the original item ids of --item-features' rows (.npy)");
  app.add_option("--projection", o.projection, "item features into the embedding space: linear | mlp")
      ->check(CLI::IsMember({"linear", "mlp"}));
  app.add_option("--projection-hidden", o.projection_hidden, "--projection mlp: hidden width")
      ->check(CLI::PositiveNumber);
  app.add_flag("--features-only", o.features_only, "items are P(features) alone, without a learned embedding");
  app.add_option("--cold-items", o.cold_items,
                 "hold this fraction of items out of training entirely and report how they are ranked")
      ->check(CLI::Range(0.0, 0.9));
  CLI11_PARSE(app, argc, argv);

  if (o.init_std != "xavier") {
    std::size_t used = 0;
    double v = -1;
    try {
      v = std::stod(o.init_std, &used);
    } catch (const std::exception&) {
    }
    if (used != o.init_std.size() || !(v >= 0 && v <= 10))
      return fail("--init-std expects xavier or a number in [0, 10], got '" + o.init_std + "'");
    o.init_std_value = v;
  }

  if (!o.aux.empty() || !o.attributes.empty() || !o.combinator.empty() || !o.weights.empty()) {
    if (o.aux.empty()) return fail("--attributes, --combinator and --weights need --aux");
    if (o.scalar_double) return fail("--aux trains in float (--double takes the plain model)");
    if (o.aux.size() > 1 && !joint_aux(o.aux))
      return fail(
          "several --aux tasks go together only as item-item and user-user; attributes, genres and rating "
          "one at a time");
    if (o.aux.size() == 2 && o.aux[0] == o.aux[1]) return fail("--aux " + o.aux[0] + " is given twice");
    if (o.aux.size() == 2 && o.aux[0] == "user-user") {  // one model type: item-item first, weights to match
      std::swap(o.aux[0], o.aux[1]);
      if (o.weights.size() == 3) std::swap(o.weights[1], o.weights[2]);
    }
    if (!o.blend.empty()) return fail("--blend takes the plain model (without --aux)");
    if (!o.distributed.empty()) return fail("--aux does not combine with --distributed");
    if (!o.weights.empty() && !o.combinator.empty() && o.combinator != "weighted")
      return fail("--weights applies to --combinator weighted only");
    if (!o.weights.empty() && o.weights.size() != 1 + o.aux.size())
      return fail("--weights needs " + std::to_string(1 + o.aux.size()) + " values (next item, then each --aux)");
    if (o.aux[0] == "rating" || joint_aux(o.aux)) {
      if (!o.attributes.empty()) return fail("--aux " + o.aux[0] + " reads the interactions, not --attributes");
    } else {
      if (o.attributes.empty() && o.aux[0] == "genres") o.attributes = "ml-100k/u.item";
      if (o.attributes.empty()) {
        if (o.data.find("beauty") == std::string::npos)
          return fail("--aux attributes needs --attributes FILE (the default is Beauty's)");
        o.attributes = "beauty/beauty_item2attributes.json";
      }
      try {
        o.attributes_path = resolve_file(o.attributes);
      } catch (const seqrec::Error& e) {
        return fail(e.what());
      }
    }
  }

  if (!o.context.empty() || !o.users.empty()) {
    if (o.context.empty()) return fail("--users needs --context user or time+user");
    if (!o.aux.empty()) return fail("--context and --aux do not combine yet (one model change at a time)");
    if (o.scalar_double) return fail("--context trains in float (--double takes the plain model)");
    if (!o.distributed.empty()) return fail("--context does not combine with --distributed");
    if (!o.blend.empty()) return fail("--blend takes the plain model (without --context)");
    if (o.context != "time") {
      if (o.users.empty()) {
        if (o.data.find("ml-100k") == std::string::npos)
          return fail("--context " + o.context + " needs --users FILE (MovieLens-100K's u.user)");
        o.users = "ml-100k/u.user";
      }
      try {
        o.users_path = resolve_file(o.users);
      } catch (const seqrec::Error& e) {
        return fail(e.what());
      }
    }
  }

  if (!o.item_features.empty() || o.cold_items > 0 || !o.item_feature_ids_path.empty() || o.features_only) {
    if (o.item_features.empty() && (!o.item_feature_ids_path.empty() || o.features_only))
      return fail("--item-feature-ids and --features-only need --item-features");
    if (!o.aux.empty() || !o.context.empty() || !o.distributed.empty())
      return fail("--item-features and --cold-items take the plain model (without --aux, --context, --distributed)");
    if (!o.item_features.empty()) {
      try {
        o.item_features_path = resolve_file(o.item_features);
        if (!o.item_feature_ids_path.empty()) o.item_feature_ids_path = resolve_file(o.item_feature_ids_path);
      } catch (const seqrec::Error& e) {
        return fail(e.what());
      }
    }
  }

#if defined(SEQREC_WITH_MPI)
  std::optional<seqrec::dist::MpiSession> mpi;
  std::optional<seqrec::dist::Communicator> world;
  if (!o.distributed.empty()) {
    mpi.emplace(argc, argv);
    world.emplace();
    g_job.comm = &*world;
    g_job.rank = world->rank();
    g_job.ranks = world->size();
    if (!g_job.root()) {
      o.json_only = true;  // one rank reports
      if (!std::freopen("/dev/null", "w", stdout)) return 1;
    }
    if (o.distributed == "data-parallel" && o.batch % g_job.ranks != 0) {
      std::fprintf(stderr, "seqrec-train: --batch %d must be a multiple of the %d ranks (each takes a slice)\n",
                   o.batch, g_job.ranks);
      return 2;
    }
  }
#else
  if (!o.distributed.empty()) {
    std::fprintf(stderr,
                 "seqrec-train: --distributed needs MPI; this build has none (install libopenmpi-dev and "
                 "reconfigure)\n");
    return 2;
  }
#endif

  Kokkos::InitArguments args;
  if (o.threads > 0) args.num_threads = o.threads;
  Kokkos::ScopeGuard guard(args);
  std::signal(SIGINT, request_stop);
  std::signal(SIGTERM, request_stop);
  // One BLAS thread by default: the model's products are small, and OpenBLAS's spinning workers slow the
  // OpenMP threads down (measured on Games: 2-thread epoch 2.1 s with 2 BLAS threads, 1.3 s with 1).
  seqrec::linalg::set_blas_threads(o.blas_threads > 0 ? o.blas_threads : 1);
  try {
    const std::filesystem::path path = resolve_file(o.data);
    const auto t0 = Clock::now();
    const auto data = seqrec::data::read(path, seqrec::data::parse_format(o.format));
    if (!o.json_only) std::fprintf(stderr, "read %s in %.2f s\n", path.c_str(), seconds_since(t0));
    return o.scalar_double ? dispatch<double>(o, data) : dispatch<float>(o, data);
  } catch (const seqrec::Error& e) {
    std::fprintf(stderr, "seqrec-train: %s\n", e.what());
    return 1;
  }
}
