// Layer normalisation over the last dimension: y = gamma * (x - mean) / sqrt(var + eps) + beta.
#pragma once

#include <seqrec/core/column_sums.hpp>
#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/math.hpp>
#include <seqrec/core/parameter.hpp>
#include <seqrec/core/view.hpp>

#include <Kokkos_Core.hpp>

#include <string>

namespace seqrec::sequence {

template <Scalar T, ExecutionSpace Space>
class LayerNorm {
 public:
  using scalar_type = T;
  using execution_space = Space;
  using memory_space = typename Space::memory_space;
  using rows_type = Kokkos::View<T**, Kokkos::LayoutRight, memory_space>;
  // Per row: mean and 1/sqrt(var + eps), saved by forward for backward. Allocate with make_stats().
  using stats_type = Kokkos::View<T* [2], Kokkos::LayoutRight, memory_space>;

  LayerNorm() = default;
  LayerNorm(const Space& space, ParameterSet<T, Space>& params, const std::string& name, index_t dim, T eps = T(1e-8))
      : gamma_(params.add(space, name + ".gamma", {dim})), beta_(params.add(space, name + ".beta", {dim})), eps_(eps) {
    Kokkos::deep_copy(space, gamma_.value(), T(1));
  }

  index_t dim() const { return gamma_.size(); }
  stats_type make_stats(const Space& space, index_t rows) const {
    return make_uninitialized<stats_type>(space, "LayerNorm::stats", rows);
  }

  // x, y: [rows, dim] (y may alias x).
  void forward(const Space& space, typename rows_type::const_type x, rows_type y, stats_type stats) const {
    check(x, y, stats, "forward");
    auto g = gamma_.value();
    auto b = beta_.value();
    const index_t d = dim();
    const T eps = eps_;
    Kokkos::parallel_for(
        "seqrec::LayerNorm::forward", Kokkos::RangePolicy<Space>(space, 0, x.extent(0)), KOKKOS_LAMBDA(index_t r) {
          T mean = 0;
          for (index_t k = 0; k < d; ++k) mean += x(r, k);
          mean /= T(d);
          T var = 0;
          for (index_t k = 0; k < d; ++k) var += (x(r, k) - mean) * (x(r, k) - mean);
          var /= T(d);
          const T rstd = T(1) / math::sqrt(var + eps);
          stats(r, 0) = mean;
          stats(r, 1) = rstd;
          for (index_t k = 0; k < d; ++k) y(r, k) = g(k) * (x(r, k) - mean) * rstd + b(k);
        });
  }

  // dx = rstd * (gamma*dy - mean(gamma*dy) - xhat * mean(gamma*dy*xhat)); gamma.grad += sum dy*xhat,
  // beta.grad += sum dy. dx may alias dy.
  void backward(const Space& space, typename rows_type::const_type x, typename rows_type::const_type dy, rows_type dx,
                typename stats_type::const_type stats) const {
    check(x, dx, stats, "backward");
    SEQREC_REQUIRE_SHAPE(dy, "LayerNorm::backward dy", index_t(x.extent(0)), dim());
    auto g = gamma_.value();
    auto gg = gamma_.grad();
    auto gb = beta_.grad();
    const index_t d = dim();
    const index_t rows = x.extent(0);
    // Parameter gradients first (dx may alias dy).
    add_column_sums(
        space, "seqrec::LayerNorm::backward_gamma", rows, d,
        KOKKOS_LAMBDA(index_t r, index_t k) { return dy(r, k) * (x(r, k) - stats(r, 0)) * stats(r, 1); }, gg);
    add_column_sums(
        space, "seqrec::LayerNorm::backward_beta", rows, d, KOKKOS_LAMBDA(index_t r, index_t k) { return dy(r, k); },
        gb);
    Kokkos::parallel_for(
        "seqrec::LayerNorm::backward_input", Kokkos::RangePolicy<Space>(space, 0, rows), KOKKOS_LAMBDA(index_t r) {
          const T mean = stats(r, 0), rstd = stats(r, 1);
          T m1 = 0, m2 = 0;
          for (index_t k = 0; k < d; ++k) {
            const T gdy = g(k) * dy(r, k);
            m1 += gdy;
            m2 += gdy * (x(r, k) - mean) * rstd;
          }
          m1 /= T(d);
          m2 /= T(d);
          for (index_t k = 0; k < d; ++k) {
            const T xhat = (x(r, k) - mean) * rstd;
            dx(r, k) = rstd * (g(k) * dy(r, k) - m1 - xhat * m2);
          }
        });
  }

 private:
  template <class X, class Y, class S>
  void check(const X& x, const Y& y, const S& stats, const char* what) const {
    SEQREC_REQUIRE_EQ(index_t(x.extent(1)), dim(), std::string("LayerNorm::") + what + " feature dimension");
    SEQREC_REQUIRE_SHAPE(y, std::string("LayerNorm::") + what + " output", index_t(x.extent(0)), dim());
    SEQREC_REQUIRE(stats.extent(0) >= x.extent(0), "LayerNorm::", what, ": stats hold ", stats.extent(0),
                   " rows, need ", x.extent(0));
  }

  Parameter<T, Space> gamma_, beta_;
  T eps_ = T(1e-8);
};

}  // namespace seqrec::sequence
