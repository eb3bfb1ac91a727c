// Adam (Kingma & Ba) over a ParameterSet, with optional L2 (added to the gradient, as torch's weight_decay)
// and global gradient-norm clipping. SASRec uses betas (0.9, 0.98).
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/math.hpp>
#include <seqrec/core/parameter.hpp>
#include <seqrec/core/view.hpp>

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
class Adam {
 public:
  using scalar_type = T;
  using execution_space = Space;
  using memory_space = typename Space::memory_space;

  Adam(const Space& space, const ParameterSet<T, Space>& params, AdamConfig config)
      : params_(&params), config_(config) {
    SEQREC_REQUIRE(config.lr > 0, "Adam: learning rate must be positive, got ", config.lr);
    SEQREC_REQUIRE(config.beta1 >= 0 && config.beta1 < 1 && config.beta2 >= 0 && config.beta2 < 1,
                   "Adam: betas must be in [0, 1), got ", config.beta1, ", ", config.beta2);
    for (const auto& p : params) {
      m_.push_back(make_zeros<View1<T, Space>>(space, "Adam::m:" + p.name(), p.size()));
      v_.push_back(make_zeros<View1<T, Space>>(space, "Adam::v:" + p.name(), p.size()));
    }
  }

  const AdamConfig& config() const { return config_; }
  void set_lr(double lr) { config_.lr = lr; }
  long long steps() const { return t_; }
  const std::vector<View1<T, Space>>& first_moments() const { return m_; }
  const std::vector<View1<T, Space>>& second_moments() const { return v_; }
  void set_steps(long long t) { t_ = t; }

  // One update from the gradients in the set. Returns the gradient norm before clipping.
  double step(const Space& space) {
    SEQREC_REQUIRE_EQ(params_->size(), m_.size(), "Adam: parameters registered after the optimizer was made");
    double norm = 0;
    T clip = T(1);
    if (config_.clip_norm > 0) {
      norm = std::sqrt(params_->grad_norm_squared(space));
      if (norm > config_.clip_norm) clip = T(config_.clip_norm / norm);
    }
    ++t_;
    const T lr = T(config_.lr), b1 = T(config_.beta1), b2 = T(config_.beta2), eps = T(config_.eps), l2 = T(config_.l2);
    const T c1 = T(1.0 / (1.0 - std::pow(config_.beta1, double(t_))));
    const T c2 = T(1.0 / (1.0 - std::pow(config_.beta2, double(t_))));
    std::size_t i = 0;
    for (const auto& p : *params_) {
      auto w = p.value();
      auto g = p.grad();
      auto m = m_[i];
      auto v = v_[i];
      ++i;
      Kokkos::parallel_for(
          "seqrec::Adam::step", Kokkos::RangePolicy<Space>(space, 0, w.extent(0)), KOKKOS_LAMBDA(index_t j) {
            const T gj = g(j) * clip + l2 * w(j);
            m(j) = b1 * m(j) + (T(1) - b1) * gj;
            v(j) = b2 * v(j) + (T(1) - b2) * gj * gj;
            w(j) -= lr * (m(j) * c1) / (math::sqrt(v(j) * c2) + eps);
          });
    }
    return norm;
  }

 private:
  const ParameterSet<T, Space>* params_;
  AdamConfig config_;
  std::vector<View1<T, Space>> m_, v_;
  long long t_ = 0;
};

}  // namespace seqrec::train
