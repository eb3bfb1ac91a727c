// seqrec-train's training and evaluation loop, for any model: epochs of shuffled batches, early stopping on
// validation NDCG@10 with the best weights restored, time limit and signals, checkpoints and resume, MPI
// (data-parallel, FedAvg), then the test report (sampled and full ranking, long tail, blend, cold items).
// Included by each variant's translation unit (examples/train/<variant>.cpp).
#pragma once

#include "options.hpp"

#include <seqrec/core.hpp>
#include <seqrec/data/batch.hpp>
#include <seqrec/data/cold_split.hpp>
#include <seqrec/data/negative_sampler.hpp>
#include <seqrec/data/split.hpp>
#include <seqrec/eval/cold_items.hpp>
#include <seqrec/eval/full.hpp>
#include <seqrec/eval/report.hpp>
#include <seqrec/eval/sampled.hpp>
#include <seqrec/sequential_recommender.hpp>
#if defined(SEQREC_WITH_MPI)
#include <seqrec/dist.hpp>
#endif

#include <nlohmann/json.hpp>

#include <unistd.h>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

namespace seqrec::tools {

// The plain next-item model: the only one --blend and --distributed take (their code is instantiated for it alone).
template <class M>
struct IsPlain : std::false_type {};
template <class E>
struct IsPlain<SequentialRecommender<E>> : std::true_type {};

// --blend: the trained plain model blended with a completion strategy, the weights chosen on validation;
// defined in blend.cpp (its own translation unit: five strategies for each plain model).
template <class Model>
nlohmann::json run_blend(const Options& o, Model& model, const data::Split& split, const data::Sequences& valid_windows,
                         const data::Sequences& test_windows,
                         const eval::History<typename Model::execution_space>& full_history);

// `cold`: items held out of `interactions` entirely (--cold-items); their ranking is reported at the end.
template <class Model>
int run(const Options& o, const data::Interactions& interactions, Model& model, const char* model_name,
        const data::ColdItemSplit* cold = nullptr) {
  using Space = typename Model::execution_space;
  using T = typename Model::scalar_type;
  Space space;
  const bool tty = isatty(fileno(stderr)) && !o.json_only;
  constexpr bool multitask = requires(Model & m) {
    m.end_epoch();
    m.task_weights();
  };
  constexpr bool plain = IsPlain<Model>::value;
  const auto split = data::leave_one_out(interactions);
  const bool data_parallel = o.distributed == "data-parallel", fedavg = o.distributed == "fedavg";
  // FedAvg: this rank is a client that holds only its users' training sequences (users u = rank mod ranks).
  const data::Sequences client_train =
      fedavg ? only_users(split.train_sequences, g_job.rank, g_job.ranks) : data::Sequences{};
  const auto& train_seqs = fedavg ? client_train : split.train_sequences;
  const auto train_history = data::make_user_history(space, train_seqs);
  data::SequenceBatcher<Space> batcher(space, train_seqs, data::UniformNegativeSampler<Space>(train_history));
  data::EpochShuffler<Space> shuffler(space, data::EpochShuffler<Space>::trainable_users(train_seqs), o.seed);
  // Data-parallel: the model's batch is this rank's slice of a global batch of --batch users.
  data::SequenceBatch<Space> batch(space, model.batch_size(), o.maxlen, 1);
  std::int64_t client_examples = 0;  // training positions of this client (FedAvg's weight)
  for (index_t u = 0; u < train_seqs.num_users(); ++u)
    client_examples += std::max<index_t>(0, train_seqs.length(u) - 1);
#if defined(SEQREC_WITH_MPI)
  std::optional<dist::GradientSync<T, Space>> sync;
  std::optional<dist::FedAvg<ParameterSet<T, Space>>> fed;
  if (data_parallel) sync.emplace(*g_job.comm);
  if (fedavg) fed.emplace(*g_job.comm, model.parameters(), dist::FedAvgOptions{o.fed_clip, o.fed_noise, o.seed});
  dist::FedAvgRound last_round;
#endif

  // Fixed candidates (seeded) for validation and test: every epoch and every model sees the same ones.
  const auto full_history = eval::make_history(space, data::Sequences::from(interactions));
  std::vector<id_t> valid_targets, test_targets;
  for (auto u : split.evaluated_users) {
    valid_targets.push_back(split.valid_item(u));
    test_targets.push_back(split.test_item(u));
  }
  auto valid_users = eval::select_users(space, split.evaluated_users, valid_targets, o.max_eval_users, o.seed);
  auto test_users = eval::select_users(space, split.evaluated_users, test_targets, o.max_eval_users, o.seed);
  eval::SampledOptions so;
  so.num_negatives = o.negatives;
  so.seed = o.seed;
  const auto valid_cands = eval::make_sampled_candidates(space, valid_users, full_history, so);
  const auto test_cands = eval::make_sampled_candidates(space, test_users, full_history, so);
  eval::SampledEvaluator<T, Space> evaluator(space, 1 + o.negatives, o.eval_batch);
  const auto valid_windows = with_items(split, false, false);
  const auto test_windows = with_items(split, true, false);

  // Best weights by validation NDCG@10, restored at the end (early stopping with patience).
  std::vector<View1<T, Space>> best;
  for (const auto& p : model.parameters())
    best.push_back(make_uninitialized<View1<T, Space>>(space, "best:" + p.name(), p.size()));
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

  const index_t nb = shuffler.num_batches(o.batch);
  if (!o.distributed.empty() && !o.json_only)
    std::fprintf(stderr, "seqrec-train: %s over %d MPI ranks (rank %d: %lld training users%s)\n", o.distributed.c_str(),
                 g_job.ranks, g_job.rank, (long long)shuffler.size(),
                 data_parallel ? ", a slice of every global batch" : ", its own");
  if (g_job.root())
    std::fprintf(stderr, "seqrec-train: %s on %s (%lld users, %lld items, %lld interactions), %s, %d threads, %s\n",
                 model_name, o.data.c_str(), (long long)interactions.num_users(), (long long)interactions.num_items(),
                 (long long)interactions.size(), Space::name(), Space::concurrency(),
                 sizeof(T) == 4 ? "float" : "double");
  double best_ndcg = -1, train_seconds = 0;
  int best_epoch = 0, epochs_run = 0, epochs_trained = 0;  // trained: in this process (after a resume)
  std::vector<double> last_task_losses;                    // multi-task: the last epoch's mean task losses
  eval::MetricSet best_valid;
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
      for (index_t b = 0; b < nb; ++b) {
        const auto users = shuffler.batch(b, o.batch);
        const auto rs = RandomStream(o.seed, (epoch << 20) + b);
        if (data_parallel) {
#if defined(SEQREC_WITH_MPI)
          if constexpr (plain) {
            const auto [lo, hi] = dist::rank_slice(0, index_t(users.extent(0)), g_job.rank, g_job.ranks);
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
                        {"init_std", item_init_stddev(o, interactions)},
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
  std::vector<index_t> item_count(std::size_t(interactions.num_items()) + 1, 0);
  for (auto it : split.train_sequences.items) ++item_count[std::size_t(it)];
  std::vector<id_t> tail_users, tail_targets;
  for (auto u : split.evaluated_users)
    if (item_count[std::size_t(split.test_item(u))] <= o.tail) {
      tail_users.push_back(u);
      tail_targets.push_back(split.test_item(u));
    }
  out["tail_max"] = o.tail;
  out["tail_users"] = tail_users.size();
  if (!tail_users.empty()) {
    const auto tu = eval::select_users(space, tail_users, tail_targets, 0, o.seed);
    const auto tm =
        evaluator.evaluate(space, model, eval::make_sampled_candidates(space, tu, full_history, so), {1, 5, 10});
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
    const auto users = eval::select_users(space, split.evaluated_users, test_targets, o.max_eval_users, o.seed);
    // Full ranking excludes the user's history except the held-out test item.
    const auto m =
        eval::evaluate_full(space, model, users, eval::make_history(space, test_windows), o.eval_batch, {10});
    out["full_test_hr10"] = m.hr_at(10);
    out["full_test_ndcg10"] = m.ndcg_at(10);
    if (!tail_users.empty()) {
      const auto mt = eval::evaluate_full(space, model, eval::select_users(space, tail_users, tail_targets, 0, o.seed),
                                          eval::make_history(space, test_windows), o.eval_batch, {10});
      out["full_tail_test_hr10"] = mt.hr_at(10);
      out["full_tail_test_ndcg10"] = mt.ndcg_at(10);
    }
    out["full_eval_seconds"] = seconds_since(te);
  }
  if constexpr (plain)
    if (!o.blend.empty()) out.update(run_blend(o, model, split, valid_windows, test_windows, full_history));
  if constexpr (plain) {
    if (cold) {  // last: it sets the model's scoring windows to the histories before each user's first cold item
      const auto cands = eval::make_cold_candidates(space, *cold);
      eval::SampledEvaluator<T, Space> cold_eval(space, cands.num_candidates(), o.eval_batch);
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
      eval::SummaryTable table({"HR@10", "NDCG@10"});
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

}  // namespace seqrec::tools
