// seqrec-train's run for any model: the library's Trainer (train/trainer.hpp) with the tool's progress on
// stderr, a JSON line per epoch on stdout, MPI through the trainer's hooks (data-parallel gradient sync, FedAvg
// rounds, stop decisions agreed by every rank), then the test report (sampled and full ranking, long tail, blend,
// cold items). Included by each variant's translation unit (examples/train/<variant>.cpp).
#pragma once

#include "options.hpp"

#include <seqrec/core.hpp>
#include <seqrec/data/cold_split.hpp>
#include <seqrec/data/split.hpp>
#include <seqrec/eval/cold_items.hpp>
#include <seqrec/eval/holdout.hpp>
#include <seqrec/eval/long_tail.hpp>
#include <seqrec/eval/report.hpp>
#include <seqrec/eval/sampled.hpp>
#include <seqrec/sequential_recommender.hpp>
#include <seqrec/train/trainer.hpp>
#if defined(SEQREC_WITH_MPI)
#include <seqrec/dist.hpp>
#endif

#include <nlohmann/json.hpp>

#include <unistd.h>
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

namespace seqrec::tools {

// The plain next-item model (any head, loss and optimizer): the only one --blend and --distributed take (their
// code is instantiated for it alone).
template <class M>
struct IsPlain : std::false_type {};
template <class E, class... Policies>
struct IsPlain<SequentialRecommender<E, Policies...>> : std::true_type {};

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
  using eval::Part;
  using eval::Protocol;
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
      fedavg ? data::only_users(split.train_sequences, g_job.rank, g_job.ranks) : data::Sequences{};
  const auto& train_seqs = fedavg ? client_train : split.train_sequences;
  std::int64_t client_examples = 0;  // training positions of this client (FedAvg's weight)
  for (index_t u = 0; u < train_seqs.num_users(); ++u)
    client_examples += std::max<index_t>(0, train_seqs.length(u) - 1);

  // The library's loop (train/trainer.hpp); validation on sampled NDCG@10, candidates fixed (seeded) for every
  // epoch and model. Data-parallel: the model's batch is this rank's slice of a global batch of --batch users.
  train::TrainerOptions to;
  to.epochs = o.epochs;
  to.patience = o.patience;
  to.eval_every = o.eval_every;
  to.time_limit = o.time_limit;
  to.batch = o.batch;
  to.passes = fedavg ? o.local_epochs : 1;
  to.seed = o.seed;
  to.checkpoint = o.checkpoint;
  to.resume = o.resume;
  to.write_checkpoints = g_job.root();  // one rank writes
  to.eval.negatives = o.negatives;
  to.eval.max_users = o.max_eval_users;
  to.eval.seed = o.seed;
  to.eval.batch = o.eval_batch;
  train::TrainerHooks hooks;
#if defined(SEQREC_WITH_MPI)
  std::optional<dist::GradientSync<T, Space>> sync;
  std::optional<dist::FedAvg<ParameterSet<T, Space>>> fed;
  if (data_parallel) sync.emplace(*g_job.comm);
  if (fedavg) fed.emplace(*g_job.comm, model.parameters(), dist::FedAvgOptions{o.fed_clip, o.fed_noise, o.seed});
  dist::FedAvgRound last_round;
  if (data_parallel) hooks.batch_rows = [](index_t rows) { return dist::rank_slice(0, rows, g_job.rank, g_job.ranks); };
  if (fedavg) hooks.end_of_epoch = [&](int) { last_round = fed->average(model.parameters(), client_examples); };
#endif
  hooks.agree = agree;
  hooks.stop_requested = [] { return g_stop_requested != 0; };
  if (!o.json_only)
    hooks.on_resume = [&](int epoch) {
      std::fprintf(stderr, "resumed from %s after epoch %d\n", o.checkpoint.c_str(), epoch);
    };
  if (tty)
    hooks.on_batch = [&](const train::BatchProgress& p) {
      if (p.batch % 8 != 0 && p.batch + 1 != p.batches) return;
      const double rate = double(p.batch + 1) * o.batch / p.seconds;
      std::fprintf(stderr, "\repoch %3d [%-30s] %3d%% loss %.4f  %.0f users/s  ETA %.0fs ", p.epoch,
                   std::string(std::size_t(30.0 * (p.batch + 1) / p.batches), '=').c_str(),
                   int(100.0 * (p.batch + 1) / p.batches), p.mean_loss, rate,
                   (p.batches - p.batch - 1) * o.batch / rate);
    };
  hooks.on_epoch = [&](const train::EpochRecord& r) {
    if (tty) std::fprintf(stderr, "\n");
    nlohmann::json line = r;
    if constexpr (multitask) {
      if (!o.json_only) {
        std::string tasks;
        for (std::size_t k = 0; k < Model::num_tasks; ++k) {
          char buf[160];
          std::snprintf(buf, sizeof buf, "%s%s loss %.4f weight %.4f", k ? ", " : "", Model::task_names[k],
                        r.task_losses[k], r.task_weights[k]);
          tasks += buf;
        }
        std::fprintf(stderr, "epoch %3d tasks (%s): %s\n", r.epoch, model.combinator_name().c_str(), tasks.c_str());
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
    if (r.validated && !o.json_only)
      std::fprintf(stderr, "epoch %3d loss %.4f  valid HR@10 %.4f NDCG@10 %.4f  (%.2fs train, best %d)\n", r.epoch,
                   r.loss, r.valid.hr_at(10), r.valid.ndcg_at(10), r.seconds, r.best_epoch);
    std::cout << line.dump() << std::endl;
  };
  train::Trainer<Model> trainer(space, split, train_seqs, to, std::move(hooks));

  if (!o.distributed.empty() && !o.json_only)
    std::fprintf(stderr, "seqrec-train: %s over %d MPI ranks (rank %d: %lld training users%s)\n", o.distributed.c_str(),
                 g_job.ranks, g_job.rank, (long long)trainer.training_users(),
                 data_parallel ? ", a slice of every global batch" : ", its own");
  if (g_job.root())
    std::fprintf(stderr, "seqrec-train: %s on %s (%lld users, %lld items, %lld interactions), %s, %d threads, %s\n",
                 model_name, o.data.c_str(), (long long)interactions.num_users(), (long long)interactions.num_items(),
                 (long long)interactions.size(), Space::name(), Space::concurrency(),
                 sizeof(T) == 4 ? "float" : "double");
  train::FitResult fit;
#if defined(SEQREC_WITH_MPI)
  if constexpr (plain) {
    if (sync)
      fit = trainer.fit(model, *sync);
    else
      fit = trainer.fit(model);
  } else {
    fit = trainer.fit(model);
  }
#else
  fit = trainer.fit(model);
#endif
  if (!o.json_only) {
    if (fit.stopped == train::StopReason::patience)
      std::fprintf(stderr, "early stop: no validation gain for %d epochs\n", o.patience);
    else if (fit.stopped == train::StopReason::time_limit)
      std::fprintf(stderr, "stop: --time-limit %.0f s reached after epoch %d\n", o.time_limit, fit.epochs);
    else if (fit.stopped == train::StopReason::requested)
      std::fprintf(stderr, "stop: signal received, ending after epoch %d\n", fit.epochs);
  }
  const auto test = *trainer.evaluate(model, Part::test, Protocol::sampled).sampled;
  nlohmann::json out = {
      {"model", model_name},
      {"data", o.data},
      {"backend", Space::name()},
      {"threads", Space::concurrency()},
      {"scalar", sizeof(T) == 4 ? "float" : "double"},
      {"seed", o.seed},
      {"init_std", item_init_stddev(o, interactions)},
      {"epochs", fit.epochs},
      {"stopped", fit.stopped == train::StopReason::requested ? "signal" : train::stop_reason_name(fit.stopped)},
      {"best_epoch", fit.best_epoch},
      {"seconds_per_epoch", fit.seconds_per_epoch()},
      {"train_seconds", fit.train_seconds},
      {"valid_hr10", fit.best_valid.hr_at(10)},
      {"valid_ndcg10", fit.best_valid.ndcg_at(10)},
      {"test_hr10", test.hr_at(10)},
      {"test_ndcg10", test.ndcg_at(10)},
      {"test_mrr", test.mrr},
      {"evaluated_users", test.count},
      {"negatives", o.negatives},
      {"loss", o.loss},
      {"train_negatives", o.loss == "ce" ? 0 : o.negatives_per_position()}};
  // The long tail: users whose test item has at most --tail training interactions (where the data is thin).
  const auto tail_users = eval::long_tail_users(split, Part::test, o.tail);
  out["tail_max"] = o.tail;
  out["tail_users"] = tail_users.size();
  if (!tail_users.empty()) {
    const auto tm =
        *trainer.evaluator().evaluate_users(space, model, Part::test, Protocol::sampled, tail_users).sampled;
    out["tail_test_hr10"] = tm.hr_at(10);
    out["tail_test_ndcg10"] = tm.ndcg_at(10);
  }
  if constexpr (multitask) {
    out["aux"] = o.aux;
    if (!o.attributes.empty()) out["attributes"] = o.attributes;
    out["combinator"] = model.combinator_name();
    out["task_weights"] = model.task_weights();
    out["task_names"] = std::vector<std::string>(Model::task_names.begin(), Model::task_names.end());
    if (!fit.task_losses.empty()) out["task_losses"] = fit.task_losses;
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
      out["sync_seconds_per_epoch"] = st.seconds / std::max(1, fit.epochs_trained);
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
    // Full ranking excludes the user's history except the held-out test item.
    const auto m = *trainer.evaluate(model, Part::test, Protocol::full).full;
    out["full_test_hr10"] = m.hr_at(10);
    out["full_test_ndcg10"] = m.ndcg_at(10);
    if (!tail_users.empty()) {
      const auto mt = *trainer.evaluator().evaluate_users(space, model, Part::test, Protocol::full, tail_users).full;
      out["full_tail_test_hr10"] = mt.hr_at(10);
      out["full_tail_test_ndcg10"] = mt.ndcg_at(10);
    }
    out["full_eval_seconds"] = seconds_since(te);
  }
  if constexpr (plain)
    if (!o.blend.empty())
      out.update(run_blend(o, model, split, trainer.evaluator().windows(Part::valid),
                           trainer.evaluator().windows(Part::test), trainer.evaluator().all_items()));
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
                 fit.best_epoch, o.negatives, (long long)test.count, test.hr_at(10), test.ndcg_at(10),
                 fit.seconds_per_epoch());
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
