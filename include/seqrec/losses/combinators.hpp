// Loss combinators for multi-task training over K tasks that share an encoder: the objective is
// L = sum_k w_k L_k (+ a regulariser for uncertainty weighting), and each task's upstream gradient (its
// dscores / dlogits / dpred) is scaled by w_k before the shared backward pass. K is a template argument,
// so the number of tasks, and the views handed to scale_gradients, are checked at compile time.
//
//   Sum<K>                      w_k = 1
//   Weighted<K>                 w_k set at run time (constructor or set_weights)
//   FixedWeights<R...>          w_k = std::ratio R_k, fixed at compile time (K = sizeof...(R))
//   UncertaintyWeighting<K>     Kendall, Gal, Cipolla 2018: learned log-variances s_k
//   GradNorm<K>                 Chen et al. 2018: w_k moved to balance per-task gradient norms
//   DynamicWeightAverage<K>     Liu, Johns, Davison 2019 (DWA): w_k from the ratio of the last two epoch losses
//
// Every combinator is a LossCombinator: per step the trainer calls
//   double total = c.combine(losses);          // objective with the current weights (for reporting)
//   scale_gradients(space, c, dscores_0, ...); // one view per task, each scaled by weights()[k]
//   c.update(losses, grad_norms);              // after the backward pass: adaptive combinators learn here
// and at the end of each epoch c.end_epoch(mean_losses) (DWA computes the next epoch's weights there);
// c.weights() is what to log per epoch. grad_norms[k] = ||dL_k/dh||, the norm of task k's unweighted
// gradient on the shared encoder output h (see gradient_norm); only GradNorm reads it
// (needs_grad_norms), the others accept an empty array.
//
// The weights are host doubles: they are K numbers per step, and the kernels read them as launch arguments.
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/type_list.hpp>
#include <seqrec/core/view.hpp>

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <optional>
#include <ratio>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

namespace seqrec::losses {

template <std::size_t K>
using TaskValues = std::array<double, K>;

// What every combinator provides; check_loss_combinator<C>() says which piece is missing.
template <class C>
concept LossCombinator = requires(C c, const C& cc, const TaskValues<C::num_tasks>& v) {
  { C::num_tasks } -> std::convertible_to<std::size_t>;
  { C::needs_grad_norms } -> std::convertible_to<bool>;
  { cc.weights() } -> std::convertible_to<TaskValues<C::num_tasks>>;
  { c.combine(v) } -> std::convertible_to<double>;
  c.update(v, v);
  c.end_epoch(v);
  { cc.name() } -> std::convertible_to<std::string>;
};

namespace detail {
template <class C>
concept has_num_tasks = requires {
  { C::num_tasks } -> std::convertible_to<std::size_t>;
};
template <class C>
concept has_weights = has_num_tasks<C> && requires(const C& c) {
  { c.weights() } -> std::convertible_to<TaskValues<C::num_tasks>>;
};
template <class C>
concept has_combine = has_num_tasks<C> && requires(C c, const TaskValues<C::num_tasks>& v) {
  { c.combine(v) } -> std::convertible_to<double>;
};
template <class C>
concept has_update = has_num_tasks<C> && requires(C c, const TaskValues<C::num_tasks>& v) {
  c.update(v, v);
  c.end_epoch(v);
};
}  // namespace detail

template <class C>
constexpr bool check_loss_combinator() {
  static_assert(detail::has_num_tasks<C>,
                "seqrec: a loss combinator must declare `static constexpr std::size_t num_tasks = K;`");
  static_assert(detail::has_weights<C>,
                "seqrec: a loss combinator must have `weights() const` returning std::array<double, num_tasks>");
  static_assert(detail::has_combine<C>,
                "seqrec: a loss combinator must have `double combine(const std::array<double, num_tasks>& losses)`");
  static_assert(detail::has_update<C>,
                "seqrec: a loss combinator must have `update(losses, grad_norms)` and `end_epoch(losses)` "
                "(both taking std::array<double, num_tasks>; they may do nothing)");
  static_assert(LossCombinator<C>,
                "seqrec: a loss combinator must also declare `static constexpr bool needs_grad_norms` and `name()`");
  return true;
}

// ------------------------------------------------------------------------------------ gradient helpers

// Multiplies every element of a contiguous view by `factor` in place (skips factor 1 and empty views).
template <ExecutionSpace Space, KokkosView V>
void scale_view(const Space& space, const V& v, double factor) {
  using T = typename V::non_const_value_type;
  if (factor == 1.0 || v.size() == 0) return;
  SEQREC_REQUIRE(v.span_is_contiguous(), "scale_view: the view must be contiguous");
  auto* p = v.data();
  const T f = static_cast<T>(factor);
  Kokkos::parallel_for(
      "seqrec::losses::scale_view", Kokkos::RangePolicy<Space>(space, 0, v.size()),
      KOKKOS_LAMBDA(std::int64_t i) { p[i] *= f; });
}

// The combine step: task k's upstream gradient multiplied by c.weights()[k], one view per task in task order.
template <ExecutionSpace Space, class C, KokkosView... Vs>
void scale_gradients(const Space& space, const C& c, const Vs&... grads) {
  static_assert(check_loss_combinator<C>());
  static_assert(sizeof...(Vs) == C::num_tasks,
                "seqrec: scale_gradients takes exactly one gradient view per task of the combinator");
  const auto w = c.weights();
  std::size_t k = 0;
  (scale_view(space, grads, w[k++]), ...);
}

// ||g||_2 over a contiguous view, accumulated in double: the per-task norm GradNorm needs, taken on the
// task's unweighted gradient w.r.t. the shared encoder output.
template <ExecutionSpace Space, KokkosView V>
double gradient_norm(const Space& space, const V& g) {
  SEQREC_REQUIRE(g.span_is_contiguous(), "gradient_norm: the view must be contiguous");
  const auto* p = g.data();
  double s = 0;
  Kokkos::parallel_reduce(
      "seqrec::losses::gradient_norm", Kokkos::RangePolicy<Space>(space, 0, g.size()),
      KOKKOS_LAMBDA(std::int64_t i, double& acc) { acc += double(p[i]) * double(p[i]); }, s);
  return std::sqrt(s);
}

namespace detail {
// K finite values out of a saved state (a checkpoint's), or a clear error.
template <std::size_t K>
TaskValues<K> task_values(std::span<const double> v, const char* who) {
  SEQREC_REQUIRE(v.size() == K, who, ": a state of ", K, " task values, got ", v.size());
  TaskValues<K> out;
  for (std::size_t k = 0; k < K; ++k) {
    SEQREC_REQUIRE_CODE(std::isfinite(v[k]), Errc::numeric, who, ": saved value ", k, " is ", v[k]);
    out[k] = v[k];
  }
  return out;
}
}  // namespace detail

// What a combinator learned or tracked so far (empty for those without state: Sum, FixedWeights), and its
// restoration: a checkpoint carries it so a resumed run continues with the same weights.
template <class C>
std::vector<double> combinator_state(const C& c) {
  if constexpr (requires { c.state(); })
    return c.state();
  else
    return {};
}
template <class C>
void restore_combinator_state(C& c, std::span<const double> v) {
  if constexpr (requires { c.set_state(v); })
    c.set_state(v);
  else
    SEQREC_REQUIRE(v.empty(), "combinator ", c.name(), " keeps no state, but ", v.size(), " values were saved");
}

namespace detail {
template <std::size_t K>
double weighted_total(const TaskValues<K>& w, const TaskValues<K>& losses) {
  double t = 0;
  for (std::size_t k = 0; k < K; ++k) t += w[k] * losses[k];
  return t;
}
template <std::size_t K>
void require_finite_losses(const TaskValues<K>& losses, const char* who) {
  for (std::size_t k = 0; k < K; ++k)
    SEQREC_REQUIRE_CODE(std::isfinite(losses[k]), Errc::numeric, who, ": loss of task ", k, " is ", losses[k]);
}
}  // namespace detail

// ------------------------------------------------------------------------------------------- fixed weights

template <std::size_t K>
class Sum {
  static_assert(K >= 1, "seqrec: a loss combinator needs at least one task");

 public:
  static constexpr std::size_t num_tasks = K;
  static constexpr bool needs_grad_norms = false;
  static constexpr const char* key = "sum";  // what --combinator calls it (combinator_list below)
  std::string name() const { return key; }
  TaskValues<K> weights() const {
    TaskValues<K> w;
    w.fill(1.0);
    return w;
  }
  double combine(const TaskValues<K>& losses) const { return std::accumulate(losses.begin(), losses.end(), 0.0); }
  void update(const TaskValues<K>&, const TaskValues<K>&) {}
  void end_epoch(const TaskValues<K>&) {}
};

template <std::size_t K>
class Weighted {
  static_assert(K >= 1, "seqrec: a loss combinator needs at least one task");

 public:
  static constexpr std::size_t num_tasks = K;
  static constexpr bool needs_grad_norms = false;

  Weighted() { w_.fill(1.0); }
  explicit Weighted(const TaskValues<K>& w) { set_weights(w); }

  static constexpr const char* key = "weighted";  // what --combinator calls it (combinator_list below)
  std::string name() const { return key; }
  void set_weights(const TaskValues<K>& w) {
    for (std::size_t k = 0; k < K; ++k)
      SEQREC_REQUIRE(std::isfinite(w[k]) && w[k] >= 0, "Weighted: weight of task ", k, " must be finite and >= 0, got ",
                     w[k]);
    w_ = w;
  }
  TaskValues<K> weights() const { return w_; }
  double combine(const TaskValues<K>& losses) const { return detail::weighted_total(w_, losses); }
  void update(const TaskValues<K>&, const TaskValues<K>&) {}
  void end_epoch(const TaskValues<K>&) {}
  // What a checkpoint keeps (state / set_state, as every combinator that changes during training).
  std::vector<double> state() const { return {w_.begin(), w_.end()}; }
  void set_state(std::span<const double> v) { w_ = detail::task_values<K>(v, "Weighted"); }

 private:
  TaskValues<K> w_;
};

namespace detail {
template <class R>
concept Ratio = requires {
  { R::num } -> std::convertible_to<std::intmax_t>;
  { R::den } -> std::convertible_to<std::intmax_t>;
};
}  // namespace detail

// Weights fixed at compile time: FixedWeights<std::ratio<1>, std::ratio<1, 2>> is L = L_0 + L_1 / 2.
template <class... R>
class FixedWeights {
  static_assert(sizeof...(R) >= 1, "seqrec: FixedWeights needs one std::ratio per task");
  static_assert((detail::Ratio<R> && ...), "seqrec: FixedWeights' arguments must be std::ratio<num, den> types");
  static_assert(((R::num >= 0) && ...), "seqrec: FixedWeights' weights must not be negative");

 public:
  static constexpr std::size_t num_tasks = sizeof...(R);
  static constexpr bool needs_grad_norms = false;
  static constexpr TaskValues<num_tasks> fixed = {double(R::num) / double(R::den)...};

  std::string name() const { return "weighted"; }
  TaskValues<num_tasks> weights() const { return fixed; }
  double combine(const TaskValues<num_tasks>& losses) const { return detail::weighted_total(fixed, losses); }
  void update(const TaskValues<num_tasks>&, const TaskValues<num_tasks>&) {}
  void end_epoch(const TaskValues<num_tasks>&) {}
};

// ------------------------------------------------------------------------------- uncertainty weighting

enum class TaskKind { classification, regression };

// Kendall, Gal, Cipolla 2018 with learned s_k = log sigma_k^2. Convention (a_k = 1 for classification,
// 1/2 for regression):
//   L = sum_k a_k (exp(-s_k) L_k + s_k),   dL/ds_k = a_k (1 - exp(-s_k) L_k),   w_k = a_k exp(-s_k).
// Regression is then exactly the Gaussian negative log-likelihood 1/(2 sigma^2) L + log sigma; classification
// is the common 1/sigma^2 L + log sigma^2 (twice the paper's log sigma term; the fixed point is the same
// exp(s_k) = L_k). s_k starts at 0 (w = a) and follows plain SGD in update() with step `lr`; the weight used
// to scale gradients is the one before the step, so combine, scale_gradients and update see one weight.
template <std::size_t K>
class UncertaintyWeighting {
  static_assert(K >= 1, "seqrec: a loss combinator needs at least one task");

 public:
  static constexpr std::size_t num_tasks = K;
  static constexpr bool needs_grad_norms = false;

  explicit UncertaintyWeighting(double lr = 1e-2) : UncertaintyWeighting(all(TaskKind::classification), lr) {}
  UncertaintyWeighting(const std::array<TaskKind, K>& kinds, double lr) : lr_(lr) {
    SEQREC_REQUIRE(lr >= 0 && std::isfinite(lr), "UncertaintyWeighting: learning rate must be >= 0, got ", lr);
    for (std::size_t k = 0; k < K; ++k) a_[k] = kinds[k] == TaskKind::regression ? 0.5 : 1.0;
    s_.fill(0.0);
    grad_.fill(0.0);
  }

  static constexpr const char* key = "uncertainty";  // what --combinator calls it (combinator_list below)
  std::string name() const { return key; }
  TaskValues<K> weights() const {
    TaskValues<K> w;
    for (std::size_t k = 0; k < K; ++k) w[k] = a_[k] * std::exp(-s_[k]);
    return w;
  }
  const TaskValues<K>& log_variances() const { return s_; }
  void set_log_variances(const TaskValues<K>& s) { s_ = s; }
  // dL/ds from the last combine().
  const TaskValues<K>& log_variance_gradient() const { return grad_; }

  double combine(const TaskValues<K>& losses) {
    detail::require_finite_losses(losses, "UncertaintyWeighting");
    double total = 0;
    for (std::size_t k = 0; k < K; ++k) {
      const double e = std::exp(-s_[k]);
      total += a_[k] * (e * losses[k] + s_[k]);
      grad_[k] = a_[k] * (1.0 - e * losses[k]);
    }
    return total;
  }
  // SGD step on s with the gradient of these losses.
  void update(const TaskValues<K>& losses, const TaskValues<K>&) {
    combine(losses);
    for (std::size_t k = 0; k < K; ++k) s_[k] -= lr_ * grad_[k];
  }
  void end_epoch(const TaskValues<K>&) {}
  std::vector<double> state() const { return {s_.begin(), s_.end()}; }
  void set_state(std::span<const double> v) { s_ = detail::task_values<K>(v, "UncertaintyWeighting"); }

 private:
  static std::array<TaskKind, K> all(TaskKind kind) {
    std::array<TaskKind, K> a;
    a.fill(kind);
    return a;
  }
  double lr_;
  TaskValues<K> a_, s_, grad_;
};

// ------------------------------------------------------------------------------------------------ GradNorm

// Chen, Badrinarayanan, Lee, Rabinovich 2018. With g_k = ||dL_k/dh|| (unweighted, on the shared output h),
// G_k = w_k g_k, mean G, relative inverse training rate r_k = (L_k / L_k(0)) / mean_j (L_j / L_j(0)) and the
// constant target G* _k = mean G * r_k^alpha, update() takes one SGD step on L_grad = sum_k |G_k - G*_k|
// w.r.t. w (dL_grad/dw_k = sign(G_k - G*_k) g_k), keeps w_k >= min_weight, then renormalises to sum_k w_k = K.
// L_k(0) are the losses of the first update(). alpha = 0 balances the norms; larger alpha favours tasks that
// train slowly.
template <std::size_t K>
class GradNorm {
  static_assert(K >= 1, "seqrec: a loss combinator needs at least one task");

 public:
  static constexpr std::size_t num_tasks = K;
  static constexpr bool needs_grad_norms = true;

  explicit GradNorm(double alpha = 1.5, double lr = 1e-2, double min_weight = 1e-3)
      : alpha_(alpha), lr_(lr), min_weight_(min_weight) {
    SEQREC_REQUIRE(alpha >= 0 && std::isfinite(alpha), "GradNorm: alpha must be >= 0, got ", alpha);
    SEQREC_REQUIRE(lr >= 0 && std::isfinite(lr), "GradNorm: learning rate must be >= 0, got ", lr);
    SEQREC_REQUIRE(min_weight > 0 && min_weight < 1, "GradNorm: min_weight must be in (0, 1), got ", min_weight);
    w_.fill(1.0);
  }

  static constexpr const char* key = "gradnorm";  // what --combinator calls it (combinator_list below)
  std::string name() const { return key; }
  TaskValues<K> weights() const { return w_; }
  double alpha() const { return alpha_; }
  bool started() const { return started_; }
  const TaskValues<K>& initial_losses() const { return l0_; }
  double combine(const TaskValues<K>& losses) const { return detail::weighted_total(w_, losses); }

  void update(const TaskValues<K>& losses, const TaskValues<K>& grad_norms) {
    detail::require_finite_losses(losses, "GradNorm");
    for (std::size_t k = 0; k < K; ++k)
      SEQREC_REQUIRE_CODE(std::isfinite(grad_norms[k]) && grad_norms[k] >= 0, Errc::numeric,
                          "GradNorm: gradient norm of task ", k, " is ", grad_norms[k]);
    if (!started_) {
      for (std::size_t k = 0; k < K; ++k)
        SEQREC_REQUIRE_CODE(losses[k] > 0, Errc::numeric, "GradNorm: the first loss of task ", k,
                            " must be positive (it normalises later ones), got ", losses[k]);
      l0_ = losses;
      started_ = true;
    }
    TaskValues<K> G, ratio;
    double mean_g = 0, mean_ratio = 0;
    for (std::size_t k = 0; k < K; ++k) {
      G[k] = w_[k] * grad_norms[k];
      ratio[k] = losses[k] / l0_[k];
      mean_g += G[k] / double(K);
      mean_ratio += ratio[k] / double(K);
    }
    if (mean_ratio <= 0) return;  // every loss reached 0: nothing to balance
    double sum = 0;
    for (std::size_t k = 0; k < K; ++k) {
      const double target = mean_g * std::pow(ratio[k] / mean_ratio, alpha_);
      const double diff = G[k] - target;
      const double sign = diff > 0 ? 1.0 : (diff < 0 ? -1.0 : 0.0);
      w_[k] = std::max(min_weight_, w_[k] - lr_ * sign * grad_norms[k]);
      sum += w_[k];
    }
    for (auto& w : w_) w *= double(K) / sum;
  }
  void end_epoch(const TaskValues<K>&) {}
  // [started, w, L(0)]
  std::vector<double> state() const {
    std::vector<double> v{started_ ? 1.0 : 0.0};
    v.insert(v.end(), w_.begin(), w_.end());
    v.insert(v.end(), l0_.begin(), l0_.end());
    return v;
  }
  void set_state(std::span<const double> v) {
    SEQREC_REQUIRE(v.size() == 1 + 2 * K, "GradNorm: a state of ", 1 + 2 * K, " values, got ", v.size());
    started_ = v[0] != 0;
    w_ = detail::task_values<K>(v.subspan(1, K), "GradNorm");
    l0_ = detail::task_values<K>(v.subspan(1 + K, K), "GradNorm");
  }

 private:
  double alpha_, lr_, min_weight_;
  bool started_ = false;
  TaskValues<K> w_, l0_{};
};

// -------------------------------------------------------------------------------- dynamic weight average

// Liu, Johns, Davison 2019: w_k(t) = K exp(r_k(t-1) / T) / sum_j exp(r_j(t-1) / T) with
// r_k(t-1) = L_k(t-1) / L_k(t-2), the epoch-mean losses of the two previous epochs; w = 1 for the first two
// epochs. end_epoch(mean losses of the epoch that just ended) sets the weights of the next one.
template <std::size_t K>
class DynamicWeightAverage {
  static_assert(K >= 1, "seqrec: a loss combinator needs at least one task");

 public:
  static constexpr std::size_t num_tasks = K;
  static constexpr bool needs_grad_norms = false;

  explicit DynamicWeightAverage(double temperature = 2.0) : temperature_(temperature) {
    SEQREC_REQUIRE(temperature > 0 && std::isfinite(temperature), "DynamicWeightAverage: temperature must be > 0, got ",
                   temperature);
    w_.fill(1.0);
  }

  static constexpr const char* key = "dwa";  // what --combinator calls it (combinator_list below)
  std::string name() const { return key; }
  TaskValues<K> weights() const { return w_; }
  double temperature() const { return temperature_; }
  index_t epochs_seen() const { return epochs_; }
  double combine(const TaskValues<K>& losses) const { return detail::weighted_total(w_, losses); }
  void update(const TaskValues<K>&, const TaskValues<K>&) {}

  void end_epoch(const TaskValues<K>& epoch_losses) {
    detail::require_finite_losses(epoch_losses, "DynamicWeightAverage");
    prev2_ = prev1_;
    prev1_ = epoch_losses;
    ++epochs_;
    if (epochs_ < 2) return;
    TaskValues<K> z;
    double zmax = -INFINITY;
    for (std::size_t k = 0; k < K; ++k) {
      // A task whose loss was 0 two epochs ago has nothing left to learn: ratio 1 (neutral).
      const double r = prev2_[k] > 0 ? prev1_[k] / prev2_[k] : 1.0;
      z[k] = r / temperature_;
      zmax = std::max(zmax, z[k]);
    }
    double sum = 0;
    for (std::size_t k = 0; k < K; ++k) sum += std::exp(z[k] - zmax);
    for (std::size_t k = 0; k < K; ++k) w_[k] = double(K) * std::exp(z[k] - zmax) / sum;
  }
  // [epochs seen, w, L(t-1), L(t-2)]
  std::vector<double> state() const {
    std::vector<double> v{double(epochs_)};
    for (const auto* a : {&w_, &prev1_, &prev2_}) v.insert(v.end(), a->begin(), a->end());
    return v;
  }
  void set_state(std::span<const double> v) {
    SEQREC_REQUIRE(v.size() == 1 + 3 * K, "DynamicWeightAverage: a state of ", 1 + 3 * K, " values, got ", v.size());
    epochs_ = index_t(v[0]);
    w_ = detail::task_values<K>(v.subspan(1, K), "DynamicWeightAverage");
    prev1_ = detail::task_values<K>(v.subspan(1 + K, K), "DynamicWeightAverage");
    prev2_ = detail::task_values<K>(v.subspan(1 + 2 * K, K), "DynamicWeightAverage");
  }

 private:
  double temperature_;
  index_t epochs_ = 0;
  TaskValues<K> w_, prev1_{}, prev2_{};
};

static_assert(check_loss_combinator<Sum<2>>());
static_assert(check_loss_combinator<Weighted<3>>());
static_assert(check_loss_combinator<FixedWeights<std::ratio<1>, std::ratio<1, 2>>>());
static_assert(check_loss_combinator<UncertaintyWeighting<2>>());
static_assert(check_loss_combinator<GradNorm<2>>());
static_assert(check_loss_combinator<DynamicWeightAverage<2>>());

// The run-time combinators as one type list: what --combinator names and RuntimeCombinator holds (multitask_
// recommender.hpp). A new combinator: its class with a static `key`, one line here, and a make_combinator overload if
// it takes parameters.
template <std::size_t K>
using Combinators = TypeList<Sum<K>, Weighted<K>, UncertaintyWeighting<K>, GradNorm<K>, DynamicWeightAverage<K>>;

// "sum, weighted, ... or dwa".
template <std::size_t K>
std::string combinator_names() {
  std::string out;
  std::size_t i = 0;
  for_each_type(Combinators<K>{}, [&](auto id) {
    if (i) out += i + 1 == Combinators<K>::size ? " or " : ", ";
    out += decltype(id)::type::key;
    ++i;
  });
  return out;
}

// How each is made from the run-time options: explicit weights (weighted only; empty: all 1) and the tasks' kinds
// (uncertainty scales a regression task's loss by 1/(2 sigma^2), a classification's by 1/sigma^2).
template <class C, std::size_t K>
C make_combinator(std::type_identity<C>, const std::vector<double>&, const std::optional<std::array<TaskKind, K>>&) {
  return C();
}
template <std::size_t K>
Weighted<K> make_combinator(std::type_identity<Weighted<K>>, const std::vector<double>& weights,
                            const std::optional<std::array<TaskKind, K>>&) {
  TaskValues<K> w;
  w.fill(1.0);
  if (!weights.empty()) {
    SEQREC_REQUIRE(weights.size() == K, "weighted combinator: ", weights.size(), " weights for ", K, " tasks");
    std::copy(weights.begin(), weights.end(), w.begin());
  }
  return Weighted<K>(w);
}
template <std::size_t K>
UncertaintyWeighting<K> make_combinator(std::type_identity<UncertaintyWeighting<K>>, const std::vector<double>&,
                                        const std::optional<std::array<TaskKind, K>>& kinds) {
  return kinds ? UncertaintyWeighting<K>(*kinds, 1e-2) : UncertaintyWeighting<K>();
}

}  // namespace seqrec::losses
