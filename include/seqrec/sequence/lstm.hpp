// Long short-term memory over left-padded windows (PyTorch's gate order i, f, g, o):
//   i = sig(.)  f = sig(.)  g = tanh(.)  o = sig(.)   each of x Wi + bi + h Wh + bh
//   c' = f * c + i * g      h' = o * tanh(c')
// Same structure as Gru: one gemm for all input projections, one small gemm and a fused gate kernel per
// step; at padding positions both states are carried unchanged.
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/linalg.hpp>
#include <seqrec/core/math.hpp>
#include <seqrec/core/parameter.hpp>
#include <seqrec/core/random.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/sequence/detail/step_rows.hpp>
#include <seqrec/sequence/linear.hpp>

#include <Kokkos_Core.hpp>

#include <string>

namespace seqrec::sequence {

template <Scalar T, ExecutionSpace Space>
class Lstm {
 public:
  using scalar_type = T;
  using execution_space = Space;
  using memory_space = typename Space::memory_space;
  using rows_type = View2<T, Space>;
  using const_rows_type = typename rows_type::const_type;
  using ids_type = Kokkos::View<const id_t**, Kokkos::LayoutRight, memory_space>;

  struct Workspace {
    rows_type pre;               // [rows, 4H] pre-activations (input part, then + recurrent part), then gate values
    rows_type cell;              // [rows, H] cell state after each position
    rows_type hprev;             // [rows, H] hidden state each step started from
    rows_type dpre;              // [rows, 4H] gradients of the pre-activations
    rows_type carry_h, carry_c;  // [batch, H]
    index_t batch = 0, len = 0;
  };

  Lstm() = default;
  Lstm(const Space& space, ParameterSet<T, Space>& params, const std::string& name, index_t in, index_t hidden)
      : wi_(space, params, name + ".input", in, 4 * hidden),
        wh_(space, params, name + ".recurrent", hidden, 4 * hidden) {
    // Forget-gate bias 1: the usual start that lets gradients through early in training.
    auto b = wi_.bias().value();
    Kokkos::deep_copy(space, Kokkos::subview(b, std::make_pair(hidden, 2 * hidden)), T(1));
  }

  index_t in() const { return wi_.in(); }
  index_t hidden() const { return wh_.in(); }

  void init(const Space& space, RandomSource& rng) const {
    wi_.init_xavier(space, rng.next());
    wh_.init_xavier(space, rng.next());
  }

  Workspace make_workspace(const Space& space, index_t batch, index_t len) const {
    const index_t rows = batch * len, H = hidden();
    auto m = [&](const char* label, index_t r, index_t c) { return make_uninitialized<rows_type>(space, label, r, c); };
    return {m("Lstm::pre", rows, 4 * H),
            m("Lstm::cell", rows, H),
            m("Lstm::hprev", rows, H),
            m("Lstm::dpre", rows, 4 * H),
            m("Lstm::carry_h", batch, H),
            m("Lstm::carry_c", batch, H),
            batch,
            len};
  }

  void forward(const Space& space, ids_type ids, const_rows_type x, rows_type h, const Workspace& ws) const {
    const index_t batch = ids.extent(0), len = ids.extent(1), H = hidden();
    check(ids, x, h, ws);
    wi_.forward(space, x, ws.pre);
    auto wh = wh_.weight().template view<2>();
    auto bh = wh_.bias().value();
    auto pre = ws.pre, cell = ws.cell, hprev = ws.hprev;
    for (index_t t = 0; t < len; ++t) {
      auto step_pre = detail::step_rows(pre, t, len);
      Kokkos::parallel_for(
          "seqrec::Lstm::recurrent_bias", Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {0, 0}, {batch, 4 * H}),
          KOKKOS_LAMBDA(index_t b, index_t c) { step_pre(b, c) += bh(c); });
      if (t > 0)
        linalg::gemm(space, linalg::Trans::N, linalg::Trans::N, T(1), detail::step_rows(h, t - 1, len), wh, T(1),
                     step_pre);
      Kokkos::parallel_for(
          "seqrec::Lstm::gates", Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {0, 0}, {batch, H}),
          KOKKOS_LAMBDA(index_t b, index_t k) {
            const index_t row = b * len + t;
            const T hp = t > 0 ? h(row - 1, k) : T(0);
            const T cp = t > 0 ? cell(row - 1, k) : T(0);
            hprev(row, k) = hp;
            if (ids(b, t) == 0) {
              h(row, k) = hp;
              cell(row, k) = cp;
              for (index_t q = 0; q < 4; ++q) pre(row, q * H + k) = T(0);
              return;
            }
            const T i = math::sigmoid(pre(row, k)), f = math::sigmoid(pre(row, H + k));
            const T g = math::tanh(pre(row, 2 * H + k)), o = math::sigmoid(pre(row, 3 * H + k));
            const T c = f * cp + i * g;
            pre(row, k) = i;  // keep the gate values for backward
            pre(row, H + k) = f;
            pre(row, 2 * H + k) = g;
            pre(row, 3 * H + k) = o;
            cell(row, k) = c;
            h(row, k) = o * math::tanh(c);
          });
    }
  }

  void backward(const Space& space, ids_type ids, const_rows_type x, const_rows_type dh, rows_type dx,
                const Workspace& ws) const {
    const index_t batch = ids.extent(0), len = ids.extent(1), H = hidden();
    check(ids, x, dh, ws);
    auto wh = wh_.weight().template view<2>();
    auto gates = ws.pre, cell = ws.cell, dpre = ws.dpre, carry_h = ws.carry_h, carry_c = ws.carry_c;
    Kokkos::deep_copy(space, carry_h, T(0));
    Kokkos::deep_copy(space, carry_c, T(0));
    for (index_t t = len; t-- > 0;) {
      Kokkos::parallel_for(
          "seqrec::Lstm::gates_backward", Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {0, 0}, {batch, H}),
          KOKKOS_LAMBDA(index_t b, index_t k) {
            const index_t row = b * len + t;
            const T gh = dh(row, k) + carry_h(b, k);
            if (ids(b, t) == 0) {
              for (index_t q = 0; q < 4; ++q) dpre(row, q * H + k) = T(0);
              carry_h(b, k) = gh;  // carry_c passes through unchanged
              return;
            }
            const T i = gates(row, k), f = gates(row, H + k), g = gates(row, 2 * H + k), o = gates(row, 3 * H + k);
            const T c = cell(row, k), cp = t > 0 ? cell(row - 1, k) : T(0);
            const T tc = math::tanh(c);
            const T gc = carry_c(b, k) + gh * o * (T(1) - tc * tc);
            dpre(row, k) = gc * g * i * (T(1) - i);
            dpre(row, H + k) = gc * cp * f * (T(1) - f);
            dpre(row, 2 * H + k) = gc * i * (T(1) - g * g);
            dpre(row, 3 * H + k) = gh * tc * o * (T(1) - o);
            carry_c(b, k) = gc * f;
            carry_h(b, k) = T(0);
          });
      if (t > 0)
        linalg::gemm(space, linalg::Trans::N, linalg::Trans::T, T(1), detail::step_rows(dpre, t, len), wh, T(1),
                     carry_h);
    }
    wh_.backward(space, ws.hprev, dpre, rows_type{});
    wi_.backward(space, x, dpre, dx);
  }

 private:
  template <class X, class H>
  void check(const ids_type& ids, const X& x, const H& h, const Workspace& ws) const {
    detail::check_recurrent("Lstm", ids, x, h, ws, in(), hidden());
  }

  Linear<T, Space> wi_, wh_;
};

}  // namespace seqrec::sequence
