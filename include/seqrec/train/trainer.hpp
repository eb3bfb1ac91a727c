// Trainer<Model>: the training loop of a sequence model on a leave-one-out split, so an experiment is a few
// lines:
//
//   train::TrainerOptions opt;                 // 200 epochs, patience 20 on sampled NDCG@10, ...
//   train::Trainer<Model> trainer(space, split, opt);
//   const auto fit = trainer.fit(model);       // the best validation weights are in the model afterwards
//   const auto test = trainer.evaluate(model, eval::Part::test);  // test.sampled, test.full
//
// An epoch is a seeded shuffle of the users with at least two training items, cut into batches
// (data::SequenceBatcher, negatives by data::UniformNegativeSampler: as many per position as the model trains
// with), one train_step each. After it: validation (every eval_every epochs and after the last) on the chosen
// metric, the best weights kept, a checkpoint, the epoch callback, then the stop rules: `patience` epochs
// without a gain larger than min_delta, the time limit, a stop request. fit() restores the best weights.
//
// Every random draw is a function of (seed, epoch, batch) or comes from the model's RandomSource, which the
// checkpoint holds, so on Serial a run resumed from epoch e's checkpoint ends bit-identical to one that never
// stopped. For that the checkpoint has two companions: `<checkpoint>.best` (the best weights, written when
// they change) and `<checkpoint>.trainer` (the best epoch and value).
//
// Multi-task models (end_epoch() and task_weights()) get end_epoch() after each epoch; the record carries the
// task losses and weights. Distributed training plugs in through hooks, without this header knowing MPI: a
// gradient sync passed to fit (dist::GradientSync) with batch_rows (this rank's rows of every global batch),
// end_of_epoch (FedAvg's averaging), agree (every rank takes rank 0's stop decision).
#pragma once

#include <seqrec/core/atomic_file.hpp>
#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/random.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/data/batch.hpp>
#include <seqrec/data/negative_sampler.hpp>
#include <seqrec/data/split.hpp>
#include <seqrec/eval/holdout.hpp>
#include <seqrec/train/epoch_record.hpp>

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace seqrec::train {

// The validation number early stopping and the best weights follow.
struct ValidationMetric {
  enum class Kind { ndcg, hr, mrr };
  Kind kind = Kind::ndcg;
  int k = 10;                                         // cutoff of ndcg and hr
  eval::Protocol protocol = eval::Protocol::sampled;  // sampled or full (both: sampled decides)

  double value(const eval::MetricSet& m) const {
    return kind == Kind::ndcg ? m.ndcg_at(k) : kind == Kind::hr ? m.hr_at(k) : m.mrr;
  }
  std::string name() const {
    return kind == Kind::mrr ? std::string("MRR") : (kind == Kind::ndcg ? "NDCG@" : "HR@") + std::to_string(k);
  }
};

struct TrainerOptions {
  int epochs = 200;
  int patience = 20;                 // stop after this many epochs without a validation gain
  double min_delta = 0;              // a gain is an increase by more than this
  int eval_every = 1;                // validate every this many epochs, and after the last
  double time_limit = 0;             // seconds of training in this call, checked after each epoch; 0: none
  index_t batch = 0;                 // users per batch (data-parallel: the global batch); 0: the model's batch_size()
  index_t negatives = 1;             // sampled negatives per position, for models without negatives()
  int passes = 1;                    // passes over the users per epoch (FedAvg's local epochs per round)
  std::uint64_t seed = 42;           // the shuffles and the training negatives
  bool restore_best = true;          // fit leaves the best validation weights in the model
  std::filesystem::path checkpoint;  // written after every epoch when not empty
  bool resume = false;               // start from `checkpoint` when it exists
  bool write_checkpoints = true;     // false: read on resume but never written (MPI ranks but one)
  ValidationMetric metric;
  eval::HoldoutOptions eval;  // validation and test: candidates, users, batch, cutoffs
};

// A step's progress, for progress bars.
struct BatchProgress {
  int epoch = 0;
  index_t batch = 0, batches = 0;  // batch of batches (0-based) in the current pass
  index_t batch_users = 0;         // users per batch
  double mean_loss = 0;            // over the pass's batches so far
  double seconds = 0;              // since the epoch began
};

// Optional callbacks; empty ones are skipped.
struct TrainerHooks {
  std::function<void(const EpochRecord&)> on_epoch;    // after each epoch's validation and checkpoint
  std::function<void(const BatchProgress&)> on_batch;  // after each step
  std::function<bool()> stop_requested;                // polled after each epoch (a signal handler's flag)
  std::function<void(int epoch)> end_of_epoch;         // after an epoch's steps, inside its time (FedAvg)
  // [lo, hi): this process's rows of a batch of `rows` users (data-parallel: the model's batch is a slice).
  std::function<std::pair<index_t, index_t>(index_t rows)> batch_rows;
  std::function<bool(bool)> agree;           // stop decisions: every process takes the root's (MPI broadcast)
  std::function<void(int epoch)> on_resume;  // after a checkpoint was loaded: the epoch it holds
};

enum class StopReason { epochs, patience, time_limit, requested };
inline const char* stop_reason_name(StopReason r) {
  constexpr const char* names[] = {"epochs", "patience", "time_limit", "requested"};
  return names[static_cast<int>(r)];
}

struct FitResult {
  int epochs = 0;              // the last epoch run (after a resume, counting the earlier ones)
  int epochs_trained = 0;      // epochs run by this call
  int first_epoch = 1;         // the first epoch this call ran (> 1 after a resume)
  int best_epoch = 0;          // whose weights the model holds when restore_best (validated then)
  double best_value = 0;       // its validation metric
  eval::MetricSet best_valid;  // its validation metrics
  StopReason stopped = StopReason::epochs;
  double train_seconds = 0;         // this call's training time (validation excluded)
  std::vector<double> task_losses;  // multi-task: the last epoch's mean task losses

  double seconds_per_epoch() const { return train_seconds / double(epochs_trained > 0 ? epochs_trained : 1); }
};

// fit's default gradient handling: the gradients stay as this process computed them.
struct LocalGradients {};

template <class Model>
class Trainer {
 public:
  using execution_space = typename Model::execution_space;
  using scalar_type = typename Model::scalar_type;
  using Space = execution_space;
  using T = scalar_type;

  // Trains on split.train_sequences; validates and tests on the split's held-out items.
  Trainer(const Space& space, const data::Split& split, TrainerOptions options = {}, TrainerHooks hooks = {})
      : Trainer(space, split, split.train_sequences, std::move(options), std::move(hooks)) {}

  // Trains on `train` alone (e.g. a federated client's data::only_users of the split's training sequences).
  Trainer(const Space& space, const data::Split& split, const data::Sequences& train, TrainerOptions options,
          TrainerHooks hooks = {})
      : space_(space),
        options_(checked(std::move(options))),
        hooks_(std::move(hooks)),
        batcher_(space, train, data::UniformNegativeSampler<Space>(data::make_user_history(space, train))),
        shuffler_(space, data::EpochShuffler<Space>::trainable_users(train), options_.seed),
        evaluator_(space, split, options_.eval) {
    SEQREC_REQUIRE(shuffler_.size() > 0, "Trainer: no user has two training items to learn from");
  }

  // Trains `model` (its batch size and window as built), see the top of this file. `sync(space, model, batch,
  // loss)` runs between each step's gradients and its update (dist::GradientSync).
  template <class Sync = LocalGradients>
  FitResult fit(Model& model, Sync&& sync = {}) {
    constexpr bool multitask = requires(Model & m) {
      m.end_epoch();
      m.task_weights();
    };
    const auto& o = options_;
    const index_t users_per_batch = o.batch > 0 ? o.batch : model.batch_size();
    data::SequenceBatch<Space> batch(space_, model.batch_size(), model.maxlen(), negatives_of(model));
    const index_t nb = shuffler_.num_batches(users_per_batch);
    auto agree = [&](bool mine) { return hooks_.agree ? hooks_.agree(mine) : mine; };

    FitResult r;
    bool has_best = false, best_valid_known = false;
    allocate_best(model);
    if (o.resume && !o.checkpoint.empty() && std::filesystem::exists(o.checkpoint)) resume(model, r, has_best);
    r.epochs = r.first_epoch - 1;
    for (int epoch = r.first_epoch; epoch <= o.epochs; ++epoch) {
      const auto t0 = Clock::now();
      EpochRecord rec;
      rec.epoch = epoch;
      rec.k = o.metric.k;
      double loss_sum = 0;
      for (int pass = 0; pass < o.passes; ++pass) {
        // Pass p of epoch e is the ((e - 1) passes + p + 1)-th shuffle: resumable, and epoch e's with one pass.
        const auto order = std::uint64_t(epoch - 1) * std::uint64_t(o.passes) + std::uint64_t(pass) + 1;
        shuffler_.shuffle(space_, order);
        loss_sum = 0;
        for (index_t b = 0; b < nb; ++b) {
          auto users = shuffler_.batch(b, users_per_batch);
          const RandomStream rs(o.seed, (order << 20) + std::uint64_t(b));
          if (hooks_.batch_rows) {
            const auto [lo, hi] = hooks_.batch_rows(index_t(users.extent(0)));
            batcher_.build(space_, Kokkos::subview(users, Kokkos::make_pair(lo, hi)), batch, rs);
          } else {
            batcher_.build(space_, users, batch, rs);
          }
          if constexpr (std::is_same_v<std::remove_cvref_t<Sync>, LocalGradients>)
            loss_sum += model.train_step(space_, batch, model.random().next()).value;
          else
            loss_sum += model.train_step(space_, batch, model.random().next(), sync).value;
          if (hooks_.on_batch)
            hooks_.on_batch({epoch, b, nb, users_per_batch, loss_sum / double(b + 1), seconds_since(t0)});
        }
      }
      if (hooks_.end_of_epoch) hooks_.end_of_epoch(epoch);
      space_.fence();
      rec.loss = loss_sum / double(nb);
      rec.seconds = seconds_since(t0);
      r.train_seconds += rec.seconds;
      r.epochs = epoch;
      ++r.epochs_trained;
      if constexpr (multitask) {
        // The epoch's mean task losses (DWA sets the next epoch's weights from them) and the weights now.
        const auto means = model.end_epoch();
        const auto w = model.task_weights();
        rec.task_losses.assign(means.begin(), means.end());
        rec.task_weights.assign(w.begin(), w.end());
        r.task_losses = rec.task_losses;
      }
      if (epoch % o.eval_every == 0 || epoch == o.epochs) {
        const auto te = Clock::now();
        rec.valid = validate(model);
        rec.validated = true;
        rec.eval_seconds = seconds_since(te);
        const double v = o.metric.value(rec.valid);
        if (!has_best || v > r.best_value + o.min_delta) {
          has_best = best_valid_known = rec.improved = true;
          r.best_value = v;
          r.best_epoch = epoch;
          r.best_valid = rec.valid;
          snapshot(model, false);
          if (writes_checkpoints()) model.save(best_path(), epoch);
        }
      }
      rec.best_epoch = r.best_epoch;
      rec.best_value = r.best_value;
      if (writes_checkpoints()) {
        model.save(o.checkpoint, epoch);
        write_state(r, has_best);
      }
      if (hooks_.on_epoch) hooks_.on_epoch(rec);
      if (agree(epoch - r.best_epoch >= o.patience)) {
        r.stopped = StopReason::patience;
        break;
      }
      if (agree(o.time_limit > 0 && r.train_seconds >= o.time_limit)) {
        r.stopped = StopReason::time_limit;
        break;
      }
      if (agree(hooks_.stop_requested && hooks_.stop_requested())) {
        r.stopped = StopReason::requested;
        break;
      }
    }
    if (has_best && o.restore_best) {
      snapshot(model, true);
      if (!best_valid_known) r.best_valid = validate(model);  // the best epoch ran before a resume
    } else if (!has_best) {
      // Stopped before any validation: the weights as they are.
      r.best_epoch = r.epochs;
      r.best_valid = validate(model);
      r.best_value = o.metric.value(r.best_valid);
    }
    return r;
  }

  // The model on the split's validation or test items (it sets the model's scoring windows).
  eval::HoldoutMetrics evaluate(Model& model, eval::Part part, eval::Protocol protocol = eval::Protocol::both) {
    return evaluator_.evaluate(space_, model, part, protocol);
  }

  eval::HoldoutEvaluator<T, Space>& evaluator() { return evaluator_; }
  const TrainerOptions& options() const { return options_; }
  TrainerHooks& hooks() { return hooks_; }
  // Users trained on (at least two training items).
  index_t training_users() const { return shuffler_.size(); }

 private:
  using Clock = std::chrono::steady_clock;
  static double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

  static TrainerOptions checked(TrainerOptions o) {
    SEQREC_REQUIRE(o.epochs > 0, "Trainer: epochs must be positive, got ", o.epochs);
    SEQREC_REQUIRE(o.patience > 0, "Trainer: patience must be positive, got ", o.patience);
    SEQREC_REQUIRE(o.eval_every > 0, "Trainer: eval_every must be positive, got ", o.eval_every);
    SEQREC_REQUIRE(o.passes > 0, "Trainer: passes must be positive, got ", o.passes);
    SEQREC_REQUIRE(o.batch >= 0, "Trainer: batch must be >= 0 (0: the model's), got ", o.batch);
    SEQREC_REQUIRE(o.negatives > 0, "Trainer: negatives must be positive, got ", o.negatives);
    SEQREC_REQUIRE(o.time_limit >= 0 && std::isfinite(o.time_limit), "Trainer: time_limit must be >= 0 seconds, got ",
                   o.time_limit);
    SEQREC_REQUIRE(o.min_delta >= 0 && std::isfinite(o.min_delta), "Trainer: min_delta must be >= 0, got ",
                   o.min_delta);
    SEQREC_REQUIRE(o.metric.k > 0, "Trainer: the validation metric's cutoff must be positive, got ", o.metric.k);
    SEQREC_REQUIRE(!o.resume || !o.checkpoint.empty(), "Trainer: resume needs a checkpoint path");
    // The metric's cutoff is always measured.
    if (std::find(o.eval.ks.begin(), o.eval.ks.end(), o.metric.k) == o.eval.ks.end()) o.eval.ks.push_back(o.metric.k);
    return o;
  }

  // Negatives per position: the model's own when it says, else the options' (the models built from
  // RecommenderConfig check the batch against config.negatives in train_step).
  index_t negatives_of(const Model& model) const {
    if constexpr (requires { model.negatives(); })
      return index_t(model.negatives());
    else
      return options_.negatives;
  }

  eval::MetricSet validate(Model& model) {
    const auto m = evaluator_.evaluate(
        space_, model, eval::Part::valid,
        options_.metric.protocol == eval::Protocol::full ? eval::Protocol::full : eval::Protocol::sampled);
    return m.sampled ? *m.sampled : *m.full;
  }

  void allocate_best(const Model& model) {
    best_.clear();
    for (const auto& p : model.parameters())
      best_.push_back(make_uninitialized<View1<T, Space>>(space_, "Trainer::best:" + p.name(), p.size()));
  }
  // The best weights: kept (restore false) or put back into the model (restore true).
  void snapshot(Model& model, bool restore) {
    std::size_t i = 0;
    for (const auto& p : model.parameters()) {
      if (restore)
        Kokkos::deep_copy(space_, p.value(), best_[i]);
      else
        Kokkos::deep_copy(space_, best_[i], p.value());
      ++i;
    }
    space_.fence();
  }

  bool writes_checkpoints() const { return options_.write_checkpoints && !options_.checkpoint.empty(); }
  std::filesystem::path best_path() const { return options_.checkpoint.string() + ".best"; }
  std::filesystem::path state_path() const { return options_.checkpoint.string() + ".trainer"; }

  // "<best epoch> <best value>" (best epoch 0: none yet), the value exact in 17 digits.
  void write_state(const FitResult& r, bool has_best) const {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%d %.17g\n", has_best ? r.best_epoch : 0, r.best_value);
    write_file_atomic(state_path(), std::string_view(buf));
  }

  // Continues after the checkpoint's epoch, with the best weights and value of the run that wrote it when its
  // companions are there and agree; without them (older checkpoints) the weights loaded count as the best so far
  // and the next validation replaces them.
  void resume(Model& model, FitResult& r, bool& has_best) {
    std::int64_t best_epoch = 0;
    double best_value = 0;
    if (std::ifstream in(state_path()); in) in >> best_epoch >> best_value;
    if (best_epoch > 0 && std::filesystem::exists(best_path()) && model.load(best_path()) == best_epoch) {
      snapshot(model, false);
      has_best = true;
      r.best_epoch = int(best_epoch);
      r.best_value = best_value;
    }
    r.first_epoch = int(model.load(options_.checkpoint)) + 1;
    if (hooks_.on_resume) hooks_.on_resume(r.first_epoch - 1);
    if (!has_best) {
      r.best_epoch = r.first_epoch - 1;
      snapshot(model, false);
    }
  }

  Space space_;
  TrainerOptions options_;
  TrainerHooks hooks_;
  data::SequenceBatcher<Space> batcher_;
  data::EpochShuffler<Space> shuffler_;
  eval::HoldoutEvaluator<T, Space> evaluator_;
  std::vector<View1<T, Space>> best_;
};

}  // namespace seqrec::train
