// Logits of hidden rows against every item of the shared embedding table, for a softmax over the whole
// catalogue: logits(r, i) = hidden(r) . E[i] for i = 1..N, and logits(r, 0) = -inf (the padding item can
// never be predicted). Both directions are dense products through linalg::gemm (vendor BLAS where there
// is one); the padding row and column are left out of the products, so E[0] never receives a gradient.
// The softmax itself belongs to the loss (losses::CrossEntropy).
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/linalg.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/sequence/embedding.hpp>

#include <Kokkos_Core.hpp>

#include <limits>
#include <utility>

namespace seqrec::heads {

template <Scalar T, ExecutionSpace Space>
class FullSoftmax {
 public:
  using scalar_type = T;
  using execution_space = Space;
  using memory_space = typename Space::memory_space;
  using rows_type = View2<T, Space>;
  using const_rows_type = typename rows_type::const_type;

  // logits [R, N+1] = hidden [R, D] . E^T, column 0 set to -inf.
  void forward(const Space& space, const_rows_type hidden, rows_type logits,
               const sequence::Embedding<T, Space>& items) const {
    check(hidden, logits, items, "FullSoftmax::forward logits");
    const index_t n = items.rows();
    const auto e = items.table();
    linalg::gemm(space, linalg::Trans::N, linalg::Trans::T, T(1), hidden,
                 Kokkos::subview(e, std::make_pair(index_t(1), n), Kokkos::ALL), T(0),
                 Kokkos::subview(logits, Kokkos::ALL, std::make_pair(index_t(1), n)));
    Kokkos::deep_copy(space, Kokkos::subview(logits, Kokkos::ALL, 0), -std::numeric_limits<T>::infinity());
  }

  // dhidden = dlogits . E (overwritten); E.grad += dlogits^T . hidden. Column 0 of dlogits is ignored.
  void backward(const Space& space, const_rows_type hidden, const_rows_type dlogits, rows_type dhidden,
                const sequence::Embedding<T, Space>& items) const {
    check(hidden, dlogits, items, "FullSoftmax::backward dlogits");
    SEQREC_REQUIRE_SHAPE(dhidden, "FullSoftmax::backward dhidden", index_t(hidden.extent(0)),
                         index_t(hidden.extent(1)));
    const index_t n = items.rows();
    const auto e = items.table();
    const auto ge = items.grad();
    const auto items_e = Kokkos::subview(e, std::make_pair(index_t(1), n), Kokkos::ALL);
    const auto items_g = Kokkos::subview(ge, std::make_pair(index_t(1), n), Kokkos::ALL);
    const auto dl = Kokkos::subview(dlogits, Kokkos::ALL, std::make_pair(index_t(1), n));
    linalg::gemm(space, linalg::Trans::N, linalg::Trans::N, T(1), dl, items_e, T(0), dhidden);
    linalg::gemm(space, linalg::Trans::T, linalg::Trans::N, T(1), dl, hidden, T(1), items_g);
  }

 private:
  template <class L>
  static void check(const_rows_type hidden, const L& logits, const sequence::Embedding<T, Space>& items,
                    const char* name) {
    SEQREC_REQUIRE_EQ(index_t(hidden.extent(1)), items.dim(), "FullSoftmax: hidden dimension vs item embedding");
    SEQREC_REQUIRE_SHAPE(logits, name, index_t(hidden.extent(0)), items.rows());
  }
};

}  // namespace seqrec::heads
