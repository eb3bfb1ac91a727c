// Adam (Kingma & Ba) over a ParameterSet, with optional L2 (added to the gradient, as torch's weight_decay)
// and global gradient-norm clipping. SASRec uses betas (0.9, 0.98).
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/math.hpp>
#include <seqrec/core/parameter.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/train/optimizer.hpp>

#include <Kokkos_Core.hpp>

#include <cmath>
#include <vector>

namespace seqrec::train {

struct AdamConfig {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.98;
  double eps = 1e-8;
  double l2 = 0.0;
  double clip_norm = 0.0;  // 0: no clipping
};

template <Scalar T, ExecutionSpace Space>
class Adam : public detail::OptimizerState<T, Space, 2> {
  using Base = detail::OptimizerState<T, Space, 2>;
  using pointers = typename Base::table_type::pointers;

 public:
  Adam(const Space& space, const ParameterSet<T, Space>& params, AdamConfig config)
      : Base(space, params, "Adam"), config_(config) {
    SEQREC_REQUIRE(config.lr > 0, "Adam: learning rate must be positive, got ", config.lr);
    SEQREC_REQUIRE(config.beta1 >= 0 && config.beta1 < 1 && config.beta2 >= 0 && config.beta2 < 1,
                   "Adam: betas must be in [0, 1), got ", config.beta1, ", ", config.beta2);
  }

  const AdamConfig& config() const { return config_; }
  void set_lr(double lr) { config_.lr = lr; }
  // Moments of parameter i (in the set's order).
  const View1<T, Space>& first_moment(std::size_t i) const { return this->slot(i, 0); }
  const View1<T, Space>& second_moment(std::size_t i) const { return this->slot(i, 1); }

  // One update from the gradients in the set. Returns the gradient norm before clipping (0 without clipping).
  double step(const Space& space) {
    double norm = 0;
    const T clip = this->begin_step(space, config_.clip_norm, norm);
    const T lr = T(config_.lr), b1 = T(config_.beta1), b2 = T(config_.beta2), eps = T(config_.eps), l2 = T(config_.l2);
    const T c1 = T(1.0 / (1.0 - std::pow(config_.beta1, double(this->t_))));
    const T c2 = T(1.0 / (1.0 - std::pow(config_.beta2, double(this->t_))));
    this->for_each_element(
        space, "seqrec::Adam::step", KOKKOS_LAMBDA(const pointers& b, index_t j) {
          T& w = b[0][j];
          T& m = b[2][j];
          T& v = b[3][j];
          const T gj = b[1][j] * clip + l2 * w;
          m = b1 * m + (T(1) - b1) * gj;
          v = b2 * v + (T(1) - b2) * gj * gj;
          w -= lr * (m * c1) / (math::sqrt(v * c2) + eps);
        });
    return norm;
  }

 private:
  AdamConfig config_;
};

}  // namespace seqrec::train
