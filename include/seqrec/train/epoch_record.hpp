// What train::Trainer reports after each epoch, and its JSON line (the format seqrec-train prints):
//
//   {"epoch":3,"loss":0.41,"seconds":1.2,"valid_hr10":0.71,"valid_ndcg10":0.50,"eval_seconds":0.3}
//
// with "task_losses" and "task_weights" for multi-task models. Validation keys are valid_hr<k> and
// valid_ndcg<k> at the validation metric's cutoff (valid_full_... when validation ranks all items).
#pragma once

#include <seqrec/core/error.hpp>
#include <seqrec/eval/metrics.hpp>
#include <seqrec/eval/report.hpp>

#include <nlohmann/json.hpp>

#include <ostream>
#include <string>
#include <vector>

namespace seqrec::train {

struct EpochRecord {
  int epoch = 0;                     // 1-based, counting epochs run before a resume
  double loss = 0;                   // mean training loss of the epoch's batches (its last pass)
  double seconds = 0;                // training time of the epoch (steps and end-of-epoch hook)
  bool validated = false;            // whether this epoch ran validation (see TrainerOptions::eval_every)
  eval::MetricSet valid;             // validation metrics, when validated
  double eval_seconds = 0;           // time validation took
  int k = 10;                        // the validation metric's cutoff (the JSON line's keys)
  bool improved = false;             // validation beat every earlier epoch: these weights are the best so far
  int best_epoch = 0;                // the best epoch so far (0: none validated yet)
  double best_value = 0;             // its validation metric
  std::vector<double> task_losses;   // multi-task models: the epoch's mean loss per task
  std::vector<double> task_weights;  // ... and the combinator's weights after the epoch
};

inline void to_json(nlohmann::json& j, const EpochRecord& r) {
  j = nlohmann::json{{"epoch", r.epoch}, {"loss", r.loss}, {"seconds", r.seconds}};
  if (!r.task_losses.empty()) j["task_losses"] = r.task_losses;
  if (!r.task_weights.empty()) j["task_weights"] = r.task_weights;
  if (r.validated) {
    const std::string prefix = r.valid.protocol == "full" ? "valid_full_" : "valid_";
    j[prefix + "hr" + std::to_string(r.k)] = r.valid.hr_at(r.k);
    j[prefix + "ndcg" + std::to_string(r.k)] = r.valid.ndcg_at(r.k);
    j["eval_seconds"] = r.eval_seconds;
  }
}

// An epoch callback that writes each record as one JSON line: trainer callbacks' on_epoch = JsonLines(std::cout).
class JsonLines {
 public:
  explicit JsonLines(std::ostream& os) : os_(&os) {}
  void operator()(const EpochRecord& r) const { eval::write_json_line(*os_, nlohmann::json(r)); }

 private:
  std::ostream* os_;
};

}  // namespace seqrec::train
