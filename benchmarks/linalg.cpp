// GFLOP/s of seqrec::linalg::gemm on the shapes of a SASRec training step (batch x window = 6400 rows,
// d = 50, 23715 items) and a square 2048 reference: the dispatch (Impl::automatic), CBLAS called
// directly, and the portable kernels, at 1 and 2 threads. One JSON object per measurement on stdout, then
// a summary table with the dispatch overhead against direct CBLAS and the ratio to the OpenBLAS ceilings
// measured in DESIGN.md (94 GFLOP/s on 1 thread, 179 on 2, OPENBLAS_CORETYPE=Haswell). Built with CUDA, it
// also times the same products on the GPU (cuBLAS through the dispatch, and the portable kernels).
//
//   bench-linalg [--quick] [--reps N] [Kokkos options]
#include <seqrec/core/linalg.hpp>
#include <seqrec/core/random.hpp>
#include <seqrec/core/view.hpp>

#include <Kokkos_Core.hpp>

#if defined(SEQREC_HAVE_CBLAS)
#include <cblas.h>
#endif

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace {

using seqrec::index_t;
using seqrec::linalg::Impl;
using seqrec::linalg::Trans;
using T = float;
using Host = Kokkos::OpenMP;
using Matrix = seqrec::View2<T, Host>;

constexpr double ceiling_1t = 94.0, ceiling_2t = 179.0;  // DESIGN.md, OpenBLAS sgemm n = 2048

// C = op(A) op(B), A and B stored row-major as a SASRec implementation holds them.
struct Case {
  std::string name;
  Trans ta, tb;
  index_t m, n, k;
  Matrix a, b, c;
  double flop() const { return 2.0 * double(m) * double(n) * double(k); }
};

struct Timing {
  double best = 0, median = 0;
};

Timing summarize(std::vector<double> s) {
  std::sort(s.begin(), s.end());
  return {s.front(), s[s.size() / 2]};
}

struct Row {
  std::string shape, impl, space;
  int threads;
  double gflops, seconds;
};
std::vector<Row> rows;

void report(const Case& c, const char* impl, const char* space, int threads, const Timing& t) {
  const double gflops = c.flop() / t.best / 1e9;
  std::printf(
      "{\"bench\":\"gemm\",\"shape\":\"%s\",\"impl\":\"%s\",\"space\":\"%s\",\"threads\":%d,\"scalar\":\"float\","
      "\"gflops\":%.2f,\"seconds\":%.6f,\"median_seconds\":%.6f}\n",
      c.name.c_str(), impl, space, threads, gflops, t.best, t.median);
  std::fflush(stdout);
  rows.push_back({c.name, impl, space, threads, gflops, t.best});
}

template <class F>
double seconds(F&& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

#if defined(SEQREC_HAVE_CBLAS)
// What a user would write by hand for the same row-major product.
void cblas_direct(const Case& c) {
  const int m = int(c.m), n = int(c.n), k = int(c.k);
  cblas_sgemm(CblasRowMajor, c.ta == Trans::T ? CblasTrans : CblasNoTrans, c.tb == Trans::T ? CblasTrans : CblasNoTrans,
              m, n, k, 1.0f, c.a.data(), int(c.a.extent(1)), c.b.data(), int(c.b.extent(1)), 0.0f, c.c.data(), n);
}
#endif

template <class Space>
void dispatch(const Space& space, const Case& c, Impl impl) {
  seqrec::linalg::gemm(space, c.ta, c.tb, T(1), c.a, c.b, T(0), c.c, impl);
  space.fence();
}

// Dispatch and direct CBLAS interleaved, so drift in clock or load hits both alike.
template <class Space>
void measure_blas(const Space& space, const char* space_name, const Case& c, int threads, int reps) {
  seqrec::linalg::set_blas_threads(threads);
  std::vector<double> d, b;
  dispatch(space, c, Impl::automatic);  // warm-up (first touch, OpenBLAS buffers)
#if defined(SEQREC_HAVE_CBLAS)
  cblas_direct(c);
#endif
  for (int r = 0; r < reps; ++r) {
    d.push_back(seconds([&] { dispatch(space, c, Impl::automatic); }));
#if defined(SEQREC_HAVE_CBLAS)
    b.push_back(seconds([&] { cblas_direct(c); }));
#endif
  }
  report(c, "dispatch", space_name, threads, summarize(d));
  if (!b.empty()) report(c, "cblas", "Host", threads, summarize(b));
}

template <class Space>
void measure_portable(const Space& space, const char* space_name, const Case& c, int threads, int reps) {
  dispatch(space, c, Impl::portable);
  std::vector<double> p;
  for (int r = 0; r < reps; ++r) p.push_back(seconds([&] { dispatch(space, c, Impl::portable); }));
  report(c, "portable", space_name, threads, summarize(p));
}

#if defined(KOKKOS_ENABLE_CUDA)
// The same products on the GPU: the dispatch (cuBLAS on the space's stream) and the portable kernels.
// Device copies of the host operands, timed between fences, best of reps after one warm-up.
void measure_cuda(const std::vector<Case>& cases, int reps) {
  using Dev = seqrec::View2<T, Kokkos::Cuda>;
  const Kokkos::Cuda cuda;
  std::vector<std::pair<std::string, double>> summary;
  for (const auto& c : cases) {
    auto to_dev = [&](const Matrix& h) {
      auto d = seqrec::make_uninitialized<Dev>(cuda, "dev:" + h.label(), h.extent(0), h.extent(1));
      Kokkos::deep_copy(cuda, d, h);
      return d;
    };
    const Dev a = to_dev(c.a), b = to_dev(c.b), out = to_dev(c.c);
    for (const Impl impl : {Impl::automatic, Impl::portable}) {
      auto run = [&] {
        seqrec::linalg::gemm(cuda, c.ta, c.tb, T(1), a, b, T(0), out, impl);
        cuda.fence();
      };
      run();
      std::vector<double> t;
      for (int r = 0; r < std::max(3, reps); ++r) t.push_back(seconds(run));
      const char* name = impl == Impl::automatic ? "dispatch" : "portable";
      report(c, name, "Cuda", 0, summarize(t));
      summary.emplace_back(c.name + " " + name, c.flop() / summarize(t).best / 1e9);
    }
  }
  std::printf("\n%-56s %10s\n", "Cuda (dispatch = cuBLAS; portable = seqrec kernels)", "GFLOP/s");
  for (const auto& [name, gflops] : summary) std::printf("%-56s %10.1f\n", name.c_str(), gflops);
}
#endif

double find(const std::string& shape, const std::string& impl, int threads) {
  for (const auto& r : rows)
    if (r.shape == shape && r.impl == impl && r.threads == threads) return r.gflops;
  return 0;
}

}  // namespace

int main(int argc, char* argv[]) {
  bool quick = false;
  int reps = 0;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--quick"))
      quick = true;
    else if (!std::strcmp(argv[i], "--reps") && i + 1 < argc)
      reps = std::atoi(argv[++i]);
  }
  if (reps <= 0) reps = quick ? 2 : 7;
  Kokkos::ScopeGuard guard(argc, argv);
  {
    const Host omp;
    const Kokkos::Serial serial;
    const int omp_threads = omp.concurrency();
    seqrec::RandomSource rng(2024);
    auto make = [&](const char* label, index_t r, index_t c, bool fill) {
      auto v = seqrec::make_uninitialized<Matrix>(omp, label, r, c);
      if (fill)
        seqrec::fill_uniform(omp, v, rng.next(), T(-1), T(1));
      else
        Kokkos::deep_copy(omp, v, T(0));  // first touch outside the timings
      return v;
    };
    const index_t rows_ = 6400, d = 50, items = quick ? 8192 : 23715, sq = quick ? 1024 : 2048;
    auto hidden = make("hidden", rows_, d, true);      // [batch * window, d]
    auto weight = make("weight", d, d, true);          // a d x d projection
    auto item_emb = make("item_emb", items, d, true);  // [items, d]
    auto logits = make("logits", rows_, items, true);  // output of the logits gemm; dlogits as input
    auto proj = make("proj", rows_, d, false);
    auto item_grad = make("item_grad_t", d, items, false);
    auto hidden_grad = make("hidden_grad", rows_, d, false);
    auto sq_a = make("sq_a", sq, sq, true), sq_b = make("sq_b", sq, sq, true), sq_c = make("sq_c", sq, sq, false);
    omp.fence();
    const std::string I = std::to_string(items), R = std::to_string(rows_);
    std::vector<Case> cases = {
        {"proj " + R + "x50*50x50 NN", Trans::N, Trans::N, rows_, d, d, hidden, weight, proj},
        {"logits " + R + "x50*(" + I + "x50)^T NT", Trans::N, Trans::T, rows_, items, d, hidden, item_emb, logits},
        {"item_grad (" + R + "x50)^T*" + R + "x" + I + " TN", Trans::T, Trans::N, d, items, rows_, hidden, logits,
         item_grad},
        {"hidden_grad " + R + "x" + I + "*" + I + "x50 NN", Trans::N, Trans::N, rows_, d, items, logits, item_emb,
         hidden_grad},
        {"square " + std::to_string(sq), Trans::N, Trans::N, sq, sq, sq, sq_a, sq_b, sq_c},
    };
    for (const auto& c : cases) {
      measure_blas(serial, "Serial", c, 1, reps);
      measure_blas(omp, "OpenMP", c, omp_threads, reps);
      measure_portable(serial, "Serial", c, 1, std::max(1, reps / 2));
      measure_portable(omp, "OpenMP", c, omp_threads, std::max(1, reps / 2));
    }
    seqrec::linalg::set_blas_threads(omp_threads);
#if defined(KOKKOS_ENABLE_CUDA)
    measure_cuda(cases, reps);
#endif

    std::printf("\n%-44s %8s %8s %8s %8s %8s %8s %9s %9s %7s %7s\n", "shape (GFLOP/s, best of reps)", "disp 1t",
                "cblas 1t", "port 1t", "disp 2t", "cblas 2t", "port 2t", "ovh 1t %", "ovh 2t %", "/94", "/179");
    for (const auto& c : cases) {
      const double d1 = find(c.name, "dispatch", 1), b1 = find(c.name, "cblas", 1), p1 = find(c.name, "portable", 1);
      const double d2 = find(c.name, "dispatch", omp_threads), b2 = find(c.name, "cblas", omp_threads),
                   p2 = find(c.name, "portable", omp_threads);
      // Overhead in time: t_dispatch / t_cblas - 1 = gflops_cblas / gflops_dispatch - 1.
      const double o1 = d1 > 0 && b1 > 0 ? 100.0 * (b1 / d1 - 1.0) : 0.0;
      const double o2 = d2 > 0 && b2 > 0 ? 100.0 * (b2 / d2 - 1.0) : 0.0;
      std::printf("%-44s %8.1f %8.1f %8.1f %8.1f %8.1f %8.1f %9.1f %9.1f %7.2f %7.2f\n", c.name.c_str(), d1, b1, p1, d2,
                  b2, p2, o1, o2, d1 / ceiling_1t, d2 / ceiling_2t);
    }
    std::printf(
        "threads: 1 = Kokkos::Serial + OpenBLAS 1 thread; %d = Kokkos::OpenMP + OpenBLAS %d threads. "
        "/94 and /179: dispatch against the OpenBLAS sgemm ceilings (DESIGN.md).\n",
        omp_threads, omp_threads);
  }
  return 0;
}
