// linalg::gemm on the products of a SASRec step and of full ranking: the dispatch (OpenBLAS slabs on host
// spaces, cuBLAS on CUDA) and seqrec's portable kernels (what runs where no vendor BLAS fits).
#include "harness.hpp"

#include <seqrec/core/linalg.hpp>
#include <seqrec/core/random.hpp>
#include <seqrec/core/view.hpp>

namespace seqrec::bench {
namespace {

using linalg::Impl;
using linalg::Trans;

void bench_gemm(Harness& h) {
  h.for_each_backend([&](auto space, auto zero) {
    using Space = decltype(space);
    using T = decltype(zero);
    using M = View2<T, Space>;
    RandomSource rng(11);
    auto make = [&](const char* label, index_t r, index_t c) {
      auto v = make_uninitialized<M>(space, label, r, c);
      fill_uniform(space, v, rng.next(), T(-1), T(1));
      return v;
    };
    // SASRec on Games: batch 128 x window 50 rows, d 50; full ranking scores 256 users against 23716 rows.
    const index_t rows = h.quick() ? 1600 : 6400, d = 50, users = 256, items = h.quick() ? 8192 : 23716;
    const M x = make("gemm:x", rows, d), w = make("gemm:w", d, d), y = make("gemm:y", rows, d);
    const M hu = make("gemm:users", users, d), e = make("gemm:items", items, d), s = make("gemm:scores", users, items);
    struct Case {
      const char* name;
      Trans ta, tb;
      M a, b, c;
      index_t m, n, k;
    };
    const Case cases[] = {
        {"gemm_proj", Trans::N, Trans::N, x, w, y, rows, d, d},               // a linear layer of the block
        {"gemm_full_scores", Trans::N, Trans::T, hu, e, s, users, items, d},  // users x all items
    };
    for (const auto& c : cases)
      for (const Impl impl : {Impl::automatic, Impl::portable}) {
        const double flop = 2.0 * double(c.m) * double(c.n) * double(c.k);
        const double bytes = double(c.m * c.k + c.k * c.n + c.m * c.n) * sizeof(T);
        const std::string kernel = std::string(c.name) + (impl == Impl::automatic ? "" : "_portable");
        h.time(space, zero, kernel, shape({c.m, c.n, c.k}), flop, bytes,
               [&] { linalg::gemm(space, c.ta, c.tb, T(1), c.a, c.b, T(0), c.c, impl); });
      }
  });
}

const Register reg_gemm(10, "gemm", &bench_gemm);

}  // namespace
}  // namespace seqrec::bench
