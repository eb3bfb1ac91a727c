// Validation and test of a sequence model on a leave-one-out Split, on both protocols, with everything drawn
// once: the evaluated users (a seeded sample when max_users > 0), the sampled candidates (the held-out item and
// `negatives` items outside the user's whole sequence) and the scoring windows (training items for validation,
// training + validation items for test). Every epoch and every model then meets the same candidates.
//
//   eval::HoldoutEvaluator<float, Space> ev(space, split, {.negatives = 100, .seed = 42});
//   auto m = ev.evaluate(space, model, eval::Part::test, eval::Protocol::both);  // m.sampled, m.full
//
// Full ranking ranks the held-out item among every item outside the scoring window. A model is anything with
// set_scoring_windows(space, sequences, batch) and the scorer interface of eval/sampled.hpp (score; score_all
// for full ranking, or score over all items).
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/data/split.hpp>
#include <seqrec/eval/full.hpp>
#include <seqrec/eval/metrics.hpp>
#include <seqrec/eval/sampled.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <vector>

namespace seqrec::eval {

enum class Part { valid, test };
enum class Protocol { sampled, full, both };

inline const char* part_name(Part p) { return p == Part::valid ? "valid" : "test"; }

struct HoldoutOptions {
  index_t negatives = 100;           // sampled protocol: 1 + negatives candidates per user
  index_t max_users = 0;             // 0: every evaluated user; otherwise a seeded sample of this many
  std::uint64_t seed = 42;           // the user sample and the negatives
  index_t batch = 256;               // users scored at once
  std::vector<int> ks = {1, 5, 10};  // cutoffs (at most kMaxTopK for full ranking)
};

// What one evaluation measured: the protocols asked for.
struct HoldoutMetrics {
  std::optional<MetricSet> sampled, full;
};

template <Scalar T, ExecutionSpace Space>
class HoldoutEvaluator {
 public:
  using scalar_type = T;
  using execution_space = Space;

  // `split` is read here only (nothing refers to it afterwards). Its first validation and test item per user
  // are the held-out items, as data::leave_one_out makes them.
  HoldoutEvaluator(const Space& space, const data::Split& split, HoldoutOptions options = {})
      : options_(std::move(options)),
        num_items_(split.train_sequences.num_items),
        sampled_(space, 1 + options_.negatives, options_.batch),
        all_items_(make_history(space, data::Sequences::from(data::with_held_out(split, true, true)))) {
    SEQREC_REQUIRE(options_.negatives >= 1 && options_.batch >= 1 && options_.max_users >= 0,
                   "HoldoutEvaluator: negatives (", options_.negatives, ") and batch (", options_.batch,
                   ") must be positive and max_users (", options_.max_users, ") >= 0");
    options_.ks = detail::normalize_cutoffs(options_.ks);
    SEQREC_REQUIRE(options_.ks.back() <= kMaxTopK, "HoldoutEvaluator: cutoff ", options_.ks.back(), " exceeds ",
                   kMaxTopK);
    const auto n = std::size_t(split.train_sequences.num_users());
    for (auto& t : targets_) t.assign(n, id_t(0));
    std::array<std::vector<id_t>, 2> listed;
    for (auto u : split.evaluated_users) {
      targets_[0][std::size_t(u)] = split.valid_item(u);
      targets_[1][std::size_t(u)] = split.test_item(u);
      listed[0].push_back(split.valid_item(u));
      listed[1].push_back(split.test_item(u));
    }
    users_ = split.evaluated_users;
    for (int p = 0; p < 2; ++p) {
      parts_[p].windows = data::Sequences::from(data::with_held_out(split, p == 1));
      parts_[p].users = select_users(space, users_, listed[p], options_.max_users, options_.seed);
      parts_[p].candidates = make_sampled_candidates(space, parts_[p].users, all_items_, sampled_options());
    }
  }

  // Sets the model's scoring windows for `part` and ranks its held-out items.
  template <class Model>
  HoldoutMetrics evaluate(const Space& space, Model& model, Part part, Protocol protocol = Protocol::both) {
    auto& p = parts_[index(part)];
    model.set_scoring_windows(space, p.windows, options_.batch);
    return rank(space, model, part, p.users, p.candidates, protocol);
  }

  // Only `users` (each among the split's evaluated users; all of them, no sample), e.g. eval::long_tail_users.
  // A user's candidates are those evaluate() gives it (its negatives come from its own stream).
  template <class Model>
  HoldoutMetrics evaluate_users(const Space& space, Model& model, Part part, Protocol protocol,
                                const std::vector<id_t>& users) {
    std::vector<id_t> targets;
    for (auto u : users) {
      SEQREC_REQUIRE_INDEX(u, index_t(targets_[0].size()), "HoldoutEvaluator::evaluate_users: user");
      const id_t t = targets_[index(part)][std::size_t(u)];
      SEQREC_REQUIRE(t > 0, "HoldoutEvaluator::evaluate_users: user ", u, " has no ", part_name(part), " item");
      targets.push_back(t);
    }
    const auto eu = select_users(space, users, targets, 0, options_.seed);
    const auto cands = make_sampled_candidates(space, eu, all_items_, sampled_options());
    model.set_scoring_windows(space, parts_[index(part)].windows, options_.batch);
    return rank(space, model, part, eu, cands, protocol);
  }

  // The scoring windows of `part` (what blends and reports beside these protocols score from).
  const data::Sequences& windows(Part part) const { return parts_[index(part)].windows; }
  // Every user's whole sequence (training and held-out items): what sampled negatives avoid.
  const History<Space>& all_items() const { return all_items_; }
  // The split's evaluated users, ascending.
  const std::vector<id_t>& evaluated_users() const { return users_; }
  const HoldoutOptions& options() const { return options_; }

 private:
  struct PartData {
    data::Sequences windows;
    EvalUsers<Space> users;
    SampledCandidates<Space> candidates;
    std::optional<History<Space>> seen;  // full ranking's exclusions: the windows' items (built on first use)
  };

  static int index(Part p) { return p == Part::valid ? 0 : 1; }
  SampledOptions sampled_options() const {
    SampledOptions so;
    so.num_negatives = options_.negatives;
    so.seed = options_.seed;
    return so;
  }

  template <class Model>
  HoldoutMetrics rank(const Space& space, Model& model, Part part, const EvalUsers<Space>& users,
                      const SampledCandidates<Space>& candidates, Protocol protocol) {
    HoldoutMetrics out;
    if (protocol != Protocol::full) out.sampled = sampled_.evaluate(space, model, candidates, options_.ks);
    if (protocol != Protocol::sampled) {
      auto& p = parts_[index(part)];
      if (!p.seen) p.seen = make_history(space, p.windows);
      if (!full_) full_.emplace(space, num_items_, options_.batch, index_t(options_.ks.back()));
      out.full = full_->evaluate(space, model, users, *p.seen, options_.ks);
    }
    return out;
  }

  HoldoutOptions options_;
  index_t num_items_;
  SampledEvaluator<T, Space> sampled_;
  std::optional<FullEvaluator<T, Space>> full_;  // its score buffer is [batch x items]: made when first needed
  History<Space> all_items_;
  std::vector<id_t> users_;
  std::array<std::vector<id_t>, 2> targets_;  // per user id: the validation / test item (0: none)
  std::array<PartData, 2> parts_;
};

}  // namespace seqrec::eval
