// Learned positional embedding (SASRec): x[b][t] += P[t] at the non-padding positions of a window.
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/parameter.hpp>
#include <seqrec/core/random.hpp>
#include <seqrec/core/view.hpp>

#include <Kokkos_Core.hpp>

#include <string>

namespace seqrec::sequence {

template <Scalar T, ExecutionSpace Space>
class PositionalEmbedding {
 public:
  using scalar_type = T;
  using execution_space = Space;
  using memory_space = typename Space::memory_space;
  using ids_type = Kokkos::View<const id_t**, Kokkos::LayoutRight, memory_space>;

  PositionalEmbedding() = default;
  PositionalEmbedding(const Space& space, ParameterSet<T, Space>& params, const std::string& name, index_t maxlen,
                      index_t dim)
      : param_(params.add(space, name, {maxlen, dim})) {}

  index_t maxlen() const { return param_.extent(0); }
  index_t dim() const { return param_.extent(1); }
  const Parameter<T, Space>& parameter() const { return param_; }

  void init_normal(const Space& space, RandomStream rs, T stddev) const {
    fill_normal(space, param_.value(), rs, T(0), stddev);
  }

  // x[b][t][:] += P[t][:] where ids[b][t] != 0.
  void forward(const Space& space, ids_type ids, View3<T, Space> x) const {
    SEQREC_REQUIRE_SHAPE(x, "PositionalEmbedding::forward x", index_t(ids.extent(0)), maxlen(), dim());
    SEQREC_REQUIRE_EQ(index_t(ids.extent(1)), maxlen(), "PositionalEmbedding: window length");
    auto p = param_.template view<2>();
    Kokkos::parallel_for(
        "seqrec::PositionalEmbedding::forward",
        Kokkos::MDRangePolicy<Space, Kokkos::Rank<3>>(space, {0, 0, 0}, {x.extent(0), x.extent(1), x.extent(2)}),
        KOKKOS_LAMBDA(index_t b, index_t t, index_t k) {
          if (ids(b, t) != 0) x(b, t, k) += p(t, k);
        });
  }

  // dP[t][:] += sum over b of dx[b][t][:] at non-padding positions. One thread per (t, k) sums over the
  // batch in a fixed order: deterministic, no atomics.
  void backward(const Space& space, ids_type ids, typename View3<T, Space>::const_type dx) const {
    SEQREC_REQUIRE_SHAPE(dx, "PositionalEmbedding::backward dx", index_t(ids.extent(0)), maxlen(), dim());
    auto g = param_.template grad_view<2>();
    const index_t batch = ids.extent(0);
    Kokkos::parallel_for(
        "seqrec::PositionalEmbedding::backward",
        Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {0, 0}, {dx.extent(1), dx.extent(2)}),
        KOKKOS_LAMBDA(index_t t, index_t k) {
          T s = 0;
          for (index_t b = 0; b < batch; ++b)
            if (ids(b, t) != 0) s += dx(b, t, k);
          g(t, k) += s;
        });
  }

  // Over compact rows (see RowMap): x[r][:] += P[position[r]][:].
  void forward_rows(const Space& space, Kokkos::View<const index_t*, memory_space> position, View2<T, Space> x) const {
    auto p = param_.template view<2>();
    Kokkos::parallel_for(
        "seqrec::PositionalEmbedding::forward_rows",
        Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {0, 0}, {position.extent(0), x.extent(1)}),
        KOKKOS_LAMBDA(index_t r, index_t k) { x(r, k) += p(position(r), k); });
  }
  // dP[t][:] += sum over windows b of dx[row_of(b, t)][:] (in b order: deterministic, no atomics).
  void backward_rows(const Space& space, Kokkos::View<const index_t**, Kokkos::LayoutRight, memory_space> row_of,
                     typename View2<T, Space>::const_type dx) const {
    SEQREC_REQUIRE_EQ(index_t(row_of.extent(1)), maxlen(), "PositionalEmbedding: window length");
    auto g = param_.template grad_view<2>();
    const index_t batch = row_of.extent(0);
    Kokkos::parallel_for(
        "seqrec::PositionalEmbedding::backward_rows",
        Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {0, 0}, {g.extent(0), g.extent(1)}),
        KOKKOS_LAMBDA(index_t t, index_t k) {
          T s = 0;
          for (index_t b = 0; b < batch; ++b) {
            const index_t r = row_of(b, t);
            if (r >= 0) s += dx(r, k);
          }
          g(t, k) += s;
        });
  }

 private:
  Parameter<T, Space> param_;
};

}  // namespace seqrec::sequence
