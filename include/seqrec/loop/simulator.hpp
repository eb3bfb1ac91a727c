// The multi-round feedback loop, replayed from logged data (host orchestration; the scoring, the policy and
// the top-K run on the device).
//
// The interactions are cut at a time: the first `cut` share of them (in time order) is the training data the
// model is fitted on; the rest is each user's future. Then for R rounds every user who still has future
// interactions is shown K items by the exploration policy (never an item the user has already seen: the
// top-K excludes the user's history), and accepts those among the next `window` items of their remaining
// future. Accepted items are appended to the user's history and to the interaction graph (with the logged
// weight and time), and the model is updated with them before the next round. Future items the user had
// already seen before are dropped at the start (they can never be shown).
//
// The model side is any LoopModel: scalar/execution-space types, score_all over all items, and
// update(space, added interactions). Adapters here:
//   IncrementalAls<T, Space, Solver>   ImplicitAls fitted once, then fold-in of the users with new data (the rating
//                                      matrix rebuilt with the accepted interactions); grows its tables when ids
//                                      outside the fitted ones appear (loop/growth.hpp)
//   Frozen<Model>                      any model with update() doing nothing: the baseline
//
// Per-round metrics (RoundMetrics::to_json: one JSON line a round):
//   acceptance_rate   accepted / shown this round
//   cumulative_hits   accepted items so far
//   coverage          distinct items shown this round / catalogue (cumulative_coverage: over all rounds)
//   novelty           mean over shown items of -log2((u_i + 1) / (U + 1)), u_i the number of training users of item
//                     i, U the number of users (Zhou et al. 2010's self-information, smoothed for unseen items)
#pragma once

#include <seqrec/completion/als.hpp>
#include <seqrec/completion/factor_scores.hpp>
#include <seqrec/completion/rating_matrix.hpp>
#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/random.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/data/interactions.hpp>
#include <seqrec/data/split.hpp>
#include <seqrec/eval/sampled.hpp>
#include <seqrec/graph/interaction_graph.hpp>
#include <seqrec/loop/growth.hpp>
#include <seqrec/loop/policies.hpp>

#include <Kokkos_Core.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace seqrec::loop {

// ------------------------------------------------------------------------------------------------ models

template <class M>
concept LoopModel = Component<M> &&
    requires(M& m, const M& cm, const typename M::execution_space& space, const data::Interactions& added,
             View1<const id_t, typename M::execution_space> users,
             View2<typename M::scalar_type, typename M::execution_space> scores) {
  cm.score_all(space, users, scores);
  m.update(space, added);
  { cm.num_items() } -> std::convertible_to<index_t>;
};

template <class M>
constexpr bool check_loop_model() {
  check_component<M>();
  using Space = typename M::execution_space;
  using T = typename M::scalar_type;
  static_assert(
      requires(const M& m, const Space& s, View1<const id_t, Space> u, View2<T, Space> sc) { m.score_all(s, u, sc); },
      "seqrec::loop: a model needs a const `score_all(space, users [B], scores [B x num_items+1])`");
  static_assert(
      requires(M & m, const Space& s, const data::Interactions& added) { m.update(s, added); },
      "seqrec::loop: a model needs `update(space, const data::Interactions& added)` (may do nothing)");
  static_assert(
      requires(const M& m) {
        { m.num_items() } -> std::convertible_to<index_t>;
      },
      "seqrec::loop: a model needs `index_t num_items() const`");
  return true;
}

// ImplicitAls updated by fold-in: update() appends the added interactions to what the model has seen, rebuilds the
// rating matrix, and recomputes the factors of the users in `added` (items fixed). Ids beyond the fitted ones
// (the maps of `added` may have grown) grow the tables first: new rows by GrowOptions (zeros by default, so a new
// item scores 0 until an items step), old rows untouched; from then on the fold-in runs on the grown tables.
template <Scalar T, ExecutionSpace Space, class Solver = completion::ConjugateGradient>
class IncrementalAls {
 public:
  using scalar_type = T;
  using execution_space = Space;
  using memory_space = typename Space::memory_space;

  explicit IncrementalAls(const completion::ImplicitAlsOptions& options = {}, const GrowOptions& grow = {})
      : als_(options), grow_(grow) {}

  void fit(const Space& space, const data::Interactions& train) {
    data_ = train;
    als_.fit(space, completion::make_rating_matrix<T>(space, data_, als_.options().weights));
    tables_ = als_.tables();
    grown_ = false;
  }

  void update(const Space& space, const data::Interactions& added) {
    SEQREC_REQUIRE(als_.fitted(), "IncrementalAls::update: call fit() first");
    if (added.size() == 0) return;
    SEQREC_REQUIRE(added.users.size() >= data_.users.size() && added.items.size() >= data_.items.size(),
                   "IncrementalAls::update: the added interactions' id maps (", added.users.size(), " users, ",
                   added.items.size(), " items) must extend the model's (", data_.users.size(), ", ",
                   data_.items.size(), ")");
    data_.users = added.users;
    data_.items = added.items;
    for (index_t e = 0; e < added.size(); ++e)
      data_.push_back(added.user[e], added.item[e], added.weight[e], added.time[e]);
    const index_t nu = data_.num_users(), ni = data_.num_items();
    if (nu > tables_.num_users() || ni > tables_.num_items()) {
      tables_ = grow_factor_tables(space, tables_, nu, ni, grow_);
      grown_ = true;
    }
    const auto r = completion::make_rating_matrix<T>(space, data_, als_.options().weights);
    std::vector<id_t> users(added.user.begin(), added.user.end());
    std::sort(users.begin(), users.end());
    users.erase(std::unique(users.begin(), users.end()), users.end());
    if (!grown_)
      als_.fold_in(space, r, std::span<const id_t>(users));
    else
      als_fold_in(space, tables_, r, std::span<const id_t>(users), als_.options(),
                  std::is_same_v<Solver, completion::Cholesky>);
  }

  void score_all(const Space& space, View1<const id_t, Space> users, View2<T, Space> scores) const {
    completion::score_all_factors(space, tables_, users, scores, workspace_, "IncrementalAls::score_all");
  }
  void score(const Space& space, View1<const id_t, Space> users, View2<const id_t, Space> candidates,
             View2<T, Space> scores) const {
    completion::score_factors(space, tables_, users, candidates, scores, "IncrementalAls::score");
  }

  index_t num_items() const { return tables_.num_items(); }
  index_t num_users() const { return tables_.num_users(); }
  bool grown() const { return grown_; }
  const completion::FactorTables<T, Space>& tables() const { return tables_; }
  const completion::ImplicitAls<T, Space, Solver>& als() const { return als_; }
  const data::Interactions& data() const { return data_; }

 private:
  completion::ImplicitAls<T, Space, Solver> als_;
  GrowOptions grow_;
  data::Interactions data_;
  completion::FactorTables<T, Space> tables_;
  bool grown_ = false;
  mutable View2<T, Space> workspace_;
};

// Any model, never updated: the baseline the loop compares incremental updates against.
template <class Model>
class Frozen {
 public:
  using scalar_type = typename Model::scalar_type;
  using execution_space = typename Model::execution_space;
  using memory_space = typename execution_space::memory_space;

  Frozen() = default;
  explicit Frozen(Model model) : model_(std::move(model)) {}

  template <class... Args>
  void fit(const execution_space& space, Args&&... args) {
    model_.fit(space, std::forward<Args>(args)...);
  }
  void update(const execution_space&, const data::Interactions&) {}
  void score_all(const execution_space& space, View1<const id_t, execution_space> users,
                 View2<scalar_type, execution_space> scores) const {
    model_.score_all(space, users, scores);
  }
  index_t num_items() const { return model_.num_items(); }
  Model& model() { return model_; }
  const Model& model() const { return model_; }

 private:
  Model model_;
};

// ------------------------------------------------------------------------------------------------ simulator

struct SimulatorOptions {
  double cut = 0.8;  // share of the interactions (in time order) before the cut
  int rounds = 10;
  index_t k = 10;       // items shown per user and round
  index_t window = 10;  // a user accepts shown items among their next `window` remaining future items
  std::uint64_t seed = 42;
  index_t batch_size = 256;  // users scored at once
};

struct RoundMetrics {
  int round = 0;
  index_t users = 0;  // users shown a list this round
  index_t shown = 0;  // items shown (fewer than users * k only when a user has fewer unseen items)
  index_t accepted = 0;
  double acceptance_rate = 0;
  index_t cumulative_hits = 0;
  double coverage = 0;
  double cumulative_coverage = 0;
  double novelty = 0;
  index_t graph_interactions = 0;
  double recommend_seconds = 0;
  double update_seconds = 0;

  nlohmann::json to_json() const {
    return {{"round", round},
            {"users", users},
            {"shown", shown},
            {"accepted", accepted},
            {"acceptance_rate", acceptance_rate},
            {"cumulative_hits", cumulative_hits},
            {"coverage", coverage},
            {"cumulative_coverage", cumulative_coverage},
            {"novelty", novelty},
            {"graph_interactions", graph_interactions},
            {"recommend_seconds", recommend_seconds},
            {"update_seconds", update_seconds}};
  }
};

// What an observer of run() sees after each round (before the model update).
struct RoundRecord {
  const RoundMetrics& metrics;
  std::span<const id_t> users;  // the users shown a list, ascending
  std::span<const id_t> shown;  // [users.size() x k], row per user, 0-padded
  const data::Interactions& accepted;
};

template <Scalar T, ExecutionSpace Space>
class FeedbackLoop {
 public:
  struct Future {
    id_t item;
    float weight;
    std::int64_t time;
  };

  FeedbackLoop(const data::Interactions& all, const SimulatorOptions& options) : options_(options) {
    SEQREC_REQUIRE(options.cut > 0 && options.cut < 1, "FeedbackLoop: cut must be in (0, 1), got ", options.cut);
    SEQREC_REQUIRE(options.rounds >= 0, "FeedbackLoop: rounds must be >= 0, got ", options.rounds);
    SEQREC_REQUIRE(options.k >= 1 && options.k <= eval::kMaxTopK, "FeedbackLoop: k must be in [1, ", eval::kMaxTopK,
                   "], got ", options.k);
    SEQREC_REQUIRE(options.window >= 1, "FeedbackLoop: window must be >= 1, got ", options.window);
    const data::Split split = data::temporal_split_fraction(all, options.cut);
    train_ = split.train;
    const index_t nu = train_.num_users(), ni = train_.num_items();
    initial_seen_.assign(static_cast<std::size_t>(nu), {});
    for (index_t e = 0; e < train_.size(); ++e)
      initial_seen_[static_cast<std::size_t>(train_.user[e])].push_back(train_.item[e]);
    std::vector<index_t> item_users(static_cast<std::size_t>(ni) + 1, 0);
    for (auto& s : initial_seen_) {
      std::sort(s.begin(), s.end());
      s.erase(std::unique(s.begin(), s.end()), s.end());
      for (id_t i : s) ++item_users[static_cast<std::size_t>(i)];
    }
    self_information_.assign(static_cast<std::size_t>(ni) + 1, 0.0);
    for (index_t i = 1; i <= ni; ++i)
      self_information_[static_cast<std::size_t>(i)] =
          -std::log2((double(item_users[static_cast<std::size_t>(i)]) + 1.0) / (double(nu) + 1.0));
    // Each user's future in time order, without items seen before the cut or repeated.
    initial_future_.assign(static_cast<std::size_t>(nu), {});
    const data::Sequences& test = split.test;
    for (index_t u = 0; u < test.num_users(); ++u) {
      auto& f = initial_future_[static_cast<std::size_t>(u)];
      const auto& seen = initial_seen_[static_cast<std::size_t>(u)];
      for (index_t e = test.offsets[u]; e < test.offsets[u + 1]; ++e) {
        const id_t i = test.items[static_cast<std::size_t>(e)];
        if (std::binary_search(seen.begin(), seen.end(), i)) continue;
        if (std::any_of(f.begin(), f.end(), [&](const Future& x) { return x.item == i; })) continue;
        f.push_back({i, test.weights[static_cast<std::size_t>(e)], test.times[static_cast<std::size_t>(e)]});
      }
      future_interactions_ += static_cast<index_t>(f.size());
    }
  }

  // What the model is fitted on before run().
  const data::Interactions& train() const { return train_; }
  index_t num_users() const { return train_.num_users(); }
  index_t num_items() const { return train_.num_items(); }
  // Future interactions that can be accepted at all (not seen before the cut, first occurrence).
  index_t future_interactions() const { return future_interactions_; }
  const SimulatorOptions& options() const { return options_; }
  // The interaction graph after the last run(): the training interactions plus every accepted one.
  const graph::InteractionGraph& graph() const { return graph_; }

  // Runs the rounds on a fitted model from the state right after the cut (each call starts afresh); calls
  // observer(const RoundRecord&) after each round, before the model update.
  template <class Model, class Policy, class Observer>
  std::vector<RoundMetrics> run(const Space& space, Model& model, const Policy& policy, Observer&& observer) {
    static_assert(check_loop_model<Model>());
    static_assert(
        std::is_same_v<typename Model::scalar_type, T> && std::is_same_v<typename Model::execution_space, Space>,
        "seqrec::loop::FeedbackLoop: the model's scalar and execution space must be the loop's");
    static_assert(check_exploration_policy<Policy, T>());
    const index_t nu = num_users(), ni = num_items(), k = options_.k;
    SEQREC_REQUIRE_EQ(model.num_items(), ni, "FeedbackLoop::run: the model's num_items");
    auto seen = initial_seen_;
    auto future = initial_future_;
    graph_ = graph::InteractionGraph(train_);
    std::vector<index_t> exposures(static_cast<std::size_t>(ni) + 1, 0);
    std::vector<char> ever_shown(static_cast<std::size_t>(ni) + 1, 0);
    index_t total_shown = 0, hits = 0, distinct_ever = 0;
    PolicyRanker<T, Space> ranker(space, ni, k, options_.batch_size);
    const RandomSource rng(options_.seed);
    std::vector<RoundMetrics> out;
    for (int round = 0; round < options_.rounds; ++round) {
      using Clock = std::chrono::steady_clock;
      const auto t0 = Clock::now();
      std::vector<id_t> users;
      for (index_t u = 0; u < nu; ++u)
        if (!future[static_cast<std::size_t>(u)].empty()) users.push_back(static_cast<id_t>(u));
      RoundMetrics m;
      m.round = round;
      m.users = static_cast<index_t>(users.size());
      data::Interactions added;
      added.users = train_.users;
      added.items = train_.items;
      added.has_weight = train_.has_weight;
      added.has_time = train_.has_time;
      std::vector<id_t> shown_host;
      if (!users.empty()) {
        // Device inputs of the round: the history, the exposure counts, the users.
        std::vector<index_t> offsets(static_cast<std::size_t>(nu) + 1, 0);
        std::vector<id_t> items;
        for (index_t u = 0; u < nu; ++u) {
          const auto& s = seen[static_cast<std::size_t>(u)];
          items.insert(items.end(), s.begin(), s.end());
          offsets[static_cast<std::size_t>(u) + 1] = static_cast<index_t>(items.size());
        }
        const auto history =
            eval::make_history(space, std::span<const index_t>(offsets), std::span<const id_t>(items), ni);
        Kokkos::View<const index_t*, Kokkos::HostSpace, Kokkos::MemoryUnmanaged> h_exp(exposures.data(),
                                                                                       exposures.size());
        Kokkos::View<const id_t*, Kokkos::HostSpace, Kokkos::MemoryUnmanaged> h_users(users.data(), users.size());
        auto d_exp = make_uninitialized<View1<index_t, Space>>(space, "loop::exposures", exposures.size());
        auto d_users = make_uninitialized<View1<id_t, Space>>(space, "loop::users", users.size());
        Kokkos::deep_copy(space, d_exp, h_exp);
        Kokkos::deep_copy(space, d_users, h_users);
        const PolicyRound pr{rng.stream(static_cast<std::uint64_t>(round)), std::log(double(total_shown) + 1.0), ni};
        const auto top = to_host(ranker.recommend(space, model, policy, pr, View1<const index_t, Space>(d_exp),
                                                  View1<const id_t, Space>(d_users), history));
        shown_host.assign(top.data(), top.data() + top.size());
      }
      m.recommend_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
      // The users' answers.
      std::vector<char> this_round(static_cast<std::size_t>(ni) + 1, 0);
      index_t distinct = 0;
      double novelty = 0;
      for (std::size_t b = 0; b < users.size(); ++b) {
        const id_t u = users[b];
        auto& f = future[static_cast<std::size_t>(u)];
        auto& s = seen[static_cast<std::size_t>(u)];
        const std::size_t w = std::min<std::size_t>(f.size(), static_cast<std::size_t>(options_.window));
        std::vector<char> take(w, 0);
        for (index_t j = 0; j < k; ++j) {
          const id_t i = shown_host[b * static_cast<std::size_t>(k) + static_cast<std::size_t>(j)];
          if (i == 0) continue;
          SEQREC_REQUIRE(!std::binary_search(s.begin(), s.end(), i), "FeedbackLoop: item ", i, " was shown to user ", u,
                         " who has seen it (a policy bug)");
          ++m.shown;
          ++exposures[static_cast<std::size_t>(i)];
          novelty += self_information_[static_cast<std::size_t>(i)];
          if (!this_round[static_cast<std::size_t>(i)]) this_round[static_cast<std::size_t>(i)] = 1, ++distinct;
          if (!ever_shown[static_cast<std::size_t>(i)]) ever_shown[static_cast<std::size_t>(i)] = 1, ++distinct_ever;
          for (std::size_t p = 0; p < w; ++p)
            if (f[p].item == i) take[p] = 1;
        }
        std::vector<Future> rest;
        for (std::size_t p = 0; p < f.size(); ++p) {
          if (p < w && take[p]) {
            added.push_back(u, f[p].item, f[p].weight, f[p].time);
            s.insert(std::upper_bound(s.begin(), s.end(), f[p].item), f[p].item);
            graph_.add_interaction_dense(u, f[p].item, f[p].weight, f[p].time);
          } else {
            rest.push_back(f[p]);
          }
        }
        f.swap(rest);
      }
      m.accepted = added.size();
      hits += m.accepted;
      total_shown += m.shown;
      m.cumulative_hits = hits;
      m.acceptance_rate = m.shown > 0 ? double(m.accepted) / double(m.shown) : 0.0;
      m.coverage = double(distinct) / double(ni);
      m.cumulative_coverage = double(distinct_ever) / double(ni);
      m.novelty = m.shown > 0 ? novelty / double(m.shown) : 0.0;
      m.graph_interactions = graph_.num_interactions();
      observer(RoundRecord{m, std::span<const id_t>(users), std::span<const id_t>(shown_host), added});
      const auto t1 = Clock::now();
      model.update(space, added);
      space.fence();
      m.update_seconds = std::chrono::duration<double>(Clock::now() - t1).count();
      out.push_back(m);
    }
    return out;
  }

  template <class Model, class Policy>
  std::vector<RoundMetrics> run(const Space& space, Model& model, const Policy& policy) {
    return run(space, model, policy, [](const RoundRecord&) {});
  }

 private:
  SimulatorOptions options_;
  data::Interactions train_;
  std::vector<std::vector<id_t>> initial_seen_;
  std::vector<std::vector<Future>> initial_future_;
  std::vector<double> self_information_;
  index_t future_interactions_ = 0;
  graph::InteractionGraph graph_;
};

}  // namespace seqrec::loop
