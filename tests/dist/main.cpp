// Runner of the MPI tests: MPI and Kokkos live for the whole Catch2 session. ctest starts it under
// `mpirun -np 2` (and -np 1); only rank 0 prints Catch2's report, every rank's failures still fail the run.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <seqrec/dist/communicator.hpp>

#include <Kokkos_Core.hpp>

#include <cstdio>

int main(int argc, char* argv[]) {
  seqrec::dist::MpiSession mpi(argc, argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank != 0) std::freopen("/dev/null", "w", stdout);
  int failed = 0;
  {
    Kokkos::ScopeGuard guard(argc, argv);
    failed = Catch::Session().run(argc, argv);
  }
  int any = 0;
  MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (failed) std::fprintf(stderr, "rank %d: %d test case(s) failed\n", rank, failed);
  return any;
}
