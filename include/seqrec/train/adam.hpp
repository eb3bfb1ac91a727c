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
  using config_type = AdamConfig;

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

  // After a parameter of the set grew (ParameterSet::replace_with_grown): its moments grow to its new size, the
  // old entries kept bit for bit and the new ones 0 (a new row starts as if never updated), and the update is
  // rebound to the parameters' current buffers. The step count, and with it the bias correction, goes on.
  void resize_state(const Space& space) {
    const auto& params = *this->params_;
    SEQREC_REQUIRE_EQ(params.size() * std::size_t(2), this->state_.size(),
                      "Adam::resize_state: parameters registered after the optimizer was made (state buffers)");
    std::vector<typename Base::table_type::group> groups;
    std::vector<View1<T, Space>> old;  // alive until the copies are done
    std::size_t i = 0;
    for (const auto& p : params) {
      typename Base::table_type::group g{p.value(), p.grad()};
      for (int s = 0; s < 2; ++s) {
        View1<T, Space>& m = this->state_[i * 2 + std::size_t(s)];
        const index_t n = static_cast<index_t>(m.extent(0));
        if (n != p.size()) {
          SEQREC_REQUIRE(p.size() > n, "Adam::resize_state: parameter '", p.name(), "' shrank from ", n, " to ",
                         p.size(), " entries");
          auto grown = make_zeros<View1<T, Space>>(space, m.label(), p.size());
          Kokkos::deep_copy(space, Kokkos::subview(grown, Kokkos::make_pair(index_t(0), n)), m);
          old.push_back(m);
          m = grown;
        }
        g[2 + s] = m;
      }
      groups.push_back(g);
      ++i;
    }
    this->table_ = typename Base::table_type(space, groups);
    space.fence();
  }

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
