// MultiTaskRecommender<Encoder, Combinator, Aux...>: SequentialRecommender's next-item model (shared item
// embedding, encoder, dot-product head, BCE with sampled negatives) plus auxiliary tasks on the same encoder
// (heads/aux_tasks.hpp, heads/joint_tasks.hpp): AttributeTask (the default when no Aux is named) predicts, at every
// position, the attributes of that position's target item (multi-label BCE); RatingTask its rating (regression);
// ItemItemTask and UserUserTask train the item table and the users' states jointly. The losses are combined by a
// loss combinator (losses/combinators.hpp) over K = 1 + sizeof...(Aux) tasks, task 0 the next item:
//
//   using Model = seqrec::MultiTaskRecommender<seqrec::sequence::SelfAttentionEncoder<float, Space>,
//                                              seqrec::losses::UncertaintyWeighting<2>>;
//   Model model(space, num_items, config, seed, attributes, Model::combinator_type(), make_encoder);
//
// With one auxiliary task, aux_data is that task's data_type; with several, a std::tuple of them in task order.
//
// Per step each task's upstream gradient (dscores, the auxiliary task's upstream()) is scaled by its current weight
// before both heads back-propagate into the shared dhidden; the combinator then learns (update) and, at the end of an
// epoch, end_epoch() hands it the epoch's mean task losses. Scoring (score, score_all, set_scoring_windows) is the
// next-item model's, so the evaluators take this model as they take SequentialRecommender.
//
// With weights {1, 0} the trajectory is SequentialRecommender's with the same seed: the attribute head's
// initial weights come from a stream the model's RandomSource never hands out, and a zero-weighted task
// adds exact zeros to every shared gradient.
//
// save/load cover parameters, optimizer and random position, and the combinator's own state (learned
// log-variances, GradNorm's weights, DWA's loss history) in a small file next to the checkpoint
// (combinator_path), written atomically as well.
#pragma once

#include <seqrec/core/atomic_file.hpp>
#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/linalg.hpp>
#include <seqrec/core/parameter.hpp>
#include <seqrec/core/random.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/data/attributes.hpp>
#include <seqrec/data/batch.hpp>
#include <seqrec/data/interactions.hpp>
#include <seqrec/heads/attribute_head.hpp>
#include <seqrec/heads/aux_tasks.hpp>
#include <seqrec/heads/dot_product.hpp>
#include <seqrec/heads/joint_tasks.hpp>
#include <seqrec/losses/binary_cross_entropy.hpp>
#include <seqrec/losses/combinators.hpp>
#include <seqrec/sequence/embedding.hpp>
#include <seqrec/sequence/scoring_windows.hpp>
#include <seqrec/sequential_recommender.hpp>
#include <seqrec/train/adam.hpp>
#include <seqrec/train/checkpoint.hpp>

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace seqrec {

// A combinator chosen at run time (seqrec-train's --combinator) among the five of losses/combinators.hpp.
// It declares needs_grad_norms (the static interface) but grad_norms_needed() says whether the one it holds
// reads them, so the model takes the separate-buffer GradNorm path only for GradNorm.
template <std::size_t K>
class RuntimeCombinator {
 public:
  using Variant = std::variant<losses::Sum<K>, losses::Weighted<K>, losses::UncertaintyWeighting<K>,
                               losses::GradNorm<K>, losses::DynamicWeightAverage<K>>;
  static constexpr std::size_t num_tasks = K;
  static constexpr bool needs_grad_norms = true;

  RuntimeCombinator() : c_(losses::Sum<K>()) {}
  template <class C>
  explicit RuntimeCombinator(C c) : c_(std::move(c)) {}

  // name: sum | weighted | uncertainty | gradnorm | dwa; `weights` only for weighted (empty: all 1). `kinds`
  // matters to uncertainty only: a regression task's loss is scaled by 1/(2σ²), a classification's by 1/σ².
  static RuntimeCombinator make(const std::string& name, const std::vector<double>& weights = {},
                                std::optional<std::array<losses::TaskKind, K>> kinds = std::nullopt) {
    SEQREC_REQUIRE(weights.empty() || name == "weighted", "combinator ", name,
                   " learns or fixes its own weights; explicit weights need the weighted combinator");
    if (name == "sum") return RuntimeCombinator(losses::Sum<K>());
    if (name == "weighted") {
      losses::TaskValues<K> w;
      w.fill(1.0);
      if (!weights.empty()) {
        SEQREC_REQUIRE(weights.size() == K, "weighted combinator: ", weights.size(), " weights for ", K, " tasks");
        std::copy(weights.begin(), weights.end(), w.begin());
      }
      return RuntimeCombinator(losses::Weighted<K>(w));
    }
    if (name == "uncertainty")
      return RuntimeCombinator(kinds ? losses::UncertaintyWeighting<K>(*kinds, 1e-2)
                                     : losses::UncertaintyWeighting<K>());
    if (name == "gradnorm") return RuntimeCombinator(losses::GradNorm<K>());
    if (name == "dwa") return RuntimeCombinator(losses::DynamicWeightAverage<K>());
    SEQREC_THROW(Errc::invalid_argument, "unknown combinator '", name,
                 "' (sum, weighted, uncertainty, gradnorm or dwa)");
  }

  bool grad_norms_needed() const { return std::holds_alternative<losses::GradNorm<K>>(c_); }
  std::string name() const {
    return std::visit([](const auto& c) { return c.name(); }, c_);
  }
  losses::TaskValues<K> weights() const {
    return std::visit([](const auto& c) { return losses::TaskValues<K>(c.weights()); }, c_);
  }
  double combine(const losses::TaskValues<K>& l) {
    return std::visit([&](auto& c) { return c.combine(l); }, c_);
  }
  void update(const losses::TaskValues<K>& l, const losses::TaskValues<K>& g) {
    std::visit([&](auto& c) { c.update(l, g); }, c_);
  }
  void end_epoch(const losses::TaskValues<K>& l) {
    std::visit([&](auto& c) { c.end_epoch(l); }, c_);
  }
  std::vector<double> state() const {
    return std::visit([](const auto& c) { return losses::combinator_state(c); }, c_);
  }
  void set_state(std::span<const double> v) {
    std::visit([&](auto& c) { losses::restore_combinator_state(c, v); }, c_);
  }
  const Variant& get() const { return c_; }

 private:
  Variant c_;
};

static_assert(losses::check_loss_combinator<RuntimeCombinator<2>>());

namespace detail {
// The auxiliary tasks as a tuple (AttributeTask when none is named), their names and their data.
template <class Encoder, class... Aux>
struct AuxTasks {
  using type = std::tuple<Aux...>;
};
template <class Encoder>
struct AuxTasks<Encoder> {
  using type = std::tuple<heads::AttributeTask<typename Encoder::scalar_type, typename Encoder::execution_space>>;
};
template <class Tuple>
struct AuxTraits;
template <class... A>
struct AuxTraits<std::tuple<A...>> {
  static constexpr std::array<const char*, 1 + sizeof...(A)> names{"next_item", A::name...};
  static constexpr std::array<losses::TaskKind, 1 + sizeof...(A)> kinds{losses::TaskKind::classification, A::kind...};
  static constexpr bool hidden_gradients = (A::has_hidden_gradient && ...);
  using data_type = std::conditional_t<sizeof...(A) == 1, typename std::tuple_element_t<0, std::tuple<A...>>::data_type,
                                       std::tuple<typename A::data_type...>>;
};
}  // namespace detail

template <class Encoder, class Combinator = losses::UncertaintyWeighting<2>, class... Aux>
class MultiTaskRecommender {
  static_assert(check_sequence_encoder<Encoder>());
  static_assert(losses::check_loss_combinator<Combinator>());
  using tasks_type = typename detail::AuxTasks<Encoder, Aux...>::type;
  using traits = detail::AuxTraits<tasks_type>;
  static constexpr std::size_t num_aux = std::tuple_size_v<tasks_type>;
  static_assert(Combinator::num_tasks == 1 + num_aux,
                "seqrec: MultiTaskRecommender's combinator must be over 1 + sizeof...(Aux) tasks (the next item, then "
                "each auxiliary task; AttributeTask when none is named)");

 public:
  using scalar_type = typename Encoder::scalar_type;
  using execution_space = typename Encoder::execution_space;
  using memory_space = typename execution_space::memory_space;
  using combinator_type = Combinator;
  using T = scalar_type;
  using Space = execution_space;
  using rows_type = View2<T, Space>;
  static constexpr std::size_t num_tasks = 1 + num_aux;
  using TaskValues = losses::TaskValues<num_tasks>;
  using aux_type = std::tuple_element_t<0, tasks_type>;  // the first auxiliary task
  using aux_data_type = typename traits::data_type;
  static constexpr std::array<const char*, num_tasks> task_names = traits::names;
  // Each task's kind, for combinators that treat regression apart (uncertainty weighting).
  static constexpr std::array<losses::TaskKind, num_tasks> task_kinds = traits::kinds;

  // aux_data: what the auxiliary tasks learn from (Aux::data_type; a tuple of them for several): item
  // attributes aligned with the interactions' dense item ids (data::read_item_attributes_json) for
  // AttributeTask, the training sequences (their weights are the ratings) for RatingTask and UserUserTask,
  // ItemItemTask::Options for ItemItemTask.
  template <class MakeEncoder>
  MultiTaskRecommender(const Space& space, index_t num_items, RecommenderConfig config, std::uint64_t seed,
                       const aux_data_type& aux_data, Combinator combinator, MakeEncoder&& make)
      : config_(config),
        rng_(seed),
        combinator_(std::move(combinator)),
        items_(space, params_, "items", num_items + 1, config.dim),
        encoder_(make(space, params_, config.dim)),
        // Registered after the encoder: the next-item parameters come first, in SequentialRecommender's order.
        aux_(make_tasks(space, params_, config.dim, num_items, aux_data, config.batch * encoder_.maxlen(),
                        std::make_index_sequence<num_aux>{})) {
    SEQREC_REQUIRE(num_items > 0, "MultiTaskRecommender: there are no items");
    SEQREC_REQUIRE(traits::hidden_gradients || !grad_norms_needed(),
                   "MultiTaskRecommender: GradNorm balances the tasks' gradients on the encoder's hidden states, and "
                   "the item-item task has none (it trains the item table): choose another combinator");
    SEQREC_REQUIRE(config.batch > 0 && config.negatives > 0, "MultiTaskRecommender: batch (", config.batch,
                   ") and negatives (", config.negatives, ") must be positive");
    const T stddev = T(config.init_stddev > 0 ? config.init_stddev : 1.0 / std::sqrt(double(config.dim)));
    items_.init_normal(space, rng_.next(), stddev);
    encoder_.init(space, rng_);
    // A stream the RandomSource never reaches (it counts up from 0), so every later draw matches
    // SequentialRecommender's.
    each_task([&](auto index, auto& task) { task.init(space, rng_.stream(attribute_init_stream + index)); });
    optimizer_.emplace(space, params_, config.adam);
    const index_t rows = config.batch * maxlen();
    train_ws_ = encoder_.make_workspace(space, config.batch);
    hidden_ = make_uninitialized<rows_type>(space, "MultiTask::hidden", rows, config.dim);
    dhidden_ = make_uninitialized<rows_type>(space, "MultiTask::dhidden", rows, config.dim);
    cand_ = make_uninitialized<View2<id_t, Space>>(space, "MultiTask::candidates", rows, 1 + config.negatives);
    targets_ = make_uninitialized<View1<id_t, Space>>(space, "MultiTask::targets", rows);
    scores_ = make_uninitialized<rows_type>(space, "MultiTask::scores", rows, 1 + config.negatives);
    dscores_ = make_uninitialized<rows_type>(space, "MultiTask::dscores", rows, 1 + config.negatives);
    epoch_sum_.fill(0.0);
    last_.fill(0.0);
  }

  static constexpr std::uint64_t attribute_init_stream = std::uint64_t(1) << 62;

  index_t maxlen() const { return encoder_.maxlen(); }
  index_t batch_size() const { return config_.batch; }
  View2<const id_t, Space> candidates() const { return cand_; }
  index_t dim() const { return config_.dim; }
  index_t num_items() const { return items_.rows() - 1; }
  const ParameterSet<T, Space>& parameters() const { return params_; }
  const sequence::Embedding<T, Space>& items() const { return items_; }
  const Encoder& encoder() const { return encoder_; }
  const aux_type& aux() const { return std::get<0>(aux_); }
  template <std::size_t I>
  const auto& task() const {
    return std::get<I>(aux_);
  }
  train::Adam<T, Space>& optimizer() { return *optimizer_; }
  RandomSource& random() { return rng_; }
  Combinator& combinator() { return combinator_; }
  const Combinator& combinator() const { return combinator_; }
  std::string combinator_name() const { return combinator_.name(); }
  // The weights the next step uses (log them per epoch).
  TaskValues task_weights() const { return combinator_.weights(); }
  // Unweighted task losses of the last train_step, and the objective the combinator reported for it.
  const TaskValues& last_task_losses() const { return last_; }
  double last_objective() const { return last_objective_; }

  // The combinator's state goes next to the checkpoint: "<checkpoint>.combinator".
  static std::filesystem::path combinator_path(const std::filesystem::path& checkpoint) {
    auto p = checkpoint;
    p += ".combinator";
    return p;
  }
  void save(const std::filesystem::path& path, std::int64_t epoch) const {
    const auto values = losses::combinator_state(combinator_);
    write_file_atomic(combinator_path(path), [&](std::ostream& out) {
      out << "seqrec-combinator 1\n" << combinator_.name() << "\n" << values.size() << "\n";
      char buf[40];
      for (double v : values) {
        std::snprintf(buf, sizeof buf, "%.17g\n", v);
        out << buf;
      }
    });
    train::save_model(path, params_, *optimizer_, rng_, epoch);
  }
  std::int64_t load(const std::filesystem::path& path) {
    const auto cpath = combinator_path(path);
    std::ifstream in(cpath);
    SEQREC_REQUIRE_CODE(in.good(), Errc::io, "load: cannot read the combinator state ", cpath.string(),
                        " (written with the checkpoint)");
    std::string magic, version, name;
    std::size_t n = 0;
    in >> magic >> version >> name >> n;
    SEQREC_REQUIRE_CODE(in.good() && magic == "seqrec-combinator" && version == "1" && n < 4096, Errc::parse,
                        cpath.string(),
                        ": not a seqrec combinator state (expected 'seqrec-combinator 1', a name and a count)");
    SEQREC_REQUIRE(name == combinator_.name(), cpath.string(), ": the checkpoint was trained with combinator ", name,
                   ", this model has ", combinator_.name());
    std::vector<double> values(n);
    for (std::size_t k = 0; k < n; ++k) {
      in >> values[k];
      SEQREC_REQUIRE_CODE(!in.fail(), Errc::parse, cpath.string(), ": value ", k + 1, " of ", n,
                          " is missing or not a number");
    }
    const auto epoch = train::load_model(path, params_, *optimizer_, rng_);
    losses::restore_combinator_state(combinator_, values);
    return epoch;
  }

  // One optimisation step on both tasks. Returns the combined objective (combinator.combine) with the
  // next-item loss's count; the task losses are in last_task_losses(). Throws Errc::numeric, naming the first
  // parameter with a NaN/Inf gradient, when a task loss is not finite. `sync` as in SequentialRecommender.
  template <class Sync = NoGradientSync>
  losses::LossValue train_step(const Space& space, const data::SequenceBatch<Space>& batch, RandomStream step,
                               Sync&& sync = {}) {
    batch.require_shape(config_.batch, maxlen(), config_.negatives, "train_step");
    pack_candidates(space, batch);
    params_.zero_grad(space);
    encoder_.forward(space, batch.inputs, items_, hidden_, train_ws_, true, step);
    head_.forward(space, hidden_, cand_, scores_, items_);
    const auto l0 = loss_.forward_backward(space, scores_, cand_, dscores_);
    TaskValues losses{l0.value};
    each_task([&](auto index, auto& task) {
      losses[1 + index] = task.forward(space, hidden_, targets_, batch, items_, true, task_stream(step, index)).value;
    });
    for (std::size_t k = 0; k < num_tasks; ++k)
      if (!std::isfinite(losses[k])) {
        params_.require_finite(space, "multi-task training step with a non-finite loss");
        SEQREC_THROW(Errc::numeric, "the training loss of task ", task_names[k], " is ", losses[k],
                     " while every parameter is finite");
      }
    last_ = losses;
    last_objective_ = combinator_.combine(losses);
    std::apply([&](auto&... task) { losses::scale_gradients(space, combinator_, dscores_, task.upstream()...); }, aux_);
    head_.backward(space, hidden_, cand_, dscores_, dhidden_, items_);
    TaskValues norms{};
    if (grad_norms_needed()) {
      // Each task's gradient on h apart for its norm (unweighted: divided by the weight it was scaled by).
      if (dhidden_aux_.extent(0) != dhidden_.extent(0))
        dhidden_aux_ = make_uninitialized<rows_type>(space, "MultiTask::dhidden_aux", dhidden_.extent(0), dim());
      const auto w = combinator_.weights();
      norms[0] = w[0] > 0 ? losses::gradient_norm(space, dhidden_) / w[0] : 0.0;
      each_task([&](auto index, auto& task) {
        task.backward(space, hidden_, targets_, items_, dhidden_aux_, false, batch);
        norms[1 + index] = w[1 + index] > 0 ? losses::gradient_norm(space, dhidden_aux_) / w[1 + index] : 0.0;
        add_into(space, dhidden_, dhidden_aux_);
      });
    } else {
      each_task([&](auto, auto& task) { task.backward(space, hidden_, targets_, items_, dhidden_, true, batch); });
    }
    encoder_.backward(space, batch.inputs, items_, dhidden_, train_ws_, true, step);
    const losses::LossValue reported = sync(space, *this, batch, losses::LossValue{last_objective_, l0.count});
    combinator_.update(losses, norms);
    optimizer_->step(space);
    for (std::size_t k = 0; k < num_tasks; ++k) epoch_sum_[k] += losses[k];
    ++epoch_steps_;
    return reported;
  }

  // Ends an epoch: the mean task losses of its steps go to the combinator (DWA sets the next epoch's weights
  // here) and are returned. A no-op returning zeros when no step ran.
  TaskValues end_epoch() {
    TaskValues mean{};
    if (epoch_steps_ == 0) return mean;
    for (std::size_t k = 0; k < num_tasks; ++k) mean[k] = epoch_sum_[k] / double(epoch_steps_);
    combinator_.end_epoch(mean);
    epoch_sum_.fill(0.0);
    epoch_steps_ = 0;
    return mean;
  }

  // Mean task losses over `batch` without a step (inference mode, no gradients).
  TaskValues evaluate_losses(const Space& space, const data::SequenceBatch<Space>& batch) {
    pack_candidates(space, batch);
    encoder_.forward(space, batch.inputs, items_, hidden_, train_ws_, false, RandomStream());
    head_.forward(space, hidden_, cand_, scores_, items_);
    rows_type none;
    TaskValues losses{loss_.forward_backward(space, scores_, cand_, none).value};
    each_task([&](auto index, auto& task) {
      losses[1 + index] =
          task.forward(space, hidden_, targets_, batch, items_, false, task_stream(RandomStream(), index)).value;
    });
    return losses;
  }

  // Scoring: exactly SequentialRecommender's (the next-item task).
  void set_scoring_windows(const Space& space, const data::Sequences& history, index_t eval_batch = 256) {
    windows_.set(space, encoder_, history, eval_batch);
  }

  void score(const Space& space, View1<const id_t, Space> users, View2<const id_t, Space> candidates,
             View2<T, Space> scores) {
    head_.forward(space, windows_.encode_last(space, encoder_, items_, users), candidates, scores, items_);
  }

  void score_all(const Space& space, View1<const id_t, Space> users, View2<T, Space> scores) {
    SEQREC_REQUIRE_SHAPE(scores, "score_all scores", index_t(users.extent(0)), num_items() + 1);
    linalg::gemm(space, linalg::Trans::N, linalg::Trans::T, T(1), windows_.encode_last(space, encoder_, items_, users),
                 items_.table(), T(0), scores);
  }

  // The helpers below are public only because nvcc refuses device lambdas inside private member functions.
  bool grad_norms_needed() const {
    if constexpr (requires(const Combinator& c) { c.grad_norms_needed(); })
      return combinator_.grad_norms_needed();
    else
      return Combinator::needs_grad_norms;
  }

  // As SequentialRecommender::pack_candidates, and targets(r) = the target of row r for the attribute task.
  void pack_candidates(const Space& space, const data::SequenceBatch<Space>& batch) {
    auto cand = cand_;
    auto tgt = targets_;
    auto targets = batch.targets;
    auto negs = batch.negatives;
    const index_t L = maxlen(), n = config_.negatives;
    Kokkos::parallel_for(
        "seqrec::MultiTask::pack_candidates",
        Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {0, 0}, {batch.capacity(), L}),
        KOKKOS_LAMBDA(index_t b, index_t t) {
          const index_t r = b * L + t;
          const id_t target = targets(b, t);
          cand(r, 0) = target;
          tgt(r) = target;
          for (index_t j = 0; j < n; ++j) cand(r, 1 + j) = target == 0 ? 0 : negs(b, t, j);
        });
  }

  // The random stream auxiliary task `index` draws from in a step (the item-item task's negatives): far from
  // the counters dropout uses, so adding a task leaves the encoder's draws unchanged.
  static RandomStream task_stream(RandomStream step, std::size_t index) {
    return RandomStream(step.bits(~std::uint64_t(0) - index), 0x7A5C0000u + index);
  }

  template <class F>
  void each_task(F&& f) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (f(std::integral_constant<std::size_t, I>{}, std::get<I>(aux_)), ...);
    }
    (std::make_index_sequence<num_aux>{});
  }

  template <class Data, std::size_t... I>
  static tasks_type make_tasks(const Space& space, ParameterSet<T, Space>& params, index_t dim, index_t num_items,
                               const Data& data, index_t rows, std::index_sequence<I...>) {
    if constexpr (num_aux == 1)
      return tasks_type{std::tuple_element_t<0, tasks_type>(space, params, dim, num_items, data, rows)};
    else  // a braced list: the tasks register their parameters in task order
      return tasks_type{std::tuple_element_t<I, tasks_type>(space, params, dim, num_items, std::get<I>(data), rows)...};
  }

  static void add_into(const Space& space, rows_type dst, rows_type src) {
    auto* d = dst.data();
    const auto* s = src.data();
    Kokkos::parallel_for(
        "seqrec::MultiTask::add_into", Kokkos::RangePolicy<Space>(space, 0, dst.size()),
        KOKKOS_LAMBDA(std::int64_t i) { d[i] += s[i]; });
  }

 private:
  RecommenderConfig config_;
  RandomSource rng_;
  Combinator combinator_;
  ParameterSet<T, Space> params_;
  sequence::Embedding<T, Space> items_;
  Encoder encoder_;
  heads::DotProduct<T, Space> head_;
  losses::BinaryCrossEntropy<T, Space> loss_;
  tasks_type aux_;
  std::optional<train::Adam<T, Space>> optimizer_;
  typename Encoder::Workspace train_ws_;
  sequence::ScoringWindows<Encoder> windows_;
  rows_type hidden_, dhidden_, dhidden_aux_, scores_, dscores_;
  View2<id_t, Space> cand_;
  View1<id_t, Space> targets_;
  TaskValues epoch_sum_, last_;
  double last_objective_ = 0;
  std::int64_t epoch_steps_ = 0;
};

}  // namespace seqrec
