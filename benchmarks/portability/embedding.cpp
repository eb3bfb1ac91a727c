// The shared item embedding of a SASRec batch: the gather of forward and the atomic scatter-add of backward
// (rows repeat within a batch, popular items most), over the Games table (23716 x 50).
#include "harness.hpp"
#include "inputs.hpp"

#include <seqrec/core/parameter.hpp>
#include <seqrec/core/random.hpp>
#include <seqrec/sequence/embedding.hpp>

namespace seqrec::bench {
namespace {

void bench_embedding(Harness& h) {
  h.for_each_backend([&](auto space, auto zero) {
    using Space = decltype(space);
    using T = decltype(zero);
    const index_t batch = h.quick() ? 32 : 128, len = 50, d = 50, items = 23715;
    ParameterSet<T, Space> params;
    sequence::Embedding<T, Space> emb(space, params, "items", items + 1, d);
    emb.init_normal(space, RandomStream(3, 1), T(0.1));
    Kokkos::deep_copy(space, emb.grad(), T(0));
    const auto ids = padded_ids(space, batch, len, items, 5);
    auto out = make_uninitialized<View3<T, Space>>(space, "embedding:out", batch, len, d);
    auto dout = make_uninitialized<View3<T, Space>>(space, "embedding:dout", batch, len, d);
    fill_uniform(space, dout, RandomStream(3, 2), T(-1), T(1));
    // Traffic: every position's row read (gather) or read-modify-written (scatter), plus the ids and the dense side.
    const double n = double(batch * len), row = double(d) * sizeof(T);
    const typename sequence::Embedding<T, Space>::ids_type cids = ids;
    h.time(space, zero, "embedding_gather", shape({batch, len, d}), 0.0, n * (2 * row + sizeof(id_t)),
           [&] { emb.forward(space, cids, out, T(7.07)); });
    h.time(space, zero, "embedding_scatter_add", shape({batch, len, d}), 0.0, n * (3 * row + sizeof(id_t)),
           [&] { emb.backward(space, cids, dout, T(7.07)); });
  });
}

const Register reg_embedding(20, "embedding", &bench_embedding);

}  // namespace
}  // namespace seqrec::bench
