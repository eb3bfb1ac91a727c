// The roof each kernel is set against, measured in the same run on the same backend: the best gemm rate
// (vendor BLAS through seqrec's dispatch on a large square product: OpenBLAS on host spaces, cuBLAS on
// CUDA) and a STREAM-like triad bandwidth (a = b + s c over arrays far larger than the caches).
#include "harness.hpp"

#include <seqrec/core/linalg.hpp>
#include <seqrec/core/random.hpp>
#include <seqrec/core/view.hpp>

namespace seqrec::bench {
namespace {

template <class T, class Space>
struct Triad {
  View1<T, Space> a;
  View1<const T, Space> b, c;
  T s;
  KOKKOS_INLINE_FUNCTION void operator()(index_t i) const { a(i) = b(i) + s * c(i); }
};

void bench_roof(Harness& h) {
  h.for_each_backend([&](auto space, auto zero) {
    using Space = decltype(space);
    using T = decltype(zero);
    RandomSource rng(7);
    const index_t n = h.quick() ? 1024 : 2048;
    auto a = make_uninitialized<View2<T, Space>>(space, "roof:a", n, n);
    auto b = make_uninitialized<View2<T, Space>>(space, "roof:b", n, n);
    auto c = make_zeros<View2<T, Space>>(space, "roof:c", n, n);
    fill_uniform(space, a, rng.next(), T(-1), T(1));
    fill_uniform(space, b, rng.next(), T(-1), T(1));
    const double nn = double(n);
    const Record g = h.time(space, zero, "peak_gemm", shape({n, n, n}), 2 * nn * nn * nn, 3 * nn * nn * sizeof(T),
                            [&] { linalg::gemm(space, linalg::Trans::N, linalg::Trans::N, T(1), a, b, T(0), c); });

    // 2^25 elements (128 or 256 MiB per array): well past any last-level cache here or on the H200 (60 MB L2).
    const index_t m = h.quick() ? (index_t(1) << 23) : (index_t(1) << 25);
    auto x = make_zeros<View1<T, Space>>(space, "roof:x", m);
    auto y = make_uninitialized<View1<T, Space>>(space, "roof:y", m);
    auto z = make_uninitialized<View1<T, Space>>(space, "roof:z", m);
    fill_uniform(space, y, rng.next(), T(-1), T(1));
    fill_uniform(space, z, rng.next(), T(-1), T(1));
    const Triad<T, Space> triad{x, y, z, T(0.5)};
    const double bytes = 3.0 * double(m) * sizeof(T);  // two reads and one write per element
    const Record t = h.time(space, zero, "peak_triad", shape({m}), 0.0, bytes, [&] {
      Kokkos::parallel_for("seqrec::bench::triad", Kokkos::RangePolicy<Space>(space, 0, m), triad);
    });
    h.set_roof(g.backend, g.scalar, Roof{g.gflops, t.gbps});
  });
}

const Register reg_roof(0, "roof", &bench_roof);

}  // namespace
}  // namespace seqrec::bench
