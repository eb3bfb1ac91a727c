// seqrec-loop: the multi-round feedback loop replayed on a real dataset (loop/simulator.hpp). The model is fitted
// on the interactions before a time cut; each round every user with future interactions is shown K unseen items
// by an exploration policy and accepts those among their next --window future items; the model is updated with
// the accepted ones (ALS fold-in, a few SASRec steps) or not (frozen) before the next round. stdout: one JSON line
// per round, then one JSON object with the totals. "New" items and users are those without an interaction before
// the cut.
//
// SASRec starts with a table of the items met before the cut only (item ids renumbered by first interaction, so
// those come first); an accepted new item grows the table (loop/sequence_adapter.hpp). Items without a row score
// -inf: only an exploring policy (--policy epsilon) shows them.
//
//   seqrec-loop --data ml-100k/u.data --format ml-100k --rounds 10 --k 10 --policy greedy --model als
#include <seqrec/completion/als.hpp>
#include <seqrec/core.hpp>
#include <seqrec/data/dataset_path.hpp>
#include <seqrec/data/readers.hpp>
#include <seqrec/data/split.hpp>
#include <seqrec/loop/policies.hpp>
#include <seqrec/loop/simulator.hpp>

#include <seqrec/loop/sequence_adapter.hpp>
#include <seqrec/sequence/sasrec_encoder.hpp>
#include <seqrec/sequential_recommender.hpp>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <numeric>
#include <string>
#include <vector>

namespace {

struct Options {
  std::string data = "ml-100k/u.data";
  std::string format = "ml-100k";
  std::string policy = "greedy";
  std::string model = "als";
  int rounds = 10, threads = 0, factors = 64, iters = 15;
  int fit_epochs = 30, steps = 8;  // sasrec: training epochs before the loop, optimisation steps per round
  seqrec::index_t k = 10, window = 10;
  double cut = 0.8, epsilon = 0.1, scale = 0.1, c = 0.1, reg = 0.01, alpha = 1.0;
  std::uint64_t seed = 42;
};

// The same interactions with item ids in order of first interaction (time, then file order).
seqrec::data::Interactions items_by_first_interaction(const seqrec::data::Interactions& x) {
  std::vector<std::size_t> order(static_cast<std::size_t>(x.size()));
  std::iota(order.begin(), order.end(), std::size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return x.time[a] < x.time[b]; });
  seqrec::data::Interactions y = x;
  y.items = seqrec::data::IdMap(1);
  std::vector<seqrec::id_t> to(static_cast<std::size_t>(x.num_items()) + 1, 0);
  for (const std::size_t e : order) {
    auto& t = to[static_cast<std::size_t>(x.item[e])];
    if (t == 0) t = y.items.insert(x.items.original(x.item[e]));
  }
  for (auto& i : y.item) i = to[static_cast<std::size_t>(i)];
  return y;
}

template <class Model, class Policy>
int run(const Options& o, const seqrec::data::Interactions& data, Model& model, const Policy& policy) {
  using Space = typename Model::execution_space;
  using T = typename Model::scalar_type;
  Space space;
  seqrec::loop::SimulatorOptions so;
  so.cut = o.cut;
  so.rounds = o.rounds;
  so.k = o.k;
  so.window = o.window;
  so.seed = o.seed;
  seqrec::loop::FeedbackLoop<T, Space> sim(data, so);
  const auto t0 = std::chrono::steady_clock::now();
  model.fit(space, sim.train());
  const double fit_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::fprintf(stderr,
               "seqrec-loop: %lld users, %lld items, %lld training interactions, %lld acceptable future ones; "
               "fit %.2f s\n",
               (long long)sim.num_users(), (long long)sim.num_items(), (long long)sim.train().size(),
               (long long)sim.future_interactions(), fit_seconds);
  // New users and items: none of their interactions before the cut.
  std::vector<char> old_user(static_cast<std::size_t>(sim.num_users()), 0),
      old_item(static_cast<std::size_t>(sim.num_items()) + 1, 0);
  for (seqrec::index_t e = 0; e < sim.train().size(); ++e) {
    old_user[static_cast<std::size_t>(sim.train().user[e])] = 1;
    old_item[static_cast<std::size_t>(sim.train().item[e])] = 1;
  }
  std::vector<char> new_item_seen(old_item.size(), 0), new_user_seen(old_user.size(), 0);
  seqrec::index_t new_items = 0, new_users = 0, new_item_hits = 0;
  const auto table_items = [&]() -> long long {
    if constexpr (requires { model.table_items(); })
      return (long long)model.table_items();
    else
      return (long long)model.num_items();
  };
  const auto metrics = sim.run(space, model, policy, [&](const seqrec::loop::RoundRecord& r) {
    seqrec::index_t round_new_items = 0, round_new_item_hits = 0, round_new_users = 0;
    for (seqrec::index_t e = 0; e < r.accepted.size(); ++e) {
      const auto u = static_cast<std::size_t>(r.accepted.user[e]), i = static_cast<std::size_t>(r.accepted.item[e]);
      if (!old_item[i]) {
        ++round_new_item_hits;
        if (!new_item_seen[i]) new_item_seen[i] = 1, ++round_new_items;
      }
      if (!old_user[u] && !new_user_seen[u]) new_user_seen[u] = 1, ++round_new_users;
    }
    new_items += round_new_items;
    new_users += round_new_users;
    new_item_hits += round_new_item_hits;
    auto j = r.metrics.to_json();
    j["policy"] = o.policy;
    j["model"] = o.model;
    j["new_items"] = round_new_items;          // new items accepted for the first time this round
    j["new_item_hits"] = round_new_item_hits;  // accepted interactions with new items
    j["new_users"] = round_new_users;          // new users accepting for the first time this round
    j["table_items"] = table_items();          // items with a row in the model, before this round's update
    std::cout << j.dump() << std::endl;
  });
  double accepted_rate_sum = 0;
  for (const auto& m : metrics) accepted_rate_sum += m.acceptance_rate;
  nlohmann::json out = {
      {"data", o.data},
      {"policy", o.policy},
      {"model", o.model},
      {"rounds", o.rounds},
      {"k", o.k},
      {"window", o.window},
      {"cut", o.cut},
      {"seed", o.seed},
      {"users", sim.num_users()},
      {"items", sim.num_items()},
      {"train_interactions", sim.train().size()},
      {"future_interactions", sim.future_interactions()},
      {"fit_seconds", fit_seconds},
      {"cumulative_hits", metrics.empty() ? 0 : metrics.back().cumulative_hits},
      {"recall_of_future", metrics.empty() ? 0.0
                                           : double(metrics.back().cumulative_hits) /
                                                 double(std::max<seqrec::index_t>(1, sim.future_interactions()))},
      {"mean_acceptance_rate", metrics.empty() ? 0.0 : accepted_rate_sum / double(metrics.size())},
      {"cumulative_coverage", metrics.empty() ? 0.0 : metrics.back().cumulative_coverage},
      {"graph_interactions", sim.graph().num_interactions()},
      {"items_first_after_cut",
       std::count(old_item.begin() + 1, old_item.end(), char(0))},  // items first met after the cut
      {"users_first_after_cut", std::count(old_user.begin(), old_user.end(), char(0))},
      {"new_items_accepted", new_items},
      {"new_item_hits", new_item_hits},
      {"new_users_accepting", new_users},
      {"table_items", table_items()},
      {"backend", Space::name()},
      {"threads", Space::concurrency()}};
  std::cout << out.dump() << std::endl;
  return 0;
}

template <class Model>
int with_policy(const Options& o, const seqrec::data::Interactions& data, Model& model) {
  if (o.policy == "epsilon" || o.policy == "epsilon-greedy")
    return run(o, data, model, seqrec::loop::EpsilonGreedy{o.epsilon});
  if (o.policy == "thompson") return run(o, data, model, seqrec::loop::Thompson{o.scale});
  if (o.policy == "ucb") return run(o, data, model, seqrec::loop::Ucb{o.c});
  return run(o, data, model, seqrec::loop::Greedy{});
}

}  // namespace

int main(int argc, char* argv[]) {
  Options o;
  CLI::App app{"seqrec-loop: multi-round feedback loop replayed from logged interactions"};
  app.add_option("--data", o.data, "data file, absolute or relative to $SEQREC_DATA (default ../shared/data)");
  app.add_option("--format", o.format, "sasrec | user-lines | ml-100k | ml-1m | csv");
  app.add_option("--rounds", o.rounds, "rounds")->check(CLI::NonNegativeNumber);
  app.add_option("--k", o.k, "items shown per user and round")->check(CLI::Range(1, 100));
  app.add_option("--policy", o.policy, "greedy | epsilon (or epsilon-greedy) | thompson | ucb")
      ->check(CLI::IsMember({"greedy", "epsilon", "epsilon-greedy", "thompson", "ucb"}));
  app.add_option("--model", o.model,
                 "als (fold-in each round) | frozen-als | sasrec (a few optimisation steps each round) | frozen-sasrec")
      ->check(CLI::IsMember({"als", "frozen-als", "sasrec", "frozen-sasrec"}));
  app.add_option("--fit-epochs", o.fit_epochs, "sasrec: training epochs before the loop")->check(CLI::PositiveNumber);
  app.add_option("--steps", o.steps, "sasrec: optimisation steps per round on the users with new items")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--cut", o.cut, "share of the interactions (in time order) the model is fitted on")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--window", o.window, "a user accepts shown items among their next W future items")
      ->check(CLI::PositiveNumber);
  app.add_option("--epsilon", o.epsilon,
                 "epsilon-greedy: probability that a slot shows a random unseen item instead of the next greedy one")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--scale", o.scale, "thompson: noise scale")->check(CLI::NonNegativeNumber);
  app.add_option("--ucb-c", o.c, "ucb: bonus weight")->check(CLI::NonNegativeNumber);
  app.add_option("--factors", o.factors, "ALS factors")->check(CLI::PositiveNumber);
  app.add_option("--iters", o.iters, "ALS iterations")->check(CLI::PositiveNumber);
  app.add_option("--reg", o.reg, "ALS L2")->check(CLI::NonNegativeNumber);
  app.add_option("--alpha", o.alpha, "ALS confidence 1 + alpha * rating")->check(CLI::NonNegativeNumber);
  app.add_option("--seed", o.seed, "seed of the ALS initialisation and the policies");
  app.add_option("--threads", o.threads, "OpenMP threads (0: Kokkos default)");
  CLI11_PARSE(app, argc, argv);

  Kokkos::InitArguments args;
  if (o.threads > 0) args.num_threads = o.threads;
  Kokkos::ScopeGuard guard(args);
  seqrec::linalg::set_blas_threads(1);  // host gemms are split across the OpenMP threads instead
  try {
    const std::filesystem::path path = seqrec::data::resolve_data_file(o.data);
    const auto read = seqrec::data::read(path, seqrec::data::parse_format(o.format), {});
    using Space = Kokkos::DefaultExecutionSpace;
    seqrec::completion::ImplicitAlsOptions ao;
    ao.factors = o.factors;
    ao.iterations = o.iters;
    ao.reg = o.reg;
    ao.alpha = o.alpha;
    ao.seed = o.seed;
    if (o.model == "sasrec" || o.model == "frozen-sasrec") {
      // SASRec, d 50, 2 blocks, window 50, over the items met before the cut; the adapter grows the table as new
      // items are accepted (frozen-sasrec too: the windows that hold them need their rows, which stay untrained).
      const auto data = items_by_first_interaction(read);
      const auto before_cut = seqrec::data::temporal_split_fraction(data, o.cut).train;
      const seqrec::index_t table =
          before_cut.size() == 0 ? 1 : *std::max_element(before_cut.item.begin(), before_cut.item.end());
      seqrec::RecommenderConfig cfg;
      cfg.dim = 50;
      cfg.batch = 128;
      cfg.adam.lr = 0.001;
      const seqrec::sequence::SelfAttentionConfig sa{50, 2, 1, 0.2, 0};
      using Encoder = seqrec::sequence::SelfAttentionEncoder<float, Space>;
      seqrec::SequentialRecommender<Encoder> sasrec(
          Space{}, table, cfg, o.seed,
          [&](const Space& s, auto& params, seqrec::index_t dim) { return Encoder(s, params, dim, sa); });
      seqrec::loop::IncrementalSequence<decltype(sasrec)> seq(
          sasrec, {o.fit_epochs, o.model == "sasrec" ? o.steps : 0, o.seed});
      return with_policy(o, data, seq);
    }
    const auto& data = read;
    seqrec::loop::IncrementalAls<float, Space> als(ao);
    if (o.model == "frozen-als") {
      seqrec::loop::Frozen<seqrec::loop::IncrementalAls<float, Space>> frozen(als);
      return with_policy(o, data, frozen);
    }
    return with_policy(o, data, als);
  } catch (const seqrec::Error& e) {
    std::fprintf(stderr, "seqrec-loop: %s\n", e.what());
    return 1;
  }
}
