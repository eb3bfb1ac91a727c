// Item embedding shared by a sequence model's input and its output scores. Row 0 is the padding item:
// it reads as zeros and never receives a gradient.
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
class Embedding {
 public:
  using scalar_type = T;
  using execution_space = Space;
  using memory_space = typename Space::memory_space;
  using ids_type = Kokkos::View<const id_t**, Kokkos::LayoutRight, memory_space>;
  using out_type = View3<T, Space>;

  Embedding() = default;
  // rows: num_items + 1 (row 0 is padding).
  Embedding(const Space& space, ParameterSet<T, Space>& params, const std::string& name, index_t rows, index_t dim)
      : param_(params.add(space, name, {rows, dim})) {}

  index_t rows() const { return param_.extent(0); }
  index_t dim() const { return param_.extent(1); }
  const Parameter<T, Space>& parameter() const { return param_; }
  auto table() const { return param_.template view<2>(); }
  auto grad() const { return param_.template grad_view<2>(); }

  // N(0, stddev) for every row, then zeros in the padding row.
  void init_normal(const Space& space, RandomStream rs, T stddev) const {
    fill_normal(space, param_.value(), rs, T(0), stddev);
    zero_padding(space);
  }
  void zero_padding(const Space& space) const {
    Kokkos::deep_copy(space, Kokkos::subview(table(), 0, Kokkos::ALL), T(0));
  }

  // out[b][t][:] = scale * table[ids[b][t]][:]   (zeros for padding)
  void forward(const Space& space, ids_type ids, out_type out, T scale) const {
    SEQREC_REQUIRE_SHAPE(out, "Embedding::forward out", index_t(ids.extent(0)), index_t(ids.extent(1)), dim());
    auto tab = table();
    const index_t rows_ = rows();
    (void)rows_;
    Kokkos::parallel_for(
        "seqrec::Embedding::forward",
        Kokkos::MDRangePolicy<Space, Kokkos::Rank<3>>(space, {0, 0, 0}, {ids.extent(0), ids.extent(1), tab.extent(1)}),
        KOKKOS_LAMBDA(index_t b, index_t t, index_t k) {
          const id_t id = ids(b, t);
          SEQREC_DEVICE_ASSERT(id >= 0 && id < rows_, "Embedding::forward: id out of range");
          out(b, t, k) = id == 0 ? T(0) : scale * tab(id, k);
        });
  }

  // grad[ids[b][t]][:] += scale * dout[b][t][:]. Rows repeat within a batch, so contributions are added
  // atomically: a batch touches a few thousand rows of a table of tens of thousands, where per-thread
  // copies of the whole table (ScatterView's host default) would cost an allocation and a full reduction
  // every step.
  void backward(const Space& space, ids_type ids, typename out_type::const_type dout, T scale) const {
    SEQREC_REQUIRE_SHAPE(dout, "Embedding::backward dout", index_t(ids.extent(0)), index_t(ids.extent(1)), dim());
    auto g = grad();
    Kokkos::parallel_for(
        "seqrec::Embedding::backward",
        Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {0, 0}, {ids.extent(0), ids.extent(1)}),
        KOKKOS_LAMBDA(index_t b, index_t t) {
          const id_t id = ids(b, t);
          if (id == 0) return;
          for (index_t k = 0; k < index_t(dout.extent(2)); ++k) Kokkos::atomic_add(&g(id, k), scale * dout(b, t, k));
        });
  }

  // The same over compact rows (see RowMap): out[r][:] = scale * table[ids[r]][:], r < ids.extent(0).
  void forward_rows(const Space& space, Kokkos::View<const id_t*, memory_space> ids, View2<T, Space> out,
                    T scale) const {
    SEQREC_REQUIRE(out.extent(0) >= ids.extent(0) && index_t(out.extent(1)) == dim(),
                   "Embedding::forward_rows: output is ", out.extent(0), "x", out.extent(1), ", need ", ids.extent(0),
                   "x", dim());
    auto tab = table();
    Kokkos::parallel_for(
        "seqrec::Embedding::forward_rows",
        Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {0, 0}, {ids.extent(0), tab.extent(1)}),
        KOKKOS_LAMBDA(index_t r, index_t k) {
          const id_t id = ids(r);
          out(r, k) = id == 0 ? T(0) : scale * tab(id, k);
        });
  }
  void backward_rows(const Space& space, Kokkos::View<const id_t*, memory_space> ids,
                     typename View2<T, Space>::const_type dout, T scale) const {
    auto g = grad();
    Kokkos::parallel_for(
        "seqrec::Embedding::backward_rows", Kokkos::RangePolicy<Space>(space, 0, ids.extent(0)),
        KOKKOS_LAMBDA(index_t r) {
          const id_t id = ids(r);
          if (id == 0) return;
          for (index_t k = 0; k < index_t(dout.extent(1)); ++k) Kokkos::atomic_add(&g(id, k), scale * dout(r, k));
        });
  }

 private:
  Parameter<T, Space> param_;
};

}  // namespace seqrec::sequence
