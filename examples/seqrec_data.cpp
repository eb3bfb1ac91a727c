// seqrec-data: look at a dataset and run the popularity baseline on it. stdout gets one JSON object per line;
// malformed input exits non-zero with the reader's "file:line: what" message on stderr.
//
//   seqrec-data stats  --data games/games.txt --format sasrec [--kcore 5]
//   seqrec-data poprec --data games/games.txt --format sasrec --protocol both [--seed 42] [--export-scores s.npy]
//   seqrec-data stats  --data lastfm-2k         (a folder: its user_artists.dat, format lastfm)
//
// poprec follows seqrec-train's leave-one-out protocol: the same split, the same evaluated users and, for the
// same --seed, --negatives and --max-eval-users, the same sampled candidates (make_sampled_candidates over the
// user's whole history), so its numbers sit in the same table as a trained model's. Popularity is counted on
// the training part only by default (--fit-on), and that choice is printed with every result.
#include <seqrec/completion/popularity.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/data/data_source.hpp>
#include <seqrec/data/interactions.hpp>
#include <seqrec/data/npy.hpp>
#include <seqrec/data/readers.hpp>
#include <seqrec/data/split.hpp>
#include <seqrec/eval/full.hpp>
#include <seqrec/eval/metrics.hpp>
#include <seqrec/eval/sampled.hpp>
#include <seqrec/graph/kcore.hpp>

#include <CLI/CLI.hpp>
#include <Kokkos_Core.hpp>
#include <nlohmann/json.hpp>

#include "common/data_cli.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <limits>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

struct Options {
  // Shared by both subcommands.
  seqrec::tools::DataOptions data;
  bool no_header = false;
  int kcore = 0;
  int threads = 0;
  // poprec
  std::string protocol = "both";
  std::string fit_on = "train";
  std::uint64_t seed = 42;
  int negatives = 100;
  int max_eval_users = 0;
  int batch = 256;
  std::string export_scores;
  std::string export_candidates;
  bool scalar_double = false;
};

seqrec::data::Interactions load(const Options& o, nlohmann::json& info) {
  seqrec::data::ReadOptions ro;
  ro.has_header = !o.no_header;
  const auto t0 = Clock::now();
  auto source = seqrec::tools::read_data_source(o.data, ro);
  auto x = std::move(source.interactions);
  info["data"] = x.source;
  info["format"] = std::string(seqrec::data::to_string(source.format));
  info["read_seconds"] = seconds_since(t0);
  if (o.kcore > 0) {
    x = seqrec::graph::kcore_filter(x, o.kcore);
    SEQREC_REQUIRE(x.size() > 0, "the ", o.kcore, "-core of '", x.source, "' is empty");
  }
  info["kcore"] = o.kcore > 0 ? nlohmann::json(o.kcore) : nlohmann::json(nullptr);
  return x;
}

// min / max / mean / median of counts (median of an even count: the mean of the middle two, as NumPy).
nlohmann::json summary(std::vector<seqrec::index_t> v) {
  if (v.empty()) return {{"min", 0}, {"max", 0}, {"mean", 0.0}, {"median", 0.0}};
  std::sort(v.begin(), v.end());
  double sum = 0;
  for (auto c : v) sum += static_cast<double>(c);
  const std::size_t n = v.size();
  const double median = n % 2 ? double(v[n / 2]) : 0.5 * (double(v[n / 2 - 1]) + double(v[n / 2]));
  return {{"min", v.front()}, {"max", v.back()}, {"mean", sum / double(n)}, {"median", median}};
}

int stats(const Options& o) {
  nlohmann::json out;
  const auto x = load(o, out);
  std::vector<seqrec::index_t> per_user(static_cast<std::size_t>(x.num_users()), 0),
      per_item(static_cast<std::size_t>(x.num_items()), 0);
  for (seqrec::index_t k = 0; k < x.size(); ++k) {
    ++per_user[static_cast<std::size_t>(x.user[k])];
    ++per_item[static_cast<std::size_t>(x.item[k] - 1)];
  }
  const auto u = summary(per_user), i = summary(per_item);
  out["users"] = x.num_users();
  out["items"] = x.num_items();
  out["interactions"] = x.size();
  out["min_per_user"] = u["min"];
  out["max_per_user"] = u["max"];
  out["mean_per_user"] = u["mean"];
  out["median_per_user"] = u["median"];
  out["min_per_item"] = i["min"];
  out["max_per_item"] = i["max"];
  out["mean_per_item"] = i["mean"];
  out["median_per_item"] = i["median"];
  // Interactions (repeats counted) over the users x items matrix.
  out["density"] = double(x.size()) / (double(x.num_users()) * double(x.num_items()));
  out["users_evaluable"] = std::count_if(per_user.begin(), per_user.end(), [](auto c) { return c >= 3; });
  std::cout << out.dump() << std::endl;
  return 0;
}

// The training part plus, for "train+valid", each evaluated user's validation item (and, for "all", the test
// item too): what PopRec counts.
seqrec::data::Interactions fit_data(const seqrec::data::Split& split, const seqrec::data::Interactions& all,
                                    const std::string& fit_on) {
  if (fit_on == "all") return all;
  return seqrec::data::with_held_out(split, fit_on == "train+valid");
}

// The training items of every user plus the validation item: the input a sequence model sees at test time, so
// what full ranking excludes (as seqrec-train does).
seqrec::data::Sequences test_inputs(const seqrec::data::Split& split) {
  return seqrec::data::Sequences::from(seqrec::data::with_held_out(split, true));
}

template <class T>
int poprec(const Options& o) {
  using Space = Kokkos::DefaultExecutionSpace;
  Space space;
  nlohmann::json base;
  const auto data = load(o, base);
  const auto split = seqrec::data::leave_one_out(data);

  const auto tf = Clock::now();
  seqrec::completion::PopRec<T, Space> model;
  model.fit(space, fit_data(split, data, o.fit_on));
  space.fence();
  base["model"] = "poprec";
  base["fit_on"] = o.fit_on;
  base["fit_interactions"] = model.num_interactions();
  base["fit_seconds"] = seconds_since(tf);
  base["split"] = "leave-one-out, test item";
  base["num_items"] = data.num_items();
  base["backend"] = Space::name();
  base["threads"] = Space::concurrency();
  base["scalar"] = sizeof(T) == 4 ? "float" : "double";
  base["seed"] = o.seed;

  std::vector<seqrec::id_t> test_targets;
  for (auto u : split.evaluated_users) test_targets.push_back(split.test_item(u));
  auto line = [&](const seqrec::eval::MetricSet& m, double seconds) {
    nlohmann::json j = base;
    j["protocol"] = m.protocol;
    j["hr10"] = m.hr_at(10);
    j["ndcg10"] = m.ndcg_at(10);
    j["hr5"] = m.hr_at(5);
    j["ndcg5"] = m.ndcg_at(5);
    j["hr1"] = m.hr_at(1);
    j["mrr"] = m.mrr;
    j["users"] = m.count;
    j["eligible_users"] = m.eligible_users;
    j["user_sample"] = m.user_sample;
    if (m.candidates > 0) {
      j["negatives"] = m.candidates - 1;
      j["candidate_seed"] = m.candidate_seed;
    }
    j["seconds"] = seconds;
    return j;
  };
  std::vector<nlohmann::json> lines;

  const bool sampled = o.protocol != "full";
  const bool full = o.protocol != "sampled";
  if (sampled || !o.export_scores.empty() || !o.export_candidates.empty()) {
    // As seqrec-train: negatives avoid the user's whole history (train, validation and test items).
    const auto tc = Clock::now();
    const auto full_history = seqrec::eval::make_history(space, seqrec::data::Sequences::from(data));
    const auto users = seqrec::eval::select_users(space, split.evaluated_users, test_targets, o.max_eval_users, o.seed);
    seqrec::eval::SampledOptions so;
    so.num_negatives = o.negatives;
    so.seed = o.seed;
    const auto cands = seqrec::eval::make_sampled_candidates(space, users, full_history, so);
    space.fence();
    const double candidate_seconds = seconds_since(tc);
    if (sampled) {
      const auto te = Clock::now();
      seqrec::eval::SampledEvaluator<T, Space> evaluator(space, 1 + o.negatives, o.batch);
      const auto m = evaluator.evaluate(space, model, cands, {1, 5, 10});
      auto j = line(m, seconds_since(te));
      j["candidate_seconds"] = candidate_seconds;
      lines.push_back(j);
    }
    if (!o.export_scores.empty()) {
      auto scores = seqrec::make_uninitialized<seqrec::View2<T, Space>>(space, "seqrec-data::scores", cands.size(),
                                                                        cands.num_candidates());
      model.score(space, cands.users.users, cands.items, scores);
      seqrec::data::save_npy(o.export_scores, scores);
    }
    if (!o.export_candidates.empty()) seqrec::data::save_npy(o.export_candidates, cands.items);
  }

  // Full ranking of every eligible user (whatever --max-eval-users says): the time the issue compares with one
  // SASRec training epoch.
  const auto all_users = seqrec::eval::select_users(space, split.evaluated_users, test_targets);
  const auto exclude = seqrec::eval::make_history(space, test_inputs(split));
  const auto t_all = Clock::now();
  const auto m_all = seqrec::eval::evaluate_full(space, model, all_users, exclude, o.batch, {1, 5, 10});
  const double time_full = seconds_since(t_all);
  if (full) {
    if (o.max_eval_users > 0) {
      const auto users =
          seqrec::eval::select_users(space, split.evaluated_users, test_targets, o.max_eval_users, o.seed);
      const auto te = Clock::now();
      const auto m = seqrec::eval::evaluate_full(space, model, users, exclude, o.batch, {1, 5, 10});
      lines.push_back(line(m, seconds_since(te)));
    } else {
      lines.push_back(line(m_all, time_full));
    }
  }
  for (auto& j : lines) {
    j["time_full_ranking_seconds"] = time_full;
    j["time_full_ranking_users"] = m_all.count;
    std::cout << j.dump() << std::endl;
  }
  if (lines.empty()) {  // --protocol sampled with nothing else to say still reports the timing
    nlohmann::json j = base;
    j["time_full_ranking_seconds"] = time_full;
    j["time_full_ranking_users"] = m_all.count;
    std::cout << j.dump() << std::endl;
  }
  return 0;
}

void add_common_options(CLI::App* app, Options& o) {
  seqrec::tools::add_data_options(*app, o.data, /*with_weights=*/false);  // poprec counts, so weights do not matter
  app->add_option("--kcore", o.kcore, "keep the k-core (users and items with at least K interactions) first")
      ->check(CLI::NonNegativeNumber);
  app->add_flag("--no-header", o.no_header, "csv: the first row is data");
  app->add_option("--threads", o.threads, "OpenMP threads (0: Kokkos default)")->check(CLI::NonNegativeNumber);
}

}  // namespace

int main(int argc, char* argv[]) {
  Options o;
  CLI::App app{"seqrec-data: dataset statistics and the popularity baseline (PopRec)"};
  app.require_subcommand(1);
  auto* st = app.add_subcommand("stats", "users, items, interactions, per-user counts, density (one JSON line)");
  add_common_options(st, o);
  auto* pr = app.add_subcommand("poprec", "PopRec under leave-one-out, sampled and/or full ranking (JSON lines)");
  add_common_options(pr, o);
  pr->add_option("--protocol", o.protocol, "sampled | full | both")->check(CLI::IsMember({"sampled", "full", "both"}));
  pr->add_option("--fit-on", o.fit_on, "what popularity counts: train | train+valid | all")
      ->check(CLI::IsMember({"train", "train+valid", "all"}));
  pr->add_option("--seed", o.seed, "seed of the user sample and the negatives (seqrec-train's default: 42)");
  pr->add_option("--negatives", o.negatives, "sampled negatives per user")->check(CLI::PositiveNumber);
  pr->add_option("--max-eval-users", o.max_eval_users, "evaluate a seeded sample of users (0: all)")
      ->check(CLI::NonNegativeNumber);
  pr->add_option("--batch", o.batch, "users per scoring batch")->check(CLI::PositiveNumber);
  pr->add_option("--export-scores", o.export_scores, "write the [users x 1+negatives] sampled scores as .npy");
  pr->add_option("--export-candidates", o.export_candidates, "write the sampled candidate items (int32) as .npy");
  pr->add_flag("--double", o.scalar_double, "score in double");
  CLI11_PARSE(app, argc, argv);

  Kokkos::InitArguments args;
  if (o.threads > 0) args.num_threads = o.threads;
  Kokkos::ScopeGuard guard(args);
  try {
    if (st->parsed()) return stats(o);
    return o.scalar_double ? poprec<double>(o) : poprec<float>(o);
  } catch (const seqrec::Error& e) {
    std::fprintf(stderr, "seqrec-data: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "seqrec-data: %s\n", e.what());
    return 2;
  }
}
