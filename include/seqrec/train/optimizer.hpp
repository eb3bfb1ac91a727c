// What every optimizer provides, and the pieces they share: per-parameter state buffers (saved in
// checkpoints) and global gradient-norm clipping.
#pragma once

#include <seqrec/core/block_table.hpp>
#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/parameter.hpp>
#include <seqrec/core/view.hpp>

#include <cmath>
#include <concepts>
#include <string>
#include <vector>

namespace seqrec::train {

// step(space) updates the parameters from their gradients; state() lists every buffer the optimizer keeps
// (`slots` per parameter, parameter-major), so checkpoints save and restore any optimizer the same way.
template <class O>
concept Optimizer = Component<O> && requires(O& o, const O& co, const typename O::execution_space& space) {
  { o.step(space) } -> std::convertible_to<double>;
  { co.steps() } -> std::convertible_to<long long>;
  o.set_steps(1LL);
  {
    co.state()
    } -> std::convertible_to<const std::vector<View1<typename O::scalar_type, typename O::execution_space>>&>;
};

// What a model needs to make one: a configuration type and a constructor (space, params, config).
template <class O>
concept ModelOptimizer = Optimizer<O> && requires {
  typename O::config_type;
} && std::constructible_from < O, const typename O::execution_space&,
    const ParameterSet<typename O::scalar_type, typename O::execution_space>
&, typename O::config_type > ;

template <class O>
constexpr bool check_optimizer() {
  check_component<O>();
  static_assert(ModelOptimizer<O>,
                "seqrec: an optimizer needs `using config_type = ...;`, a constructor (space, params, config), "
                "step(space), steps(), set_steps(n) and state() (see train/adam.hpp)");
  return true;
}

namespace detail {

// State buffers and step counting shared by the optimizers. Slots: state buffers per parameter.
template <Scalar T, ExecutionSpace Space, int Slots>
class OptimizerState {
 public:
  using scalar_type = T;
  using execution_space = Space;
  using memory_space = typename Space::memory_space;

  long long steps() const { return t_; }
  void set_steps(long long t) { t_ = t; }
  const std::vector<View1<T, Space>>& state() const { return state_; }

 protected:
  using table_type = BlockTable<T, Space, 2 + Slots>;

  OptimizerState(const Space& space, const ParameterSet<T, Space>& params, const char* name) : params_(&params) {
    std::vector<typename table_type::group> groups;
    for (const auto& p : params) {
      typename table_type::group g{p.value(), p.grad()};
      for (int s = 0; s < Slots; ++s) {
        state_.push_back(make_zeros<View1<T, Space>>(space, std::string(name) + ":" + p.name(), p.size()));
        g[2 + s] = state_.back();
      }
      groups.push_back(g);
    }
    table_ = table_type(space, groups);
  }

  // f(b, j) for every element j of every parameter, in one launch: b[0] value, b[1] gradient, b[2 + s] slot s.
  template <class F>
  void for_each_element(const Space& space, const char* label, const F& f) const {
    table_.for_each(space, label, f);
  }
  // Throws if parameters were registered after the optimizer was made; returns the clip factor.
  T begin_step(const Space& space, double clip_norm, double& norm) {
    SEQREC_REQUIRE_EQ(params_->size() * std::size_t(Slots), state_.size(),
                      "optimizer: parameters registered after the optimizer was made (state buffers)");
    ++t_;
    norm = 0;
    if (clip_norm <= 0) return T(1);
    norm = std::sqrt(params_->grad_norm_squared(space));
    return norm > clip_norm ? T(clip_norm / norm) : T(1);
  }
  const View1<T, Space>& slot(std::size_t param, int s) const { return state_[param * Slots + s]; }

  const ParameterSet<T, Space>* params_;
  std::vector<View1<T, Space>> state_;
  table_type table_;
  long long t_ = 0;
};

}  // namespace detail
}  // namespace seqrec::train
