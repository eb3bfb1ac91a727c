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
// MultiTaskRecommender is the common form of MultiTaskModel<Encoder, Combinator, std::tuple<Aux...>, Head, Loss,
// Optimizer>, whose head, next-item loss (any candidate loss, or a RuntimeLoss holding one) and optimizer are
// policies passed as in SequentialRecommender: `Model model(..., make_encoder, {.loss = BprMax<float, Space>(.5f)})`.
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
#include <seqrec/heads/aux_task.hpp>
#include <seqrec/heads/aux_tasks.hpp>
#include <seqrec/heads/dot_product.hpp>
#include <seqrec/heads/joint_tasks.hpp>
#include <seqrec/losses/binary_cross_entropy.hpp>
#include <seqrec/losses/combinators.hpp>
#include <seqrec/model_core.hpp>
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
  using Variant = variant_of_t<losses::Combinators<K>>;
  static constexpr std::size_t num_tasks = K;
  static constexpr bool needs_grad_norms = true;

  RuntimeCombinator() : c_(losses::Sum<K>()) {}
  template <class C>
  explicit RuntimeCombinator(C c) : c_(std::move(c)) {}

  // name: one of losses::Combinators (sum | weighted | uncertainty | gradnorm | dwa); `weights` only for weighted
  // (empty: all 1). `kinds` matters to uncertainty only: a regression task's loss is scaled by 1/(2σ²), a
  // classification's by 1/σ². An unknown name throws with the list, never a fallback.
  static RuntimeCombinator make(const std::string& name, const std::vector<double>& weights = {},
                                std::optional<std::array<losses::TaskKind, K>> kinds = std::nullopt) {
    SEQREC_REQUIRE(weights.empty() || name == "weighted", "combinator ", name,
                   " learns or fixes its own weights; explicit weights need the weighted combinator");
    std::optional<RuntimeCombinator> out;
    for_each_type(losses::Combinators<K>{}, [&](auto id) {
      if (name != decltype(id)::type::key) return false;
      out.emplace(RuntimeCombinator(losses::make_combinator(id, weights, kinds)));
      return true;
    });
    SEQREC_REQUIRE(out.has_value(), "unknown combinator '", name, "' (", losses::combinator_names<K>(), ")");
    return std::move(*out);
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
template <class Tuple, class T, class Space>
struct AuxTraits {
  static_assert(std::is_void_v<Tuple> && !std::is_void_v<Tuple>,  // false, but only when instantiated
                "seqrec: MultiTaskModel's Tasks is a std::tuple of auxiliary tasks");
};
template <class... A, class T, class Space>
struct AuxTraits<std::tuple<A...>, T, Space> {
  static_assert(sizeof...(A) > 0, "seqrec: MultiTaskModel needs at least one auxiliary task");
  static_assert((heads::check_aux_task<A, T, Space>() && ...));
  static constexpr std::array<const char*, 1 + sizeof...(A)> names{"next_item", A::name...};
  static constexpr std::array<losses::TaskKind, 1 + sizeof...(A)> kinds{losses::TaskKind::classification, A::kind...};
  static constexpr bool hidden_gradients = (A::has_hidden_gradient && ...);
  using data_type = std::conditional_t<sizeof...(A) == 1, typename std::tuple_element_t<0, std::tuple<A...>>::data_type,
                                       std::tuple<typename A::data_type...>>;
};
}  // namespace detail

// The general form: Tasks a std::tuple of auxiliary tasks; Head, Loss and Optimizer policies as in
// SequentialRecommender. The next-item loss scores sampled candidates: a CandidateLoss, or a RuntimeLoss holding one.
template <class Encoder, class Combinator, class Tasks,
          class Head = heads::DotProduct<typename Encoder::scalar_type, typename Encoder::execution_space>,
          class Loss = losses::BinaryCrossEntropy<typename Encoder::scalar_type, typename Encoder::execution_space>,
          class Optimizer = train::Adam<typename Encoder::scalar_type, typename Encoder::execution_space>>
class MultiTaskModel : public ModelCore<Encoder, Optimizer> {
  using Core = ModelCore<Encoder, Optimizer>;
  static_assert(losses::check_loss_combinator<Combinator>());
  static_assert(heads::check_head<Head>());
  static_assert(losses::check_loss<Loss>());
  static_assert(
      !losses::CatalogueLoss<Loss>,
      "seqrec: MultiTaskModel's next-item loss scores the sampled candidates (a candidate loss); the combinator "
      "weights that gradient, which a catalogue loss (ce) takes in blocks");
  using tasks_type = Tasks;
  using traits = detail::AuxTraits<tasks_type, typename Encoder::scalar_type, typename Encoder::execution_space>;
  static constexpr std::size_t num_aux = std::tuple_size_v<tasks_type>;
  static_assert(Combinator::num_tasks == 1 + num_aux,
                "seqrec: MultiTaskRecommender's combinator must be over 1 + sizeof...(Aux) tasks (the next item, then "
                "each auxiliary task; AttributeTask when none is named)");

 public:
  using scalar_type = typename Encoder::scalar_type;
  using execution_space = typename Encoder::execution_space;
  using memory_space = typename execution_space::memory_space;
  using combinator_type = Combinator;
  using head_type = Head;
  using loss_type = Loss;
  using typename Core::optimizer_config;
  using Policies = ModelPolicies<Head, Loss, optimizer_config>;
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
  MultiTaskModel(const Space& space, index_t num_items, RecommenderConfig config, std::uint64_t seed,
                 const aux_data_type& aux_data, Combinator combinator, MakeEncoder&& make, Policies policies = {})
      : Core(space, num_items, config, seed, std::forward<MakeEncoder>(make), "MultiTaskRecommender"),
        combinator_(std::move(combinator)),
        head_(std::move(policies.head)),
        loss_(std::move(policies.loss)),
        // Registered after the encoder: the next-item parameters come first, in SequentialRecommender's order.
        aux_(make_tasks(space, this->params_, config.dim, num_items, aux_data, config.batch * this->maxlen(),
                        std::make_index_sequence<num_aux>{})) {
    SEQREC_REQUIRE(traits::hidden_gradients || !grad_norms_needed(),
                   "MultiTaskRecommender: GradNorm balances the tasks' gradients on the encoder's hidden states, and "
                   "the item-item task has none (it trains the item table): choose another combinator");
    this->require_candidate_loss(loss_, "the combinator weights the candidates' gradient");
    // A stream the RandomSource never reaches (it counts up from 0), so every later draw matches
    // SequentialRecommender's.
    each_task([&](auto index, auto& task) { task.init(space, this->rng_.stream(attribute_init_stream + index)); });
    this->finish(space, std::nullopt, policies.optimizer);
    epoch_sum_.fill(0.0);
    last_.fill(0.0);
  }

  static constexpr std::uint64_t attribute_init_stream = std::uint64_t(1) << 62;

  const aux_type& aux() const { return std::get<0>(aux_); }
  template <std::size_t I>
  const auto& task() const {
    return std::get<I>(aux_);
  }
  const Head& head() const { return head_; }
  const Loss& loss() const { return loss_; }
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
    Core::save(path, epoch);
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
    const auto epoch = Core::load(path);
    losses::restore_combinator_state(combinator_, values);
    return epoch;
  }

  // One optimisation step on both tasks. Returns the combined objective (combinator.combine) with the
  // next-item loss's count; the task losses are in last_task_losses(). Throws Errc::numeric, naming the first
  // parameter with a NaN/Inf gradient, when a task loss is not finite. `sync` as in SequentialRecommender.
  template <class Sync = NoGradientSync>
  losses::LossValue train_step(const Space& space, const data::SequenceBatch<Space>& batch, RandomStream step,
                               Sync&& sync = {}) {
    const auto& items = this->forward_encoder(space, batch, step);
    this->ensure_candidate_buffers(space);
    const auto hidden = this->hidden_, dhidden = this->dhidden_, scores = this->scores_, dscores = this->dscores_;
    const auto cand = this->cand_;
    const auto targets = this->targets_;
    head_.forward(space, hidden, cand, scores, items);
    const auto l0 = Core::candidate_loss(space, loss_, scores, cand, dscores);
    TaskValues losses{l0.value};
    each_task([&](auto index, auto& task) {
      losses[1 + index] = task.forward(space, hidden, targets, batch, items, true, task_stream(step, index)).value;
    });
    for (std::size_t k = 0; k < num_tasks; ++k) this->require_finite_loss(space, losses[k], task_names[k]);
    last_ = losses;
    last_objective_ = combinator_.combine(losses);
    std::apply([&](auto&... task) { losses::scale_gradients(space, combinator_, dscores, task.upstream()...); }, aux_);
    head_.backward(space, hidden, cand, dscores, dhidden, items);
    TaskValues norms{};
    if (grad_norms_needed()) {
      // Each task's gradient on h apart for its norm (unweighted: divided by the weight it was scaled by).
      if (dhidden_aux_.extent(0) != dhidden.extent(0))
        dhidden_aux_ = make_uninitialized<rows_type>(space, "MultiTask::dhidden_aux", dhidden.extent(0), this->dim());
      const auto w = combinator_.weights();
      norms[0] = w[0] > 0 ? losses::gradient_norm(space, dhidden) / w[0] : 0.0;
      each_task([&](auto index, auto& task) {
        task.backward(space, hidden, targets, items, dhidden_aux_, false, batch);
        norms[1 + index] = w[1 + index] > 0 ? losses::gradient_norm(space, dhidden_aux_) / w[1 + index] : 0.0;
        add_into(space, dhidden, dhidden_aux_);
      });
    } else {
      each_task([&](auto, auto& task) { task.backward(space, hidden, targets, items, dhidden, true, batch); });
    }
    this->backward_encoder(space, batch, step);
    const losses::LossValue reported = sync(space, *this, batch, losses::LossValue{last_objective_, l0.count});
    combinator_.update(losses, norms);
    this->step_optimizer(space);
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
    const auto& items = this->forward_encoder(space, batch, RandomStream(), false);
    this->ensure_candidate_buffers(space);
    head_.forward(space, this->hidden_, this->cand_, this->scores_, items);
    rows_type none;
    TaskValues losses{Core::candidate_loss(space, loss_, this->scores_, this->cand_, none).value};
    each_task([&](auto index, auto& task) {
      losses[1 + index] =
          task.forward(space, this->hidden_, this->targets_, batch, items, false, task_stream(RandomStream(), index))
              .value;
    });
    return losses;
  }

  // Scoring: exactly SequentialRecommender's (the next-item task).
  void score(const Space& space, View1<const id_t, Space> users, View2<const id_t, Space> candidates,
             View2<T, Space> scores) {
    head_.forward(space, this->last_states(space, users), candidates, scores, this->item_representation(space));
  }

  void score_all(const Space& space, View1<const id_t, Space> users, View2<T, Space> scores) {
    SEQREC_REQUIRE_SHAPE(scores, "score_all scores", index_t(users.extent(0)), this->num_items() + 1);
    head_.forward_all(space, this->last_states(space, users), scores, this->item_representation(space));
  }

  // The helpers below are public only because nvcc refuses device lambdas inside private member functions.
  bool grad_norms_needed() const {
    if constexpr (requires(const Combinator& c) { c.grad_norms_needed(); })
      return combinator_.grad_norms_needed();
    else
      return Combinator::needs_grad_norms;
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
  Combinator combinator_;
  Head head_;
  Loss loss_;
  tasks_type aux_;
  rows_type dhidden_aux_;
  TaskValues epoch_sum_, last_;
  double last_objective_ = 0;
  std::int64_t epoch_steps_ = 0;
};

// The common form: the next item with BCE and Adam, and the auxiliary tasks Aux... (AttributeTask when none is named).
template <class Encoder, class Combinator = losses::UncertaintyWeighting<2>, class... Aux>
using MultiTaskRecommender = MultiTaskModel<Encoder, Combinator, typename detail::AuxTasks<Encoder, Aux...>::type>;

}  // namespace seqrec
