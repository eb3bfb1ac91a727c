// Fully connected layer y = x W + b over rows (SASRec's point-wise Conv1d with kernel 1 is this layer).
// W is stored [in, out] so the forward product needs no transpose.
#pragma once

#include <seqrec/core/column_sums.hpp>
#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/linalg.hpp>
#include <seqrec/core/parameter.hpp>
#include <seqrec/core/random.hpp>
#include <seqrec/core/view.hpp>

#include <Kokkos_Core.hpp>

#include <string>

namespace seqrec::sequence {

template <Scalar T, ExecutionSpace Space>
class Linear {
 public:
  using scalar_type = T;
  using execution_space = Space;
  using memory_space = typename Space::memory_space;
  using rows_type = View2<T, Space>;
  using const_rows_type = typename rows_type::const_type;

  Linear() = default;
  Linear(const Space& space, ParameterSet<T, Space>& params, const std::string& name, index_t in, index_t out,
         bool bias = true)
      : w_(params.add(space, name + ".weight", {in, out})) {
    if (bias) b_ = params.add(space, name + ".bias", {out});
  }

  index_t in() const { return w_.extent(0); }
  index_t out() const { return w_.extent(1); }
  bool has_bias() const { return b_.size() > 0; }
  const Parameter<T, Space>& weight() const { return w_; }
  const Parameter<T, Space>& bias() const { return b_; }

  // Glorot uniform weights, zero bias (the bias was zeroed at registration).
  void init_xavier(const Space& space, RandomStream rs) const {
    fill_xavier_uniform(space, w_.value(), rs, in(), out());
  }

  // y = x W + b; x: [rows, in], y: [rows, out].
  void forward(const Space& space, const_rows_type x, rows_type y) const {
    SEQREC_REQUIRE_SHAPE(y, "Linear::forward y", index_t(x.extent(0)), out());
    const auto w = w_.template view<2>();
    if (has_bias()) {
      const auto b = b_.value();
      Kokkos::parallel_for(
          "seqrec::Linear::bias",
          Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {0, 0}, {y.extent(0), y.extent(1)}),
          KOKKOS_LAMBDA(index_t r, index_t k) { y(r, k) = b(k); });
    }
    linalg::gemm(space, linalg::Trans::N, linalg::Trans::N, T(1), x, w, has_bias() ? T(1) : T(0), y);
  }

  // W.grad += x^T dy; b.grad += column sums of dy; dx = dy W^T, or dx += dy W^T when `accumulate`
  // (skipped when dx is empty: a first layer needs no input gradient).
  void backward(const Space& space, const_rows_type x, const_rows_type dy, rows_type dx,
                bool accumulate = false) const {
    SEQREC_REQUIRE_SHAPE(dy, "Linear::backward dy", index_t(x.extent(0)), out());
    linalg::gemm(space, linalg::Trans::T, linalg::Trans::N, T(1), x, dy, T(1), w_.template grad_view<2>());
    if (has_bias()) {
      add_column_sums(
          space, "seqrec::Linear::backward_bias", index_t(dy.extent(0)), out(),
          KOKKOS_LAMBDA(index_t r, index_t k) { return dy(r, k); }, b_.grad());
    }
    if (dx.data() != nullptr) {
      SEQREC_REQUIRE_SHAPE(dx, "Linear::backward dx", index_t(x.extent(0)), in());
      linalg::gemm(space, linalg::Trans::N, linalg::Trans::T, T(1), dy, w_.template view<2>(), accumulate ? T(1) : T(0),
                   dx);
    }
  }

 private:
  Parameter<T, Space> w_, b_;
};

}  // namespace seqrec::sequence
