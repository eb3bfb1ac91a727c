// Stochastic gradient descent with (optionally Nesterov) momentum, L2 and gradient-norm clipping, with
// torch.optim.SGD's update: v = mu v + g;  w -= lr (g + mu v) (Nesterov) or w -= lr v.
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/parameter.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/train/optimizer.hpp>

#include <Kokkos_Core.hpp>

namespace seqrec::train {

struct SgdConfig {
  double lr = 0.01;
  double momentum = 0.0;
  bool nesterov = false;
  double l2 = 0.0;
  double clip_norm = 0.0;
};

template <Scalar T, ExecutionSpace Space>
class Sgd : public detail::OptimizerState<T, Space, 1> {
  using Base = detail::OptimizerState<T, Space, 1>;
  using pointers = typename Base::table_type::pointers;

 public:
  using config_type = SgdConfig;

  Sgd(const Space& space, const ParameterSet<T, Space>& params, SgdConfig config)
      : Base(space, params, "Sgd"), config_(config) {
    SEQREC_REQUIRE(config.lr > 0, "SGD: learning rate must be positive, got ", config.lr);
    SEQREC_REQUIRE(config.momentum >= 0 && config.momentum < 1, "SGD: momentum must be in [0, 1), got ",
                   config.momentum);
  }
  const SgdConfig& config() const { return config_; }
  void set_lr(double lr) { config_.lr = lr; }

  double step(const Space& space) {
    double norm = 0;
    const T clip = this->begin_step(space, config_.clip_norm, norm);
    const T lr = T(config_.lr), mu = T(config_.momentum), l2 = T(config_.l2);
    const bool nesterov = config_.nesterov;
    this->for_each_element(
        space, "seqrec::Sgd::step", KOKKOS_LAMBDA(const pointers& b, index_t j) {
          T& w = b[0][j];
          T& v = b[2][j];
          const T gj = b[1][j] * clip + l2 * w;
          v = mu * v + gj;
          w -= lr * (nesterov ? gj + mu * v : v);
        });
    return norm;
  }

 private:
  SgdConfig config_;
};

}  // namespace seqrec::train
