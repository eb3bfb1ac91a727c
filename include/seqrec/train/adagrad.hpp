// Adagrad (Duchi et al. 2011): per-coordinate steps lr / (sqrt(sum of squared gradients) + eps), the
// classic choice for sparse embedding updates; L2 and gradient-norm clipping as in the other optimizers.
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/math.hpp>
#include <seqrec/core/parameter.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/train/optimizer.hpp>

#include <Kokkos_Core.hpp>

namespace seqrec::train {

struct AdagradConfig {
  double lr = 0.01;
  double eps = 1e-10;
  double initial_accumulator = 0.0;
  double l2 = 0.0;
  double clip_norm = 0.0;
};

template <Scalar T, ExecutionSpace Space>
class Adagrad : public detail::OptimizerState<T, Space, 1> {
  using Base = detail::OptimizerState<T, Space, 1>;
  using pointers = typename Base::table_type::pointers;

 public:
  using config_type = AdagradConfig;

  Adagrad(const Space& space, const ParameterSet<T, Space>& params, AdagradConfig config)
      : Base(space, params, "Adagrad"), config_(config) {
    SEQREC_REQUIRE(config.lr > 0, "Adagrad: learning rate must be positive, got ", config.lr);
    SEQREC_REQUIRE(config.initial_accumulator >= 0, "Adagrad: initial accumulator must be >= 0, got ",
                   config.initial_accumulator);
    for (const auto& s : this->state_) Kokkos::deep_copy(space, s, T(config.initial_accumulator));
  }
  const AdagradConfig& config() const { return config_; }
  void set_lr(double lr) { config_.lr = lr; }

  double step(const Space& space) {
    double norm = 0;
    const T clip = this->begin_step(space, config_.clip_norm, norm);
    const T lr = T(config_.lr), eps = T(config_.eps), l2 = T(config_.l2);
    this->for_each_element(
        space, "seqrec::Adagrad::step", KOKKOS_LAMBDA(const pointers& b, index_t j) {
          T& w = b[0][j];
          T& acc = b[2][j];
          const T gj = b[1][j] * clip + l2 * w;
          acc += gj * gj;
          w -= lr * gj / (math::sqrt(acc) + eps);
        });
    return norm;
  }

 private:
  AdagradConfig config_;
};

}  // namespace seqrec::train
