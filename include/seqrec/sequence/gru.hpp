// Gated recurrent unit over left-padded windows (PyTorch's gate convention):
//   r = sig(x Wir + bir + h Whr + bhr)      z = sig(x Wiz + biz + h Whz + bhz)
//   n = tanh(x Win + bin + r * (h Whn + bhn))      h' = (1 - z) * n + z * h
// Input projections of every position are one gemm; each step does one [batch x hidden] x [hidden x 3 hidden]
// gemm and a fused gate kernel. At padding positions the state is carried unchanged (and the output
// there is the carried state: zero before the first item).
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
#include <utility>

namespace seqrec::sequence {

template <Scalar T, ExecutionSpace Space>
class Gru {
 public:
  using scalar_type = T;
  using execution_space = Space;
  using memory_space = typename Space::memory_space;
  using rows_type = View2<T, Space>;
  using const_rows_type = typename rows_type::const_type;
  using ids_type = Kokkos::View<const id_t**, Kokkos::LayoutRight, memory_space>;

  struct Workspace {
    rows_type xp;     // [rows, 3H] input projections (+ input biases)
    rows_type gates;  // [rows, 4H] r, z, n and (h Whn + bhn), saved for backward
    rows_type hp;     // [batch, 3H] recurrent projection of one step
    rows_type dpre;   // [rows, 3H] gradients of the input pre-activations
    rows_type dhp;    // [rows, 3H] gradients of the recurrent pre-activations (r, z, and Whn-part)
    rows_type hprev;  // [rows, H] the state each step started from
    rows_type carry;  // [batch, H] gradient flowing to the previous step
    index_t batch = 0, len = 0;
  };

  Gru() = default;
  Gru(const Space& space, ParameterSet<T, Space>& params, const std::string& name, index_t in, index_t hidden)
      : wi_(space, params, name + ".input", in, 3 * hidden),
        wh_(space, params, name + ".recurrent", hidden, 3 * hidden) {}

  index_t in() const { return wi_.in(); }
  index_t hidden() const { return wh_.in(); }

  void init(const Space& space, RandomSource& rng) const {
    wi_.init_xavier(space, rng.next());
    wh_.init_xavier(space, rng.next());
  }

  Workspace make_workspace(const Space& space, index_t batch, index_t len) const {
    const index_t rows = batch * len, H = hidden();
    auto m = [&](const char* label, index_t r, index_t c) { return make_uninitialized<rows_type>(space, label, r, c); };
    return {m("Gru::xp", rows, 3 * H),
            m("Gru::gates", rows, 4 * H),
            m("Gru::hp", batch, 3 * H),
            m("Gru::dpre", rows, 3 * H),
            m("Gru::dhp", rows, 3 * H),
            m("Gru::hprev", rows, H),
            m("Gru::carry", batch, H),
            batch,
            len};
  }

  // x: [batch*len, in] -> h: [batch*len, hidden], the state after each position.
  void forward(const Space& space, ids_type ids, const_rows_type x, rows_type h, const Workspace& ws) const {
    const index_t batch = ids.extent(0), len = ids.extent(1), H = hidden();
    check(ids, x, h, ws);
    wi_.forward(space, x, ws.xp);
    auto whn = wh_.weight().template view<2>();
    auto bh = wh_.bias().value();
    auto xp = ws.xp, gates = ws.gates, hp = ws.hp, hprev = ws.hprev;
    for (index_t t = 0; t < len; ++t) {
      // hp = h_{t-1} Wh + bh (h_{-1} = 0)
      Kokkos::parallel_for(
          "seqrec::Gru::recurrent_bias", Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {0, 0}, {batch, 3 * H}),
          KOKKOS_LAMBDA(index_t b, index_t c) { hp(b, c) = bh(c); });
      if (t > 0)
        linalg::gemm(space, linalg::Trans::N, linalg::Trans::N, T(1), detail::step_rows(h, t - 1, len), whn, T(1), hp);
      Kokkos::parallel_for(
          "seqrec::Gru::gates", Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {0, 0}, {batch, H}),
          KOKKOS_LAMBDA(index_t b, index_t k) {
            const index_t row = b * len + t;
            const T prev = t > 0 ? h(row - 1, k) : T(0);
            hprev(row, k) = prev;
            if (ids(b, t) == 0) {
              h(row, k) = prev;
              gates(row, k) = gates(row, H + k) = gates(row, 2 * H + k) = gates(row, 3 * H + k) = T(0);
              return;
            }
            const T r = math::sigmoid(xp(row, k) + hp(b, k));
            const T z = math::sigmoid(xp(row, H + k) + hp(b, H + k));
            const T hn = hp(b, 2 * H + k);
            const T n = math::tanh(xp(row, 2 * H + k) + r * hn);
            gates(row, k) = r;
            gates(row, H + k) = z;
            gates(row, 2 * H + k) = n;
            gates(row, 3 * H + k) = hn;
            h(row, k) = (T(1) - z) * n + z * prev;
          });
    }
  }

  // From dh (gradient of every output state), accumulate parameter gradients and write dx (when not empty).
  void backward(const Space& space, ids_type ids, const_rows_type x, const_rows_type dh, rows_type dx,
                const Workspace& ws) const {
    const index_t batch = ids.extent(0), len = ids.extent(1), H = hidden();
    check(ids, x, dh, ws);
    auto whn = wh_.weight().template view<2>();
    auto gates = ws.gates, dpre = ws.dpre, dhp = ws.dhp, hprev = ws.hprev, carry = ws.carry;
    Kokkos::deep_copy(space, carry, T(0));
    for (index_t t = len; t-- > 0;) {
      Kokkos::parallel_for(
          "seqrec::Gru::gates_backward", Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {0, 0}, {batch, H}),
          KOKKOS_LAMBDA(index_t b, index_t k) {
            const index_t row = b * len + t;
            const T g = dh(row, k) + carry(b, k);
            if (ids(b, t) == 0) {  // carried state: the gradient passes through unchanged
              dpre(row, k) = dpre(row, H + k) = dpre(row, 2 * H + k) = T(0);
              dhp(row, k) = dhp(row, H + k) = dhp(row, 2 * H + k) = T(0);
              carry(b, k) = g;
              return;
            }
            const T r = gates(row, k), z = gates(row, H + k), n = gates(row, 2 * H + k), hn = gates(row, 3 * H + k);
            const T dn = g * (T(1) - z) * (T(1) - n * n);
            const T dz = g * (hprev(row, k) - n) * z * (T(1) - z);
            const T dr = dn * hn * r * (T(1) - r);
            dpre(row, k) = dr;
            dpre(row, H + k) = dz;
            dpre(row, 2 * H + k) = dn;
            dhp(row, k) = dr;
            dhp(row, H + k) = dz;
            dhp(row, 2 * H + k) = dn * r;
            carry(b, k) = g * z;  // the direct path; the recurrent product is added below
          });
      if (t > 0) {
        // carry += dhp_t Wh^T, only for non-padding rows (padding rows of dhp are zero).
        linalg::gemm(space, linalg::Trans::N, linalg::Trans::T, T(1), detail::step_rows(dhp, t, len), whn, T(1), carry);
      }
    }
    // Parameter gradients in two large products over all positions.
    wh_.backward(space, hprev, dhp, rows_type{});
    wi_.backward(space, x, dpre, dx);
  }

 private:
  template <class X, class H>
  void check(const ids_type& ids, const X& x, const H& h, const Workspace& ws) const {
    detail::check_recurrent("Gru", ids, x, h, ws, in(), hidden());
  }

  Linear<T, Space> wi_, wh_;
};

}  // namespace seqrec::sequence
