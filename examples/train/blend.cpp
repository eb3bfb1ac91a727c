// seqrec-train --blend: the trained plain model blended with each completion strategy (one translation unit
// per scalar: the five strategies for each encoder's plain model). SEQREC_TRAIN_SCALAR: examples/CMakeLists.txt.
#include "encoders.hpp"
#include "run.hpp"

#include <seqrec/completion/als.hpp>
#include <seqrec/completion/blend.hpp>
#include <seqrec/completion/bpr_mf.hpp>
#include <seqrec/completion/ease.hpp>
#include <seqrec/completion/item_knn.hpp>
#include <seqrec/completion/popularity.hpp>
#include <seqrec/completion/registry.hpp>

namespace seqrec::tools {

// The trained model blended with a completion strategy (completion/blend.hpp). The blend's weights are chosen
// on validation NDCG@10 over a small grid (the strategy fitted on training items); then the strategy is refitted
// with the validation items and the model, the strategy and the blend are tested on the same candidates, for
// all evaluated users and for those with at most --cold training interactions.
template <class Model, class Completion>
nlohmann::json blend_report(const Options& o, Model& model, Completion& completion, const data::Split& split,
                            const data::Sequences& valid_windows, const data::Sequences& test_windows,
                            const eval::History<typename Model::execution_space>& full_history) {
  using Space = typename Model::execution_space;
  using T = typename Model::scalar_type;
  namespace c = completion;
  Space space;
  const auto t0 = Clock::now();
  const auto lengths = c::history_lengths(space, split.train_sequences);
  c::Blend blend(model, completion, View1<const index_t, Space>(lengths));
  eval::SampledOptions so;
  so.num_negatives = o.negatives;
  so.seed = o.seed + 7;  // candidates of their own, drawn alike for the three scorers
  std::vector<id_t> vt, tt, cold_users, cold_vt, cold_tt;
  for (auto u : split.evaluated_users) {
    vt.push_back(split.valid_item(u));
    tt.push_back(split.test_item(u));
    if (split.train_sequences.length(u) <= o.cold) {
      cold_users.push_back(u);
      cold_vt.push_back(vt.back());
      cold_tt.push_back(tt.back());
    }
  }
  eval::SampledEvaluator<T, Space> ev(space, 1 + o.negatives, o.eval_batch);
  auto candidates = [&](const std::vector<id_t>& users, const std::vector<id_t>& targets) {
    return eval::make_sampled_candidates(space, eval::select_users(space, users, targets, 0, o.seed), full_history, so);
  };
  // Validation: the strategy on training items, the grid of blend weights.
  completion.fit(space, data::with_held_out(split, false));
  model.set_scoring_windows(space, valid_windows, o.eval_batch);
  const auto valid_cands = candidates(split.evaluated_users, vt);
  const auto chosen =
      c::choose_blend_options(blend, [&](auto& b) { return ev.evaluate(space, b, valid_cands, {10}).ndcg_at(10); });
  const auto& best = chosen.options;
  const double best_ndcg = chosen.value;
  // Test: the strategy refitted with the validation items; the three scorers on the same candidates.
  completion.fit(space, data::with_held_out(split, true));
  model.set_scoring_windows(space, test_windows, o.eval_batch);
  nlohmann::json out = {{"blend_with", o.blend},
                        {"blend_alpha_min", best.alpha_min},
                        {"blend_alpha_max", best.alpha_max},
                        {"blend_half_length", best.half_length},
                        {"blend_valid_ndcg10", best_ndcg},
                        {"cold_max_history", o.cold},
                        {"cold_users", cold_users.size()}};
  auto test_on = [&](const std::vector<id_t>& users, const std::vector<id_t>& targets, const std::string& tag) {
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
nlohmann::json run_blend(const Options& o, Model& model, const data::Split& split, const data::Sequences& valid_windows,
                         const data::Sequences& test_windows,
                         const eval::History<typename Model::execution_space>& full_history) {
  using Space = typename Model::execution_space;
  using T = typename Model::scalar_type;
  namespace c = completion;
  return c::with_strategy<T, Space>(o.blend, [&](auto id) {
    typename decltype(id)::type strategy;
    return blend_report(o, model, strategy, split, valid_windows, test_windows, full_history);
  });
}

#define SEQREC_TRAIN_BLEND(E)                                                                                \
  template nlohmann::json run_blend(const Options&, PlainModel<SEQREC_TRAIN_SCALAR, E>&, const data::Split&, \
                                    const data::Sequences&, const data::Sequences&,                          \
                                    const eval::History<Kokkos::DefaultExecutionSpace>&);
SEQREC_TRAIN_BLEND(EncoderKind::sasrec)
SEQREC_TRAIN_BLEND(EncoderKind::gru4rec)
SEQREC_TRAIN_BLEND(EncoderKind::lstm)
#undef SEQREC_TRAIN_BLEND

}  // namespace seqrec::tools
