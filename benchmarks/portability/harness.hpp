// The timing harness of seqrec-bench-portability: every kernel family runs through Harness::time on each
// enabled backend and scalar, with warm-up, repeated fenced runs, median and spread, and the achieved
// GFLOP/s and GB/s set against the backend's measured roof (peak gemm GFLOP/s, triad GB/s).
//
// A kernel family is one function `void bench_<family>(Harness&)` (one .cpp each, so they compile in
// parallel) that calls h.for_each_backend([&](auto space, auto zero) { using T = decltype(zero); ... }) and,
// inside, h.time(space, zero, "kernel", "shape", flop, bytes, [&] { ... launch on space ... }).
#pragma once

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace seqrec::bench {

struct Config {
  int reps = 7;                    // timed repetitions (the median is reported)
  int warmup = 2;                  // untimed repetitions first
  double min_rep_seconds = 2e-3;   // a repetition loops the kernel until it lasts at least this long
  bool quick = false;              // smaller shapes, fewer repetitions: a smoke run
  std::set<std::string> backends;  // empty: every enabled one
  std::set<std::string> kernels;   // kernel families; empty: all
  std::set<std::string> scalars;   // "float", "double"; empty: both
};

struct Roof {
  double gflops = 0;  // measured peak of a large gemm in this scalar
  double gbps = 0;    // measured triad bandwidth
};

struct Record {
  std::string backend, scalar, kernel, shape;
  int threads = 1;
  double seconds = 0, min_seconds = 0, max_seconds = 0, spread = 0, gflops = 0, gbps = 0, roof_fraction = -1;
};

template <class T>
constexpr const char* scalar_name() {
  return sizeof(T) == 4 ? "float" : "double";
}

template <class Space>
std::string backend_name() {
  return Space::name();
}

// Threads behind one launch: 1 for Serial, the pool for OpenMP, 0 for a GPU (not a thread count).
template <class Space>
int backend_threads(const Space& space) {
  if constexpr (std::is_same_v<typename Space::memory_space, Kokkos::HostSpace>)
    return space.concurrency();
  else
    return 0;
}

class Harness {
 public:
  explicit Harness(Config config) : config_(std::move(config)) {}
  const Config& config() const { return config_; }
  bool quick() const { return config_.quick; }
  bool wants_kernel(const std::string& family) const {
    return config_.kernels.empty() || config_.kernels.count(family) > 0;
  }
  template <class Space>
  bool wants_backend() const {
    return config_.backends.empty() || config_.backends.count(backend_name<Space>()) > 0;
  }
  template <class T>
  bool wants_scalar() const {
    return config_.scalars.empty() || config_.scalars.count(scalar_name<T>()) > 0;
  }

  // f(space, T{}) for every enabled backend and scalar the configuration keeps.
  template <class F>
  void for_each_backend(F&& f) {
    each_scalar<Kokkos::Serial>(f);
#if defined(KOKKOS_ENABLE_OPENMP)
    each_scalar<Kokkos::OpenMP>(f);
#endif
#if defined(KOKKOS_ENABLE_CUDA)
    each_scalar<Kokkos::Cuda>(f);
#endif
  }

  void set_roof(const std::string& backend, const std::string& scalar, Roof roof) { roofs_[{backend, scalar}] = roof; }
  const Roof* roof(const std::string& backend, const std::string& scalar) const {
    auto it = roofs_.find({backend, scalar});
    return it == roofs_.end() ? nullptr : &it->second;
  }

  // Times f (which launches on space) and prints one JSON line. flop and bytes are the kernel's useful
  // work and its compulsory memory traffic (each operand read or written once); 0 where not meaningful.
  template <class Space, class T, class F>
  Record time(const Space& space, T, const std::string& kernel, const std::string& shape, double flop, double bytes,
              F&& f) {
    using clock = std::chrono::steady_clock;
    auto once = [&] {
      space.fence();
      const auto t0 = clock::now();
      f();
      space.fence();
      return std::chrono::duration<double>(clock::now() - t0).count();
    };
    double first = once();  // also the first warm-up
    for (int w = 1; w < config_.warmup; ++w) first = std::min(first, once());
    // Short kernels repeat inside one sample so that the timer's resolution and the fence do not dominate.
    const int inner = first >= config_.min_rep_seconds ? 1 : int(config_.min_rep_seconds / std::max(first, 1e-7)) + 1;
    std::vector<double> s;
    for (int r = 0; r < config_.reps; ++r) {
      space.fence();
      const auto t0 = clock::now();
      for (int i = 0; i < inner; ++i) f();
      space.fence();
      s.push_back(std::chrono::duration<double>(clock::now() - t0).count() / inner);
    }
    std::sort(s.begin(), s.end());
    const auto q = [&](double p) { return s[std::size_t(p * double(s.size() - 1) + 0.5)]; };
    Record rec;
    rec.backend = backend_name<Space>();
    rec.scalar = scalar_name<T>();
    rec.kernel = kernel;
    rec.shape = shape;
    rec.threads = backend_threads(space);
    rec.seconds = q(0.5);
    rec.min_seconds = s.front();
    rec.max_seconds = s.back();
    rec.spread = (q(0.75) - q(0.25)) / rec.seconds;  // interquartile range relative to the median
    rec.gflops = flop / rec.seconds / 1e9;
    rec.gbps = bytes / rec.seconds / 1e9;
    if (const Roof* r = roof(rec.backend, rec.scalar); r && r->gflops > 0 && r->gbps > 0) {
      // Roofline: the attainable rate is min(peak, intensity x bandwidth); kernels without flops are
      // bandwidth-bound by definition.
      if (flop > 0 && bytes > 0)
        rec.roof_fraction = rec.gflops / std::min(r->gflops, flop / bytes * r->gbps);
      else if (bytes > 0)
        rec.roof_fraction = rec.gbps / r->gbps;
    }
    print(rec, flop, bytes, int(s.size()) * inner);
    records_.push_back(rec);
    return rec;
  }

  const std::vector<Record>& records() const { return records_; }

  static void print(const Record& r, double flop, double bytes, int runs) {
    std::printf(
        "{\"bench\":\"portability\",\"backend\":\"%s\",\"threads\":%d,\"scalar\":\"%s\",\"kernel\":\"%s\","
        "\"shape\":\"%s\",\"seconds\":%.9g,\"min_seconds\":%.9g,\"max_seconds\":%.9g,\"spread\":%.4f,\"runs\":%d,"
        "\"flop\":%.6g,\"bytes\":%.6g,\"gflops\":%.4f,\"gbps\":%.4f,\"roof_fraction\":%.4f}\n",
        r.backend.c_str(), r.threads, r.scalar.c_str(), r.kernel.c_str(), r.shape.c_str(), r.seconds, r.min_seconds,
        r.max_seconds, r.spread, runs, flop, bytes, r.gflops, r.gbps, r.roof_fraction);
    std::fflush(stdout);
  }

 private:
  template <class Space, class F>
  void each_scalar(F& f) {
    if (!wants_backend<Space>()) return;
    Space space;
    if (wants_scalar<float>()) f(space, float{});
    if (wants_scalar<double>()) f(space, double{});
  }

  Config config_;
  std::map<std::tuple<std::string, std::string>, Roof> roofs_;
  std::vector<Record> records_;
};

// "128x50x64"
inline std::string shape(std::initializer_list<long long> dims) {
  std::string s;
  for (long long d : dims) {
    if (!s.empty()) s += 'x';
    s += std::to_string(d);
  }
  return s;
}

// The kernel families register themselves (one .cpp each: a family is added by adding its file) and run in
// the order of their rank; "roof" (rank 0) measures the peaks the others are set against.
struct Family {
  int rank;
  std::string name;
  void (*run)(Harness&);
};

inline std::vector<Family>& families() {
  static std::vector<Family> all;
  return all;
}

struct Register {
  Register(int rank, const char* name, void (*run)(Harness&)) { families().push_back({rank, name, run}); }
};

}  // namespace seqrec::bench
