// A first look at seqrec's core on the default backend: seeded initialisation of named parameters,
// a NaN check that names the parameter, and the reproducibility of a seed.
#include <seqrec/seqrec.hpp>

#include <chrono>
#include <cstdio>

int main(int argc, char* argv[]) {
  Kokkos::ScopeGuard guard(argc, argv);
  using Space = Kokkos::DefaultExecutionSpace;
  using T = float;
  Space space;
  std::printf("seqrec %s on %s (concurrency %d)\n", SEQREC_VERSION_STRING, Space::name(), Space::concurrency());

  seqrec::ParameterSet<T, Space> params;
  seqrec::RandomSource rng(42);
  auto items = params.add(space, "item_embedding", {23716, 50});
  auto w = params.add(space, "w_q", {50, 50});
  seqrec::fill_normal(space, items.value(), rng.next(), T(0), T(0.02));
  seqrec::fill_xavier_uniform(space, w.value(), rng.next(), 50, 50);
  space.fence();
  std::printf("parameters: %zu tensors, %lld scalars\n", params.size(), static_cast<long long>(params.numel()));

  // The embedding row norms, computed in a team kernel: one team per item.
  auto table = items.template view<2>();
  double total = 0;
  const auto t0 = std::chrono::steady_clock::now();
  Kokkos::parallel_reduce(
      "demo::row_norms", Kokkos::RangePolicy<Space>(space, 0, table.extent(0)),
      KOKKOS_LAMBDA(int i, double& acc) {
        double s = 0;
        for (int k = 0; k < int(table.extent(1)); ++k) s += double(table(i, k)) * table(i, k);
        acc += seqrec::math::sqrt(s);
      },
      total);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::printf("mean row norm %.5f (expected about %.5f) in %.2f ms\n", total / table.extent(0),
              0.02 * std::sqrt(50.0 - 0.5), ms);

  params.require_finite(space, "after initialisation");
  std::printf("{\"backend\":\"%s\",\"params\":%lld,\"mean_row_norm\":%.6f,\"ms\":%.3f}\n", Space::name(),
              static_cast<long long>(params.numel()), total / table.extent(0), ms);
  return 0;
}
