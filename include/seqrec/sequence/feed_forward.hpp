// SASRec's point-wise feed-forward: y = x + Dropout(W2 · Dropout(ReLU(W1 x + b1)) + b2), row by row.
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/parameter.hpp>
#include <seqrec/core/random.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/sequence/dropout.hpp>
#include <seqrec/sequence/linear.hpp>

#include <Kokkos_Core.hpp>

#include <string>

namespace seqrec::sequence {

template <Scalar T, ExecutionSpace Space>
class FeedForward {
 public:
  using scalar_type = T;
  using execution_space = Space;
  using memory_space = typename Space::memory_space;
  using rows_type = View2<T, Space>;
  using const_rows_type = typename rows_type::const_type;

  // Buffers one forward keeps for its backward: the hidden activations after ReLU (before dropout).
  struct Workspace {
    rows_type hidden, hidden_dropped, dhidden;
  };

  FeedForward() = default;
  FeedForward(const Space& space, ParameterSet<T, Space>& params, const std::string& name, index_t dim, index_t hidden,
              T dropout)
      : w1_(space, params, name + ".w1", dim, hidden), w2_(space, params, name + ".w2", hidden, dim), drop_(dropout) {}

  index_t dim() const { return w1_.in(); }
  index_t hidden() const { return w1_.out(); }
  void init_xavier(const Space& space, RandomSource& rng) const {
    w1_.init_xavier(space, rng.next());
    w2_.init_xavier(space, rng.next());
  }

  Workspace make_workspace(const Space& space, index_t rows) const {
    return {make_uninitialized<rows_type>(space, "FeedForward::hidden", rows, hidden()),
            make_uninitialized<rows_type>(space, "FeedForward::hidden_dropped", rows, hidden()),
            make_uninitialized<rows_type>(space, "FeedForward::dhidden", rows, hidden())};
  }

  // y = x + FFN(x); rs1/rs2 are the dropout streams of this step (pass the same ones to backward).
  // Training mode when `train`; otherwise dropout is the identity.
  void forward(const Space& space, const_rows_type x, rows_type y, const Workspace& ws, bool train, RandomStream rs1,
               RandomStream rs2) const {
    const index_t rows = x.extent(0);
    auto h = Kokkos::subview(ws.hidden, std::make_pair(index_t(0), rows), Kokkos::ALL);
    auto hd = Kokkos::subview(ws.hidden_dropped, std::make_pair(index_t(0), rows), Kokkos::ALL);
    w1_.forward(space, x, h);
    Kokkos::parallel_for(
        "seqrec::FeedForward::relu", Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {0, 0}, {rows, hidden()}),
        KOKKOS_LAMBDA(index_t r, index_t k) { h(r, k) = h(r, k) > T(0) ? h(r, k) : T(0); });
    if (train)
      drop_.forward(space, h, hd, rs1);
    else
      Kokkos::deep_copy(space, hd, h);
    w2_.forward(space, hd, y);
    if (train) drop_.forward(space, y, y, rs2);
    Kokkos::parallel_for(
        "seqrec::FeedForward::residual", Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {0, 0}, {rows, dim()}),
        KOKKOS_LAMBDA(index_t r, index_t k) { y(r, k) += x(r, k); });
  }

  // dx = dy + d FFN/dx · dy, accumulating parameter gradients. `dscratch` ([rows, dim]) is overwritten.
  void backward(const Space& space, const_rows_type x, const_rows_type dy, rows_type dx, rows_type dscratch,
                const Workspace& ws, bool train, RandomStream rs1, RandomStream rs2) const {
    const index_t rows = x.extent(0);
    auto h = Kokkos::subview(ws.hidden, std::make_pair(index_t(0), rows), Kokkos::ALL);
    auto hd = Kokkos::subview(ws.hidden_dropped, std::make_pair(index_t(0), rows), Kokkos::ALL);
    auto dh = Kokkos::subview(ws.dhidden, std::make_pair(index_t(0), rows), Kokkos::ALL);
    if (train)
      drop_.backward(space, dy, dscratch, rs2);  // through the output dropout
    else
      Kokkos::deep_copy(space, dscratch, dy);
    w2_.backward(space, hd, dscratch, dh);
    if (train) drop_.backward(space, dh, dh, rs1);
    Kokkos::parallel_for(
        "seqrec::FeedForward::relu_backward",
        Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {0, 0}, {rows, hidden()}),
        KOKKOS_LAMBDA(index_t r, index_t k) {
          if (h(r, k) <= T(0)) dh(r, k) = T(0);
        });
    w1_.backward(space, x, dh, dx);
    Kokkos::parallel_for(
        "seqrec::FeedForward::residual_backward",
        Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {0, 0}, {rows, dim()}),
        KOKKOS_LAMBDA(index_t r, index_t k) { dx(r, k) += dy(r, k); });
  }

 private:
  Linear<T, Space> w1_, w2_;
  Dropout<T, Space> drop_;
};

}  // namespace seqrec::sequence
