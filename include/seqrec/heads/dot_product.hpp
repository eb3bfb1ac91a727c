// Interest of a hidden state in candidate items: the dot product with the shared item embedding,
// scores(r, c) = hidden(r) . E[cand(r, c)], or against every item at once (forward_all: full-softmax training and
// full ranking, dense products through linalg::gemm). A sigmoid or softmax on top belongs to the loss.
#pragma once

#include <seqrec/core/concepts.hpp>
#include <seqrec/core/error.hpp>
#include <seqrec/core/linalg.hpp>
#include <seqrec/core/view.hpp>
#include <seqrec/sequence/embedding.hpp>

#include <Kokkos_Core.hpp>

#include <utility>

namespace seqrec::heads {

template <Scalar T, ExecutionSpace Space>
class DotProduct {
 public:
  using scalar_type = T;
  using execution_space = Space;
  using memory_space = typename Space::memory_space;
  using rows_type = View2<T, Space>;
  using const_rows_type = typename rows_type::const_type;
  using candidates_type = Kokkos::View<const id_t**, Kokkos::LayoutRight, memory_space>;

  // scores [rows, C]; a candidate id 0 (padding) scores 0.
  void forward(const Space& space, const_rows_type hidden, candidates_type cand, rows_type scores,
               const sequence::Embedding<T, Space>& items) const {
    SEQREC_REQUIRE_EQ(index_t(hidden.extent(1)), items.dim(), "DotProduct: hidden dimension vs item embedding");
    SEQREC_REQUIRE_SHAPE(scores, "DotProduct scores", index_t(cand.extent(0)), index_t(cand.extent(1)));
    SEQREC_REQUIRE_EQ(hidden.extent(0), cand.extent(0), "DotProduct: rows of hidden vs candidates");
    const auto e = items.table();
    const index_t d = items.dim();
    Kokkos::parallel_for(
        "seqrec::DotProduct::forward",
        Kokkos::MDRangePolicy<Space, Kokkos::Rank<2>>(space, {0, 0}, {cand.extent(0), cand.extent(1)}),
        KOKKOS_LAMBDA(index_t r, index_t c) {
          const id_t it = cand(r, c);
          T s = 0;
          if (it != 0)
            for (index_t k = 0; k < d; ++k) s += hidden(r, k) * e(it, k);
          scores(r, c) = s;
        });
  }

  // dhidden = sum_c dscores(r, c) E[cand(r, c)] (overwritten); E.grad[cand] += dscores * hidden.
  void backward(const Space& space, const_rows_type hidden, candidates_type cand, const_rows_type dscores,
                rows_type dhidden, const sequence::Embedding<T, Space>& items) const {
    SEQREC_REQUIRE_SHAPE(dscores, "DotProduct dscores", index_t(cand.extent(0)), index_t(cand.extent(1)));
    SEQREC_REQUIRE_SHAPE(dhidden, "DotProduct dhidden", index_t(hidden.extent(0)), index_t(hidden.extent(1)));
    const auto e = items.table();
    auto ge = items.grad();
    const index_t d = items.dim(), nc = cand.extent(1);
    Kokkos::parallel_for(
        "seqrec::DotProduct::backward", Kokkos::RangePolicy<Space>(space, 0, cand.extent(0)), KOKKOS_LAMBDA(index_t r) {
          for (index_t k = 0; k < d; ++k) dhidden(r, k) = T(0);
          for (index_t c = 0; c < nc; ++c) {
            const id_t it = cand(r, c);
            const T g = dscores(r, c);
            if (it == 0 || g == T(0)) continue;
            for (index_t k = 0; k < d; ++k) {
              dhidden(r, k) += g * e(it, k);
              Kokkos::atomic_add(&ge(it, k), g * hidden(r, k));  // rows repeat: see Embedding::backward
            }
          }
        });
  }

  // scores [R, N + 1]: scores(r, i) = hidden(r) . E[i] for i = 1..N; column 0 (the padding item) is 0.
  void forward_all(const Space& space, const_rows_type hidden, rows_type scores,
                   const sequence::Embedding<T, Space>& items) const {
    SEQREC_REQUIRE_EQ(index_t(hidden.extent(1)), items.dim(), "DotProduct: hidden dimension vs item embedding");
    SEQREC_REQUIRE_SHAPE(scores, "DotProduct::forward_all scores", index_t(hidden.extent(0)), items.rows());
    const index_t n = items.rows();
    linalg::gemm(space, linalg::Trans::N, linalg::Trans::T, T(1), hidden,
                 Kokkos::subview(items.table(), std::make_pair(index_t(1), n), Kokkos::ALL), T(0),
                 Kokkos::subview(scores, Kokkos::ALL, std::make_pair(index_t(1), n)));
    Kokkos::deep_copy(space, Kokkos::subview(scores, Kokkos::ALL, 0), T(0));
  }

  // dhidden = dscores . E (overwritten); E.grad += dscores^T . hidden. Column 0 of dscores is ignored, so the
  // padding row never takes a gradient.
  void backward_all(const Space& space, const_rows_type hidden, const_rows_type dscores, rows_type dhidden,
                    const sequence::Embedding<T, Space>& items) const {
    SEQREC_REQUIRE_SHAPE(dscores, "DotProduct::backward_all dscores", index_t(hidden.extent(0)), items.rows());
    SEQREC_REQUIRE_SHAPE(dhidden, "DotProduct::backward_all dhidden", index_t(hidden.extent(0)),
                         index_t(hidden.extent(1)));
    const index_t n = items.rows();
    const auto rest = std::make_pair(index_t(1), n);
    const auto ds = Kokkos::subview(dscores, Kokkos::ALL, rest);
    linalg::gemm(space, linalg::Trans::N, linalg::Trans::N, T(1), ds, Kokkos::subview(items.table(), rest, Kokkos::ALL),
                 T(0), dhidden);
    linalg::gemm(space, linalg::Trans::T, linalg::Trans::N, T(1), ds, hidden, T(1),
                 Kokkos::subview(items.grad(), rest, Kokkos::ALL));
  }
};

}  // namespace seqrec::heads
