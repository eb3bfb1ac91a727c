// seqrec-complete: fit and evaluate a sparse-completion strategy (PopRec, item-kNN, implicit ALS, BPR-MF,
// biased SVD, EASE) on a real dataset. Progress goes to stderr; stdout gets JSON lines (one per fit) and, last,
// one JSON object with the final figures.
//
//   seqrec-complete --data games/games.txt --method als --factors 64 --protocol both
//   seqrec-complete --data ml-100k/u.data --format ml-100k --method svd --protocol rmse-folds
//   seqrec-complete --data lastfm-2k --weights log1p --method als --protocol full
//
// --data takes a file or a folder (ml-100k/, lastfm-2k/: their known file), --format any name or alias
// (common/data_cli.hpp), --weights raw | log1p | binary transforms the weights before fitting.
//
// Top-K protocols (leave-one-out, as seqrec-train): the strategy is fitted on every user's training items
// plus the validation item, and ranks the test item: against the same 100 sampled negatives as seqrec-train
// with the same --seed ("sampled"), or against every item outside the user's history ("full"). Metrics are
// also reported for the users with at most --cold training interactions. --target valid fits on the
// training items only and ranks the validation item instead (for tuning).
// rmse-folds: k-fold cross-validation of rating prediction over contiguous blocks of the file (MovieLens-100K's
// official u1..u5 with k = 5), biased SVD only.
#include <seqrec/completion/als.hpp>
#include <seqrec/completion/biased_svd.hpp>
#include <seqrec/completion/bpr_mf.hpp>
#include <seqrec/completion/ease.hpp>
#include <seqrec/completion/item_knn.hpp>
#include <seqrec/completion/popularity.hpp>
#include <seqrec/completion/registry.hpp>
#include <seqrec/completion/strategy.hpp>
#include <seqrec/core.hpp>
#include <seqrec/data/readers.hpp>
#include <seqrec/data/split.hpp>
#include <seqrec/eval/full.hpp>
#include <seqrec/eval/sampled.hpp>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "common/data_cli.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <limits>
#include <numeric>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

struct Options {
  seqrec::tools::DataOptions data;
  std::string method = "als";
  std::string protocol = "sampled";
  std::string target = "test";
  std::string similarity = "cosine";
  std::optional<int> factors, iters, epochs, neighbours, cg_steps, folds;
  std::optional<double> reg, alpha, lr, lambda, shrink;
  std::string preset = "movielens";  // svd: movielens (tuned) | surprise (the Surprise library's defaults)
  bool cholesky = false;
  int threads = 0, negatives = 100, max_eval_users = 0, eval_batch = 256, cold = 5;
  std::uint64_t seed = 42;
  bool json_only = false, scalar_double = false;
};

template <class Strategy>
void configure(Strategy&, const Options&) {}

// Each method's options: its defaults unless given on the command line.
template <class T, class Space, class Solver>
typename seqrec::completion::ImplicitAls<T, Space, Solver>::Options als_options(const Options& o) {
  typename seqrec::completion::ImplicitAls<T, Space, Solver>::Options a;
  if (o.factors) a.factors = *o.factors;
  if (o.reg) a.reg = *o.reg;
  if (o.alpha) a.alpha = *o.alpha;
  if (o.iters) a.iterations = *o.iters;
  if (o.cg_steps) a.cg_steps = *o.cg_steps;
  a.seed = o.seed;
  return a;
}

template <class Opt>
Opt sgd_options(const Options& o, Opt a = {}) {
  if (o.factors) a.factors = *o.factors;
  if (o.reg) a.reg = *o.reg;
  if (o.lr) a.lr = *o.lr;
  if (o.epochs) a.epochs = *o.epochs;
  a.seed = o.seed;
  return a;
}

template <class T>
seqrec::completion::BiasedSvdOptions svd_options(const Options& o) {
  return sgd_options(o, o.preset == "surprise" ? seqrec::completion::BiasedSvdOptions{}
                                               : seqrec::completion::BiasedSvdOptions::movielens());
}

template <class Opt>
Opt knn_options(const Options& o) {
  Opt a;
  if (o.neighbours) a.neighbours = *o.neighbours;
  if (o.alpha) a.alpha = *o.alpha;
  if (o.shrink) a.shrink = *o.shrink;
  return a;
}

template <class Opt>
Opt ease_options(const Options& o) {
  Opt a;
  if (o.lambda) a.lambda = *o.lambda;
  return a;
}

template <class S>
nlohmann::json fit_stats(const S& s) {
  if constexpr (requires { s.stats().seconds; }) {
    const auto& st = s.stats();
    nlohmann::json j = {{"iterations", st.seconds.size()}};
    if (!st.seconds.empty())
      j["seconds_per_iteration"] =
          std::accumulate(st.seconds.begin(), st.seconds.end(), 0.0) / double(st.seconds.size());
    if constexpr (requires { st.loss; })
      if (!st.loss.empty()) j["final_loss"] = st.loss.back();
    return j;
  } else {
    return nlohmann::json::object();
  }
}

// Evaluated users (with their targets) whose training history has at most `cold` items.
struct UserSubset {
  std::vector<seqrec::id_t> users, targets;
};

template <class Strategy>
int run_topk(const Options& o, const seqrec::data::Interactions& data, Strategy& strategy, const char* name) {
  using Space = typename Strategy::execution_space;
  using T = typename Strategy::scalar_type;
  static_assert(seqrec::completion::check_completion_strategy<Strategy>());
  Space space;
  const bool valid = o.target == "valid";
  const auto split = seqrec::data::leave_one_out(data);
  const auto train = seqrec::data::with_held_out(split, !valid);  // + validation items when testing
  std::fprintf(
      stderr,
      "seqrec-complete: %s on %s (%lld users, %lld items, %lld interactions; fit on %lld), %s, %d threads, %s\n", name,
      o.data.data.c_str(), (long long)data.num_users(), (long long)data.num_items(), (long long)data.size(),
      (long long)train.size(), Space::name(), Space::concurrency(), sizeof(T) == 4 ? "float" : "double");
  const auto t0 = Clock::now();
  strategy.fit(space, train);
  space.fence();
  const double fit_seconds = seconds_since(t0);
  nlohmann::json out = {{"method", name},
                        {"data", o.data.data},
                        {"weights", o.data.weights},
                        {"backend", Space::name()},
                        {"threads", Space::concurrency()},
                        {"scalar", sizeof(T) == 4 ? "float" : "double"},
                        {"seed", o.seed},
                        {"target", o.target},
                        {"fit_seconds", fit_seconds}};
  out.update(fit_stats(strategy));
  if (!o.json_only) {
    if (out.contains("seconds_per_iteration"))
      std::fprintf(stderr, "fit in %.2f s (%zu iterations, %.4f s per iteration)\n", fit_seconds,
                   out["iterations"].get<std::size_t>(), out["seconds_per_iteration"].get<double>());
    else
      std::fprintf(stderr, "fit in %.2f s\n", fit_seconds);
  }

  // Targets, and the cold subset (training history = train sequences, before the validation item).
  std::vector<seqrec::id_t> targets;
  UserSubset cold;
  for (auto u : split.evaluated_users) {
    const seqrec::id_t t = valid ? split.valid_item(u) : split.test_item(u);
    targets.push_back(t);
    if (split.train_sequences.length(u) <= o.cold) {
      cold.users.push_back(u);
      cold.targets.push_back(t);
    }
  }
  const auto full_history = seqrec::eval::make_history(space, seqrec::data::Sequences::from(data));
  const auto fit_history = seqrec::eval::make_history(space, seqrec::data::Sequences::from(train));
  seqrec::eval::SampledOptions so;
  so.num_negatives = o.negatives;
  so.seed = o.seed;
  const std::string prefix = valid ? "valid_" : "";
  auto evaluate = [&](const std::vector<seqrec::id_t>& users, const std::vector<seqrec::id_t>& tg,
                      const std::string& tag) {
    if (users.empty()) return;
    const auto te = Clock::now();
    const auto eu = seqrec::eval::select_users(space, users, tg, tag.empty() ? o.max_eval_users : 0, o.seed);
    if (o.protocol == "sampled" || o.protocol == "both") {
      const auto cands = seqrec::eval::make_sampled_candidates(space, eu, full_history, so);
      seqrec::eval::SampledEvaluator<T, Space> ev(space, 1 + o.negatives, o.eval_batch);
      const auto m = ev.evaluate(space, strategy, cands, {1, 5, 10});
      out[prefix + tag + "hr10"] = m.hr_at(10);
      out[prefix + tag + "ndcg10"] = m.ndcg_at(10);
      out[prefix + tag + "mrr"] = m.mrr;
      out[prefix + tag + "users"] = m.count;
    }
    if (o.protocol == "full" || o.protocol == "both") {
      const auto m = seqrec::eval::evaluate_full(space, strategy, eu, fit_history, o.eval_batch, {10});
      out[prefix + tag + "full_hr10"] = m.hr_at(10);
      out[prefix + tag + "full_ndcg10"] = m.ndcg_at(10);
      if (tag.empty()) out["full_coverage10"] = m.coverage_at(10);
    }
    out[prefix + tag + "eval_seconds"] = seconds_since(te);
  };
  evaluate(split.evaluated_users, targets, "");
  evaluate(cold.users, cold.targets, "cold_");
  out["cold_max_history"] = o.cold;
  if (!o.json_only) {
    auto get = [&](const std::string& k) { return out.contains(k) ? out[k].get<double>() : NAN; };
    std::fprintf(stderr,
                 "%s %s: HR@10 %.4f NDCG@10 %.4f (sampled) | full HR@10 %.4f NDCG@10 %.4f | cold (<= %d, %zu users) "
                 "NDCG@10 %.4f\n",
                 name, valid ? "valid" : "test", get(prefix + "hr10"), get(prefix + "ndcg10"),
                 get(prefix + "full_hr10"), get(prefix + "full_ndcg10"), o.cold, cold.users.size(),
                 get(prefix + "cold_ndcg10"));
    if (std::string(name) == "bpr" && o.data.data.find("games") != std::string::npos && !valid)
      std::fprintf(stderr, "SASRec paper's BPR-MF row (Games): HR@10 .4853 NDCG@10 .2875\n");
    if (std::string(name) == "poprec" && o.data.data.find("games") != std::string::npos && !valid)
      std::fprintf(stderr, "SASRec paper's PopRec row (Games): HR@10 .4724 NDCG@10 .2779\n");
  }
  std::cout << out.dump() << std::endl;
  return 0;
}

// Rating prediction, k-fold over contiguous blocks of the input.
template <class T>
int run_rmse(const Options& o, const seqrec::data::Interactions& data) {
  using Space = Kokkos::DefaultExecutionSpace;
  using Svd = seqrec::completion::BiasedSvd<T, Space>;
  Space space;
  const int k = o.folds.value_or(5);
  const auto folds = seqrec::data::kfold_contiguous(data, k);
  std::vector<double> rmse;
  double fit_seconds = 0, epoch_seconds = 0;
  for (int f = 0; f < k; ++f) {
    Svd svd(svd_options<T>(o));
    const auto t0 = Clock::now();
    svd.fit(space, folds[f].train);
    space.fence();
    const double s = seconds_since(t0);
    fit_seconds += s;
    const auto& st = svd.stats();
    epoch_seconds += std::accumulate(st.seconds.begin(), st.seconds.end(), 0.0) /
                     double(std::max<std::size_t>(1, st.seconds.size()));
    // The fold's test ratings as interactions.
    seqrec::data::Interactions test = seqrec::data::detail::empty_like(data);
    const auto& ts = folds[f].test;
    for (seqrec::index_t u = 0; u < ts.num_users(); ++u)
      for (seqrec::index_t p = ts.offsets[u]; p < ts.offsets[u + 1]; ++p)
        test.push_back(u, ts.items[p], ts.weights[p], ts.times[p]);
    rmse.push_back(svd.rmse(space, test));
    nlohmann::json line = {{"fold", f + 1}, {"rmse", rmse.back()}, {"fit_seconds", s}, {"test_ratings", test.size()}};
    std::cout << line.dump() << std::endl;
    if (!o.json_only) std::fprintf(stderr, "fold %d: RMSE %.4f (%.2f s)\n", f + 1, rmse.back(), s);
  }
  const double mean = std::accumulate(rmse.begin(), rmse.end(), 0.0) / k;
  double var = 0;
  for (double r : rmse) var += (r - mean) * (r - mean) / k;
  nlohmann::json out = {{"method", "svd"},
                        {"data", o.data.data},
                        {"protocol", "rmse-folds"},
                        {"preset", o.preset},
                        {"folds", k},
                        {"rmse", mean},
                        {"rmse_std", std::sqrt(var)},
                        {"rmse_folds", rmse},
                        {"fit_seconds", fit_seconds / k},
                        {"seconds_per_iteration", epoch_seconds / k},
                        {"backend", Space::name()},
                        {"threads", Space::concurrency()},
                        {"scalar", sizeof(T) == 4 ? "float" : "double"},
                        {"seed", o.seed}};
  if (!o.json_only)
    std::fprintf(stderr, "biased SVD (%s preset), %d folds: RMSE %.4f ± %.4f (Surprise's published SVD: 0.934)\n",
                 o.preset.c_str(), k, mean, std::sqrt(var));
  std::cout << out.dump() << std::endl;
  return 0;
}

// One strategy from the options: its configuration, then the top-K protocols. The variants a template argument picks
// (ALS's solver, item-kNN's similarity) are chosen here from their flags.
template <class S>
int run_method(std::type_identity<S>, const Options& o, const seqrec::data::Interactions& data) {
  namespace c = seqrec::completion;
  using T = typename S::scalar_type;
  using Space = typename S::execution_space;
  if constexpr (std::is_same_v<S, c::BprMf<T, Space>>) {
    S s(sgd_options<typename S::Options>(o));
    return run_topk(o, data, s, S::name);
  } else if constexpr (std::is_same_v<S, c::BiasedSvd<T, Space>>) {
    S s(svd_options<T>(o));
    return run_topk(o, data, s, S::name);
  } else if constexpr (std::is_same_v<S, c::Ease<T, Space>>) {
    S s(ease_options<typename S::Options>(o));
    return run_topk(o, data, s, S::name);
  } else {
    static_assert(std::is_default_constructible_v<S>, "seqrec-complete: say how this strategy is configured");
    S s;
    return run_topk(o, data, s, S::name);
  }
}

template <class T, class Space>
int run_method(std::type_identity<seqrec::completion::ImplicitAls<T, Space>>, const Options& o,
               const seqrec::data::Interactions& data) {
  namespace c = seqrec::completion;
  if (o.cholesky) {
    c::ImplicitAls<T, Space, c::Cholesky> s(als_options<T, Space, c::Cholesky>(o));
    return run_topk(o, data, s, c::ImplicitAls<T, Space>::name);
  }
  c::ImplicitAls<T, Space, c::ConjugateGradient> s(als_options<T, Space, c::ConjugateGradient>(o));
  return run_topk(o, data, s, c::ImplicitAls<T, Space>::name);
}

template <class T, class Space>
int run_method(std::type_identity<seqrec::completion::ItemKnn<T, Space>>, const Options& o,
               const seqrec::data::Interactions& data) {
  namespace c = seqrec::completion;
  auto run = [&](auto similarity) {
    using S = c::ItemKnn<T, Space, decltype(similarity)>;
    S s(knn_options<typename S::Options>(o));
    return run_topk(o, data, s, S::name);
  };
  if (o.similarity == "asymmetric") return run(c::AsymmetricCosine{});
  if (o.similarity == "bm25") return run(c::Bm25Cosine{});
  SEQREC_REQUIRE(o.similarity == "cosine", "seqrec-complete: unknown --similarity '", o.similarity, "'");
  return run(c::Cosine{});
}

template <class T>
int dispatch(const Options& o, const seqrec::data::Interactions& data) {
  using Space = Kokkos::DefaultExecutionSpace;
  namespace c = seqrec::completion;
  if (o.protocol == "rmse-folds") {
    SEQREC_REQUIRE(o.method == "svd", "seqrec-complete: --protocol rmse-folds predicts ratings: use --method svd, not ",
                   o.method);
    return run_rmse<T>(o, data);
  }
  // Every strategy of the registry (completion/registry.hpp) by its name; an unknown name is an error.
  return c::with_strategy<T, Space>(o.method, [&](auto id) { return run_method(id, o, data); });
}

}  // namespace

int main(int argc, char* argv[]) {
  Options o;
  CLI::App app{"seqrec-complete: fit and evaluate a sparse-completion strategy"};
  seqrec::tools::add_data_options(app, o.data, /*with_weights=*/true);
  const auto methods = seqrec::completion::strategy_name_list<float, Kokkos::DefaultExecutionSpace>();
  app.add_option("--method", o.method, seqrec::completion::strategy_names<float, Kokkos::DefaultExecutionSpace>())
      ->check(CLI::IsMember(methods));
  app.add_option("--protocol", o.protocol, "sampled | full | both | rmse-folds")
      ->check(CLI::IsMember({"sampled", "full", "both", "rmse-folds"}));
  app.add_option("--target", o.target, "test (fit on train + validation items) | valid (fit on train)")
      ->check(CLI::IsMember({"test", "valid"}));
  app.add_option("--factors", o.factors, "latent factors (als, bpr, svd)")->check(CLI::PositiveNumber);
  app.add_option("--reg", o.reg, "L2 regularisation (als, bpr, svd)")->check(CLI::NonNegativeNumber);
  app.add_option("--alpha", o.alpha, "confidence 1 + alpha * w (als); asymmetry (itemknn asymmetric)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--iters", o.iters, "ALS iterations")->check(CLI::PositiveNumber);
  app.add_option("--cg-steps", o.cg_steps, "conjugate-gradient steps per solve (als)")->check(CLI::PositiveNumber);
  app.add_flag("--cholesky", o.cholesky, "exact Cholesky solves instead of conjugate gradient (als)");
  app.add_option("--lr", o.lr, "SGD learning rate (bpr, svd)")->check(CLI::PositiveNumber);
  app.add_option("--epochs", o.epochs, "SGD epochs (bpr, svd)")->check(CLI::PositiveNumber);
  app.add_option("--neighbours", o.neighbours, "neighbours kept per item (itemknn)")->check(CLI::PositiveNumber);
  app.add_option("--similarity", o.similarity, "cosine | asymmetric | bm25 (itemknn)")
      ->check(CLI::IsMember({"cosine", "asymmetric", "bm25"}));
  app.add_option("--shrink", o.shrink, "similarity shrinkage (itemknn)")->check(CLI::NonNegativeNumber);
  app.add_option("--lambda", o.lambda, "L2 on the item-item weights (ease)")->check(CLI::PositiveNumber);
  app.add_option("--preset", o.preset, "svd defaults: movielens (tuned on ML-100K) | surprise (Surprise's SVD)")
      ->check(CLI::IsMember({"movielens", "surprise"}));
  app.add_option("--folds", o.folds, "folds of rmse-folds (default 5)")->check(CLI::Range(2, 100));
  app.add_option("--cold", o.cold, "also report users with at most this many training interactions")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--eval-batch", o.eval_batch, "users scored at once when evaluating")->check(CLI::PositiveNumber);
  app.add_option("--negatives", o.negatives, "sampled negatives per evaluated user")->check(CLI::PositiveNumber);
  app.add_option("--max-eval-users", o.max_eval_users, "evaluate a seeded sample of users (0: all)");
  app.add_option("--seed", o.seed, "seed of everything random (the sampled negatives match seqrec-train's)");
  app.add_option("--threads", o.threads, "OpenMP threads (0: Kokkos default)");
  app.add_flag("--json", o.json_only, "JSON lines only (no human summary)");
  app.add_flag("--double", o.scalar_double, "compute in double");
  CLI11_PARSE(app, argc, argv);

  Kokkos::InitArguments args;
  if (o.threads > 0) args.num_threads = o.threads;
  Kokkos::ScopeGuard guard(args);
  seqrec::linalg::set_blas_threads(1);  // host gemms are split across the OpenMP threads instead
  try {
    const auto t0 = Clock::now();
    // rmse-folds cuts the file's order into blocks (MovieLens-100K's u1..u5): read it unsorted.
    seqrec::data::ReadOptions ro;
    ro.keep_file_order = o.protocol == "rmse-folds";
    const auto data = seqrec::tools::read_data(o.data, ro, o.json_only);
    if (!o.json_only) std::fprintf(stderr, "read %s in %.2f s\n", data.source.c_str(), seconds_since(t0));
    return o.scalar_double ? dispatch<double>(o, data) : dispatch<float>(o, data);
  } catch (const seqrec::Error& e) {
    std::fprintf(stderr, "seqrec-complete: %s\n", e.what());
    return 1;
  }
}
