// seqrec-bench-portability: each kernel family (gemm dispatch, embedding gather/scatter, attention block
// forward/backward, GRU and LSTM forward/backward, sampled scoring, full-ranking top-K, ALS solve) timed on
// every enabled backend (Serial, OpenMP, CUDA) in float and double, with warm-up and repeated fenced runs:
// one JSON line per measurement (median seconds, spread, GFLOP/s, GB/s, fraction of the roofline), then a
// table on stderr. `--threads 1,2` runs the OpenMP rows at each thread count (one child process each, since
// Kokkos fixes its pool at start-up).
//
//   seqrec-bench-portability [--quick] [--reps N] [--warmup N] [--threads 1,2] [--kernels gemm,als,...]
//                            [--backends Serial,OpenMP,Cuda] [--scalars float,double] [--list]
//
// scripts/bench_portability.sh runs it the way the README's table was made; scripts/plot_bench.py draws it.
#include "harness.hpp"

#include <seqrec/core/linalg.hpp>

#include <sched.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <sstream>

namespace {

using seqrec::bench::Config;
using seqrec::bench::Record;

std::set<std::string> split_list(const std::string& s) {
  std::set<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');)
    if (!item.empty()) out.insert(item);
  return out;
}

// The value of "key" in one of our own flat JSON lines ("..." or a number); empty when absent.
std::string field(const std::string& line, const std::string& key) {
  const std::string k = "\"" + key + "\":";
  const auto p = line.find(k);
  if (p == std::string::npos) return {};
  auto v = p + k.size();
  if (line[v] == '"') return line.substr(v + 1, line.find('"', v + 1) - v - 1);
  return line.substr(v, line.find_first_of(",}", v) - v);
}

Record parse(const std::string& line) {
  Record r;
  r.backend = field(line, "backend");
  r.scalar = field(line, "scalar");
  r.kernel = field(line, "kernel");
  r.shape = field(line, "shape");
  r.threads = std::atoi(field(line, "threads").c_str());
  r.seconds = std::atof(field(line, "seconds").c_str());
  r.spread = std::atof(field(line, "spread").c_str());
  r.gflops = std::atof(field(line, "gflops").c_str());
  r.gbps = std::atof(field(line, "gbps").c_str());
  r.roof_fraction = std::atof(field(line, "roof_fraction").c_str());
  return r;
}

// Rows: kernel and shape; columns: backend/threads; one table per scalar.
void summary(const std::vector<Record>& records) {
  for (const char* scalar : {"float", "double"}) {
    std::vector<std::string> cols, rows;
    for (const auto& r : records) {
      if (r.scalar != scalar) continue;
      const std::string c = r.backend + (r.backend == "Cuda" ? "" : "/" + std::to_string(r.threads));
      if (std::find(cols.begin(), cols.end(), c) == cols.end()) cols.push_back(c);
      const std::string row = r.kernel + " " + r.shape;
      if (std::find(rows.begin(), rows.end(), row) == rows.end()) rows.push_back(row);
    }
    if (rows.empty()) continue;
    std::fprintf(stderr, "\n%s: median ms (GFLOP/s or GB/s, %% of roof)\n%-44s", scalar, "kernel shape");
    for (const auto& c : cols) std::fprintf(stderr, " %24s", c.c_str());
    std::fprintf(stderr, "\n");
    for (const auto& row : rows) {
      std::fprintf(stderr, "%-44s", row.c_str());
      for (const auto& c : cols) {
        const Record* hit = nullptr;
        for (const auto& r : records)
          if (r.scalar == scalar && r.kernel + " " + r.shape == row &&
              r.backend + (r.backend == "Cuda" ? "" : "/" + std::to_string(r.threads)) == c)
            hit = &r;
        char cell[64] = "-";
        if (hit) {
          const bool flops = hit->gflops > 0;
          char roof[16] = "";
          if (hit->roof_fraction >= 0) std::snprintf(roof, sizeof roof, " %3.0f%%", 100 * hit->roof_fraction);
          std::snprintf(cell, sizeof cell, "%.3g (%.3g%s%s)", hit->seconds * 1e3, flops ? hit->gflops : hit->gbps,
                        flops ? "" : "GB/s", roof);
        }
        std::fprintf(stderr, " %24s", cell);
      }
      std::fprintf(stderr, "\n");
    }
  }
  std::fprintf(stderr,
               "\nGFLOP/s unless marked GB/s; %% of roof = achieved / min(peak_gemm, intensity x peak_triad) of the "
               "same backend and scalar (bandwidth-only kernels: GB/s / peak_triad).\n");
}

// The parent of `--threads 1,2`: one child per thread count; Serial and CUDA run in the first child only.
int run_children(const std::vector<int>& threads, const std::vector<std::string>& pass, const char* self,
                 const std::set<std::string>& backends) {
  std::vector<Record> all;
  int status = 0;
  // libgomp pins this (initial) thread to the first place at start-up when OMP_PROC_BIND is set, and a child
  // inherits the mask: it would run all its threads on one core. Children start from every online CPU.
  cpu_set_t every;
  CPU_ZERO(&every);
  for (long c = 0; c < sysconf(_SC_NPROCESSORS_ONLN) && c < CPU_SETSIZE; ++c) CPU_SET(int(c), &every);
  if (sched_setaffinity(0, sizeof every, &every) != 0) std::perror("sched_setaffinity");
  for (std::size_t i = 0; i < threads.size(); ++i) {
    std::string cmd = "OMP_NUM_THREADS=" + std::to_string(threads[i]) + " '" + self + "'";
    for (const auto& a : pass) cmd += " '" + a + "'";
    cmd += " --threads " + std::to_string(threads[i]) + " --no-summary";
    if (i > 0) {
      if (!backends.empty() && !backends.count("OpenMP")) continue;
      cmd += " --backends OpenMP";
    } else if (!backends.empty()) {
      std::string b;
      for (const auto& x : backends) b += (b.empty() ? "" : ",") + x;
      cmd += " --backends " + b;
    }
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) {
      std::perror("popen");
      return 1;
    }
    char buf[4096];
    while (std::fgets(buf, sizeof buf, p)) {
      std::fputs(buf, stdout);
      std::fflush(stdout);
      const std::string line(buf);
      if (line.rfind("{\"bench\":\"portability\"", 0) == 0) all.push_back(parse(line));
    }
    if (pclose(p) != 0) status = 1;
  }
  summary(all);
  return status;
}

}  // namespace

int main(int argc, char* argv[]) {
  Config config;
  std::vector<int> threads;
  bool list = false, no_summary = false;
  std::vector<std::string> pass;  // options handed to children
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "seqrec-bench-portability: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--quick") {
      config.quick = true;
      pass.push_back(a);
    } else if (a == "--reps" || a == "--warmup" || a == "--kernels" || a == "--scalars") {
      const std::string v = value();
      if (a == "--reps") config.reps = std::max(1, std::atoi(v.c_str()));
      if (a == "--warmup") config.warmup = std::max(1, std::atoi(v.c_str()));
      if (a == "--kernels") config.kernels = split_list(v);
      if (a == "--scalars") config.scalars = split_list(v);
      pass.push_back(a);
      pass.push_back(v);
    } else if (a == "--backends") {
      config.backends = split_list(value());
    } else if (a == "--threads") {
      for (const auto& t : split_list(value())) threads.push_back(std::atoi(t.c_str()));
      std::sort(threads.begin(), threads.end());
    } else if (a == "--list") {
      list = true;
    } else if (a == "--no-summary") {
      no_summary = true;
    } else if (a.rfind("--kokkos", 0) != 0) {
      std::fprintf(stderr, "seqrec-bench-portability: unknown option %s (see the header of main.cpp)\n", a.c_str());
      return 2;
    }
  }
  auto& families = seqrec::bench::families();
  std::sort(families.begin(), families.end(), [](const auto& x, const auto& y) { return x.rank < y.rank; });
  if (list) {
    for (const auto& f : families) std::printf("%s\n", f.name.c_str());
    return 0;
  }
  for (const auto& k : config.kernels)
    if (std::none_of(families.begin(), families.end(), [&](const auto& f) { return f.name == k; })) {
      std::fprintf(stderr, "seqrec-bench-portability: no kernel family '%s' (--list shows them)\n", k.c_str());
      return 2;
    }
  if (threads.size() > 1) return run_children(threads, pass, argv[0], config.backends);
  if (config.quick && config.reps == Config{}.reps) config.reps = 3;

  // Kokkos sees only its own options: it would read --threads as its deprecated thread-count flag.
  std::vector<char*> kargs{argv[0]};
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], "--kokkos", 8) == 0) kargs.push_back(argv[i]);
  if (threads.size() == 1) kargs.push_back(nullptr);  // room for --kokkos-threads below
  std::string kthreads = threads.size() == 1 ? "--kokkos-threads=" + std::to_string(threads[0]) : "";
  if (!kthreads.empty()) kargs.back() = kthreads.data();
  int kargc = int(kargs.size());
  Kokkos::ScopeGuard guard(kargc, kargs.data());
  // seqrec-train's setting: OpenBLAS on one thread, host gemms split into one slab per thread of the space.
  seqrec::linalg::set_blas_threads(1);
  seqrec::bench::Harness h(config);
  std::fprintf(stderr, "[bench-portability] Kokkos %d, OpenMP threads %d, reps %d, warm-up %d%s\n", KOKKOS_VERSION,
#if defined(KOKKOS_ENABLE_OPENMP)
               Kokkos::OpenMP::concurrency(),
#else
               0,
#endif
               config.reps, config.warmup, config.quick ? ", quick shapes" : "");
  for (const auto& f : families) {
    // The roof always runs when any kernel does: every other row is set against it.
    if (f.name != "roof" && !h.wants_kernel(f.name)) continue;
    std::fprintf(stderr, "[bench-portability] %s\n", f.name.c_str());
    f.run(h);
  }
  if (!no_summary) summary(h.records());
  return 0;
}
