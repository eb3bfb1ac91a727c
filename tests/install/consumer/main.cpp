// A program that knows seqrec only through find_package(seqrec): it must compile, link and compute.
#include <seqrec/seqrec.hpp>

#include <cstdio>

int main(int argc, char* argv[]) {
  Kokkos::ScopeGuard guard(argc, argv);
  using Space = Kokkos::DefaultExecutionSpace;
  seqrec::ParameterSet<double, Space> params;
  auto w = params.add(Space{}, "w", {3, 4});
  seqrec::fill_uniform(Space{}, w.value(), seqrec::RandomSource(7).next(), 1.0, 2.0);
  double sum = 0;
  auto v = w.value();
  Kokkos::parallel_reduce(
      Kokkos::RangePolicy<Space>(0, v.extent(0)), KOKKOS_LAMBDA(int i, double& s) { s += v(i); }, sum);
  std::printf("seqrec %s consumer: sum of 12 draws in [1, 2) = %.4f\n", SEQREC_VERSION_STRING, sum);
  return (sum >= 12.0 && sum < 24.0) ? 0 : 1;
}
